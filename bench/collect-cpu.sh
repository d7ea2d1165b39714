#!/bin/bash
# collect-cpu.sh -- what a collector-only engine costs at a steady rate:
# `weir --collect` on a loopback port, weir-bench's cached NetFlow v9
# stream (CACHE/export-nf9.dgrams, made by any export run; dated as sent,
# as weir-bench dates it) sent to it at RATE datagrams a second for
# SECONDS (python, paced every 0.5 ms), and the
# CPU time of the worker thread and of the whole process over the window
# (/proc/PID/task/TID/stat), with the records taken (health xflow_records),
# the worker's naps (idle_sleeps), the socket's drops and the nDPI verdicts
# (a port guess per new flow) and flow updates lost on the way to the
# control thread, and the folds that waited for it. Where the export
# sweep asks how fast weir can go, this asks what a given rate costs: run
# two builds one after the other to compare them. docs/benchmarks.md gives
# figures from it.
#
#   bench/collect-cpu.sh [BUILD_DIR] [RATE] [SECONDS]   (root; default build, 54000, 8)
set -eu
weir_pid= port=
build=${1:-build}
rate=${2:-54000}
secs=${3:-8}
dgrams=$build/bench-cache/export-nf9.dgrams
[ -r "$dgrams" ] || { echo "no $dgrams: run '$build/bench/weir-bench --scenario export --quick' once" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'kill $weir_pid 2>/dev/null; redis-cli -p $port shutdown nosave >/dev/null 2>&1; rm -rf $tmp' EXIT
free_port() { /usr/bin/python3 -c "import socket; s=socket.socket(socket.AF_INET, $1); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
port=$(free_port socket.SOCK_STREAM)
udp=$(free_port socket.SOCK_DGRAM)
redis-server --port "$port" --save '' --appendonly no --daemonize yes --logfile "$tmp/redis.log"
sleep 0.3
"$build/engine/weir" --collect "udp://127.0.0.1:$udp" --redis "redis://127.0.0.1:$port" --node cc -q > "$tmp/weir.log" 2>&1 &
weir_pid=$!
sleep 3
task=$(grep -l worker /proc/$weir_pid/task/*/comm | head -1)
task=${task%/comm}
cpu() { awk '{print $14 + $15}' "$1/stat"; }
get() { redis-cli -p "$port" hget 'weir:{cc}:health' "$1"; }
w0=$(cpu "$task"); p0=$(cpu /proc/$weir_pid); r0=$(get xflow_records); s0=$(get idle_sleeps); t0=$(date +%s.%N)
/usr/bin/python3 - "$dgrams" "$udp" "$rate" "$secs" <<'PY'
import socket, struct, sys, time
src, port, rate, secs = open(sys.argv[1], 'rb').read(), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
grams, off = [], 0
while off + 2 <= len(src):
    n = struct.unpack('>H', src[off:off + 2])[0]
    grams.append(bytearray(src[off + 2:off + 2 + n]))
    off += 2 + n
# dated as sent, as weir-bench's sender does (export_stream.c): the newest
# record's LAST_SWITCHED (21) becomes the header's uptime, unix_secs now
tmpl, up_end = {}, 0
for g in grams:
    p = 20
    while p + 4 <= len(g):
        sid, sl = struct.unpack('>HH', g[p:p + 4])
        if sl < 4:
            break
        if sid == 0:
            q = p + 4
            while q + 4 <= p + sl:
                tid, nf = struct.unpack('>HH', g[q:q + 4])
                f = [struct.unpack('>HH', g[q + 4 + 4 * i:q + 8 + 4 * i]) for i in range(nf)]
                q += 4 + 4 * nf
                at = [sum(l for _, l in f[:i]) for i, (t, l) in enumerate(f) if t == 21 and l == 4]
                tmpl[tid] = (sum(l for _, l in f), at[0] if at else None)
        elif sid in tmpl and tmpl[sid][1] is not None:
            rl, at = tmpl[sid]
            for r in range(p + 4, p + sl - rl + 1, rl):
                up_end = max(up_end, struct.unpack('>I', g[r + at:r + at + 4])[0])
        p += sl
for g in grams:
    g[4:8] = struct.pack('>I', (struct.unpack('>I', g[4:8])[0] + up_end) & 0xffffffff)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0, sent = time.monotonic(), 0
while time.monotonic() - t0 < secs:
    want = int((time.monotonic() - t0) * rate)
    now = struct.pack('>I', int(time.time()))
    while sent < want:
        g = grams[sent % len(grams)]
        g[8:12] = now
        s.sendto(g, ('127.0.0.1', port))
        sent += 1
    time.sleep(0.0005)
print("sent %d datagrams in %.1f s" % (sent, time.monotonic() - t0))
PY
sleep 1.5
w1=$(cpu "$task"); p1=$(cpu /proc/$weir_pid); r1=$(get xflow_records); s1=$(get idle_sleeps); t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
pct() { echo "scale=1; ($1) * 100 / $hz / ($t1 - $t0)" | bc; }
echo "worker CPU $(pct "$w1 - $w0")%, whole process $(pct "$p1 - $p0")%, $((r1 - r0)) records taken," \
     "$((s1 - s0)) idle naps, socket drops $(get collect_kernel_drops), verdicts dropped $(get dpi_msg_drops)," \
     "flow updates dropped $(get flow_ring_drops), folds deferred $(get folds_deferred)"
