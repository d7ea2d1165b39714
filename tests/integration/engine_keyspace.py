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
            weirctl lists for that host, VLAN, pair, port; flows:ended holds
            every flow once the file is done (they all end at the flush).
  rdns      --resolve-hosts all names 127.0.0.1 (from /etc/hosts) and leaves
            an address without a name empty.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
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
	return ok


def case_index(args):
	t, redis = setup(args, 13)
	flows = weirtest.weirctl_json(args.weirctl, redis.url, "flows", node="ks")
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
	print("%d index sets checked; flows:ended %d" % (checked, n_ended))
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


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["events", "series", "index", "rdns"], required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	args = ap.parse_args()
	weirtest.need_root()
	fn = {"events": case_events, "series": case_series, "index": case_index, "rdns": case_rdns}
	return 0 if fn[args.case](args) else 1


if __name__ == "__main__":
	sys.exit(main())
