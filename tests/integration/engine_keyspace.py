#!/usr/bin/python3
"""engine_keyspace.py -- the parts of the Redis keyspace that go beyond the
current totals (docs/redis-keys.md), checked against tshark's view of the
same capture.

  events    --forbid iot>servers --watch users>remote: one `boundary` event
            per flow tshark sees initiated across each pair, one `new_host`
            per host; read through a consumer group by two consumers in turn
            (the first stops half-way without acking the rest), every event
            is delivered once.
  series    the time series add up: the engine series' bytes and packets
            equal the frames read, each VLAN's and host's equal tshark's.
  index     idx:host, idx:vlan, idx:subnet, idx:port hold exactly the flows
            weirctl lists for that host, VLAN, pair (named by truth.py's
            lookup of the named subnets), port; flows:ended holds every flow
            once the file is done (they all end at the flush), each with
            src_subnet/dst_subnet as that lookup names them.
  rdns      --resolve-hosts all names 127.0.0.1 (from /etc/hosts) and leaves
            an address without a name empty.
  burst     a capture with ~13.7k hosts, more than the 10,000 events kept
            while Redis is away, read with Redis healthy: one `new_host`
            event per host tshark's endpoints list, none dropped; and the
            health hash of the final cycle counts that cycle (publish_cycles
            equals the cycles weir's final log line says landed,
            events_sent == XLEN events).
  rdns_server  --resolve-server at a PTR responder the test runs on
            loopback: names of local hosts as it gives them, remote ones not
            asked, at most --resolve-rate a second, asked again after
            --resolve-ttl; none asks nothing, all asks every host.
  exporter  --collect, --exporter-timeout 5: an exporter that sends, goes
            silent 7 s and sends again gives exporter_up, exporter_down
            (silent_s between 5 and the silence) and exporter_up.
  ifreuse   --max-exporters 1: an exporter fills the interface table (NetFlow
            v5 records with 8,200 distinct ifIndexes, the table takes
            8,192), goes silent past --exporter-timeout, and a new exporter
            takes its place: every ifIndex the new one sends is an
            interface in Redis (the evicted exporter's slots are reused).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import weirtest  # noqa: E402

NETS = "10.0.0.0/8,192.0.2.0/24,2001:db8:a::/48"
SUBNETS = ["users=10.0.10.0/24", "servers=10.0.20.0/24", "iot=10.0.30.0/24"]


def setup(args, seed, extra=()):
	tmp = tempfile.mkdtemp(prefix="weir-ks-")
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", str(seed),
			"--out", pcap], check=True, timeout=300, capture_output=True)
	cmd = ["/usr/bin/python3", args.truth, pcap, "--local-networks", NETS]
	for s in SUBNETS:
		cmd += ["--subnet", s]
	t = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout)
	redis = weirtest.Redis()
	wargs = ["-r", pcap, "--redis", redis.url, "--node", "ks", "-m", NETS, "--eal-mem", "256",
		 "--flow-table-size", "65536"]
	for s in SUBNETS:
		wargs += ["--subnet", s]
	weirtest.run_weir(args.weir, wargs + list(extra))
	setup.pcap = pcap
	return t, redis


def xread_group(redis, consumer, count):
	out = redis.cli("--raw", "XREADGROUP", "GROUP", "g", consumer, "COUNT", str(count),
			"STREAMS", "weir:{ks}:events", ">")
	return parse_entries(out)


def parse_entries(raw):
	"""redis-cli --raw prints stream, id, then field/value lines; entries
	start with an id like 1795780611850-0."""
	entries, cur = [], None
	lines = raw.split("\n")
	i = 0
	while i < len(lines):
		ln = lines[i]
		if "-" in ln and ln.split("-")[0].isdigit() and ln.split("-")[-1].isdigit():
			cur = {"_id": ln}
			entries.append(cur)
			i += 1
			continue
		if cur is not None and i + 1 < len(lines) and ln:
			cur[ln] = lines[i + 1]
			i += 2
			continue
		i += 1
	return entries


def case_events(args):
	t, redis = setup(args, 11, ["--forbid", "iot>servers", "--watch", "users>remote"])
	redis.cli("XGROUP", "CREATE", "weir:{ks}:events", "g", "0")
	total = int(redis.cli("XLEN", "weir:{ks}:events").strip())
	first = xread_group(redis, "c1", total // 2)
	# c1 "crashes" after acking only what it handled
	ids = [e["_id"] for e in first]
	if ids:
		redis.cli("XACK", "weir:{ks}:events", "g", *ids)
	rest = xread_group(redis, "c2", total + 10)
	seen = [e["_id"] for e in first + rest]
	ok = True
	if len(seen) != total or len(set(seen)) != total:
		print("consumer group delivered %d (%d distinct) of %d events" % (len(seen), len(set(seen)), total))
		ok = False
	types = Counter(e.get("type") for e in first + rest)
	print("events:", dict(types))
	want = {(s["src"], s["dst"]): s["flows"] for s in t["subnets"]}
	got = Counter((e["rule"], e["src_subnet"], e["dst_subnet"]) for e in first + rest if e.get("type") == "boundary")
	for rule, pair in (("forbid", ("iot", "servers")), ("watch", ("users", "remote"))):
		if got[(rule,) + pair] != want.get(pair, 0):
			print("boundary %s %s>%s: %d events, tshark sees %d flows" % (rule, pair[0], pair[1],
			      got[(rule,) + pair], want.get(pair, 0)))
			ok = False
	if types["new_host"] != len(t["hosts"]):
		print("new_host events %d, hosts %d" % (types["new_host"], len(t["hosts"])))
		ok = False
	if not want.get(("iot", "servers")):
		print("the capture has no iot>servers flow: the test proves nothing")
		ok = False
	return ok


def zpoints(redis, key):
	raw = redis.cli("--raw", "ZRANGE", key, "0", "-1").split()
	return [tuple(int(x) for x in m.split(":")) for m in raw]


def case_series(args):
	t, redis = setup(args, 12)
	ok = True
	for res in ("1s", "1m", "5m"):
		pts = zpoints(redis, "weir:{ks}:ts:%s:engine" % res)
		b, p = sum(x[1] for x in pts), sum(x[2] for x in pts)
		if (b, p) != (t["totals"]["bytes"], t["totals"]["frames"]):
			print("ts:%s:engine sums to %d bytes %d pkts, the file has %d %d" % (
				res, b, p, t["totals"]["bytes"], t["totals"]["frames"]))
			ok = False
		ttl = int(redis.cli("PTTL", "weir:{ks}:ts:%s:engine" % res).strip())
		if ttl <= 0:
			print("ts:%s:engine has no expiry (%d)" % (res, ttl))
			ok = False
	for v in t["vlans"]:
		pts = zpoints(redis, "weir:{ks}:ts:1m:vlan:%d" % v["vlan"])
		if sum(x[1] for x in pts) != v["bytes"] or sum(x[3] for x in pts) != v["flows"]:
			print("vlan %d series: %d bytes %d flows, tshark %d %d" % (v["vlan"], sum(x[1] for x in pts),
			      sum(x[3] for x in pts), v["bytes"], v["flows"]))
			ok = False
	bad = 0
	for h in t["hosts"]:
		pts = zpoints(redis, "weir:{ks}:ts:5m:host:%s@%d" % (h["ip"], h["vlan"]))
		if sum(x[1] for x in pts) != h["bytes_sent"] + h["bytes_rcvd"]:
			bad += 1
	if bad:
		print("%d host series differ from tshark's host totals" % bad)
		ok = False
	print("series checked: engine (3 resolutions), %d VLANs, %d hosts" % (len(t["vlans"]), len(t["hosts"])))
	# --data-retention 1: the 1 min and 5 min series expire after a day,
	# the 1 s series after an hour, as docs/redis-keys.md says
	weirtest.run_weir(args.weir, ["-r", setup.pcap, "--redis", redis.url, "--node", "r1", "--eal-mem", "256",
				      "--flow-table-size", "65536", "--data-retention", "1"])
	for res, keep in (("1s", 3600000), ("1m", 86400000), ("5m", 86400000)):
		ttl = int(redis.cli("PTTL", "weir:{r1}:ts:%s:engine" % res).strip())
		print("--data-retention 1: ts:%s:engine PTTL %d ms (want at most %d, within a minute)" % (res, ttl, keep))
		if not keep - 60000 < ttl <= keep:
			ok = False
	return ok


def namer():
	"""truth.py's longest-prefix naming of the test's subnets."""
	sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
	import truth
	return truth.Namer(NETS.split(","), SUBNETS)


def case_index(args):
	t, redis = setup(args, 13)
	flows = weirtest.weirctl_json(args.weirctl, redis.url, "flows", node="ks")
	names = namer()
	want = defaultdict(set)
	for f in flows:
		fid = f["id"] if "id" in f else None
		if fid is None:
			print("weirctl flows --json has no id field")
			return False
		v = int(f["vlan"])
		want["host:%s@%d" % (f["src"], v)].add(fid)
		want["host:%s@%d" % (f["dst"], v)].add(fid)
		want["vlan:%d" % v].add(fid)
		want["subnet:%s>%s" % (names.name(f["src"]), names.name(f["dst"]))].add(fid)
		for p in (int(f["sport"]), int(f["dport"])):
			if p:
				want["port:%d" % p].add(fid)
		if f.get("application"):
			want["app:%s" % f["application"]].add(fid)
	ok = True
	checked = 0
	for k, ids in want.items():
		got = set(redis.cli("--raw", "SMEMBERS", "weir:{ks}:idx:" + k).split())
		checked += 1
		if got != ids:
			print("idx:%s has %d flows, weirctl lists %d (%d differ)" % (k, len(got), len(ids), len(got ^ ids)))
			ok = False
	n_ended = int(redis.cli("XLEN", "weir:{ks}:flows:ended").strip())
	if n_ended != len(t["flows"]):
		print("flows:ended has %d entries, tshark sees %d flows" % (n_ended, len(t["flows"])))
		ok = False
	# each ended flow names its subnets as the test's own lookup does
	raw = weirtest.resp(redis.port, [["XRANGE", "weir:{ks}:flows:ended", "-", "+"]])[0]
	ended = [dict(zip(e[1][0::2], e[1][1::2])) for e in raw]
	misnamed = [e for e in ended if (e.get("src_subnet"), e.get("dst_subnet")) !=
		    (names.name(e["src"]), names.name(e["dst"]))]
	pairs = Counter((e.get("src_subnet"), e.get("dst_subnet")) for e in ended)
	print("%d index sets checked (%d subnet pairs); flows:ended %d, %d with wrong subnet names; pairs %s" % (
		checked, sum(1 for k in want if k.startswith("subnet:")), n_ended, len(misnamed),
		dict(pairs.most_common(4))))
	if misnamed or not any(k.startswith("subnet:users>") for k in want):
		ok = False
	return ok


def case_rdns(args):
	tmp = tempfile.mkdtemp(prefix="weir-rdns-")
	pcap = os.path.join(tmp, "lo.pcap")
	# 127.0.0.1 is named in /etc/hosts; 192.0.2.77 (TEST-NET-1) has no name
	subprocess.run(["/usr/bin/python3", "-c",
			"from scapy.all import *\n"
			"wrpcap(%r, [Ether()/IP(src='127.0.0.1', dst='192.0.2.77')/UDP(sport=1000, dport=9)/b'x'])" % pcap],
		       check=True, timeout=120, capture_output=True)
	redis = weirtest.Redis()
	weirtest.run_weir(args.weir, ["-r", pcap, "--redis", redis.url, "--node", "dn", "--resolve-hosts", "all",
				      "--eal-mem", "256", "--flow-table-size", "4096"])
	a = redis.cli("--raw", "HGET", "weir:{dn}:host:127.0.0.1@0", "name").strip()
	b = redis.cli("--raw", "HGET", "weir:{dn}:host:192.0.2.77@0", "name").strip()
	print("127.0.0.1 -> %r, 192.0.2.77 -> %r" % (a, b))
	return a == "localhost" and b == ""


def final_health_exact(args, redis, node, log):
	"""After `weir -r`: the last health hash counts its own cycle: its
	publish_cycles is the count of cycles that landed in weir's final log
	line (engine/main.c, "final: ... redis ok, C cycles")."""
	st = weirtest.weirctl_json(args.weirctl, redis.url, "status", node=node)
	h = st["health"]
	xlen = int(redis.cli("XLEN", "weir:{%s}:events" % node).strip())
	final = re.findall(r"final: .*redis ok, (\d+) cycles", log)
	print("final health: publish_cycles %s, events_sent %s, events_dropped %s; XLEN events %d; "
	      "the final log line says %s cycles" % (h.get("publish_cycles"), h.get("events_sent"),
						      h.get("events_dropped"), xlen, final))
	return final == [str(h.get("publish_cycles"))] and int(h.get("events_sent", -1)) == xlen


def case_burst(args):
	tmp = tempfile.mkdtemp(prefix="weir-burst-")
	pcap = os.path.join(tmp, "big.pcap")
	# big profile: flow i's client is (VLAN i % 4, i % 4093), so 12000 flows
	# give 12000 clients plus the servers
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "big", "--flows", "12000", "--seed", "5",
			"--out", pcap], check=True, timeout=120, capture_output=True)
	t = json.loads(subprocess.run(["/usr/bin/python3", args.truth, pcap], capture_output=True,
				      text=True, timeout=300, check=True).stdout)
	want = {"%s@%d" % (h["ip"], h["vlan"]) for h in t["hosts"]}
	redis = weirtest.Redis()
	r, _ = weirtest.run_weir(args.weir, ["-r", pcap, "--redis", redis.url, "--node", "bu", "--eal-mem", "256",
					     "--flow-table-size", "65536"])
	raw = weirtest.resp(redis.port, [["XRANGE", "weir:{bu}:events", "-", "+"]])[0]
	got = Counter()
	for _, fields in raw:
		f = dict(zip(fields[0::2], fields[1::2]))
		if f.get("type") == "new_host":
			got[f["host"]] += 1
	ok = True
	print("new_host events %d for %d distinct hosts; tshark's endpoints: %d hosts" % (
		sum(got.values()), len(got), len(want)))
	if len(want) <= 10000:
		print("the capture has too few hosts to prove anything")
		ok = False
	if set(got) != want or any(n != 1 for n in got.values()):
		print("missing %s, extra %s, repeated %s" % (sorted(want - set(got))[:3], sorted(set(got) - want)[:3],
							     [h for h, n in got.items() if n != 1][:3]))
		ok = False
	h = weirtest.weirctl_json(args.weirctl, redis.url, "status", node="bu")["health"]
	if int(h.get("events_dropped", -1)) != 0:
		print("events_dropped %s with Redis healthy" % h.get("events_dropped"))
		ok = False
	ok &= final_health_exact(args, redis, "bu", r.stderr)
	return ok


def case_exporter(args):
	"""--collect with --exporter-timeout 5: an exporter sends, goes silent
	for 7 s, sends again: exporter_up, exporter_down (silent_s 5..7, at
	about 5 s after its last datagram), exporter_up, in that order."""
	import time
	import nfstream
	import weircollect
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-exp-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "ex", tmp, extra=["--exporter-timeout", "5"])
	grams = nfstream.interleave({"127.0.0.61": nfstream.v5_stream(0, 20, seed=9)})
	nfstream.PacedSender(col.port, grams[:10], rate=40).run()
	last = time.time()
	time.sleep(7.0)
	silent = time.time() - last
	nfstream.PacedSender(col.port, grams[10:], rate=40).run()
	col.wait_settled(datagrams=20, timeout=20)
	rc = col.stop()
	raw = weirtest.resp(redis.port, [["XRANGE", "weir:{ex}:events", "-", "+"]])[0]
	ev = [dict(zip(f[0::2], f[1::2])) for _, f in raw]
	ev = [e for e in ev if e.get("type", "").startswith("exporter_") and e.get("exporter") == "127.0.0.61"]
	seq = [e["type"] for e in ev]
	print("events of 127.0.0.61: %s; silent %.1f s" % (
		[(e["type"], e.get("silent_s"), "%+.1f s" % (int(e["ts"]) / 1000 - last)) for e in ev], silent))
	ok = rc == 0 and seq == ["exporter_up", "exporter_down", "exporter_up"]
	if ok:
		down = ev[1]
		at = int(down["ts"]) / 1000 - last
		ok = 5 <= int(down["silent_s"]) <= silent and 4.5 <= at <= 6.5
	return ok


def v5_with_ifindexes(seq, records, ifs):
	"""A NetFlow v5 datagram whose record k has input/output ifIndex
	ifs[k] (v5 record: 48 bytes after a 24-byte header, input at byte 12,
	output at 14, both 16-bit)."""
	import struct
	import nfstream
	d = bytearray(nfstream.v5_datagram(seq, records))
	for k, (i, o) in enumerate(ifs):
		struct.pack_into("!HH", d, 24 + 48 * k + 12, i, o)
	return bytes(d)


def case_ifreuse(args):
	import random
	import time
	import nfstream
	import weircollect
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-ifr-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "ifr", tmp,
				    extra=["--max-exporters", "1", "--exporter-timeout", "5"])
	rng = random.Random(11)
	a, b = "127.0.0.71", "127.0.0.72"
	grams, seq = [], 0
	for k in range(0, 4100, 25):	# 4,100 records, each two new ifIndexes: 8,200
		n = min(25, 4100 - k)
		ifs = [(2 * (k + j) + 1, 2 * (k + j) + 2) for j in range(n)]
		grams.append((a, v5_with_ifindexes(seq, nfstream.random_records(rng, n, "10.7.1", "10.200.0"), ifs)))
		seq += n
	nfstream.PacedSender(col.port, grams, rate=400).run()
	col.wait_settled(datagrams=len(grams), timeout=30)

	def members(addr):
		z = weirtest.resp(redis.port, [["ZRANGE", "weir:{ifr}:interfaces", "0", "-1"]])[0]
		return {int(m.rsplit("#", 1)[1]) for m in z if m.startswith(addr + "#")}

	n_a = len(members(a))
	time.sleep(6.0)		# a is silent past exporter-timeout: b takes its place
	want = set(range(1, 41))
	recs = nfstream.random_records(rng, 20, "10.8.1", "10.200.0")
	gb = [(b, v5_with_ifindexes(0, recs, [(2 * j + 1, 2 * j + 2) for j in range(20)]))]
	nfstream.PacedSender(col.port, gb, rate=40).run()
	col.wait_settled(datagrams=1, timeout=20)
	time.sleep(0.6)
	got = members(b)
	h = weirtest.weirctl_json(args.weirctl, redis.url, "status", node="ifr")["health"]
	rc = col.stop()
	print("a's interfaces %d (of 8200 sent, the table takes 8192); after a's eviction (exporters_evicted %s) "
	      "b's: %d of %d" % (n_a, h.get("exporters_evicted"), len(got), len(want)))
	return rc == 0 and n_a >= 8000 and got == want and str(h.get("exporters_evicted")) == "1"


class PtrResponder:
	"""A DNS server on 127.0.0.1 that answers PTR queries for the
	addresses in `names` and NXDOMAIN for the rest, and notes each query
	(address, monotonic time). Runs in a thread until stop()."""

	def __init__(self, names):
		import socket
		import threading
		self.names = names
		self.queries = []
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		self.sock.bind(("127.0.0.1", 0))
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self.running = True
		self.thread = threading.Thread(target=self.run, daemon=True)
		self.thread.start()

	@staticmethod
	def qname(msg):
		labels, i = [], 12
		while msg[i]:
			labels.append(msg[i + 1:i + 1 + msg[i]].decode())
			i += 1 + msg[i]
		return labels, i + 5	# past the zero, QTYPE, QCLASS

	def run(self):
		import struct
		import time
		while self.running:
			try:
				msg, peer = self.sock.recvfrom(512)
			except OSError:
				continue
			labels, end = self.qname(msg)
			addr = ".".join(reversed(labels[:4])) if labels[-2:] == ["in-addr", "arpa"] else None
			self.queries.append((addr, time.monotonic()))
			name = self.names.get(addr)
			head = msg[:2] + struct.pack("!HHHHH", 0x8180 if name else 0x8183, 1, 1 if name else 0, 0, 0)
			out = head + msg[12:end]
			if name:
				rdata = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
				out += struct.pack("!HHHIH", 0xc00c, 12, 1, 60, len(rdata)) + rdata
			self.sock.sendto(out, peer)

	def stop(self):
		self.running = False
		self.thread.join(timeout=2)
		self.sock.close()


def case_rdns_server(args):
	"""--resolve-server at a PTR responder of the test's own: local hosts
	get the responder's names, remote ones are not asked (mode local),
	never more than --resolve-rate queries a second, every name asked
	again once --resolve-ttl has passed; then --resolve-hosts none asks
	nothing and --resolve-hosts all asks the remote ones too."""
	import time
	import nfstream
	import weircollect
	local = ["10.1.1.%d" % i for i in range(1, 9)]
	remote = ["198.51.100.%d" % i for i in range(1, 5)]
	names = {a: "h%s.weir.test" % a.replace(".", "-") for a in local + remote[:2]}
	dns = PtrResponder(names)
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-rdns-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "rn", tmp, extra=[
		"--resolve-server", "127.0.0.1:%d" % dns.port, "--resolve-hosts", "local", "--resolve-rate", "2",
		"--resolve-ttl", "10", "-m", "10.0.0.0/8"])
	recs = [(a, remote[i % len(remote)], 40000 + i, 443, 6, 3, 300) for i, a in enumerate(local)]
	t0 = time.monotonic()
	# the same hosts keep talking for 14 s: their names expire at 10 s
	for k in range(14):
		nfstream.PacedSender(col.port, [("127.0.0.71", nfstream.v5_datagram(k * len(recs), recs))], 10).run()
		time.sleep(max(0.0, t0 + k + 1 - time.monotonic()))
	col.wait_settled(datagrams=14, timeout=20)
	h = weirtest.weirctl_json(args.weirctl, redis.url, "status", node="rn")["health"]
	rc = col.stop()
	got = {a: redis.cli("--raw", "HGET", "weir:{rn}:host:%s@0" % a, "name").strip() for a in local + remote}
	asked = Counter(a for a, _ in dns.queries)
	times = sorted(t for _, t in dns.queries)
	burst = max(sum(1 for u in times if t <= u < t + 1.0) for t in times) if times else 0
	print("names %s" % {a: n for a, n in got.items() if n})
	print("queries per address %s; at most %d in any second; health rdns_queries %s rdns_answers %s "
	      "rdns_rate_limited %s" % (dict(asked), burst, h.get("rdns_queries"), h.get("rdns_answers"),
					h.get("rdns_rate_limited")))
	ok = rc == 0
	ok &= all(got[a] == names[a] for a in local) and not any(got[a] for a in remote)
	ok &= set(asked) == set(local) and all(n == 2 for n in asked.values())	# once, then after the TTL
	ok &= burst <= 4	# 2 per engine second; a 1 s window may straddle two of them
	ok &= int(h.get("rdns_queries", 0)) == len(dns.queries) and int(h.get("rdns_rate_limited", 0)) > 0
	# none: nothing asked; all: the remote hosts too
	for mode, want in (("none", set()), ("all", set(local) | set(remote))):
		dns.queries.clear()
		col = weircollect.Collector(args.weir, args.weirctl, redis, "rn" + mode, tmp, extra=[
			"--resolve-server", "127.0.0.1:%d" % dns.port, "--resolve-hosts", mode, "--resolve-rate", "100",
			"-m", "10.0.0.0/8"])
		nfstream.PacedSender(col.port, [("127.0.0.72", nfstream.v5_datagram(0, recs))], 10).run()
		col.wait_settled(datagrams=1, timeout=20)
		time.sleep(1.0)
		col.stop()
		asked = {a for a, _ in dns.queries}
		named = {a for a in local + remote
			 if redis.cli("--raw", "HGET", "weir:{rn%s}:host:%s@0" % (mode, a), "name").strip()}
		print("--resolve-hosts %s: asked %d addresses, %d named" % (mode, len(asked), len(named)))
		ok &= asked == want and named == {a for a in want if a in names}
	dns.stop()
	return ok


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["events", "series", "index", "rdns", "burst", "exporter", "rdns_server",
					   "ifreuse"],
			required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	args = ap.parse_args()
	weirtest.need_root()
	fn = {"events": case_events, "series": case_series, "index": case_index, "rdns": case_rdns,
	      "burst": case_burst, "exporter": case_exporter, "rdns_server": case_rdns_server,
	      "ifreuse": case_ifreuse}
	return 0 if fn[args.case](args) else 1


if __name__ == "__main__":
	sys.exit(main())
