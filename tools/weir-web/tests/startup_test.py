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
import signal
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


def login(port, user, pw, origin=None):
	import http.client
	import urllib.parse
	c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
	h = {"Content-Type": "application/x-www-form-urlencoded"}
	if origin:
		h["Origin"] = origin
	c.request("POST", "/api/login", urllib.parse.urlencode({"user": user, "password": pw}), h)
	st = c.getresponse().status
	c.close()
	return st


def check_sighup(ww, d):
	"""A password reset with --add-user works after SIGHUP, without a
	restart; SIGHUP does not stop the server; a broken file keeps the
	users loaded before. Login needs no Redis."""
	users = os.path.join(d, "users")
	pw1 = run([ww, "--add-user", "admin", "--users", users]).stdout.strip().splitlines()[-1]
	port = free_port()
	logf = tempfile.TemporaryFile(mode="w+")
	p = subprocess.Popen([ww, "--users", users, "--redis", "redis://127.0.0.1:1", "--listen",
			      "127.0.0.1:%d" % port, "--public-origin", "https://weir.example.org/"],
			     stderr=logf, stdout=subprocess.DEVNULL)
	try:
		deadline = time.time() + 10
		while time.time() < deadline:
			try:
				if login(port, "nobody", "x") == 401:
					break
			except OSError:
				time.sleep(0.05)
		check(login(port, "admin", pw1) == 200, "login with the first password")
		pw2 = run([ww, "--add-user", "admin", "--users", users]).stdout.strip().splitlines()[-1]
		check(login(port, "admin", pw2) == 401, "the reset password before SIGHUP: 401 (read at start)")
		p.send_signal(signal.SIGHUP)
		ok2 = False
		for _ in range(50):
			time.sleep(0.1)
			if login(port, "admin", pw2) == 200:
				ok2 = True
				break
		check(ok2 and p.poll() is None, "after SIGHUP the reset password logs in, the server still runs")
		check(login(port, "admin", pw1) == 401, "after SIGHUP the old password is refused")
		with open(users, "a") as f:
			f.write("broken line\n")
		p.send_signal(signal.SIGHUP)
		time.sleep(0.5)
		check(p.poll() is None and login(port, "admin", pw2) == 200,
		      "a users file that does not load on SIGHUP keeps the users loaded before")
		# behind a TLS proxy that passes Host 127.0.0.1:PORT: --public-origin
		check(login(port, "admin", pw2, origin="https://weir.example.org") == 200,
		      "--public-origin https://weir.example.org/: that Origin may log in")
		check(login(port, "admin", pw2, origin="https://evil.example.org") == 403,
		      "another Origin is still refused (403)")
	finally:
		p.terminate()
		p.wait(timeout=10)
		logf.close()
	r = run([ww, "--public-origin", "weir.example.org", "--users", users])
	check(r.returncode == 1 and "--public-origin" in r.stderr, "--public-origin without a scheme: refused")


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

	# a fresh machine: the users file's directory (/etc/weir) is missing
	with tempfile.TemporaryDirectory() as d:
		nested = os.path.join(d, "etc", "weir", "web-users")
		r = run([ww, "--add-user", "admin", "--users", nested])
		check(r.returncode == 0 and os.path.exists(nested),
		      "--add-user into a missing directory: creates it (exit %d %s)" % (r.returncode, r.stderr.strip()[-200:]))
		if os.path.isdir(os.path.dirname(nested)):
			m = os.stat(os.path.dirname(nested)).st_mode & 0o777
			check(m == 0o700, "the directory it creates has mode 0700 (got %o)" % m)
		check_sighup(ww, d)

	if failures:
		print("%d checks failed" % len(failures))
		return 1
	print("all start-up checks passed")
	return 0


if __name__ == "__main__":
	sys.exit(main())
