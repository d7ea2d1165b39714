#!/usr/bin/python3
"""alertd_test.py -- weir-alertd against a real engine, a real Redis and real
receivers (endpoints.py), all on loopback.

  delivery  the engine reads the office capture (gen_traffic.py --profile
            office --seed 9) with --forbid iot>servers. What each receiver
            must get is worked out from tshark (tests/integration/truth.py
            and a tshark DNS query list), never from weir: one critical
            alert per iot->servers address pair (webhook, HMAC checked by
            the receiver, and syslog), the SSH pairs by email, the
            iot>servers threshold engaged with the value tshark's byte
            count gives and then released (webhook, Slack, email), a new
            host per iot address on each VLAN (syslog, and a destination
            rate-limited to 5 whose other notes are recorded as
            rate-limited), DNS as a new application (Discord), DNS in quiet
            hours with the names tshark saw, and hosts contacting many
            peers or destination ports (tshark's SYNs and first UDP
            datagrams; port 0 of later fragments is no port). Each exactly
            once; nothing for a quiet window that excludes the capture.
            What `weirctl alerts` (and --history) shows is what the
            receivers got.
  restart   the engine replays the capture in a loop. Before weir-alertd
            starts, two "crashed" consumers have read events without
            acknowledging them (one under weir-alertd's own consumer name,
            one under another). weir-alertd is killed (SIGKILL) while a
            webhook request is held unanswered, and started again: every
            note arrives completed exactly once at the webhook (the
            interrupted one is sent again), at a syslog TCP receiver and
            at an SMTP sink, the events stream has nothing pending, the
            outbox is empty, and the history holds each transition once.
  config    a rules file with errors is refused with each error's
            file:line; a SIGHUP with a broken file keeps the running rules
            (an event still alerts under them); a good reload replaces
            them and releases the alerts of rules that went away; an
            event rule's alert is released after its release-after with
            "(quiet for 3s)" at the end of its summary.
  multinode two engines, --node a and --node b, each read one half of the
            office capture (gen_traffic.py --profile office --seed 21, cut
            by time as tools/weirctl/tests/multinode_test.py cuts it) into
            one Redis (multinode-cluster: a Redis Cluster of three masters,
            where nodes a and b live on different masters), while one
            weir-alertd watches every node of the registry; then again on
            a fresh Redis with weir-alertd --node a alone.
            From tshark's truth of each half: a boundary rule (iot>servers
            tcp/22) whose flows are all in half b gives one alert per pair,
            node b; a threshold on the host whose smaller half is largest,
            set between its bigger half and its two halves summed, engages
            once with the summed bytes and node "a,b" and is released, and
            never fires for --node a; a new-host rule alerts each iot host
            of both halves once (a host both nodes announce is not new
            twice), and for --node a only half a's. weirctl's merged alerts
            list finds the boundary alerts under node b; nothing is left
            pending or in an outbox; delivery ids never repeat.
  nodes     no engine: the test writes two nodes' registry entries, series
            and events itself. A threshold over a host that only node b
            has engages under node b (the home, the only node); node a
            registers, becomes the home: b releases the alert quietly and
            a engages it with both nodes' bytes summed; a restart with
            --alert-node central moves it again. Boundary events on a and
            b alert under their node; a new host both nodes announce is
            alerted once.
  safety    webhooks to loopback and to the metadata address without
            allow-private are refused (nothing arrives; the refusal is
            recorded); a redirect is not followed (follow-redirects = no);
            a 503 is retried with backoff until it succeeds; a dead
            endpoint fails after its retries without delaying another
            destination; syslog over TCP with octet counting; exporter
            down then up.
  queue     a destination that accepts and never answers (2 workers, 2 s
            timeout) delays no other: a burst of 8 reaches 'good' within
            1.5 s; a silent endpoint times out and is retried after 200 ms
            then 400 ms (the gaps between its connections).
  redirects follow-redirects: the same host is followed with the same
            signed POST, another host only when redirect-hosts names it, at
            most 3 hops, not a non-http scheme, nothing with 'no'.
  flowcount the engine on the office capture; thresholds engaged at
            exactly tshark's distinct peers and ports (over the flows in
            the window) of a host, VLAN 30, iot>servers and DNS, and never
            above them; packets/s, flows, flows/s of VLAN 30 and bytes/s of
            DNS as tshark counts them.
  flowwindow flows written by the test: peers and ports count only the
            flows seen within the window (a host's peer is the other end,
            port 0 is no port), and the alert is released as the window
            moves past them; peers/ports on an exporter is refused.
  backends  syslog over a unix datagram socket (RFC 5424, PRI); email with
            starttls = yes to an aiosmtpd requiring STARTTLS with an
            openssl-made certificate, verified with ca-file (refused
            without); boundary rules with app= (the event's app or the
            flow's read back); a SIGHUP that moves and adds destinations.
  collect   the engine as a NetFlow v5 collector (exporter-timeout 5 s):
            exporter: and interface: thresholds at the bytes and packets
            the test's records hold; the engine's exporter_down once the
            datagrams stop, released by exporter_up when they resume.
"""
import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import endpoints  # noqa: E402

TESTLIB = os.path.normpath(os.path.join(HERE, "..", "..", "..", "tests", "lib"))
sys.path.insert(0, TESTLIB)
import weirtest  # noqa: E402

KP = "weir:{local}:"
SUBNETS = ["users=10.0.10.0/24", "servers=10.0.20.0/24", "iot=10.0.30.0/24"]
IOT = ipaddress.ip_network("10.0.30.0/24")
SERVERS = ipaddress.ip_network("10.0.20.0/24")
FAILS = []


def check(cond, what, detail=""):
	if cond:
		print("ok: " + what)
	else:
		print("FAIL: %s %s" % (what, detail))
		FAILS.append(what)
	return cond


def inside(addr, net):
	try:
		return ipaddress.ip_address(addr) in net
	except ValueError:
		return False


class Alertd:
	"""weir-alertd as a user runs it, with its log in a file."""

	def __init__(self, exe, tmp, conf, rules, env_tz="UTC", extra=(), name="alertd"):
		self.exe, self.tmp = exe, tmp
		self.conf, self.rules = conf, rules
		self.tz = env_tz
		self.extra = list(extra)
		self.name = name
		self.proc = None
		self.n = 0

	def start(self):
		self.n += 1
		self.log = os.path.join(self.tmp, "%s.%d.log" % (self.name, self.n))
		env = dict(os.environ, TZ=self.tz)
		self.proc = subprocess.Popen([self.exe, "--config", self.conf, "--rules",
					      self.rules] + self.extra,
					     stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
					     env=env)

	def text(self):
		out = ""
		for i in range(1, self.n + 1):
			with open(os.path.join(self.tmp, "%s.%d.log" % (self.name, i))) as f:
				out += f.read()
		return out

	def stop(self, sig=signal.SIGTERM):
		if self.proc and self.proc.poll() is None:
			self.proc.send_signal(sig)
			try:
				self.proc.wait(20)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait(10)
		rc = self.proc.returncode if self.proc else None
		text = self.text()
		# a sanitizer build prints here; a clean stop exits 0
		check(rc == 0, "weir-alertd stopped cleanly (exit %s)" % rc)
		check("Sanitizer" not in text and "runtime error" not in text,
		      "no sanitizer report in weir-alertd's output",
		      "\n".join(l for l in text.splitlines() if "Sanitizer" in l or "runtime error" in l)[:2000])
		return rc


def write(path, text):
	with open(path, "w") as f:
		f.write(text)
	return path


def gen_pcap(args, tmp):
	pcap = os.path.join(tmp, "office9.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "9",
			"--out", pcap], check=True, capture_output=True, timeout=300)
	return pcap


def truth(args, pcap):
	cmd = ["/usr/bin/python3", args.truth, pcap, "--local-networks", "10.0.0.0/8"]
	for s in SUBNETS:
		cmd += ["--subnet", s]
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
	if r.returncode == 77:
		sys.exit(77)
	if r.returncode != 0:
		print("truth.py failed: " + r.stderr[-2000:])
		sys.exit(1)
	return json.loads(r.stdout)


def engine_args(redis, pcap, loop=False):
	a = ["-r", pcap, "--redis", redis.url, "-m", "10.0.0.0/8", "--forbid", "iot>servers"]
	for s in SUBNETS:
		a += ["--subnet", s]
	if loop:
		a += ["--loop", "yes"]
	return a


def xfields(out):
	"""redis-cli XRANGE output (one value a line) -> list of dicts."""
	lines = out.splitlines()
	res, i = [], 0
	while i < len(lines):
		i += 1		# the id
		d = {}
		while i + 1 < len(lines) and not re.match(r"^\d+-\d+$", lines[i]):
			d[lines[i]] = lines[i + 1]
			i += 2
		res.append(d)
	return res


def initiated_ports(pcap):
	"""Each host's distinct destination ports as tshark reads them, for
	the flows it started: the dport of its TCP SYNs (no ACK), and of the
	first UDP datagram of each UDP conversation when it sent it. IP
	reassembly off: a later fragment carries no UDP header and is not
	counted (only first fragments are). VLAN: the outer tag (QinQ's
	S-tag), as the engine keys hosts."""
	q = subprocess.run(["tshark", "-n", "-r", pcap, "-o", "ip.defragment:FALSE",
			    "-o", "ipv6.defragment:FALSE",
			    "-Y", "(tcp.flags.syn == 1 && tcp.flags.ack == 0) || udp",
			    "-T", "fields", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst",
			    "-e", "ipv6.dst", "-e", "ieee8021ad.id", "-e", "vlan.id",
			    "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport"],
			   capture_output=True, text=True, timeout=300, check=True)
	ports, seen = {}, set()
	for line in q.stdout.splitlines():
		s4, s6, d4, d6, qinq, vl, tdp, usp, udp_ = (line.split("\t") + [""] * 9)[:9]
		src = (s4 or s6).split(",")[0]
		dst = (d4 or d6).split(",")[0]
		host = "%s@%d" % (src, int((qinq or vl or "0").split(",")[0]))
		if tdp:
			ports.setdefault(host, set()).add(int(tdp.split(",")[0]))
		elif udp_:
			a, b = (src, int(usp.split(",")[0])), (dst, int(udp_.split(",")[0]))
			k = (host.split("@")[1],) + ((a, b) if a <= b else (b, a))
			if k not in seen:
				seen.add(k)
				ports.setdefault(host, set()).add(b[1])
	return ports


# ------------------------------------------------------------------ delivery


