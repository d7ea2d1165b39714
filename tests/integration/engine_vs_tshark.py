#!/usr/bin/python3
"""engine_vs_tshark.py -- the engine's published numbers against tshark's.

Cases (--case):
  office    a generated office capture (VLANs, QinQ, MPLS, PPPoE, fragments,
            IPv6 extension headers, ICMP, ARP) through `weir -r`, one worker:
            every host, flow, VLAN and subnet pair weirctl prints equals what
            truth.py computes from tshark, integer for integer, and the
            engine's health counters (frames, non-IP frames, unmatched
            fragments) equal tshark's totals.
  workers2  the same capture with two workers and the software distributor:
            the same numbers (nothing counted twice or lost across cores),
            and both workers really did get packets.
  tablefull the same capture into a 64-flow table (the capture has ~200):
            flows are evicted (counted), and still every host's and VLAN's
            bytes and packets equal tshark's: an evicted flow is folded
            into the aggregates before it leaves.
  shared    every Ethernet capture in ../shared/captures/traffic (real
            devices' traffic): hosts, VLANs and flows against tshark. Skips,
            saying so, when ../shared is absent.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import weirtest  # noqa: E402

NETS = ["10.0.0.0/8", "192.0.2.0/24", "2001:db8:a::/48"]
SUBNETS = ["users=10.0.10.0/24", "servers=10.0.20.0/24", "iot=10.0.30.0/24"]
# the real captures: the private ranges are local, so subnet pairs appear
SHARED_NETS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]


def truth_of(args, pcap, nets, subnets, captured=False):
	cmd = ["/usr/bin/python3", args.truth, pcap] + (["--captured-bytes"] if captured else [])
	if nets:
		cmd += ["--local-networks", ",".join(nets)]
	for s in subnets:
		cmd += ["--subnet", s]
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
	if r.returncode == weirtest.SKIP:
		return None
	if r.returncode != 0:
		print("truth.py failed on %s (exit %d):\n%s" % (pcap, r.returncode, r.stderr[-3000:]))
		sys.exit(1)
	return json.loads(r.stdout)


def engine_dump(args, redis, pcap, nets, subnets, workers, tmp, node):
	wargs = ["-r", pcap, "--redis", redis.url, "--node", node, "-w", str(workers),
		 "--flow-table-size", "65536", "--eal-mem", "256"]
	if nets:
		wargs += ["-m", ",".join(nets)]
	for s in subnets:
		wargs += ["--subnet", s]
	r, secs = weirtest.run_weir(args.weir, wargs)
	out = {}
	for what in ("hosts", "flows", "vlans", "subnets", "status"):
		out[what] = weirtest.weirctl_json(args.weirctl, redis.url, what, node=node)
		with open(os.path.join(tmp, "%s-%s.json" % (node, what)), "w") as f:
			json.dump(out[what], f)
	return out, secs


def compare(args, truth, tmp, node, parts=("hosts", "flows", "vlans", "subnets")):
	tpath = os.path.join(tmp, node + "-truth.json")
	with open(tpath, "w") as f:
		json.dump(truth, f)
	cmd = ["/usr/bin/python3", args.compare, "--truth", tpath]
	for p in parts:
		cmd += ["--" + p, os.path.join(tmp, "%s-%s.json" % (node, p))]
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
	return r.returncode, r.stdout + r.stderr


def health(status):
	h = status.get("health", status)
	return {k: int(v) for k, v in h.items() if str(v).lstrip("-").isdigit()}


def check_counters(truth, status):
	"""Frames in = frames accounted + counted non-IP + counted drops."""
	h = health(status)
	t = truth["totals"]
	bad = []
	want = {
		"rx_pkts": t["frames"],
		"non_ip": t.get("non_ip_frames", 0),
		"frag_unmatched": t.get("frag_unmatched", 0),
	}
	for k, v in want.items():
		if h.get(k) != v:
			bad.append("health %s = %s, tshark says %s" % (k, h.get(k), v))
	drops = h.get("parse_drops", 0)
	if h.get("parsed_pkts", -1) + h.get("non_ip", 0) + drops + h.get("xflow_datagrams", 0) != h.get("rx_pkts"):
		bad.append("parsed %s + non_ip %s + drops %s != rx %s" % (
			h.get("parsed_pkts"), h.get("non_ip"), drops, h.get("rx_pkts")))
	if h.get("flow_ring_drops", 0) or h.get("flow_table_full", 0):
		bad.append("flow view incomplete: ring drops %s, table full %s" % (
			h.get("flow_ring_drops"), h.get("flow_table_full")))
	return bad


def case_generated(args, workers):
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-it-")
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "7", "--out", pcap],
		       check=True, timeout=300, capture_output=True)
	truth = truth_of(args, pcap, NETS, SUBNETS)
	redis = weirtest.Redis()
	node = "w%d" % workers
	out, secs = engine_dump(args, redis, pcap, NETS, SUBNETS, workers, tmp, node)
	rc, text = compare(args, truth, tmp, node)
	print(text)
	bad = check_counters(truth, out["status"])
	if workers > 1:
		h = health(out["status"])
		per = [h.get("w%d_rx_pkts" % i, 0) for i in range(workers)]
		print("packets per worker:", per)
		if min(per) == 0:
			bad.append("a worker got no packets: the distributor did not spread them (%s)" % per)
		if sum(per) != truth["totals"]["frames"]:
			bad.append("workers' packets %d != frames %d" % (sum(per), truth["totals"]["frames"]))
	for b in bad:
		print("MISMATCH:", b)
	print("%s: %d frames, %d hosts, %d flows, %d VLANs, %d subnet pairs; engine run %.2f s" % (
		node, truth["totals"]["frames"], len(truth["hosts"]), len(truth["flows"]),
		len(truth["vlans"]), len(truth["subnets"]), secs))
	return 1 if rc or bad else 0


def case_tablefull(args):
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-it-full-")
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "7", "--out", pcap],
		       check=True, timeout=300, capture_output=True)
	truth = truth_of(args, pcap, NETS, SUBNETS)
	redis = weirtest.Redis()
	wargs = ["-r", pcap, "--redis", redis.url, "--node", "full", "--flow-table-size", "64",
		 "--eal-mem", "256", "-m", ",".join(NETS)]
	weirtest.run_weir(args.weir, wargs)
	hosts = weirtest.weirctl_json(args.weirctl, redis.url, "hosts", node="full")
	vlans = weirtest.weirctl_json(args.weirctl, redis.url, "vlans", node="full")
	h = health(weirtest.weirctl_json(args.weirctl, redis.url, "status", node="full"))
	keys = ("bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd")
	want = {(x["ip"], x["vlan"]): tuple(x[k] for k in keys) for x in truth["hosts"]}
	got = {(x["ip"], int(x["vlan"])): tuple(int(x[k]) for k in keys) for x in hosts}
	wv = {v["vlan"]: (v["bytes"], v["pkts"]) for v in truth["vlans"]}
	gv = {int(v["vlan"]): (int(v["bytes"]), int(v["pkts"])) for v in vlans}
	bad = []
	if h.get("flow_table_full", 0) == 0 or h.get("flows_ended_evicted", 0) == 0:
		bad.append("no eviction counted (flow_table_full %s, evicted %s)" % (
			h.get("flow_table_full"), h.get("flows_ended_evicted")))
	if want != got:
		bad.append("%d hosts differ from tshark's" % len(set(want.items()) ^ set(got.items())))
	if wv != gv:
		bad.append("VLANs differ: %s vs %s" % (gv, wv))
	print("64-flow table: %s evictions, %d hosts and %d VLANs compared" % (
		h.get("flow_table_full"), len(got), len(gv)))
	for b in bad:
		print("MISMATCH:", b)
	return 1 if bad else 0


def case_shared(args):
	root = weirtest.shared_captures()
	if not root:
		print("SKIP: ../shared/captures is absent (set WEIR_SHARED_CAPTURES to run this case)")
		return weirtest.SKIP
	weirtest.need_root()
	files = sorted(glob.glob(os.path.join(root, "traffic", "*", "*.pcap")) +
		       glob.glob(os.path.join(root, "traffic", "*", "*.pcapng")))
	files = [f for f in files if "/malformed/" not in f]
	total = len(files)
	if len(files) > args.max_files:	# an even spread, the same every run
		step = len(files) / args.max_files
		files = [files[int(i * step)] for i in range(args.max_files)]
	tmp = tempfile.mkdtemp(prefix="weir-it-shared-")
	redis = weirtest.Redis()

	def one(item):
		i, pcap = item
		truth = truth_of(args, pcap, SHARED_NETS, [])
		if truth is None:
			# not Ethernet (raw IP, Linux cooked, 802.11...: BAD_INPUTS
			# row 32): the engine must read it to the end, count every
			# frame as a refused one, and exit cleanly
			node = "n%d" % i
			r, _ = weirtest.run_weir(args.weir, ["-r", pcap, "--redis", redis.url, "--node", node,
							    "--flow-table-size", "4096", "--eal-mem", "256"], check=False)
			h = health(weirtest.weirctl_json(args.weirctl, redis.url, "status", node=node))
			if r.returncode != 0 or h.get("rx_pkts", 0) != h.get("parsed_pkts", 0) + \
			   h.get("non_ip", 0) + h.get("parse_drops", 0):
				return ("fail", pcap, "non-Ethernet capture: exit %d, counters %s" % (r.returncode, h))
			return ("skip", pcap, "")
		if not truth["totals"].get("ip_frames"):
			return ("skip", pcap, "")
		if truth["totals"].get("malformed_frames"):
			return ("skip", pcap, "")
		if truth["totals"].get("truncated_frames"):
			# snaplen-cut frames: tshark counts wire length, net_pcap
			# hands over the captured bytes; count those instead
			truth = truth_of(args, pcap, SHARED_NETS, [], captured=True)
		node = "s%d" % i
		engine_dump(args, redis, pcap, SHARED_NETS, [], 1, tmp, node)
		rc, text = compare(args, truth, tmp, node)
		return ("fail" if rc else "ok", pcap, text)

	with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
		results = list(pool.map(one, enumerate(files)))
	failed = [os.path.basename(p) for r, p, _ in results if r == "fail"]
	checked = sum(1 for r, _, _ in results if r != "skip")
	skipped = len(results) - checked
	for r, p, text in results:
		if r == "fail":
			print("== %s\n%s" % (p, text[-3000:]))
	print("(%d of %d Ethernet-or-not captures tried; --max-files raises it)" % (len(files), total))
	print("shared captures: %d compared, %d skipped (not Ethernet, no IP, or malformed), %d differ%s" % (
		checked, skipped, len(failed), (": " + ", ".join(failed)) if failed else ""))
	return 1 if failed else 0


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", required=True, choices=["office", "workers2", "tablefull", "shared"])
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	ap.add_argument("--compare", required=True)
	ap.add_argument("--max-files", type=int, default=int(os.environ.get("WEIR_SHARED_MAX_FILES", "90")))
	args = ap.parse_args()
	if args.case == "office":
		return case_generated(args, 1)
	if args.case == "workers2":
		return case_generated(args, 2)
	if args.case == "tablefull":
		return case_tablefull(args)
	return case_shared(args)


if __name__ == "__main__":
	sys.exit(main())
