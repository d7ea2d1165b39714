"""endpoints.py -- the real receivers weir-alertd's tests deliver to.

All on loopback, on free ports, started and stopped by the test:

  WebhookReceiver  an http.server that records every POST (path, headers,
                   body), checks X-Weir-Signature itself with hmac (the
                   standard library's, not weir's), and on chosen paths
                   redirects, fails a given number of times, or holds a
                   chosen request until the test lets it go.
  SilentHttp       accepts connections and never answers (a hung endpoint).
  SyslogUdp        a UDP socket that records datagrams.
  SyslogUnix       the same on a unix datagram socket (as /dev/log).
  SyslogTcp        a TCP listener that reads RFC 6587 octet-counted frames.
  SmtpSink         aiosmtpd (Debian's python3-aiosmtpd) in this process,
                   recording each message with its envelope.

Every wait is bounded.
"""
import hashlib
import hmac
import http.server
import json
import socket
import socketserver
import sys
import threading
import time


def free_port(kind=socket.SOCK_STREAM):
	s = socket.socket(socket.AF_INET, kind)
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()
	return port


def wait_until(cond, timeout, step=0.1):
	deadline = time.time() + timeout
	while time.time() < deadline:
		if cond():
			return True
		time.sleep(step)
	return cond()


class WebhookReceiver:
	"""POST PATH records a request. Behaviours by path:
	  /redirect*  302 to /target (which must never be asked for)
	  redirects   {path: (code, location)}: that answer on path
	  /flaky*     503 for the first `flaky` requests on that path, then 200
	  hold_path   the hold_at-th request there (1-based) is held until
	              release() and marked interrupted."""

	def __init__(self, secret=None, flaky=2, hold_path=None, hold_at=0, redirects=None):
		self.secret = secret.encode() if secret else None
		self.redirects = dict(redirects or {})
		self.flaky = flaky
		self.hold_path = hold_path
		self.hold_at = hold_at
		self.requests = []
		self.lock = threading.Lock()
		self.held = threading.Event()
		self.release_ev = threading.Event()
		self.counts = {}
		outer = self

		class H(http.server.BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"

			def do_POST(self):
				n = int(self.headers.get("Content-Length", "0"))
				body = self.rfile.read(n)
				rec = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
				       "body": body, "t": time.time(), "interrupted": False, "sig_ok": None}
				if outer.secret is not None and "x-weir-signature" in rec["headers"]:
					want = "sha256=" + hmac.new(outer.secret, body, hashlib.sha256).hexdigest()
					rec["sig_ok"] = hmac.compare_digest(want, rec["headers"]["x-weir-signature"])
				try:
					rec["json"] = json.loads(body)
				except ValueError:
					rec["json"] = None
				with outer.lock:
					k = outer.counts.get(self.path, 0) + 1
					outer.counts[self.path] = k
					outer.requests.append(rec)
				if outer.hold_path and self.path == outer.hold_path and k == outer.hold_at:
					rec["interrupted"] = True
					outer.held.set()
					outer.release_ev.wait(30)
					self.close_connection = True
					return		# no answer: the client is gone by now
				if self.path in outer.redirects:
					self.send_response(outer.redirects[self.path][0])
					self.send_header("Location", outer.redirects[self.path][1])
				elif self.path.startswith("/redirect"):
					self.send_response(302)
					self.send_header("Location", "http://127.0.0.1:%d/target" % outer.port)
				elif self.path.startswith("/flaky") and k <= outer.flaky:
					self.send_response(503)
				else:
					self.send_response(200)
				self.send_header("Content-Length", "0")
				self.end_headers()

			def log_message(self, *a):
				pass

		class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
			daemon_threads = True

		self.srv = S(("127.0.0.1", 0), H)
		self.port = self.srv.server_address[1]
		self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
		self.th.start()

	def url(self, path):
		return "http://127.0.0.1:%d%s" % (self.port, path)

	def on(self, path, completed_only=False):
		with self.lock:
			return [r for r in self.requests if r["path"] == path and
				not (completed_only and r["interrupted"])]

	def release(self):
		self.release_ev.set()

	def stop(self):
		self.release_ev.set()
		self.srv.shutdown()
		self.srv.server_close()


