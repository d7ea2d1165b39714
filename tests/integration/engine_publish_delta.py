#!/usr/bin/python3
"""engine_publish_delta.py -- what Redis holds when the engine publishes
only what changed (issue #8): after the first whole write of a flow's or a
host's hash, a cycle sends the fields that move; index sets and sorted-set
scores go out grouped. Readers must see exactly what a whole rewrite shows.

  collect   a NetFlow v5 stream built here, sent over 10 s at a pace to
            `weir --collect`: 120 flows in three groups that start at 0, 4
            and 7 s, each flow getting records (both directions) all along,
            so every flow is written many times. From 3.5 to 5.5 s Redis
            refuses writes (maxmemory 1: each cycle ends in EXECABORT, the
            connection stays up), so the first write of the second group is
            lost and must be made again whole. Then:
              - every flow hash against the records sent (addresses, ports,
                protocol, bytes/packets each way, first/last seen, exporter),
                every field docs/redis-keys.md lists present, the fields
                that move each cycle first in its hash, its score in
                `flows` its bytes, and the flow in each idx:* set it belongs
                to; every host's totals and `hosts` score against the records,
                its hostapps adding up to its traffic;
              - publish_errors rose and redis_reconnects did not (the cycles
                were refused, not cut);
              - SIGHUP makes the engine rewrite its whole state: every flow,
                host, hostapps and idx key must read the same before and after;
              - SIGTERM ends every flow: each hash then says state `ended`,
                end_reason `flush`, and flows:ended has each flow once.
The truth is the records this script sent, never anything weir computed.
"""
import argparse
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import weircollect  # noqa: E402
import weirtest  # noqa: E402

NODE = "pd"
P = "weir:{%s}:" % NODE
EXPORTER = "127.0.0.61"
RATE = 25.0                     # datagrams a second
N_GRAMS = 250                   # 10 s
GROUP_START = (0, 100, 175)     # datagram where each group's flows begin
OOM = (3.5, 5.5)                # seconds into the stream Redis refuses writes
UPTIME = 100000
FLOW_FIELDS = ["src", "dst", "sport", "dport", "proto", "vlan", "bytes", "pkts", "bytes_fwd", "pkts_fwd",
	       "bytes_rev", "pkts_rev", "first_seen", "last_seen", "tcp_flags", "state", "end_reason",
	       "src_mac", "dst_mac", "worker", "exporter", "in_if", "out_if", "app", "application",
	       "category", "detection"]
# The fields written every cycle come first in a hash, where Redis's
# listpack finds them soonest (HGETALL returns a small hash in that order).
FLOW_MOVING = ["bytes", "pkts", "bytes_fwd", "pkts_fwd", "bytes_rev", "pkts_rev", "last_seen", "tcp_flags"]
HOST_MOVING = ["bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd", "flows", "flows_active", "peers",
	       "last_seen", "bps_sent", "bps_rcvd"]
HOST_FIELDS = ["ip", "vlan", "name", "mac", "bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd", "flows",
	       "flows_active", "peers", "first_seen", "last_seen", "local", "subnet", "bps_sent", "bps_rcvd"]


def v5(seq, export_ms, records):
	"""records: [(src, dst, sport, dport, proto, pkts, bytes, first_ago_ms, last_ago_ms)]"""
	h = struct.pack("!HHIIIIBBH", 5, len(records), UPTIME, export_ms // 1000,
			(export_ms % 1000) * 1000000, seq, 0, 0, 0)
	body = b""
	for src, dst, sport, dport, proto, pkts, nbytes, fa, la in records:
		body += struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton(src), socket.inet_aton(dst),
				    bytes(4), 1, 2, pkts, nbytes, UPTIME - fa, UPTIME - la, sport, dport, 0,
				    0x18 if proto == 6 else 0, proto, 0, 0, 0, 0, 0, 0)
	return h + body


