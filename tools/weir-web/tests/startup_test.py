#!/usr/bin/python3
"""startup_test.py -- weir-web's refusals before it serves anything.

No Redis and no engine are needed: each case starts the real binary and
reads its exit code and log.
  - no users file, and a users file without users: exit 1, and the log
    names the command that creates a user (there is no default password);
  - --add-user: prints a 24-character password once, writes the file with
    mode 0600 and a yescrypt line that Python's crypt module (libxcrypt's
    reference interface, not weir's code) verifies with that password;
  - a non-loopback address from WEIR_WEB_LISTEN is refused, saying to use
    --listen; the same address given with --listen is accepted and the
    log says it is not loopback; the default address is 127.0.0.1:8080.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings

failures = []


def check(cond, what):
	print(("ok   " if cond else "FAIL ") + what)
	if not cond:
		failures.append(what)


def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	p = s.getsockname()[1]
	s.close()
	return p


def run(args, env=None, timeout=20):
	e = dict(os.environ)
	e.pop("WEIR_WEB_LISTEN", None)
	e.update(env or {})
	return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e)


def serve_briefly(args, env=None):
	"""Starts the server, waits until it logs 'serving' (bounded), stops it."""
	e = dict(os.environ)
	e.pop("WEIR_WEB_LISTEN", None)
	e.update(env or {})
	logf = tempfile.TemporaryFile(mode="w+")
	p = subprocess.Popen(args, stderr=logf, stdout=subprocess.DEVNULL, env=e)
	deadline = time.time() + 10
	log = ""
	while time.time() < deadline and p.poll() is None:
		logf.seek(0)
		log = logf.read()
		if "serving" in log:
			break
		time.sleep(0.05)
	running = p.poll() is None
	if running:
		p.terminate()
		try:
			p.wait(timeout=10)
		except subprocess.TimeoutExpired:
			p.kill()
			p.wait(timeout=10)
	logf.seek(0)
	log = logf.read()
	logf.close()
	return running, log, p.returncode


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir-web", required=True)
	a = ap.parse_args()
	ww = a.weir_web
	tmp = tempfile.mkdtemp(prefix="weir-web-start-")
	users = os.path.join(tmp, "users")

	r = run([ww, "--users", users])
	check(r.returncode == 1, "no users file: exit 1 (got %d)" % r.returncode)
	check("--add-user" in r.stderr, "no users file: the log names --add-user")

	with open(users, "w") as f:
		f.write("# nobody yet\n\n")
	os.chmod(users, 0o600)
	r = run([ww, "--users", users])
	check(r.returncode == 1, "users file without users: exit 1 (got %d)" % r.returncode)
	check("no users" in r.stderr and "--add-user" in r.stderr and "no default password" in r.stderr,
	      "users file without users: says so and names --add-user: " + r.stderr.strip()[-200:])

	os.unlink(users)
	r = run([ww, "--add-user", "admin", "--users", users])
	check(r.returncode == 0, "--add-user: exit 0")
	pw = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
	check(len(pw) == 24, "--add-user prints a 24-character password")
	st = os.stat(users)
	check((st.st_mode & 0o777) == 0o600, "users file mode is 0600 (got %o)" % (st.st_mode & 0o777))
	line = open(users).read().strip()
	check(line.startswith("admin:$y$") or line.startswith("admin:$6$"), "users line is admin:$y$... (%s)" % line[:12])
	with warnings.catch_warnings():
		warnings.simplefilter("ignore")
		import crypt
	h = line.split(":", 1)[1]
	check(crypt.crypt(pw, h) == h, "Python's crypt verifies the stored hash with the printed password")
	check(crypt.crypt(pw + "x", h) != h, "and refuses another password")
	check(pw not in open(users).read(), "the password itself is not stored")

	port = free_port()
	r = run([ww, "--users", users, "--redis", "redis://127.0.0.1:1"],
		env={"WEIR_WEB_LISTEN": "0.0.0.0:%d" % port})
	check(r.returncode == 1, "WEIR_WEB_LISTEN=0.0.0.0: refused, exit 1 (got %d)" % r.returncode)
	check("not a loopback" in r.stderr and "--listen" in r.stderr,
	      "the refusal says why and names --listen: " + r.stderr.strip()[-200:])

	running, log, rc = serve_briefly([ww, "--users", users, "--redis", "redis://127.0.0.1:1",
					  "--listen", "0.0.0.0:%d" % port])
	check(running, "--listen 0.0.0.0: starts (log: %s)" % log.strip()[-300:])
	check("not loopback" in log and "--listen" in log, "and the log says it is not loopback")
	check(rc == 0, "SIGTERM: exit 0 (got %s)" % rc)

	running, log, rc = serve_briefly([ww, "--users", users, "--redis", "redis://127.0.0.1:1",
					  "--listen", "127.0.0.1:%d" % port])
	check(running and "not loopback" not in log, "--listen 127.0.0.1: starts without a warning")

	r = run([ww, "--listen", "localhost:80", "--users", users])
	check(r.returncode == 1 and "not an IPv4 or IPv6 address" in r.stderr, "--listen localhost:80: refused (no name lookup)")
	r = run([ww, "--bogus"])
	check(r.returncode == 1 and "unknown option" in r.stderr, "unknown option: exit 1")
	r = run([ww, "--help"])
	check(r.returncode == 0 and "127.0.0.1:8080" in r.stdout, "--help names the default address 127.0.0.1:8080")

	if failures:
		print("%d checks failed" % len(failures))
		return 1
	print("all start-up checks passed")
	return 0


if __name__ == "__main__":
	sys.exit(main())
