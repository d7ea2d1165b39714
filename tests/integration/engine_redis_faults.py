#!/usr/bin/python3
"""engine_redis_faults.py -- the engine against a Redis that misbehaves.

  auth      Redis requires a password: a wrong one is refused (exit 1, the
            error says the final state was not published), the right one in
            the URL works, and so does a unix socket URL.
  late      Redis is down when the engine starts and comes up two seconds
            later: a capture-file run keeps capturing, reconnects and still
            publishes every host, equal to tshark's totals.
  slow      Redis is frozen (SIGSTOP) for 10 s under a live engine that
            collects NetFlow v5 from four exporters at a steady pace: the
            engine keeps taking every datagram, the stalled cycles time out
            and are counted (publish_lost_cycles, and one `redis_back` event
            saying how many), publishing resumes by itself after SIGCONT,
            and the hosts republished equal tshark's decoding of every
            datagram sent, before and during the freeze; so do the 1 s
            (per-cycle) series of every host, with no point dropped when
            the lost cycles fit the pending bound (engine/timeseries.c),
            else series_points_dropped says points were lost. Then a 4 s
            freeze, within the bound, while a fifth exporter sends all
            through it: the series of its hosts sum exactly, no point
            dropped.
  sighup    a live engine reloads its configuration on SIGHUP: a `forbid`
            rule added to the file starts producing boundary events, the
            counters go on from where they were (nothing reset), and a file
            with an error is refused while the engine keeps running.
  bigcycle  a publish cycle far larger than the command timeout (20k hosts,
            --redis-timeout 10 ms) still lands: EXEC, which runs the whole
            transaction, gets time in proportion to the cycle. Its 30k flows
            go through a 1024-snapshot ring (flow-ring-size): the worker,
            reading a file, waits for room (ring_waits > 0) and drops
            nothing (flow_ring_drops 0).
  restart   a live engine collecting paced NetFlow v5 loses its Redis
            (killed), records keep coming during the outage (a third
            exporter starts then), the sending stops, and Redis comes back
            empty: hosts, flows and idx:host/idx:vlan equal tshark's
            decoding of every record sent, the outage's new_host and
            exporter_up events arrive, one redis_back event's lost_cycles
            equals publish_lost_cycles, and the log says the same number.
  purge     Redis frozen while far more flows leave the view (flow-history
            40) than the engine keeps deletions for: at the reconnection it
            purges and rewrites, no key of a gone flow is left (flow:*,
            `flows`, idx:*), and the overflow is counted.
  verdicts  a live engine on a veth pair (engine_live.py's) whose publish
            cycle waits on a frozen Redis (SIGSTOP, --redis-timeout 30 s)
            while 6,000 DNS conversations (a query and its answer, each
            from its own source port) arrive: no drain runs until the cycle
            ends, so every verdict must wait in the worker's verdict ring.
            After SIGCONT and SIGTERM: every frame counted, dpi_msg_drops
            and flow_ring_drops 0, and app:DNS counts all 6,000 flows (the
            ring held 4,096 verdicts before they were packed, and this
            test lost about 1,900 of them).
  folds     the same frozen cycle while 2,000 flows each take a packet in
            four rounds, through a 4,096-snapshot ring (flow-ring-size) with
            a fold every 100 ms: a fold waits while the control thread has
            not taken the previous one (folds_deferred > 0), so the moved
            flows go out once when it has, not once a fold. After SIGCONT
            and SIGTERM: flow_ring_drops 0, and every flow in Redis with its
            4 packets (the engine before this wait dropped 3,904 of the
            snapshots here).
  evict     an exporter evicted (max-exporters 1, silent past
            exporter-timeout) while Redis takes no writes (CLIENT PAUSE
            WRITE: the engine connects, and every cycle, its DEL included,
            times out at EXEC): once the pause ends its exporter:ADDR hash
            and `exporters` member are gone all the same (the DEL is sent
            again until a cycle lands), the new exporter's are there.
"""
import argparse
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import weirtest  # noqa: E402


def truth(args, pcap):
	r = subprocess.run(["/usr/bin/python3", args.truth, pcap], capture_output=True,
			   text=True, timeout=600, check=True)
	return json.loads(r.stdout)


