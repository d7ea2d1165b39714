#!/usr/bin/python3
"""engine_faults.py -- the engine when something inside it, or one of its
inputs, goes wrong (issue 9's fault injection; Redis faults are in
engine_redis_faults.py).

  stall      two workers collect NetFlow v5 from eight exporters sent at a
             steady pace; worker 1 is made to stall for 5 s
             (WEIR_FAULT_STALL=1:100:5000). The health hash shows
             worker_stalls >= 1, the events stream a `health` event
             worker_stall (then worker_running), the other worker's
             exporters keep moving and publish cycles keep landing during
             the stall while the stalled worker's exporters stand still,
             nothing is dropped, and the hosts at the end equal tshark's
             decoding of every datagram sent.
  sigterm    heavy traffic (a capture replayed in a loop, as fast as one
             worker goes) with three SIGHUPs that change the rules, then
             SIGTERM: the counters never go back across the reloads, the
             engine exits 0, every flow is flushed (none active, flush
             endings counted), and the hosts published equal tshark's for
             exactly the frames received: K whole passes plus the first R
             frames (K, R from rx_pkts).
  templates  three exporters on one worker: A sends NetFlow v9, restarts
             (sequence and uptime back to 0) and redefines its template
             256 with another layout; B floods templates (2000 ids, each
             with data) past --max-templates 64 / --exporter-memory 8192;
             C sends v5 throughout. B is held to its limits (templates,
             template_bytes, template_limit errors counted) while A's and
             C's hosts equal tshark's, and A's restart is counted once.
  drops      datagrams too big for an mbuf (12000 bytes; room is 9216) reach the socket
             collector: 3, then 2 more. health collect_too_big counts 3
             then 5; the events stream holds one `health` event `drops`
             (counter collect_too_big, delta 3, total 3) and no second
             one, since a counter is reported at most once a minute.
             The idle worker took idle-sleep naps (health idle_sleeps).
  backlog    the UDP collector's backpressure (udp_collector.c). One
             worker stalls for 2 s while 6,000 NetFlow v5 datagrams arrive
             at once, half again what its 4096-entry ring holds: the rest
             waits in the socket buffer, so every datagram and record is
             taken after the stall, collect_ring_full and
             collect_kernel_drops stay 0 and collect_waits rises. Then two
             workers, worker 1 stalled for 6 s while eight exporters send
             1,200 datagrams each: worker 0's exporters are all taken
             while worker 1 is still stalled (a stuck worker is left out
             after 1 s, not waited for), worker 1's exporters lose exactly
             what collect_ring_full counts and no more, and the kernel
             drops nothing.
"""
import argparse
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import nfstream  # noqa: E402
import weircollect  # noqa: E402
import weirtest  # noqa: E402


def hgetall(redis, key):
	raw = redis.cli("--raw", "HGETALL", key, check=False).split("\n")
	return {raw[i]: raw[i + 1] for i in range(0, len(raw) - 1, 2)}


def health(redis, node):
	return hgetall(redis, "weir:{%s}:health" % node)


def events(redis, node):
	"""[{field: value}] of the events stream, oldest first."""
	out = subprocess.run(["redis-cli", "-p", str(redis.port), "--raw", "XRANGE",
			      "weir:{%s}:events" % node, "-", "+"], capture_output=True, text=True,
			     timeout=30).stdout.split("\n")
	# --raw XRANGE: the id (123-0), then field and value lines; a field
	# name never looks like an id
	evs, i = [], 0
	while i < len(out):
		if re.fullmatch(r"\d+-\d+", out[i]):
			evs.append({})
		elif evs and i + 1 < len(out):
			evs[-1][out[i]] = out[i + 1]
			i += 1
		i += 1
	return evs


def need_tools():
	import shutil
	if not shutil.which("tshark"):
		print("SKIP: tshark is not installed")
		sys.exit(weirtest.SKIP)
	try:
		import scapy  # noqa: F401
	except ImportError:
		print("SKIP: python3-scapy is not installed")
		sys.exit(weirtest.SKIP)