def case_delivery(args, tmp):
	weirtest.need_root()
	pcap = gen_pcap(args, tmp)
	t = truth(args, pcap)
	flows = t["flows"]
	pairs = {}
	for f in flows:
		if inside(f["src"], IOT) and inside(f["dst"], SERVERS):
			pairs.setdefault("%s>%s" % (f["src"], f["dst"]), set()).add((f["dport"], f["proto"]))
	ssh_pairs = {p for p, s in pairs.items() if (22, 6) in s}
	iot_hosts = {"%s@%d" % (h["ip"], h["vlan"]) for h in t["hosts"] if inside(h["ip"], IOT)}
	dns_iot = {"%s@%d" % (f["src"], f["vlan"]) for f in flows
		   if f["dport"] == 53 and f["proto"] in (6, 17) and inside(f["src"], IOT)}
	subnet_bytes = [s["bytes"] for s in t["subnets"] if s["src"] == "iot" and s["dst"] == "servers"]
	peers = {}
	for f in flows:
		peers.setdefault("%s@%d" % (f["src"], f["vlan"]), set()).add(f["dst"])
	scan_k = 5
	# hosts' series count both directions: tshark's sent + received
	busy = {"host:%s@30" % h["ip"]: (h["bytes_sent"] + h["bytes_rcvd"]) / 10.0 for h in t["hosts"]
		if inside(h["ip"], IOT) and h["vlan"] == 30 and h["bytes_sent"] + h["bytes_rcvd"] > 7000}
	scanners = {h: len(p) for h, p in peers.items() if len(p) >= scan_k}
	# distinct destination ports the hosts asked for (a flow of unmatched
	# later fragments has port 0 in the engine: no port, not counted)
	ports_k = 3
	port_scanners = {h: len(p) for h, p in initiated_ports(pcap).items() if len(p) >= ports_k}
	span = t["totals"]["last_ts"] - t["totals"]["first_ts"]
	# the DNS names each iot host asked, as tshark reads the queries
	q = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", "dns.flags.response == 0",
			    "-T", "fields", "-e", "ip.src", "-e", "vlan.id", "-e", "dns.qry.name"],
			   capture_output=True, text=True, timeout=300, check=True)
	names = {}
	for line in q.stdout.splitlines():
		parts = line.split("\t")
		if len(parts) == 3 and parts[0] and parts[1]:
			names.setdefault("%s@%s" % (parts[0], parts[1].split(",")[-1]), set()).add(parts[2])
	print("truth (tshark): %d iot>servers pairs (%d SSH), %d iot hosts, %d iot DNS askers, "
	      "iot>servers %s bytes, %d hosts with >= %d peers" %
	      (len(pairs), len(ssh_pairs), len(iot_hosts), len(dns_iot), subnet_bytes,
	       len(scanners), scan_k))
	print("truth (tshark): %d hosts with >= %d destination ports: %s; %d unmatched later "
	      "fragments; capture %.0f s" % (len(port_scanners), ports_k, port_scanners,
					      t["totals"]["frag_unmatched"], span))
	if not pairs or not ssh_pairs or len(subnet_bytes) != 1 or not dns_iot or not scanners or \
	   not busy or not port_scanners or not t["totals"]["frag_unmatched"] or span > 590:
		print("the capture does not hold what this test needs")
		return False

	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver(secret="hmac-key-1")
	sl = endpoints.SyslogUdp()
	smtp = endpoints.SmtpSink()
	conf = write(os.path.join(tmp, "alertd.conf"), """# delivery test
redis = %s
eval-interval = 500ms
scan-interval = 1s
[webhook ops]
url = %s
secret = hmac-key-1
allow-private = yes
[webhook chat]
url = %s
format = slack
allow-private = yes
[webhook discord]
url = %s
format = discord
allow-private = yes
[webhook limited]
url = %s
allow-private = yes
rate-limit = 5/h
[syslog local]
address = udp://127.0.0.1:%d
facility = local3
[email oncall]
url = smtp://127.0.0.1:%d
starttls = no
from = weir@example.test
to = oncall@example.test, noc@example.test
""" % (redis.url, hook.url("/ops"), hook.url("/slack"), hook.url("/discord"),
       hook.url("/limited"), sl.port, smtp.port))
	rules = write(os.path.join(tmp, "alertd.rules"), """
[rule iot-to-servers]
kind = boundary
from = iot
to = servers
notify = webhook:ops, syslog:local

[rule iot-ssh]
kind = boundary
from = iot
to = servers
port = 22
proto = tcp
severity = warning
notify = oncall

[rule iot-load]
kind = threshold
entity = subnet:iot>servers
metric = bytes/s
window = 10s
above = 10k
for = 3s
notify = ops, chat, oncall

[rule iot-hosts-load]
kind = threshold
entity = host:10.0.30.*@30
metric = bytes/s
window = 10s
above = 700
for = 3s
notify = ops

[rule iot-new-host]
kind = new-host
subnet = 10.0.30.0/24
notify = local, limited

[rule iot-dns-app]
kind = new-app
app = DNS
subnet = iot
notify = discord

[rule capture-hour-dns]
kind = dns-quiet
quiet = 07:30-08:30
hosts = 10.0.30.*
notify = ops

[rule night-dns]
kind = dns-quiet
quiet = 00:00-05:00
notify = ops

[rule scanners]
kind = scan
peers = %d
window = 600s
hold = 1d
notify = ops

[rule port-scanners]
kind = scan
ports = %d
window = 600s
hold = 1d
notify = ops
""" % (scan_k, ports_k))
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	ok = endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20)
	check(ok, "weir-alertd connected", ad.text()[-1000:])
	weirtest.run_weir(args.weir, engine_args(redis, pcap))
	# the threshold is released once the capture's point leaves the window
	done = endpoints.wait_until(lambda: any(r["json"] and r["json"]["rule"] == "iot-load" and
						r["json"]["state"] == "released"
						for r in hook.on("/ops")), 60)
	check(done, "threshold released within 60 s")
	time.sleep(3)	# anything late or doubled would land now
	ad.stop()
	log = ad.text()

	def got(path, rule=None):
		return [r["json"] for r in hook.on(path) if r["json"] and (rule is None or r["json"]["rule"] == rule)]

	# boundary: one critical alert per pair, webhook and syslog
	b = got("/ops", "iot-to-servers")
	check(sorted(x["entity"] for x in b) == sorted(pairs),
	      "webhook: one boundary alert per iot>servers pair (%d)" % len(pairs),
	      "got %s" % sorted(x["entity"] for x in b))
	check(all(x["state"] == "engaged" and x["severity"] == "critical" and
		  x["kind"] == "boundary" and x["details"]["boundary"] == "forbid" and
		  x["details"]["src_subnet"] == "iot" and x["details"]["dst_subnet"] == "servers" and
		  "%s>%s" % (x["details"]["src"], x["details"]["dst"]) == x["entity"] and
		  (x["details"]["dport"], x["details"]["proto"]) in pairs[x["entity"]]
		  for x in b), "webhook: boundary alerts are critical forbid, ports as tshark saw")
	ops = hook.on("/ops")
	check(ops and all(r["sig_ok"] is True for r in ops),
	      "webhook: X-Weir-Signature verified by the receiver on all %d requests" % len(ops))
	check(len({r["headers"]["x-weir-delivery"] for r in ops}) == len(ops),
	      "webhook: every delivery id once")
	sysb = [m for m in sl.msgs if 'rule="iot-to-servers"' in m]
	ents = sorted(re.search(r'entity="([^"]*)"', m).group(1) for m in sysb)
	check(ents == sorted(pairs), "syslog: one boundary message per pair", str(ents[:5]))
	check(all(m.startswith("<154>1 ") for m in sysb),
	      "syslog: PRI 154 (local3 * 8 + critical 2), RFC 5424 version 1", sysb[:1])
	m0 = sysb[0] if sysb else ""
	check(re.match(r'^<154>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ weir-alertd \d+ engaged '
		       r'\[weir@32473 id="\d+" rule="iot-to-servers" kind="boundary" state="engaged" '
		       r'severity="critical" entity="[^"]+" node="local"\] forbidden flow ', m0) is not None,
	      "syslog: header and structured data in RFC 5424 form", m0)

	# email: SSH pairs and the threshold
	mails = smtp.msgs
	ssh_mail = [m for m in mails if b"iot-ssh" in m["data"]]
	subj = [re.search(rb"^Subject: (.*)$", m["data"], re.M).group(1).decode() for m in ssh_mail]
	ent = sorted(re.search(rb"^entity:\s+(\S+)", m["data"], re.M).group(1).decode() for m in ssh_mail)
	check(ent == sorted(ssh_pairs), "email: one message per SSH pair (%d)" % len(ssh_pairs), str(ent))
	check(all(s.startswith("[weir] [WARNING] engaged iot-ssh: ") for s in subj), "email: subject", subj[:2])
	check(all(m["rcpt"] == ["oncall@example.test", "noc@example.test"] and
		  m["from"] == "weir@example.test" for m in mails), "email: envelope from the config")

	# threshold: engaged with tshark's bytes over the window, then released
	want = subnet_bytes[0] / 10.0
	th = got("/ops", "iot-load")
	check([x["state"] for x in th] == ["engaged", "released"], "webhook: threshold engaged then released",
	      str([x["state"] for x in th]))
	if th:
		check(abs(th[0]["value"] - want) < 0.1 and th[0]["threshold"] == 10000 and
		      th[0]["details"]["bytes"] == subnet_bytes[0],
		      "threshold value %.1f B/s = tshark's %d bytes / 10 s" % (want, subnet_bytes[0]),
		      str(th[0]))
	sl_txt = [r["json"]["text"] for r in hook.on("/slack") if r["json"]]
	check(len(sl_txt) == 2 and sl_txt[0].startswith("[WARNING] engaged iot-load: subnet:iot>servers at ")
	      and sl_txt[1].startswith("[WARNING] released iot-load:") and
	      all("x-weir-signature" not in r["headers"] for r in hook.on("/slack")),
	      "slack: text payloads, engaged then released, unsigned", str(sl_txt))
	th_mail = [m for m in mails if b"iot-load" in m["data"]]
	check(len(th_mail) == 2, "email: threshold engaged and released", str(len(th_mail)))

	# a pattern: every iot host on VLAN 30 above 700 B/s
	hl = got("/ops", "iot-hosts-load")
	eng = {x["entity"]: x["value"] for x in hl if x["state"] == "engaged"}
	rel = sorted(x["entity"] for x in hl if x["state"] == "released")
	check(sorted(eng) == sorted(busy) and rel == sorted(busy) and
	      all(abs(eng[k] - busy[k]) < 0.1 for k in busy),
	      "threshold on host:10.0.30.*@30: %d hosts over 700 B/s as tshark counts them, "
	      "engaged and released" % len(busy), "got %s want %s" % (eng, busy))

	# new hosts: syslog all, rate-limited destination 5
	nh = sorted(re.search(r'entity="([^"]*)"', m).group(1) for m in sl.msgs if 'rule="iot-new-host"' in m)
	check(nh == sorted(iot_hosts), "syslog: one new-host message per iot host and VLAN (%d)" % len(iot_hosts),
	      str(nh))
	lim = got("/limited")
	check(len(lim) == 5 and all(x["rule"] == "iot-new-host" for x in lim),
	      "rate limit: 5 of %d new-host notes sent to 'limited'" % len(iot_hosts), str(len(lim)))
	limited = 0
	for k in redis.cli("KEYS", KP + "alert:*").split():
		h = redis.hgetall(k)
		if h.get("rule") == "iot-new-host" and h.get("dlv_limited", "").startswith("rate-limited"):
			limited += 1
	check(limited == len(iot_hosts) - 5, "rate limit: the other %d recorded as rate-limited" %
	      (len(iot_hosts) - 5), str(limited))

	# new application DNS on iot hosts, Discord payloads
	dc = [r["json"] for r in hook.on("/discord") if r["json"]]
	dents = sorted(re.search(r"entity: (\S+)", x["content"]).group(1) for x in dc)
	check(dents == sorted(h + "/DNS" for h in dns_iot), "discord: DNS as a new application per iot host",
	      str(dents))
	check(all(x["allowed_mentions"] == {"parse": []} and len(x["content"]) < 2000 for x in dc),
	      "discord: no mentions, under 2000 characters")

	# DNS in quiet hours (the capture's hour in UTC), names as tshark read them
	dq = got("/ops", "capture-hour-dns")
	check(sorted(x["entity"] for x in dq) == sorted(dns_iot),
	      "dns-quiet: one alert per iot host that asked during 07:30-08:30", str([x["entity"] for x in dq]))
	check(all(x["details"]["names"] and set(x["details"]["names"]) <= names.get(x["entity"], set())
		  for x in dq), "dns-quiet: the names are queries tshark saw from that host")
	check(not got("/ops", "night-dns"), "dns-quiet: nothing for 00:00-05:00")

	# scans: distinct peers as tshark's flows give them
	sc = got("/ops", "scanners")
	check({x["entity"]: x["value"] for x in sc} == scanners,
	      "scan: hosts with >= %d distinct peers and their counts" % scan_k,
	      "got %s want %s" % ({x["entity"]: x["value"] for x in sc}, scanners))

	ps = got("/ops", "port-scanners")
	check({x["entity"]: x["value"] for x in ps} == port_scanners and
	      all(x["details"]["ports"] == port_scanners[x["entity"]] for x in ps if x["entity"] in port_scanners),
	      "scan: hosts with >= %d distinct destination ports as tshark's SYNs and first UDP "
	      "datagrams give them (port 0 of later fragments not counted)" % ports_k,
	      "got %s want %s" % ({x["entity"]: x["value"] for x in ps}, port_scanners))

	# nothing else, nothing twice
	expect_ops = len(pairs) + 2 + 2 * len(busy) + len(dns_iot) + len(scanners) + len(port_scanners)
	check(len(ops) == expect_ops, "webhook ops: exactly %d requests" % expect_ops, str(len(ops)))
	check(len(sl.msgs) == len(pairs) + len(iot_hosts), "syslog: exactly %d messages" %
	      (len(pairs) + len(iot_hosts)), str(len(sl.msgs)))
	check(len(mails) == len(ssh_pairs) + 2, "email: exactly %d messages" % (len(ssh_pairs) + 2), str(len(mails)))
	check(hook.on("/target") == [], "nothing else was asked")

	# Redis: active alerts, history, outbox
	active = int(redis.cli("HLEN", KP + "alerts:active"))
	engaged = len(pairs) + len(ssh_pairs) + len(iot_hosts) + len(dns_iot) + len(dns_iot) + \
		len(scanners) + len(port_scanners)
	check(active == engaged, "alerts:active holds the %d engaged alerts" % engaged, str(active))
	check(int(redis.cli("XLEN", KP + "alerts:history")) == engaged + 2 + 2 * len(busy),
	      "alerts:history: every engagement, the thresholds' two transitions",
	      redis.cli("XLEN", KP + "alerts:history"))
	check(int(redis.cli("HLEN", KP + "alerts:outbox")) == 0, "outbox empty")
	pend = redis.cli("XPENDING", KP + "events", "weir-alertd").split()
	check(pend and pend[0] == "0", "events: nothing pending in the group", str(pend[:1]))
	check("failed" not in log, "no failed delivery in the log", log[-2000:])
	if args.weirctl:
		shown_vs_received(args, redis, hook, sl, smtp)
	for x in (hook, sl, smtp):
		x.stop()
	return not FAILS


