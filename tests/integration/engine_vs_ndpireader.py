#!/usr/bin/python3
"""engine_vs_ndpireader.py -- the engine's application labels against nDPI's
own reader, flow by flow.

`weir -r FILE` runs nDPI inside its workers; `weirctl --json flows` gives
each flow's `app` (ndpi_protocol2name, e.g. "TLS.YouTube"), `category` and
`detection`. ndpiReader 4.2 (`-v 2`, one line per flow) on the same file is
the reference: every flow it reports must be in the engine's output with the
same label, packets and bytes, and the per-application byte totals the
engine publishes (apps zset) must equal ndpiReader's per-protocol totals.

Cases: `gen` (tests/gen/gen_apps.py: DNS, HTTP, TLS with SNI, QUIC, SSH,
SMB, NTP, DHCP, over IPv4, IPv6 and VLANs) and `shared` (a selection of
nDPI's own captures in ../shared/captures/traffic/ndpi; skipped when absent).
"""
import argparse
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "lib"))
sys.path.insert(0, os.path.join(here, "..", "unit", "dpi"))
import weirtest  # noqa: E402
import check_ndpi  # noqa: E402

# ndpiReader 4.2 decapsulates tunnels our parser accounts by their outer
# header (rule 4 of tests/integration/README.md), and reads some link types
# we do not: such files are not comparable flow by flow.
SHARED = [
	"ndpi42_443-chrome.pcap", "ndpi42_443-curl.pcap", "ndpi42_443-git.pcap",
	"ndpi42_bittorrent.pcap", "ndpi42_dns-tunnel-iodine.pcap", "ndpi42_dns_doh.pcap",
	"ndpi42_http_ipv6.pcap", "ndpi42_quic.pcap", "ndpi42_quic-27.pcap",
	"ndpi42_skype_no_unknown.pcap", "ndpi42_smbv1.pcap", "ndpi42_ssh.pcap",
	"ndpi42_whatsapp_login_call.pcap", "ndpi42_dns_fragmented.pcap",
	# frames longer than one 2048-byte mbuf (chained mbufs): nDPI must see
	# the whole packet (a certificate, a long ClientHello)
	"ndpi42_webex.pcap", "ndpi42_waze.pcap", "ndpi42_dns_dot.pcap", "ndpi42_weibo.pcap",
	"ndpi42_dnscrypt-v2-doh.pcap", "ndpi42_EAQ.pcap", "ndpi42_cassandra.pcap",
	"ndpi42_check_mk_new.pcap",
]
# Files compared by label only, and why.
LABELS_ONLY = {
	"ndpi42_dns_fragmented.pcap": "ndpiReader leaves later IP fragments out of its flows; weir "
		"counts them in their datagram's flow, as tshark does (tests/integration/README.md rule 8)",
}

# Metadata differences that are real and explained: (file or "*", field,
# ndpiReader's value or "*") -> why.
KNOWN_DIFFS = {
}


def known_diff(pcap, o, d):
	field, ref, _ = d
	for (f, k, v) in KNOWN_DIFFS:
		if f in ("*", os.path.basename(pcap)) and k == field and v in ("*", ref):
			return True
	return False


def reader(pcap):
	out = tempfile.mktemp(prefix="ndpireader-")
	r = subprocess.run(["ndpiReader", "-q", "-i", pcap, "-w", out, "-v", "2"],
			   capture_output=True, text=True, timeout=300)
	text = open(out, errors="replace").read() if os.path.exists(out) else ""
	if os.path.exists(out):
		os.unlink(out)
	if r.returncode != 0 and not text:
		print("ndpiReader failed on %s: %s" % (pcap, r.stderr[-2000:]))
		sys.exit(1)
	return text


def engine(args, redis, pcap, node):
	weirtest.run_weir(args.weir, ["-r", pcap, "--redis", redis.url, "--node", node,
				      "--flow-table-size", "65536", "--eal-mem", "256"])
	flows = weirtest.weirctl_json(args.weirctl, redis.url, "flows", node=node)
	names = redis.cli("--raw", "ZRANGE", "weir:{%s}:apps" % node, "0", "-1").split()
	apps = {}
	for a in names:
		h = redis.cli("--raw", "HGETALL", "weir:{%s}:app:%s" % (node, a)).split("\n")
		h = dict(zip(h[0::2], h[1::2]))
		apps[a] = tuple(int(h.get(k, 0)) for k in ("pkts", "bytes", "flows"))
	return flows, apps


