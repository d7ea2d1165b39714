#!/usr/bin/python3
"""cluster_redis.py -- weir on a Redis Cluster (3 masters, 3 replicas, on
loopback, node timeout 2 s; weirtest.RedisCluster).

  layer     the connection layer alone (drivers/redis/rcluster.c, driven by
            rc_probe): its slot function equals the server's CLUSTER KEYSLOT
            for keys with and without hash tags; commands through one seed
            land on the right masters (read back by redis-cli -c); a key
            whose slot is being migrated is followed through ASK (with
            ASKING), and after the migration through MOVED, after which the
            map is re-discovered and the next command needs no redirect;
            after a master is killed and its replica promoted, the next
            command's broken connection makes it re-discover and retry.
            Against a plain server (with AUTH) the same calls just work.
  nodes     two engines (--node a and --node b) on the two halves of a
            capture publish into the cluster, each given a different node
            as its seed (b: a replica); every key of a node sits on the
            master of its hash-tag slot, and each node's hosts equal
            tshark's truth for its half. A db other than 0 is refused.
  failover  a live engine (NetFlow v5 on --collect, paced) whose master is
            killed -9: a replica takes over, the engine re-discovers the
            map, counts the lost cycles, goes on publishing on the new
            master, and its final host totals equal the records sent.
  reshard   the same engine's slot is migrated to another master while it
            publishes (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE): its cycles
            meet ASK and MOVED, it re-discovers the map and goes on on the
            new master with its totals intact, counting the redirects.
"""
import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nfstream  # noqa: E402
import weirtest  # noqa: E402

KEYS = ["weir:{local}:hosts", "weir:{a}:meta", "weir:{b}:meta", "weir:nodes", "{}x", "a{b}c{d}",
	"{", "}", "{}", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{user1000}.following",
	"somekey", "foo", "123456789", "weir:{local}:host:10.0.0.1@0", "x{ab", "\u00e9t\u00e9",
	"weir:{node-7}:ts:1m:host:2001:db8::1@30", "k" * 300]


class Probe:
	"""rc_probe run: one weir_rc, commands one line at a time."""

	def __init__(self, exe, port, password=None):
		self.p = subprocess.Popen([exe, "run", "127.0.0.1", str(port)] + ([password] if password else []),
					  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
					  preexec_fn=weirtest.die_with_parent)

	def ask(self, line, timeout=15):
		self.p.stdin.write(line + "\n")
		self.p.stdin.flush()
		r, _, _ = select.select([self.p.stdout], [], [], timeout)
		if not r:
			raise RuntimeError("rc_probe did not answer '%s' within %d s" % (line, timeout))
		return self.p.stdout.readline().rstrip("\n")

	def stats(self):
		return dict(kv.split("=") for kv in self.ask("STATS").split()[1:])

	def close(self):
		self.p.stdin.close()
		self.p.wait(timeout=10)