def exporter_datagrams(redis, node, addrs):
	return {a: int(hgetall(redis, "weir:{%s}:exporter:%s" % (node, a)).get("datagrams", 0)) for a in addrs}


def case_stall(args, tmp):
	import export_truth
	need_tools()
	redis = weirtest.Redis()
	addrs = ["127.0.0.%d" % (i + 1) for i in range(8)]
	streams = {a: nfstream.v5_stream(i, 180, seed=9) for i, a in enumerate(addrs)}
	grams = nfstream.interleave(streams)
	os.environ["WEIR_FAULT_STALL"] = "1:100:5000"
	try:
		col = weircollect.Collector(args.weir, args.weirctl, redis, "st", tmp, extra=["--workers", "2"])
	finally:
		del os.environ["WEIR_FAULT_STALL"]
	sender = nfstream.PacedSender(col.port, grams, rate=160)	# 20/s per exporter, 9 s
	sender.start()
	ok = True
	deadline = time.monotonic() + 20
	h = {}
	while time.monotonic() < deadline and int(h.get("worker_stalls", 0) or 0) < 1:
		time.sleep(0.1)
		h = health(redis, "st")
	if int(h.get("worker_stalls", 0) or 0) < 1:
		print("no stall reported within 20 s: %s" % {k: h.get(k) for k in ("worker_stalls", "collect_datagrams")})
		ok = False
	else:
		# inside the stall (reported after 2 s of 5): who still moves?
		a, c0 = exporter_datagrams(redis, "st", addrs), int(h.get("publish_cycles", 0))
		time.sleep(1.0)
		b, c1 = exporter_datagrams(redis, "st", addrs), int(health(redis, "st").get("publish_cycles", 0))
		frozen = [x for x in addrs if a[x] == b[x]]
		moving = [x for x in addrs if a[x] != b[x]]
		print("during the stall (1 s): exporters frozen %s, moving %s (+%d datagrams), publish cycles +%d" % (
			frozen, moving, sum(b[x] - a[x] for x in moving), c1 - c0))
		if not frozen or not moving or c1 - c0 < 2:
			print("want the stalled worker's exporters frozen, the other's moving, and publishing going on")
			ok = False
	sender.join(timeout=30)
	ex, secs, settled = col.wait_settled(datagrams=len(grams), timeout=30)
	got = sum(e.get("datagrams", 0) for e in ex)
	h = health(redis, "st")
	print("after the stall: %d of %d datagrams taken, worker_stalls %s, collect_ring_full %s, "
	      "collect_kernel_drops %s" % (got, len(grams), h.get("worker_stalls"), h.get("collect_ring_full"),
					   h.get("collect_kernel_drops")))
	if got != len(grams) or h.get("collect_ring_full") != "0" or h.get("collect_kernel_drops") != "0":
		ok = False
	evs = [e for e in events(redis, "st") if e.get("type") == "health"]
	stall = [e for e in evs if e.get("what") == "worker_stall" and e.get("worker") == "1"]
	back = [e for e in evs if e.get("what") == "worker_running" and e.get("worker") == "1"]
	print("health events: %s" % [(e.get("what"), e.get("worker"), e.get("stalled_ms")) for e in evs])
	if len(stall) != 1 or len(back) != 1 or int(back[0].get("stalled_ms", 0)) < 4000:
		print("want one worker_stall and one worker_running (stalled_ms >= 4000) event for worker 1")
		ok = False
	rc = col.stop()
	if rc != 0:
		print("engine exit %s after SIGTERM" % rc)
		ok = False
	with open(os.path.join(tmp, "weir-st.log")) as f:
		log = f.read()
	if "worker 1 (lcore" not in log or "stalled" not in log:
		print("the log does not name the stalled worker:\n" + log[-1500:])
		ok = False
	truth = export_truth.CflowTruth([g for _, g in grams], 5, tmp, name="stall")
	fails = weircollect.compare_hosts(truth.hosts(), col.json("hosts"), "stall")
	for line in fails[:10]:
		print(line)
	print("hosts vs tshark (%d records): %s" % (len(truth.records), "equal" if not fails else "%d differ" % len(fails)))
	return ok and not fails