class Stream:
	"""The flows, and per datagram the records due; truth filled in as sent."""

	def __init__(self, seed):
		rng = random.Random(seed)
		self.flows = []
		for g in range(3):
			for i in range(40):
				src = "10.77.%d.%d" % (g, 1 + i % 13)
				dst = "10.88.0.%d" % (1 + rng.randrange(9))
				self.flows.append((g, src, dst, rng.randint(1024, 65000), rng.choice((53, 80, 443, 8080)),
						   rng.choice((6, 17))))
		self.rng = rng
		self.truth = {}         # flow key -> dict
		self.records = 0
		self.lock = threading.Lock()

	def gram(self, i, now_ms):
		recs = []
		live = [f for f in self.flows if i >= GROUP_START[f[0]]]
		for f in self.rng.sample(live, min(10, len(live))):
			_, src, dst, sport, dport, proto = f
			back = self.rng.random() < 0.3
			pkts = self.rng.randint(1, 30)
			nbytes = pkts * self.rng.randint(60, 1400)
			fa, la = self.rng.randint(2000, 9000), self.rng.randint(0, 1500)
			r = (dst, src, dport, sport) if back else (src, dst, sport, dport)
			recs.append(r + (proto, pkts, nbytes, fa, la))
			with self.lock:
				t = self.truth.get(f)
				if t is None:	# the first record's source is the initiator
					t = self.truth[f] = {"src": r[0], "dst": r[1], "sport": r[2], "dport": r[3],
							     "proto": proto, "bf": 0, "pf": 0, "br": 0, "pr": 0,
							     "first": now_ms - fa, "last": now_ms - la}
				fwd = r[0] == t["src"] and r[2] == t["sport"]
				t["bf" if fwd else "br"] += nbytes
				t["pf" if fwd else "pr"] += pkts
				t["first"] = min(t["first"], now_ms - fa)
				t["last"] = max(t["last"], now_ms - la)
				self.records += 1
		return v5(i * 10, now_ms, recs)


def hgetall_many(port, keys):
	out = {}
	for i in range(0, len(keys), 500):
		part = keys[i:i + 500]
		for k, v in zip(part, weirtest.resp(port, [["HGETALL", k] for k in part])):
			out[k] = dict(zip(v[0::2], v[1::2]))
	return out


def health(port):
	v = weirtest.resp(port, [["HGETALL", P + "health"]])[0]
	return dict(zip(v[0::2], v[1::2]))


def cycle(port):
	v = weirtest.resp(port, [["HGET", P + "meta", "cycle"]])[0]
	return int(v) if v else 0


def wait_cycles(port, n, timeout=30):
	c0, t0 = cycle(port), time.time()
	while time.time() - t0 < timeout:
		if cycle(port) >= c0 + n:
			return True
		time.sleep(0.05)
	return False


def snapshot(port):
	"""Every flow, host, hostapps and idx key with its content."""
	keys = []
	cur = "0"
	while True:
		cur, batch = weirtest.resp(port, [["SCAN", cur, "MATCH", P + "*", "COUNT", "1000"]])[0]
		keys += batch
		if cur == "0":
			break
	keys = sorted(k for k in keys if k[len(P):].split(":")[0] in ("flow", "host", "hostapps", "idx"))
	types = weirtest.resp(port, [["TYPE", k] for k in keys])
	cmds = [["HGETALL", k] if t == "hash" else ["ZRANGE", k, "0", "-1", "WITHSCORES"] if t == "zset"
		else ["SMEMBERS", k] for k, t in zip(keys, types)]
	out = {}
	for k, t, v in zip(keys, types, weirtest.resp(port, cmds)):
		out[k] = dict(zip(v[0::2], v[1::2])) if t in ("hash", "zset") else sorted(v)
	return out


