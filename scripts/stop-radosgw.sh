#!/usr/bin/env bash
# Stops the radosgw cluster started by start-radosgw.sh in BASE_DIR (the data stays; start again to reuse it).
# Usage: scripts/stop-radosgw.sh BASE_DIR [--purge]   (--purge also deletes BASE_DIR)
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 BASE_DIR [--purge]" >&2
  exit 2
fi
B=$(cd "$1" 2>/dev/null && pwd) || { echo "no such directory: $1" >&2; exit 0; }
for name in client.rgw.gw "osd.$(cat "$B/osd-id" 2>/dev/null || echo 0)" mon.a; do
  pid_file="$B/run/$name.pid"
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pid_file"
done
if [ "${2:-}" = "--purge" ]; then rm -rf "$B"; fi
