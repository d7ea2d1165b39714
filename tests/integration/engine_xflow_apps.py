#!/usr/bin/python3
"""engine_xflow_apps.py -- the application of flows that come from flow
export (no payload), end to end, against ndpiReader.

A flow-export record has no payload: the engine labels its flow with
nDPI's guess from protocol and ports (detection `guess`), or, when an
IPFIX record carries an application id (IE 95, RFC 6759), from that
(detection `exporter`). The truth is ndpiReader 4.2 on a capture holding
one payload-less packet (a TCP SYN, an empty UDP datagram) per 5-tuple:
what nDPI guesses for that tuple when it gives up, and its confidence.

  guess   NetFlow v5, IPFIX and sFlow v5 records (one exporter each) for
          UDP 53, TCP 443, TCP 22, UDP 123 and an unknown TCP port: every
          flow's `app` and `confidence` are ndpiReader's for the same
          tuple, `detection` is `guess` (`none` where ndpiReader says
          Unknown).
  appid   an IPFIX template with applicationId (IE 95, variable length):
          engine 3 (IANA-L4) selector 53 on UDP and 22 on TCP, between
          ports nDPI knows nothing of, take ndpiReader's label for UDP/53
          and TCP/22 (`exporter`, Match by port); engine 13 selector 453
          (an NBAR id, 4 bytes 0d 00 01 c5) is `13:453`, category
          Unspecified; an empty IE 95 falls back to the port guess. The
          per-application totals (app:NAME) count those flows.

Usage: engine_xflow_apps.py --case C --weir W --weirctl C
Exit 77 (skip) without root, redis-server or ndpiReader.
"""
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "unit", "dpi"))
import weirtest  # noqa: E402
import weircollect  # noqa: E402
import nfstream  # noqa: E402
import check_ndpi  # noqa: E402
from weirtest import check  # noqa: E402
from nfstream import ix_set, ix_template  # noqa: E402

EXPORT_S = int(time.time())


# ---- frames and the truth pcap ----------------------------------------------

def csum(b):
	if len(b) % 2:
		b += b"\0"
	s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
	while s >> 16:
		s = (s & 0xffff) + (s >> 16)
	return ~s & 0xffff


def frame(proto, src, sport, dst, dport):
	"""Ethernet + IPv4 + a TCP SYN or an empty UDP datagram."""
	if proto == 6:
		l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
	elif proto == 17:
		l4 = struct.pack("!HHHH", sport, dport, 8, 0)
	else:
		l4 = b""
	ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0,
			 socket.inet_aton(src), socket.inet_aton(dst))
	ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
	return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + l4


def write_pcap(path, frames):
	with open(path, "wb") as f:
		f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
		for i, fr in enumerate(frames):
			f.write(struct.pack("<IIII", EXPORT_S - 60, i, len(fr), len(fr)) + fr)


def ndpireader_truth(tmp, tuples):
	"""{(proto, src, sport, dst, dport): (label, confidence)} as ndpiReader
	prints them for one payload-less packet of each tuple."""
	pcap = os.path.join(tmp, "truth.pcap")
	write_pcap(pcap, [frame(*t) for t in tuples])
	out = os.path.join(tmp, "truth.txt")
	r = subprocess.run(["ndpiReader", "-q", "-i", pcap, "-w", out, "-v", "2"],
			   capture_output=True, text=True, timeout=120)
	if r.returncode != 0 or not os.path.exists(out):
		check(False, "ndpiReader ran: %s" % r.stderr[-500:])
		return {}
	flows, _, _ = check_ndpi.parse_reader(open(out, errors="replace").read())
	truth = {}
	for t in tuples:
		key = check_ndpi.flow_key(t[0], (t[1], t[2]), (t[3], t[4]), 0)
		rec = flows.get(key, [None])[0]
		check(rec is not None, "ndpiReader reports %s" % (t,))
		if rec:
			truth[t] = (rec["name"], rec["conf"])
	return truth


# ---- export datagrams --------------------------------------------------------

def v5(seq, recs):
	"""NetFlow v5: recs of (proto, src, sport, dst, dport), 3 packets and
	180 bytes each, a TCP record's flags SYN only."""
	return nfstream.v5_datagram(seq, [(s, d, sp, dp, p, 3, 180) for p, s, sp, d, dp in recs],
				    export_s=EXPORT_S, tcp_flags=0x02)


def ipfix(seq, sets):
	return nfstream.ix_message(seq, sets, export_s=EXPORT_S)


# sourceIPv4Address, destinationIPv4Address, sourceTransportPort,
# destinationTransportPort, protocolIdentifier, octetDeltaCount,
# packetDeltaCount, flowStartMilliseconds, flowEndMilliseconds
IX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]


def ix_record(p, s, sp, d, dp, app=None):
	ms = EXPORT_S * 1000
	r = (socket.inet_aton(s) + socket.inet_aton(d) + struct.pack("!HHBQQQQ", sp, dp, p, 180, 3,
								       ms - 5000, ms - 1000))
	if app is not None:		# IE 95, variable length (RFC 7011 7.)
		r += struct.pack("!B", len(app)) + app
	return r


def sflow(seq, recs):
	"""sFlow v5: one flow sample (raw packet header, Ethernet) per record,
	sampling rate 1."""
	samples = []
	for i, t in enumerate(recs):
		hdr = frame(*t)
		rec = nfstream.sflow_raw_header(hdr, len(hdr) + 4, stripped=0)
		samples.append(nfstream.sflow_flow_sample(seq * 100 + i, seq * 100 + i, 0, [rec], rate=1,
							  index=1, output=2))
	return nfstream.sflow_datagram(seq, samples, agent="127.0.0.1", uptime_ms=100000)