def check_flows(port, stream, final):
	fails = []
	ids = weirtest.resp(port, [["ZRANGE", P + "flows", "0", "-1", "WITHSCORES"]])[0]
	scores = dict(zip(ids[0::2], ids[1::2]))
	hashes = hgetall_many(port, [P + "flow:" + i for i in scores])
	by_key = {}
	for i in scores:
		h = hashes[P + "flow:" + i]
		by_key[(h.get("src"), h.get("dst"), h.get("sport"), h.get("dport"))] = (i, h)
	if len(scores) != len(stream.truth):
		fails.append("flows: %d in P flows, %d sent" % (len(scores), len(stream.truth)))
	idx_cmds, idx_want = [], []
	for f, t in stream.truth.items():
		got = by_key.get((t["src"], t["dst"], str(t["sport"]), str(t["dport"])))
		name = "%s:%d > %s:%d" % (t["src"], t["sport"], t["dst"], t["dport"])
		if not got:
			fails.append("flow %s: missing" % name)
			continue
		fid, h = got
		want = {"proto": t["proto"], "vlan": 0, "bytes": t["bf"] + t["br"], "pkts": t["pf"] + t["pr"],
			"bytes_fwd": t["bf"], "pkts_fwd": t["pf"], "bytes_rev": t["br"], "pkts_rev": t["pr"],
			"first_seen": t["first"], "last_seen": t["last"], "exporter": EXPORTER,
			"in_if": 1, "out_if": 2,
			"state": "ended" if final else "active", "end_reason": "flush" if final else ""}
		for k, v in want.items():
			if h.get(k) != str(v):
				fails.append("flow %s (group %d): %s %r, sent %r" % (name, f[0], k, h.get(k), v))
		missing = [k for k in FLOW_FIELDS if k not in h]
		if missing:
			fails.append("flow %s (group %d): no %s" % (name, f[0], ", ".join(missing)))
		if list(h)[:len(FLOW_MOVING)] != FLOW_MOVING:
			fails.append("flow %s (group %d): hash begins %s, not with the moving fields" % (
				name, f[0], list(h)[:len(FLOW_MOVING)]))
		if scores[fid] != str(t["bf"] + t["br"]):
			fails.append("flow %s: score %s in P flows, bytes %d" % (name, scores[fid], t["bf"] + t["br"]))
		for s in ["host:%s@0" % t["src"], "host:%s@0" % t["dst"], "vlan:0", "subnet:remote>remote",
			  "port:%d" % t["sport"], "port:%d" % t["dport"], "app:%s" % h.get("application")]:
			idx_cmds.append(["SISMEMBER", P + "idx:" + s, fid])
			idx_want.append("flow %s not in idx:%s" % (name, s))
	for ok, msg in zip(weirtest.resp(port, idx_cmds), idx_want):
		if ok != 1:
			fails.append(msg)
	return fails, len(scores)


def check_hosts(port, stream):
	fails = []
	tot = defaultdict(lambda: [0, 0, 0, 0, 0])	# bytes sent, rcvd, pkts sent, rcvd, traffic
	for t in stream.truth.values():
		for a, b, by, pk in ((t["src"], t["dst"], t["bf"], t["pf"]), (t["dst"], t["src"], t["br"], t["pr"])):
			tot[a][0] += by
			tot[a][2] += pk
			tot[b][1] += by
			tot[b][3] += pk
		tot[t["src"]][4] += t["bf"] + t["br"]
		tot[t["dst"]][4] += t["bf"] + t["br"]
	ids = ["%s@0" % a for a in sorted(tot)]
	hashes = hgetall_many(port, [P + "host:" + i for i in ids])
	scores = weirtest.resp(port, [["ZSCORE", P + "hosts", i] for i in ids])
	apps = weirtest.resp(port, [["ZRANGE", P + "hostapps:" + i, "0", "-1", "WITHSCORES"] for i in ids])
	for a, i, sc, ap in zip(sorted(tot), ids, scores, apps):
		h, t = hashes[P + "host:" + i], tot[a]
		want = {"ip": a, "vlan": 0, "bytes_sent": t[0], "bytes_rcvd": t[1], "pkts_sent": t[2], "pkts_rcvd": t[3]}
		for k, v in want.items():
			if h.get(k) != str(v):
				fails.append("host %s: %s %r, sent %r" % (i, k, h.get(k), v))
		missing = [k for k in HOST_FIELDS if k not in h]
		if missing:
			fails.append("host %s: no %s" % (i, ", ".join(missing)))
		if list(h)[:len(HOST_MOVING)] != HOST_MOVING:
			fails.append("host %s: hash begins %s, not with the moving fields" % (i, list(h)[:len(HOST_MOVING)]))
		if sc != str(t[0] + t[1]):
			fails.append("host %s: score %s in P hosts, bytes %d" % (i, sc, t[0] + t[1]))
		if sum(int(float(x)) for x in ap[1::2]) != t[4]:
			fails.append("host %s: hostapps add up to %d, its flows carried %d" % (
				i, sum(int(float(x)) for x in ap[1::2]), t[4]))
	return fails, len(ids)