def read_pcap(path):
	"""(global header, [(record header, frame)]) of a classic pcap."""
	with open(path, "rb") as f:
		data = f.read()
	gh, frames, off = data[:24], [], 24
	while off + 16 <= len(data):
		incl = struct.unpack("<I", data[off + 8:off + 12])[0]
		frames.append(data[off:off + 16 + incl])
		off += 16 + incl
	return gh, frames


def truth_of(args, pcap):
	import json
	r = subprocess.run(["/usr/bin/python3", args.truth, pcap, "--no-crosscheck"], capture_output=True,
			   text=True, timeout=300, check=True)
	return json.loads(r.stdout)


def case_sigterm(args, tmp):
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "3", "--out", pcap],
		       check=True, timeout=300, capture_output=True)
	gh, frames = read_pcap(pcap)
	redis = weirtest.Redis()
	conf = os.path.join(tmp, "weir.conf")
	base = ("local-networks = 10.0.0.0/8\nsubnet = users=10.0.10.0/24\nsubnet = servers=10.0.20.0/24\n"
		"subnet = iot=10.0.30.0/24\npublish-interval = 200\n")
	rules = ["forbid = iot>servers\n", "watch = users>servers\n", ""]
	with open(conf, "w") as f:
		f.write(base)
	log = open(os.path.join(tmp, "weir-ht.log"), "w")
	p = subprocess.Popen([args.weir, "-c", conf, "-r", pcap, "--loop", "--redis", redis.url, "--node", "ht",
			      "--eal-mem", "256", "--flow-table-size", "65536", "--active-timeout", "2"],
			     stdout=log, stderr=subprocess.STDOUT, preexec_fn=weirtest.die_with_parent)
	ok = True

	def sample():
		h = health(redis, "ht")
		scores = redis.cli("ZRANGE", "weir:{ht}:hosts", "0", "-1", "WITHSCORES", check=False).split()
		return int(h.get("rx_pkts", 0) or 0), sum(int(float(s)) for s in scores[1::2])

	try:
		deadline = time.time() + 30
		while time.time() < deadline and sample()[0] == 0:
			time.sleep(0.2)
		time.sleep(0.5)
		prev = sample()
		seen = [prev]
		for rule in rules:
			with open(conf, "w") as f:
				f.write(base + rule)
			p.send_signal(signal.SIGHUP)
			time.sleep(0.8)
			cur = sample()
			seen.append(cur)
			if cur[0] < prev[0] or cur[1] < prev[1]:
				print("counters went back across a SIGHUP: %s -> %s" % (prev, cur))
				ok = False
			prev = cur
		print("(rx_pkts, host bytes) across three SIGHUPs: %s" % seen)
		if seen[-1][0] <= seen[0][0]:
			print("no traffic counted after the reloads")
			ok = False
		t0 = time.time()
		p.send_signal(signal.SIGTERM)
		try:
			p.wait(timeout=60)
		except subprocess.TimeoutExpired:
			p.kill()
			print("the engine did not exit within 60 s of SIGTERM")
			return False
		print("SIGTERM under load: exit %d after %.1f s" % (p.returncode, time.time() - t0))
		if p.returncode != 0:
			ok = False
	finally:
		if p.poll() is None:
			p.kill()
		log.close()
	h = health(redis, "ht")
	meta = hgetall(redis, "weir:{ht}:meta")
	rx = int(h.get("rx_pkts", 0))
	print("final: state %s, rx_pkts %d, flows_active %s, flows_ended_flush %s" % (
		meta.get("state"), rx, h.get("flows_active"), h.get("flows_ended_flush")))
	if meta.get("state") != "stopped" or h.get("flows_active") != "0" or int(h.get("flows_ended_flush", 0)) < 1:
		ok = False
	with open(os.path.join(tmp, "weir-ht.log")) as f:
		text = f.read()
	if text.count("SIGHUP: configuration reloaded") != 3:
		print("want three reloads in the log:\n" + text[-1500:])
		ok = False
	k, r = divmod(rx, len(frames))
	prefix = os.path.join(tmp, "prefix.pcap")
	with open(prefix, "wb") as f:
		f.write(gh + b"".join(frames[:r]))
	cols = ("bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd")
	want = {}
	for t, times in ((truth_of(args, pcap), k), (truth_of(args, prefix) if r else {"hosts": []}, 1)):
		for hst in t["hosts"]:
			w = want.setdefault((hst["ip"], hst["vlan"]), [0, 0, 0, 0])
			for i, c in enumerate(cols):
				w[i] += times * hst[c]
	got = {(hst["ip"], int(hst["vlan"])): [int(hst[c]) for c in cols]
	       for hst in weirtest.weirctl_json(args.weirctl, redis.url, "hosts", node="ht")}
	diff = sorted(x for x in set(want) | set(got) if want.get(x) != got.get(x))
	print("hosts after SIGTERM vs tshark for %d passes + %d frames: %s" % (
		k, r, "%d equal" % len(got) if not diff else "%d differ, e.g. %s" % (
			len(diff), [(x, want.get(x), got.get(x)) for x in diff[:3]])))
	return ok and not diff


