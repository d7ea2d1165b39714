#!/usr/bin/python3
"""engine_reexport.py -- weir's IPFIX re-export (`--export ipfix://...`),
read back by tools we did not write.

One engine run on the office capture (seed 31) exports to two destinations
at once: nfcapd (nfdump 1.7), and a plain UDP socket in this script whose
datagrams are written to a pcap for tshark.

  nfdump    `nfdump -R DIR -o csv` after nfcapd stopped (SIGTERM writes its
            file): one record per flow direction that carried packets,
            i.e. as many as weir's flows (weirctl --json flows) have
            directions with packets; every record equals one of those
            directions (addresses, ports, protocol, VLAN, packets, bytes);
            per IP address, bytes and packets sent (as source) and
            received (as destination) equal weir's own host totals
            (weirctl --json hosts, summed over VLANs); nfcapd counted no
            sequence error.
  tshark    every datagram decodes as IPFIX (cflow) with no malformed
            packet and no expert warning or error; message and set lengths
            tile each datagram (walked by hand: tshark does not check them);
            the first datagram holds
            only templates and no data set comes before a template; the
            sequence number of each message is the count of data records
            in the messages before it (RFC 7011 3.1); observation domain as
            given by --export-domain; no message over 1400 bytes; the
            records tshark decodes (addresses, ports, VLAN, packets, bytes,
            applicationName, TCP flags, MACs, start and end times) are the
            same as weir's flows.
  health    export_records and export_messages in weir's health hash equal
            what arrived; export_errors is 0.
"""
import argparse
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import weirtest  # noqa: E402

NETS = "10.0.0.0/8,192.0.2.0/24,2001:db8:a::/48"
DOMAIN = 31
FAILS = []


def check(ok, what):
	print("%s: %s" % ("ok  " if ok else "FAIL", what))
	if not ok:
		FAILS.append(what)


def free_udp_port():
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()
	return port


def ip(text):
	return str(ipaddress.ip_address(text.strip()))


class Receiver:
	"""Every datagram to 127.0.0.1:port, in arrival order."""

	def __init__(self):
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
		self.sock.bind(("127.0.0.1", 0))
		self.sock.settimeout(0.1)
		self.port = self.sock.getsockname()[1]
		self.grams = []
		self.stop = threading.Event()
		self.t = threading.Thread(target=self.run, daemon=True)
		self.t.start()

	def run(self):
		while not self.stop.is_set():
			try:
				data, peer = self.sock.recvfrom(65535)
			except socket.timeout:
				continue
			self.grams.append((data, peer[1]))

	def close(self):
		self.stop.set()
		self.t.join(timeout=5)
		self.sock.close()


def write_pcap(path, grams, dport):
	"""LINKTYPE_RAW (101): an IPv4 + UDP header in front of each datagram."""
	with open(path, "wb") as f:
		f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
		t = int(time.time())
		for i, (data, sport) in enumerate(grams):
			udp = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
			hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(data), i & 0xffff, 0,
					  64, 17, 0, socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
			s = sum(struct.unpack("!10H", hdr))
			s = (s & 0xffff) + (s >> 16)
			s = (s & 0xffff) + (s >> 16)
			hdr = hdr[:10] + struct.pack("!H", ~s & 0xffff) + hdr[12:]
			pkt = hdr + udp + data
			f.write(struct.pack("<IIII", t, i, len(pkt), len(pkt)))
			f.write(pkt)


def walk_sets(data):
	"""The set ids of a message if its lengths hold together, else None.
	tshark does not flag a wrong message or set length, so this walks them:
	header | version=10 (2) | length (2) | export time (4) | sequence (4) |
	domain (4) |, then sets | id (2) | length incl. these 4 bytes (2) | ...
	that must end exactly at the message's end (RFC 7011 3.1, 3.3.2)."""
	if len(data) < 16:
		return None
	version, length = struct.unpack("!HH", data[:4])
	if version != 10 or length != len(data):
		return None
	ids, off = [], 16
	while off < length:
		if off + 4 > length:
			return None
		sid, slen = struct.unpack("!HH", data[off:off + 4])
		if slen < 4 or off + slen > length:
			return None
		ids.append(sid)
		off += slen
	return ids


