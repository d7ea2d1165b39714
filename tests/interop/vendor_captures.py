#!/usr/bin/python3
"""vendor_captures.py -- vendors' real export datagrams sent to weir's UDP
collector, group by group; weir's exporters, hosts and interfaces against
tshark 4.0's decoding of the same datagrams.

Every flow-export group of ../shared/captures (GROUND_TRUTH.json "groups",
files in the listed order: templates first) is replayed from memory to
`weir --collect udp://127.0.0.1:PORT`, one engine and one node per group:
raw .dat/.bin/.dump files are one datagram each, pcaps give the UDP payload
of each packet. tcpreplay onto lo would not reach a socket, so a small
sender does it, and it speaks from a distinct loopback address (127.1.G.K,
no set-up needed on Linux) for each original exporter K of group G: groups
with several exporters keep several exporters in weir, and each exporter's
templates stay its own. The engine is stopped with SIGTERM once the
datagram count has arrived and the record count has settled, and must exit 0.

Modes:
  (default)     every group. NetFlow v5/v9/IPFIX: the data records weir's
		exporters count == tshark's data records in the group's
		_groundtruth/<group>.tshark-records.jsonl; the error counters by
		reason == none for a valid group, exactly the expected ones for the
		groups tests/unit/netflow/check_groups.py lists (EXPECTED_ERRORS),
		and the records weir decodes where tshark does not (DIFFERENCES) or
		refuses where tshark decodes (REFUSED) are taken from the same
		lists, each with its reason there; per host, bytes and packets from
		the records, scaled by the sampling rate check_groups.tshark_truth
		derives from tshark's options records == weirctl hosts.
		sFlow: flow samples == records, no error, and per host bytes
		((frame_length - FCS) x rate) and packets (rate) == tshark's
		dissection of each sample's header, outermost IP header
		(export_truth.SflowTruth, run here on the same bytes).
  --interfaces  the sFlow groups with counter samples: for each (exporter,
		ifIndex), weirctl interfaces' in/out octets, speed, errors and
		discards == tshark's decoding of the last counter sample of that
		interface.

Exit 77 (skip) without root, the captures, scapy, tshark or redis-server.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True	# imports from tests/unit: leave no __pycache__ there
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "unit", "netflow"))
sys.path.insert(0, HERE)
import weirtest  # noqa: E402
import weircollect  # noqa: E402
import check_groups  # noqa: E402

# Interfaces with counters that weir decodes and tshark 4.0 does not, and why.
TSHARK_MISSES_COUNTERS = {
	# telegraf's example carries a counter record of format 1005 that tshark
	# misreads, losing alignment: it never reaches the generic counters of
	# ifIndex 3 (the sFlow decoder's unit test, sflow_captures.c, checks
	# weir's values against telegraf's own expected output instead).
	"tg_sflow_v5_example": ["#3"],
}


def skip(why):
	print("SKIP: " + why)
	sys.exit(weirtest.SKIP)


def datagrams_of(paths):
	"""[(original exporter address, UDP payload)] in order. A raw file is
	one datagram; the ground truth shows it from 192.0.2.1 (MANIFEST)."""
	from scapy.all import IP, IPv6, UDP, rdpcap
	out = []
	for path in paths:
		if path.endswith((".pcap", ".pcapng")):
			for p in rdpcap(path):
				if UDP not in p:
					continue		# BMP/BGP over TCP in pmacct's
				src = p[IP].src if IP in p else p[IPv6].src
				u = bytes(p[UDP])
				out.append((src, u[8:p[UDP].len]))	# no Ethernet padding
		else:
			with open(path, "rb") as f:
				out.append(("192.0.2.1", f.read()))
	return out


def nf_truth(root, name, g, version):
	"""(data records, {ip: [4 counters]}, expected errors) for a NetFlow /
	IPFIX group, from tshark's records and check_groups' lists."""
	recs, _ = check_groups.tshark_truth(os.path.join(root, g["records_file"]), version)
	if name in check_groups.REFUSED:
		recs = []
	recs = list(recs) + check_groups.differences(name)
	hosts = {}
	for tup, rate in recs:
		# bytes, packets (5, 6) include an RFC 5103 biflow's reverse
		# counts (10, 11), which went from the destination to the source
		weircollect.add_record(hosts, tup[0], tup[1], (tup[5] - tup[10]) * rate,
				       (tup[6] - tup[11]) * rate)
		weircollect.add_record(hosts, tup[1], tup[0], tup[10] * rate, tup[11] * rate)
	return len(recs), hosts, dict(check_groups.EXPECTED_ERRORS.get(name, {}))


def run_group(a, redis, root, where, gi, name, g, tmp):
	"""One engine for one group. Returns (name, result dict)."""
	from export_truth import CflowTruth, SflowTruth
	paths = [where[f] for f in g["files"]]
	grams = datagrams_of(paths)
	addr_of = {}
	for src, _ in grams:
		if src not in addr_of:
			addr_of[src] = "127.1.%d.%d" % (gi, len(addr_of) + 1)
	sent = [(addr_of[s], d) for s, d in grams]
	res = {"datagrams": len(sent), "exporters_in": len(addr_of), "fails": []}
	t0 = time.monotonic()
	col = weircollect.Collector(a.weir, a.weirctl, redis, "vc%d-%d" % (gi, os.getpid()), tmp)
	try:
		weircollect.send(col.port, sent)
		ex, waited, settled = col.wait_settled(datagrams=len(sent))
	finally:
		rc = col.stop()
	res["time"] = time.monotonic() - t0
	if not settled:
		res["fails"].append("counters not settled after %.1f s: %s" % (waited, ex))
	if rc != 0:
		res["fails"].append("weir exit %s after SIGTERM (log %s)" % (rc, col.log.name))
	ex = col.json("exporters")
	hosts = col.json("hosts")
	ifs = col.json("interfaces") if a.interfaces else []
	res["records"] = sum(e["records"] for e in ex)
	errs = collections.Counter()
	for e in ex:
		errs.update({k[4:]: v for k, v in e.items() if k.startswith("err_")})
	res["errors"] = dict(errs)
	if sum(e["errors"] for e in ex) != sum(errs.values()):
		res["fails"].append("errors %d != sum of err_* %s" % (sum(e["errors"] for e in ex), dict(errs)))
	if len(ex) != len(addr_of):
		res["fails"].append("%d exporters in weir, %d sent" % (len(ex), len(addr_of)))

	version = check_groups.group_version(g)
	if version is not None:
		res["proto"] = {5: "NFv5", 9: "NFv9", 10: "IPFIX"}[version]
		n, want_hosts, want_errs = nf_truth(root, name, g, version)
	else:
		res["proto"] = "sFlow"
		# One port takes every protocol: weir tells a datagram's protocol
		# by its first bytes (sFlow: 00 00 00 05; NetFlow: the version
		# 00 05 / 00 09 / 00 0a). tcpdump's capture mixes NetFlow v5
		# datagrams into its sFlow stream to 6343; tshark, told the port
		# is sFlow, skips them, so they are shown to it as cflow apart.
		sf = [(s, d) for s, d in sent if d[:4] == b"\0\0\0\x05"]
		nf = [(s, d) for s, d in sent if d[:4] != b"\0\0\0\x05"]
		st = SflowTruth([d for _, d in sf], tmp, name=name, sources=[s for s, _ in sf])
		lines = [json.loads(x) for x in open(os.path.join(root, g["records_file"]))]
		jl = sum(1 for d in lines if "Flow sample" in d.get("sample", "") or
			 "flow sample" in d.get("sample", ""))
		if jl != len(st.samples):
			res["fails"].append("tshark here decodes %d flow samples, the ground truth %d" % (
				len(st.samples), jl))
		n = len(st.samples)
		want_hosts = st.hosts()
		for v in sorted(set(int.from_bytes(d[:2], "big") for _, d in nf)):
			ct = CflowTruth([d for _, d in nf if int.from_bytes(d[:2], "big") == v], v, tmp,
					name=name)
			n += len(ct.records)
			for ip, c in ct.hosts().items():
				t = want_hosts.setdefault(ip, [0, 0, 0, 0])
				for k in range(4):
					t[k] += c[k]
			res["proto"] = "sFlow+NFv%d" % v
		want_errs = {}
		if a.interfaces:
			res["ifaces"] = len(st.counters)
			res["fails"] += compare_interfaces(st.counters, ifs)
			extra = sorted("%s#%d" % (i["exporter"], i["ifindex"]) for i in ifs
				       if "in_octets" in i and not any(
					       (e, ix) == (i["exporter"], i["ifindex"]) for e, _, ix in st.counters))
			res["weir_only"] = extra
			allowed = ["127.1.%d.1%s" % (gi, i) for i in TSHARK_MISSES_COUNTERS.get(name, [])]
			if extra != allowed:
				res["fails"].append("interfaces with counters only in weir: %s, expected %s" % (
					extra, allowed))
	res["want_records"] = n
	if res["records"] != n:
		res["fails"].append("records: weir %d, tshark %d" % (res["records"], n))
	if dict(errs) != want_errs:
		res["fails"].append("errors: weir %s, expected %s" % (dict(errs), want_errs))
	if not a.interfaces:
		res["fails"] += weircollect.compare_hosts(want_hosts, hosts, "hosts")
	res["hosts"] = len(weircollect.host_totals(hosts))
	return name, res


def compare_interfaces(want, ifs):
	"""want: {(exporter, agent, ifindex): counters}; ifs: weirctl interfaces."""
	fails = []
	got = {(i["exporter"], i["ifindex"]): i for i in ifs}
	seen = collections.Counter((e, ix) for e, _, ix in want)
	for (exp, agent, ifindex), c in sorted(want.items()):
		if seen[(exp, ifindex)] > 1:
			fails.append("%s#%d: several agents behind one exporter share the ifIndex" % (exp, ifindex))
			continue
		i = got.get((exp, ifindex))
		if i is None:
			fails.append("interface %s#%d (agent %s) missing" % (exp, ifindex, agent))
			continue
		for k, v in c.items():
			if i.get(k) != v:
				fails.append("interface %s#%d (agent %s): %s weir %s, tshark %s" % (
					exp, ifindex, agent, k, i.get(k), v))
	return fails


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--interfaces", action="store_true")
	ap.add_argument("--group", action="append", help="only these groups")
	ap.add_argument("--jobs", type=int, default=3, help="engines at once")
	a = ap.parse_args()
	weirtest.need_root()
	root = weirtest.shared_captures()
	if not root or not os.path.exists(os.path.join(root, "GROUND_TRUTH.json")):
		skip("shared captures not found (../shared/captures; set WEIR_SHARED_CAPTURES)")
	if not shutil.which("tshark"):
		skip("tshark is not installed")
	try:
		import scapy.all  # noqa: F401
	except ImportError:
		skip("python3-scapy is not importable by /usr/bin/python3")
	gt = json.load(open(os.path.join(root, "GROUND_TRUTH.json")))
	fe = os.path.join(root, "flowexport")
	where = {}
	for sub in ("netflow5", "netflow9", "ipfix", "sflow"):
		for f in os.listdir(os.path.join(fe, sub)):
			where[f] = os.path.join(fe, sub, f)
	groups = sorted(gt["groups"].items())
	if a.group:
		groups = [(n, g) for n, g in groups if n in a.group]
	if a.interfaces:
		groups = [(n, g) for n, g in groups if check_groups.group_version(g) is None and any(
			"ounters sample" in json.loads(x).get("sample", "")
			for x in open(os.path.join(root, g["records_file"])))]
	if not groups:
		print("FAIL: no group selected")
		return 1

	t0 = time.monotonic()
	results = {}
	with tempfile.TemporaryDirectory(prefix="weir-interop-") as tmp:
		redis = weirtest.Redis()
		with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
			futs = [pool.submit(run_group, a, redis, root, where, gi + 1, n, g, tmp)
				for gi, (n, g) in enumerate(groups)]
			for f in futs:
				try:
					name, res = f.result()
				except Exception as e:	# a broken group fails, the rest still run
					name, res = "?", {"fails": ["%s: %r" % (type(e).__name__, e)]}
				results[name] = res
		redis.stop()
	fails = 0
	for name, r in sorted(results.items()):
		st = "FAIL" if r["fails"] else "ok"
		fails += bool(r["fails"])
		extra = (" interfaces=%d weir_only=%s" % (r.get("ifaces", 0), r.get("weir_only"))) \
			if a.interfaces else (" hosts=%d" % r.get("hosts", 0))
		print("%-52s %-4s %-5s exporters=%s datagrams=%s records=%s/%s errors=%s%s %.1fs" % (
			name, st, r.get("proto", "?"), r.get("exporters_in"), r.get("datagrams"),
			r.get("records"), r.get("want_records"), r.get("errors"), extra, r.get("time", 0)))
		for f in r["fails"][:12]:
			print("    FAIL " + f)
		if len(r["fails"]) > 12:
			print("    FAIL ... %d more" % (len(r["fails"]) - 12))
	if a.interfaces and not sum(r.get("ifaces", 0) for r in results.values()):
		print("FAIL: no interface counters compared at all")
		fails += 1
	print("%d groups, %d failed, %.1f s" % (len(results), fails, time.monotonic() - t0))
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
