#!/usr/bin/env bash
# Packs video-generate-stage from the repository root into ./video-generate-stage.tgz, the file package.json depends
# on; `npm install` then installs it like any published package: no relative imports, no TypeScript sources.
# The tarball holds what `npm publish` would ship: dist/ as the package's `prepare` script builds it. npm runs
# `prepare` (a full build, ~15 s on two cores) on every pack; a dist/ already built from the current sources is
# packed as it is instead, and rebuilt only when a source file or the build's configuration is newer than its
# last complete build.
set -euo pipefail
app=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$app/../.." && pwd)
# The build copies the SQL migrations only after tsc succeeded: their folder's time is when the last good build ended.
built="$root/dist/metadata/migrations"
if [[ ! -d $built ]] ||
  [[ -n $(cd "$root" && find src tsconfig.json tsconfig.build.json package.json -newer "$built" -print -quit) ]]; then
  echo "video-generate-stage: dist/ is older than the sources: npm run build" >&2
  (cd "$root" && npm run build --silent >&2)
fi
rm -f "$app"/video-generate-stage*.tgz
(cd "$root" && npm pack --silent --ignore-scripts --pack-destination "$app" >/dev/null)
mv "$app"/video-generate-stage-*.tgz "$app/video-generate-stage.tgz"
# npm keeps an installed file: dependency whose spec did not change; the tarball did.
rm -rf "$app/node_modules/video-generate-stage"
