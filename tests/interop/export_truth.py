"""export_truth.py -- what tshark (4.0) says an export stream holds.

The interop tests keep every datagram a real exporter sent, write them into
a pcap as UDP to the collector port, and let tshark decode them as NetFlow /
IPFIX (cflow) or sFlow. The numbers weir publishes are then compared with
these, never with anything weir computed itself.

NetFlow v9 and tshark: softflowd's v9 header count covers fewer records
than the datagram holds, and tshark stops after `count` records, so each
v9 datagram (whoever sent it) is re-sent to tshark as one datagram per
flowset, same header, count 1 (tests/unit/netflow/test_softflowd.py found
and solved this; the function is taken from there). weir itself always
gets the datagrams exactly as the exporter sent them.
"""
import collections
import json
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit", "netflow"))
from test_softflowd import records_of, v9_one_flowset_each  # noqa: E402
from check_groups import tshark_dport  # noqa: E402


def to_pcap(path, grams, port, sources=None):
	"""grams as UDP from sources[i] (default 127.0.0.1) to port."""
	from scapy.all import Ether, IP, UDP, Raw, wrpcap
	sources = sources or ["127.0.0.1"] * len(grams)
	wrpcap(path, [Ether() / IP(src=a, dst="127.0.0.1") /
		      UDP(sport=40000, dport=port) / Raw(g) for a, g in zip(sources, grams)])
	return path


def tshark_json(pcap, decode_as):
	r = subprocess.run(["tshark", "-r", pcap, "-d", decode_as, "-T", "json"],
			   capture_output=True, text=True, timeout=300, check=True)
	return json.loads(r.stdout)


def _walk_keys(node, key, out):
	if isinstance(node, dict):
		for k, v in node.items():
			if k == key:
				out.extend(v if isinstance(v, list) else [v])
			else:
				_walk_keys(v, key, out)
	elif isinstance(node, list):
		for v in node:
			_walk_keys(v, key, out)


class CflowTruth:
	"""tshark's decoding of NetFlow v5/v9/IPFIX datagrams.

	records:   the data records (dicts of cflow.* fields) carrying octets
		   or packets; options records carry neither and are left out
	templates: the template ids defined (data and options templates)
	"""

	def __init__(self, grams, version, tmp, port=2055, name="cflow"):
		shown = v9_one_flowset_each(grams) if version == 9 else grams
		pcap = to_pcap(os.path.join(tmp, "export-%s-v%d-for-tshark.pcap" % (name, version)), shown, port)
		self.records = []
		self.messages = []	# (sequence, domain, data records incl. options)
		tids = []
		for pkt in tshark_json(pcap, "udp.port==%d,cflow" % port):
			cf = pkt["_source"]["layers"].get("cflow", {})
			records_of(cf, self.records)
			_walk_keys(cf, "cflow.template_id", tids)
			n_data = 0
			for k in cf:	# "Set 7 [id=1024] (24 flows)"
				m = re.match(r"Set \d+ \[id=(\d+)\] \((\d+) flows\)", k)
				if m and int(m.group(1)) >= 256:
					n_data += int(m.group(2))
			self.messages.append((int(cf.get("cflow.sequence", 0)),
					      int(cf.get("cflow.od_id", cf.get("cflow.source_id", 0))), n_data))
		self.templates = set(int(t) for t in tids)
		self.seq_lost, self.seq_resets = self._sequence(grams, version)

	def _sequence(self, grams, version):
		"""Records (v5, IPFIX) or datagrams (v9) lost, and restarts, as the
		RFCs define the sequence number: v5 flow_sequence counts flows
		before this datagram, v9 counts export packets (RFC 3954 s5.1),
		IPFIX counts data records before this message (RFC 7011 s3.1).
		A step back is a restart, not a loss. v5 and v9 numbers come from
		the headers as sent (byte layouts in drivers/netflow), IPFIX's
		record counts from tshark."""
		nxt, lost, resets = {}, 0, 0
		for i, g in enumerate(grams):
			if version == 5:	# | ver | count | uptime | secs | nsecs | seq | type | id |
				key, seq, step = (g[20], g[21]), struct.unpack("!I", g[16:20])[0], \
					struct.unpack("!H", g[2:4])[0]
			elif version == 9:	# | ver | count | uptime | secs | seq | source id |
				key, seq, step = g[16:20], struct.unpack("!I", g[12:16])[0], 1
			else:
				seq, key, step = self.messages[i]
			if key in nxt:
				d = (seq - nxt[key]) & 0xffffffff
				if 0 < d < 0x80000000:
					lost += d
				elif d:
					resets += 1
			nxt[key] = (seq + step) & 0xffffffff
		return lost, resets

	@staticmethod
	def addr(r, v4, v6):
		return r.get(v6) or r.get(v4)

	def hosts(self):
		"""{ip: [bytes sent, rcvd, pkts sent, rcvd]} over the records."""
		import weircollect
		truth = {}
		for r in self.records:
			weircollect.add_record(truth, self.addr(r, "cflow.srcaddr", "cflow.srcaddrv6"),
					       self.addr(r, "cflow.dstaddr", "cflow.dstaddrv6"),
					       int(r["cflow.octets"]), int(r["cflow.packets"]))
		return truth

	def flows(self):
		"""{(proto, {(addr, port), (addr, port)}): [bytes, pkts]}, both
		directions of a conversation together, as weir keys its flows.
		ICMP type/code is where weir (and NetFlow v5) put it: the
		destination port, type << 8 | code (tshark shows it as one
		field or two, check_groups.tshark_dport reads both)."""
		out = collections.defaultdict(lambda: [0, 0])
		for r in self.records:
			proto = int(r["cflow.protocol"])
			dport = tshark_dport(r, proto)
			a = (self.addr(r, "cflow.srcaddr", "cflow.srcaddrv6"), int(r.get("cflow.srcport", 0)))
			b = (self.addr(r, "cflow.dstaddr", "cflow.dstaddrv6"), dport)
			t = out[(proto, frozenset((a, b)))]
			t[0] += int(r["cflow.octets"])
			t[1] += int(r["cflow.packets"])
		return dict(out)


