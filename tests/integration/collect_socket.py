#!/usr/bin/python3
"""collect_socket.py -- the UDP socket collector's guards, end to end.

Each case starts redis-server and `weir --collect udp://...` (no DPDK
port), sends NetFlow/IPFIX datagrams built here field by field (struct),
so the truth is what was written into them, and reads weirctl's JSON:

  timestamps  IPFIX records dated 2100-01-01 and 1990 are counted as
              bad_timestamp (one per record), their flows and hosts are
              dated at arrival (first_seen within the test's own clock),
              and a record with a sane time keeps it.
  sizes       datagrams of 9216 bytes (the largest an mbuf holds: every
              record in its last bytes decoded) and 9217 bytes (dropped
              and counted as collect_too_big, nothing decoded); a flood of
              refused datagrams over 3 s gives one log line per 10 s.
  ipv6        an exporter on [::1] and another on 127.0.0.1, two --collect
              sockets of one engine: both exporters and all their hosts.
  allow       exporter-allow 127.0.0.40/30: datagrams from 127.0.0.44 are
              counted as collect_refused and never decoded.
  evict       max-exporters 4, exporter-timeout 5: four exporters fill the
              table, a fifth is refused (exporters_full), the four go
              silent, and four new ones then get in; the evictions are
              counted and the evicted exporters leave Redis.
  rcvbuf      collect-rcvbuf 3000000: the socket's buffer is that (ss -m).
  lcores      where the threads run (two CPUs or more): by default the
              --collect socket thread shares the main lcore's CPU 0 and
              the worker has CPU 1; with the lcore map `0@(0,1),1@1` the
              socket thread (inheriting the main lcore's CPUs) may run on
              0-1 while the worker stays on 1, and it still decodes.
  sflow       two sFlow flow samples of one data source: the exporter's
              sflow_pool_pkts and sflow_drops are the increases written;
              the flow carries the extended router (next hop, masks) and
              gateway (source/peer AS, first and last AS of the path) data.

Usage: collect_socket.py --case C --weir W --weirctl C
Exit 77 (skip) without root or redis-server; case ipv6 also without IPv6.
"""
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import weirtest  # noqa: E402
import weircollect  # noqa: E402
import nfstream  # noqa: E402
from weirtest import check  # noqa: E402
from nfstream import ix_set, ix_message, sflow_record  # noqa: E402


# IPFIX (RFC 7011) with one template: sourceIPv4Address 8, destinationIPv4Address 12,
# octetDeltaCount 1 (8), packetDeltaCount 2 (8), protocolIdentifier 4 (1),
# flowStartMilliseconds 152 (8), flowEndMilliseconds 153 (8)
IX_FIELDS = [(8, 4), (12, 4), (1, 8), (2, 8), (4, 1), (152, 8), (153, 8)]
IX_REC = sum(n for _, n in IX_FIELDS)
IX_TID = 300


def ix_template():
	return nfstream.ix_template(IX_TID, IX_FIELDS)


def ix_record(src, dst, nbytes, pkts, start_ms, end_ms):
	return (socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!QQB", nbytes, pkts, 17) +
		struct.pack("!QQ", start_ms, end_ms))


def v5_record_datagram(seq, src, dst, nbytes, pkts):
	"""One NetFlow v5 record, UDP 1000 -> 2000, exported now (its times
	relative to now). tools/weir-alertd/tests/alertd_test.py uses it too."""
	return nfstream.v5_datagram(seq, [(src, dst, 1000, 2000, 17, pkts, nbytes)], export_s=int(time.time()))


def send_from(src, port, grams, dst="127.0.0.1", family=socket.AF_INET):
	s = socket.socket(family, socket.SOCK_DGRAM)
	try:
		s.bind((src, 0))
		for g in grams:
			s.sendto(g, (dst, port))
			time.sleep(0.001)
	finally:
		s.close()


def wait_for(fn, timeout=10.0):
	end = time.monotonic() + timeout
	v = fn()
	while not v and time.monotonic() < end:
		time.sleep(0.1)
		v = fn()
	return v


def exporters_by_addr(col):
	return {e["address"]: e for e in col.json_or_none("exporters") or []}


def status_field(col, name):
	st = col.json_or_none("status") or {}
	for part in st.values():
		if isinstance(part, dict) and name in part:
			try:
				return int(part[name])
			except (TypeError, ValueError):
				return part[name]
	return None


