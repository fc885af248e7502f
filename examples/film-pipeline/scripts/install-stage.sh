#!/usr/bin/env bash
# Installs video-generate-stage into node_modules as `npm pack` of the repository's current sources makes it
# (scripts/pack-stage.sh, then `npm install`), and does nothing when the installed copy is already that: when it is
# newer than every file the tarball is made from and than this app's package.json. The repository's test setup and
# CI call it before the app's checks and the suite that runs the app on an Inngest server. Only the npm registry is
# reached (for this app's own dependencies, most already in npm's cache).
set -euo pipefail
app=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$app/../.." && pwd)
installed="$app/node_modules/.video-generate-stage-installed"
mkdir -p "$app/node_modules"
# One install at a time: test runs and CI may start together in the same checkout.
exec 9>"$app/node_modules/.install-stage.lock"
flock 9

sources=(src bin fixtures/sample-reference.jpg package.json tsconfig.json tsconfig.build.json README.md LICENSE)
if [[ -f $installed && -d "$app/node_modules/video-generate-stage" ]] &&
  [[ -z $(cd "$root" && find "${sources[@]}" "$app/package.json" "$app/.npmrc" -newer "$installed" -print -quit) ]]; then
  echo "video-generate-stage: the installed package is current"
  exit 0
fi
# Stamped with the time the pack starts: a source edited during the pack makes the next call pack again.
touch "$installed.next"
bash "$app/scripts/pack-stage.sh"
(cd "$app" && npm install --no-audit --no-fund --prefer-offline --loglevel=error)
mv "$installed.next" "$installed"
echo "video-generate-stage: packed and installed"
