#!/usr/bin/python3
"""softflowd_interop.py -- softflowd exports a capture to weir's UDP
collector; weir's hosts, flows and exporter counters must equal tshark's
decoding of the same export stream.

1. gen_traffic.py writes the office capture (fixed seed): VLANs, QinQ,
   MPLS, PPPoE, fragments, IPv6 extension headers, ICMP, ARP.
2. `weir --collect udp://127.0.0.1:PORT` runs under a fresh node id;
   `softflowd -r FILE -n 127.0.0.1:PORT -v V` exports the capture straight
   to it; once the exporter's record count stops moving the engine is
   stopped with SIGTERM (it must exit 0) and weirctl's JSON is read.
3. softflowd also runs (first, so that the wait in 2 knows how many
   datagrams to expect) on the same file towards a UDP receiver here;
   tshark decodes those datagrams (the truth). softflowd is
   deterministic on a file, and the test proves both runs sent the same
   stream: same datagram count and the same byte and packet totals in
   weir's exporter row as in tshark's records.
4. Checked: exactly one exporter, 127.0.0.1, with datagrams, records, bytes
   and packets equal to tshark's, templates == the template ids tshark saw
   defined (v9/IPFIX; 0 for v5), errors 0, seq_lost and seq_resets equal to
   the RFC reading of the stream's sequence numbers (0 for v5 and v9;
   softflowd's IPFIX numbering is off by one message, see below, so not 0
   there); per host, bytes and
   packets sent and received == the sums over tshark's records (src sends,
   dst receives); per conversation (protocol, both endpoints), bytes and
   packets == tshark's sums.
5. A second reference: the same datagrams sent to nfcapd, read back with
   nfdump -o json: the same record count, and weir's hosts == its sums.
6. The original capture as the truth (unsampled export must add up to the
   traffic itself): the capture is cut down with tshark to the frames
   softflowd's parser takes as they are (untagged Ethernet, IPv4 -- and
   IPv6 for v9/IPFIX -- with no fragment, tunnel, MPLS or PPPoE), that
   file is exported by softflowd into a second engine, and every host's
   bytes and packets must equal tshark's sums over those frames of the
   wire length less the 14-byte Ethernet header (frame.len - 14:
   softflowd's byte rule).

Usage: softflowd_interop.py --version 5|9|10 --weir W --weirctl C --gen G
Exit 77 (skip) without root, softflowd, tshark, scapy or redis-server.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True	# imports from tests/unit: leave no __pycache__ there
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import weirtest  # noqa: E402
import weircollect  # noqa: E402


def skip(why):
	print("SKIP: " + why)
	sys.exit(weirtest.SKIP)


def softflowd(pcap, port, version, tmp):
	cmd = ["softflowd", "-r", pcap, "-n", "127.0.0.1:%d" % port, "-v", str(version),
	       "-d", "-p", os.path.join(tmp, "softflowd.pid")]
	if version != 5:
		cmd.append("-6")		# IPv6 flows too (v5 cannot carry them)
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
	if r.returncode != 0:
		print("FAIL: softflowd exit %d: %s" % (r.returncode, r.stderr[-2000:]))
		sys.exit(1)


PLAIN = ("not vlan and not mpls and not pppoes and not gre and not vxlan and not ipv6.fragment"
	 " and not (ip.flags.mf == 1 or ip.frag_offset > 0) and not icmp.ext and not ip.proto == 41"
	 " and not ip.proto == 4 and not ipv6.nxt == 41 and not ipv6.nxt == 4")


def capture_truth(pcap, v6):
	"""{ip: [bytes sent, rcvd, pkts sent, rcvd]}: softflowd's byte rule
	(wire length less the 14-byte Ethernet header), by tshark."""
	out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t",
			      "-E", "occurrence=f", "-e", "ip.src", "-e", "ip.dst", "-e", "frame.len",
			      "-e", "ipv6.src", "-e", "ipv6.dst"],
			     capture_output=True, text=True, timeout=120, check=True).stdout
	truth = {}
	for line in out.splitlines():
		f = line.split("\t")
		if f[0]:
			weircollect.add_record(truth, f[0], f[1], int(f[2]) - 14, 1)
		elif f[3] and v6:
			weircollect.add_record(truth, f[3], f[4], int(f[2]) - 14, 1)
	return truth


def versus_capture(a, pcap, redis, tmp, label):
	v6 = a.version != 5
	plain = os.path.join(tmp, "plain.pcap")
	filt = PLAIN + ("" if v6 else " and ip")
	subprocess.run(["tshark", "-r", pcap, "-F", "pcap", "-w", plain, "-Y", "(ip or ipv6) and " + filt],
		       check=True, capture_output=True, timeout=120)
	truth = capture_truth(plain, v6)
	col = weircollect.Collector(a.weir, a.weirctl, redis, "sfc%d-%d" % (a.version, os.getpid()), tmp)
	softflowd(plain, col.port, a.version, tmp)
	_, waited, settled = col.wait_settled()
	col.stop()
	hosts = col.json("hosts")
	fails = []
	if not settled:
		fails.append("%s on the plain capture: counters still moving after %.1f s" % (label, waited))
	fails += weircollect.compare_hosts(truth, hosts, label + " vs the original capture")
	print("%s vs the original capture: %d hosts, every one equal to tshark's sums%s" % (
		label, len(truth), "" if not fails else " -- NOT: see FAIL lines"))
	return fails


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--version", type=int, choices=(5, 9, 10), required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--seed", type=int, default=7)
	a = ap.parse_args()
	weirtest.need_root()
	for tool in ("softflowd", "tshark"):
		if not shutil.which(tool):
			skip("%s is not installed (scripts/setup.sh installs it)" % tool)
	try:
		import scapy.all  # noqa: F401
	except ImportError:
		skip("python3-scapy is not importable by /usr/bin/python3")
	from export_truth import CflowTruth, weir_flows, compare_flows, second_truth

	v = a.version
	label = "softflowd v%d" % v
	fails = []
	with tempfile.TemporaryDirectory(prefix="weir-interop-") as tmp:
		pcap = os.path.join(tmp, "office.pcap")
		subprocess.run(["/usr/bin/python3", a.gen, "--profile", "office", "--seed", str(a.seed),
				"--out", pcap], check=True, capture_output=True, timeout=120)
		# the truth run first: weir's wait then knows how many datagrams come
		rx = weircollect.Receiver()
		softflowd(pcap, rx.port, v, tmp)
		rx.drain(idle=0.5)
		rx.close()

		redis = weirtest.Redis()
		t0 = time.monotonic()
		col = weircollect.Collector(a.weir, a.weirctl, redis, "sfd%d-%d" % (v, os.getpid()), tmp)
		softflowd(pcap, col.port, v, tmp)
		ex, waited, settled = col.wait_settled(datagrams=len(rx.grams))
		rc = col.stop()
		if not settled:
			fails.append("%s: exporter counters still moving after %.1f s" % (label, waited))
		if rc != 0:
			fails.append("%s: weir exit %s after SIGTERM (log %s)" % (label, rc, col.log.name))
		ex = col.json("exporters")
		hosts = col.json("hosts")
		flows = col.json("flows")
		t_engine = time.monotonic() - t0
		truth = CflowTruth(rx.grams, v, tmp)

		recs = truth.records
		want_bytes = sum(int(r["cflow.octets"]) for r in recs)
		want_pkts = sum(int(r["cflow.packets"]) for r in recs)
		want_tmpl = len(truth.templates) if v != 5 else 0
		if not recs:
			fails.append("%s: tshark decoded no record from %d datagrams" % (label, len(rx.grams)))
		if len(ex) != 1:
			fails.append("%s: %d exporters, expected 1: %s" % (label, len(ex), ex))
		for e in ex[:1]:
			want = {"address": "127.0.0.1", "version": v, "datagrams": len(rx.grams),
				"records": len(recs), "bytes": want_bytes, "pkts": want_pkts,
				"templates": want_tmpl, "seq_lost": truth.seq_lost,
				"seq_resets": truth.seq_resets, "errors": 0, "sampling": 1}
			for k, w in want.items():
				if e.get(k) != w:
					fails.append("%s: exporter %s = %r, truth %r" % (label, k, e.get(k), w))
			errs = {k: n for k, n in e.items() if k.startswith("err_")}
			if errs:
				fails.append("%s: errors by reason %s" % (label, errs))
		fails += weircollect.compare_hosts(truth.hosts(), hosts, label)
		fails += compare_flows(truth.flows(), weir_flows(flows), label)
		fails += second_truth(rx.grams, tmp, len(recs), hosts, label)
		if truth.seq_lost or truth.seq_resets:
			# softflowd 1.1.0's IPFIX sequence number counts the records
			# of the message that carries it (the first message says 24
			# with 24 records in it; RFC 7011 s3.1 wants 0, the records
			# sent before). An RFC reader therefore sees gaps and steps
			# back; weir must count exactly those.
			print("%s: the exporter's sequence numbers imply %d lost, %d restarts "
			      "(RFC reading of the headers; weir must agree)" % (
				      label, truth.seq_lost, truth.seq_resets))
		print("%s: %d datagrams, %d records (%d bytes, %d pkts), %d templates; weir: %d hosts, "
		      "%d flows; engine up in %.2f s, settled in %.2f s, whole engine run %.2f s" % (
			      label, len(rx.grams), len(recs), want_bytes, want_pkts, want_tmpl,
			      len(hosts), len(flows), col.start_s, waited, t_engine))
		fails += versus_capture(a, pcap, redis, tmp, label)
		redis.stop()
	for f in fails:
		print("FAIL " + f)
	if not fails:
		print("%s: exporter, every host and every conversation equal tshark's decoding "
		      "(hosts: nfdump's too)" % label)
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
