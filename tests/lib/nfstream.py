"""nfstream.py -- NetFlow streams built field by field, sent at a pace, for
the engine's fault tests (tests/integration/engine_faults.py,
engine_redis_faults.py), and the NetFlow v5, IPFIX and sFlow datagrams the
collector tests build by hand (collect_socket.py, engine_xflow_apps.py).

Those tests need traffic that keeps arriving while something goes wrong
(a stalled worker, a frozen Redis) and still has an exact answer at the
end. A NetFlow export stream from the test itself gives both: the test
sends it over loopback to `weir --collect` at a rate it chooses, from as
many exporter addresses as it wants (127.0.0.X needs no set-up), and the
truth is tshark's decoding of the very same datagrams
(tests/interop/export_truth.py), never anything weir computed.

Byte layouts: drivers/netflow (v5: 24-byte header, 48-byte records; v9:
RFC 3954; IPFIX: RFC 7011), drivers/sflow (sFlow v5).
"""
import random
import socket
import struct
import threading
import time

EXPORT_S = 1700000000


def v5_datagram(seq, records, uptime_ms=100000, engine_id=0, export_s=EXPORT_S, tcp_flags=0x18):
	"""records: [(src, dst, sport, dport, proto, pkts, bytes)], at most 30;
	input ifIndex 1, output 2, each flow from 5 s to 1 s before export_s,
	tcp_flags on TCP records (0 on the others)."""
	h = struct.pack("!HHIIIIBBH", 5, len(records), uptime_ms, export_s, 0, seq, 0, engine_id, 0)
	body = b""
	for src, dst, sport, dport, proto, pkts, nbytes in records:
		body += struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton(src), socket.inet_aton(dst),
				    bytes(4), 1, 2, pkts, nbytes, uptime_ms - 5000, uptime_ms - 1000,
				    sport, dport, 0, tcp_flags if proto == 6 else 0, proto, 0, 0, 0, 0, 0, 0)
	return h + body


def flowset(set_id, body):
	pad = (-len(body)) % 4
	return struct.pack("!HH", set_id, 4 + len(body) + pad) + body + bytes(pad)


def v9_datagram(seq, flowsets, source_id=1, uptime_ms=100000):
	return struct.pack("!HHIIII", 9, len(flowsets), uptime_ms, EXPORT_S, seq, source_id) + b"".join(flowsets)


# v9 field types: IPV4_SRC_ADDR 8, IPV4_DST_ADDR 12, L4_SRC_PORT 7,
# L4_DST_PORT 11, PROTOCOL 4, IN_BYTES 1, IN_PKTS 2
V9_LAYOUTS = {
	"a": [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4)],
	# the same information in another order and with 8-byte counters
	"b": [(2, 8), (1, 8), (4, 1), (11, 2), (7, 2), (12, 4), (8, 4)],
}


def v9_template(tid, layout):
	fields = V9_LAYOUTS[layout]
	return flowset(0, struct.pack("!HH", tid, len(fields)) +
		       b"".join(struct.pack("!HH", t, n) for t, n in fields))


def v9_data(tid, layout, records):
	"""records as for v5_datagram, encoded in the template's layout."""
	out = b""
	for src, dst, sport, dport, proto, pkts, nbytes in records:
		val = {8: socket.inet_aton(src), 12: socket.inet_aton(dst), 7: struct.pack("!H", sport),
		       11: struct.pack("!H", dport), 4: bytes([proto])}
		for t, n in V9_LAYOUTS[layout]:
			if t in (1, 2):
				v = nbytes if t == 1 else pkts
				out += v.to_bytes(n, "big")
			else:
				out += val[t]
	return flowset(tid, out)


# IPFIX (RFC 7011). Sets are not padded: a test sizing a message to the
# byte (collect_socket.py's 9216-byte case) pads its records itself.

def ix_set(set_id, body):
	return struct.pack("!HH", set_id, 4 + len(body)) + body


