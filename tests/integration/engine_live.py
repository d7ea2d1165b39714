#!/usr/bin/env python3
"""engine_live.py -- the engine on live development-mode ports, not files.

Every other engine test reads a capture through net_pcap. A user without a
DPDK NIC runs `weir -i eth1 -w 2`: a net_af_packet port with one queue
pair, read by the first worker, which hands each flow to its worker by a
symmetric hash (the software distributor). With more queue pairs the
kernel fills them with PACKET_FANOUT_HASH, which is not symmetric -- it
hashes an IPv6 fragment on its addresses alone and other frames on
addresses and ports -- so every worker hands on what it does not own.
These cases prove that path end to end and the other vdevs come up:

  afpacket   a veth pair the test creates in a namespace of its own (IPv6 off on both ends, no
             addresses, so the kernel sends nothing of its own on it); weir
             -i on one end with 1 and then 2 workers on one socket, then
             2 workers on 2 sockets (--queues 2: every flow must be whole,
             its direction is not checked); the generated office
             capture, less its IP fragments, written frame by frame into the
             other end (scapy sendp), then 24 IPv6 conversations that
             are fragmented one way (the kernel's fanout hash sends IPv6
             fragments and their replies to different queues; weir
             rejoins them, engine/ports.c); after
             SIGTERM, every host, flow, VLAN and subnet pair
             equals tshark's reading of the same capture (truth.py), the
             frames counted equal the frames sent, and with 2 workers both
             got packets and their sum is the frames sent.
  idle       live flows end on time: weir -i on a veth end with
             --idle-timeout 2 and the default 1M-flow table; from the other
             end, flow A sends 3 frames and stops, flow B one frame every
             0.5 s for 5 s (longer than the timeout). A must be in
             flows:ended as `idle`, published no sooner than 2 s after its
             last frame and no later than 2 s + the sweep's period (the
             timeout / 8: 250 ms) + two publish intervals + 1 s of slack;
             B must not have been ended while it was sending, and must end
             as one flow with all its 11 frames. (The live idle
             sweep goes by time, engine/worker.c sweep_due().)
  vdevs      weir -i net_null0 and -i net_ring0 (no traffic source but the
             PMD): each comes up, publishes `running`, counts what it
             received (net_null: zero-filled frames, each a counted non-IP
             frame), and exits 0 on SIGTERM with state `stopped`.

IPv4 fragments are left out because DPDK 22.11's af_packet PMD asks for
PACKET_FANOUT_FLAG_DEFRAG: the kernel reassembles a fragmented IPv4
datagram before the fanout hash, so weir sees one frame where the wire had
several (docs/operations.md says so); a capture file or a NIC shows the
fragments. The flag does nothing for IPv6 (ip_check_defrag is IPv4's), so
the IPv6 fragments stay in (the filter's ipv6.fragment is only on
tshark's reassembled frame) and weir counts each, as tshark does.

Runs as root (DPDK memory set-up and the veth pair); skips otherwise.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weirtest  # noqa: E402
import engine_vs_tshark as evt  # noqa: E402


def sh(*cmd, check=True):
	return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=check)


def start_engine(args, redis, node, extra, tmp, ns=None):
	log = open(os.path.join(tmp, "weir-%s.log" % node), "w")
	# in a namespace, Redis through its unix socket (a path, seen from any)
	pre = ["ip", "netns", "exec", ns] if ns else []
	url = "unix://" + redis.sock if ns else redis.url
	p = subprocess.Popen(pre + [args.weir, "--redis", url, "--node", node, "--eal-mem", "256",
				    "--publish-interval", "200"] + extra,
			     stdout=log, stderr=subprocess.STDOUT, preexec_fn=weirtest.die_with_parent)
	deadline = time.time() + 30
	while time.time() < deadline and p.poll() is None:
		if redis.hgetall("weir:{%s}:meta" % node).get("state") == "running":
			return p, log
		time.sleep(0.2)
	log.flush()
	with open(log.name) as f:
		print("engine %s did not come up (exit %s):\n%s" % (node, p.poll(), f.read()[-2000:]))
	p.kill()
	return None, log


def stop_engine(p, log, node):
	p.send_signal(signal.SIGTERM)
	try:
		p.wait(timeout=60)
	except subprocess.TimeoutExpired:
		p.kill()
		print("%s: no exit within 60 s of SIGTERM" % node)
		return False
	finally:
		log.close()
	if p.returncode != 0:
		with open(log.name) as f:
			print("%s: exit %d\n%s" % (node, p.returncode, f.read()[-2000:]))
		return False
	return True


def make_veth(tag):
	"""A network namespace of the test's own holding a veth pair: nothing
	else on the machine can put a frame on either end."""
	ns, a, b = "weirlive%s" % tag, "wla%s" % tag, "wlb%s" % tag
	sh("ip", "netns", "del", ns, check=False)
	sh("ip", "netns", "add", ns)
	sh("ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b)
	for d in (a, b):
		# nothing of the kernel's own on the wire: no IPv6 (router and
		# neighbour solicitations, MLD), no addresses (no ARP)
		sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % d)
		sh("ip", "-n", ns, "link", "set", d, "up")
	return ns, a, b


def send_pcap(ns, pcap, iface):
	"""Write every frame of pcap into iface, in order, as captured."""
	code = ("import sys\nfrom scapy.all import rdpcap, sendp, conf\n"
		"conf.verb = 0\np = rdpcap(sys.argv[1])\n"
		"sendp([bytes(x) for x in p], iface=sys.argv[2], verbose=False)\n"
		"print(len(p))\n")
	r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code, pcap, iface],
			   capture_output=True, text=True,
			   timeout=120)
	if r.returncode != 0:
		print("sendp failed: %s" % r.stderr[-2000:])
		return -1
	return int(r.stdout.strip())


def add_fragmented_v6(pcap):
	"""Append 24 IPv6 UDP conversations: a 1600-byte datagram sent in two
	fragments, then an unfragmented reply, twice. The kernel's fanout hash
	reads no ports behind an IPv6 fragment header (and
	PACKET_FANOUT_FLAG_DEFRAG reassembles IPv4 only), so it hashes the
	fragments on their addresses and the replies on addresses and ports:
	the two directions of each conversation land on workers chosen
	independently, and weir must bring them together (engine/ports.c). If
	it did not, the chance that all 24 still meet is 2^-24."""
	from scapy.all import Ether, IPv6, IPv6ExtHdrFragment, UDP, Raw, fragment6, wrpcap
	out = []
	for i in range(24):
		a, b = "2001:db8:a:10::%x" % (0x200 + i), "2001:db8:a:20::%x" % (0x300 + i)
		sp, dp = 40000 + i, 7000 + i
		for k in range(2):
			big = IPv6(src=a, dst=b) / IPv6ExtHdrFragment(id=0x5000 + 2 * i + k) / \
				UDP(sport=sp, dport=dp) / Raw(b"q" * 1600)
			for frag in fragment6(big, 1280):
				out.append(Ether(src="02:00:00:00:10:01", dst="02:00:00:00:20:01") / frag)
			out.append(Ether(src="02:00:00:00:20:01", dst="02:00:00:00:10:01") /
				   IPv6(src=b, dst=a) / UDP(sport=dp, dport=sp) / Raw(b"r" * 60))
	wrpcap(pcap, out, append=True)


def case_afpacket(args):
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-it-live-")
	pcap = os.path.join(tmp, "office.pcap")
	full = os.path.join(tmp, "office-full.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "11", "--out", full],
		       check=True, timeout=300, capture_output=True)
	subprocess.run(["tshark", "-r", full, "-F", "pcap", "-w", pcap, "-Y",
			"not (ip.flags.mf == 1 or ip.frag_offset > 0 or ipv6.fragment)"],
		       check=True, timeout=120, capture_output=True)
	add_fragmented_v6(pcap)
	truth = evt.truth_of(args, pcap, evt.NETS, evt.SUBNETS)
	frames = truth["totals"]["frames"]
	redis = weirtest.Redis()
	ns, tx, rx = make_veth(str(os.getpid() % 100000))
	ok = True
	try:
		# (workers, queue pairs): one socket spread by the distributor
		# (the default), then two sockets that the kernel's fanout fills
		for workers, queues in ((1, 0), (2, 0), (2, 2)):
			node = "live%d%s" % (workers, "q%d" % queues if queues else "")
			extra = ["-i", rx, "-w", str(workers), "-m", ",".join(evt.NETS),
				 "--flow-table-size", "65536", "--idle-timeout", "300", "--queues", str(queues)]
			for s in evt.SUBNETS:
				extra += ["--subnet", s]
			p, log = start_engine(args, redis, node, extra, tmp, ns)
			if not p:
				return 1
			sent = send_pcap(ns, pcap, tx)
			deadline = time.time() + 30
			rxp = 0
			while time.time() < deadline:
				rxp = int(redis.hgetall("weir:{%s}:health" % node).get("rx_pkts", 0) or 0)
				if rxp >= frames:
					break
				time.sleep(0.2)
			time.sleep(0.5)	# anything beyond the file would show now
			if not stop_engine(p, log, node):
				ok = False
				continue
			out = {}
			for what in ("hosts", "flows", "vlans", "subnets", "status"):
				out[what] = weirtest.weirctl_json(args.weirctl, redis.url, what, node=node)
				with open(os.path.join(tmp, "%s-%s.json" % (node, what)), "w") as f:
					json.dump(out[what], f)
			h = evt.health(out["status"])
			per = [h.get("w%d_rx_pkts" % i, 0) for i in range(workers)]
			print("%d worker(s), %s on af_packet %s: sent %d of %d frames, engine rx %d, per worker %s" % (
				workers, "%d queue pairs" % queues if queues else "1 queue pair", rx, sent, frames,
				h.get("rx_pkts", 0), per))
			bad = evt.check_counters(truth, out["status"])
			if queues > 1:
				# two paths to a flow's worker: which end spoke first may
				# be misjudged (docs/operations.md), so check that no flow
				# was split and every packet counted, not the directions
				rc = 0
				seen = {}
				for f in out["flows"]:
					a, b = (f["src"], f["sport"]), (f["dst"], f["dport"])
					k = (f["vlan"], f["proto"]) + (min(a, b), max(a, b))
					seen[k] = seen.get(k, 0) + 1
				split = [k for k, n in seen.items() if n > 1]
				pk = sum(f["pkts"] for f in out["flows"])
				tpk = sum(f["pkts"] for f in truth["flows"])
				print("%d flows (tshark %d), %d split, %d packets in flows (tshark %d)" % (
					len(out["flows"]), len(truth["flows"]), len(split), pk, tpk))
				if split or len(out["flows"]) != len(truth["flows"]) or pk != tpk:
					bad.append("flows split between workers: %s" % split[:5])
			else:
				rc, text = evt.compare(args, truth, tmp, node)
				print(text)
			if sent != frames:
				bad.append("sent %d frames, the capture has %d" % (sent, frames))
			if workers > 1 and (min(per) == 0 or sum(per) != frames):
				bad.append("the distributor did not spread the frames over both workers: %s" % per)
			if rc:
				bad.append("published totals differ from tshark's")
			for b in bad:
				print("MISMATCH:", b)
			ok = ok and not bad
	finally:
		sh("ip", "netns", "del", ns, check=False)
	return 0 if ok else 1


IDLE_SENDER = '''
import sys, time
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
iface = sys.argv[1]
def frame(a, b, sp, dp):
	return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=a, dst=b) /
		     UDP(sport=sp, dport=dp) / Raw(b"x" * 64))
fa = frame("10.9.0.1", "10.9.0.2", 1111, 2222)
fb = frame("10.9.0.3", "10.9.0.4", 3333, 4444)
# each last frame's time is bracketed: taken before the send (the frame
# left no earlier) and after it (no later), so that a sender descheduled
# around sendp() cannot move a flow outside its window
t = time.time()
sendp([fa] * 3, iface=iface, verbose=False)
last_a = (t, time.time())
for i in range(11):
	t = time.time()
	sendp(fb, iface=iface, verbose=False)
	last_b = (t, time.time())
	if i < 10:
		time.sleep(0.5)
print("%.3f %.3f %.3f %.3f" % (last_a + last_b))
'''


def case_idle(args):
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-it-idle-")
	redis = weirtest.Redis()
	ns, tx, rx = make_veth("i%d" % (os.getpid() % 10000))
	node, idle_s, publish_ms, period_ms = "idle", 2, 200, 250
	ok = True
	try:
		p, log = start_engine(args, redis, node, ["-i", rx, "--idle-timeout", str(idle_s)], tmp, ns)
		if not p:
			return 1
		r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", IDLE_SENDER, tx],
				   capture_output=True, text=True, timeout=60)
		if r.returncode != 0:
			print("sender failed: %s" % r.stderr[-2000:])
			stop_engine(p, log, node)
			return 1
		t = [float(x) for x in r.stdout.split()]
		last_a, last_b = (t[0], t[1]), (t[2], t[3])
		key = "weir:{%s}:flows:ended" % node
		want = {("10.9.0.1", "10.9.0.2"), ("10.9.0.3", "10.9.0.4")}
		deadline = time.time() + idle_s + 10
		ended = []
		while time.time() < deadline:
			raw = weirtest.resp(redis.port, [["XRANGE", key, "-", "+"]])[0] or []
			ended = [(int(e[0].split("-")[0]), dict(zip(e[1][0::2], e[1][1::2]))) for e in raw]
			if want <= {(f["src"], f["dst"]) for _, f in ended}:
				break
			time.sleep(0.1)
		if not stop_engine(p, log, node):
			ok = False
		late_ms = idle_s * 1000 + period_ms + 2 * publish_ms + 1000
		for name, (src, dst), last, pkts in (("A", ("10.9.0.1", "10.9.0.2"), last_a, 3),
						     ("B", ("10.9.0.3", "10.9.0.4"), last_b, 11)):
			mine = [(ms, f) for ms, f in ended if (f["src"], f["dst"]) == (src, dst)]
			if len(mine) != 1:
				print("MISMATCH: flow %s: %d entries in flows:ended, want 1: %s" % (name, len(mine), mine))
				ok = False
				continue
			ms, f = mine[0]
			# at least idle_s after the frame's earliest time, at most
			# late_ms after its latest
			after_lo, after_hi = ms - last[1] * 1000, ms - last[0] * 1000
			print("flow %s: ended %s, %s packets, published %.0f..%.0f ms after its last frame "
			      "(want %d..%d)" % (name, f.get("end_reason"), f.get("pkts"), after_lo, after_hi,
						 idle_s * 1000, late_ms))
			if f.get("end_reason") != "idle" or int(f.get("pkts", 0)) != pkts:
				print("MISMATCH: flow %s: want end_reason idle and %d packets" % (name, pkts))
				ok = False
			if not (after_hi >= idle_s * 1000 and after_lo <= late_ms):
				print("MISMATCH: flow %s ended outside its window" % name)
				ok = False
	finally:
		sh("ip", "netns", "del", ns, check=False)
	return 0 if ok else 1


def case_vdevs(args):
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-it-vdev-")
	redis = weirtest.Redis()
	ok = True
	for node, dev in (("null", "net_null0"), ("ring", "net_ring0")):
		p, log = start_engine(args, redis, node, ["-i", dev], tmp)
		if not p:
			ok = False
			continue
		time.sleep(1.0)
		if not stop_engine(p, log, node):
			ok = False
			continue
		meta = redis.hgetall("weir:{%s}:meta" % node)
		h = evt.health(weirtest.weirctl_json(args.weirctl, redis.url, "status", node=node))
		rxp = h.get("rx_pkts", 0)
		sum_ = h.get("parsed_pkts", 0) + h.get("non_ip", 0) + h.get("parse_drops", 0)
		print("%s: state %s, rx_pkts %d (parsed %d, non-IP %d, drops %d)" % (
			dev, meta.get("state"), rxp, h.get("parsed_pkts", 0), h.get("non_ip", 0),
			h.get("parse_drops", 0)))
		if meta.get("state") != "stopped" or rxp != sum_:
			print("MISMATCH: %s: want state stopped and every frame accounted" % dev)
			ok = False
		if dev.startswith("net_null") and (rxp == 0 or h.get("non_ip", 0) != rxp):
			print("MISMATCH: net_null's zero-filled frames must each be a counted non-IP frame")
			ok = False
	return 0 if ok else 1


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", required=True, choices=["afpacket", "idle", "vdevs"])
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	ap.add_argument("--compare", required=True)
	args = ap.parse_args()
	return {"afpacket": case_afpacket, "idle": case_idle, "vdevs": case_vdevs}[args.case](args)


if __name__ == "__main__":
	sys.exit(main())
