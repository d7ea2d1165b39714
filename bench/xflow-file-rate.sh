#!/bin/bash
# xflow-file-rate.sh -- the worker's own flow-export record rate, with no
# socket, sender or collector thread sharing the CPU: weir-bench's cached
# NetFlow v9 stream (CACHE/export-nf9.dgrams, made by any export run) is
# written as a pcap of UDP datagrams to port 2055, replayed with
# `weir -r FILE --loop`, and xflow_records (health hash) is read 6 s apart;
# then what the publish cycles of that window cost Redis (INFO commandstats).
# docs/benchmarks.md gives figures from it.
#
#   bench/xflow-file-rate.sh [BUILD_DIR] [STREAM]   (root; default build, nf9)
set -eu
weir= port=
build=${1:-build}
stream=${2:-nf9}
dgrams=$build/bench-cache/export-$stream.dgrams
[ -r "$dgrams" ] || { echo "no $dgrams: run '$build/bench/weir-bench --scenario export --quick' once" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'kill $weir 2>/dev/null; redis-cli -p $port shutdown nosave >/dev/null 2>&1; rm -rf $tmp' EXIT
/usr/bin/python3 - "$dgrams" "$tmp/x.pcap" <<'PY'
import struct, sys
src, out = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
off = n = 0
while off + 2 <= len(src):
    l = struct.unpack('>H', src[off:off + 2])[0]
    udp = struct.pack('>HHHH', 40000, 2055, 8 + l, 0) + src[off + 2:off + 2 + l]
    off += 2 + l
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes([127, 0, 0, 2]), bytes([127, 0, 0, 1]))
    s = sum(struct.unpack('>10H', ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    fr = b'\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00' + ip[:10] + struct.pack('>H', ~s & 0xffff) + ip[12:] + udp
    out.write(struct.pack('<IIII', 1700000000 + n // 1000, n % 1000 * 1000, len(fr), len(fr)) + fr)
    n += 1
PY
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --save '' --appendonly no --daemonize yes --logfile "$tmp/redis.log"
sleep 0.3
"$build/engine/weir" -r "$tmp/x.pcap" --loop --redis "redis://127.0.0.1:$port" --node xf -q > "$tmp/weir.log" 2>&1 &
weir=$!
sleep 4
get() { redis-cli -p "$port" hget 'weir:{xf}:health' "${1:-xflow_records}"; }
redis-cli -p "$port" config resetstat > /dev/null
a=$(get); ca=$(get publish_cycles); ta=$(date +%s.%N)
sleep 6
b=$(get); cb=$(get publish_cycles); tb=$(date +%s.%N)
echo "$stream from a file, one worker: $(echo "($b - $a) / ($tb - $ta) / 1000" | bc) thousand records/s"
# What publishing these flows costs Redis: commands per publish cycle and
# the CPU time of each cycle's MULTI/EXEC (Redis runs the queue at EXEC).
cycles=$((cb - ca))
[ "$cycles" -gt 0 ] || cycles=1
echo "Redis, per publish cycle ($((cb - ca)) cycles in the window):"
redis-cli -p "$port" info commandstats | tr -d '\r' |
  awk -F'[:=,]' -v n="$cycles" '/^cmdstat_(hset|zadd|xadd|pexpire|sadd|del|zrem):/ {
      sub("cmdstat_", "", $1); printf "  %-8s %9.0f calls %6.2f us each\n", $1, $3 / n, $7 }
    /^cmdstat_exec:/ { printf "  %-8s %9.0f ms of Redis CPU\n", "EXEC", $5 / n / 1000 }' 