def case_layer(args):
	ok = True
	c = weirtest.RedisCluster()
	want = [c.cli(c.ports[0], "CLUSTER", "KEYSLOT", k).strip() for k in KEYS]
	got = subprocess.run([args.probe, "slot"] + KEYS, capture_output=True, text=True,
			     timeout=30, check=True).stdout.split()
	bad = [(k, w, g) for k, w, g in zip(KEYS, want, got) if w != g]
	print("slots of %d keys: %d differ from CLUSTER KEYSLOT %s" % (len(KEYS), len(bad), bad[:3]))
	ok &= not bad and len(got) == len(KEYS)

	p = Probe(args.probe, c.ports[0])
	keys = ["k%d" % i for i in range(30)]
	answers = [p.ask("%s SET %s v-%s" % (k, k, k)) for k in keys]
	back = [c.cmd("GET", k)[0] for k in keys]
	masters = {c.master_of(k) for k in keys}
	st = p.stats()
	print("30 SETs through one seed: %d answered +OK, %d read back by redis-cli -c, on %d masters, %s" % (
		answers.count("+OK"), sum(b == "v-" + k for k, b in zip(keys, back)), len(masters), st))
	ok &= answers.count("+OK") == 30 and back == ["v-" + k for k in keys] and len(masters) == 3
	ok &= st["redirects"] == "0" and st["cluster"] == "1"

	# migrate the slot of "mig" from its master S to another master T
	key = "mig"
	p.ask("%s SET %s before" % (key, key))
	slot = int(c.cli(c.ports[0], "CLUSTER", "KEYSLOT", key).strip())
	src = c.master_of(key)
	dst = next(m for m in sorted(set(c.slots().values())) if m != src)
	sid, did = (c.cli(x, "CLUSTER", "MYID").strip() for x in (src, dst))
	c.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
	c.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", did)
	c.cli(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", key)
	a1 = p.ask("%s GET %s" % (key, key))
	st1 = p.stats()
	print("during the migration: GET %s -> %s, %s" % (key, a1, st1))
	ok &= a1 == "$before" and int(st1["redirects"]) == 1
	for m in sorted(set(c.slots().values())):
		c.cli(m, "CLUSTER", "SETSLOT", slot, "NODE", did)
	a2 = p.ask("%s GET %s" % (key, key))
	st2 = p.stats()
	a3 = p.ask("%s SET %s after" % (key, key))
	st3 = p.stats()
	print("after it: GET -> %s (%s), SET -> %s (%s); read back %s" % (a2, st2, a3, st3, c.cmd("GET", key)))
	ok &= a2 == "$before" and int(st2["redirects"]) == 2
	ok &= a3 == "+OK" and st3["redirects"] == st2["redirects"] and int(st3["rediscoveries"]) >= 1
	ok &= c.cmd("GET", key) == ["after"] and c.master_of(key) == dst

	# a failover under the probe: its connection breaks, it re-discovers and retries once
	dead = c.master_of("k0")
	# the replica must hold k0 before its master dies (replication is
	# asynchronous: under a slow build the kill can beat it)
	wait = c.cli(dead, "WAIT", 1, 5000).strip()
	if wait != "1":
		print("WAIT 1 on master %d: %s replicas acknowledged" % (dead, wait))
		ok = False
	c.kill(dead)
	new = c.wait_master("k0", dead, timeout=25)
	a4 = p.ask("k0 GET k0")
	st4 = p.stats()
	# what the new master itself holds is the truth the probe must give
	# back (a replica promoted by a kill -9 can, rarely, have restarted its
	# sync and hold less than the dead master acknowledged)
	held = c.cli(new, "GET", "k0").strip()
	want = "$" + held if held else "(nil)"
	print("master %d killed, %d promoted (holds k0 = %r): GET k0 -> %s (%s)" % (dead, new, held, a4, st4))
	ok &= a4 == want and int(st4["rediscoveries"]) > int(st3["rediscoveries"])
	if held != "v-k0":
		print("note: the promoted replica does not hold k0 (Redis lost it, not the layer)")
	p.close()
	c.stop()

	# a server without cluster support: the same calls, one connection
	plain = weirtest.Redis(password="pw-1")
	p = Probe(args.probe, plain.port, "pw-1")
	a5 = [p.ask("k%d SET k%d x" % (i, i)) for i in range(5)] + [p.ask("k3 GET k3"), p.ask("- DBSIZE")]
	st5 = p.stats()
	print("single server with AUTH: %s (%s)" % (a5, st5))
	ok &= a5 == ["+OK"] * 5 + ["$x", ":5"] and st5["cluster"] == "0" and st5["connects"] == "1"
	p.close()
	plain.stop()
	return ok


def truth(args, pcap):
	r = subprocess.run(["/usr/bin/python3", args.truth, pcap], capture_output=True,
			   text=True, timeout=600, check=True)
	return json.loads(r.stdout)


def node_hosts(c, node):
	"""{(ip, vlan): (bytes_sent, bytes_rcvd)} read from the master of the
	node's slot alone: a MOVED error there would mean a misplaced key."""
	pre = "weir:{%s}:" % node
	ids = c.on_master(pre, [["ZRANGE", pre + "hosts", 0, -1]])[0]
	rows = c.on_master(pre, [["HGETALL", pre + "host:" + i] for i in ids])
	out = {}
	for r in rows:
		if isinstance(r, Exception):
			raise r
		h = dict(zip(r[0::2], r[1::2]))
		out[(h["ip"], int(h["vlan"]))] = (int(h["bytes_sent"]), int(h["bytes_rcvd"]))
	return out


def case_nodes(args):
	ok = True
	tmp = tempfile.mkdtemp(prefix="weir-cluster-")
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "3", "--out", pcap],
		       check=True, capture_output=True, timeout=120)
	halves = {"a": os.path.join(tmp, "a.pcap"), "b": os.path.join(tmp, "b.pcap")}
	subprocess.run(["editcap", "-r", pcap, halves["a"], "1-700"], check=True, capture_output=True)
	subprocess.run(["editcap", "-r", pcap, halves["b"], "701-1000000"], check=True, capture_output=True)
	c = weirtest.RedisCluster()
	seeds = {"a": c.ports[0], "b": c.ports[-1]}	# the last node is a replica
	procs = {n: subprocess.Popen([args.weir, "--quiet", "-r", halves[n], "--node", n,
				      "--redis", "redis://127.0.0.1:%d" % seeds[n]],
				     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
				     preexec_fn=weirtest.die_with_parent) for n in halves}
	for n, p in procs.items():
		_, err = p.communicate(timeout=120)
		print("engine %s (seed port %d, %s) exit %d" % (n, seeds[n], c.cli(seeds[n], "ROLE").split()[0],
								  p.returncode))
		if p.returncode != 0:
			print(err[-2000:])
			ok = False
	for n in halves:
		t = truth(args, halves[n])
		want = {(h["ip"], h["vlan"]): (h["bytes_sent"], h["bytes_rcvd"]) for h in t["hosts"]}
		have = node_hosts(c, n)
		health = c.hgetall("weir:{%s}:health" % n)
		print("node %s on master %d: %d hosts, tshark %d, equal: %s; redirects %s, rediscoveries %s" % (
			n, c.master_of("weir:{%s}:" % n), len(have), len(want), have == want,
			health.get("redis_redirects"), health.get("redis_rediscoveries")))
		if have != want:
			diff = set(want.items()) ^ set(have.items())
			print("  %d rows differ, e.g. %s" % (len(diff), sorted(diff)[:4]))
			ok = False
		ok &= "redis_redirects" in health
	reg = c.hgetall("weir:nodes")
	print("node registry: %s" % sorted(reg))
	ok &= sorted(reg) == ["a", "b"]
	r, _ = weirtest.run_weir(args.weir, ["-r", halves["a"], "--node", "d1",
					     "--redis", "redis://127.0.0.1:%d/1" % c.ports[0]], check=False)
	refused = r.returncode == 1 and "database 0" in r.stderr
	print("db 1 on a cluster: exit %d, %s" % (r.returncode, "refused" if refused else r.stderr[-500:]))
	ok &= refused
	c.stop()
	return ok