def weir_flows(flows):
	"""weirctl flows summed per (proto, {(addr, port), (addr, port)}):
	one conversation may be several flow entries (ended and restarted)."""
	out = collections.defaultdict(lambda: [0, 0])
	for f in flows:
		k = (f["proto"], frozenset(((f["src"], f["sport"]), (f["dst"], f["dport"]))))
		out[k][0] += f["bytes"]
		out[k][1] += f["pkts"]
	return dict(out)


def compare_flows(want, got, label, limit=10):
	fails = []
	for k in sorted(set(want) | set(got), key=repr):
		if want.get(k) != got.get(k):
			fails.append("%s: flow proto %d %s: weir (bytes, pkts) %s, truth %s" % (
				label, k[0], sorted(k[1]), got.get(k), want.get(k)))
	if len(fails) > limit:
		fails = fails[:limit] + ["%s: ... %d more flow differences" % (label, len(fails) - limit)]
	return fails


def _keep_pairs(pairs):
	"""json object hook for tshark's JSON, which repeats keys: a layer name
	(the IP header quoted inside an ICMP error, after the outer one) and a
	sample title ("Counters sample, seq 28" for two sources in one
	datagram). The first keeps its key, the next become "KEY#2", "KEY#3":
	a lookup by name finds the first (outermost), a walk sees them all."""
	d = {}
	for k, v in pairs:
		key, n = k, 1
		while key in d:
			n += 1
			key = "%s#%d" % (k, n)
		d[key] = v
	return d


def _first_layer(tree, names):
	"""The first layer in `names` met walking the dissection tree in order."""
	if not isinstance(tree, dict):
		return None, None
	for k, v in tree.items():
		if k in names and isinstance(v, dict):
			return k, v
		if isinstance(v, dict):
			got = _first_layer(v, names)
			if got[0]:
				return got
	return None, None


def sflow_wire_length(frame_length, stripped, header_protocol):
	"""What one sampled packet stands for, as weir counts it: sFlow's
	frame_length includes the FCS for Ethernet (sflow_version_5.txt,
	sampled_header) and a capture's frame length does not, so 4 bytes come
	off when the agent says it stripped them (drivers/sflow/sflow.c,
	wire_length())."""
	if header_protocol == 1 and stripped >= 4 and frame_length >= 4:
		return frame_length - 4
	return frame_length


