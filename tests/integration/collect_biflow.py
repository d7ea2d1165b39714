#!/usr/bin/python3
"""collect_biflow.py -- an IPFIX biflow (RFC 5103) and a VRF id through the
engine, sent to `weir --collect udp://...` on loopback.

One hand-built IPFIX datagram (bytes written field by field below, so the
truth is what is written): template 310 = sourceIPv4Address,
destinationIPv4Address, sourceTransportPort, destinationTransportPort,
protocolIdentifier, octetDeltaCount, packetDeltaCount, reverse
octetDeltaCount and reverse packetDeltaCount (PEN 29305, as YAF sends
them), ingressVRFID (234); one record 10.77.0.1:40000 -> 10.77.0.2:443/TCP,
800 bytes in 5 packets forward, 3000 bytes in 4 packets back, VRF
0x60000001. weirctl must show:

  * hosts: 10.77.0.1 sent 800/5 and received 3000/4, 10.77.0.2 the other
    way round (the reverse counts belong to the destination's sending);
  * the flow: bytes_fwd 800, bytes_rev 3000, and vrf 1610612737.

Exit 77 (skip) without redis-server.
"""
import argparse
import os
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import weirtest  # noqa: E402
import weircollect  # noqa: E402

REVERSE_PEN = 29305
VRF = 0x60000001


def ie(n, length, pen=None):
	if pen is None:
		return struct.pack(">HH", n, length)
	return struct.pack(">HHI", n | 0x8000, length, pen)


def datagram():
	fields = [ie(8, 4), ie(12, 4), ie(7, 2), ie(11, 2), ie(4, 1), ie(1, 4), ie(2, 4),
		  ie(1, 4, REVERSE_PEN), ie(2, 4, REVERSE_PEN), ie(234, 4)]
	tmpl = struct.pack(">HH", 310, len(fields)) + b"".join(fields)
	rec = (socket.inet_aton("10.77.0.1") + socket.inet_aton("10.77.0.2") +
	       struct.pack(">HHBIIIII", 40000, 443, 6, 800, 5, 3000, 4, VRF))
	sets = (struct.pack(">HH", 2, 4 + len(tmpl)) + tmpl +
		struct.pack(">HH", 310, 4 + len(rec)) + rec)
	return struct.pack(">HHIII", 10, 16 + len(sets), int(time.time()), 0, 1) + sets


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	a = ap.parse_args()
	redis = weirtest.Redis()
	fails = []
	with tempfile.TemporaryDirectory(prefix="weir-biflow-") as tmp:
		col = weircollect.Collector(a.weir, a.weirctl, redis, "bf%d" % os.getpid(), tmp)
		try:
			weircollect.send(col.port, [("127.0.0.1", datagram())])
			ex, waited, settled = col.wait_settled(datagrams=1)
		finally:
			rc = col.stop()
		if not settled or rc != 0:
			fails.append("engine: settled %s, exit %s (log %s)" % (settled, rc, col.log.name))
		want = {}
		weircollect.add_record(want, "10.77.0.1", "10.77.0.2", 800, 5)
		weircollect.add_record(want, "10.77.0.2", "10.77.0.1", 3000, 4)	# the reverse counts
		fails += weircollect.compare_hosts(want, col.json("hosts"), "biflow")
		flows = col.json("flows")
		if len(flows) != 1:
			fails.append("flows: weir %d, truth 1" % len(flows))
		else:
			f = flows[0]
			got = {k: int(f.get(k, -1)) for k in ("bytes_fwd", "bytes_rev", "pkts_fwd", "pkts_rev", "vrf")}
			truth = {"bytes_fwd": 800, "bytes_rev": 3000, "pkts_fwd": 5, "pkts_rev": 4, "vrf": VRF}
			if got != truth:
				fails.append("flow: weir %s, truth %s" % (got, truth))
		errs = sum(e.get("errors", 0) for e in ex)
		if errs:
			fails.append("decode errors: %s" % ex)
	redis.stop()
	for f in fails:
		print("FAIL " + f)
	if not fails:
		print("biflow: hosts and flow (both directions, vrf %d) equal to the datagram's" % VRF)
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