def meta_diffs(o, r):
	"""The flow's metadata against ndpiReader's line: (field, ndpiReader's,
	ours) for each that differs."""
	ours = {
		"category": o.get("category", ""),
		"confidence": o.get("confidence", "Unknown"),
		"host": o.get("server_name", ""),
		"ja3c": o.get("ja3c", ""),
		"ja3s": o.get("ja3s", ""),
		"risks": set(x for x in o.get("risk_text", "").split("; ") if x),
	}
	# ndpiReader prints no [cat: ] for category 0, Unspecified
	ref = {"category": r["cat"] or "Unspecified", "confidence": r["conf"] or "Unknown", "host": r["host"],
	       "ja3c": r["ja3c"], "ja3s": r["ja3s"], "risks": r["risks"]}
	if o["app"].split(".")[0] == "SSH" and r["host"] in (o.get("ssh_client"), o.get("ssh_server")):
		# ndpiReader prints the first SSH banner nDPI saw as Hostname/SNI
		ours["host"] = r["host"]
	return [(k, ref[k], ours[k]) for k in ref if ref[k] != ours[k]]


def compare(pcap, flows, apps, text, labels_only=False):
	"""Flow by flow: label, packets, bytes and metadata; per application:
	packets, bytes, flows. Returns the problems (known differences
	excepted)."""
	rf, rtot, _ = check_ndpi.parse_reader(text)
	ours = {}
	for f in flows:
		proto = int(f["proto"])
		sp, dp = int(f["sport"]), int(f["dport"])
		if proto in (1, 58):
			# we key ICMP by type/code (the NetFlow rule, README rule 7);
			# ndpiReader keys it by address pair: sum ours the same way
			sp = dp = 0
		key = check_ndpi.flow_key(proto, (check_ndpi.norm_addr(f["src"]), sp),
					  (check_ndpi.norm_addr(f["dst"]), dp), int(f["vlan"]))
		if key in ours and proto in (1, 58):
			o = ours[key][0]
			o["pkts"] = int(o["pkts"]) + int(f["pkts"])
			o["bytes"] = int(o["bytes"]) + int(f["bytes"])
			continue
		ours.setdefault(key, []).append(dict(f))
	problems, matched, n = [], 0, 0
	for key, recs in rf.items():
		mine = ours.get(key)
		for r in recs:
			n += 1
			if r["tunnel"]:
				continue
			if not mine:
				problems.append("flow missing in the engine: " + r["line"][:160])
				continue
			o = mine[0]
			same = o["app"] == r["name"] and (labels_only or (
				int(o["pkts"]) == r["pkts"] and int(o["bytes"]) == r["bytes"]))
			diffs = [d for d in meta_diffs(o, r) if not known_diff(pcap, o, d)]
			if same and not diffs:
				matched += 1
			elif same:
				problems.append("flow %s l4=%d vlan=%d %s: %s" % (
					sorted(key[1]), key[0], key[2], r["name"], "; ".join(
						"%s ndpiReader %r engine %r" % d for d in diffs)))
			else:
				problems.append("flow %s l4=%d vlan=%d: ndpiReader %s %dp/%dB, engine %s %sp/%sB (%s)" % (
					sorted(key[1]), key[0], key[2], r["name"], r["pkts"], r["bytes"],
					o["app"], o["pkts"], o["bytes"], o.get("detection")))
	for p, tot in rtot.items():	# (packets, bytes, flows)
		if apps.get(p, (0, 0, 0)) != tot and not labels_only:
			problems.append("app %s: ndpiReader %d pkts/%d bytes/%d flows, engine %d/%d/%d" % (
				(p,) + tot + apps.get(p, (0, 0, 0))))
	print("%s: %d/%d flows equal to ndpiReader's" % (os.path.basename(pcap), matched, n))
	return problems


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["gen", "shared"], required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--only", help="comma-separated file names (shared case; for debugging)")
	args = ap.parse_args()
	weirtest.need_root()
	if not subprocess.run(["which", "ndpiReader"], capture_output=True).returncode == 0:
		print("SKIP: ndpiReader is not installed (libndpi-bin)")
		return weirtest.SKIP
	if args.case == "gen":
		tmp = tempfile.mkdtemp(prefix="weir-dpi-")
		files = [os.path.join(tmp, "apps.pcap")]
		subprocess.run(["/usr/bin/python3", args.gen, files[0]], check=True, timeout=120)
	else:
		root = weirtest.shared_captures()
		if not root:
			print("SKIP: ../shared/captures is absent")
			return weirtest.SKIP
		names = args.only.split(",") if args.only else SHARED
		files = [os.path.join(root, "traffic", "ndpi", f) for f in names]
		files = [f for f in files if os.path.exists(f)]
	redis = weirtest.Redis()
	bad = 0
	for i, pcap in enumerate(files):
		flows, apps = engine(args, redis, pcap, "d%d" % i)
		why = LABELS_ONLY.get(os.path.basename(pcap))
		if why:
			print("%s: labels only: %s" % (os.path.basename(pcap), why))
		problems = compare(pcap, flows, apps, reader(pcap), labels_only=bool(why))
		for p in problems[:20]:
			print("  MISMATCH", p)
		bad += len(problems)
	return 1 if bad else 0


if __name__ == "__main__":
	sys.exit(main())