def hosts_equal(args, url, node, t):
	got = weirtest.weirctl_json(args.weirctl, url, "hosts", node=node)
	want = {(h["ip"], h["vlan"]): (h["bytes_sent"], h["bytes_rcvd"]) for h in t["hosts"]}
	have = {(h["ip"], int(h["vlan"])): (int(h["bytes_sent"]), int(h["bytes_rcvd"])) for h in got}
	if want != have:
		diff = set(want.items()) ^ set(have.items())
		print("hosts differ from tshark's (%d rows), e.g. %s" % (len(diff), sorted(diff)[:4]))
		return False
	print("%d hosts equal to tshark's" % len(have))
	return True


def case_auth(args, pcap, t):
	ok = True
	redis = weirtest.Redis(password="s3cret-pw")
	bad = "redis://:wrong@127.0.0.1:%d" % redis.port
	r, _ = weirtest.run_weir(args.weir, ["-r", pcap, "--redis", bad, "--node", "a0"], check=False)
	if r.returncode != 1 or "NOT published" not in r.stderr:
		print("wrong password: want exit 1 and 'NOT published', got %d: %s" % (r.returncode, r.stderr[-500:]))
		ok = False
	else:
		print("wrong password refused: exit 1")
	weirtest.run_weir(args.weir, ["-r", pcap, "--redis", redis.url, "--node", "a1"])
	ok &= hosts_equal(args, redis.url, "a1", t)
	redis.stop()
	plain = weirtest.Redis()
	url = "unix://" + plain.sock
	weirtest.run_weir(args.weir, ["-r", pcap, "--redis", url, "--node", "u1"])
	ok &= hosts_equal(args, plain.url, "u1", t)
	return ok


def case_late(args, pcap, t):
	port = weirtest.free_port()
	p = subprocess.Popen([args.weir, "--quiet", "-r", pcap, "--redis",
			      "redis://127.0.0.1:%d" % port, "--node", "late"],
			     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
			     preexec_fn=weirtest.die_with_parent)
	time.sleep(2)
	redis = weirtest.Redis.__new__(weirtest.Redis)
	# the same port the engine was told about, now
	import shutil
	redis.dir = tempfile.mkdtemp(prefix="weir-redis-")
	redis.port = port
	redis.password = None
	redis.proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
				       "--save", "", "--appendonly", "no", "--dir", redis.dir],
				      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
				      preexec_fn=weirtest.die_with_parent)
	try:
		out, err = p.communicate(timeout=60)
	finally:
		pass
	ok = p.returncode == 0
	print("engine exit %d after Redis came up late" % p.returncode)
	if not ok:
		print(err[-2000:])
	ok = ok and hosts_equal(args, "redis://127.0.0.1:%d" % port, "late", t)
	redis.stop()
	shutil.rmtree(redis.dir, ignore_errors=True)
	return ok


def restart_redis_empty(redis):
	"""A new, empty redis-server on the port the old one had."""
	redis.proc = subprocess.Popen(["redis-server", "--port", str(redis.port), "--bind", "127.0.0.1",
				       "--save", "", "--appendonly", "no", "--dir", redis.dir],
				      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
				      preexec_fn=weirtest.die_with_parent)
	deadline = time.time() + 10
	while time.time() < deadline and redis.cli("PING", check=False).strip() != "PONG":
		time.sleep(0.05)


def stream(redis, key):
	"""Every entry of a stream as a dict of its fields."""
	raw = weirtest.resp(redis.port, [["XRANGE", key, "-", "+"]])[0] or []
	return [dict(zip(f[0::2], f[1::2])) for _, f in raw]


