#!/usr/bin/env bash
# soak.sh -- a bounded soak run (not part of CI): the engine replays a
# generated mixed capture in a loop for MINUTES (default 10) at the fastest
# rate net_pcap gives, with a loopback redis-server of its own; every 10 s it
# samples the engine's resident memory and the health counters. At the end
# (SIGTERM: every flow is flushed and published) it prints a report and
# checks that
#   - memory stayed flat after warm-up (the last sample within 5 % of the
#     one a quarter of the way in);
#   - frames in = frames accounted + non-IP + counted parse drops +
#     flow-export datagrams (the workers' counters);
#   - frames accounted = the packets the published hosts sent = the packets
#     of the published VLANs (nothing lost between the workers, their
#     aggregates and Redis), with no aggregate allocation failure.
#
#   scripts/soak.sh [MINUTES]     root; uses ${WEIR_BUILD_DIR:-build}/engine/weir
#                                 (build first: ninja -C build)
# docs/operations.md ("Soak run") says when to run it and how to read it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-10}
build=${WEIR_BUILD_DIR:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
weir=$build/engine/weir
[ -x "$weir" ] || { echo "soak: $weir is not built (ninja -C $build)"; exit 2; }
work=$(mktemp -d /tmp/weir-soak-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
	[ -n "${weir_pid:-}" ] && kill "$weir_pid" 2>/dev/null
	[ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null
	rm -rf "$work"
	return 0
}
trap cleanup EXIT

# net_pcap's loop mode holds the whole file in mbufs (one per frame, plus
# those in flight): 200k frames and 256k mbufs, 2 GB of DPDK memory asked for
echo "== generating the capture (mixed profile, ~200k frames, ~20k flows)"
/usr/bin/python3 "$top/tests/gen/gen_traffic.py" --profile mixed --seed 1 --packets 200000 --flows 20000 \
	--out "$work/mixed.pcap"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
redis_pid=$!
sleep 0.5
"$weir" -r "$work/mixed.pcap" --loop --redis "redis://127.0.0.1:$port" --node soak \
	-m 10.0.0.0/8 --mbufs 262143 --eal-mem 2048 -q >"$work/weir.log" 2>&1 &
weir_pid=$!
h() { redis-cli -p "$port" HGET 'weir:{soak}:health' "$1"; }
# sum of one field over every published host / VLAN (Lua numbers are
# doubles: exact up to 2^53 packets)
sum_of() {
	redis-cli -p "$port" EVAL "local s = 0
		for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
			s = s + tonumber(redis.call('HGET', KEYS[2] .. id, ARGV[1]) or '0')
		end
		return tostring(s)" 2 "weir:{soak}:$1" "weir:{soak}:$2" "$3" | awk '{printf "%.0f", $1}'
}
echo "== soaking for $minutes min (samples every 10 s: elapsed, RSS KiB, rx_pkts, flows_active, drops)"
start=$(date +%s)
end=$(( start + minutes * 60 ))
samples=()
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 10
	kill -0 "$weir_pid" 2>/dev/null || { echo "the engine died:"; tail -20 "$work/weir.log"; exit 1; }
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$weir_pid/status")
	samples+=("$rss")
	printf '%6ss %10s KiB  rx %12s  flows %8s  parse_drops %s  ring_drops %s\n' \
		"$(( $(date +%s) - start ))" "$rss" "$(h rx_pkts)" "$(h flows_active)" \
		"$(h parse_drops)" "$(h flow_ring_drops)"
done
kill -TERM "$weir_pid"
rc=0
wait "$weir_pid" || rc=$?
weir_pid=
status=0
[ "$rc" -eq 0 ] || { echo "the engine exited $rc after SIGTERM:"; tail -20 "$work/weir.log"; status=1; }

rx=$(h rx_pkts); parsed=$(h parsed_pkts); nonip=$(h non_ip); drops=$(h parse_drops); xf=$(h xflow_datagrams)
aggfail=$(h agg_alloc_failed)
host_pkts=$(sum_of hosts host: pkts_sent); vlan_pkts=$(sum_of vlans vlan: pkts)
echo "== report after $minutes min"
echo "   frames in            $rx"
echo "   accounted            $parsed (hosts sent $host_pkts, VLANs $vlan_pkts)"
echo "   non-IP               $nonip"
echo "   parse drops          $drops"
echo "   flow-export          $xf"
echo "   aggregate alloc fail $aggfail"
echo "   flows ended (idle/active/evicted/flush) $(h flows_ended_idle)/$(h flows_ended_active)/$(h flows_ended_evicted)/$(h flows_ended_flush), table full $(h flow_table_full), ring drops $(h flow_ring_drops)"
[ "$rx" -eq $(( parsed + nonip + drops + xf )) ] ||
	{ echo "FAIL: frames in != accounted + non-IP + drops + flow-export"; status=1; }
[ "$host_pkts" = "$parsed" ] && [ "$vlan_pkts" = "$parsed" ] && [ "$aggfail" = 0 ] ||
	{ echo "FAIL: the published hosts or VLANs do not hold every accounted frame"; status=1; }
n=${#samples[@]}
if [ "$n" -ge 4 ]; then
	warm=${samples[$(( n / 4 ))]}; last=${samples[$(( n - 1 ))]}
	min=$(printf '%s\n' "${samples[@]}" | sort -n | head -1); max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
	growth=$(( (last - warm) * 100 / warm ))
	echo "   RSS                  after warm-up ${warm} KiB, at the end ${last} KiB (${growth} %), min ${min}, max ${max}"
	[ "$growth" -le 5 ] || { echo "FAIL: memory grew more than 5 % after warm-up"; status=1; }
else
	echo "   RSS                  only $n samples: too short a run to judge memory"
fi
[ $status -eq 0 ] && echo "== soak passed" || echo "== soak FAILED"
exit $status