def weir_directions(flows):
	"""(src, dst, sport, dport, proto, vlan, pkts, bytes, app, tcp flags,
	src mac, dst mac, first ms, last ms) per direction of weir's flows that
	carried packets. src of a flow is its initiator; its src_mac is the
	initiator's MAC seen as a source, dst_mac the responder's."""
	out = Counter()
	for f in flows:
		src, dst = ip(f["src"]), ip(f["dst"])
		app = f.get("app", "")
		flags = f["tcp_flags"] if f["proto"] == 6 else 0
		t = (f["first_seen"], f["last_seen"])
		if f["pkts_fwd"]:
			out[(src, dst, f["sport"], f["dport"], f["proto"], f["vlan"],
			     f["pkts_fwd"], f["bytes_fwd"], app, flags, f["src_mac"], f["dst_mac"]) + t] += 1
		if f["pkts_rev"]:
			out[(dst, src, f["dport"], f["sport"], f["proto"], f["vlan"],
			     f["pkts_rev"], f["bytes_rev"], app, flags, f["dst_mac"], f["src_mac"]) + t] += 1
	return out


def tshark_ms(show):
	"""tshark's absolute time, "Nov 27, 2026 08:00:07.718000000 UTC", in ms."""
	import calendar
	date, frac = show.replace(" UTC", "").rsplit(".", 1)
	t = calendar.timegm(time.strptime(date, "%b %d, %Y %H:%M:%S"))
	return t * 1000 + int(frac[:3])


def nfdump_records(nfdir):
	r = subprocess.run(["nfdump", "-R", nfdir, "-o", "csv"], capture_output=True,
			   text=True, timeout=120)
	if r.returncode != 0:
		print("nfdump failed: %s" % r.stderr)
		sys.exit(1)
	lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
	# nfdump 1.7 csv: a header line, records, then "Summary" and its lines
	hdr = lines[0].split(",")
	col = {name: i for i, name in enumerate(hdr)}
	recs = []
	for ln in lines[1:]:
		if ln.startswith("Summary"):
			break
		v = ln.split(",")
		if len(v) < len(hdr):
			continue
		recs.append(v)
	return recs, col


def proto_number(name):
	table = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "SCTP": 132, "GRE": 47}
	name = name.strip()
	return table[name] if name in table else int(name)


