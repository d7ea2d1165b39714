#!/usr/bin/env bash
# soak.sh -- a bounded soak run (not part of CI): the engine replays a
# generated mixed capture in a loop for MINUTES (default 10) at the fastest
# rate net_pcap gives, with a loopback redis-server of its own; every 10 s it
# samples the engine's resident memory and the health counters. At the end it
# checks that memory stayed flat after warm-up (within 5 %) and that the
# counters add up: frames in = frames accounted + non-IP + counted drops.
#
#   scripts/soak.sh [MINUTES]          (root; build first: ninja -C build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-10}
work=$(mktemp -d /tmp/weir-soak-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { kill "${weir_pid:-0}" 2>/dev/null || true; kill "${redis_pid:-0}" 2>/dev/null || true; }
trap cleanup EXIT

echo "== generating the capture (mixed profile, ~1M frames)"
/usr/bin/python3 "$top/tests/gen/gen_traffic.py" --profile mixed --seed 1 --out "$work/mixed.pcap"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
redis_pid=$!
sleep 0.5
"$top/build/engine/weir" -r "$work/mixed.pcap" --loop --redis "redis://127.0.0.1:$port" --node soak \
	-m 10.0.0.0/8 -q >"$work/weir.log" 2>&1 &
weir_pid=$!
h() { redis-cli -p "$port" HGET 'weir:{soak}:health' "$1"; }
echo "== soaking for $minutes min (samples every 10 s: elapsed, RSS KiB, rx_pkts, flows_active, drops)"
end=$(( $(date +%s) + minutes * 60 ))
samples=()
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 10
	kill -0 "$weir_pid" 2>/dev/null || { echo "the engine died:"; tail -20 "$work/weir.log"; exit 1; }
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$weir_pid/status")
	samples+=("$rss")
	printf '%6ss %10s KiB  rx %12s  flows %8s  parse_drops %s  ring_drops %s\n' \
		"$(( minutes * 60 - (end - $(date +%s)) ))" "$rss" "$(h rx_pkts)" "$(h flows_active)" \
		"$(h parse_drops)" "$(h flow_ring_drops)"
done
kill -TERM "$weir_pid"
wait "$weir_pid" || true
rx=$(h rx_pkts); parsed=$(h parsed_pkts); nonip=$(h non_ip); drops=$(h parse_drops); xf=$(h xflow_datagrams)
echo "== frames in $rx = accounted $parsed + non-IP $nonip + drops $drops + flow-export $xf"
status=0
[ "$rx" -eq $(( parsed + nonip + drops + xf )) ] || { echo "counters do not add up"; status=1; }
n=${#samples[@]}
if [ "$n" -ge 4 ]; then
	warm=${samples[$(( n / 4 ))]}; last=${samples[$(( n - 1 ))]}
	growth=$(( (last - warm) * 100 / warm ))
	echo "== RSS after warm-up ${warm} KiB, at the end ${last} KiB (${growth} %)"
	[ "$growth" -le 5 ] || { echo "memory grew more than 5 %"; status=1; }
fi
exit $status
