#!/usr/bin/python3
"""engine_hostdns.py -- a host's DNS names when it asks for more than the
256 the engine keeps, and nDPI's memory per worker.

One client asks one resolver 300 names once each, then 10 names three
times each, every query from its own source port (its own flow) and later
in time than the one before (frames written here byte by byte). The engine
keeps 256 names per host and a new name replaces the least asked (the
longest unasked on a tie), so whatever order the flows reach the control
thread in:

  - hostdns:ID holds exactly 256 names; the 10 asked three times are all
    there with score 3 (each, when new, was the newest of the names asked
    once, so never the one replaced), every other member with score 1;
  - hostdnslast:ID has the same names (nothing stale of a replaced one);
  - health hostdns_dropped is 310 - 256 = 54;
  - health w0_dpi_mem_bytes and w1_dpi_mem_bytes (two workers) are
    positive and add up to dpi_mem_bytes (case file).

  file  the queries in a capture, `weir -r`, two workers: one publish at the
        end, so no replaced name ever reached Redis.
  live  the queries written into a veth pair in a namespace of the test's
        own (engine_live.py's), `weir -i` on the other end, in two rounds with publishes in
        between: the 300 names first (256 published), then the 10 popular
        ones, each of which replaces a published name that Redis must lose.

Usage: engine_hostdns.py --case C --weir W --weirctl C
"""
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import weirtest  # noqa: E402
import engine_live as live  # noqa: E402
from weirtest import check  # noqa: E402

CLIENT, RESOLVER = "10.53.0.7", "10.53.0.1"
ONCE, POPULAR, KEEP = 300, 10, 256


def dns(qid, name, answer):
	q = b"".join(struct.pack("B", len(p)) + p.encode() for p in name.split(".")) + b"\0"
	m = struct.pack("!HHHHHH", qid, 0x8180 if answer else 0x0100, 1, int(answer), 0, 0) + q + struct.pack("!HH", 1, 1)
	if answer:	# one A record: nDPI 4.2 waits for a response with answers
		m += struct.pack("!HHHIH4s", 0xc00c, 1, 1, 60, 4, socket.inet_aton("192.0.2.1"))
	return m


def frame(sport, payload, answer=False):
	a, b = (RESOLVER, CLIENT) if answer else (CLIENT, RESOLVER)
	pa, pb = (53, sport) if answer else (sport, 53)
	udp = struct.pack("!HHHH", pa, pb, 8 + len(payload), 0) + payload
	ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), sport, 0, 64, 17, 0,
			 socket.inet_aton(a), socket.inet_aton(b))
	return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp


