#!/usr/bin/python3
"""pmacct_interop.py -- pmacctd's nfprobe (NetFlow v5, v9, IPFIX) and
sfprobe (sFlow v5) export a capture to weir's UDP collector; weir's numbers
must equal tshark's decoding of the same datagrams.

pmacctd reads the office capture (gen_traffic.py, fixed seed) with
pcap_savefile and exports towards a UDP tee here, which keeps each datagram
and forwards it unchanged, in order, at once, to `weir --collect
udp://127.0.0.1:PORT` (fresh node). A tee rather than a second pmacctd run:
pmacctd 1.7 can exit before its core has handed the last packets of a
savefile to the plugin (tests/unit/sflow/sflow_pmacct.py saw it), so two
runs need not send the same stream; through the tee weir and tshark see the
very same bytes.

Checked, after the engine's SIGTERM (exit 0):
  nfprobe: one exporter 127.0.0.1 whose datagrams, records, bytes, packets
	   equal tshark's, templates == template ids tshark saw (0 for v5),
	   seq_lost/seq_resets == the RFC reading of the headers, errors 0;
	   per host and per conversation, bytes and packets == tshark's sums;
	   and nfcapd + nfdump on the same datagrams: the same record count,
	   hosts == its sums.
  sfprobe: one exporter with records == flow samples tshark decoded,
	   sampling 1, errors 0, seq_lost 0; per host, packets == samples and
	   bytes == frame_length less the FCS when the agent says it stripped
	   it (drivers/sflow/sflow.c wire_length()), addresses from tshark's
	   dissection of each sampled header. And, since sampling is 1, per
	   host packets and bytes == tshark's frame count and frame.len on the
	   original capture, over the frames pmacctd sampled: each sample's
	   header is the start of one frame, in order, so the frames are found
	   by their bytes. pmacctd 1.7.7 samples no ARP, 802.1ad (QinQ) or
	   MPLS frame, and may lose the end of the file (the race above): a
	   trailer of sentinel packets is appended so that what it loses is
	   not the office traffic. The skipped frames are listed, not judged.

Usage: pmacct_interop.py --probe nfprobe5|nfprobe9|nfprobe10|sfprobe
			 --weir W --weirctl C --gen G
Exit 77 (skip) without root, pmacctd, tshark, scapy or redis-server.
"""
import argparse
import os
import shutil
import signal
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

SENTINELS = ("10.255.255.1", "10.255.255.2")
TRAILER = 64


def skip(why):
	print("SKIP: " + why)
	sys.exit(weirtest.SKIP)


def add_trailer(pcap):
	"""Append TRAILER small UDP packets between the two sentinel hosts,
	one second after the capture's last packet."""
	from scapy.all import Ether, IP, UDP, Raw, rdpcap, wrpcap
	pkts = rdpcap(pcap)
	t = float(pkts[-1].time) + 1
	for j in range(TRAILER):
		p = (Ether() / IP(src=SENTINELS[j % 2], dst=SENTINELS[1 - j % 2]) /
		     UDP(sport=9, dport=9) / Raw(b"s" * 10))
		p.time = t + j * 0.001
		pkts.append(p)
	wrpcap(pcap, pkts)


def sampled_frames(pcap, samples):
	"""Which frames of the capture pmacctd sampled: each sample's header is
	the first bytes of a frame, in capture order. Returns (set of frame
	numbers from 1, samples matched to no frame, {kind: frames skipped})."""
	from scapy.all import rdpcap
	frames = rdpcap(pcap)
	got, skipped, j = set(), {}, 0
	for i, p in enumerate(frames):
		raw = bytes(p)
		h = samples[j]["header"] if j < len(samples) else None
		if h and raw[:len(h)] == h:
			got.add(i + 1)
			j += 1
		else:
			kind = "/".join(l.__name__ for l in p.layers()[1:3])
			if i >= len(frames) - TRAILER:
				kind = "the trailer"
			elif p.layers()[1].__name__ == "Raw":	# scapy leaves MPLS raw
				kind = "ethertype 0x%04x" % p.type
			skipped[kind] = skipped.get(kind, 0) + 1
	return got, len(samples) - j, skipped


def capture_hosts(pcap, numbers):
	"""tshark on the original capture, over the frames in `numbers`:
	{ip: [frame bytes sent, rcvd, frames sent, rcvd]}, by the outermost IP
	header of each frame."""
	out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t",
			      "-E", "occurrence=f", "-e", "frame.number", "-e", "ip.src", "-e", "ip.dst",
			      "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "frame.len"],
			     capture_output=True, text=True, timeout=120, check=True).stdout
	truth = {}
	for line in out.splitlines():
		f = line.split("\t")
		src, dst = f[1] or f[3], f[2] or f[4]
		if src and int(f[0]) in numbers:
			weircollect.add_record(truth, src, dst, int(f[5]), 1)
	return truth