def case_templates(args, tmp):
	import export_truth
	need_tools()
	redis = weirtest.Redis()
	col = weircollect.Collector(args.weir, args.weirctl, redis, "tp", tmp,
				    extra=["--max-templates", "64", "--exporter-memory", "8192"])
	A, B, C = "127.0.0.21", "127.0.0.22", "127.0.0.23"
	import random
	rng = random.Random(5)
	a_grams = []
	for phase, layout in ((0, "a"), (1, "b")):	# phase 1: restarted, 256 redefined
		for seq in range(30):
			recs = nfstream.random_records(rng, 8, "10.1.1", "10.200.0")
			a_grams.append(nfstream.v9_datagram(seq, [nfstream.v9_template(256, layout),
							    nfstream.v9_data(256, layout, recs)],
							    uptime_ms=(2000 if phase else 500000) + seq * 100))
	b_grams = []
	for i in range(2000):
		tid = 300 + i
		recs = nfstream.random_records(rng, 2, "10.66.1", "10.66.2")
		b_grams.append(nfstream.v9_datagram(i, [nfstream.v9_template(tid, "a"), nfstream.v9_data(tid, "a", recs)],
						    source_id=7))
	c_grams = nfstream.v5_stream(2, 60, seed=5)
	# A and C interleaved with B's flood; the flood's first half before
	# A's restart, the second half after
	stream = []
	ai = bi = ci = 0
	while ai < len(a_grams) or bi < len(b_grams) or ci < len(c_grams):
		for _ in range(17):
			if bi < len(b_grams):
				stream.append((B, b_grams[bi]))
				bi += 1
		if ai < len(a_grams):
			stream.append((A, a_grams[ai]))
			ai += 1
		if ci < len(c_grams):
			stream.append((C, c_grams[ci]))
			ci += 1
	sender = nfstream.PacedSender(col.port, stream, rate=1500)
	sender.start()
	sender.join(timeout=60)
	ex, secs, settled = col.wait_settled(datagrams=len(stream), timeout=30)
	ok = settled
	xa, xb, xc = (hgetall(redis, "weir:{tp}:exporter:%s" % x) for x in (A, B, C))
	print("flooder B: %s datagrams, templates %s, template_bytes %s, err_template_limit %s, records %s" % (
		xb.get("datagrams"), xb.get("templates"), xb.get("template_bytes"), xb.get("err_template_limit"),
		xb.get("records")))
	print("A (restarted, 256 redefined): records %s, seq_resets %s, seq_lost %s, errors %s; C: records %s, "
	      "errors %s" % (xa.get("records"), xa.get("seq_resets"), xa.get("seq_lost"), xa.get("errors"),
			     xc.get("records"), xc.get("errors")))
	if int(xb.get("templates", 99)) > 64 or int(xb.get("template_bytes", 1 << 30)) > 8192 or \
	   int(xb.get("err_template_limit", 0)) < 1:
		print("the flooder was not held to its limits")
		ok = False
	if xa.get("errors") != "0" or xc.get("errors") != "0" or int(xa.get("seq_resets", 0)) != 1 or \
	   xa.get("seq_lost") != "0":
		print("the other exporters were affected, or A's restart was not counted once")
		ok = False
	rc = col.stop()
	if rc != 0:
		print("engine exit %s after SIGTERM" % rc)
		ok = False
	# tshark keeps the first definition of a template id for good: each of
	# A's two sessions (before and after its restart) is decoded on its own
	truth = {}
	for part, grams, v in (("a0", a_grams[:30], 9), ("a1", a_grams[30:], 9), ("c", c_grams, 5)):
		for ip, t in export_truth.CflowTruth(grams, v, tmp, name="tpl-" + part).hosts().items():
			acc = truth.setdefault(ip, [0, 0, 0, 0])
			for i in range(4):
				acc[i] += t[i]
	hosts = [h for h in col.json("hosts") if not h["ip"].startswith("10.66.")]
	fails = weircollect.compare_hosts(truth, hosts, "templates")
	for line in fails[:10]:
		print(line)
	print("A's and C's hosts vs tshark: %s" % ("%d equal" % len(truth) if not fails else "%d differ" % len(fails)))
	return ok and not fails


