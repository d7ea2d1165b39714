#!/usr/bin/python3
"""collect_steer.py -- one exporter stays on one worker on a multi-queue port.

A DPDK port with several queues spreads frames by a hash that includes
UDP ports (RSS on a NIC, PACKET_FANOUT_HASH on net_af_packet), so an
exporter sending from several source ports reaches several workers. weir
must steer every datagram for a collector port to the worker that owns
its exporter, or the worker without the template holds the data it gets
and the exporter's counters are split.

The test creates a veth pair in a namespace of its own (engine_live.py),
runs `weir -i END -w 2 --queues 2 --share-templates no` on one end (two af_packet
queue pairs) and writes into the other end one NetFlow v9 exporter's
datagrams (192.0.2.99 to port 2055, built here with tests/lib/nfstream.py):
the template from source port 40000, then data from 40001..40008. Truth is
the records written into them:

  - both workers received frames (else the case proves nothing);
  - the exporter shows every datagram and record, 1 template, no error,
    nothing held;
  - datagrams were handed to the owner: through xflow_divert
    (xflow_steered, as on a NIC's RSS queues) or, since every worker on a
    multi-queue af_packet port distributes (engine/ports.c), through the
    distributor (w{N}_dist_out); xflow_steer_drops and dist_drops 0;
  - every host equals the sums of the records.

Runs as root; skips without scapy.
"""
import argparse
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import weirtest  # noqa: E402
import weircollect  # noqa: E402
import nfstream  # noqa: E402
import engine_live as live  # noqa: E402

EXPORTER, COLLECTOR = "192.0.2.99", "192.0.2.1"


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	a = ap.parse_args()
	weirtest.need_root()
	try:
		from scapy.all import Ether, IP, UDP, Raw, wrpcap
	except ImportError:
		print("SKIP: scapy is not installed")
		return weirtest.SKIP
	rng = random.Random(7)
	grams = [(40000, nfstream.v9_datagram(0, [nfstream.v9_template(256, "a")]))]
	truth, n_recs = {}, 0
	for i in range(48):
		recs = nfstream.random_records(rng, 10, "10.44.1", "10.44.2")
		grams.append((40001 + i % 8, nfstream.v9_datagram(i + 1, [nfstream.v9_data(256, "a", recs)])))
		for src, dst, _sp, _dp, _pr, pkts, nbytes in recs:
			weircollect.add_record(truth, src, dst, nbytes, pkts)
		n_recs += len(recs)
	fails = []
	with tempfile.TemporaryDirectory(prefix="weir-steer-") as tmp:
		pcap = os.path.join(tmp, "export.pcap")
		wrpcap(pcap, [Ether(src="02:00:00:00:00:99", dst="02:00:00:00:00:01") /
			      IP(src=EXPORTER, dst=COLLECTOR) / UDP(sport=sp, dport=2055) / Raw(g) for sp, g in grams])
		redis = weirtest.Redis()
		ns, tx, rx = live.make_veth(str(os.getpid() % 100000))
		node = "steer"
		try:
			p, log = live.start_engine(a, redis, node, ["-i", rx, "-w", "2", "--queues", "2", "--share-templates", "no",
								    "--flow-table-size", "65536"], tmp, ns)
			if not p:
				return 1
			sent = live.send_pcap(ns, pcap, tx)
			deadline = time.time() + 20
			while time.time() < deadline:
				ex = redis.hgetall("weir:{%s}:exporter:%s" % (node, EXPORTER))
				if int(ex.get("datagrams", 0) or 0) >= len(grams):
					break
				time.sleep(0.2)
			time.sleep(0.6)
			if not live.stop_engine(p, log, node):
				return 1
		finally:
			live.sh("ip", "netns", "del", ns, check=False)
		health = redis.hgetall("weir:{%s}:health" % node)
		# what each worker read from its queue: the frames it kept plus
		# those it handed on (with two af_packet sockets every worker
		# also distributes, engine/ports.c, and an exporter's datagram
		# reaches its owner that way rather than through xflow_divert)
		kept = [int(health.get("w%d_rx_pkts" % i, 0) or 0) for i in range(2)]
		out = [int(health.get("w%d_dist_out" % i, 0) or 0) for i in range(2)]
		per = [k + o for k, o in zip(kept, out)]
		print("sent %d frames; per worker accounted %s, handed on %s; steered %s" % (
			sent, kept, out, health.get("xflow_steered")))
		if sent != len(grams) or min(per) == 0 or sum(kept) != sent:
			fails.append("the kernel's fanout did not give both workers frames (%s), sent %d" % (per, sent))
		exs = weirtest.weirctl_json(a.weirctl, redis.url, "exporters", node=node)
		if len(exs) != 1:
			fails.append("exporters: %s" % exs)
		else:
			e = exs[0]
			want = {"address": EXPORTER, "datagrams": len(grams), "records": n_recs, "templates": 1,
				"errors": 0, "held": 0}
			got = {k: e.get(k) for k in want}
			print("exporter: %s" % got)
			if got != want:
				fails.append("exporter %s, want %s" % (got, want))
		if int(health.get("xflow_steered", 0) or 0) + sum(out) == 0 or \
		   int(health.get("xflow_steer_drops", 1) or 0) or int(health.get("dist_drops", 1) or 0):
			fails.append("xflow_steered %s, xflow_steer_drops %s" % (
				health.get("xflow_steered"), health.get("xflow_steer_drops")))
		fails += weircollect.compare_hosts(truth, weirtest.weirctl_json(a.weirctl, redis.url, "hosts",
										 node=node), "steer")
		redis.stop()
	for f in fails:
		print("FAIL:", f)
	if not fails:
		print("ok: one exporter from 8 source ports on 2 queues: all %d records on one worker" % n_recs)
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
