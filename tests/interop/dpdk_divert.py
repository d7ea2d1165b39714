#!/usr/bin/python3
"""dpdk_divert.py -- flow export arriving on a DPDK port, not a socket.

softflowd exports a generated capture as NetFlow v9 (and IPFIX); the
datagrams are written into a capture as UDP from 192.0.2.99 to the
collector ports 2055 (v9) and 4739 (IPFIX), and `weir -r` reads that capture
through net_pcap: UDP to a collector port must go to the decoders on the
receiving worker instead of the flow table. The exporter and every host
must equal tshark's decoding of the same datagrams, and the datagrams
themselves must not show up as a flow or a host.

A last run, with the same checks, sends jumbo NetFlow v9 datagrams (a
template and 300 records, 6.3 KB each, from 192.0.2.98: net_pcap hands
them over as mbuf chains, the data room being 2 KB), which must be decoded
whole, not cut at the first segment.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import weirtest  # noqa: E402
import weircollect  # noqa: E402
import nfstream  # noqa: E402
from softflowd_interop import softflowd  # noqa: E402


def softflowd_grams(pcap, version, tmp):
	"""softflowd's export of pcap as NetFlow v9 or IPFIX, as datagrams."""
	rx = weircollect.Receiver()
	softflowd(pcap, rx.port, version, tmp)
	rx.drain(idle=0.5)
	rx.close()
	return rx.grams


def jumbo_grams():
	"""4 NetFlow v9 datagrams of a template and 300 records (6.3 KB)."""
	rng = random.Random(7)
	return [nfstream.v9_datagram(i, [nfstream.v9_template(300, "a"),
					  nfstream.v9_data(300, "a", nfstream.random_records(
						  rng, 300, "10.9.%d" % i, "10.8.0"))])
		for i in range(4)]


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	a = ap.parse_args()
	weirtest.need_root()
	for tool in ("softflowd", "tshark"):
		if not shutil.which(tool):
			print("SKIP: %s is not installed" % tool)
			return weirtest.SKIP
	from export_truth import CflowTruth, to_pcap
	fails = []
	with tempfile.TemporaryDirectory(prefix="weir-divert-") as tmp:
		pcap = os.path.join(tmp, "office.pcap")
		subprocess.run(["/usr/bin/python3", a.gen, "--profile", "office", "--seed", "21",
				"--out", pcap], check=True, capture_output=True, timeout=120)
		redis = weirtest.Redis()
		# (name, version, collector port, exporter, node, datagrams)
		runs = [("v9", 9, 2055, "192.0.2.99", "dv9", lambda: softflowd_grams(pcap, 9, tmp)),
			("v10", 10, 4739, "192.0.2.99", "dv10", lambda: softflowd_grams(pcap, 10, tmp)),
			("jumbo", 9, 2055, "192.0.2.98", "jb", jumbo_grams)]
		for name, version, port, exporter, node, make in runs:
			grams = make()
			export = to_pcap(os.path.join(tmp, "export-%s.pcap" % name), grams, port,
					 [exporter] * len(grams))
			weirtest.run_weir(a.weir, ["-r", export, "--redis", redis.url, "--node", node,
						   "--eal-mem", "256", "--flow-table-size", "65536"])
			truth = CflowTruth(grams, version, tmp, port=port, name="divert-" + name)
			ex = weirtest.weirctl_json(a.weirctl, redis.url, "exporters", node=node)
			hosts = weirtest.weirctl_json(a.weirctl, redis.url, "hosts", node=node)
			label = "v%d on a DPDK port" % version
			if name == "jumbo":
				label = "jumbo v9 (%d-byte datagrams) on a DPDK port" % len(grams[0])
			if len(ex) != 1 or ex[0].get("address") != exporter:
				fails.append("%s: exporters %s" % (label, ex))
			else:
				e = ex[0]
				for k, w in (("datagrams", len(grams)), ("records", len(truth.records)), ("errors", 0)):
					if e.get(k) != w:
						fails.append("%s: exporter %s = %r, truth %r" % (label, k, e.get(k), w))
			if any(h["ip"] == exporter for h in hosts):
				fails.append("%s: the export datagrams were counted as traffic" % label)
			fails += weircollect.compare_hosts(truth.hosts(), hosts, label)
			print("%s: %d datagrams, %d records, %d hosts compared" % (
				label, len(grams), len(truth.records), len(hosts)))
	for f in fails:
		print("FAIL:", f)
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
