"""web_collect.py -- a NetFlow v9 stream for weir-web's exporter and
interface views, and what tshark says it holds.

The stream is built here, byte by byte (RFC 3954): two exporters
(127.0.0.1 and 127.0.0.2, each its own socket so each keeps its identity),
each with one template (addresses, ports, protocol, IN_BYTES, IN_PKTS,
INPUT_SNMP, OUTPUT_SNMP, FIRST/LAST_SWITCHED) and data records spread
over ifIndex 1-4 in both directions, some with ifIndex 0 (no interface).
`weir --collect udp://127.0.0.1:PORT` (tests/lib/weircollect.py) receives
it into the test's Redis under its own node id. tshark decodes the same
datagrams, written to a pcap here, and the truth is built from its
cflow.* fields only: per exporter datagrams, records, bytes, packets; per
(exporter, ifIndex) bytes and packets in (INPUT_SNMP) and out
(OUTPUT_SNMP), the way docs/redis-keys.md defines interface:ADDR#IFINDEX.
"""
import collections
import json
import os
import random
import struct
import subprocess
import sys

sys.dont_write_bytecode = True	# imports from tests/unit: leave no __pycache__ there
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "netflow"))
import weircollect  # noqa: E402

NODE = "webcollect"
EXPORTERS = ["127.0.0.1", "127.0.0.2"]
TID = 256
# (type, length): IPV4_SRC_ADDR, IPV4_DST_ADDR, L4_SRC_PORT, L4_DST_PORT,
# PROTOCOL, IN_BYTES, IN_PKTS, INPUT_SNMP, OUTPUT_SNMP, FIRST_SWITCHED,
# LAST_SWITCHED
FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (10, 2), (14, 2), (22, 4), (21, 4)]


def _template():
	body = struct.pack("!HH", TID, len(FIELDS)) + b"".join(struct.pack("!HH", t, n) for t, n in FIELDS)
	return struct.pack("!HH", 0, 4 + len(body)) + body


def _record(src, dst, sport, dport, proto, nbytes, pkts, inif, outif, first, last):
	return (bytes(map(int, src.split("."))) + bytes(map(int, dst.split("."))) +
		struct.pack("!HHBIIHHII", sport, dport, proto, nbytes, pkts, inif, outif, first, last))


def _data(recs):
	body = b"".join(recs)
	pad = (-(4 + len(body))) % 4
	return struct.pack("!HH", TID, 4 + len(body) + pad) + body + b"\0" * pad


def build(seed=11, grams_each=12, per_gram=20):
	"""[(exporter address, datagram)], interleaved, and the records built
	(for a self-check of tshark's decoding)."""
	rng = random.Random(seed)
	out, built = [], 0
	now = 1700000000
	for k in range(grams_each):
		for e, ex in enumerate(EXPORTERS):
			recs = []
			for i in range(per_gram):
				a = "10.%d.%d.%d" % (50 + e, rng.randrange(4), rng.randrange(1, 60))
				b = "192.0.2.%d" % rng.randrange(1, 200)
				out_dir = rng.random() < 0.5
				inif, outif = (1 + rng.randrange(2), 3 + rng.randrange(2))
				if not out_dir:
					a, b = b, a
					inif, outif = outif, inif
				if rng.random() < 0.1:
					outif = 0	# no egress interface known
				up = 1000 * (k * per_gram + i)
				recs.append(_record(a, b, rng.randrange(1024, 65535), rng.choice((53, 80, 443, 22)),
						    rng.choice((6, 17)), rng.randrange(60, 150000), rng.randrange(1, 120),
						    inif, outif, up, up + rng.randrange(0, 5000)))
			sets = ([_template()] if k % 4 == 0 else []) + [_data(recs)]
			count = len(recs) + (1 if k % 4 == 0 else 0)
			hdr = struct.pack("!HHIIII", 9, count, 100000 + k * 1000, now + k, k, 7 + e)
			out.append((ex, hdr + b"".join(sets)))
			built += len(recs)
	return out, built


def _pcap(path, grams, port):
	"""grams [(source address, payload)] as Ethernet/IPv4/UDP frames to
	127.0.0.1:port (no scapy: a pcap is a few headers)."""
	with open(path, "wb") as f:
		f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
		for n, (src, g) in enumerate(grams):
			udp = struct.pack("!HHHH", 40000, port, 8 + len(g), 0) + g
			ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xffff, 0, 64, 17, 0,
					 bytes(map(int, src.split("."))), bytes([127, 0, 0, 1]))
			csum = sum(struct.unpack("!10H", ip))
			while csum >> 16:
				csum = (csum & 0xffff) + (csum >> 16)
			ip = ip[:10] + struct.pack("!H", ~csum & 0xffff) + ip[12:]
			frame = b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02" + b"\x08\x00" + ip + udp
			f.write(struct.pack("<IIII", 1700000000 + n, 0, len(frame), len(frame)) + frame)


def truth(grams, tmp, port=2055):
	"""tshark's reading of the datagrams (each v9 datagram shown to it one
	flowset at a time, export_truth.py says why): {"exporters": {addr:
	{...}}, "interfaces": {(addr, ifindex): {bytes_in, bytes_out, pkts_in,
	pkts_out}}, "records": N}."""
	from test_softflowd import records_of, v9_one_flowset_each
	ex, ifs, n = {}, collections.defaultdict(lambda: collections.Counter()), 0
	for addr in EXPORTERS:
		mine = [g for a, g in grams if a == addr]
		pcap = os.path.join(tmp, "v9-%s-for-tshark.pcap" % addr)
		_pcap(pcap, [(addr, g) for g in v9_one_flowset_each(mine)], port)
		r = subprocess.run(["tshark", "-r", pcap, "-d", "udp.port==%d,cflow" % port, "-T", "json"],
				   capture_output=True, text=True, timeout=300, check=True)
		recs = []
		for pkt in json.loads(r.stdout):
			records_of(pkt["_source"]["layers"].get("cflow", {}), recs)
		n += len(recs)
		ex[addr] = {"address": addr, "version": 9, "datagrams": len(mine), "records": len(recs),
			    "bytes": sum(int(r["cflow.octets"]) for r in recs),
			    "pkts": sum(int(r["cflow.packets"]) for r in recs)}
		for r in recs:
			o, p = int(r["cflow.octets"]), int(r["cflow.packets"])
			i, e = int(r.get("cflow.inputint", 0)), int(r.get("cflow.outputint", 0))
			if i:
				ifs[(addr, i)]["bytes_in"] += o
				ifs[(addr, i)]["pkts_in"] += p
			if e:
				ifs[(addr, e)]["bytes_out"] += o
				ifs[(addr, e)]["pkts_out"] += p
	return {"exporters": ex, "interfaces": {k: dict(v) for k, v in ifs.items()}, "records": n}


def fixture(a, redis, tmp):
	"""Runs the collector on the stream, stops it (SIGTERM flushes to
	Redis), and returns (truth, records built, problems)."""
	grams, built = build()
	col = weircollect.Collector(a.weir, a.weirctl, redis, NODE, tmp)
	weircollect.send(col.port, grams)
	_, waited, settled = col.wait_settled(datagrams=len(grams))
	rc = col.stop()
	problems = []
	if not settled:
		problems.append("collector: exporter counters still moving after %.1f s" % waited)
	if rc != 0:
		problems.append("collector: weir exit %s after SIGTERM (log %s)" % (rc, col.log.name))
	return truth(grams, tmp), built, problems