def read(port, *cmds):
	"""Commands to one node; Nones when it does not answer (killed)."""
	try:
		return weirtest.resp(port, [list(x) for x in cmds], timeout=5)
	except OSError:
		return [None] * len(cmds)


class LiveEngine:
	"""An engine collecting NetFlow v5 under node f, seeded with the master
	of its own slot, fed 480 datagrams of 10 records at 40 a second (12 s);
	the truth is the sum of the records sent."""

	def __init__(self, args, c):
		self.c = c
		self.node = "f"
		self.pre = "weir:{%s}:" % self.node
		self.master = c.master_of(self.pre)
		port = weirtest.free_port()
		self.log = tempfile.NamedTemporaryFile(prefix="weir-cluster-", suffix=".log", delete=False)
		self.proc = subprocess.Popen([args.weir, "--collect", "udp://127.0.0.1:%d" % port,
					      "--node", self.node, "--redis", "redis://127.0.0.1:%d" % self.master,
					      "--publish-interval", "200", "--redis-timeout", "1000", "-q"],
					     stdout=self.log, stderr=subprocess.STDOUT,
					     preexec_fn=weirtest.die_with_parent)
		deadline = time.time() + 30
		while time.time() < deadline and self.meta(self.master)[1] != "running":
			time.sleep(0.1)
		if self.meta(self.master)[1] != "running":
			raise RuntimeError("the engine did not report running within 30 s")
		rng = random.Random(7)
		grams, self.want, self.records = [], {}, 0
		for _ in range(480):
			recs = nfstream.random_records(rng, 10, "10.1.1", "10.200.0")
			grams.append(("127.0.0.1", nfstream.v5_datagram(self.records, recs)))
			self.records += len(recs)
			for src, dst, _, _, _, pkts, nbytes in recs:
				self.want.setdefault(src, [0, 0])[0] += nbytes
				self.want.setdefault(dst, [0, 0])[1] += nbytes
		self.sender = nfstream.PacedSender(port, grams, 40)
		self.sender.start()

	def meta(self, port):
		"""(cycle, state) in the node's meta hash on that node."""
		r = read(port, ("HGET", self.pre + "meta", "cycle"), ("HGET", self.pre + "meta", "state"))
		return (int(r[0]) if isinstance(r[0], str) else 0), r[1]

	def advances(self, port, what, since):
		"""Waits (bounded) for the meta cycle on PORT to move 3 past where it is."""
		c0 = self.meta(port)[0]
		deadline = time.time() + 20
		while time.time() < deadline and self.meta(port)[0] <= c0 + 2:
			time.sleep(0.2)
		c1 = self.meta(port)[0]
		print("%s: cycle on %d went %d -> %d (%.1f s later)" % (what, port, c0, c1, time.time() - since))
		return c1 > c0 + 2

	def finish(self, port):
		"""Waits for every record, stops the engine, compares on PORT.
		Returns (ok, health)."""
		self.sender.join(timeout=30)
		deadline = time.time() + 20
		got = 0
		while time.time() < deadline:
			r = read(port, ("HGET", self.pre + "exporter:127.0.0.1", "records"))[0]
			got = int(r) if isinstance(r, str) else 0
			if got >= self.records:
				break
			time.sleep(0.2)
		self.proc.send_signal(signal.SIGTERM)
		try:
			rc = self.proc.wait(timeout=30)
		except subprocess.TimeoutExpired:
			self.proc.kill()
			rc = "timeout"
		health = dict(zip(*[iter(read(port, ("HGETALL", self.pre + "health"))[0] or [])] * 2))
		print("engine exit %s; %d/%d records seen; health: publish_lost_cycles %s, publish_errors %s, "
		      "redis_reconnects %s, redis_rediscoveries %s, redis_redirects %s" % (
			      rc, got, self.records, health.get("publish_lost_cycles"),
			      health.get("publish_errors"), health.get("redis_reconnects"),
			      health.get("redis_rediscoveries"), health.get("redis_redirects")))
		ok = rc == 0 and got == self.records
		have = {}
		ids = read(port, ("ZRANGE", self.pre + "hosts", 0, -1))[0] or []
		for r in weirtest.resp(port, [["HGETALL", self.pre + "host:" + i] for i in ids]):
			h = dict(zip(r[0::2], r[1::2]))
			have[h["ip"]] = [int(h["bytes_sent"]), int(h["bytes_rcvd"])]
		print("hosts on %d: %d, in the records sent: %d; equal: %s" % (
			port, len(have), len(self.want), have == self.want))
		if have != self.want:
			diff = [(ip, have.get(ip), self.want.get(ip)) for ip in sorted(set(have) | set(self.want))
				if have.get(ip) != self.want.get(ip)]
			print("  %d differ, e.g. %s" % (len(diff), diff[:4]))
			ok = False
		if not ok:
			with open(self.log.name) as f:
				print(f.read()[-3000:])
		os.unlink(self.log.name)
		return ok, health