def case_drops(args, tmp):
	import socket
	redis = weirtest.Redis()
	col = weircollect.Collector(args.weir, args.weirctl, redis, "dr", tmp)
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	ok = True

	def send_wait(n, want):
		for _ in range(n):
			s.sendto(b"\x00\x05" + b"\xee" * 11998, ("127.0.0.1", col.port))
		deadline = time.monotonic() + 10
		h = {}
		while time.monotonic() < deadline:
			h = health(redis, "dr")
			if h.get("collect_too_big") == str(want):
				break
			time.sleep(0.1)
		return h.get("collect_too_big")

	got = send_wait(3, 3)
	time.sleep(0.5)		# the cycle that saw them has written its events
	drops = [e for e in events(redis, "dr") if e.get("what") == "drops"]
	print("after 3 oversized datagrams: collect_too_big %s, drops events %s" % (
		got, [(e.get("counter"), e.get("delta"), e.get("total")) for e in drops]))
	if got != "3" or [(e.get("counter"), e.get("delta"), e.get("total")) for e in drops] != \
			[("collect_too_big", "3", "3")]:
		ok = False
	got = send_wait(2, 5)
	time.sleep(1.0)
	drops = [e for e in events(redis, "dr") if e.get("what") == "drops"]
	print("after 2 more: collect_too_big %s, drops events %d (want 1: once a minute)" % (got, len(drops)))
	if got != "5" or len(drops) != 1:
		ok = False
	# idle-sleep (auto: 50 us without PCI ports): a worker with nothing to
	# do naps, and says so
	naps = int(health(redis, "dr").get("idle_sleeps", 0) or 0)
	print("idle_sleeps %d (want > 0: the worker was idle most of the time)" % naps)
	if naps <= 0:
		ok = False
	if col.stop() != 0:
		ok = False
	return ok


def stalled_collector(args, tmp, node, stall, workers):
	os.environ["WEIR_FAULT_STALL"] = stall
	try:
		return weircollect.Collector(args.weir, args.weirctl, weirtest.Redis(), node, tmp,
					     extra=["--workers", str(workers)])
	finally:
		del os.environ["WEIR_FAULT_STALL"]