def case_timestamps(a, redis, tmp):
	col = weircollect.Collector(a.weir, a.weirctl, redis, "ts", tmp)
	t0 = int(time.time() * 1000)
	future, past, sane = 4102444800000, 631152000000, t0 - 60000	# 2100, 1990, a minute ago
	recs = [ix_record("10.9.0.1", "10.9.0.2", 1000, 10, future, future + 1000),
		ix_record("10.9.0.3", "10.9.0.4", 2000, 20, past, past + 1000),
		ix_record("10.9.0.5", "10.9.0.6", 3000, 30, sane, sane + 5000)]
	send_from("127.0.0.31", col.port, [ix_message(0, [ix_template(), ix_set(IX_TID, b"".join(recs))])])
	ex = wait_for(lambda: (exporters_by_addr(col).get("127.0.0.31") or {}).get("records") == 3 and
		      exporters_by_addr(col)["127.0.0.31"])
	col.stop()
	t1 = int(time.time() * 1000)
	check(bool(ex), "the exporter delivered its 3 records")
	ex = exporters_by_addr(col).get("127.0.0.31", {})
	check(ex.get("err_bad_timestamp") == 2 and ex.get("errors") == 2,
	      "2 records with absurd times counted as bad_timestamp (err_bad_timestamp %r, errors %r)" % (
		      ex.get("err_bad_timestamp"), ex.get("errors")))
	hosts = {h["ip"]: h for h in col.json("hosts")}
	for ip in ("10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"):
		fs = hosts.get(ip, {}).get("first_seen")
		ls = hosts.get(ip, {}).get("last_seen")
		check(fs is not None and t0 - 1000 <= fs <= t1 and ls is not None and ls <= t1,
		      "host %s dated at arrival: first_seen %r last_seen %r within [%d, %d]" % (ip, fs, ls, t0, t1))
	fs = hosts.get("10.9.0.5", {}).get("first_seen")
	check(fs == sane, "host 10.9.0.5 keeps its record's start %d (first_seen %r)" % (sane, fs))