def received_notes(hook, sl, smtp):
	"""Every (alert id, rule, entity, state) that reached a receiver: the
	JSON webhooks, the Slack and Discord text, syslog and email."""
	notes = set()
	for r in hook.requests:
		j = r["json"]
		if not j:
			continue
		if "rule" in j:
			notes.add((int(j["id"]), j["rule"], j["entity"], j["state"]))
			continue
		text = j.get("text") or j.get("content") or ""
		m = re.match(r"^\[[A-Z]+\] (\w+) (\S+): .*\nentity: (.*) · alert (\d+) · node ", text, re.S)
		if m:
			notes.add((int(m.group(4)), m.group(2), m.group(3), m.group(1)))
	for m in sl.msgs:
		f = dict(re.findall(r' (id|rule|entity|state)="([^"]*)"', m))
		notes.add((int(f["id"]), f["rule"], f["entity"], f["state"]))
	for m in smtp.msgs:
		d = m["data"].decode("utf-8", "replace")
		g = lambda k: re.search(r"^" + k + r":\s+(.*?)\r?$", d, re.M).group(1)	# noqa: E731
		notes.add((int(g("X-Weir-Alert")), g("rule").split(" ")[0], g("entity"), g("X-Weir-State")))
	return notes


def shown_vs_received(args, redis, hook, sl, smtp):
	"""What weirctl shows of the alerts a real weir-alertd wrote is what
	the receivers got: the history is every transition noted, the active
	list every alert engaged and not released."""
	notes = received_notes(hook, sl, smtp)
	hist = weirtest.weirctl_json(args.weirctl, redis.url, "alerts", "--history", "--count", "10000")
	shown = [(int(h["id"]), h["rule"], h["entity"], h["state"]) for h in hist]
	check(len(shown) == len(set(shown)) and set(shown) == notes,
	      "weirctl alerts --history: the %d transitions the receivers got, each once" % len(notes),
	      "only shown %s; only received %s" % (sorted(set(shown) - notes)[:5],
						  sorted(notes - set(shown))[:5]))
	sid = [tuple(int(x) for x in h["stream_id"].split("-")) for h in hist]
	check(sid == sorted(sid, reverse=True), "weirctl alerts --history: newest first")
	released = {(i, r, e) for i, r, e, st in notes if st == "released"}
	want = {(i, r, e) for i, r, e, st in notes if st == "engaged"} - released
	act = weirtest.weirctl_json(args.weirctl, redis.url, "alerts")
	rows = [(int(a["id"]), a["rule"], a["entity"]) for a in act]
	check(len(rows) == len(set(rows)) and set(rows) == want and
	      all(a["state"] == "active" for a in act),
	      "weirctl alerts: the %d alerts engaged and not released, active" % len(want),
	      "only shown %s; only received %s" % (sorted(set(rows) - want)[:5],
						  sorted(want - set(rows))[:5]))
	sev = {}
	for r in hook.requests:
		if r["json"] and "rule" in r["json"]:
			sev[int(r["json"]["id"])] = r["json"]["severity"]
	check(all(a["severity"] == sev[int(a["id"])] for a in act if int(a["id"]) in sev),
	      "weirctl alerts: severities as the webhook notes said")


# ------------------------------------------------------------------ flowcount


