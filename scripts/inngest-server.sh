#!/usr/bin/env bash
# Prints the path of the pinned Inngest server binary, building it from the Go module proxy the first time.
#
#   scripts/inngest-server.sh            # -> ~/.cache/video-generate-stage/inngest-v1.43.0
#
# The Inngest CLI's npm package downloads its binary from the internet at install time, which these machines cannot
# reach; the Go module proxy serves the server's source at exact versions. `go install …@v1.43.0` refuses (the module
# has a `replace` directive), so the module is copied out of the read-only module cache and built inside.
# The binary is cached outside the repository, keyed by version, under a lock so parallel suites build it once.
#
# Environment: INNGEST_SERVER_VERSION (default v1.43.0, the newest the proxy serves here);
#              INNGEST_SERVER_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/video-generate-stage).
# Needs: go (1.26), flock. First build: about 3 minutes on 2 cores, 1.8 GiB of module cache, a 140 MB binary.
set -euo pipefail

version="${INNGEST_SERVER_VERSION:-v1.43.0}"
cache="${INNGEST_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/video-generate-stage}"
binary="$cache/inngest-$version"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

# Go's official installer puts it under /usr/local/go; a non-login shell may not have it on PATH.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "inngest-server: go is not installed (needed once to build the Inngest server $version)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/inngest-$version.lock"
flock 9
# Another process may have built it while this one waited for the lock.
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

echo "inngest-server: building github.com/inngest/inngest@$version (first time only, about 3 minutes)" >&2
module_dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/inngest/inngest@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$module_dir" ] || { echo "inngest-server: go mod download gave no module directory" >&2; exit 1; }

work=$(mktemp -d "$cache/build-$version.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$module_dir/." "$work/"
chmod -R u+w "$work"
# internal/embeddocs embeds a git submodule that module zips lack; one placeholder file satisfies the embed pattern.
mkdir -p "$work/internal/embeddocs/website/pages/docs"
echo "# docs" >"$work/internal/embeddocs/website/pages/docs/index.md"
(
  cd "$work"
  go build -o "$binary.partial" \
    -ldflags "-X github.com/inngest/inngest/pkg/inngest/version.Version=${version#v}" ./cmd
)
mv "$binary.partial" "$binary"
echo "$binary"