def query_frames():
	"""(round, frame): the names asked once, then the popular ones."""
	names = [(1, "once%03d.example.org" % i) for i in range(ONCE)]
	names += [(2, "popular%02d.example.com" % (i // 3)) for i in range(POPULAR * 3)]
	# each query answered, so that nDPI is done with the flow
	return [(r, frame(20000 + i, dns(i, n, ans), ans)) for i, (r, n) in enumerate(names)
		for ans in (False, True)]


def write_capture(path):
	with open(path, "wb") as f:
		f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
		for i, (_, fr) in enumerate(query_frames()):
			f.write(struct.pack("<IIII", 1700000000 + i // 2, i % 2 * 1000, len(fr), len(fr)) + fr)


def read_back(redis, node):
	hid = "%s@0" % CLIENT
	z = redis.cli("--raw", "ZRANGE", "weir:{%s}:hostdns:%s" % (node, hid), "0", "-1",
		      "WITHSCORES").split()
	z = {z[i]: int(float(z[i + 1])) for i in range(0, len(z), 2)}
	last = set(redis.cli("--raw", "HKEYS", "weir:{%s}:hostdnslast:%s" % (node, hid)).split())
	return z, last, redis.hgetall("weir:{%s}:health" % node)


def case_file(a, redis, tmp):
	pcap = os.path.join(tmp, "dns.pcap")
	write_capture(pcap)
	weirtest.run_weir(a.weir, ["-r", pcap, "--redis", redis.url, "--node", "hd", "-w", "2",
				   "--eal-mem", "256", "--flow-table-size", "4096"])
	z, last, h = read_back(redis, "hd")
	judge(z, last, h)
	per = [int(h.get("w%d_dpi_mem_bytes" % i, -1)) for i in range(2)]
	check(all(v > 0 for v in per) and sum(per) == int(h.get("dpi_mem_bytes", -1)),
	      "w0/w1_dpi_mem_bytes %s add up to dpi_mem_bytes %s" % (per, h.get("dpi_mem_bytes")))


SEND = """import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
d = open(sys.argv[2], "rb").read()
while d:
	n = struct.unpack("!H", d[:2])[0]
	s.send(d[2:2 + n])
	d = d[2 + n:]
	time.sleep(0.0005)	# paced: the PMD's ring must not overflow
"""


def wait_for(fn, timeout):
	end = time.monotonic() + timeout
	while time.monotonic() < end:
		v = fn()
		if v:
			return v
		time.sleep(0.2)
	return fn()


def case_live(a, redis, tmp):
	ns, ea, eb = live.make_veth(str(os.getpid() % 100000))
	p = None
	try:
		p, log = live.start_engine(a, redis, "hl", ["-i", ea, "-q"], tmp, ns)
		if not check(p is not None, "the engine runs on %s" % ea):
			return
		frames = query_frames()
		for rnd, want in ((1, lambda z: len(z) == KEEP),
				  (2, lambda z: all(z.get("popular%02d.example.com" % i) == 3 for i in range(POPULAR)))):
			path = os.path.join(tmp, "round%d" % rnd)
			with open(path, "wb") as f:
				f.write(b"".join(struct.pack("!H", len(fr)) + fr for r, fr in frames if r == rnd))
			live.sh("ip", "netns", "exec", ns, "/usr/bin/python3", "-c", SEND, eb, path)
			got = wait_for(lambda: want(read_back(redis, "hl")[0]), 20)
			if not check(got, "round %d published" % rnd):
				z, _, h = read_back(redis, "hl")
				print("  %d names; health rx_pkts %s dpi_detected %s flows_active %s" % (
					len(z), h.get("rx_pkts"), h.get("dpi_detected"), h.get("flows_active")))
		check(live.stop_engine(p, log, "hl"), "the engine exits 0 on SIGTERM")
		z, last, h = read_back(redis, "hl")
		check(h.get("rx_pkts") == str(len(frames)), "the engine received the %d frames sent (%s)" % (
			len(frames), h.get("rx_pkts")))
		judge(z, last, h)
	finally:
		if p and p.poll() is None:
			p.kill()
		live.sh("ip", "netns", "del", ns, check=False)


def judge(z, last, h):
	popular = {"popular%02d.example.com" % i for i in range(POPULAR)}
	check(len(z) == KEEP, "hostdns keeps %d names (%d)" % (KEEP, len(z)))
	check(all(z.get(p) == 3 for p in popular),
	      "the %d names asked three times are kept with score 3: %s" % (
		      POPULAR, sorted((p, z.get(p)) for p in popular)))
	others = {n: s for n, s in z.items() if n not in popular}
	check(all(n.startswith("once") and s == 1 for n, s in others.items()),
	      "every other name is one asked once, score 1")
	check(last == set(z), "hostdnslast holds the same names (%d, %d stale)" % (
		len(last), len(last - set(z))))
	check(h.get("hostdns_dropped") == str(ONCE + POPULAR - KEEP),
	      "health hostdns_dropped %s, want %d" % (h.get("hostdns_dropped"), ONCE + POPULAR - KEEP))


if __name__ == "__main__":
	sys.exit(weirtest.run_cases(globals(), "weir-hostdns-"))
