"""weirtest.py -- what the engine's integration tests share.

A real redis-server on a free loopback port in a temporary directory (never
the machine's own 6379), the engine run on a capture the way a user runs it
(`weir -r FILE --redis URL`), and weirctl's JSON. Every wait is bounded;
servers are killed when the test ends, whatever happens. check() and
run_cases() are the ok/FAIL lines and the `--case` main() of the tests
made of cases.
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def die_with_parent():
	"""preexec_fn for Popen: the child gets SIGKILL when the test process
	dies, however it dies (meson's timeout kill included), so no engine or
	server outlives its test."""
	import ctypes
	PR_SET_PDEATHSIG = 1
	ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()
	return port


class Redis:
	"""redis-server on 127.0.0.1:<free port>, no persistence."""

	def __init__(self, password=None, extra=()):
		if not shutil.which("redis-server"):
			print("SKIP: redis-server is not installed (scripts/setup.sh installs it)")
			sys.exit(SKIP)
		self.dir = tempfile.mkdtemp(prefix="weir-redis-")
		self.port = free_port()
		self.password = password
		args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", self.dir,
			"--unixsocket", os.path.join(self.dir, "redis.sock"), "--unixsocketperm", "700"]
		if password:
			args += ["--requirepass", password]
		args += list(extra)
		self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
					     preexec_fn=die_with_parent)
		atexit.register(self.stop)
		deadline = time.time() + 10
		while time.time() < deadline:
			if self.cli("PING", check=False).strip() in ("PONG",):
				return
			time.sleep(0.05)
		raise RuntimeError("redis-server did not start on port %d" % self.port)

	@property
	def url(self):
		auth = ":%s@" % self.password if self.password else ""
		return "redis://%s127.0.0.1:%d" % (auth, self.port)

	@property
	def sock(self):
		return os.path.join(self.dir, "redis.sock")

	def cli(self, *args, check=True):
		cmd = ["redis-cli", "-p", str(self.port)]
		if self.password:
			cmd += ["--no-auth-warning", "-a", self.password]
		r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)
		if check and r.returncode != 0:
			raise RuntimeError("redis-cli %s: %s" % (args, r.stderr))
		return r.stdout

	def hgetall(self, key):
		"""The hash at KEY as a dict ({} when it is not there)."""
		raw = self.cli("HGETALL", key, check=False).splitlines()
		return dict(zip(raw[0::2], raw[1::2]))

	def stop(self):
		if self.proc and self.proc.poll() is None:
			self.proc.kill()
			self.proc.wait(timeout=10)
		shutil.rmtree(self.dir, ignore_errors=True)


def resp(port, commands, password=None, timeout=30):
	"""Send COMMANDS ([[arg, ...], ...]) pipelined to 127.0.0.1:port and
	return their replies decoded (str, int, None, list; an error reply as a
	RuntimeError instance, not raised). A tiny RESP2 client, so a test can
	read thousands of keys in one round trip without redis-py."""
	out = bytearray()
	for c in ([["AUTH", password]] if password else []) + list(commands):
		out += b"*%d\r\n" % len(c)
		for a in c:
			a = a if isinstance(a, bytes) else str(a).encode()
			out += b"$%d\r\n%s\r\n" % (len(a), a)
	with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
		s.sendall(out)
		f = s.makefile("rb")

		def one():
			line = f.readline()
			if not line:
				raise RuntimeError("connection to port %d closed" % port)
			t, rest = line[:1], line[1:-2].decode()
			if t == b"+":
				return rest
			if t == b"-":
				return RuntimeError(rest)
			if t == b":":
				return int(rest)
			if t == b"$":
				n = int(rest)
				if n < 0:
					return None
				data = f.read(n + 2)[:-2]
				return data.decode(errors="replace")
			if t == b"*":
				n = int(rest)
				return None if n < 0 else [one() for _ in range(n)]
			raise RuntimeError("bad RESP from port %d: %r" % (port, line))
		replies = [one() for _ in range(len(commands) + (1 if password else 0))]
	return replies[1:] if password else replies


class RedisCluster:
	"""A Redis Cluster on loopback: `masters` masters with `replicas`
	replicas each, every node on a free port with its bus on another, no
	persistence, node timeout `node_timeout` ms (a failover then takes
	3-5 s). Its url is one node's, as a user would give any node as seed.
	redis-cli -c follows MOVED for reads; kill() and wait_master() drive a
	failover. Everything is killed and removed when the test ends."""

	def __init__(self, masters=3, replicas=1, node_timeout=2000, password=None):
		if not shutil.which("redis-server") or not shutil.which("redis-cli"):
			print("SKIP: redis-server/redis-cli are not installed (scripts/setup.sh installs them)")
			sys.exit(SKIP)
		self.dir = tempfile.mkdtemp(prefix="weir-rcluster-")
		self.password = password
		self.procs = {}
		atexit.register(self.stop)
		used = set()
		while len(used) < 2 * masters * (1 + replicas):
			used.add(free_port())
		used = sorted(used)
		self.ports = used[::2]
		for port, bus in zip(self.ports, used[1::2]):
			args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
				"--cluster-enabled", "yes", "--cluster-port", str(bus),
				"--cluster-config-file", "nodes-%d.conf" % port,
				"--cluster-node-timeout", str(node_timeout),
				"--save", "", "--appendonly", "no", "--dir", self.dir,
				# replicas in sync at once: one never synced cannot take over
				"--repl-diskless-sync-delay", "0",
				"--logfile", os.path.join(self.dir, "redis-%d.log" % port)]
			if password:
				args += ["--requirepass", password, "--masterauth", password]
			self.procs[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL,
							    stderr=subprocess.DEVNULL,
							    preexec_fn=die_with_parent)
		deadline = time.time() + 10
		for port in self.ports:
			while self.cli(port, "PING", check=False).strip() != "PONG":
				if time.time() > deadline:
					raise RuntimeError("cluster node on port %d did not start" % port)
				time.sleep(0.05)
		cmd = ["redis-cli"] + self._auth() + ["--cluster", "create"]
		cmd += ["127.0.0.1:%d" % p for p in self.ports]
		cmd += ["--cluster-replicas", str(replicas), "--cluster-yes"]
		r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
		if r.returncode != 0:
			raise RuntimeError("redis-cli --cluster create: %s%s" % (r.stdout[-2000:], r.stderr))
		self.wait_ok(timeout=30)

	def _auth(self):
		return ["--no-auth-warning", "-a", self.password] if self.password else []

	@property
	def url(self):
		auth = ":%s@" % self.password if self.password else ""
		return "redis://%s127.0.0.1:%d" % (auth, self.live()[0])

	def live(self):
		return [p for p in self.ports if self.procs[p].poll() is None]

	def cli(self, port, *args, check=True, follow=False):
		cmd = ["redis-cli", "-p", str(port)] + self._auth() + (["-c"] if follow else [])
		r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=30)
		if check and r.returncode != 0:
			raise RuntimeError("redis-cli %s: %s" % (args, r.stderr))
		return r.stdout

	def cmd(self, *args):
		"""One command through a live node, following MOVED; output lines."""
		return self.cli(self.live()[0], *args, follow=True).splitlines()

	def hgetall(self, key):
		raw = self.cmd("HGETALL", key)
		return dict(zip(raw[0::2], raw[1::2]))

	def info(self, port):
		out = self.cli(port, "CLUSTER", "INFO", check=False)
		return dict(l.strip().split(":", 1) for l in out.splitlines() if ":" in l)

	def slots(self, port=None):
		"""{slot range (start, end): master port}, as the node sees it."""
		port = port or self.live()[0]
		out = self.cli(port, "CLUSTER", "NODES", check=False)
		m = {}
		for line in out.splitlines():
			f = line.split()
			if len(f) < 8 or "master" not in f[2] or "fail" in f[2]:
				continue
			nport = int(f[1].split("@")[0].rsplit(":", 1)[1])
			for r in f[8:]:
				if r.startswith("["):
					continue
				a, _, b = r.partition("-")
				m[(int(a), int(b or a))] = nport
		return m

	def master_of(self, key, port=None):
		"""The port of the master serving KEY's slot (as a live node sees it)."""
		port = port or self.live()[0]
		slot = int(self.cli(port, "CLUSTER", "KEYSLOT", key).strip())
		for (a, b), p in self.slots(port).items():
			if a <= slot <= b:
				return p
		return None

	def on_master(self, key, commands):
		"""COMMANDS pipelined to the master of KEY's slot (see resp())."""
		return resp(self.master_of(key), commands, self.password)

	def replicas_up(self, port):
		"""False for a replica whose link to its master is not up."""
		out = self.cli(port, "INFO", "replication", check=False)
		return "role:slave" not in out or "master_link_status:up" in out

	def wait_ok(self, timeout=30):
		"""Until every live node says cluster_state:ok, they all agree who
		serves every slot, and every replica is in sync with its master."""
		deadline = time.time() + timeout
		while time.time() < deadline:
			live = self.live()
			if all(self.info(p).get("cluster_state") == "ok" and self.replicas_up(p) for p in live):
				views = [self.slots(p) for p in live]
				if all(v == views[0] for v in views) and \
				   sum(b - a + 1 for a, b in views[0]) == 16384:
					return time.time()
			time.sleep(0.1)
		raise RuntimeError("the cluster did not become ok within %d s" % timeout)

	def kill(self, port):
		self.procs[port].kill()
		self.procs[port].wait(timeout=10)

	def wait_master(self, key, not_port, timeout=20):
		"""After kill(not_port): until a replica has taken over KEY's slot
		and the cluster is ok. Returns the new master's port."""
		deadline = time.time() + timeout
		while time.time() < deadline:
			p = self.master_of(key)
			if p and p != not_port:
				self.wait_ok(timeout=max(1, deadline - time.time()))
				return self.master_of(key)
			time.sleep(0.1)
		raise RuntimeError("no failover of %s's slot within %d s" % (key, timeout))

	def stop(self):
		for p in self.procs.values():
			if p.poll() is None:
				p.kill()
				p.wait(timeout=10)
		shutil.rmtree(self.dir, ignore_errors=True)


def need_root():
	if os.geteuid() != 0:
		print("SKIP: DPDK needs root for its memory set-up (run the tests as root, as CI does)")
		sys.exit(SKIP)


FAILS = []


def check(ok, what, detail=None):
	"""One assertion: an "ok" or "FAIL" line (with DETAIL when it fails);
	a failure is kept in FAILS for run_cases() to count. Returns ok."""
	print("%s: %s" % ("ok  " if ok else "FAIL", what))
	if not ok:
		if detail is not None and detail != "":
			print("      %s" % str(detail)[:1500])
		FAILS.append(what)
	return ok


def run_cases(scope, prefix, root=True, tools=None):
	"""main() of a test made of cases: `--case C --weir W --weirctl C`
	runs scope["case_C"](args, redis, tmpdir) (scope: the test module's
	globals()) with a redis-server and a temporary directory of its own,
	then prints every check() that failed. Skips (SKIP) without root when
	`root`, or without a program of `tools` ({program: package}); a case
	that returns SKIP skips. Returns the exit code."""
	import argparse
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", required=True,
			choices=sorted(k[5:] for k in scope if k.startswith("case_")))
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	a = ap.parse_args()
	if root:
		need_root()
	for prog, pkg in (tools or {}).items():
		if not shutil.which(prog):
			print("SKIP: %s is not installed (%s)" % (prog, pkg))
			return SKIP
	with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
		redis = Redis()
		try:
			rc = scope["case_" + a.case](a, redis, tmp)
		finally:
			redis.stop()
	for f in FAILS:
		print("FAIL:", f)
	if FAILS:
		return 1
	return SKIP if rc == SKIP else 0


def run_weir(weir, args, timeout=300, check=True):
	"""Run the engine to completion (a capture file run exits by itself)."""
	cmd = [weir, "--quiet"] + list(args)
	t0 = time.time()
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
	if check and r.returncode != 0:
		print("weir failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr[-4000:]))
		sys.exit(1)
	return r, time.time() - t0


def weirctl_json(weirctl, url, *args, node=None):
	cmd = [weirctl, "--redis", url, "--json"]
	if node:
		cmd += ["--node", node]
	r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300)
	if r.returncode != 0:
		print("weirctl %s failed (exit %d): %s" % (" ".join(args), r.returncode, r.stderr))
		sys.exit(1)
	return json.loads(r.stdout)


def shared_captures():
	"""../shared/captures beside the repository, or $WEIR_SHARED_CAPTURES."""
	env = os.environ.get("WEIR_SHARED_CAPTURES")
	if env:
		return env if os.path.isdir(env) else None
	here = os.path.dirname(os.path.abspath(__file__))
	p = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "captures"))
	return p if os.path.isdir(p) else None