def tshark_messages(pcap, port):
	"""Per datagram: flowset ids, sequence, domain, and the decoded records
	(tshark -T pdml, so that the fields of each record stay together)."""
	import xml.etree.ElementTree as ET
	r = subprocess.run(["tshark", "-r", pcap, "-d", "udp.port==%d,cflow" % port, "-T", "pdml"],
			   capture_output=True, text=True, timeout=300)
	if r.returncode != 0:
		print("tshark failed: %s" % r.stderr)
		sys.exit(1)
	msgs = []
	for pkt in ET.fromstring(r.stdout).iter("packet"):
		m = {"sets": [], "records": [], "seq": None, "domain": None}
		for proto in pkt.iter("proto"):
			if proto.get("name") != "cflow":
				continue
			for fld in proto.iter("field"):
				n = fld.get("name")
				if n == "cflow.sequence":
					m["seq"] = int(fld.get("show"))
				elif n == "cflow.od_id":
					m["domain"] = int(fld.get("show"))
				elif n == "cflow.flowset_id":
					m["sets"].append(int(fld.get("show")))
			# a data record is a "Flow N" subtree holding cflow.octets
			for fld in proto.iter("field"):
				if fld.find("field[@name='cflow.octets']") is None:
					continue
				kids = {k.get("name"): k.get("show") for k in fld.iter("field") if k is not fld}
				if "cflow.octets" in kids and "cflow.packets" in kids:
					m["records"].append(kids)
		msgs.append(m)
	return msgs


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	args = ap.parse_args()
	for tool in ("nfcapd", "nfdump", "tshark"):
		if not shutil.which(tool):
			print("SKIP: %s is not installed (apt-get install nfdump tshark)" % tool)
			sys.exit(weirtest.SKIP)
	weirtest.need_root()

	tmp = tempfile.mkdtemp(prefix="weir-reexport-")
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "31",
			"--out", pcap], check=True, timeout=300, capture_output=True)
	redis = weirtest.Redis()

	nfdir = os.path.join(tmp, "nf")
	os.mkdir(nfdir)
	nfport = free_udp_port()
	nflog = open(os.path.join(tmp, "nfcapd.log"), "w+")
	nfcapd = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(nfport), "-w", nfdir,
				   "-B", "4000000"], stdout=nflog, stderr=subprocess.STDOUT,
				  preexec_fn=weirtest.die_with_parent)
	deadline = time.time() + 10
	while time.time() < deadline:
		nflog.seek(0)
		if "Startup" in nflog.read():
			break
		if nfcapd.poll() is not None:
			break
		time.sleep(0.05)
	else:
		print("nfcapd did not start in 10 s")
		sys.exit(1)
	if nfcapd.poll() is not None:
		nflog.seek(0)
		print("nfcapd exited: %s" % nflog.read())
		sys.exit(1)
	rx = Receiver()

	try:
		weirtest.run_weir(args.weir, ["-r", pcap, "--redis", redis.url, "--node", "rx",
					      "-m", NETS, "--eal-mem", "256", "--flow-table-size", "65536",
					      "--export", "ipfix://127.0.0.1:%d" % nfport,
					      "--export", "ipfix://127.0.0.1:%d" % rx.port,
					      "--export-domain", str(DOMAIN)])
		time.sleep(0.5)		# loopback: the datagrams are in the sockets already
	finally:
		nfcapd.send_signal(signal.SIGTERM)
		try:
			nfcapd.wait(timeout=20)
		except subprocess.TimeoutExpired:
			nfcapd.kill()
		rx.close()
	nflog.seek(0)
	nftext = nflog.read()

	flows = weirtest.weirctl_json(args.weirctl, redis.url, "flows", node="rx")
	hosts = weirtest.weirctl_json(args.weirctl, redis.url, "hosts", node="rx")
	health = dict(zip(*[iter(redis.cli("--raw", "HGETALL", "weir:{rx}:health").split("\n"))] * 2))
	want = weir_directions(flows)
	n_dirs = sum(want.values())
	print("weir: %d flows, %d directions with packets, %d hosts" % (len(flows), n_dirs, len(hosts)))
	check(len(flows) > 100 and all(f["state"] == "ended" for f in flows),
	      "weir holds the capture's flows (%d), all ended at the file's end" % len(flows))

	# ---- nfdump -------------------------------------------------------
	recs, col = nfdump_records(nfdir)
	check(len(recs) == n_dirs, "nfdump: %d records, weir's flows have %d directions with packets"
	      % (len(recs), n_dirs))
	got = Counter()
	sent = defaultdict(lambda: [0, 0])
	rcvd = defaultdict(lambda: [0, 0])
	for v in recs:
		sa, da = ip(v[col["sa"]]), ip(v[col["da"]])
		pk, by = int(v[col["ipkt"]]), int(v[col["ibyt"]])
		got[(sa, da, int(v[col["sp"]]), int(v[col["dp"]]), proto_number(v[col["pr"]]),
		     int(v[col["svln"]]), pk, by)] += 1
		sent[sa][0] += by
		sent[sa][1] += pk
		rcvd[da][0] += by
		rcvd[da][1] += pk
	want_nf = Counter()
	for k, n in want.items():
		want_nf[k[:8]] += n
	miss, extra = want_nf - got, got - want_nf
	check(not miss and not extra, "nfdump: every record is one direction of a weir flow "
	      "(address, port, protocol, VLAN, packets, bytes); missing %s, unexpected %s"
	      % (list(miss.items())[:3], list(extra.items())[:3]))
	wsent = defaultdict(lambda: [0, 0])
	wrcvd = defaultdict(lambda: [0, 0])
	for h in hosts:
		a = ip(h["ip"])
		wsent[a][0] += h["bytes_sent"]
		wsent[a][1] += h["pkts_sent"]
		wrcvd[a][0] += h["bytes_rcvd"]
		wrcvd[a][1] += h["pkts_rcvd"]
	bad = []
	for a in set(wsent) | set(sent) | set(rcvd):
		if tuple(sent.get(a, [0, 0])) != tuple(wsent.get(a, [0, 0])) or \
		   tuple(rcvd.get(a, [0, 0])) != tuple(wrcvd.get(a, [0, 0])):
			bad.append((a, sent.get(a), wsent.get(a), rcvd.get(a), wrcvd.get(a)))
	check(not bad and len(wsent) > 50,
	      "nfdump per IP bytes/packets sent and received equal weir's host totals "
	      "(%d addresses)%s" % (len(wsent), "; differ: %s" % bad[:3] if bad else ""))
	check(sum(b for b, _ in sent.values()) == sum(h["bytes_sent"] for h in hosts),
	      "nfdump total bytes %d equal weir's %d" % (sum(b for b, _ in sent.values()),
							 sum(h["bytes_sent"] for h in hosts)))
	check("Sequence Errors: 0" in nftext and "Bad Packets: 0" in nftext,
	      "nfcapd: no sequence error, no bad packet (%s)" %
	      " ".join(ln for ln in nftext.splitlines() if "Sequence" in ln))

	# ---- tshark -------------------------------------------------------
	grams = rx.grams
	rxpcap = os.path.join(tmp, "ipfix.pcap")
	write_pcap(rxpcap, grams, rx.port)
	check(len(grams) > 2 and max(len(d) for d, _ in grams) <= 1400,
	      "%d datagrams, none over 1400 bytes (largest %d)" %
	      (len(grams), max((len(d) for d, _ in grams), default=0)))
	walks = [walk_sets(d) for d, _ in grams]
	check(all(w and set(w) <= {2, 256, 257} for w in walks),
	      "every message's length and set lengths add up to its datagram; sets are 2, 256, 257 only")
	r = subprocess.run(["tshark", "-r", rxpcap, "-d", "udp.port==%d,cflow" % rx.port,
			    "-Y", "!cflow || _ws.malformed || _ws.expert.severity >= 0x00600000",
			    "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"],
			   capture_output=True, text=True, timeout=120)
	check(r.returncode == 0 and not r.stdout.strip(),
	      "tshark: every datagram is IPFIX, none malformed, no expert warning or error%s"
	      % ("" if not r.stdout.strip() else ": " + r.stdout.strip()[:500]))
	msgs = tshark_messages(rxpcap, rx.port)
	check(len(msgs) == len(grams), "tshark decoded %d of %d datagrams" % (len(msgs), len(grams)))
	check(bool(msgs) and msgs[0]["sets"] == [2] and not msgs[0]["records"],
	      "the first message holds the templates only (sets %s)" % (msgs[0]["sets"] if msgs else None))
	first_tmpl = next((i for i, m in enumerate(msgs) if 2 in m["sets"]), None)
	first_data = next((i for i, m in enumerate(msgs) if any(s >= 256 for s in m["sets"])), None)
	check(first_tmpl is not None and first_data is not None and first_tmpl < first_data,
	      "templates (message %s) before any data (message %s)" % (first_tmpl, first_data))
	seq_ok, total = True, 0
	for i, m in enumerate(msgs):
		if m["seq"] != total:
			seq_ok = False
			print("  message %d: sequence %s, %d data records before it" % (i, m["seq"], total))
		total += len(m["records"])
	check(seq_ok, "sequence number = data records sent before each message (RFC 7011 3.1)")
	check(all(m["domain"] == DOMAIN for m in msgs), "observation domain %d in every message" % DOMAIN)
	tgot = Counter()
	for m in msgs:
		for k in m["records"]:
			sa = k.get("cflow.srcaddr") or k.get("cflow.srcaddrv6")
			da = k.get("cflow.dstaddr") or k.get("cflow.dstaddrv6")
			tgot[(ip(sa), ip(da), int(k["cflow.srcport"]), int(k["cflow.dstport"]),
			      int(k["cflow.protocol"]), int(k.get("cflow.vlanid", "0")),
			      int(k["cflow.packets"]), int(k["cflow.octets"]),
			      k.get("cflow.appl_name", ""), int(k.get("cflow.tcpflags", "0"), 16),
			      k.get("cflow.srcmac"), k.get("cflow.dstmac"),
			      tshark_ms(k["cflow.abstimestart"]), tshark_ms(k["cflow.abstimeend"]))] += 1
	miss, extra = want - tgot, tgot - want
	check(sum(tgot.values()) == n_dirs and not miss and not extra,
	      "tshark: %d records, each one direction of a weir flow (addresses, ports, protocol, VLAN, "
	      "packets, bytes, application name, TCP flags, MACs, start and end ms); "
	      "missing %s, unexpected %s" % (sum(tgot.values()), list(miss.items())[:3],
					     list(extra.items())[:3]))
	named = sum(n for k, n in tgot.items() if k[8] and k[8] != "Unknown")
	check(named > n_dirs // 2, "%d of %d records carry an application name" % (named, n_dirs))

	# ---- health -------------------------------------------------------
	check(int(health.get("export_records", -1)) == n_dirs,
	      "health export_records %s = %d" % (health.get("export_records"), n_dirs))
	check(int(health.get("export_messages", -1)) == len(grams),
	      "health export_messages %s = %d datagrams received" % (health.get("export_messages"), len(grams)))
	check(health.get("export_errors") == "0" and health.get("export_dropped") == "0",
	      "health export_errors %s, export_dropped %s" % (health.get("export_errors"),
							      health.get("export_dropped")))

	if FAILS:
		print("%d check(s) failed; files kept in %s" % (len(FAILS), tmp))
		sys.exit(1)
	shutil.rmtree(tmp, ignore_errors=True)
	print("PASS")


if __name__ == "__main__":
	main()