def case_flowcount(args, tmp):
	"""Threshold metrics against tshark: distinct peers and ports over a
	window (the flow index) for a host, a VLAN, a subnet pair and an
	application, and the series metrics packets/s, flows and flows/s of a
	VLAN and bytes/s of an application."""
	weirtest.need_root()
	pcap = gen_pcap(args, tmp)
	t = truth(args, pcap)
	flows = t["flows"]

	def distinct(fs, peer):
		return (len({peer(f) for f in fs}),
			len({f["dport"] for f in fs if f["proto"] in (6, 17, 132) and f["dport"] > 0}))
	hip, hv = "10.0.30.111", 30
	host_f = [f for f in flows if f["vlan"] == hv and hip in (f["src"], f["dst"])]
	vlan_f = [f for f in flows if f["vlan"] == 30]
	sub_f = [f for f in flows if inside(f["src"], IOT) and inside(f["dst"], SERVERS)]
	dns_f = [f for f in flows if f["dport"] == 53 and f["proto"] in (6, 17)]
	to_dst = lambda f: f["dst"]	# noqa: E731
	counts = {
		"host:%s@%d" % (hip, hv): distinct(host_f, lambda f: f["dst"] if f["src"] == hip else f["src"]),
		"vlan:30": distinct(vlan_f, to_dst),
		"subnet:iot>servers": distinct(sub_f, to_dst),
		"app:DNS": distinct(dns_f, to_dst),
	}
	v30 = [v for v in t["vlans"] if v["vlan"] == 30]
	series = {	# rule: (entity, metric, value over a 10 s window)
		"vlan-pps": ("vlan:30", "packets/s", v30[0]["pkts"] / 10.0 if v30 else 0),
		"vlan-flows": ("vlan:30", "flows", float(len(vlan_f))),
		"vlan-fps": ("vlan:30", "flows/s", len(vlan_f) / 10.0),
		"dns-bps": ("app:DNS", "bytes/s", sum(f["bytes"] for f in dns_f) / 10.0),
	}
	print("truth (tshark): distinct (peers, ports) %s; series %s; capture %.0f s" %
	      (counts, {k: v[2] for k, v in series.items()},
	       t["totals"]["last_ts"] - t["totals"]["first_ts"]))
	if min(min(c) for c in counts.values()) < 1 or not v30 or not dns_f:
		print("the capture does not hold what this test needs")
		return False
	rules = ""
	want = {}
	for ent, (peers, ports) in counts.items():
		for metric, n in (("peers", peers), ("ports", ports)):
			name = "%s-%s" % (ent.split(":")[0], metric)
			want[name] = (ent, float(n))
			# engaged once the count reaches tshark's; `-over` only
			# when it would count more than tshark
			for suffix, above in (("", n - 1), ("-over", n)):
				rules += """[rule %s%s]
kind = threshold
entity = %s
metric = %s
window = 5m
above = %d
notify = t
""" % (name, suffix, ent, metric, above)
	for name, (ent, metric, v) in series.items():
		want[name] = (ent, v)
		rules += """[rule %s]
kind = threshold
entity = %s
metric = %s
window = 10s
above = %.3f
for = 2s
notify = t
""" % (name, ent, metric, v * 0.5)
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
eval-interval = 500ms
scan-interval = 1s
[webhook t]
url = %s
allow-private = yes
""" % (redis.url, hook.url("/t")))
	rules = write(os.path.join(tmp, "alertd.rules"), rules)
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started",
	      ad.text()[-1000:])
	weirtest.run_weir(args.weir, engine_args(redis, pcap))

	def engaged():
		return {r["json"]["rule"]: r["json"] for r in hook.on("/t")
			if r["json"] and r["json"]["state"] == "engaged"}
	check(endpoints.wait_until(lambda: set(want) <= set(engaged()), 40),
	      "every rule engaged within 40 s", str(sorted(set(want) - set(engaged()))))
	time.sleep(2.5)		# an over-count would show now
	ad.stop()
	got = engaged()
	for name, (ent, v) in sorted(want.items()):
		x = got.get(name)
		check(x is not None and x["entity"] == ent and abs(x["value"] - v) < 0.01,
		      "%s: %s = %g as tshark counts it" % (name, ent, v),
		      str(x and (x["entity"], x["value"], x["details"])))
	over = sorted(k for k in got if k.endswith("-over"))
	check(not over, "no count above tshark's", str([(k, got[k]["value"]) for k in over]))
	eng = [r["json"]["rule"] for r in hook.on("/t") if r["json"]["state"] == "engaged"]
	check(len(eng) == len(set(eng)), "each engaged once", str(eng))
	hook.stop()
	return not FAILS


# ------------------------------------------------------------------ restart


def case_restart(args, tmp):
	weirtest.need_root()
	pcap = gen_pcap(args, tmp)
	t = truth(args, pcap)
	pairs = {"%s>%s" % (f["src"], f["dst"]) for f in t["flows"]
		 if inside(f["src"], IOT) and inside(f["dst"], SERVERS)}
	iot_hosts = {"%s@%d" % (h["ip"], h["vlan"]) for h in t["hosts"] if inside(h["ip"], IOT)}
	redis = weirtest.Redis()
	hold_at = 10
	hook = endpoints.WebhookReceiver(secret="k2", hold_path="/ops", hold_at=hold_at)
	tcp = endpoints.SyslogTcp()
	smtp = endpoints.SmtpSink()
	engine = subprocess.Popen([args.weir, "--quiet"] + engine_args(redis, pcap, loop=True),
				  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
				  preexec_fn=weirtest.die_with_parent)
	try:
		return restart_body(args, tmp, redis, hook, tcp, smtp, engine, pairs, iot_hosts,
				    hold_at)
	finally:
		if engine.poll() is None:
			engine.kill()
			engine.wait(20)
		hook.stop()
		tcp.stop()
		smtp.stop()


def restart_body(args, tmp, redis, hook, tcp, smtp, engine, pairs, iot_hosts, hold_at):
	ev = KP + "events"
	n_events = 0

	def events_in():
		nonlocal n_events
		try:
			n_events = int(redis.cli("XLEN", ev))
		except (ValueError, RuntimeError):
			return False
		return n_events >= 150
	check(endpoints.wait_until(events_in, 60), "engine wrote its events", str(n_events))
	time.sleep(1.5)		# the loop adds no new flows: the stream is complete
	n_events = int(redis.cli("XLEN", ev))
	# crashed consumers: read, never acknowledged
	redis.cli("XGROUP", "CREATE", ev, "weir-alertd", "0")
	redis.cli("XREADGROUP", "GROUP", "weir-alertd", "a1", "COUNT", "5", "STREAMS", ev, ">")
	redis.cli("XREADGROUP", "GROUP", "weir-alertd", "zombie", "COUNT", "7", "STREAMS", ev, ">")
	pend = redis.cli("XPENDING", ev, "weir-alertd").split()
	check(pend[0] == "12", "12 events left pending by crashed consumers", str(pend[:1]))
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
consumer = a1
claim-idle = 1s
eval-interval = 500ms
workers = 1
[webhook ops]
url = %s
secret = k2
allow-private = yes
[syslog tcp]
address = tcp://127.0.0.1:%d
[email mail]
url = smtp://127.0.0.1:%d
starttls = no
from = weir@example.test
to = oncall@example.test
""" % (redis.url, hook.url("/ops"), tcp.port, smtp.port))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule iot-to-servers]
kind = boundary
from = iot
to = servers
notify = ops, tcp, mail
[rule iot-new-host]
kind = new-host
subnet = iot
notify = ops, tcp, mail
[rule iot-load]
kind = threshold
entity = subnet:iot>servers
metric = bits/s
window = 3s
above = 1M
for = 2s
notify = ops, tcp, mail
""")
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	held = hook.held.wait(30)
	check(held, "request %d held by the receiver" % hold_at)
	ad.proc.kill()		# SIGKILL: no clean-up of any kind
	ad.proc.wait(10)
	hook.release()
	print("weir-alertd killed with %d requests, %d syslog messages, %d mails received" %
	      (len(hook.on("/ops")), len(tcp.msgs), len(smtp.msgs)))
	check(tcp.msgs and smtp.msgs, "syslog and email had notes before the kill")
	ad.start()
	want = len(pairs) + len(iot_hosts) + 1	# and the threshold's release below
	check(endpoints.wait_until(lambda: len(hook.on("/ops", completed_only=True)) >= want, 60),
	      "after the restart: %d notes completed" % want, str(len(hook.on("/ops", completed_only=True))))
	engine.send_signal(signal.SIGINT)
	try:
		engine.wait(60)
	except subprocess.TimeoutExpired:
		engine.kill()
	check(endpoints.wait_until(lambda: any(r["json"]["state"] == "released" for r in
					      hook.on("/ops", completed_only=True) if r["json"]), 30),
	      "threshold released once the engine stopped")
	total = len(pairs) + len(iot_hosts) + 2
	check(endpoints.wait_until(lambda: len(tcp.msgs) >= total and len(smtp.msgs) >= total, 30),
	      "syslog and email: %d notes each" % total, "%d %d" % (len(tcp.msgs), len(smtp.msgs)))
	time.sleep(3)
	ad.stop()
	log = ad.text()
	want_trans = sorted([("iot-to-servers", p, "engaged") for p in pairs] +
			    [("iot-new-host", h, "engaged") for h in iot_hosts] +
			    [("iot-load", "subnet:iot>servers", s) for s in ("engaged", "released")])
	sl = [(re.search(r' rule="([^"]*)"', m), re.search(r' entity="([^"]*)"', m),
	       re.search(r' state="([^"]*)"', m)) for m in tcp.msgs]
	sl = sorted(tuple(x.group(1) if x else None for x in t3) for t3 in sl)
	check(sl == want_trans and not tcp.bad,
	      "syslog over TCP: each note exactly once across the kill (%d)" % total,
	      "got %d, repeated %s, missing %s" % (len(sl), sorted({x for x in sl if sl.count(x) > 1})[:5],
						  sorted(set(want_trans) - set(sl))[:5]))

	def mail_field(m, name):
		x = re.search(rb"^" + name + rb":\s+(.*?)\r?$", m["data"], re.M)
		return x.group(1).decode() if x else None
	ml = sorted(((mail_field(m, b"rule") or "").split(" ")[0], mail_field(m, b"entity"),
		     mail_field(m, b"X-Weir-State")) for m in smtp.msgs)
	ids = [mail_field(m, b"X-Weir-Delivery") for m in smtp.msgs]
	check(ml == want_trans and len(set(ids)) == len(ids),
	      "email: each note exactly once across the kill (%d), delivery ids unique" % total,
	      "got %d, repeated %s, missing %s" % (len(ml), sorted({x for x in ml if ml.count(x) > 1})[:5],
						  sorted(set(want_trans) - set(ml))[:5]))
	done = [r for r in hook.on("/ops", completed_only=True)]
	cut = [r for r in hook.on("/ops") if r["interrupted"]]
	keys = [r["headers"]["x-weir-delivery"] for r in done]
	dup = sorted({k for k in keys if keys.count(k) > 1})
	check(not dup, "no note completed twice", str(dup))
	check(len(cut) == 1 and cut[0]["headers"]["x-weir-delivery"] in keys,
	      "the note cut by the kill was sent again after the restart")
	js = [r["json"] for r in done]
	b = sorted(x["entity"] for x in js if x["rule"] == "iot-to-servers")
	h = sorted(x["entity"] for x in js if x["rule"] == "iot-new-host")
	th = [x["state"] for x in js if x["rule"] == "iot-load"]
	check(b == sorted(pairs), "every boundary pair once (%d)" % len(pairs), str(b))
	check(h == sorted(iot_hosts), "every iot host once (%d)" % len(iot_hosts), str(h))
	check(th == ["engaged", "released"], "threshold engaged and released once each", str(th))
	check(all(r["sig_ok"] for r in done), "signatures verified")
	pend = redis.cli("XPENDING", ev, "weir-alertd").split()
	check(pend[0] == "0", "events: nothing pending (own and zombie's entries handled)", str(pend[:1]))
	check("left pending by this consumer: 5 events" in log, "own pending entries handled after start",
	      log[-1500:])
	check("claimed from other consumers: 7 events" in log, "the zombie's 7 entries claimed")
	check(int(redis.cli("HLEN", KP + "alerts:outbox")) == 0, "outbox empty")
	hist = xfields(redis.cli("XRANGE", KP + "alerts:history", "-", "+"))
	trans = [(x.get("rule"), x.get("entity"), x.get("state")) for x in hist]
	check(len(trans) == len(set(trans)) == len(pairs) + len(iot_hosts) + 2,
	      "history: each transition once (%d)" % (len(pairs) + len(iot_hosts) + 2), str(len(trans)))
	return not FAILS


# ------------------------------------------------------------------ config


def xadd(redis, *fields):
	return redis.cli("XADD", KP + "events", "*", *fields).strip()


def boundary_event(redis, src, dst, dport="22", mode="forbid"):
	return xadd(redis, "type", "boundary", "ts", str(int(time.time() * 1000)), "rule", mode,
		    "src_subnet", "iot", "dst_subnet", "servers", "flow", "00000000000000aa",
		    "src", src, "dst", dst, "sport", "40000", "dport", dport, "proto", "6",
		    "vlan", "30", "app", "SSH")


def case_config(args, tmp):
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
start = all
eval-interval = 200ms
[webhook ops]
url = %s
allow-private = yes
""" % (redis.url, hook.url("/ops")))
	bad = write(os.path.join(tmp, "bad.rules"), """# line 1
[rule a]
kind = boundary
colour = blue
[rule b]
kind = threshold
entity = subnet:iot>servers
window = soon
above = 1k
notify = ops
[rule c]
kind = scan
notify = nowhere
[rule a]
kind = new-host
notify = ops
[rule d]
severity = critical
kind = new-host
notify = ops
""")
	r = subprocess.run([args.alertd, "--config", conf, "--rules", bad, "--check"],
			   capture_output=True, text=True, timeout=30)
	print(r.stderr)
	check(r.returncode == 2, "bad rules: exit 2", str(r.returncode))
	for line, text in ((4, "takes no 'colour'"), (8, "window: 'soon'"), (11, "needs peers"),
			   (13, "no destination named 'nowhere'"), (14, "rule 'a' is defined twice"),
			   (18, "'kind = ...' must come first"), (2, "rule a: needs notify")):
		check(("%s:%d: " % (bad, line)) in r.stderr and text in r.stderr,
		      "error reported at line %d: %s" % (line, text))
	good1 = write(os.path.join(tmp, "alertd.rules"), """[rule old]
kind = boundary
from = iot
to = servers
notify = ops
""")
	r = subprocess.run([args.alertd, "--config", conf, "--rules", good1, "--check"],
			   capture_output=True, text=True, timeout=30)
	check(r.returncode == 0 and "rule old: boundary, warning, notify ops" in r.stdout,
	      "--check on a good file", r.stdout + r.stderr)

	ad = Alertd(args.alertd, tmp, conf, good1)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started")
	boundary_event(redis, "10.0.30.1", "10.0.20.1")
	check(endpoints.wait_until(lambda: len(hook.on("/ops")) == 1, 10), "rule 'old' alerts")
	# broken file: refused with its line, old rules stay
	write(good1, """[rule new]
kind = boundary
from = iot
to = servers
port = 99999
notify = ops
""")
	ad.proc.send_signal(signal.SIGHUP)
	check(endpoints.wait_until(lambda: "reload refused" in ad.text(), 10),
	      "SIGHUP with an error: reload refused", ad.text()[-800:])
	check("%s:5: port: '99999'" % good1 in ad.text(), "the reload error names line 5")
	boundary_event(redis, "10.0.30.2", "10.0.20.2")
	check(endpoints.wait_until(lambda: len(hook.on("/ops")) == 2, 10) and
	      hook.on("/ops")[1]["json"]["rule"] == "old", "the old rule still alerts after a refused reload")
	# good file: replaced; the old rule's alerts are released
	write(good1, """[rule new]
kind = boundary
from = iot
to = servers
port = 22
release-after = 3s
notify = ops
""")
	ad.proc.send_signal(signal.SIGHUP)
	check(endpoints.wait_until(lambda: "reloaded: 1 rule" in ad.text(), 10), "good reload applied")
	check(endpoints.wait_until(lambda: len(hook.on("/ops")) == 4, 10), "two releases of rule 'old'")
	rel = [r["json"] for r in hook.on("/ops")[2:4]]
	check(len(rel) == 2 and all(x["rule"] == "old" and x["state"] == "released" and
				    x["summary"].endswith("(rule removed)") for x in rel),
	      "rule 'old' alerts released (rule removed)", str(rel))
	boundary_event(redis, "10.0.30.3", "10.0.20.3")
	check(endpoints.wait_until(lambda: len(hook.on("/ops")) == 5, 10) and
	      hook.on("/ops")[4]["json"]["rule"] == "new", "the new rule alerts")
	boundary_event(redis, "10.0.30.3", "10.0.20.3", dport="80")
	time.sleep(1.5)
	check(len(hook.on("/ops")) == 5, "the new rule's port filter holds")
	# release-after = 3s: released once quiet that long, and its summary says so
	check(endpoints.wait_until(lambda: len(hook.on("/ops")) == 6, 10), "rule 'new' released when quiet")
	eng, rel = hook.on("/ops")[4], hook.on("/ops")[5:6]
	rel = rel[0] if rel else {"json": {}, "t": 0}
	check(rel["json"].get("rule") == "new" and rel["json"].get("state") == "released" and
	      rel["json"].get("summary", "").endswith(" (quiet for 3s)") and rel["t"] - eng["t"] >= 2.5,
	      "rule 'new' released %.1f s after engaging, summary ending in (quiet for 3s)" % (
		      rel["t"] - eng["t"]), str(rel["json"]))
	ad.stop()
	hook.stop()
	return not FAILS


