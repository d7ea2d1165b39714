"""weircollect.py -- the engine as a flow-export collector, run the way a
user runs it, for the interop tests (tests/interop/).

`weir --collect udp://127.0.0.1:PORT` is started in the background with its
own node id; the test waits (bounded) until weirctl says it is running,
sends or lets a real exporter send its export stream, waits until the
exporters' counters stop moving, stops the engine with SIGTERM (it flushes
every flow to Redis and must exit 0) and then reads weirctl's JSON. It also
holds what several tests need to turn export datagrams into truth: a UDP
receiver, a sender that can speak from several loopback addresses
(127.0.0.X needs no set-up on Linux, so each original exporter keeps an
exporter of its own), and per-host sums from weirctl's host list.
"""
import collections
import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weirtest  # noqa: E402


def free_udp_port():
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()
	return port


class Collector:
	"""One engine collecting on 127.0.0.1:port under its own node id."""

	def __init__(self, weir, weirctl, redis, node, log_dir, extra=()):
		self.weirctl = weirctl
		self.redis = redis
		self.node = node
		self.port = free_udp_port()
		self.log = open(os.path.join(log_dir, "weir-%s.log" % node), "w")
		cmd = [weir, "--collect", "udp://127.0.0.1:%d" % self.port, "--redis", redis.url,
		       "--node", node, "--publish-interval", "200", "-q"] + list(extra)
		self.t0 = time.monotonic()
		self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
					     start_new_session=True, preexec_fn=weirtest.die_with_parent)
		atexit.register(self.kill)
		self.exit_code = None
		deadline = time.monotonic() + 30
		while time.monotonic() < deadline:
			if self.proc.poll() is not None:
				self.log.close()
				with open(self.log.name) as f:
					tail = f.read()[-3000:]
				raise RuntimeError("weir exited (%d) before running: %s\n%s" % (
					self.proc.returncode, " ".join(cmd), tail))
			st = self.json_or_none("status")
			if st and st.get("meta", {}).get("state") == "running":
				self.start_s = time.monotonic() - self.t0
				return
			time.sleep(0.05)
		self.kill()
		raise RuntimeError("weir did not report running within 30 s (node %s)" % node)

	def json_or_none(self, *what):
		cmd = [self.weirctl, "--redis", self.redis.url, "--json", "--node", self.node] + list(what)
		r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
		if r.returncode != 0:
			return None
		return json.loads(r.stdout)

	def json(self, *what):
		return weirtest.weirctl_json(self.weirctl, self.redis.url, *what, node=self.node)

	def wait_settled(self, datagrams=None, timeout=10.0, quiet=0.6):
		"""Until the exporters' datagram count reaches `datagrams` (when
		known) and their record count has not moved for `quiet` seconds
		(three publish cycles). Returns (exporters, seconds, settled)."""
		t0 = time.monotonic()
		last, since, ex = None, t0, []
		while time.monotonic() - t0 < timeout:
			ex = self.json_or_none("exporters") or []
			got = (sum(e.get("datagrams", 0) for e in ex), sum(e.get("records", 0) for e in ex))
			now = time.monotonic()
			if got != last:
				last, since = got, now
			elif (now - since >= quiet and got[0] > 0 and
			      (datagrams is None or got[0] >= datagrams)):
				return ex, now - t0, True
			time.sleep(0.1)
		return ex, time.monotonic() - t0, False

	def stop(self, timeout=30):
		"""SIGTERM: the engine flushes every flow to Redis and exits."""
		if self.proc.poll() is None:
			self.proc.send_signal(signal.SIGTERM)
			try:
				self.proc.wait(timeout=timeout)
			except subprocess.TimeoutExpired:
				self.kill()
				self.exit_code = "timeout"
				return self.exit_code
		self.exit_code = self.proc.returncode
		self.log.close()
		return self.exit_code

	def kill(self):
		if self.proc.poll() is None:
			os.killpg(self.proc.pid, signal.SIGKILL)
			self.proc.wait(timeout=10)


def send(port, datagrams, pace_every=64):
	"""Send [(source address, payload)] in order to 127.0.0.1:port, one
	socket per source address so each keeps its own exporter identity."""
	socks = {}
	try:
		for i, (src, payload) in enumerate(datagrams):
			s = socks.get(src)
			if s is None:
				s = socks[src] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
				s.bind((src, 0))
			s.sendto(payload, ("127.0.0.1", port))
			if pace_every and i % pace_every == pace_every - 1:
				time.sleep(0.002)	# stay well inside the engine's rings
	finally:
		for s in socks.values():
			s.close()


class Receiver:
	"""A UDP socket on 127.0.0.1 that keeps every datagram it gets, and can
	forward each one, unchanged and in order, to the engine (a tee)."""

	def __init__(self, forward_port=None):
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
		self.sock.bind(("127.0.0.1", 0))
		self.port = self.sock.getsockname()[1]
		self.fwd = None
		if forward_port:
			self.fwd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
			self.fwd_to = ("127.0.0.1", forward_port)
		self.grams = []

	def pump(self, seconds):
		"""Receive for up to `seconds`, returning early at 0 s left."""
		end = time.monotonic() + seconds
		while True:
			left = end - time.monotonic()
			if left <= 0:
				return
			r, _, _ = select.select([self.sock], [], [], min(left, 0.2))
			if r:
				g = self.sock.recv(65535)
				self.grams.append(g)
				if self.fwd:
					self.fwd.sendto(g, self.fwd_to)

	def drain(self, idle=1.0, limit=60.0):
		"""Receive until nothing came for `idle` seconds (at most `limit`)."""
		end = time.monotonic() + limit
		while time.monotonic() < end:
			n = len(self.grams)
			self.pump(idle)
			if len(self.grams) == n:
				return

	def close(self):
		self.sock.close()
		if self.fwd:
			self.fwd.close()


def host_totals(hosts):
	"""weirctl hosts (ADDR@VLAN rows) summed per address:
	{ip: [bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd]}."""
	out = collections.defaultdict(lambda: [0, 0, 0, 0])
	for h in hosts:
		t = out[h["ip"]]
		t[0] += h.get("bytes_sent", 0)
		t[1] += h.get("bytes_rcvd", 0)
		t[2] += h.get("pkts_sent", 0)
		t[3] += h.get("pkts_rcvd", 0)
	return {k: tuple(v) for k, v in out.items()}


def add_record(truth, src, dst, nbytes, pkts):
	"""Account one flow record src -> dst into {ip: [4 counters]} the way
	host_totals() reads them."""
	s = truth.setdefault(src, [0, 0, 0, 0])
	d = truth.setdefault(dst, [0, 0, 0, 0])
	s[0] += nbytes
	s[2] += pkts
	d[1] += nbytes
	d[3] += pkts


def compare_hosts(truth, hosts, label):
	"""Every host equal, none missing, none extra. Returns failure lines."""
	got = host_totals(hosts)
	want = {k: tuple(v) for k, v in truth.items()}
	fails = []
	for ip in sorted(set(got) | set(want)):
		if got.get(ip) != want.get(ip):
			fails.append("%s: host %s: weir (sent, rcvd, pkts sent, pkts rcvd) %s, truth %s" % (
				label, ip, got.get(ip), want.get(ip)))
	return fails
