#!/usr/bin/env bash
# Packs video-generate-stage from the repository root exactly as `npm publish` would (npm runs its `prepare`, which
# builds dist/) into ./video-generate-stage.tgz, the file package.json depends on. Then `npm install` installs it
# like any published package: no relative imports, no TypeScript sources.
set -euo pipefail
app=$(cd "$(dirname "$0")/.." && pwd)
rm -f "$app"/video-generate-stage*.tgz
(cd "$app/../.." && npm pack --silent --pack-destination "$app" >/dev/null)
mv "$app"/video-generate-stage-*.tgz "$app/video-generate-stage.tgz"
# npm keeps an installed file: dependency whose spec did not change; the tarball did.
rm -rf "$app/node_modules/video-generate-stage"