def case_restart(args, pcap, t):
	"""NetFlow v5 from three exporters at a steady pace; Redis is killed,
	the third exporter starts during the outage (its hosts are new), the
	sending stops, Redis comes back empty. Truth is tshark's decoding of
	every datagram sent."""
	import export_truth
	import nfstream
	import weircollect
	import shutil
	if not shutil.which("tshark"):
		print("SKIP: tshark is not installed")
		sys.exit(weirtest.SKIP)
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-restart-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "rs", tmp, extra=["--redis-timeout", "500"])
	addrs = ["127.0.0.%d" % (i + 41) for i in range(3)]
	streams = [nfstream.v5_stream(i, 50 if i < 2 else 30, seed=6) for i in range(3)]
	pre = nfstream.interleave({a: streams[i][:30] for i, a in enumerate(addrs[:2])})
	during = nfstream.interleave({a: streams[i][30 if i < 2 else 0:] for i, a in enumerate(addrs)})
	ok = True
	nfstream.PacedSender(col.port, pre, rate=40).run()
	col.wait_settled(datagrams=len(pre), timeout=20)
	redis.proc.kill()
	redis.proc.wait()
	t0 = time.monotonic()
	nfstream.PacedSender(col.port, during, rate=40).run()
	time.sleep(max(0.0, 3.0 - (time.monotonic() - t0)))
	restart_redis_empty(redis)
	outage = time.monotonic() - t0
	ex, secs, settled = col.wait_settled(datagrams=len(pre) + len(during), timeout=30)
	print("Redis down %.1f s, %d of %d datagrams sent meanwhile; after the restart %d taken (%.1f s)" % (
		outage, len(during), len(pre) + len(during), sum(e.get("datagrams", 0) for e in ex), secs))
	ok &= settled
	h = health(redis, "rs")
	grams = [g for _, g in pre + during]
	tr = export_truth.CflowTruth(grams, 5, tmp, name="restart")
	fails = weircollect.compare_hosts(tr.hosts(), col.json("hosts"), "restart")
	flows = col.json("flows")
	fails += export_truth.compare_flows(tr.flows(), export_truth.weir_flows(flows), "restart")
	# idx:host:IP@0 holds the flows of IP: as conversations, those the records have
	conv_of = {f["id"]: (f["proto"], frozenset(((f["src"], f["sport"]), (f["dst"], f["dport"]))))
		   for f in flows}
	want_idx = {}
	for proto, ends in tr.flows():
		for ip, _ in ends:
			want_idx.setdefault("host:%s@0" % ip, set()).add((proto, ends))
	keys = sorted(k for k in weirtest.resp(redis.port, [["KEYS", "weir:{rs}:idx:host:*"]])[0])
	members = weirtest.resp(redis.port, [["SMEMBERS", k] for k in keys])
	got_idx = {k[len("weir:{rs}:idx:"):]: {conv_of.get(i) for i in m} for k, m in zip(keys, members)}
	if got_idx != want_idx:
		bad = sorted(set(got_idx) ^ set(want_idx)) or \
			[k for k in want_idx if got_idx.get(k) != want_idx[k]]
		fails.append("idx:host:* differ from the records' hosts and conversations (%d keys), e.g. %s" % (
			len(bad), bad[:3]))
	vlan0 = set(weirtest.resp(redis.port, [["SMEMBERS", "weir:{rs}:idx:vlan:0"]])[0])
	if vlan0 != set(conv_of):
		fails.append("idx:vlan:0 has %d flows, the flows list %d" % (len(vlan0), len(conv_of)))
	for line in fails[:10]:
		print(line)
	print("after the restart: %d hosts, %d conversations, %d idx:host sets vs the records: %s" % (
		len(tr.hosts()), len(tr.flows()), len(want_idx), "equal" if not fails else "%d differ" % len(fails)))
	ok &= not fails
	# events: the outage's news came through, and one redis_back that says how many cycles were lost
	ev = stream(redis, "weir:{rs}:events")
	back = [int(e["lost_cycles"]) for e in ev if e.get("what") == "redis_back"]
	lost = int(h.get("publish_lost_cycles", -1))
	# a failed cycle every 200 ms while down, then until the backoff (<= 5 s) lets it reconnect
	lo, hi = int(outage * 1000 / 200 * 0.7), int((outage + 5.5) * 1000 / 200)
	print("redis_back events %s, publish_lost_cycles %d (plausible %d..%d)" % (back, lost, lo, hi))
	if back != [lost] or not lo <= lost <= hi:
		print("want one redis_back event whose lost_cycles equals publish_lost_cycles")
		ok = False
	pre_hosts = set(export_truth.CflowTruth([g for _, g in pre], 5, tmp, name="restart-pre").hosts())
	new_in_outage = {"%s@0" % ip for ip in tr.hosts() if ip not in pre_hosts}
	new_ev = {e["host"] for e in ev if e.get("type") == "new_host"}
	up = [e["exporter"] for e in ev if e.get("type") == "exporter_up"]
	print("new_host events after the restart: %d (hosts first seen during the outage: %d); exporter_up %s" % (
		len(new_ev), len(new_in_outage), up))
	if new_ev != new_in_outage or not new_in_outage or up != [addrs[2]]:
		ok = False
	rc = col.stop()
	with open(col.log.name) as f:
		log = f.read()
	said = "Redis back after %d lost cycles" % lost
	if said not in log:
		print("the log does not say %r:\n%s" % (said, log[-1500:]))
		ok = False
	import re
	final = re.findall(r"final: .*redis ok, \d+ cycles, (\d+) lost", log)
	print("the final status line says %s lost" % final)
	if final != [str(lost)]:	# the same count as publish_lost_cycles
		ok = False
	if int(h.get("redis_reconnects", 0)) < 1:
		print("the reconnect was not counted")
		ok = False
	if rc != 0:
		print("engine exit %s after SIGTERM" % rc)
		ok = False
	return ok