# ------------------------------------------------------------------ safety


def case_safety(args, tmp):
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver(flaky=2)
	tcp = endpoints.SyslogTcp()
	dead = endpoints.free_port()
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
start = all
eval-interval = 200ms
workers = 2
[webhook loop]
url = %s
[webhook meta]
url = http://169.254.169.254/latest/meta-data/
[webhook redirect]
url = %s
allow-private = yes
follow-redirects = no
[webhook flaky]
url = %s
allow-private = yes
backoff = 200ms
retries = 4
[webhook dead]
url = http://127.0.0.1:%d/x
allow-private = yes
retries = 2
backoff = 1s
timeout = 2s
[webhook good]
url = %s
allow-private = yes
[syslog tcp]
address = tcp://127.0.0.1:%d
app-name = alertd-test
""" % (redis.url, hook.url("/loopback"), hook.url("/redirect"), hook.url("/flaky"), dead,
       hook.url("/good"), tcp.port))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule r-loop]
kind = boundary
notify = loop, meta
[rule r-redirect]
kind = boundary
notify = redirect
[rule r-flaky]
kind = boundary
notify = flaky
[rule r-dead]
kind = boundary
notify = dead, good, tcp
[rule exp]
kind = exporter-down
notify = good
[rule drops]
kind = health
what = drops
notify = good
""")
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started")
	t0 = time.time()
	boundary_event(redis, "10.0.30.9", "10.0.20.9")
	check(endpoints.wait_until(lambda: hook.on("/good"), 10), "good destination delivered")
	check(time.time() - t0 < 3, "a dead destination did not delay another (%.1fs)" % (time.time() - t0))

	def dlv(rule, dest):
		for k in redis.cli("KEYS", KP + "alert:*").split():
			h = redis.hgetall(k)
			if h.get("rule") == rule:
				return h.get("dlv_" + dest, "")
		return ""
	check(endpoints.wait_until(lambda: dlv("r-flaky", "flaky").startswith("ok (attempt 3)"), 15),
	      "503 twice, then delivered on the third attempt", dlv("r-flaky", "flaky"))
	check(len(hook.on("/flaky")) == 3, "flaky: exactly three requests")
	check(endpoints.wait_until(lambda: dlv("r-dead", "dead").startswith("failed after 3 attempts"), 20),
	      "dead endpoint: failed after 1 + 2 retries, recorded", dlv("r-dead", "dead"))
	check(endpoints.wait_until(lambda: "loopback: refused" in dlv("r-loop", "loop"), 10),
	      "webhook to 127.0.0.1 without allow-private refused", dlv("r-loop", "loop"))
	check(endpoints.wait_until(lambda: "metadata address: refused" in dlv("r-loop", "meta"), 10),
	      "webhook to 169.254.169.254 refused", dlv("r-loop", "meta"))
	check(hook.on("/loopback") == [], "nothing arrived at the refused loopback path")
	check(endpoints.wait_until(lambda: "not followed" in dlv("r-redirect", "redirect"), 10),
	      "redirect recorded as not followed", dlv("r-redirect", "redirect"))
	check(len(hook.on("/redirect")) == 1 and hook.on("/target") == [],
	      "the redirect target was never asked for")
	check(endpoints.wait_until(lambda: tcp.msgs, 10) and not tcp.bad and
	      re.match(r'^<130>1 \S+ \S+ alertd-test \d+ engaged \[weir@32473 id="\d+" rule="r-dead"',
		       tcp.msgs[0]) is not None,
	      "syslog over TCP, octet-counted frame, PRI 130 (local0, critical)", str(tcp.msgs[:1]))
	xadd(redis, "type", "exporter_down", "ts", "1", "exporter", "192.0.2.77", "silent_s", "60")
	check(endpoints.wait_until(lambda: len(hook.on("/good")) == 2, 10), "exporter down alerted")
	xadd(redis, "type", "exporter_up", "ts", "2", "exporter", "192.0.2.77")
	check(endpoints.wait_until(lambda: len(hook.on("/good")) == 3, 10), "exporter up releases it")
	st = [r["json"]["state"] for r in hook.on("/good")[1:]]
	check(st == ["engaged", "released"] and hook.on("/good")[1]["json"]["severity"] == "critical",
	      "exporter-down: critical, engaged then released", str(st))
	xadd(redis, "type", "health", "ts", "3", "what", "redis_back", "lost_cycles", "4")
	xadd(redis, "type", "health", "ts", "4", "what", "drops", "counter", "rx_missed", "delta", "1234")
	check(endpoints.wait_until(lambda: len(hook.on("/good")) == 4, 10), "health: drops alerted")
	time.sleep(1)
	hj = [r["json"] for r in hook.on("/good")[3:]]
	check(len(hj) == 1 and hj[0]["entity"] == "drops:rx_missed" and
	      hj[0]["summary"] == "engine lost packets: rx_missed rose by 1234" and
	      hj[0]["details"]["delta"] == "1234", "health: only the drops event, with its counter",
	      str(hj))
	ad.stop()
	hook.stop()
	tcp.stop()
	return not FAILS


# ------------------------------------------------------------------ queue


def dlv_of(redis, rule, dest):
	"""The delivery result recorded in the alert hash of rule's (first) alert."""
	for k in redis.cli("KEYS", KP + "alert:*").split():
		h = redis.hgetall(k)
		if h.get("rule") == rule:
			return h.get("dlv_" + dest, "")
	return ""


def case_queue(args, tmp):
	"""A destination that accepts and never answers must not delay the
	others; a silent endpoint times out and is retried with a doubling
	backoff."""
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	hang = endpoints.SilentHttp()
	silent = endpoints.SilentHttp()
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
start = all
eval-interval = 200ms
workers = 2
[webhook hang]
url = %s
allow-private = yes
timeout = 2s
retries = 0
[webhook good]
url = %s
allow-private = yes
[webhook silent]
url = %s
allow-private = yes
timeout = 300ms
retries = 2
backoff = 200ms
backoff-max = 10s
""" % (redis.url, hang.url("/h"), hook.url("/good"), silent.url("/s")))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule burst]
kind = boundary
port = 22
notify = hang, good
[rule slow]
kind = boundary
port = 23
notify = silent
""")
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started")
	n = 8
	t0 = time.time()
	for i in range(n):
		boundary_event(redis, "10.0.30.%d" % (i + 1), "10.0.20.1")
	check(endpoints.wait_until(lambda: len(hook.on("/good")) == n, 20),
	      "good: all %d notes arrived" % n, str(len(hook.on("/good"))))
	times = [r["t"] - t0 for r in hook.on("/good")]
	print("good got its notes at %s s; the hung endpoint has %d connections" %
	      (" ".join("%.2f" % x for x in times), len(hang.accepted)))
	check(times and max(times) < 1.5,
	      "a hung destination (2 workers, 2 s timeout) did not delay 'good': all %d within 1.5 s" % n,
	      str(times))
	check(len(hang.accepted) <= 2,
	      "the hung destination has one attempt at a time (%d connections so far)" %
	      len(hang.accepted))

	# a silent endpoint: 300 ms timeouts, backoff 200 ms then 400 ms
	boundary_event(redis, "10.0.30.99", "10.0.20.1", dport="23")
	check(endpoints.wait_until(lambda: dlv_of(redis, "slow", "silent").startswith("failed"), 20),
	      "silent endpoint: the failure is recorded", dlv_of(redis, "slow", "silent"))
	res = dlv_of(redis, "slow", "silent")
	check(res.startswith("failed after 3 attempts") and "Timeout" in res,
	      "silent endpoint: failed after 3 attempts, timed out", res)
	acc = silent.accepted
	gaps = [b - a for a, b in zip(acc, acc[1:])]
	print("silent endpoint: connections %s s apart" % " ".join("%.3f" % g for g in gaps))
	check(len(acc) == 3 and gaps[0] >= 0.3 + 0.2 - 0.02 and gaps[1] >= 0.3 + 0.4 - 0.02 and
	      gaps[1] - gaps[0] >= 0.15 and gaps[1] < 2.0,
	      "silent endpoint: 3 attempts, each after the 300 ms timeout and a backoff of "
	      "200 ms then 400 ms", str(gaps))
	ad.stop()
	hook.stop()
	hang.stop()
	silent.stop()
	return not FAILS


# ------------------------------------------------------------------ backends


def make_cert(tmp):
	"""A self-signed certificate for 127.0.0.1, made by openssl for this run."""
	cert, key = os.path.join(tmp, "smtp-cert.pem"), os.path.join(tmp, "smtp-key.pem")
	r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
			    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
			    "-addext", "subjectAltName=IP:127.0.0.1"],
			   capture_output=True, text=True, timeout=60)
	if r.returncode != 0:
		print("SKIP: openssl cannot make a certificate: " + r.stderr[-500:])
		sys.exit(77)
	return cert, key