def run_pmacctd(conf_dir, pcap, probe, rx, log):
	conf = os.path.join(conf_dir, "pmacctd-%s.conf" % probe)
	with open(conf, "w") as f:
		f.write("daemonize: false\npcap_savefile: %s\npcap_savefile_wait: false\n" % pcap)
		if probe == "sfprobe":
			f.write("plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:%d\n"
				"sfprobe_agentip: 127.0.0.1\nsampling_rate: 1\n" % rx.port)
		else:
			f.write("plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:%d\nnfprobe_version: %s\n" % (
				rx.port, probe[len("nfprobe"):]))
	proc = subprocess.Popen(["pmacctd", "-f", conf], stdout=log, stderr=log, start_new_session=True)
	deadline = time.monotonic() + 60
	while time.monotonic() < deadline and proc.poll() is None:
		rx.pump(0.2)
	if proc.poll() is None:
		os.killpg(proc.pid, signal.SIGKILL)
		proc.wait()
		return "pmacctd still running after 60 s: killed"
	rx.drain(idle=1.0, limit=10)
	return None


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--probe", choices=("nfprobe5", "nfprobe9", "nfprobe10", "sfprobe"), required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--seed", type=int, default=7)
	a = ap.parse_args()
	weirtest.need_root()
	os.environ["PATH"] += ":/usr/sbin"
	for tool in ("pmacctd", "tshark"):
		if not shutil.which(tool):
			skip("%s is not installed (scripts/setup.sh installs it)" % tool)
	try:
		import scapy.all  # noqa: F401
	except ImportError:
		skip("python3-scapy is not importable by /usr/bin/python3")
	from export_truth import (CflowTruth, SflowTruth, weir_flows, compare_flows, second_truth,
				  sflow_wire_length)

	label = "pmacctd " + a.probe
	sflow = a.probe == "sfprobe"
	fails = []
	with tempfile.TemporaryDirectory(prefix="weir-interop-") as tmp:
		pcap = os.path.join(tmp, "office.pcap")
		subprocess.run(["/usr/bin/python3", a.gen, "--profile", "office", "--seed", str(a.seed),
				"--out", pcap], check=True, capture_output=True, timeout=120)
		if sflow:
			add_trailer(pcap)
		redis = weirtest.Redis()
		t0 = time.monotonic()
		col = weircollect.Collector(a.weir, a.weirctl, redis, "pm-%s-%d" % (a.probe, os.getpid()), tmp)
		rx = weircollect.Receiver(forward_port=col.port)
		with open(os.path.join(tmp, "pmacctd.log"), "w") as log:
			err = run_pmacctd(tmp, pcap, a.probe, rx, log)
		rx.close()
		if err:
			fails.append("%s: %s" % (label, err))
		grams = rx.grams
		if not grams:
			col.kill()
			print("FAIL %s: pmacctd sent nothing (log: %s)" % (label, open(log.name).read()[-2000:]))
			return 1
		ex, waited, settled = col.wait_settled(datagrams=len(grams))
		rc = col.stop()
		if not settled:
			fails.append("%s: exporter counters not settled after %.1f s: %s" % (label, waited, ex))
		if rc != 0:
			fails.append("%s: weir exit %s after SIGTERM" % (label, rc))
		ex = col.json("exporters")
		hosts = col.json("hosts")
		flows = col.json("flows")
		t_engine = time.monotonic() - t0

		if sflow:
			truth = SflowTruth(grams, tmp)
			n_recs = len(truth.samples)
			want = {"address": "127.0.0.1", "datagrams": len(grams), "records": n_recs,
				"pkts": sum(s["rate"] for s in truth.samples),
				"bytes": sum(s["rate"] * sflow_wire_length(s["frame_length"], s["stripped"],
									   s["header_protocol"])
					     for s in truth.samples),
				"seq_lost": 0, "errors": 0, "sampling": 1}
		else:
			v = int(a.probe[len("nfprobe"):])
			truth = CflowTruth(grams, v, tmp)
			n_recs = len(truth.records)
			want = {"address": "127.0.0.1", "version": v, "datagrams": len(grams),
				"records": n_recs,
				"bytes": sum(int(r["cflow.octets"]) for r in truth.records),
				"pkts": sum(int(r["cflow.packets"]) for r in truth.records),
				"templates": len(truth.templates) if v != 5 else 0,
				"seq_lost": truth.seq_lost, "seq_resets": truth.seq_resets,
				"errors": 0, "sampling": 1}
		if not n_recs:
			fails.append("%s: tshark decoded no record from %d datagrams" % (label, len(grams)))
		if len(ex) != 1:
			fails.append("%s: %d exporters, expected 1: %s" % (label, len(ex), ex))
		for e in ex[:1]:
			for k, w in want.items():
				if e.get(k) != w:
					fails.append("%s: exporter %s = %r, truth %r" % (label, k, e.get(k), w))
			errs = {k: n for k, n in e.items() if k.startswith("err_")}
			if errs:
				fails.append("%s: errors by reason %s" % (label, errs))
		fails += weircollect.compare_hosts(truth.hosts(), hosts, label + " vs its export stream")
		if sflow:
			# Sampling 1: the original capture is the truth too, over the
			# frames pmacctd sampled (it skips some kinds, and may lose
			# the trailer: reported, not ours to judge).
			numbers, unmatched, skipped = sampled_frames(pcap, truth.samples)
			if unmatched:
				fails.append("%s: %d samples match no frame of the capture" % (label, unmatched))
			cap = capture_hosts(pcap, numbers)
			fails += weircollect.compare_hosts(cap, hosts, label + " vs the original capture")
			print("%s: %d frames sampled; frames pmacctd did not sample: %s" % (
				label, len(numbers), ", ".join("%d %s" % (n, k) for k, n in sorted(skipped.items()))))
		else:
			fails += compare_flows(truth.flows(), weir_flows(flows), label)
			fails += second_truth(grams, tmp, n_recs, hosts, label)
		print("%s: %d datagrams, %d records; weir: %d hosts, %d flows; engine up in %.2f s, "
		      "settled %.2f s after pmacctd, whole engine run %.2f s" % (
			      label, len(grams), n_recs, len(hosts), len(flows), col.start_s, waited, t_engine))
		redis.stop()
	for f in fails[:40]:
		print("FAIL " + f)
	if len(fails) > 40:
		print("FAIL ... %d more" % (len(fails) - 40))
	if not fails:
		print("%s: exporter and every host%s equal tshark's decoding" % (
			label, " (also on the original capture)" if sflow else " and conversation"))
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
