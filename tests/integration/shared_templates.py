#!/usr/bin/python3
"""shared_templates.py -- NetFlow v9 and IPFIX templates shared through
Redis: an engine decodes data whose templates only another engine (or its
own previous run) received.

Datagrams are built here field by field (struct), so the truth is the
numbers written into them. Two exporters speak from their own loopback
addresses: NetFlow v9 from 127.0.0.21, source id 3, with a data template
(256) and an options template (257) saying 1 packet in 10 is sampled; IPFIX
from 127.0.0.22, observation domain 5, with a template (300) of 8-byte
counters and millisecond times. One redis-server; every engine collects on
its own UDP port under its own node id:

  1. engine a gets templates and data: its hosts == the records' sums (v9
     bytes and packets x 10), and Redis holds weir:tmpl:{127.0.0.21}:3
     fields v9:256 and v9:257 and weir:tmpl:{127.0.0.22}:5 field ipfix:300,
     each `SETID LEARNT_MS HEX` with HEX the template record's bytes as
     built here, a time within this test, an expiry of 30 minutes at most.
  2. engine b gets data only (templates stripped, other hosts): its hosts
     == the truth, sampling included (the options template came from Redis
     too); its exporters hold 2 and 1 templates, all from Redis, nothing
     held, no error; its health counts 3 templates_from_redis.
  3. engine c, share-templates no, gets data only: no host, no record,
     and its exporters count every data set they sent as held (`held`).
  4. engine a is restarted (SIGTERM, then a new run under node a) and gets
     data only: it decodes it. An IPFIX withdrawal of 300 sent to it then
     removes ipfix:300 from Redis, and v9:256 stays.

Usage: shared_templates.py --weir W --weirctl C
Exit 77 (skip) without root or redis-server.
"""
import argparse
import os
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import weirtest  # noqa: E402
import weircollect  # noqa: E402

V9_ADDR, V9_SRC = "127.0.0.21", 3
IX_ADDR, IX_DOM = "127.0.0.22", 5
RATE = 10
FAILS = []


def check(ok, what):
	print("%s: %s" % ("ok  " if ok else "FAIL", what))
	if not ok:
		FAILS.append(what)


def ip4(text):
	return socket.inet_aton(text)


def pad4(b):
	return b + b"\0" * (-len(b) % 4)


# ---- NetFlow v9 (RFC 3954) -------------------------------------------------

# template 256: (type, length) x 9, a record of 4+4+2+2+1+4+4+4+4 = 29 bytes
#   8 IPV4_SRC_ADDR, 12 IPV4_DST_ADDR, 7 L4_SRC_PORT, 11 L4_DST_PORT,
#   4 PROTOCOL, 1 IN_BYTES, 2 IN_PKTS, 22 FIRST_SWITCHED, 21 LAST_SWITCHED
V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4)]
V9_TMPL = struct.pack("!HH", 256, len(V9_FIELDS)) + b"".join(struct.pack("!HH", *f) for f in V9_FIELDS)
# options template 257: scope length 4, options length 4;
#   scope 1 (System) of 4 bytes, option 34 SAMPLING_INTERVAL of 4 bytes
V9_OPT = struct.pack("!HHH", 257, 4, 4) + struct.pack("!HHHH", 1, 4, 34, 4)


def v9_datagram(seq, flowsets):
	now = int(time.time())
	uptime = 3600000
	body = b"".join(flowsets)
	return struct.pack("!HHIIII", 9, 0, uptime, now, seq, V9_SRC) + body, uptime


def flowset(set_id, body):
	body = pad4(body)
	return struct.pack("!HH", set_id, 4 + len(body)) + body


def v9_stream(seq0, recs, with_templates):
	"""Datagrams of 4 records each; the first carries the templates when
	asked. Each data datagram starts with the options data (System 0,
	SAMPLING_INTERVAL 10), then the flow records. Returns (datagrams, data
	flowsets sent)."""
	out, sets = [], 0
	if with_templates:
		d, _ = v9_datagram(seq0, [flowset(0, V9_TMPL), flowset(1, V9_OPT)])
		out.append(d)
		seq0 += 1
	for i in range(0, len(recs), 4):
		uptime = 3600000
		data = b"".join(ip4(s) + ip4(d) + struct.pack("!HHBIIII", sp, dp, proto, nb, np,
							   uptime - 5000, uptime - 1000)
				for s, d, sp, dp, proto, nb, np in recs[i:i + 4])
		d, _ = v9_datagram(seq0, [flowset(257, struct.pack("!II", 0, RATE)), flowset(256, data)])
		out.append(d)
		seq0 += 1
		sets += 2
	return out, sets


# ---- IPFIX (RFC 7011) ------------------------------------------------------

# template 300: 8 sourceIPv4Address, 12 destinationIPv4Address,
#   7 sourceTransportPort, 11 destinationTransportPort, 4 protocolIdentifier,
#   1 octetDeltaCount (8), 2 packetDeltaCount (8), 152 flowStartMilliseconds,
#   153 flowEndMilliseconds: a record of 4+4+2+2+1+8+8+8+8 = 45 bytes
IX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8)]
IX_TMPL = struct.pack("!HH", 300, len(IX_FIELDS)) + b"".join(struct.pack("!HH", *f) for f in IX_FIELDS)