def case_backends(args, tmp):
	"""Syslog over a unix datagram socket; email over STARTTLS required by
	the server, verified against ca-file (and refused without it); boundary
	rules with app= (the event's, or the flow's read back); a SIGHUP that
	changes and adds destinations."""
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	unix = endpoints.SyslogUnix(os.path.join(tmp, "log.sock"))
	cert, key = make_cert(tmp)
	smtp = endpoints.SmtpSink(tls=(cert, key))
	conf_text = """redis = %s
start = all
eval-interval = 200ms
[syslog local]
address = unix://%s
facility = local5
app-name = weir-test
[email tls]
url = smtp://127.0.0.1:%d
starttls = yes
ca-file = %s
from = weir@example.test
to = oncall@example.test
[email unverified]
url = smtp://127.0.0.1:%d
starttls = yes
retries = 0
from = weir@example.test
to = oncall@example.test
[webhook a]
url = %s
allow-private = yes
""" % (redis.url, unix.path, smtp.port, cert, smtp.port, hook.url("/a"))
	conf = write(os.path.join(tmp, "alertd.conf"), conf_text)
	rules_text = """[rule backends]
kind = boundary
port = 22
notify = local, tls, unverified
[rule ssh-app]
kind = boundary
port = 2222
app = SSH
notify = a
[rule youtube-app]
kind = boundary
port = 2222
app = youtube
notify = a
"""
	rules = write(os.path.join(tmp, "alertd.rules"), rules_text)
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started",
	      ad.text()[-1000:])
	boundary_event(redis, "10.0.30.1", "10.0.20.1")

	# syslog over the local socket
	check(endpoints.wait_until(lambda: unix.msgs, 10), "syslog: a datagram on the unix socket")
	m = unix.msgs[0] if unix.msgs else ""
	# local5 (21) * 8 + critical (2) = 170
	check(len(unix.msgs) == 1 and
	      re.match(r'^<170>1 \S+ \S+ weir-test \d+ engaged \[weir@32473 id="\d+" rule="backends" '
		       r'kind="boundary" state="engaged" severity="critical" '
		       r'entity="10.0.30.1>10.0.20.1" node="local"\] forbidden flow ', m) is not None,
	      "syslog unix://: one RFC 5424 datagram, PRI 170 (local5, critical)", m)

	# email over STARTTLS, required by the server
	def dlv(dest):
		return dlv_of(redis, "backends", dest)
	def done(dest):	# "queued (note N)" until the attempt's result replaces it
		return dlv(dest).startswith(("ok", "failed"))
	check(endpoints.wait_until(lambda: done("tls") and done("unverified"), 20),
	      "both email results recorded", "%s / %s" % (dlv("tls"), dlv("unverified")))
	check(dlv("tls").startswith("ok") and len(smtp.msgs) == 1 and smtp.msgs[0]["tls"] and
	      b"rule:     backends" in smtp.msgs[0]["data"],
	      "email starttls = yes, certificate verified against ca-file: delivered encrypted",
	      dlv("tls"))
	check(dlv("unverified").startswith("failed") and
	      ("certificate" in dlv("unverified") or "SSL" in dlv("unverified")),
	      "email starttls = yes without ca-file: the self-signed certificate is refused",
	      dlv("unverified"))

	# boundary rules with app=: the event's app, then the flow's
	redis.cli("HSET", KP + "flow:00000000000000bb", "app", "TLS.YouTube", "application", "YouTube")
	redis.cli("HSET", KP + "flow:00000000000000cc", "app", "Unknown", "application", "Unknown")
	now = str(int(time.time() * 1000))
	for flow, src, app in (("00000000000000aa", "10.0.30.2", "SSH"),
			       ("00000000000000bb", "10.0.30.3", "Unknown"),
			       ("00000000000000cc", "10.0.30.4", "Unknown")):
		xadd(redis, "type", "boundary", "ts", now, "rule", "forbid", "src_subnet", "iot",
		     "dst_subnet", "servers", "flow", flow, "src", src, "dst", "10.0.20.1",
		     "sport", "40000", "dport", "2222", "proto", "6", "vlan", "30", "app", app)
	check(endpoints.wait_until(lambda: len(hook.on("/a")) >= 2, 10), "app rules alerted")
	time.sleep(1)
	got = sorted((r["json"]["rule"], r["json"]["entity"]) for r in hook.on("/a"))
	check(got == [("ssh-app", "10.0.30.2>10.0.20.1"), ("youtube-app", "10.0.30.3>10.0.20.1")],
	      "app = SSH matches the event's app; app = youtube the flow's application (TLS.YouTube) "
	      "read back; an Unknown flow matches neither", str(got))
	yt = [r["json"] for r in hook.on("/a") if r["json"]["rule"] == "youtube-app"]
	check(yt and yt[0]["details"]["app"] == "YouTube", "the details carry the flow's application",
	      str(yt[:1]))

	# SIGHUP: webhook a moves to /a2, webhook b is added
	write(conf, conf_text.replace(hook.url("/a"), hook.url("/a2")) + """[webhook b]
url = %s
allow-private = yes
""" % hook.url("/b"))
	write(rules, rules_text.replace("notify = a\n", "notify = a, b\n"))
	ad.proc.send_signal(signal.SIGHUP)
	check(endpoints.wait_until(lambda: "reloaded: 3 rules, 5 destinations" in ad.text(), 10),
	      "SIGHUP: reloaded with 5 destinations", ad.text()[-800:])
	n_a = len(hook.on("/a"))
	xadd(redis, "type", "boundary", "ts", now, "rule", "forbid", "src_subnet", "iot",
	     "dst_subnet", "servers", "flow", "00000000000000aa", "src", "10.0.30.5", "dst", "10.0.20.1",
	     "sport", "40000", "dport", "2222", "proto", "6", "vlan", "30", "app", "SSH")
	check(endpoints.wait_until(lambda: hook.on("/a2") and hook.on("/b"), 10),
	      "after the reload: the note goes to a's new URL and to b")
	time.sleep(1)
	check(len(hook.on("/a")) == n_a and len(hook.on("/a2")) == 1 and len(hook.on("/b")) == 1 and
	      hook.on("/b")[0]["json"]["entity"] == "10.0.30.5>10.0.20.1",
	      "the old URL got nothing more; each new destination once",
	      "%d %d %d" % (len(hook.on("/a")) - n_a, len(hook.on("/a2")), len(hook.on("/b"))))
	ad.stop()
	for x in (hook, unix, smtp):
		x.stop()
	return not FAILS


# ------------------------------------------------------------------ flowwindow


def case_flowwindow(args, tmp):
	"""peers and ports over the window, on flows the test writes itself:
	only flows seen within the window count, a host's peer is the other
	end whichever started the flow, port 0 is no port, and once nothing
	newer comes the window moves on with the clock and the alert is
	released."""
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	host = "10.0.0.1@0"
	t = int(time.time() * 1000)
	flows = [	# id, src, dst, dport, proto, last_seen
		("f1", "10.0.0.1", "10.0.0.2", 80, 6, t - 20000),	# before the window
		("f2", "10.0.0.1", "10.0.0.3", 443, 6, t - 2000),
		("f3", "10.0.0.4", "10.0.0.1", 22, 6, t - 1000),	# towards the host
		("f4", "10.0.0.1", "10.0.0.3", 53, 17, t - 500),
		("f5", "10.0.0.1", "10.0.0.9", 0, 17, t),		# later fragments
	]
	for fid, src, dst, dport, proto, last in flows:
		redis.cli("HSET", KP + "flow:" + fid, "src", src, "dst", dst, "sport", "40000",
			  "dport", str(dport), "proto", str(proto), "first_seen", str(last - 100),
			  "last_seen", str(last))
		redis.cli("SADD", KP + "idx:host:" + host, fid)
	redis.cli("ZADD", KP + "hosts", "1000", host)
	# peers in the window: 10.0.0.3, 10.0.0.4 (it started f3), 10.0.0.9;
	# ports: 443, 22, 53 (f5's 0 is none); f1 is older than 10 s
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
eval-interval = 200ms
scan-interval = 500ms
[webhook t]
url = %s
allow-private = yes
""" % (redis.url, hook.url("/t")))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule peers]
kind = threshold
entity = host:%(h)s
metric = peers
window = 10s
above = 2
notify = t
[rule ports]
kind = threshold
entity = host:%(h)s
metric = ports
window = 10s
above = 2
notify = t
[rule any-host-ports]
kind = threshold
entity = host:10.0.0.*
metric = ports
window = 10s
above = 3
notify = t
""" % {"h": host})
	r = subprocess.run([args.alertd, "--config", conf, "--rules", write(
		os.path.join(tmp, "bad.rules"), "[rule x]\nkind = threshold\nentity = exporter:192.0.2.1\n"
		"metric = ports\nabove = 3\nnotify = t\n"), "--check"], capture_output=True, text=True,
		timeout=30)
	check(r.returncode == 2 and "which interfaces and exporters do not have" in r.stderr,
	      "metric ports on an exporter is refused (no flow index)", r.stderr)
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()

	def notes(rule, state):
		return [(x["json"], x["t"]) for x in hook.on("/t") if x["json"]["rule"] == rule and
			x["json"]["state"] == state]
	check(endpoints.wait_until(lambda: notes("peers", "engaged") and notes("ports", "engaged"), 10),
	      "peers and ports engaged", ad.text()[-1000:])
	for rule in ("peers", "ports"):
		x = notes(rule, "engaged")[:1]
		check(x and x[0][0]["value"] == 3 and x[0][0]["details"]["flows"] == 4,
		      "%s: 3 within the 10 s window, over the 4 flows seen in it" % rule,
		      str(x and x[0][0]))
	check(endpoints.wait_until(lambda: notes("peers", "released") and notes("ports", "released"),
				   20), "released once the window moved past the flows")
	# below 2 (release-below = above): ports once f2 (443) and f3 (22)
	# left the window, 8 and 9 s after the newest flow; peers once f4
	# (10.0.0.3 again) left too, 9.5 s after it
	for rule, first in (("ports", 9.0), ("peers", 9.5)):
		x = notes(rule, "released")[:1]
		after = x[0][1] - t / 1000.0 if x else 0
		# released below 2: at 1, or at 0 if the evaluation (every
		# scan-interval) came after the last flow left the window too
		check(x and first - 0.1 <= after <= first + 4 and x[0][0]["value"] in (0, 1),
		      "%s: released below 2, %.1f s after the newest flow (from %.1f s)" % (rule, after, first),
		      str(x and x[0][0]))
	check(not notes("any-host-ports", "engaged"), "a pattern rule above 3 ports: nothing")
	ad.stop()
	hook.stop()
	return not FAILS


# ------------------------------------------------------------------ collect


def case_collect(args, tmp):
	"""The engine as a flow collector (--collect, exporter-timeout 5 s):
	thresholds on exporter: and interface: series against the NetFlow v5
	records the test built by hand, and the engine's own exporter_down
	(datagrams stop) and exporter_up (they resume) alerting and releasing."""
	weirtest.need_root()
	sys.path.insert(0, os.path.join(TESTLIB, "..", "integration"))
	import collect_socket	# noqa: E402 (its v5 record, not a copy)
	import weircollect	# noqa: E402
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	exp = "127.0.0.2"
	recs = [(100 + 10 * i, 2 + i % 3) for i in range(40)]	# (bytes, packets)
	nbytes, npkts = sum(b for b, _ in recs), sum(p for _, p in recs)
	print("truth (the records sent): %d records from %s, %d bytes, %d packets, "
	      "input ifIndex 1" % (len(recs), exp, nbytes, npkts))
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
node = c
eval-interval = 300ms
[webhook t]
url = %s
allow-private = yes
""" % (redis.url, hook.url("/t")))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule exp-down]
kind = exporter-down
notify = t
[rule exp-bytes]
kind = threshold
entity = exporter:%(e)s
metric = bytes/s
window = 10s
above = %(b).3f
for = 1s
notify = t
[rule if-pps]
kind = threshold
entity = interface:%(e)s#1
metric = packets/s
window = 10s
above = %(p).3f
for = 1s
notify = t
""" % {"e": exp, "b": nbytes / 20.0, "p": npkts / 20.0})
	ad = Alertd(args.alertd, tmp, conf, rules)
	col = weircollect.Collector(args.weir, args.weirctl, redis, "c", tmp,
				    extra=["--exporter-timeout", "5"])
	try:
		ad.start()
		check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started",
		      ad.text()[-1000:])
		grams = [(exp, collect_socket.v5_record_datagram(i, "10.9.0.%d" % (i + 1), "10.9.1.1", b, p))
			 for i, (b, p) in enumerate(recs)]
		weircollect.send(col.port, grams)
		t_stop = time.time()

		def notes(rule, state=None):
			return [r["json"] for r in hook.on("/t") if r["json"]["rule"] == rule and
				(state is None or r["json"]["state"] == state)]
		check(endpoints.wait_until(lambda: notes("exp-bytes", "engaged") and
					   notes("if-pps", "engaged"), 20),
		      "exporter and interface thresholds engaged")
		x = notes("exp-bytes", "engaged")[:1]
		check(x and x[0]["entity"] == "exporter:" + exp and abs(x[0]["value"] - nbytes / 10.0) < 0.01,
		      "exporter:%s at %g B/s = the %d bytes sent / 10 s" % (exp, nbytes / 10.0, nbytes), str(x))
		x = notes("if-pps", "engaged")[:1]
		check(x and x[0]["entity"] == "interface:%s#1" % exp and
		      abs(x[0]["value"] - npkts / 10.0) < 0.01,
		      "interface:%s#1 at %g pkt/s = the %d packets sent / 10 s" % (exp, npkts / 10.0, npkts),
		      str(x))
		check(endpoints.wait_until(lambda: notes("exp-down", "engaged"), 15),
		      "the engine's exporter_down alerted once the datagrams stopped")
		d = notes("exp-down", "engaged")[:1]
		if d:
			late = hook.on("/t")[[r["json"] for r in hook.on("/t")].index(d[0])]["t"] - t_stop
			check(d[0]["entity"] == exp and d[0]["severity"] == "critical" and late >= 5,
			      "exporter-down: entity %s, critical, %.1f s after the last datagram "
			      "(exporter-timeout 5 s)" % (exp, late), str(d))
		weircollect.send(col.port, [(exp, collect_socket.v5_record_datagram(99, "10.9.0.1",
										      "10.9.1.1", 100, 1))])
		check(endpoints.wait_until(lambda: notes("exp-down", "released"), 10),
		      "exporter_up (datagrams resumed) released it")
		check([x["state"] for x in notes("exp-down")] == ["engaged", "released"],
		      "exporter-down: engaged and released once each",
		      str([x["state"] for x in notes("exp-down")]))
		ad.stop()
		check(col.stop() == 0, "engine stopped cleanly")
	finally:
		col.kill()
		hook.stop()
	return not FAILS