def health(redis, node):
	raw = redis.cli("--raw", "HGETALL", "weir:{%s}:health" % node, check=False).split("\n")
	return {raw[i]: raw[i + 1] for i in range(0, len(raw) - 1, 2)}


def case_slow(args, pcap, t):
	import export_truth
	import nfstream
	import weircollect
	import shutil
	if not shutil.which("tshark"):
		print("SKIP: tshark is not installed")
		sys.exit(weirtest.SKIP)
	try:
		import scapy  # noqa: F401
	except ImportError:
		print("SKIP: python3-scapy is not installed")
		sys.exit(weirtest.SKIP)
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-slow-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "sl", tmp, extra=["--redis-timeout", "500"])
	addrs = ["127.0.0.%d" % (i + 31) for i in range(4)]
	grams = nfstream.interleave({a: nfstream.v5_stream(i, 100, seed=4) for i, a in enumerate(addrs)})
	first = 80	# 2 s of the stream before the freeze, the rest (8 s) during it
	ok = True
	nfstream.PacedSender(col.port, grams[:first], rate=40).run()
	col.wait_settled(datagrams=first, timeout=20)
	before = health(redis, "sl")
	redis.proc.send_signal(signal.SIGSTOP)
	t0 = time.monotonic()
	sender = nfstream.PacedSender(col.port, grams[first:], rate=40)
	sender.start()
	sender.join(timeout=30)
	time.sleep(max(0.0, 10.0 - (time.monotonic() - t0)))
	alive = col.proc.poll() is None
	redis.proc.send_signal(signal.SIGCONT)
	print("Redis frozen for %.1f s; %d datagrams sent meanwhile; engine %s" % (
		time.monotonic() - t0, len(grams) - first, "running" if alive else "exited"))
	ok &= alive
	ex, secs, settled = col.wait_settled(datagrams=len(grams), timeout=30)
	after = health(redis, "sl")
	lost = int(after.get("publish_lost_cycles", 0)) - int(before.get("publish_lost_cycles", 0))
	back = [e for e in redis.cli("--raw", "XRANGE", "weir:{sl}:events", "-", "+", check=False).split("\n")]
	back_lost = [back[i + 2] for i in range(len(back) - 2) if back[i] == "redis_back" and back[i + 1] == "lost_cycles"]
	print("after SIGCONT: %d of %d datagrams taken (%.1f s), lost cycles +%d, redis_back events %s, "
	      "reconnects %s, kernel drops %s" % (sum(e.get("datagrams", 0) for e in ex), len(grams), secs, lost,
						  back_lost, after.get("redis_reconnects"),
						  after.get("collect_kernel_drops")))
	if not settled or lost < 5 or back_lost != [str(lost)] or after.get("collect_kernel_drops") != "0":
		print("want every datagram, >= 5 lost cycles counted, one redis_back event saying how many")
		ok = False
	# the state republished after the freeze, engine still running: exact
	truth = export_truth.CflowTruth(grams_only(grams), 5, tmp, name="slow").hosts()
	fails = weircollect.compare_hosts(truth, col.json("hosts"), "slow")
	for line in fails[:10]:
		print(line)
	print("hosts republished after the freeze vs tshark: %s" % (
		"%d equal" % len(truth) if not fails else "%d differ" % len(fails)))
	ok &= not fails
	ok &= series_through_freeze(redis, "sl", truth, lost, interval_ms=200)	# weircollect's
	ok &= short_freeze(col, redis, tmp, truth, len(grams))
	rc = col.stop()
	if rc != 0:
		print("engine exit %s after SIGTERM" % rc)
		ok = False
	return ok


