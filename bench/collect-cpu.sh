#!/bin/bash
# collect-cpu.sh -- what a collector-only engine costs at a steady rate:
# `weir --collect` on a loopback port, weir-bench's cached NetFlow v9
# stream (CACHE/export-nf9.dgrams, made by any export run) sent to it at
# RATE records a second for SECONDS by weir-bench's own sender
# (`weir-bench --send`: paced sendmmsg, each datagram dated as sent; with
# AS_CAUGHT=1 as caught), and the CPU time of the worker, the control
# thread (the main thread), the whole process and redis-server over the
# window (/proc/PID/task/TID/stat), with the records taken (health
# xflow_records), the worker's naps (idle_sleeps), the socket's drops, the
# nDPI verdicts (a port guess per new flow) and flow updates lost on the way
# to the control thread, the folds that waited for it, and what Redis ran
# per publish cycle (commandstats over publish_cycles). Where the export
# sweep asks how fast weir can go, this asks what a given rate costs: run
# two builds one after the other to compare them (WEIR=path/to/weir runs
# another engine with this build's sender). docs/benchmarks.md gives
# figures from it.
#
# It also prints the share of the machine's CPU time left idle over the
# window (/proc/stat), and with PEER=nfcapd it runs nfcapd instead of weir
# (`nfcapd -b 127.0.0.1 -p PORT -w DIR -t 3600 -B 33554432`, as the export
# scenario does) and prints its CPU, the machine's idle share and the
# socket's drops (net.core.rmem_max raised to 32 MiB for the run, as the
# export scenario does, so that -B gets it): what the same stream costs
# the peer. PEER=sink does the same with `weir-bench --sink`, which reads
# the datagrams and drops them: the floor under any collector. CPU and
# idle shares are over the send and the 1.5 s after it.
#
#   [WEIR=ENGINE] [AS_CAUGHT=1] [CTL_NICE=N] [REDIS_NICE=N] [PEER=nfcapd|sink] \
#   bench/collect-cpu.sh [BUILD_DIR] [RATE] [SECONDS] [ENGINE OPTION...]
#   (root; default build, 1600000, 8)
set -eu
weir_pid= port=
build=${1:-build}
rate=${2:-1600000}
secs=${3:-8}
shift $(($# < 3 ? $# : 3))
weir=${WEIR:-$build/engine/weir}
dgrams=$build/bench-cache/export-nf9.dgrams
[ -r "$dgrams" ] || { echo "no $dgrams: run '$build/bench/weir-bench --scenario export --quick' once" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'kill $weir_pid 2>/dev/null; redis-cli -p $port shutdown nosave >/dev/null 2>&1; rm -rf $tmp' EXIT
free_port() { /usr/bin/python3 -c "import socket; s=socket.socket(socket.AF_INET, $1); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
port=$(free_port socket.SOCK_STREAM)
udp=$(free_port socket.SOCK_DGRAM)
cpu() { awk '{print $14 + $15}' "$1/stat"; }
# idle and total ticks of all CPUs; idle_pct A B: the idle share between two readings
ticks() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
idle_pct() { echo "$1 $2" | awk '{printf "%.1f", ($3 - $1) * 100 / ($4 - $2)}'; }
send() {
	"$build/bench/weir-bench" --send nf9 "$udp" "$rate" "$secs" --cache "$build/bench-cache" \
		${AS_CAUGHT:+--as-caught}
}
if [ -n "${PEER:-}" ]; then
	rmem=$(cat /proc/sys/net/core/rmem_max)
	trap 'kill $weir_pid 2>/dev/null; echo "$rmem" > /proc/sys/net/core/rmem_max; rm -rf $tmp' EXIT
	[ "$rmem" -ge 33554432 ] || echo 33554432 > /proc/sys/net/core/rmem_max
	case $PEER in
	nfcapd)
		mkdir "$tmp/nfcapd"
		nfcapd -b 127.0.0.1 -p "$udp" -w "$tmp/nfcapd" -t 3600 -B 33554432 > "$tmp/peer.log" 2>&1 & ;;
	sink)
		"$build/bench/weir-bench" --sink "$udp" 3600 > "$tmp/peer.log" 2>&1 & ;;
	*)
		echo "PEER is nfcapd or sink" >&2; exit 2 ;;
	esac
	weir_pid=$!	# killed by the trap
	sleep 1
	c0=$(cpu /proc/$weir_pid); i0=$(ticks); t0=$(date +%s.%N)
	send
	sleep 1.5
	c1=$(cpu /proc/$weir_pid); i1=$(ticks); t1=$(date +%s.%N)
	drops=$(awk -v p=":$(printf %04X "$udp")" '$2 ~ p"$" {print $NF}' /proc/net/udp)
	echo "$PEER CPU $(echo "scale=1; ($c1 - $c0) * 100 / $(getconf CLK_TCK) / ($t1 - $t0)" | bc)%," \
	     "machine idle $(idle_pct "$i0" "$i1")% of $(nproc) CPUs, socket drops ${drops:-?}"
	if [ "$PEER" = sink ]; then
		kill "$weir_pid"; wait "$weir_pid" 2>/dev/null || true
		cat "$tmp/peer.log"
	fi
	exit 0
fi
redis-server --port "$port" --save '' --appendonly no --daemonize yes --pidfile "$tmp/redis.pid" \
	--logfile "$tmp/redis.log"
sleep 0.3
"$weir" --collect "udp://127.0.0.1:$udp" --redis "redis://127.0.0.1:$port" --node cc -q "$@" > "$tmp/weir.log" 2>&1 &
weir_pid=$!
sleep 3
task=$(grep -l worker /proc/$weir_pid/task/*/comm | head -1)
task=${task%/comm}
redis=/proc/$(cat "$tmp/redis.pid")
get() { redis-cli -p "$port" hget 'weir:{cc}:health' "$1"; }
# CTL_NICE=N / REDIS_NICE=N: the control thread (the main thread) or
# redis-server at that nice value for the run (a trial of session 12)
[ -n "${CTL_NICE:-}" ] && renice -n "$CTL_NICE" -p "$weir_pid" > /dev/null
[ -n "${REDIS_NICE:-}" ] && renice -n "$REDIS_NICE" -p "$(cat "$tmp/redis.pid")" > /dev/null
w0=$(cpu "$task"); c0=$(cpu /proc/$weir_pid/task/$weir_pid); p0=$(cpu /proc/$weir_pid); d0=$(cpu "$redis")
r0=$(get xflow_records); s0=$(get idle_sleeps); i0=$(ticks); t0=$(date +%s.%N)
send
sleep 1.5
w1=$(cpu "$task"); c1=$(cpu /proc/$weir_pid/task/$weir_pid); p1=$(cpu /proc/$weir_pid); d1=$(cpu "$redis")
i1=$(ticks); t1=$(date +%s.%N)
# the counters come with a publish cycle: wait (at most 60 s) for one that
# started after the window closed, so that a slow cycle is not read stale
t1ms=$(echo "$t1 * 1000 / 1" | bc)
for _ in $(seq 600); do
	[ "$(redis-cli -p "$port" hget 'weir:{cc}:meta' updated_ms)" -ge "$t1ms" ] 2>/dev/null && break
	sleep 0.1
done
r1=$(get xflow_records); s1=$(get idle_sleeps)
hz=$(getconf CLK_TCK)
pct() { echo "scale=1; ($1) * 100 / $hz / ($t1 - $t0)" | bc; }
echo "worker CPU $(pct "$w1 - $w0")%, control thread $(pct "$c1 - $c0")%, whole process $(pct "$p1 - $p0")%," \
     "redis-server $(pct "$d1 - $d0")%, $((r1 - r0)) records taken, $((s1 - s0)) idle naps," \
     "socket drops $(get collect_kernel_drops), verdicts dropped $(get dpi_msg_drops)," \
     "flow updates dropped $(get flow_ring_drops), folds deferred $(get folds_deferred)," \
     "last publish_ms $(get publish_ms), hosts expired $(get hosts_expired_workers)," \
     "machine idle $(idle_pct "$i0" "$i1")% of $(nproc) CPUs"
# what Redis ran per publish cycle, the costliest commands first
cycles=$(get publish_cycles)
redis-cli -p "$port" info commandstats | tr -d '\r' |
	awk -F'[:=,]' -v n="$cycles" '/^cmdstat_(hset|zadd|sadd|xadd|pexpire|hincrby|del|zrem|srem)/ {
		printf "%s %.0f %.2f %.0f\n", substr($1, 9), $3 / n, $7, $5 / n }' | sort -k4 -n -r |
	awk -v n="$cycles" 'BEGIN { printf "redis per cycle (%s cycles):", n }
		{ printf " %s %s (%s us each)", $1, $2, $3 } END { print "" }'
