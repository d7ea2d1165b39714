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
            datagram sent, before and during the freeze.
  sighup    a live engine reloads its configuration on SIGHUP: a `forbid`
            rule added to the file starts producing boundary events, the
            counters go on from where they were (nothing reset), and a file
            with an error is refused while the engine keeps running.
  bigcycle  a publish cycle far larger than the command timeout (20k hosts,
            --redis-timeout 10 ms) still lands: EXEC, which runs the whole
            transaction, gets time in proportion to the cycle.
  restart   a live engine (a capture replayed in a loop) loses its Redis,
            which comes back empty: the engine reconnects, counts the lost
            cycles, and rewrites its whole state (hosts reappear without any
            new traffic being needed for them).
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


def case_restart(args, pcap, t):
	redis = weirtest.Redis()
	p = subprocess.Popen([args.weir, "-r", pcap, "--loop", "--redis", redis.url,
			      "--node", "rs", "--publish-interval", "200", "--eal-mem", "256",
			      "--flow-table-size", "65536"],
			     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
			     preexec_fn=weirtest.die_with_parent)
	ok = True
	try:
		deadline = time.time() + 20
		while time.time() < deadline and not redis.cli("EXISTS", "weir:{rs}:meta", check=False).strip() == "1":
			time.sleep(0.2)
		port = redis.port
		redis.proc.kill()
		redis.proc.wait()
		time.sleep(1.5)		# a few cycles lost
		redis.proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
					       "--save", "", "--appendonly", "no", "--dir", redis.dir],
					      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
				      preexec_fn=weirtest.die_with_parent)
		deadline = time.time() + 20
		n = 0
		while time.time() < deadline:
			n = int(redis.cli("ZCARD", "weir:{rs}:hosts", check=False).strip() or 0)
			if n >= len(t["hosts"]):
				break
			time.sleep(0.2)
		h = {}
		raw = redis.cli("HGETALL", "weir:{rs}:health", check=False).split("\n")
		for i in range(0, len(raw) - 1, 2):
			h[raw[i]] = raw[i + 1]
		print("after the restart: %d hosts back (capture has %d), redis_reconnects %s, "
		      "publish_errors %s" % (n, len(t["hosts"]), h.get("redis_reconnects"), h.get("publish_errors")))
		if n < len(t["hosts"]):
			ok = False
		if int(h.get("redis_reconnects", 0)) < 1:
			print("the reconnect was not counted")
			ok = False
	finally:
		p.send_signal(signal.SIGTERM)
		try:
			p.wait(timeout=30)
		except subprocess.TimeoutExpired:
			p.kill()
			ok = False
	if p.returncode != 0:
		print("engine exit %s after SIGTERM: %s" % (p.returncode, p.stderr.read()[-1000:]))
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
	rc = col.stop()
	if rc != 0:
		print("engine exit %s after SIGTERM" % rc)
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
						"--redis-timeout", "10", "--eal-mem", "256"], check=False)
	h = health(redis, "big")
	hosts = int(redis.cli("ZCARD", "weir:{big}:hosts").strip() or 0)
	print("exit %d in %.1f s, %d hosts, publish_errors %s" % (r.returncode, secs, hosts, h.get("publish_errors")))
	return r.returncode == 0 and hosts > 10000 and h.get("publish_errors") == "0"


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["auth", "late", "slow", "sighup", "bigcycle", "restart"], required=True)
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
	      "restart": case_restart}[args.case](args, pcap, t)
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