def series_bound(interval_ms):
	"""Per-cycle points a series keeps for a Redis that is away: twice the
	longest reconnect backoff (5 s, WEIR_REDIS_BACKOFF_MAX_MS) in cycles,
	+ 4, at most 64 (engine/timeseries.c, tests/unit/engine/test_timeseries.c)."""
	return min(2 * 5000 // interval_ms + 4, 64)


def short_freeze(col, redis, tmp, before, n_before):
	"""Redis frozen 4 s (some 20-30 lost cycles: fewer than the bound, 54,
	even with the reconnect backoff after it) while a new exporter sends
	hosts never seen before all through it, so each has points in many of
	the lost cycles: their 1 s series are exact."""
	import export_truth
	import nfstream
	h0 = health(redis, "sl")
	grams = nfstream.interleave({"127.0.0.35": nfstream.v5_stream(4, 40, seed=5)})
	redis.proc.send_signal(signal.SIGSTOP)
	t0 = time.monotonic()
	nfstream.PacedSender(col.port, grams, rate=10).run()
	time.sleep(max(0.0, 4.0 - (time.monotonic() - t0)))
	redis.proc.send_signal(signal.SIGCONT)
	col.wait_settled(datagrams=n_before + len(grams), timeout=30)
	time.sleep(0.6)
	h = health(redis, "sl")
	lost = int(h.get("publish_lost_cycles", 0)) - int(h0.get("publish_lost_cycles", 0))
	new = {ip: v for ip, v in export_truth.CflowTruth(grams_only(grams), 5, tmp, name="short").hosts().items()
	       if ip not in before}
	print("a 4 s freeze: %d new hosts, lost cycles +%d" % (len(new), lost))
	return bool(new) and lost >= 1 and series_through_freeze(
		redis, "sl", new, lost, interval_ms=200, dropped0=int(h0.get("series_points_dropped", 0)))


def series_through_freeze(redis, node, truth, lost, interval_ms, dropped0=0):
	"""The per-cycle (1 s) points of every host add up to tshark's totals
	although a dozen cycles were lost: their points waited for Redis. While
	the lost cycles (and the one that landed) fit the bound, none may be
	dropped; past it, they may fall short only if the engine says so."""
	keys = ["weir:{%s}:ts:1s:host:%s@0" % (node, ip) for ip in sorted(truth)]
	pts = weirtest.resp(redis.port, [["ZRANGE", k, "0", "-1"] for k in keys])
	short = 0
	for ip, members in zip(sorted(truth), pts):
		got = sum(int(m.split(":")[1]) for m in members)
		if got != truth[ip][0] + truth[ip][1]:
			short += 1
	dropped = int(health(redis, node).get("series_points_dropped", 0)) - dropped0
	bound = series_bound(interval_ms)
	print("1 s host series through the freeze: %d of %d hosts sum to tshark's bytes; "
	      "series_points_dropped %d; %d lost cycles, bound %d points" % (
		      len(truth) - short, len(truth), dropped, lost, bound))
	if lost + 1 <= bound:
		if short or dropped:
			print("the lost cycles fit the bound: want every point kept, none dropped")
		return not short and dropped == 0
	if short and not dropped:
		print("points were lost and the health hash does not say so")
	return not short or dropped > 0


def case_purge(args, pcap, t):
	"""Redis frozen (its keys kept) while many more flows end and leave the
	view (flow-history 40) than the engine lists deletions for: at the
	reconnection it purges the node's keys and rewrites everything, so no
	flow:* key, no `flows` member and no idx:* member outlives its flow;
	the overflow is counted (flow_deletes_overflow)."""
	import nfstream
	import weircollect
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-purge-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "pg", tmp,
				    extra=["--redis-timeout", "300", "--flow-history", "40", "--idle-timeout", "1"])
	grams = nfstream.interleave({"127.0.0.51": nfstream.v5_stream(0, 100, seed=8)})
	ok = True
	nfstream.PacedSender(col.port, grams[:20], rate=40).run()
	col.wait_settled(datagrams=20, timeout=20)
	redis.proc.send_signal(signal.SIGSTOP)
	t0 = time.monotonic()
	nfstream.PacedSender(col.port, grams[20:], rate=40).run()
	time.sleep(max(0.0, 6.0 - (time.monotonic() - t0)))	# they all go idle
	redis.proc.send_signal(signal.SIGCONT)
	ex, secs, settled = col.wait_settled(datagrams=len(grams), timeout=30)
	time.sleep(1.5)		# idle flows of the last datagrams leave the view too
	h = health(redis, "pg")
	n = int(h.get("flow_deletes_overflow", 0))
	keys = set(weirtest.resp(redis.port, [["KEYS", "weir:{pg}:flow:*"]])[0])
	ids = {k.rsplit(":", 1)[1] for k in keys}
	zset = set(weirtest.resp(redis.port, [["ZRANGE", "weir:{pg}:flows", "0", "-1"]])[0])
	idx = weirtest.resp(redis.port, [["KEYS", "weir:{pg}:idx:*"]])[0]
	stale = set()
	for m in weirtest.resp(redis.port, [["SMEMBERS", k] for k in idx]):
		stale |= set(m) - zset
	print("after the freeze: %d flow keys, %d in `flows`, %d idx sets with %d ids of gone flows; "
	      "flow_deletes_overflow %d, flows_left_view %s" % (len(keys), len(zset), len(idx), len(stale), n,
								h.get("flows_left_view")))
	if not settled or ids != zset or stale or n == 0:
		print("want no leftover of a gone flow, and the overflow counted")
		ok = False
	# what is left is the 40 flows that ended last, each as the records say
	import export_truth
	tr = export_truth.CflowTruth([g for _, g in grams], 5, tmp, name="purge").flows()
	got = export_truth.weir_flows(col.json("flows"))
	wrong = [k for k in got if got[k] != tr.get(k)]
	print("%d flows in the view (flow-history 40), %d not as the records say" % (len(got), len(wrong)))
	if len(zset) != 40 or len(got) != 40 or wrong:
		ok = False
	if col.stop() != 0:
		ok = False
	return ok