def ipfix_msg(seq, sets):
	body = b"".join(struct.pack("!HH", sid, 4 + len(b)) + b for sid, b in sets)
	return struct.pack("!HHIII", 10, 16 + len(body), int(time.time()), seq, IX_DOM) + body


def ipfix_stream(seq0, recs, with_templates):
	out, sets, seq = [], 0, seq0
	if with_templates:
		out.append(ipfix_msg(seq, [(2, IX_TMPL)]))
	now_ms = int(time.time() * 1000)
	for i in range(0, len(recs), 4):
		chunk = recs[i:i + 4]
		data = b"".join(ip4(s) + ip4(d) + struct.pack("!HHBQQQQ", sp, dp, proto, nb, np,
							   now_ms - 5000, now_ms - 1000)
				for s, d, sp, dp, proto, nb, np in chunk)
		out.append(ipfix_msg(seq, [(300, data)]))
		seq += len(chunk)
		sets += 1
	return out, sets


# ---- truth -----------------------------------------------------------------

def records(net, n, seed):
	"""n flow records among hosts of 10.NET.x.y: (src, dst, sport, dport,
	proto, bytes, packets)."""
	out = []
	for i in range(n):
		out.append(("10.%d.%d.%d" % (net, 1 + i % 3, 1 + i % 5), "10.%d.200.%d" % (net, 1 + i % 2),
			    1024 + i, (80, 443, 53)[i % 3], (6, 6, 17)[i % 3],
			    100 + 37 * i + seed, 1 + i % 7))
	return out


def truth_of(v9recs, ixrecs):
	t = {}
	for s, d, _, _, _, nb, np in v9recs:
		weircollect.add_record(t, s, d, nb * RATE, np * RATE)
	for s, d, _, _, _, nb, np in ixrecs:
		weircollect.add_record(t, s, d, nb, np)
	return t


def phase_data(net, seed, seq_v9, seq_ix, with_templates):
	v9recs, ixrecs = records(net, 12, seed), records(net + 100, 8, seed)
	g9, s9 = v9_stream(seq_v9, v9recs, with_templates)
	gx, sx = ipfix_stream(seq_ix, ixrecs, with_templates)
	grams = [(V9_ADDR, g) for g in g9] + [(IX_ADDR, g) for g in gx]
	return grams, truth_of(v9recs, ixrecs), len(v9recs) + len(ixrecs), [s9, sx]


# ---- engines ---------------------------------------------------------------

def wait_records(col, want, timeout=10.0):
	"""Until the exporters' records reach want; then 0.6 s more, so that
	more than want would show too."""
	t0 = time.monotonic()
	got = 0
	while time.monotonic() - t0 < timeout:
		ex = col.json_or_none("exporters") or []
		got = sum(e.get("records", 0) for e in ex)
		if got >= want:
			break
		time.sleep(0.1)
	time.sleep(0.6)
	ex = col.json_or_none("exporters") or []
	return sum(e.get("records", 0) for e in ex), time.monotonic() - t0


def wait_datagrams(col, want, timeout=10.0):
	t0 = time.monotonic()
	while time.monotonic() - t0 < timeout:
		ex = col.json_or_none("exporters") or []
		if sum(e.get("datagrams", 0) for e in ex) >= want:
			break
		time.sleep(0.1)
	time.sleep(1.0)	# time for a lookup and an answer, had there been one


def hgetall(redis, key):
	out = redis.cli("--raw", "HGETALL", key).splitlines()
	return dict(zip(out[0::2], out[1::2]))


def exporter_hash(redis, node, addr):
	return hgetall(redis, "weir:{%s}:exporter:%s" % (node, addr))


def stop(col, label):
	rc = col.stop()
	check(rc == 0, "%s: exit %s after SIGTERM (log %s)" % (label, rc, col.log.name))