# ---- cases ---------------------------------------------------------------------

def flows_by_tuple(col):
	out = {}
	for f in col.json("flows"):
		out[(int(f["proto"]), f["src"], int(f["sport"]), f["dst"], int(f["dport"]))] = f
		out[(int(f["proto"]), f["dst"], int(f["dport"]), f["src"], int(f["sport"]))] = f
	return out


def run_collector(a, redis, tmp, node, grams):
	col = weircollect.Collector(a.weir, a.weirctl, redis, node, tmp)
	try:
		weircollect.send(col.port, grams)
		_, secs, settled = col.wait_settled(datagrams=len(grams), timeout=15)
		check(settled, "%s: the engine took the %d datagrams (%.1f s)" % (node, len(grams), secs))
	finally:
		check(col.stop() == 0, "%s: the engine exits 0 on SIGTERM" % node)
	return col


def case_guess(a, redis, tmp):
	ports = [(17, 53), (6, 443), (6, 22), (17, 123), (6, 47123)]
	fmts = {"v5": ("127.0.0.21", 41000), "ipfix": ("127.0.0.22", 42000),
		"sflow": ("127.0.0.23", 43000)}
	tuples = {fmt: [(p, "10.77.0.1", base + i, "10.77.0.2", dp) for i, (p, dp) in enumerate(ports)]
		  for fmt, (_, base) in fmts.items()}
	truth = ndpireader_truth(tmp, [t for ts in tuples.values() for t in ts])
	grams = [(fmts["v5"][0], v5(1, tuples["v5"])),
		 (fmts["ipfix"][0], ipfix(1, [ix_template(300, IX_FIELDS),
					       ix_set(300, b"".join(ix_record(*t) for t in tuples["ipfix"]))])),
		 (fmts["sflow"][0], sflow(1, tuples["sflow"]))]
	col = run_collector(a, redis, tmp, "guess", grams)
	flows = flows_by_tuple(col)
	for fmt, ts in tuples.items():
		for t in ts:
			f = flows.get(t)
			if not check(f is not None, "%s %s: a flow" % (fmt, t)):
				continue
			name, conf = truth.get(t, ("?", "?"))
			want_det = "none" if name == "Unknown" else "guess"
			got = (f.get("app"), f.get("confidence", "Unknown"), f.get("detection"))
			check(got == (name, conf, want_det),
			      "%s %s/%d: engine %s, ndpiReader %s (%s), detection %s" % (
				      fmt, {6: "TCP", 17: "UDP"}[t[0]], t[4], got, name, conf, want_det))


def case_appid(a, redis, tmp):
	# the ports ndpiReader is asked about, and the records' own (unknown) ports
	truth = ndpireader_truth(tmp, [(17, "10.78.0.9", 44900, "10.78.0.10", 53),
				       (6, "10.78.0.9", 44901, "10.78.0.10", 22),
				       (17, "10.78.0.1", 44010, "10.78.0.2", 53),
				       (17, "10.78.0.1", 44000, "10.78.0.2", 44001)])
	dns = truth.get((17, "10.78.0.9", 44900, "10.78.0.10", 53), ("?", "?"))
	ssh = truth.get((6, "10.78.0.9", 44901, "10.78.0.10", 22), ("?", "?"))
	guess = truth.get((17, "10.78.0.1", 44010, "10.78.0.2", 53), ("?", "?"))
	none = truth.get((17, "10.78.0.1", 44000, "10.78.0.2", 44001), ("?", "?"))
	check(none[0] == "Unknown", "ndpiReader knows nothing of UDP 44000-44001 (%s)" % (none,))
	recs = [  # (tuple, IE 95 bytes, want app, want detection, want confidence)
		((17, "10.78.0.1", 44000, "10.78.0.2", 44001), b"\x03\x00\x00\x35", dns[0], "exporter", dns[1]),
		((6, "10.78.0.1", 44002, "10.78.0.2", 44003), b"\x03\x00\x00\x16", ssh[0], "exporter", ssh[1]),
		((6, "10.78.0.1", 44004, "10.78.0.2", 44005), b"\x0d\x00\x01\xc5", "13:453", "exporter", None),
		((17, "10.78.0.1", 44010, "10.78.0.2", 53), b"", guess[0], "guess", guess[1]),
	]
	fields = IX_FIELDS + [(95, 0xffff)]
	grams = [("127.0.0.24", ipfix(1, [ix_template(301, fields),
					  ix_set(301, b"".join(ix_record(*t, app=app) for t, app, _, _, _ in recs))]))]
	col = run_collector(a, redis, tmp, "appid", grams)
	flows = flows_by_tuple(col)
	for t, app, want, det, conf in recs:
		f = flows.get(t)
		if f is None:
			check(False, "a flow for %s" % (t,))
			continue
		got = (f.get("app"), f.get("application"), f.get("detection"))
		check(got == (want, want, det), "IE 95 %s on %s: app/application/detection %s, want %s" % (
			app.hex() or "(empty)", t, got, (want, want, det)))
		if conf:
			check(f.get("confidence") == conf, "... confidence %r, ndpiReader's %r" % (
				f.get("confidence"), conf))
		if want == "13:453":
			check(f.get("category") == "Unspecified", "... category %r" % f.get("category"))
	apps = {x["name"]: x for x in col.json("apps")}
	nbar = apps.get("13:453", {})
	check(int(nbar.get("flows", 0)) == 1 and int(nbar.get("bytes", 0)) == 180,
	      "app 13:453 counts 1 flow, 180 bytes: %s" % nbar)


if __name__ == "__main__":
	sys.exit(weirtest.run_cases(globals(), "weir-xapps-", tools={"ndpiReader": "libndpi-bin"}))
