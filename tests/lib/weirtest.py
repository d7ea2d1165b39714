"""weirtest.py -- what the engine's integration tests share.

A real redis-server on a free loopback port in a temporary directory (never
the machine's own 6379), the engine run on a capture the way a user runs it
(`weir -r FILE --redis URL`), and weirctl's JSON. Every wait is bounded;
servers are killed when the test ends, whatever happens.
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

	def stop(self):
		if self.proc and self.proc.poll() is None:
			self.proc.kill()
			self.proc.wait(timeout=10)
		shutil.rmtree(self.dir, ignore_errors=True)


def need_root():
	if os.geteuid() != 0:
		print("SKIP: DPDK needs root for its memory set-up (run the tests as root, as CI does)")
		sys.exit(SKIP)


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