class SflowTruth:
	"""tshark's decoding of sFlow v5 datagrams.

	samples:  per flow sample a dict: agent, rate, and from its sampled
		  header record (when there is one) frame_length, stripped,
		  header_protocol, header (bytes) and src/dst, the outermost IP
		  addresses tshark dissected in it (None when not IP)
	counters: {(exporter, agent, ifindex): generic interface counters}
		  from the last counter sample of each interface, in datagram
		  order; exporter is the datagram's source address
	"""

	def __init__(self, grams, tmp, port=6343, name="sflow", sources=None):
		pcap = to_pcap(os.path.join(tmp, "export-%s-for-tshark.pcap" % name), grams, port, sources)
		r = subprocess.run(["tshark", "-r", pcap, "-d", "udp.port==%d,sflow" % port, "-T", "json"],
				   capture_output=True, text=True, timeout=300, check=True)
		self.samples = []
		self.counters = {}
		self.datagrams = 0
		for pkt in json.loads(r.stdout, object_pairs_hook=_keep_pairs):
			sf = pkt["_source"]["layers"].get("sflow")
			if not sf:
				continue
			self.datagrams += 1
			agent = sf.get("sflow_245.agent") or sf.get("sflow_245.agent.v6")
			exporter = pkt["_source"]["layers"]["ip"]["ip.src"]
			for k, s in sf.items():
				if k.startswith("Flow sample") or k.startswith("Expanded flow sample"):
					self._flow(agent, s)
				elif k.startswith("Counters sample") or k.startswith("Expanded counters sample"):
					self._counters((exporter, agent), s)

	def _flow(self, agent, s):
		rate = int(s.get("sflow.flow_sample.sampling_rate") or
			   s.get("sflow.flow_sample.expanded_sampling_rate") or 0)
		smp = {"agent": agent, "rate": rate, "src": None, "dst": None, "header": None}
		self.samples.append(smp)
		hdr = s.get("Raw packet header")
		if hdr is None:
			return
		smp["frame_length"] = int(hdr["sflow_245.header.frame_length"])
		smp["stripped"] = int(hdr["sflow_245.header.payload_stripped"])
		smp["header_protocol"] = int(hdr["sflow_245.header_protocol"])
		# the field spans the XDR padding too: cut it to the header length
		smp["header"] = bytes.fromhex(hdr.get("sflow_245.header", "").replace(":", ""))[
			:int(hdr["sflow_245.header.sampled_header_length"])]
		name, ip = _first_layer(hdr.get("sflow_245.header_tree", {}), ("ip", "ipv6"))
		if name == "ip":
			smp["src"], smp["dst"] = ip.get("ip.src"), ip.get("ip.dst")
		elif name == "ipv6":
			smp["src"], smp["dst"] = ip.get("ipv6.src"), ip.get("ipv6.dst")

	def _counters(self, who, s):
		for k, rec in s.items():
			if isinstance(rec, dict) and "sflow_245.ifindex" in rec:
				self.counters[who + (int(rec["sflow_245.ifindex"]),)] = {
					"in_octets": int(rec["sflow_245.ifinoct"]),
					"out_octets": int(rec["sflow_245.ifoutoct"]),
					"speed": int(rec["sflow_245.ifspeed"]),
					"in_errors": int(rec["sflow_245.ifinerr"]),
					"out_errors": int(rec["sflow_245.ifouterr"]),
					"in_discards": int(rec["sflow_245.ifindisc"]),
					"out_discards": int(rec["sflow_245.ifoutdisc"]),
				}

	def hosts(self):
		import weircollect
		truth = {}
		for s in self.samples:
			if s["src"] is None:
				continue
			weircollect.add_record(truth, s["src"], s["dst"], s["rate"] * sflow_wire_length(
				s["frame_length"], s["stripped"], s["header_protocol"]), s["rate"])
		return truth


def nfdump_records(grams, tmp, name="nfdump"):
	"""The same datagrams through nfcapd (a second collector we did not
	write: it listens on a free loopback port, is sent the stream in
	order and stopped with SIGTERM, which closes its file) and nfdump -o
	json. Returns the list of flow records, or None when nfcapd/nfdump
	is not installed."""
	import shutil
	import signal
	import time
	import weircollect
	if not shutil.which("nfcapd") or not shutil.which("nfdump"):
		return None
	d = os.path.join(tmp, "nfcapd-" + name)
	os.makedirs(d)
	port = weircollect.free_udp_port()
	with open(os.path.join(tmp, "nfcapd-%s.log" % name), "w") as log:
		p = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", d, "-t", "3600"],
				     stdout=log, stderr=subprocess.STDOUT)
		try:
			deadline = time.monotonic() + 10	# bound: "Startup nfcapd." in its log
			while time.monotonic() < deadline and p.poll() is None:
				with open(log.name) as f:
					if "Startup" in f.read():
						break
				time.sleep(0.05)
			weircollect.send(port, [("127.0.0.1", g) for g in grams])
			time.sleep(0.5)
		finally:
			p.send_signal(signal.SIGTERM)
			p.wait(timeout=30)
	files = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs if f.startswith("nfcapd.")]
	recs = []
	for f in sorted(files):
		out = subprocess.run(["nfdump", "-r", f, "-o", "json"], capture_output=True, text=True,
				     timeout=120, check=True).stdout
		recs += [r for r in json.loads(out or "[]") if r.get("type") == "FLOW"]
	return recs


def nfdump_hosts(recs):
	"""{ip: [bytes sent, rcvd, pkts sent, rcvd]} over nfdump's records."""
	import weircollect
	truth = {}
	for r in recs:
		weircollect.add_record(truth, r.get("src4_addr") or r.get("src6_addr"),
				       r.get("dst4_addr") or r.get("dst6_addr"),
				       int(r["in_bytes"]), int(r["in_packets"]))
	return truth


def second_truth(grams, tmp, n_records, hosts, label):
	"""nfdump as a second reference on a NetFlow/IPFIX stream: the same
	record count as tshark, and weir's hosts equal to its sums too.
	Returns failure lines (none, with a note, without nfcapd/nfdump)."""
	import weircollect
	recs = nfdump_records(grams, tmp)
	if recs is None:
		print("%s: nfcapd/nfdump not installed: the second reference is skipped" % label)
		return []
	fails = []
	if len(recs) != n_records:
		fails.append("%s: nfdump reads %d records, tshark %d" % (label, len(recs), n_records))
	fails += weircollect.compare_hosts(nfdump_hosts(recs), hosts, label + " vs nfdump")
	print("%s: nfdump: %d records" % (label, len(recs)))
	return fails