def case_evict(args, pcap, t):
	import nfstream
	import weircollect
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-evict-")
	col = weircollect.Collector(args.weir, args.weirctl, redis, "ev", tmp,
				    extra=["--redis-timeout", "300", "--max-exporters", "1",
					   "--exporter-timeout", "5"])
	a, b = "127.0.0.61", "127.0.0.62"
	ok = True
	nfstream.PacedSender(col.port, [(a, g) for g in nfstream.v5_stream(0, 5, seed=9)], rate=40).run()
	col.wait_settled(datagrams=5, timeout=20)

	def exporters():
		keys = weirtest.resp(redis.port, [["KEYS", "weir:{ev}:exporter:*"]])[0]
		zset = weirtest.resp(redis.port, [["ZRANGE", "weir:{ev}:exporters", "0", "-1"]])[0]
		return sorted(k.rsplit(":", 1)[1] for k in keys), sorted(zset)

	before = exporters()
	time.sleep(6.0)		# a is silent past exporter-timeout: b will take its slot
	h0 = health(redis, "ev")
	t0 = time.monotonic()
	redis.cli("CLIENT", "PAUSE", "3000", "WRITE")
	nfstream.PacedSender(col.port, [(b, g) for g in nfstream.v5_stream(1, 3, seed=9)], rate=40).run()
	time.sleep(max(0.0, 3.5 - (time.monotonic() - t0)))	# the cycles carrying a's DEL time out
	col.wait_settled(datagrams=3, timeout=20)
	time.sleep(1.0)
	h = health(redis, "ev")
	after = exporters()
	lost = int(h.get("publish_lost_cycles", 0)) - int(h0.get("publish_lost_cycles", 0))
	print("exporter hashes / `exporters` before the pause %s, after %s; evicted %s, lost cycles +%d" % (
		before, after, h.get("exporters_evicted"), lost))
	if before != ([a], [a]) or after != ([b], [b]) or h.get("exporters_evicted") != "1" or lost < 1:
		print("want a's hash and member gone after the lost cycles, b's there")
		ok = False
	if col.stop() != 0:
		ok = False
	return ok


def grams_only(pairs):
	return [g for _, g in pairs]