class SilentHttp:
	"""A TCP listener that accepts every connection and never answers: an
	endpoint that hangs. Records when each connection came."""

	def __init__(self):
		self.srv = socket.socket()
		self.srv.bind(("127.0.0.1", 0))
		self.srv.listen(64)
		self.srv.settimeout(0.1)
		self.port = self.srv.getsockname()[1]
		self.accepted = []	# times
		self.conns = []
		self.stopping = False
		self.th = threading.Thread(target=self.run, daemon=True)
		self.th.start()

	def url(self, path="/"):
		return "http://127.0.0.1:%d%s" % (self.port, path)

	def run(self):
		while not self.stopping:
			try:
				c, _ = self.srv.accept()
			except socket.timeout:
				continue
			except OSError:
				break
			self.accepted.append(time.time())
			self.conns.append(c)	# held open, never read or answered

	def stop(self):
		self.stopping = True
		self.th.join(5)
		for c in self.conns:
			c.close()
		self.srv.close()


class SyslogUdp:
	"""A datagram socket that records what it receives: UDP on a free
	loopback port, or a unix datagram socket bound at `path`."""

	def __init__(self, path=None):
		self.path = path
		if path is None:
			self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
			self.sock.bind(("127.0.0.1", 0))
			self.port = self.sock.getsockname()[1]
		else:
			self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
			self.sock.bind(path)
		self.sock.settimeout(0.2)
		self.msgs = []
		self.stopping = False
		self.th = threading.Thread(target=self.run, daemon=True)
		self.th.start()

	def run(self):
		while not self.stopping:
			try:
				d = self.sock.recv(65536)
			except socket.timeout:
				continue
			except OSError:
				break
			self.msgs.append(d.decode("utf-8", "replace"))

	def stop(self):
		self.stopping = True
		self.th.join(5)
		self.sock.close()


class SyslogUnix(SyslogUdp):
	"""A unix datagram socket (as /dev/log) that records datagrams."""

	def __init__(self, path):
		super().__init__(path)


class SyslogTcp:
	"""RFC 6587 octet counting: "LEN SP MSG" frames, several per
	connection or one each."""

	def __init__(self):
		self.srv = socket.socket()
		self.srv.bind(("127.0.0.1", 0))
		self.srv.listen(16)
		self.srv.settimeout(0.2)
		self.port = self.srv.getsockname()[1]
		self.msgs = []
		self.bad = []
		self.stopping = False
		self.th = threading.Thread(target=self.run, daemon=True)
		self.th.start()

	def run(self):
		while not self.stopping:
			try:
				c, _ = self.srv.accept()
			except socket.timeout:
				continue
			except OSError:
				break
			c.settimeout(5)
			buf = b""
			try:
				while True:
					d = c.recv(65536)
					if not d:
						break
					buf += d
			except OSError:
				pass
			c.close()
			while buf:
				sp = buf.find(b" ")
				if sp <= 0 or not buf[:sp].isdigit():
					self.bad.append(buf)
					break
				n = int(buf[:sp])
				frame = buf[sp + 1:sp + 1 + n]
				if len(frame) != n:
					self.bad.append(buf)
					break
				self.msgs.append(frame.decode("utf-8", "replace"))
				buf = buf[sp + 1 + n:]

	def stop(self):
		self.stopping = True
		self.th.join(5)
		self.srv.close()


class SmtpSink:
	"""tls: (certfile, keyfile) to offer STARTTLS and require it before
	any mail (aiosmtpd's require_starttls); each message records whether
	its session was encrypted."""

	def __init__(self, tls=None):
		try:
			from aiosmtpd.controller import Controller
		except ImportError:
			print("SKIP: python3-aiosmtpd is not installed (scripts/setup.sh installs it)")
			sys.exit(77)
		self.msgs = []
		outer = self

		class Handler:
			async def handle_DATA(self, server, session, envelope):
				outer.msgs.append({"from": envelope.mail_from,
						   "rcpt": list(envelope.rcpt_tos),
						   "data": envelope.content,
						   "tls": session.ssl is not None})
				return "250 OK"

		kw = {}
		if tls:
			import ssl
			ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
			ctx.load_cert_chain(tls[0], tls[1])
			kw = {"tls_context": ctx, "require_starttls": True}
		self.port = free_port()
		self.ctl = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kw)
		self.ctl.start()

	def stop(self):
		self.ctl.stop()