# ------------------------------------------------------------------ redirects


def case_redirects(args, tmp):
	"""follow-redirects: the same host is followed (the same signed POST),
	another host only when redirect-hosts names it, at most 3 hops, and
	never with follow-redirects = no."""
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver(secret="rk")
	p = hook.port
	hook.redirects.update({
		"/same": (302, "/landed-same"),
		"/same-no": (302, "/landed-no"),
		"/other": (307, "http://localhost:%d/landed-other" % p),
		"/listed": (308, "http://localhost:%d/landed-listed" % p),
		"/hop1": (302, "/hop2"), "/hop2": (302, "/hop3"), "/hop3": (302, "/hop4"),
		"/hop4": (302, "/landed-hops"),
		"/scheme": (302, "ftp://127.0.0.1:%d/x" % p),
	})
	dests = ["same", "no", "other", "listed", "hops", "scheme"]
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
start = all
eval-interval = 200ms
[webhook same]
url = %s
secret = rk
allow-private = yes
[webhook no]
url = %s
secret = rk
allow-private = yes
follow-redirects = no
[webhook other]
url = %s
secret = rk
allow-private = yes
[webhook listed]
url = %s
secret = rk
allow-private = yes
redirect-hosts = example.invalid, localhost
[webhook hops]
url = %s
allow-private = yes
[webhook scheme]
url = %s
allow-private = yes
follow-redirects = yes
""" % (redis.url, hook.url("/same"), hook.url("/same-no"), hook.url("/other"),
       hook.url("/listed"), hook.url("/hop1"), hook.url("/scheme")))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule r]
kind = boundary
notify = %s
""" % ", ".join(dests))
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20), "started")
	boundary_event(redis, "10.0.30.1", "10.0.20.1")
	check(endpoints.wait_until(lambda: all(dlv_of(redis, "r", d) for d in dests), 20),
	      "every destination's result recorded", str({d: dlv_of(redis, "r", d) for d in dests}))
	res = {d: dlv_of(redis, "r", d) for d in dests}
	print("results: %s" % res)

	def one(path):
		return hook.on(path)
	first, landed = one("/same"), one("/landed-same")
	check(res["same"].startswith("ok (attempt 1)") and len(first) == 1 and len(landed) == 1,
	      "same host: the redirect is followed, delivered", res["same"])
	if first and landed:
		check(landed[0]["body"] == first[0]["body"] and landed[0]["sig_ok"] is True and
		      landed[0]["headers"]["x-weir-delivery"] == first[0]["headers"]["x-weir-delivery"],
		      "same host: the same POST body, signature (checked by the receiver) and delivery id")
	check("not followed (follow-redirects = no)" in res["no"] and not one("/landed-no"),
	      "follow-redirects = no: not followed", res["no"])
	check("not followed" in res["other"] and "redirect-hosts" in res["other"] and
	      len(one("/other")) == 1 and not one("/landed-other"),
	      "another host (localhost) is refused, never asked", res["other"])
	ll = one("/landed-listed")
	check(res["listed"].startswith("ok") and len(ll) == 1 and ll[0]["sig_ok"] is True,
	      "a host in redirect-hosts (308 to localhost) is followed, signed", res["listed"])
	check("more than 3 redirects" in res["hops"] and
	      [len(one("/hop%d" % i)) for i in (1, 2, 3, 4)] == [1, 1, 1, 1] and
	      not one("/landed-hops"), "at most 3 hops: the fourth redirect is refused", res["hops"])
	check("not followed" in res["scheme"] and "ftp" in res["scheme"],
	      "follow-redirects = yes still refuses a non-http scheme", res["scheme"])
	ad.stop()
	hook.stop()
	return not FAILS


# ------------------------------------------------------------------ multinode

MN_WINDOW = 20		# the threshold's window in seconds


def rcmd(redis, *a):
	"""One command's redis-cli output, on a server or through a cluster."""
	if isinstance(redis, weirtest.RedisCluster):
		return "\n".join(redis.cmd(*a))
	return redis.cli(*a)


def mn_rules(host, above):
	return """[rule iot-ssh]
kind = boundary
from = iot
to = servers
port = 22
proto = tcp
notify = hook

[rule host-load]
kind = threshold
entity = host:%(host)s
metric = bytes/s
window = %(w)ds
above = %(above).3f
for = 3s
notify = hook

[rule iot-new-host]
kind = new-host
subnet = 10.0.30.0/24
notify = hook
""" % {"host": host, "w": MN_WINDOW, "above": above}


def case_multinode(args, tmp, cluster=False):
	weirtest.need_root()
	sys.path.insert(0, os.path.join(HERE, "..", "..", "weirctl", "tests"))
	import multinode_test	# noqa: E402 (its split_pcap, not a copy)
	full = os.path.join(tmp, "office21.pcap")
	subprocess.run(["/usr/bin/python3", args.gen, "--profile", "office", "--seed", "21",
			"--out", full], check=True, capture_output=True, timeout=300)
	halves = {"a": os.path.join(tmp, "a.pcap"), "b": os.path.join(tmp, "b.pcap")}
	print("halves: %d and %d frames" % multinode_test.split_pcap(full, halves["a"], halves["b"]))
	t = {n: truth(args, halves[n]) for n in halves}

	def ssh_pairs(tt):
		return {"%s>%s" % (f["src"], f["dst"]) for f in tt["flows"]
			if inside(f["src"], IOT) and inside(f["dst"], SERVERS) and
			f["dport"] == 22 and f["proto"] == 6}
	ssh = {n: ssh_pairs(t[n]) for n in halves}
	hbytes = {n: {"%s@%d" % (h["ip"], h["vlan"]): h["bytes_sent"] + h["bytes_rcvd"]
		      for h in t[n]["hosts"]} for n in halves}
	both = [k for k in hbytes["a"] if k in hbytes["b"]]
	host = max(both, key=lambda k: min(hbytes["a"][k], hbytes["b"][k]))
	ba, bb = hbytes["a"][host], hbytes["b"][host]
	# between the bigger half and the sum: neither node alone reaches it
	above = round((max(ba, bb) + ba + bb) / 2.0 / MN_WINDOW, 3)
	iot = {n: {"%s@%d" % (h["ip"], h["vlan"]) for h in t[n]["hosts"] if inside(h["ip"], IOT)}
	       for n in halves}
	print("truth (tshark): iot>servers ssh pairs a %d b %d; host %s bytes a %d b %d, "
	      "threshold %.3f B/s over %ds (a alone %.1f, b alone %.1f, both %.1f); "
	      "iot hosts a %d b %d, both %d" %
	      (len(ssh["a"]), len(ssh["b"]), host, ba, bb, above, MN_WINDOW, ba / MN_WINDOW,
	       bb / MN_WINDOW, (ba + bb) / MN_WINDOW, len(iot["a"]), len(iot["b"]),
	       len(iot["a"] & iot["b"])))
	if ssh["a"] or not ssh["b"] or max(ba, bb) * 1.1 > above * MN_WINDOW or \
	   (ba + bb) < above * MN_WINDOW * 1.1 or not iot["a"] or not (iot["b"] - iot["a"]):
		print("the capture does not hold what this test needs")
		return False

	# every node: one weir-alertd, its own Redis, both engines
	redis, hook, ad = mn_run(args, tmp, cluster, halves, "all", [], host, above, "/all")

	def got(path, rule=None):
		return [r["json"] for r in hook.on(path) if r["json"] and
			(rule is None or r["json"]["rule"] == rule)]
	check(endpoints.wait_until(lambda: [x["state"] for x in got("/all", "host-load")] ==
				   ["engaged", "released"], 60),
	      "threshold on the merged host engaged and released within 60 s",
	      str([x["state"] for x in got("/all", "host-load")]))
	time.sleep(3)		# anything late or doubled would land now
	ad.stop()
	log = ad.text()
	check("watching nodes a,b" in log, "the registry's nodes a and b are watched", log[-1500:])

	# every node: boundary alerts where the flows were, under that node
	b = got("/all", "iot-ssh")
	check(sorted(x["entity"] for x in b) == sorted(ssh["b"]),
	      "boundary: one alert per iot>servers ssh pair, all in half b (%d)" % len(ssh["b"]),
	      str(sorted(x["entity"] for x in b)))
	check(all(x["node"] == "b" and x["state"] == "engaged" and x["severity"] == "critical"
		  for x in b), "boundary: node b, engaged, critical (forbid)", str(b[:2]))
	th = got("/all", "host-load")
	want = (ba + bb) / float(MN_WINDOW)
	if th:
		e = th[0]
		check(abs(e["value"] - want) < 0.1 and e["details"]["bytes"] == ba + bb and
		      abs(e["threshold"] - above) < 0.01,
		      "threshold: value %.2f B/s = tshark's %d + %d bytes / %d s" % (want, ba, bb, MN_WINDOW),
		      str(e))
		check(e["node"] == "a,b" and e["details"]["nodes"] == "a,b" and
		      e["entity"] == "host:" + host, "threshold: entity host:%s, node a,b" % host, str(e))
	nh = got("/all", "iot-new-host")
	ents = [x["entity"] for x in nh]
	check(sorted(ents) == sorted(iot["a"] | iot["b"]),
	      "new-host: each iot host of both halves once (%d, %d in both)" %
	      (len(iot["a"] | iot["b"]), len(iot["a"] & iot["b"])), str(sorted(ents)))
	check(all(x["node"] == "b" for x in nh if x["entity"] in iot["b"] - iot["a"]) and
	      all(x["node"] == "a" for x in nh if x["entity"] in iot["a"] - iot["b"]),
	      "new-host: a host one half has is alerted under that node")
	check(len(got("/all")) == len(ssh["b"]) + 2 + len(iot["a"] | iot["b"]),
	      "webhook /all: exactly %d notes" % (len(ssh["b"]) + 2 + len(iot["a"] | iot["b"])),
	      str(len(got("/all"))))

	# readers: weirctl's merged view finds the alerts under their nodes
	if args.weirctl:
		al = weirtest.weirctl_json(args.weirctl, redis.url, "alerts")
		rows = [(x["rule"], x["entity"], x["node"]) for x in al if x["rule"] == "iot-ssh"]
		check(sorted(rows) == sorted(("iot-ssh", p, "b") for p in ssh["b"]),
		      "weirctl alerts (every node): the boundary alerts, node b", str(rows[:3]))
	deliveries = [r["headers"]["x-weir-delivery"] for r in hook.on("/all")]
	check(len(deliveries) == len(set(deliveries)), "delivery ids never repeat across nodes")
	check(all(r["sig_ok"] for r in hook.on("/all")), "signatures verified")
	for n in halves:
		kp = "weir:{%s}:" % n
		pend = rcmd(redis, "XPENDING", kp + "events", "weir-alertd").split()
		check(pend and pend[0] == "0", "node %s: nothing pending" % n, str(pend[:1]))
		check(rcmd(redis, "HLEN", kp + "alerts:outbox").strip() == "0",
		      "node %s: outbox empty" % n)
	check("failed" not in log, "no failed delivery in the log")
	hook.stop()
	redis.stop()

	# --node a alone, on a Redis of its own where both engines publish
	# again: half a's alerts, nothing that needs b's data
	redis2, hook2, ad2 = mn_run(args, tmp, cluster, halves, "a", ["--node", "a"], host, above,
				    "/a")
	check(endpoints.wait_until(lambda: len(hook2.on("/a")) >= len(iot["a"]), 30),
	      "--node a: its new hosts delivered")
	time.sleep(5)		# the threshold's `for` and more: it would have fired
	ad2.stop()
	aa = [r["json"] for r in hook2.on("/a") if r["json"]]
	check(not [x for x in aa if x["rule"] != "iot-new-host"],
	      "--node a: no boundary alert (no ssh flow in half a), no threshold (%.1f B/s alone)" %
	      (ba / MN_WINDOW), str([(x["rule"], x["entity"]) for x in aa][:5]))
	check(sorted(x["entity"] for x in aa) == sorted(iot["a"]) and
	      all(x["node"] == "a" for x in aa),
	      "--node a: a new-host alert per iot host of half a (%d), node a" % len(iot["a"]),
	      str(sorted(x["entity"] for x in aa)))
	check("watching node a;" in ad2.text(), "--node a: node a alone is watched")
	check(rcmd(redis2, "EXISTS", "weir:{b}:alerts:active").strip() == "0",
	      "--node a: nothing written under node b")
	hook2.stop()
	return not FAILS