def compare(col, truth, label):
	fails = weircollect.compare_hosts(truth, col.json("hosts"), label)
	for f in fails[:8]:
		print("    " + f)
	check(not fails, "%s: hosts (bytes and packets sent and received) == the records' sums "
	      "(%d hosts)" % (label, len(truth)))


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	a = ap.parse_args()
	weirtest.need_root()
	t_start = time.monotonic()
	redis = weirtest.Redis()
	pid = os.getpid()
	with tempfile.TemporaryDirectory(prefix="weir-shared-") as tmp:
		# 1. engine a learns the templates from the exporters
		t_learn = int(time.time() * 1000)
		grams, truth, n, _ = phase_data(1, 0, 100, 1000, True)
		ca = weircollect.Collector(a.weir, a.weirctl, redis, "a%d" % pid, tmp)
		weircollect.send(ca.port, grams)
		got, _ = wait_records(ca, n)
		check(got == n, "a: %d records decoded, sent %d" % (got, n))
		compare(ca, truth, "a")
		t_end = int(time.time() * 1000)
		k9 = "weir:tmpl:{%s}:%d" % (V9_ADDR, V9_SRC)
		kx = "weir:tmpl:{%s}:%d" % (IX_ADDR, IX_DOM)
		h9, hx = hgetall(redis, k9), hgetall(redis, kx)
		for h, field, set_id, rec in ((h9, "v9:256", 0, V9_TMPL), (h9, "v9:257", 1, V9_OPT),
					      (hx, "ipfix:300", 2, IX_TMPL)):
			v = h.get(field, "").split(" ")
			ok = (len(v) == 3 and v[0] == str(set_id) and v[1].isdigit() and
			      t_learn <= int(v[1]) <= t_end and v[2] == rec.hex())
			check(ok, "redis: %s holds set %d, a time of this test, template record %s (got %r)" % (
				field, set_id, rec.hex(), h.get(field)))
		check(sorted(h9) == ["v9:256", "v9:257"] and sorted(hx) == ["ipfix:300"],
		      "redis: nothing else in the template hashes (%s, %s)" % (sorted(h9), sorted(hx)))
		for k in (k9, kx):
			ttl = int(redis.cli("PTTL", k).strip() or -2)
			check(0 < ttl <= 1800000, "redis: %s expires in %d ms (0 < ttl <= 30 min)" % (k, ttl))

		# 2. engine b: data only, templates from Redis
		grams, truth, n, _ = phase_data(2, 5, 200, 2000, False)
		cb = weircollect.Collector(a.weir, a.weirctl, redis, "b%d" % pid, tmp)
		weircollect.send(cb.port, grams)
		got, waited = wait_records(cb, n)
		check(got == n, "b: %d records decoded from data-only datagrams, sent %d (%.1f s)" % (
			got, n, waited))
		compare(cb, truth, "b")
		for addr, tm in ((V9_ADDR, 2), (IX_ADDR, 1)):
			e = exporter_hash(redis, "b%d" % pid, addr)
			ok = (e.get("templates") == str(tm) and e.get("templates_from_redis") == str(tm) and
			      e.get("held") == "0" and e.get("errors") == "0")
			check(ok, "b: exporter %s: %d templates, all from Redis, none held, no error (%s)" % (
				addr, tm, {k: e.get(k) for k in ("templates", "templates_from_redis", "held",
								  "errors", "records")}))
		stop(cb, "b")
		hb = hgetall(redis, "weir:{b%d}:health" % pid)
		check(hb.get("templates_from_redis") == "3" and int(hb.get("template_lookups", 0)) >= 3,
		      "b: health templates_from_redis 3, template_lookups >= 3 (%s, %s)" % (
			      hb.get("templates_from_redis"), hb.get("template_lookups")))

		# 3. engine c: the same, sharing off
		cc = weircollect.Collector(a.weir, a.weirctl, redis, "c%d" % pid, tmp,
					   extra=("--share-templates", "no"))
		grams, truth, n, sets = phase_data(3, 9, 300, 3000, False)
		weircollect.send(cc.port, grams)
		wait_datagrams(cc, len(grams))
		ex = cc.json("exporters")
		check(sum(e.get("records", 0) for e in ex) == 0 and not cc.json("hosts"),
		      "c (share-templates no): no record, no host")
		held = [int(exporter_hash(redis, "c%d" % pid, addr).get("held", -1)) for addr in (V9_ADDR, IX_ADDR)]
		check(held == sets, "c: the exporters hold every data set they sent, %d v9 (options and "
		      "flows) and %d IPFIX: %s" % (sets[0], sets[1], held))
		hc = hgetall(redis, "weir:{c%d}:health" % pid)
		check("templates_from_redis" not in hc, "c: no template sharing counters in health")
		stop(cc, "c")

		# 4. engine a restarted: data only
		stop(ca, "a")
		ca = weircollect.Collector(a.weir, a.weirctl, redis, "a%d" % pid, tmp)
		grams, truth, n, _ = phase_data(4, 3, 400, 4000, False)
		weircollect.send(ca.port, grams)
		got, waited = wait_records(ca, n)
		check(got == n, "a restarted: %d records decoded from data-only datagrams, sent %d (%.1f s)" % (
			got, n, waited))
		compare(ca, truth, "a restarted")
		# an IPFIX withdrawal of 300 leaves Redis too
		weircollect.send(ca.port, [(IX_ADDR, ipfix_msg(5000, [(2, struct.pack("!HH", 300, 0))]))])
		deadline = time.monotonic() + 5
		while time.monotonic() < deadline and "ipfix:300" in hgetall(redis, kx):
			time.sleep(0.1)
		check("ipfix:300" not in hgetall(redis, kx) and "v9:256" in hgetall(redis, k9),
		      "a restarted: the withdrawal of ipfix:300 removed it from Redis; v9:256 stays")
		stop(ca, "a restarted")
	redis.stop()
	print("%s in %.1f s" % ("FAIL: %d checks" % len(FAILS) if FAILS else "all checks passed",
				 time.monotonic() - t_start))
	return 1 if FAILS else 0


if __name__ == "__main__":
	sys.exit(main())