def case_sizes(a, redis, tmp):
	col = weircollect.Collector(a.weir, a.weirctl, redis, "sz", tmp)
	now = int(time.time() * 1000) - 10000
	# 16 header + template set + data set header 4 + n records, to 9216 exactly with padding in the header's length
	tmpl = ix_template()
	room = 9216 - 16 - len(tmpl) - 4
	n = room // IX_REC
	pad = room - n * IX_REC
	recs = b"".join(ix_record("10.8.%d.%d" % (i // 200, i % 200 + 1), "10.8.250.1", 100, 1, now, now)
			for i in range(n))
	big = ix_message(0, [tmpl, ix_set(IX_TID, recs + bytes(pad))])
	check(len(big) == 9216, "a 9216-byte IPFIX message of %d records (%d bytes)" % (n, len(big)))
	over = big[:2] + struct.pack("!H", 9217) + big[4:] + b"\0"
	check(len(over) == 9217, "a 9217-byte IPFIX message (%d bytes)" % len(over))
	send_from("127.0.0.32", col.port, [big, over])
	ex = wait_for(lambda: (exporters_by_addr(col).get("127.0.0.32") or {}).get("records") == n and
		      exporters_by_addr(col)["127.0.0.32"])
	check(bool(ex) and ex.get("datagrams") == 1 and ex.get("errors") == 0,
	      "9216 bytes: 1 datagram, %d records, no error (%s)" % (n, ex and {k: ex.get(k) for k in (
		      "datagrams", "records", "errors")}))
	tb = wait_for(lambda: status_field(col, "collect_too_big") == 1)
	check(bool(tb), "9217 bytes: collect_too_big = 1 (%r)" % status_field(col, "collect_too_big"))
	# a flood of refused datagrams (bad version) for 3 s: one log line per 10 s
	t_end = time.monotonic() + 3.0
	sent = 0
	while time.monotonic() < t_end:
		send_from("127.0.0.33", col.port, [b"\x00\x63" + bytes(30)] * 20)
		sent += 20
		time.sleep(0.1)
	wait_for(lambda: (exporters_by_addr(col).get("127.0.0.33") or {}).get("errors") == sent)
	col.stop()
	ex = exporters_by_addr(col).get("127.0.0.33", {})
	check(ex.get("err_bad_version") == sent, "%d refused datagrams counted (err_bad_version %r)" % (
		sent, ex.get("err_bad_version")))
	with open(col.log.name) as f:
		lines = [ln for ln in f if "exporter 127.0.0.33:" in ln and "refused" in ln]
	check(len(lines) == 1, "one rate-limited refusal line in 3 s (%d: %s)" % (len(lines), lines[:3]))


def case_ipv6(a, redis, tmp):
	if not socket.has_ipv6:
		print("SKIP: no IPv6")
		return weirtest.SKIP
	p6 = weircollect.free_udp_port()
	col = weircollect.Collector(a.weir, a.weirctl, redis, "v6", tmp,
				    extra=["--collect", "udp://[::1]:%d" % p6])
	send_from("::1", p6, [v5_record_datagram(0, "10.7.0.1", "10.7.0.2", 1500, 3)], dst="::1",
		  family=socket.AF_INET6)
	send_from("127.0.0.34", col.port, [v5_record_datagram(0, "10.7.0.3", "10.7.0.4", 700, 7)])
	ok = wait_for(lambda: {e: x.get("records") for e, x in exporters_by_addr(col).items()} ==
		      {"::1": 1, "127.0.0.34": 1})
	col.stop()
	exs = exporters_by_addr(col)
	check(bool(ok), "exporters ::1 and 127.0.0.34 with one record each (%s)" % {
		e: x.get("records") for e, x in exs.items()})
	truth = {}
	weircollect.add_record(truth, "10.7.0.1", "10.7.0.2", 1500, 3)
	weircollect.add_record(truth, "10.7.0.3", "10.7.0.4", 700, 7)
	f = weircollect.compare_hosts(truth, col.json("hosts"), "ipv6")
	check(not f, "hosts of both sockets equal the records (%s)" % f)


def case_allow(a, redis, tmp):
	col = weircollect.Collector(a.weir, a.weirctl, redis, "al", tmp,
				    extra=["--exporter-allow", "127.0.0.40/30,10.1.0.0/16"])
	send_from("127.0.0.44", col.port, [v5_record_datagram(i, "10.6.0.9", "10.6.0.10", 500, 5) for i in range(7)])
	send_from("127.0.0.41", col.port, [v5_record_datagram(0, "10.6.0.1", "10.6.0.2", 900, 9)])
	ok = wait_for(lambda: status_field(col, "collect_refused") == 7 and
		      (exporters_by_addr(col).get("127.0.0.41") or {}).get("records") == 1)
	col.stop()
	exs = exporters_by_addr(col)
	check(bool(ok), "7 datagrams from 127.0.0.44 refused (collect_refused %r), 127.0.0.41 decoded" % (
		status_field(col, "collect_refused")))
	check(sorted(exs) == ["127.0.0.41"], "only the allowed exporter is known (%s)" % sorted(exs))
	truth = {}
	weircollect.add_record(truth, "10.6.0.1", "10.6.0.2", 900, 9)
	f = weircollect.compare_hosts(truth, col.json("hosts"), "allow")
	check(not f, "hosts only from the allowed exporter (%s)" % f)


def case_evict(a, redis, tmp):
	col = weircollect.Collector(a.weir, a.weirctl, redis, "ev", tmp,
				    extra=["--max-exporters", "4", "--exporter-timeout", "5"])
	first = ["127.0.0.%d" % i for i in range(50, 54)]
	second = ["127.0.0.%d" % i for i in range(60, 64)]
	for i, src in enumerate(first):
		send_from(src, col.port, [v5_record_datagram(0, "10.5.0.%d" % (i + 1), "10.5.1.1", 100, 1)])
	wait_for(lambda: len(exporters_by_addr(col)) == 4)
	send_from("127.0.0.59", col.port, [v5_record_datagram(0, "10.5.2.1", "10.5.1.1", 100, 1)])
	full = wait_for(lambda: status_field(col, "exporters_full") == 1)
	check(bool(full), "a fifth exporter while four are fresh: dropped, exporters_full 1 (%r)" % (
		status_field(col, "exporters_full")))
	time.sleep(5.5)		# the first four fall silent past exporter-timeout
	for i, src in enumerate(second):
		send_from(src, col.port, [v5_record_datagram(0, "10.5.3.%d" % (i + 1), "10.5.1.1", 100, 1)])
	ok = wait_for(lambda: sorted(exporters_by_addr(col)) == second and
		      all(e.get("records") == 1 for e in exporters_by_addr(col).values()))
	ev = status_field(col, "exporters_evicted")
	col.stop()
	check(bool(ok), "four new exporters took the silent ones' places (%s)" % sorted(exporters_by_addr(col)))
	check(ev == 4, "exporters_evicted 4 (%r)" % ev)


def sflow_header(src, dst, sport, dport, payload=64):
	"""The sampled frame's first 42 bytes (Ethernet, IPv4, UDP headers) of
	a UDP datagram with `payload` bytes."""
	ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + payload, 1, 0, 64, 17, 0,
			 socket.inet_aton(src), socket.inet_aton(dst))
	frame = bytes.fromhex("020000000001020000000002") + b"\x08\x00" + ip + struct.pack("!HHHH", sport, dport,
											  8 + payload, 0)
	frame_len = 14 + 20 + 8 + payload + 4	# with the FCS, stripped 4
	return nfstream.sflow_raw_header(frame, frame_len, stripped=4)


def case_sflow(a, redis, tmp):
	"""sFlow: sample-pool and drop counters on the exporter, extended router
	(1002) and gateway (1003) data on the flow, as written here."""
	col = weircollect.Collector(a.weir, a.weirctl, redis, "sf", tmp)
	router = sflow_record(1002, struct.pack("!I4sII", 1, socket.inet_aton("198.51.100.254"), 24, 20))
	gateway = sflow_record(1003, struct.pack("!I4sIIII", 1, socket.inet_aton("198.51.100.1"), 65000, 64500, 64501, 1) +
			       struct.pack("!IIIII", 2, 3, 64510, 64511, 64512) +	# AS_SEQUENCE of 3
			       struct.pack("!III", 2, 0xfde80001, 0xfde80002) + struct.pack("!I", 100))
	g1 = nfstream.sflow_datagram(1, [nfstream.sflow_flow_sample(
		1, 1000, 5, [sflow_header("10.4.0.1", "10.4.0.2", 5000, 53), router, gateway])])
	g2 = nfstream.sflow_datagram(2, [nfstream.sflow_flow_sample(
		2, 3000, 12, [sflow_header("10.4.0.1", "10.4.0.2", 5000, 53)])])
	send_from("127.0.0.35", col.port, [g1, g2])
	ok = wait_for(lambda: (exporters_by_addr(col).get("127.0.0.35") or {}).get("records") == 2)
	col.stop()
	ex = exporters_by_addr(col).get("127.0.0.35", {})
	check(bool(ok) and ex.get("errors") == 0, "2 samples, no error (%s)" % ex)
	got = {k: ex.get(k) for k in ("sflow_drops", "sflow_pool_pkts", "sflow_flow_samples")}
	check(got == {"sflow_drops": 7, "sflow_pool_pkts": 2000, "sflow_flow_samples": 2},
	      "sample pool and drops as the increases written: %s" % got)
	flows = col.json("flows")
	want = {"next_hop": "198.51.100.254", "src_mask": 24, "dst_mask": 20, "src_as": 64500,
		"src_peer_as": 64501, "dst_peer_as": 64510, "dst_as": 64512}
	f = [x for x in flows if x.get("src") == "10.4.0.1"]
	got = {k: f[0].get(k) for k in want} if f else None
	check(got == want, "flow route fields %s, written %s" % (got, want))


def case_rcvbuf(a, redis, tmp):
	"""collect-rcvbuf: the socket's buffer as the kernel reports it (ss
	-m: rb, twice the size asked for, as SO_RCVBUF always doubles)."""
	import re
	import subprocess
	col = weircollect.Collector(a.weir, a.weirctl, redis, "rb", tmp, extra=["--collect-rcvbuf", "3000000"])
	out = subprocess.run(["ss", "-uanm", "sport", "=", ":%d" % col.port], capture_output=True, text=True,
			     timeout=10).stdout
	col.stop()
	rb = [int(x) for x in re.findall(r"\brb(\d+)", out)]
	check(rb == [6000000], "the --collect socket's receive buffer is 2 x 3000000 (ss: %s)" % rb)


def thread_cpus(pid):
	"""comm -> Cpus_allowed_list of each thread of pid."""
	out = {}
	for tid in os.listdir("/proc/%d/task" % pid):
		with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
			comm = f.read().strip()
		with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
			cpus = [ln.split()[1] for ln in f if ln.startswith("Cpus_allowed_list:")][0]
		out.setdefault(comm, set()).add(cpus)
	return out


def case_lcores(a, redis, tmp):
	if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
		print("SKIP: needs CPUs 0 and 1")
		sys.exit(weirtest.SKIP)
	for node, extra, want_collect in (("lc0", [], {"0"}), ("lc1", ["--lcores", "0@(0,1),1@1"], {"0-1"})):
		col = weircollect.Collector(a.weir, a.weirctl, redis, node, tmp, extra=extra)
		cpus = thread_cpus(col.proc.pid)
		check(cpus.get("weir-collect") == want_collect and cpus.get("rte-worker-1") == {"1"},
		      "%s: the socket thread may run on CPUs %s, the worker on 1" % (
			      " ".join(extra) or "default lcores", sorted(want_collect)), cpus)
		grams = [v5_record_datagram(i, "10.9.0.1", "10.9.0.2", 1000, 2) for i in range(5)]
		send_from("127.0.0.1", col.port, grams)
		check(wait_for(lambda: status_field(col, "xflow_records") == 5),
		      "%s: the 5 records are decoded" % node)
		col.stop()


if __name__ == "__main__":
	sys.exit(weirtest.run_cases(globals(), "weir-collect-"))