def mn_run(args, tmp, cluster, halves, who, extra, host, above, path):
	"""A Redis (or cluster), a webhook receiver, one weir-alertd started
	before the engines, and both engines run at once on their halves."""
	redis = weirtest.RedisCluster(masters=3, replicas=0) if cluster else weirtest.Redis()
	hook = endpoints.WebhookReceiver(secret="mn")
	conf = write(os.path.join(tmp, "alertd-%s.conf" % who), """redis = %s
eval-interval = 500ms
scan-interval = 1s
nodes-interval = 1s
[webhook hook]
url = %s
secret = mn
allow-private = yes
""" % (redis.url, hook.url(path)))
	rules = write(os.path.join(tmp, "alertd-%s.rules" % who), mn_rules(host, above))
	ad = Alertd(args.alertd, tmp, conf, rules, extra=extra, name="alertd." + who)
	ad.start()
	check(endpoints.wait_until(lambda: "connected to Redis" in ad.text(), 20),
	      "weir-alertd (%s) connected" % who, ad.text()[-1000:])
	# both engines at once, as two taps would run
	eng = {n: subprocess.Popen([args.weir, "--quiet"] + engine_args(redis, halves[n]) +
				   ["--node", n], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
				   text=True, preexec_fn=weirtest.die_with_parent) for n in halves}
	for n, p in eng.items():
		_, err = p.communicate(timeout=180)
		check(p.returncode == 0, "engine %s ran its half (exit %d)" % (n, p.returncode), err[-2000:])
	return redis, hook, ad


def case_nodes(args, tmp):
	redis = weirtest.Redis()
	hook = endpoints.WebhookReceiver()
	host = "10.0.0.1@0"
	ahead = int(time.time() * 1000) + 600000	# in every window for 10 min

	def node_up(n, nbytes):
		redis.cli("HSET", "weir:{%s}:meta" % n, "version", "1")
		redis.cli("ZADD", "weir:{%s}:hosts" % n, str(nbytes), host)
		redis.cli("ZADD", "weir:{%s}:ts:1s:host:%s" % (n, host), str(ahead),
			  "%d:%d:10:1" % (ahead, nbytes))
		redis.cli("HSET", "weir:nodes", n, str(ahead))
	conf = write(os.path.join(tmp, "alertd.conf"), """redis = %s
start = all
eval-interval = 200ms
nodes-interval = 500ms
[webhook ops]
url = %s
allow-private = yes
""" % (redis.url, hook.url("/ops")))
	rules = write(os.path.join(tmp, "alertd.rules"), """[rule load]
kind = threshold
entity = host:%s
metric = bytes/s
window = 10s
above = 300
notify = ops
[rule iot-servers]
kind = boundary
notify = ops
[rule new]
kind = new-host
notify = ops
""" % host)

	def got(rule):
		return [r["json"] for r in hook.on("/ops") if r["json"]["rule"] == rule]
	node_up("b", 5000)
	ad = Alertd(args.alertd, tmp, conf, rules)
	ad.start()
	check(endpoints.wait_until(lambda: len(got("load")) == 1, 20), "node b alone: engaged")
	x = got("load")[:1]
	check(x and x[0]["node"] == "b" and abs(x[0]["value"] - 500) < 0.01,
	      "under the home b, node b, 5000 B / 10 s", str(x))
	check(redis.cli("HLEN", "weir:{b}:alerts:active").strip() == "1", "b holds it")
	node_up("a", 3000)
	check(endpoints.wait_until(lambda: len(got("load")) == 2, 20), "node a joins: engaged again")
	x = got("load")[1:2]
	check(x and x[0]["node"] == "a,b" and abs(x[0]["value"] - 800) < 0.01,
	      "under the new home a: node a,b, (5000 + 3000) B / 10 s", str(x))
	check(endpoints.wait_until(lambda: redis.cli("HLEN", "weir:{b}:alerts:active").strip() == "0",
				   5), "b released its merged alert")
	hist = xfields(redis.cli("XRANGE", "weir:{b}:alerts:history", "-", "+"))
	check([h.get("state") for h in hist] == ["engaged", "released"] and
	      "now live under node a" in hist[-1].get("summary", ""),
	      "b's history: engaged, released (now under node a)", str(hist))
	check(redis.cli("HLEN", "weir:{a}:alerts:active").strip() == "1", "a holds it")

	# events: each node's under it; a host both announce is new once
	now = str(int(time.time() * 1000))
	for n, src in (("a", "10.0.30.1"), ("b", "10.0.30.2")):
		redis.cli("XADD", "weir:{%s}:events" % n, "*", "type", "boundary", "ts", now,
			  "rule", "watch", "src_subnet", "iot", "dst_subnet", "servers",
			  "src", src, "dst", "10.0.20.1", "dport", "80", "proto", "6")
		redis.cli("XADD", "weir:{%s}:events" % n, "*", "type", "new_host", "ts", now,
			  "host", "10.0.30.9@30", "ip", "10.0.30.9", "vlan", "30")
	check(endpoints.wait_until(lambda: len(got("iot-servers")) == 2 and len(got("new")) >= 1, 10),
	      "boundary events of both nodes alerted")
	time.sleep(1)
	check(sorted((x["entity"], x["node"]) for x in got("iot-servers")) ==
	      [("10.0.30.1>10.0.20.1", "a"), ("10.0.30.2>10.0.20.1", "b")],
	      "each boundary alert under its node", str(got("iot-servers")))
	check(len(got("new")) == 1, "a new host both nodes announce: one alert", str(got("new")))
	ad.stop()

	# --alert-node central: a home no engine writes; a hands it over
	ad = Alertd(args.alertd, tmp, conf, rules, extra=["--alert-node", "central"], name="alertd.c")
	ad.start()
	check(endpoints.wait_until(lambda: len(got("load")) == 3, 20), "--alert-node central: engaged")
	x = got("load")[2:3]
	check(x and x[0]["node"] == "a,b" and abs(x[0]["value"] - 800) < 0.01,
	      "under central, node a,b, 800 B/s", str(x))
	check(endpoints.wait_until(lambda: redis.cli("HLEN", "weir:{a}:alerts:active").strip() == "2",
				   5), "a kept its own (boundary, new-host), released the merged one")
	check(redis.cli("HGET", "weir:{central}:alerts:active", "load|host:" + host).strip() != "",
	      "central holds it")
	ids = [r["json"]["id"] for r in hook.on("/ops")]
	check(len(ids) == len(set(ids)), "alert ids never repeat across nodes", str(ids))

	# a node that publishes keyspace version 2 is not watched (weirctl
	# refuses it too), and the log says so once, not at every reading
	redis.cli("HSET", "weir:{v2}:meta", "version", "2")
	redis.cli("HSET", "weir:nodes", "v2", str(ahead))
	check(endpoints.wait_until(lambda: "node v2 publishes keyspace version 2" in ad.text(), 10),
	      "a node of keyspace version 2: said in the log", ad.text()[-1000:])
	time.sleep(1.5)		# three more readings of the registry
	watching = [l for l in ad.text().splitlines() if "watching node" in l]
	check(ad.text().count("publishes keyspace version 2") == 1 and
	      not [l for l in watching if "v2" in l],
	      "version 2: said once, never watched", "\n".join(watching[-3:]))
	ad.stop()
	hook.stop()
	return not FAILS


def case_multinode_cluster(args, tmp):
	return case_multinode(args, tmp, cluster=True)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", required=True, choices=["delivery", "restart", "config", "safety", "queue", "redirects", "flowcount",
							  "backends", "collect", "flowwindow",
							  "multinode", "multinode-cluster", "nodes"])
	ap.add_argument("--alertd", required=True)
	ap.add_argument("--weir")
	ap.add_argument("--gen")
	ap.add_argument("--truth")
	ap.add_argument("--weirctl")
	args = ap.parse_args()
	tmp = tempfile.mkdtemp(prefix="weir-alertd-")
	ok = globals()["case_" + args.case.replace("-", "_")](args, tmp)
	if FAILS or not ok:
		print("%d check(s) failed: %s" % (len(FAILS), FAILS))
		for f in sorted(os.listdir(tmp)):
			if f.startswith("alertd.") and f.endswith(".log"):
				print("---- " + f)
				with open(os.path.join(tmp, f)) as fh:
					print(fh.read()[-4000:])
		sys.exit(1)
	shutil.rmtree(tmp, ignore_errors=True)
	print("all checks passed")


if __name__ == "__main__":
	main()