def case_sighup(args, pcap, t):
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-hup-")
	conf = os.path.join(tmp, "weir.conf")
	base = ("local-networks = 10.0.0.0/8\nsubnet = users=10.0.10.0/24\nsubnet = servers=10.0.20.0/24\n"
		"subnet = iot=10.0.30.0/24\npublish-interval = 200\n")
	open(conf, "w").write(base)
	p = subprocess.Popen([args.weir, "-c", conf, "-r", pcap, "--loop", "--redis", redis.url,
			      "--node", "hup", "--eal-mem", "256", "--flow-table-size", "65536",
			      "--active-timeout", "2"],	# replayed flows restart: new flows keep coming
			     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
			     preexec_fn=weirtest.die_with_parent)
	ok = True

	def boundaries():
		return redis.cli("--raw", "XRANGE", "weir:{hup}:events", "-", "+", check=False).count("boundary")

	try:
		deadline = time.time() + 20
		while time.time() < deadline and not health(redis, "hup").get("rx_pkts"):
			time.sleep(0.2)
		time.sleep(1)
		b0, rx0 = boundaries(), int(health(redis, "hup").get("rx_pkts", 0))
		open(conf, "w").write(base + "forbid = iot>servers\n")
		p.send_signal(signal.SIGHUP)
		deadline = time.time() + 15
		while time.time() < deadline and boundaries() == b0:
			time.sleep(0.2)
		b1, rx1 = boundaries(), int(health(redis, "hup").get("rx_pkts", 0))
		print("before SIGHUP: %d boundary events, rx %d; after: %d, rx %d" % (b0, rx0, b1, rx1))
		if b0 != 0 or b1 == 0:
			ok = False
		if rx1 < rx0:
			print("counters went backwards")
			ok = False
		open(conf, "w").write(base + "workers = lots\n")
		p.send_signal(signal.SIGHUP)
		time.sleep(1.5)
		if p.poll() is not None:
			print("the engine exited on a bad configuration")
			ok = False
	finally:
		p.send_signal(signal.SIGTERM)
		try:
			_, err = p.communicate(timeout=30)
		except subprocess.TimeoutExpired:
			p.kill()
			err = ""
			ok = False
	if "keeping the running one" not in err or "configuration reloaded (watch/forbid)" not in err:
		print("the log does not say what happened on SIGHUP:\n" + err[-1500:])
		ok = False
	if p.returncode != 0:
		print("engine exit %s" % p.returncode)
		ok = False
	return ok


def case_bigcycle(args, pcap, t):
	tmp = tempfile.mkdtemp(prefix="weir-big-")
	big = os.path.join(tmp, "big.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "big", "--flows", "30000", "--seed", "2",
			"--out", big], check=True, timeout=300, capture_output=True)
	redis = weirtest.Redis()
	r, secs = weirtest.run_weir(args.weir, ["-r", big, "--redis", redis.url, "--node", "big",
						"--redis-timeout", "10", "--eal-mem", "256",
						"--flow-ring-size", "1024"], check=False)
	h = health(redis, "big")
	hosts = int(redis.cli("ZCARD", "weir:{big}:hosts").strip() or 0)
	print("exit %d in %.1f s, %d hosts, publish_errors %s, ring_waits %s, flow_ring_drops %s" % (
		r.returncode, secs, hosts, h.get("publish_errors"), h.get("ring_waits"), h.get("flow_ring_drops")))
	ok = r.returncode == 0 and hosts > 10000 and h.get("publish_errors") == "0"
	# 30k flows through a 1024-snapshot ring: reading a file, the worker
	# waits for room (counted) and loses nothing
	ok &= int(h.get("ring_waits") or 0) > 0 and h.get("flow_ring_drops") == "0"
	if not ok:
		print("engine log:\n" + r.stderr[-3000:])
	return ok


