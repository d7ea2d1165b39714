#!/usr/bin/python3
"""collect_error_log.py -- the rate-limited log line about an exporter's
decode errors is limited per exporter: a noisy exporter must not hide
another one's errors.

`weir --collect udp://...` on loopback. Exporter 127.0.0.2 sends malformed
datagrams (an IPFIX header cut to 4 bytes: short_datagram) until its line
is logged; then 127.0.0.3 sends one. Its line must follow within 5 s,
well inside the 10 s the limiter holds a second line about 127.0.0.2
back. Then 127.0.0.2 sends again at once: that line is held back (10 s),
and its count is carried into the next line rather than lost.

Exit 77 (skip) without redis-server.
"""
import argparse
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import weirtest  # noqa: E402
import weircollect  # noqa: E402

BAD = b"\x00\x0a\x00\x04"	# IPFIX version, length 4: shorter than its header


def lines_about(path, addr):
	with open(path) as f:
		return [l for l in f if re.search(r"exporter %s: \d+ datagram" % re.escape(addr), l)]


def wait_line(path, addr, n, seconds):
	end = time.monotonic() + seconds
	while time.monotonic() < end:
		got = lines_about(path, addr)
		if len(got) >= n:
			return got
		time.sleep(0.1)
	return lines_about(path, addr)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	a = ap.parse_args()
	redis = weirtest.Redis()
	fails = []
	with tempfile.TemporaryDirectory(prefix="weir-xlog-") as tmp:
		col = weircollect.Collector(a.weir, a.weirctl, redis, "xl%d" % os.getpid(), tmp)
		try:
			weircollect.send(col.port, [("127.0.0.2", BAD)] * 3)
			if not wait_line(col.log.name, "127.0.0.2", 1, 10):
				fails.append("no line about 127.0.0.2's 3 errors in 10 s")
			weircollect.send(col.port, [("127.0.0.3", BAD)])
			got = wait_line(col.log.name, "127.0.0.3", 1, 5)
			if not got:
				fails.append("no line about 127.0.0.3 within 5 s of its error: "
					     "hidden by 127.0.0.2's")
			weircollect.send(col.port, [("127.0.0.2", BAD)] * 2)
			time.sleep(1.5)
			if len(lines_about(col.log.name, "127.0.0.2")) != 1:
				fails.append("a second line about 127.0.0.2 within 10 s: %s" %
					     lines_about(col.log.name, "127.0.0.2"))
			got = wait_line(col.log.name, "127.0.0.2", 2, 12)
			if len(got) < 2 or "short_datagram +2" not in got[1]:
				fails.append("the held-back errors of 127.0.0.2 not in its next line: %s" % got)
		finally:
			rc = col.stop()
		if rc != 0:
			fails.append("weir exit %s (log %s)" % (rc, col.log.name))
	redis.stop()
	for f in fails:
		print("FAIL " + f)
	if not fails:
		print("error log lines limited per exporter: 127.0.0.3 heard, 127.0.0.2's held-back count carried")
	return 1 if fails else 0


if __name__ == "__main__":
	sys.exit(main())
