#!/usr/bin/env bash
# example.sh -- the README's first command: install what is missing, build,
# make sure a loopback redis-server answers, run the engine on the bundled
# example capture (examples/office.pcap, through the DPDK pcap vdev) and show
# what it published, with weirctl.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/setup.sh"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/tmp/weir-build.log 2>&1 || { tail -30 /tmp/weir-build.log; exit 1; }

port=${WEIR_EXAMPLE_REDIS_PORT:-6379}
redis="redis://127.0.0.1:$port"
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
  echo "== starting redis-server on 127.0.0.1:$port (loopback only, no persistence)"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

pcap=${1:-examples/office.pcap}
echo "== weir -r $pcap (DPDK net_pcap vdev, development mode: --no-huge --no-pci)"
# DPDK needs root for its memory set-up even without hugepages
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO build/engine/weir -r "$pcap" --redis "$redis" -c examples/weir.conf

ctl() { echo; echo "\$ weirctl $*"; build/tools/weirctl/weirctl --redis "$redis" "$@"; }
ctl hosts --top 10
ctl vlans
ctl subnets --matrix
ctl flows --top 10
ctl status