def through_frozen_cycle(args, node, frames, extra, check):
	"""A live engine on a veth pair of its own (engine_live.py's) whose
	publish cycle waits on a frozen Redis (SIGSTOP, --redis-timeout 30 s)
	while frames arrive; then SIGCONT, SIGTERM, and check(redis, health)."""
	import engine_live as live
	import engine_hostdns as hd
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-frozen-")
	path = os.path.join(tmp, "frames")
	with open(path, "wb") as f:
		f.write(b"".join(struct.pack("!H", len(fr)) + fr for fr in frames))
	ns, ea, eb = live.make_veth(str(os.getpid() % 100000))
	p, ok = None, True
	try:
		p, log = live.start_engine(args, redis, node, ["-i", ea, "-q", "--redis-timeout", "30000"] + extra, tmp, ns)
		if p is None:
			return False
		redis.proc.send_signal(signal.SIGSTOP)
		t0 = time.monotonic()
		time.sleep(0.5)		# a cycle (every 200 ms) is now waiting for its EXEC
		live.sh("ip", "netns", "exec", ns, "/usr/bin/python3", "-c", hd.SEND, eb, path)
		time.sleep(1.0)		# the worker has taken every frame (and folded meanwhile)
		redis.proc.send_signal(signal.SIGCONT)
		print("Redis frozen for %.1f s while %d frames were sent" % (time.monotonic() - t0, len(frames)))
		ok &= live.stop_engine(p, log, node)
		h = health(redis, node)
		ok &= weirtest.check(h.get("rx_pkts") == str(len(frames)), "every frame sent was received")
		ok &= check(redis, h)
	finally:
		if p and p.poll() is None:
			p.kill()
		redis.proc.send_signal(signal.SIGCONT)
		live.sh("ip", "netns", "del", ns, check=False)
	return ok


VERDICT_FLOWS = 6000
def case_verdicts(args, pcap, t):
	import engine_hostdns as hd
	frames = [hd.frame(20000 + i, hd.dns(i, "n%05d.example.net" % i, ans), ans)
		  for i in range(VERDICT_FLOWS) for ans in (False, True)]

	def check(redis, h):
		dns = redis.hgetall("weir:{vd}:app:DNS")
		print("rx_pkts %s, dpi_detected %s, dpi_msg_drops %s, flow_ring_drops %s, ring_waits %s, app:DNS flows %s" % (
			h.get("rx_pkts"), h.get("dpi_detected"), h.get("dpi_msg_drops"), h.get("flow_ring_drops"),
			h.get("ring_waits"), dns.get("flows")))
		ok = weirtest.check(h.get("dpi_msg_drops") == "0" and h.get("flow_ring_drops") == "0",
				    "no verdict or snapshot lost while the cycle waited")
		return ok & weirtest.check(dns.get("flows") == str(VERDICT_FLOWS),
					   "app:DNS counts the %d conversations" % VERDICT_FLOWS)
	return through_frozen_cycle(args, "vd", frames, [], check)


FOLD_FLOWS, FOLD_ROUNDS = 2000, 4
def case_folds(args, pcap, t):
	import engine_hostdns as hd
	q = hd.dns(1, "fold.example.net", False)
	frames = [hd.frame(20000 + i, q) for _ in range(FOLD_ROUNDS) for i in range(FOLD_FLOWS)]

	def check(redis, h):
		ids = redis.cli("ZRANGE", "weir:{fd}:flows", "0", "-1").split()
		short = sum(1 for i in ids if redis.hgetall("weir:{fd}:flow:" + i).get("pkts") != str(FOLD_ROUNDS))
		print("rx_pkts %s, folds_deferred %s, flow_ring_drops %s, %d flows, %d without %d packets" % (
			h.get("rx_pkts"), h.get("folds_deferred"), h.get("flow_ring_drops"), len(ids), short, FOLD_ROUNDS))
		ok = weirtest.check(h.get("flow_ring_drops") == "0", "no snapshot lost while the cycle waited")
		ok &= weirtest.check(int(h.get("folds_deferred") or 0) > 0, "folds waited for the control thread")
		return ok & weirtest.check(len(ids) == FOLD_FLOWS and short == 0,
					   "%d flows, each with its %d packets" % (FOLD_FLOWS, FOLD_ROUNDS))
	return through_frozen_cycle(args, "fd", frames, ["--dpi", "no", "--flow-ring-size", "4096"], check)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["auth", "late", "slow", "sighup", "bigcycle", "restart", "purge", "evict",
					   "verdicts", "folds"],
			required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	args = ap.parse_args()
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-rf-")
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "3", "--out", pcap],
		       check=True, timeout=300, capture_output=True)
	t = truth(args, pcap)
	ok = {"auth": case_auth, "late": case_late, "slow": case_slow, "sighup": case_sighup, "bigcycle": case_bigcycle,
	      "restart": case_restart, "purge": case_purge, "evict": case_evict,
	      "verdicts": case_verdicts, "folds": case_folds}[args.case](args, pcap, t)
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