def case_failover(args):
	c = weirtest.RedisCluster()
	e = LiveEngine(args, c)
	time.sleep(3)
	before = e.meta(e.master)[0]
	t_kill = time.time()
	c.kill(e.master)
	new = c.wait_master(e.pre, e.master, timeout=25)
	print("killed master %d (the engine's seed) at cycle %d; replica %d promoted after %.1f s" % (
		e.master, before, new, time.time() - t_kill))
	ok = e.advances(new, "after the failover", t_kill)
	fine, health = e.finish(new)
	ok &= fine and int(health.get("publish_lost_cycles", 0)) > 0
	ok &= int(health.get("redis_rediscoveries", 0)) >= 1
	c.stop()
	return ok


def case_reshard(args):
	"""The engine's slot moves to another master while it publishes: its
	cycles meet ASK, then MOVED, it re-discovers and goes on there."""
	c = weirtest.RedisCluster()
	e = LiveEngine(args, c)
	time.sleep(2)
	src = e.master
	dst = next(m for m in sorted(set(c.slots().values())) if m != src)
	slot = int(c.cli(src, "CLUSTER", "KEYSLOT", e.pre).strip())
	sid, did = (c.cli(x, "CLUSTER", "MYID").strip() for x in (src, dst))
	t0 = time.time()
	c.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
	c.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", did)
	moved = 0
	for _ in range(100):
		keys = c.cli(src, "CLUSTER", "GETKEYSINSLOT", slot, 1000).split()
		if not keys:
			break
		c.cli(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "REPLACE", "KEYS", *keys)
		moved += len(keys)
	for m in [dst, src] + [x for x in sorted(set(c.slots().values())) if x not in (src, dst)]:
		c.cli(m, "CLUSTER", "SETSLOT", slot, "NODE", did)
	print("slot %d moved from %d to %d with %d keys in %.1f s" % (slot, src, dst, moved, time.time() - t0))
	ok = c.master_of(e.pre) == dst
	ok &= e.advances(dst, "after the move", t0)
	fine, health = e.finish(dst)
	ok &= fine and int(health.get("redis_redirects", 0)) >= 1
	ok &= int(health.get("redis_rediscoveries", 0)) >= 1
	left = c.cli(src, "CLUSTER", "COUNTKEYSINSLOT", slot).strip()
	print("keys of the slot left on the old master: %s" % left)
	ok &= left == "0"
	c.stop()
	return ok


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", required=True, choices=["layer", "nodes", "failover", "reshard"])
	ap.add_argument("--weir", required=True)
	ap.add_argument("--probe", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	args = ap.parse_args()
	if args.case != "layer":
		weirtest.need_root()
	t0 = time.time()
	ok = {"layer": case_layer, "nodes": case_nodes, "failover": case_failover,
	      "reshard": case_reshard}[args.case](args)
	print("%s in %.1f s" % ("PASS" if ok else "FAIL", time.time() - t0))
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