def backlog_one_worker(args, tmp):
	col = stalled_collector(args, tmp, "bl1", "0:10:2000", 1)
	grams = [("127.0.0.1", g) for g in nfstream.v5_stream(0, 6010, seed=5)]
	weircollect.send(col.port, grams[:10])
	time.sleep(0.3)				# the worker has taken 10: stalled now
	t0 = time.monotonic()
	weircollect.send(col.port, grams[10:], pace_every=0)
	sent_s = time.monotonic() - t0
	ex, secs, settled = col.wait_settled(datagrams=len(grams), timeout=30)
	h = health(col.redis, "bl1")
	got = sum(e.get("datagrams", 0) for e in ex)
	recs = int(h.get("xflow_records", 0) or 0)
	print("one worker, stalled 2 s: 6000 datagrams sent in %.2f s; taken %d of %d datagrams, %d of %d "
	      "records; collect_ring_full %s, collect_kernel_drops %s, collect_waits %s" % (
		      sent_s, got, len(grams), recs, 10 * len(grams), h.get("collect_ring_full"),
		      h.get("collect_kernel_drops"), h.get("collect_waits")))
	ok = (settled and got == len(grams) and recs == 10 * len(grams) and h.get("collect_ring_full") == "0"
	      and h.get("collect_kernel_drops") == "0" and int(h.get("collect_waits", 0) or 0) > 0)
	if not ok:
		print("want every datagram and record taken, none dropped, and the collector to have waited")
	return (col.stop() == 0) and ok


def backlog_stuck_worker(args, tmp):
	col = stalled_collector(args, tmp, "bl2", "1:1:6000", 2)
	addrs = ["127.0.0.%d" % (i + 1) for i in range(8)]
	streams = {a: nfstream.v5_stream(i, 1200, seed=6) for i, a in enumerate(addrs)}
	weircollect.send(col.port, [(a, streams[a][0]) for a in addrs])	# worker 1 takes one: stalls
	time.sleep(0.3)
	t0 = time.monotonic()
	rest = nfstream.interleave({a: g[1:] for a, g in streams.items()})
	weircollect.send(col.port, rest, pace_every=0)
	# well inside the 6 s stall: who is complete?
	deadline, by = t0 + 4.0, {}
	while time.monotonic() < deadline:
		by = {e["address"]: e.get("datagrams", 0) for e in (col.json_or_none("exporters") or [])}
		if sum(1 for a in addrs if by.get(a) == 1200) >= 1 and time.monotonic() - t0 > 2.5:
			break
		time.sleep(0.2)
	during = dict(by)
	done = sorted(a for a in addrs if during.get(a) == 1200)
	behind = sorted(a for a in addrs if during.get(a, 0) < 1200)
	print("two workers, worker 1 stalled 6 s; %.1f s in: complete %s, behind %s %s" % (
		time.monotonic() - t0, done, behind, [during.get(a, 0) for a in behind]))
	ok = bool(done) and bool(behind)
	if not ok:
		print("want worker 0's exporters complete during the stall and worker 1's behind")
	time.sleep(max(0.0, t0 + 6.5 - time.monotonic()))	# the stall is over
	ex, secs, settled = col.wait_settled(timeout=30)
	by = {e["address"]: e.get("datagrams", 0) for e in ex}
	h = health(col.redis, "bl2")
	lost = sum(1200 - by.get(a, 0) for a in addrs)
	rf, kd = int(h.get("collect_ring_full", -1)), h.get("collect_kernel_drops")
	print("after the stall: complete %s; lost %d datagrams, collect_ring_full %d, collect_kernel_drops %s" % (
		sorted(a for a in addrs if by.get(a) == 1200), lost, rf, kd))
	if [a for a in done if by.get(a) != 1200] or lost != rf or kd != "0":
		print("want worker 0's exporters whole, worker 1's losses exactly collect_ring_full, no kernel drops")
		ok = False
	return (col.stop() == 0) and ok


def case_backlog(args, tmp):
	a = backlog_one_worker(args, tmp)
	b = backlog_stuck_worker(args, tmp)
	return a and b


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["stall", "sigterm", "templates", "drops", "backlog"], required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	args = ap.parse_args()
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-faults-")
	ok = {"stall": case_stall, "sigterm": case_sigterm, "templates": case_templates, "drops": case_drops,
	      "backlog": case_backlog}[args.case](args, tmp)
	print("PASS" if ok else "FAIL")
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