def ix_template(tid, fields):
	"""A template set: fields [(information element, length)]."""
	return ix_set(2, struct.pack("!HH", tid, len(fields)) +
		      b"".join(struct.pack("!HH", t, n) for t, n in fields))


def ix_message(seq, sets, export_s=None, domain=1):
	"""An IPFIX message; export time now unless export_s."""
	body = b"".join(sets)
	return struct.pack("!HHIII", 10, 16 + len(body), int(time.time()) if export_s is None else export_s,
			   seq, domain) + body


# sFlow v5 (sFlow.org, sflow_version_5.txt): an IPv4 agent, flow samples
# (format 1) of flow records.

def sflow_datagram(seq, samples, agent="192.0.2.7", uptime_ms=1000):
	body = b"".join(samples)
	return struct.pack("!II4sIIII", 5, 1, socket.inet_aton(agent), 0, seq, uptime_ms, len(samples)) + body


def sflow_flow_sample(seq, pool, drops, records, rate=100, index=3, output=4):
	"""Source id and input interface `index`, output interface `output`."""
	body = struct.pack("!IIIIIIII", seq, index, rate, pool, drops, index, output,
			   len(records)) + b"".join(records)
	return struct.pack("!II", 1, len(body)) + body


def sflow_record(fmt, body):
	return struct.pack("!II", fmt, len(body)) + body


def sflow_raw_header(frame, frame_len, stripped):
	"""A raw packet header record (format 1) holding an Ethernet frame that
	was frame_len bytes on the wire, `stripped` of them removed."""
	return sflow_record(1, struct.pack("!IIII", 1, frame_len, stripped, len(frame)) + frame +
			    bytes((-len(frame)) % 4))


def random_records(rng, n, src_net, dst_net, hosts=40):
	"""n records between hosts of src_net.X and dst_net.Y (a.b.c prefixes)."""
	recs = []
	for _ in range(n):
		proto = rng.choice((6, 17))
		pkts = rng.randint(1, 40)
		recs.append(("%s.%d" % (src_net, rng.randint(1, hosts)), "%s.%d" % (dst_net, rng.randint(1, hosts)),
			     rng.randint(1024, 65000), rng.choice((53, 80, 443, 8080)), proto,
			     pkts, pkts * rng.randint(60, 1500)))
	return recs


def v5_stream(exporter_index, n_datagrams, seed, per_datagram=10):
	"""One exporter's v5 datagrams with random records, sequence numbers right."""
	rng = random.Random(seed * 1000 + exporter_index)
	grams, seq = [], 0
	for _ in range(n_datagrams):
		recs = random_records(rng, per_datagram, "10.%d.1" % (exporter_index + 1), "10.200.0")
		grams.append(v5_datagram(seq, recs))
		seq += len(recs)
	return grams


class PacedSender(threading.Thread):
	"""Sends [(source address, payload)] to 127.0.0.1:port at `rate`
	datagrams a second, one socket per source address (each its own
	exporter). `sent` says how many went out so far."""

	def __init__(self, port, datagrams, rate):
		super().__init__(daemon=True)
		self.port, self.datagrams, self.rate = port, datagrams, rate
		self.sent = 0

	def run(self):
		socks = {}
		t0 = time.monotonic()
		try:
			for i, (src, payload) in enumerate(self.datagrams):
				s = socks.get(src)
				if s is None:
					s = socks[src] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
					s.bind((src, 0))
				s.sendto(payload, ("127.0.0.1", self.port))
				self.sent = i + 1
				ahead = t0 + (i + 1) / self.rate - time.monotonic()
				if ahead > 0:
					time.sleep(ahead)
		finally:
			for s in socks.values():
				s.close()


def interleave(streams):
	"""{source address: [datagrams]} -> [(source, datagram)], round robin."""
	out = []
	lists = [(src, list(g)) for src, g in sorted(streams.items())]
	i = 0
	while any(i < len(g) for _, g in lists):
		for src, g in lists:
			if i < len(g):
				out.append((src, g[i]))
		i += 1
	return out
