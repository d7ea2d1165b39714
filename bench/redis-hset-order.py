#!/usr/bin/env python3
"""redis-hset-order.py -- what a flow hash's field order costs Redis.

Why this exists: a flow's hash (docs/redis-keys.md) is small enough to be a
listpack, where HSET finds a field by scanning from the head; the engine
writes the fields that move each cycle first (engine/control.c,
publish_flows) so that an update scans the fewest. This measures it with
nothing else running: N hashes of a flow's 28 fields written once with the
8 moving fields at the tail or at the head, then 3 updates of those 8 per
hash, pipelined 2000 at a time; Redis's own usec_per_call for the updates.
It starts its own redis-server on a free port and stops it.

    bench/redis-hset-order.py [N] [ORDER ...]     (default 400000 tail head tail head)
"""
import socket
import subprocess
import sys
import tempfile
import time

STATIC = [("src", "10.1.2.3"), ("dst", "192.168.100.200"), ("sport", 51234), ("dport", 443), ("proto", 6),
          ("vlan", 0), ("first_seen", 1795963642143), ("src_mac", "00:11:22:33:44:55"),
          ("dst_mac", "66:77:88:99:aa:bb"), ("worker", 0), ("exporter", "127.0.0.1"), ("in_if", 3),
          ("out_if", 4), ("state", "active"), ("end_reason", "-"), ("app", "TLS"), ("application", "TLS"),
          ("category", "Web"), ("detection", "dpi"), ("confidence", "DPI")]
MOVING = [("bytes", 1175200), ("pkts", 1872), ("bytes_fwd", 219232), ("pkts_fwd", 936),
          ("bytes_rev", 955968), ("pkts_rev", 936), ("last_seen", 1795963642143), ("tcp_flags", 0)]


def cmd(*args):
    """One command in Redis's inline form (no argument here has a space)."""
    return (" ".join(str(a) for a in args) + "\r\n").encode()


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def reply(self):
        line = self.f.readline()
        if line[:1] == b"$":
            n = int(line[1:])
            return self.f.read(n + 2)[:-2] if n >= 0 else None
        return line.rstrip(b"\r\n")

    def run(self, cmds):
        for i in range(0, len(cmds), 2000):
            batch = cmds[i:i + 2000]
            self.s.sendall(b"".join(batch))
            for _ in batch:
                self.reply()


def kv(fields, add=0):
    out = []
    for k, v in fields:
        out += [k, v + add if isinstance(v, int) else v]
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400000
    orders = sys.argv[2:] or ["tail", "head", "tail", "head"]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = tempfile.mkdtemp()
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                            "--dir", d], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                c = Conn(port)
                break
            except OSError:
                time.sleep(0.1)
        for order in orders:
            c.run([cmd("FLUSHALL")])
            first = MOVING + STATIC if order == "head" else STATIC + MOVING
            c.run([cmd("HSET", "flow:%d" % i, *kv(first)) for i in range(n)])
            c.run([cmd("CONFIG", "RESETSTAT")])
            for r in range(1, 4):
                c.run([cmd("HSET", "flow:%d" % i, *kv(MOVING, r)) for i in range(n)])
            c.s.sendall(cmd("INFO", "commandstats"))
            info = c.reply().decode()
            line = [x for x in info.split("\r\n") if x.startswith("cmdstat_hset:")][0]
            print("%s: %s" % (order, line.split(":", 1)[1]))
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