def report(label, fails):
	for line in fails[:12]:
		print("  " + line)
	if len(fails) > 12:
		print("  ... %d more" % (len(fails) - 12))
	print("%s: %s" % (label, "ok" if not fails else "%d differences" % len(fails)))
	return not fails


def case_collect(args):
	redis = weirtest.Redis()
	tmp = tempfile.mkdtemp(prefix="weir-pd-")
	uport = weircollect.free_udp_port()
	log = open(os.path.join(tmp, "weir.log"), "w")
	eng = subprocess.Popen([args.weir, "--collect", "udp://127.0.0.1:%d" % uport, "--redis", redis.url,
				"--node", NODE, "--publish-interval", "200", "--idle-timeout", "600", "-q"],
			       stdout=log, stderr=subprocess.STDOUT, preexec_fn=weirtest.die_with_parent)
	ok = True
	try:
		t0 = time.time()
		while time.time() - t0 < 30 and cycle(redis.port) < 1:
			time.sleep(0.05)
		stream = Stream(seed=8)
		sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		sock.bind((EXPORTER, 0))
		oom_on = oom_off = None
		start = time.monotonic()
		for i in range(N_GRAMS):
			el = time.monotonic() - start
			if oom_on is None and el >= OOM[0]:
				redis.cli("CONFIG", "SET", "maxmemory", "1")
				oom_on = health(redis.port)
			if oom_on is not None and oom_off is None and el >= OOM[1]:
				redis.cli("CONFIG", "SET", "maxmemory", "0")
				oom_off = True
			sock.sendto(stream.gram(i, int(time.time() * 1000)), ("127.0.0.1", uport))
			ahead = start + (i + 1) / RATE - time.monotonic()
			if ahead > 0:
				time.sleep(ahead)
		sock.close()
		# settled: every record taken and three cycles landed since
		t1 = time.time()
		while time.time() - t1 < 30:
			h = health(redis.port)
			if int(h.get("xflow_records", 0)) >= stream.records:
				break
			time.sleep(0.1)
		wait_cycles(redis.port, 3)
		h = health(redis.port)
		errors = int(h.get("publish_errors", 0)) - int(oom_on.get("publish_errors", 0))
		print("%d records of %d flows sent; engine took %s; cycles refused during the OOM window: %d; "
		      "reconnects %s" % (stream.records, len(stream.truth), h.get("xflow_records"), errors,
					 h.get("redis_reconnects")))
		if errors < 3 or h.get("redis_reconnects") != "0":
			print("want >= 3 refused cycles and no reconnect")
			ok = False
		fails, n = check_flows(redis.port, stream, final=False)
		ok &= report("%d flows, their indexes, against the records sent" % n, fails)
		fails, n = check_hosts(redis.port, stream)
		ok &= report("%d hosts against the records sent" % n, fails)

		before = snapshot(redis.port)
		eng.send_signal(signal.SIGHUP)
		wait_cycles(redis.port, 3)
		after = snapshot(redis.port)
		diff = ["%s: %s -> %s" % (k, str(before.get(k))[:200], str(after.get(k))[:200])
			for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
		ok &= report("%d keys the same after the whole state was rewritten (SIGHUP)" % len(after), diff)
	finally:
		eng.send_signal(signal.SIGTERM)
		try:
			eng.wait(timeout=30)
		except subprocess.TimeoutExpired:
			eng.kill()
			eng.wait()
			ok = False
	if eng.returncode != 0:
		print("engine exit %s after SIGTERM (log %s)" % (eng.returncode, log.name))
		ok = False
	fails, n = check_flows(redis.port, stream, final=True)
	ok &= report("%d flows after SIGTERM (ended, flush)" % n, fails)
	ended = weirtest.resp(redis.port, [["XRANGE", P + "flows:ended", "-", "+"]])[0]
	ids = [dict(zip(e[1][0::2], e[1][1::2])).get("id") for e in ended]
	if sorted(ids) != sorted(set(ids)) or len(ids) != len(stream.truth):
		print("flows:ended: %d entries, %d distinct, %d flows" % (len(ids), len(set(ids)), len(stream.truth)))
		ok = False
	return ok


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", choices=["collect"], required=True)
	ap.add_argument("--weir", required=True)
	args = ap.parse_args()
	weirtest.need_root()
	ok = {"collect": case_collect}[args.case](args)
	print("PASS" if ok else "FAIL")
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
