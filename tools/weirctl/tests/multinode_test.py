#!/usr/bin/python3
"""multinode_test.py -- two engines, one Redis, the merged view.

usage: multinode_test.py --weir W --weirctl C --gen G --truth T
                         [--weir-web WW --static DIR] [--cluster]

The office capture (gen_traffic.py --profile office --seed 21) is cut in
two halves by time: the same hosts talk in both, so the two engines see
the same hosts, VLANs and subnet pairs, never the same packets. tshark
(tests/integration/truth.py) counts each half; `weir -r HALF --node a`
and `--node b` publish them into one redis-server (or, with --cluster,
one Redis Cluster of three masters). Then, integer for integer:

  - weirctl --json hosts, vlans, subnets (no --node: every node of the
    registry weir:nodes, merged) equal the SUM of the halves' truths: one
    row per host (ADDR@VLAN), VLAN and pair, no duplicate; a VLAN's hosts
    is the number of distinct hosts of both halves;
  - apps add up to every flow's bytes of both halves, and each
    application's merged numbers are node a's plus node b's;
  - flows are the union: each half's flows, each with its node;
  - history (engine, a VLAN, a host over its VLANs) sums to the halves'
    bytes and packets; status lists both nodes and totals their frames;
  - --node a alone equals half a's truth, --node a,b the merged view;
  - with --weir-web: /api/hosts, /api/vlans, /api/subnets, /api/flows,
    /api/timeseries and /api/status merged equal the same, and ?node=a
    half a's alone;
  - with --cluster, node a's slot then moves to another master under
    weirctl's feet, half its keys first (the readers meet ASK), then all
    (MOVED): the merged hosts, VLANs, flows and status stay right.

Every process started dies with the test; every wait is bounded.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "lib"))
import weirtest  # noqa: E402

NETS = ["10.0.0.0/8", "192.0.2.0/24", "2001:db8:a::/48"]
SUBNETS = ["users=10.0.10.0/24", "servers=10.0.20.0/24", "iot=10.0.30.0/24"]

failures = []


def check(cond, what, detail=""):
	if not cond:
		print("FAIL " + what + (("\n     " + str(detail)[:1500]) if detail else ""))
		failures.append(what)
	else:
		print("ok   " + what)
	return cond


# ---- the capture in two halves ------------------------------------------------

def split_pcap(path, out_a, out_b):
	"""Frames before the middle of the capture's time span into out_a, the
	others into out_b, byte for byte (classic pcap, either byte order)."""
	with open(path, "rb") as f:
		data = f.read()
	magic = struct.unpack("<I", data[:4])[0]
	if magic in (0xa1b2c3d4, 0xa1b23c4d):
		e = "<"
	elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
		e = ">"
	else:
		raise RuntimeError("%s is not a classic pcap" % path)
	recs, at = [], 24
	while at + 16 <= len(data):
		sec, frac, incl, _ = struct.unpack(e + "IIII", data[at:at + 16])
		recs.append((sec + frac / 1e9, data[at:at + 16 + incl]))
		at += 16 + incl
	mid = (recs[0][0] + recs[-1][0]) / 2
	for out, keep in ((out_a, lambda t: t < mid), (out_b, lambda t: t >= mid)):
		with open(out, "wb") as f:
			f.write(data[:24])
			for t, rec in recs:
				if keep(t):
					f.write(rec)
	return sum(1 for t, _ in recs if t < mid), sum(1 for t, _ in recs if t >= mid)


def truth_of(a, pcap):
	cmd = ["/usr/bin/python3", a.truth, pcap, "--local-networks", ",".join(NETS)]
	for s in SUBNETS:
		cmd += ["--subnet", s]
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
	if r.returncode != 0:
		print("truth.py failed: " + r.stderr[-2000:])
		sys.exit(1)
	return json.loads(r.stdout)


def engine(a, url, pcap, node):
	wargs = ["-r", pcap, "--redis", url, "--node", node, "-w", "1",
		 "--flow-table-size", "65536", "--eal-mem", "256", "-m", ",".join(NETS)]
	for s in SUBNETS:
		wargs += ["--subnet", s]
	weirtest.run_weir(a.weir, wargs)


# ---- what the merged view must say ----------------------------------------------

HOST_F = ("bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd", "flows")
VLAN_F = ("bytes", "pkts", "flows")
PAIR_F = ("bytes", "pkts", "bytes_fwd", "pkts_fwd", "bytes_rev", "pkts_rev", "flows")


def summed(truths, part, key, fields):
	out = defaultdict(lambda: dict.fromkeys(fields, 0))
	for t in truths:
		for row in t[part]:
			for f in fields:
				out[key(row)][f] += row[f]
	return dict(out)


def expect(truths):
	hk = lambda r: (r["ip"], int(r["vlan"]))
	hosts = summed(truths, "hosts", hk, HOST_F)
	vlans = summed(truths, "vlans", lambda r: int(r["vlan"]), VLAN_F)
	for v in vlans:		# distinct hosts of both halves
		vlans[v]["hosts"] = len({k for k in hosts if k[1] == v})
	pairs = summed(truths, "subnets", lambda r: (r["src"], r["dst"]), PAIR_F)
	return hosts, vlans, pairs


def compare(what, got_rows, key, want, fields):
	got = {}
	dup = []
	for r in got_rows:
		k = key(r)
		if k in got:
			dup.append(k)
		got[k] = r
	check(not dup, "%s: one row each (%d rows, duplicates %s)" % (what, len(got_rows), dup[:3]))
	missing = sorted(set(want) - set(got), key=str)[:3]
	extra = sorted(set(got) - set(want), key=str)[:3]
	check(not missing and not extra, "%s: the %d rows tshark's halves give" % (what, len(want)),
	      "missing %s extra %s" % (missing, extra))
	bad = [(k, {f: (int(got[k][f]), want[k][f]) for f in fields if int(got[k][f]) != want[k][f]})
	       for k in want if k in got and any(int(got[k][f]) != want[k][f] for f in fields)]
	check(not bad, "%s: %s equal the sums" % (what, "/".join(fields)), bad[:3])


def hkey(r):
	return (r["ip"], int(r["vlan"]))


def pkey(r):
	return (r["src"], r["dst"])


def fkey(f):
	return (f["src"], int(f["sport"]), f["dst"], int(f["dport"]), int(f["proto"]), int(f["vlan"]))


class Ctl:
	def __init__(self, a, url):
		self.a, self.url = a, url

	def json(self, *args, node=None):
		return weirtest.weirctl_json(self.a.weirctl, self.url, *args, node=node)


def weirctl_checks(a, ctl, ta, tb):
	hosts, vlans, pairs = expect([ta, tb])

	# the registry holds both nodes; no --node merges them
	st = ctl.json("status")
	check(sorted(n["node"] for n in st.get("nodes", [])) == ["a", "b"],
	      "status: lists nodes a and b", st.keys())
	tot = st.get("totals", {})
	check(tot.get("rx_pkts") == ta["totals"]["frames"] + tb["totals"]["frames"] and
	      tot.get("rx_bytes") == ta["totals"]["bytes"] + tb["totals"]["bytes"],
	      "status: totals rx_pkts/rx_bytes are both halves' frames/bytes")
	check(tot.get("hosts") == len(hosts), "status: hosts %s = %d distinct hosts" % (tot.get("hosts"), len(hosts)))

	got = ctl.json("hosts")
	compare("hosts (merged)", got, hkey, hosts, HOST_F)
	check([x["bytes_sent"] + x["bytes_rcvd"] for x in got] ==
	      sorted((x["bytes_sent"] + x["bytes_rcvd"] for x in got), reverse=True),
	      "hosts (merged): ranked by the summed bytes")
	top = ctl.json("hosts", "--top", "5")
	check([hkey(x) for x in top] == [hkey(x) for x in got[:5]], "hosts --top 5: the merged top 5")
	compare("vlans (merged)", ctl.json("vlans"), lambda r: int(r["vlan"]), vlans,
		VLAN_F + ("hosts",))
	compare("subnets (merged)", ctl.json("subnets"), pkey, pairs, PAIR_F)

	# --node a alone: half a's truth, nothing of b
	ha, va, pa = expect([ta])
	compare("hosts --node a", ctl.json("hosts", node="a"), hkey, ha, HOST_F)
	compare("vlans --node a", ctl.json("vlans", node="a"), lambda r: int(r["vlan"]), va,
		VLAN_F + ("hosts",))
	compare("subnets --node a", ctl.json("subnets", node="a"), pkey, pa, PAIR_F)
	compare("hosts --node a,b", ctl.json("hosts", node="a,b"), hkey, hosts, HOST_F)

	# applications: no tshark labels, but they hold every flow's bytes,
	# and the merged row is node a's plus node b's
	apps = ctl.json("apps")
	flow_bytes = sum(f["bytes"] for t in (ta, tb) for f in t["flows"])
	check(sum(x["bytes"] for x in apps) == flow_bytes,
	      "apps (merged): add up to every flow's bytes of both halves (%d)" % flow_bytes)
	per = defaultdict(lambda: [0, 0, 0])
	for n in ("a", "b"):
		for x in ctl.json("apps", node=n):
			for i, f in enumerate(("bytes", "pkts", "flows")):
				per[x["name"]][i] += x[f]
	check({x["name"]: [x["bytes"], x["pkts"], x["flows"]] for x in apps} == dict(per),
	      "apps (merged): each is node a's plus node b's (%d apps)" % len(per))
	cats = ctl.json("categories")
	check(sum(x["bytes"] for x in cats) == flow_bytes, "categories (merged): add up likewise")

	# flows: a flow lives on one node: the union, each with its node
	fl = ctl.json("flows")
	for n, t in (("a", ta), ("b", tb)):
		mine = [f for f in fl if f.get("node") == n]
		check(sorted(map(fkey, mine)) == sorted(map(fkey, t["flows"])),
		      "flows (merged): node %s's are half %s's %d flows" % (n, n, len(t["flows"])))
	check(len(fl) == len(ta["flows"]) + len(tb["flows"]), "flows (merged): %d rows, no more" % len(fl))
	busiest = max(hosts, key=lambda k: hosts[k]["bytes_sent"] + hosts[k]["bytes_rcvd"])
	fh = ctl.json("flows", "--host", busiest[0], "--vlan", str(busiest[1]))
	want = [f for t in (ta, tb) for f in t["flows"] if f["vlan"] == busiest[1] and
		busiest[0] in (f["src"], f["dst"])]
	check(sorted(map(fkey, fh)) == sorted(map(fkey, want)),
	      "flows --host %s --vlan %d (indexes, both nodes): %d flows" % (busiest[0], busiest[1], len(want)))
	rec = ctl.json("flows", "--recent", "1000")
	check(len(rec) == len(ta["flows"]) + len(tb["flows"]) and
	      {f["node"] for f in rec} == {"a", "b"},
	      "flows --recent: both nodes' ended flows (%d)" % len(rec))

	# history: points of both nodes add up
	def hist(*args):
		pts = ctl.json("history", *args, "--res", "1m", "--since", "2h")
		return sum(p["bytes"] for p in pts), sum(p["pkts"] for p in pts)

	check(hist("engine") == (ta["totals"]["bytes"] + tb["totals"]["bytes"],
				 ta["totals"]["frames"] + tb["totals"]["frames"]),
	      "history engine (merged): both halves' bytes and frames")
	v = max(vlans, key=lambda x: vlans[x]["bytes"])
	check(hist("vlan", str(v)) == (vlans[v]["bytes"], vlans[v]["pkts"]),
	      "history vlan %d (merged): the summed bytes and packets" % v)
	ip = busiest[0]
	want_b = sum(h["bytes_sent"] + h["bytes_rcvd"] for k, h in hosts.items() if k[0] == ip)
	check(hist("host", ip)[0] == want_b, "history host %s (merged, every VLAN): %d bytes" % (ip, want_b))
	pa_ = ctl.json("history", "engine", "--res", "1m", "--since", "2h", node="a")
	check(sum(p["bytes"] for p in pa_) == ta["totals"]["bytes"], "history engine --node a: half a's bytes")

	# the host detail merges the host's hash too
	hd = ctl.json("host", ip, "--vlan", str(busiest[1]))
	check(len(hd) == 1 and all(int(hd[0][f]) == hosts[busiest][f] for f in HOST_F),
	      "host %s --vlan %d (merged): the summed counters" % busiest)

	# tables say which nodes they merge
	r = subprocess.run([a.weirctl, "--redis", ctl.url, "hosts"], capture_output=True, text=True,
			   timeout=60, env=dict(os.environ, NO_COLOR="1"))
	check(r.returncode == 0 and "merged view of 2 nodes" in r.stdout and "node a " in r.stdout and
	      "node b " in r.stdout, "hosts table: the publish lines of both nodes", r.stdout[:400])


def migrate(c, node, part):
	"""Moves node's slot of cluster c to another master: part 'half'
	migrates every other key and leaves the slot MIGRATING/IMPORTING
	(readers meet ASK), 'rest' the others and gives the slot to the new
	master (readers meet MOVED)."""
	pre = "{%s}" % node
	src = c.master_of(pre) if part == "half" else c.mig[0]
	dst = next(m for m in sorted(set(c.slots().values())) if m != src) if part == "half" else c.mig[1]
	slot = int(c.cli(src, "CLUSTER", "KEYSLOT", pre).strip())
	sid, did = (c.cli(x, "CLUSTER", "MYID").strip() for x in (src, dst))
	if part == "half":
		c.mig = (src, dst)
		c.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
		c.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", did)
	keys = weirtest.resp(src, [["CLUSTER", "GETKEYSINSLOT", slot, 1000000]])[0]
	if part == "half":
		keys = keys[::2]
	for i in range(0, len(keys), 500):
		r = weirtest.resp(src, [["MIGRATE", "127.0.0.1", dst, "", 0, 5000, "REPLACE", "KEYS"] +
					keys[i:i + 500]])[0]
		if isinstance(r, Exception):
			raise r
	if part == "rest":
		for m in [dst, src] + [x for x in sorted(set(c.slots().values())) if x not in (src, dst)]:
			c.cli(m, "CLUSTER", "SETSLOT", slot, "NODE", did)
	return len(keys)


def moving_checks(a, c, ta, tb):
	"""Node a's slot moves to another master while weirctl reads: half of
	its keys on each master (ASK), then all on the new one (MOVED)."""
	ctl = Ctl(a, c.url)
	hosts, vlans, pairs = expect([ta, tb])
	for part in ("half", "rest"):
		n = migrate(c, "a", part)
		what = "slot of node a %s" % ("half migrated (ASK)" if part == "half" else "moved (MOVED)")
		print("     %s: %d keys moved" % (what, n))
		compare("hosts, %s" % what, ctl.json("hosts"), hkey, hosts, HOST_F)
		compare("vlans, %s" % what, ctl.json("vlans"), lambda r: int(r["vlan"]), vlans,
			VLAN_F + ("hosts",))
		fl = ctl.json("flows")
		check(sorted(map(fkey, (f for f in fl if f["node"] == "a"))) == sorted(map(fkey, ta["flows"])),
		      "flows, %s: node a's flows all read" % what)
		st = ctl.json("status")
		check(st["totals"]["rx_pkts"] == ta["totals"]["frames"] + tb["totals"]["frames"],
		      "status, %s: both nodes' frames" % what)


def web_checks(a, redis, tmp, ta, tb):
	sys.path.insert(0, os.path.join(HERE, "..", "..", "weir-web", "tests"))
	import web_test  # noqa: E402

	hosts, vlans, pairs = expect([ta, tb])
	web = web_test.Web(a, redis, tmp, node=None)
	cl = web_test.Client(web)
	st, _, _ = cl.login()
	if not check(st == 200, "weir-web: login"):
		return
	s = cl.ok_json("/api/status")
	check(s["node"] == "a,b" and [n["node"] for n in s["nodes"]] == ["a", "b"],
	      "/api/status: merges nodes a,b and lists them", (s["node"], s.get("nodes")))
	check(s["health"]["rx_pkts"] == ta["totals"]["frames"] + tb["totals"]["frames"],
	      "/api/status: health rx_pkts is both halves' frames")
	check(s["counts"]["hosts"] == len(hosts) and
	      s["counts"]["flows"] == len(ta["flows"]) + len(tb["flows"]),
	      "/api/status: counts of distinct hosts and of both nodes' flows")
	j = cl.ok_json("/api/hosts", {"top": 10000})
	compare("/api/hosts (merged)", j["hosts"], hkey, hosts, HOST_F)
	check(j["total"] == len(hosts), "/api/hosts: total %d distinct hosts" % j["total"])
	compare("/api/vlans (merged)", cl.ok_json("/api/vlans")["vlans"], lambda r: int(r["vlan"]),
		vlans, VLAN_F + ("hosts",))
	compare("/api/subnets (merged)", cl.ok_json("/api/subnets")["subnets"], pkey, pairs, PAIR_F)
	ha, va, _ = expect([ta])
	compare("/api/hosts?node=a", cl.ok_json("/api/hosts", {"top": 10000, "node": "a"})["hosts"],
		hkey, ha, HOST_F)
	compare("/api/vlans?node=a", cl.ok_json("/api/vlans", {"node": "a"})["vlans"],
		lambda r: int(r["vlan"]), va, VLAN_F + ("hosts",))
	st_, body = cl.get("/api/hosts", {"node": "a{b}"})
	check(st_ == 400 and "node" in body.get("error", ""), "/api/hosts?node=a{b}: 400 naming node")
	fl, jf = web_test.all_flows(cl, {})
	check(len(fl) == len(ta["flows"]) + len(tb["flows"]) and
	      sorted(map(fkey, (f for f in fl if f["node"] == "a"))) == sorted(map(fkey, ta["flows"])),
	      "/api/flows (merged): both nodes' flows, each with its node")
	ts = cl.ok_json("/api/timeseries", {"entity": "engine", "res": "1m", "last": 7200})
	check(sum(p[1] for p in ts["points"]) == ta["totals"]["bytes"] + tb["totals"]["bytes"],
	      "/api/timeseries engine (merged): points add up to both halves' bytes")
	hd = cl.ok_json("/api/host", {"ip": max(hosts, key=lambda k: hosts[k]["bytes_sent"])[0],
				      "vlan": max(hosts, key=lambda k: hosts[k]["bytes_sent"])[1]})
	k = (hd["host"]["ip"], int(hd["host"]["vlan"]))
	check(all(int(hd["host"][f]) == hosts[k][f] for f in HOST_F), "/api/host (merged): summed counters")
	web.check_exit()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	ap.add_argument("--weir-web")
	ap.add_argument("--static")
	ap.add_argument("--cluster", action="store_true")
	a = ap.parse_args()
	weirtest.need_root()
	if not shutil.which("tshark"):
		print("SKIP: tshark is not installed")
		return weirtest.SKIP
	tmp = tempfile.mkdtemp(prefix="weir-multinode-")
	try:
		full = os.path.join(tmp, "office.pcap")
		subprocess.run(["/usr/bin/python3", a.gen, "--profile", "office", "--seed", "21",
				"--out", full], check=True, timeout=300, capture_output=True)
		pa, pb = os.path.join(tmp, "a.pcap"), os.path.join(tmp, "b.pcap")
		na, nb = split_pcap(full, pa, pb)
		print("halves: %d and %d frames" % (na, nb))
		ta, tb = truth_of(a, pa), truth_of(a, pb)
		shared = {hkey(h) for h in ta["hosts"]} & {hkey(h) for h in tb["hosts"]}
		check(len(shared) > 10, "the halves share hosts (%d): the merge has work" % len(shared))
		redis = weirtest.RedisCluster(masters=3, replicas=0) if a.cluster else weirtest.Redis()
		engine(a, redis.url, pa, "a")
		engine(a, redis.url, pb, "b")
		weirctl_checks(a, Ctl(a, redis.url), ta, tb)
		if a.weir_web:
			a.static = os.path.normpath(a.static)
			web_checks(a, redis, tmp, ta, tb)
		if a.cluster:
			moving_checks(a, redis, ta, tb)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	if failures:
		print("%d checks failed" % len(failures))
		return 1
	print("all multi-node checks passed")
	return 0


if __name__ == "__main__":
	sys.exit(main())
