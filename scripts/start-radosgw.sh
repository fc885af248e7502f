#!/usr/bin/env bash
# Starts (or restarts) a single-node Ceph radosgw on 127.0.0.1:7480 for the S3 test suite, and prints the
# TEST_S3_* lines to use it:   eval "$(scripts/start-radosgw.sh .radosgw | grep '^export ')"
#
# Usage: scripts/start-radosgw.sh BASE_DIR
# Needs the Debian packages radosgw, ceph-mon and ceph-osd (installed by .ci/run, not here). Runs as root without
# systemd or sudo. Idempotent: a second run restarts the daemons of the existing cluster in BASE_DIR.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BASE_DIR" >&2
  exit 2
fi
for binary in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
  command -v "$binary" >/dev/null || { echo "missing $binary: apt-get install radosgw ceph-mon ceph-osd curl" >&2; exit 1; }
done

mkdir -p "$1"
B=$(cd "$1" && pwd)
CONF="$B/ceph.conf"
trap 'echo "start-radosgw: failed at line $LINENO; logs in $B/log" >&2' ERR
ENDPOINT="http://127.0.0.1:7480"
ACCESS_KEY="test"
SECRET_KEY="testsecret"
BUCKET="media"

running() { [ -f "$B/run/$1.pid" ] && kill -0 "$(cat "$B/run/$1.pid")" 2>/dev/null; }

if [ ! -f "$CONF" ]; then
  mkdir -p "$B/run" "$B/log" "$B/mon" "$B/osd" "$B/rgw"
  FSID=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:3300
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# Required with auth none, or radosgw loops on "get_initial_auth_request returned -13".
ms_mon_client_mode = crc
ms_client_mode = crc
ms_bind_ipv6 = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
# rgw creates about 7 pools; at the default 32 PGs each a single OSD hits mon_max_pg_per_osd.
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
run_dir = $B/run
admin_socket = $B/run/\$name.asok
log_file = $B/log/\$name.log
pid_file = $B/run/\$name.pid
mon_data = $B/mon/\$cluster-\$id
osd_data = $B/osd/\$cluster-\$id
keyring = $B/keyring

[osd]
osd_objectstore = bluestore
# Not \$osd_data/block: mkfs makes a "block" symlink there that would point at itself.
bluestore_block_path = $B/osd/block.img
bluestore_block_size = 10737418240
bluestore_block_create = true
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 939524096

[client.rgw.gw]
rgw_frontends = beast endpoint=127.0.0.1:7480
rgw_data = $B/rgw
CONF
  ceph-authtool --create-keyring "$B/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a '[v2:127.0.0.1:3300]' --fsid "$FSID" "$B/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$B/monmap"
  ceph-mon -c "$CONF" -i a
  OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
  OSD_ID=$(ceph -c "$CONF" osd new "$OSD_UUID")
  echo "$OSD_ID" >"$B/osd-id"
  mkdir -p "$B/osd/ceph-$OSD_ID"
  ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2>>"$B/log/osd-mkfs.log"
  ceph-osd -c "$CONF" -i "$OSD_ID" 2>>"$B/log/daemons.log"
  FRESH=1
else
  OSD_ID=$(cat "$B/osd-id")
  running mon.a || ceph-mon -c "$CONF" -i a
  running "osd.$OSD_ID" || ceph-osd -c "$CONF" -i "$OSD_ID" 2>>"$B/log/daemons.log"
  FRESH=0
fi

running client.rgw.gw || radosgw -c "$CONF" -n client.rgw.gw 2>>"$B/log/daemons.log"

for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$ENDPOINT/" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "$ENDPOINT/" || { echo "radosgw did not answer on $ENDPOINT; see $B/log" >&2; exit 1; }

if [ "$FRESH" = 1 ] || ! radosgw-admin -c "$CONF" -n client.rgw.gw user info --uid=test >/dev/null 2>>"$B/log/radosgw-admin.log"; then
  radosgw-admin -c "$CONF" -n client.rgw.gw user create --uid=test --display-name=test \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$B/log/radosgw-admin.log"
fi

echo "export TEST_S3_ENDPOINT=$ENDPOINT"
echo "export TEST_S3_ACCESS_KEY=$ACCESS_KEY"
echo "export TEST_S3_SECRET_KEY=$SECRET_KEY"
echo "export TEST_S3_BUCKET=$BUCKET"
