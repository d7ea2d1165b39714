#!/usr/bin/python3
"""web_test.py -- weir-web against a real Redis filled by the real engine.

Every case generates the office capture (gen_traffic.py --profile office
--seed 5), computes what it holds with tshark (tests/integration/truth.py),
replays it through `weir -r` into a redis-server on a free loopback port,
creates a user with `weir-web --add-user`, and starts weir-web on another
free loopback port.

Cases (--case):
  api       every host, VLAN, subnet pair and flow the API returns equals
            tshark's numbers, integer for integer; the flow filters (VLAN,
            host, subnet, port, app) return exactly the flows tshark's
            numbers say they should; sorting and paging; a host's detail and
            peers; every host's DNS names, query counts and last query
            time against tshark's queries (dns.qry.name); /metrics; series
            (1s, and the 1m / 5m points of the 24 h / 7 d ranges for the
            engine and every host) and ended flows when the engine
            publishes them (empty, not an error, when it does not yet);
            alerts: empty, then the keys of docs/alerts.md written by the
            test, read back field by field, in order, filtered by host,
            and the history newest first.
  security  no session -> 401 (API) or a redirect (page); CSRF token missing
            or wrong -> 403; bad parameters -> 400 with a message naming
            the parameter; a bad Origin on login -> 403; cookie flags;
            security headers; /metrics with a bearer token or public; the
            login rate limit (429 after 5 failures, even for the right
            password); Redis stopped under a running server -> 503 with a
            JSON error on every call, restarted on the same port -> 200
            and tshark's numbers again within a few seconds.
  collect   exporters and interfaces with data: a NetFlow v9 stream the
            test builds (web_collect.py) into `weir --collect`; every
            exporter, interface and weir_interface_bytes_total sample
            against tshark's decoding of the same datagrams.
  browser   headless Chromium (Debian's, driven by playwright-core) logs
            in, opens every page, applies a filter, and finds tshark's
            numbers on the page (browser.mjs), and the alerts the test
            wrote on the dashboard, the Alerts page and the host page;
            screenshots go to
            --artefacts. Skips (77) without chromium, node or the page.
"""
import argparse
import atexit
import http.client
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
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "lib"))
import weirtest  # noqa: E402
import web_collect  # noqa: E402

NETS = ["10.0.0.0/8", "192.0.2.0/24", "2001:db8:a::/48"]
SUBNETS = ["users=10.0.10.0/24", "servers=10.0.20.0/24", "iot=10.0.30.0/24"]
NODE = "webtest"

failures = []


def check(cond, what):
	if not cond:
		print("FAIL " + what)
		failures.append(what)
	return cond


def ok(what):
	print("ok   " + what)


# ---- the fixture -------------------------------------------------------------

def engine_fixture(a):
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-web-it-")
	atexit.register(shutil.rmtree, tmp, True)
	pcap = os.path.join(tmp, "office.pcap")
	subprocess.run(["/usr/bin/python3", a.gen, "--profile", "office", "--seed", "5", "--out", pcap],
		       check=True, timeout=300, capture_output=True)
	cmd = ["/usr/bin/python3", a.truth, pcap, "--local-networks", ",".join(NETS)]
	for s in SUBNETS:
		cmd += ["--subnet", s]
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
	if r.returncode != 0:
		print("truth.py failed: " + r.stderr[-2000:])
		sys.exit(1)
	truth = json.loads(r.stdout)
	redis = weirtest.Redis()
	wargs = ["-r", pcap, "--redis", redis.url, "--node", NODE, "-w", "1",
		 "--flow-table-size", "65536", "--eal-mem", "256", "-m", ",".join(NETS)]
	for s in SUBNETS:
		wargs += ["--subnet", s]
	weirtest.run_weir(a.weir, wargs)
	return tmp, truth, redis


class Web:
	"""weir-web on a free loopback port with one fresh user."""

	def __init__(self, a, redis, tmp, extra=(), node=NODE):
		self.users = os.path.join(tmp, "users-%d" % len(os.listdir(tmp)))
		r = subprocess.run([a.weir_web, "--add-user", "admin", "--users", self.users],
				   capture_output=True, text=True, timeout=30, check=True)
		self.password = r.stdout.strip().splitlines()[-1]
		self.port = weirtest.free_port()
		self.log = self.users + ".log"
		self.logf = open(self.log, "w")
		args = [a.weir_web, "--users", self.users, "--redis", redis.url,
			"--listen", "127.0.0.1:%d" % self.port, "--static", a.static] + list(extra)
		if node:	# None: every node of the registry, merged
			args += ["--node", node]
		self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf,
					     preexec_fn=weirtest.die_with_parent)
		atexit.register(self.stop)
		deadline = time.time() + 15
		while time.time() < deadline:
			if self.proc.poll() is not None:
				break
			try:
				c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
				c.request("GET", "/login.html")
				c.getresponse().read()
				return
			except OSError:
				time.sleep(0.05)
		print("weir-web did not start:\n" + open(self.log).read())
		sys.exit(1)

	@property
	def url(self):
		return "http://127.0.0.1:%d" % self.port

	def stop(self):
		"""SIGTERM; the exit code (0 expected: under ASan a leak makes it 1)."""
		if self.proc.poll() is None:
			self.proc.send_signal(signal.SIGTERM)
			try:
				self.proc.wait(timeout=30)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait(timeout=10)
		if not self.logf.closed:
			self.logf.close()
		return self.proc.returncode

	def check_exit(self):
		rc = self.stop()
		check(rc == 0, "weir-web exits 0 on SIGTERM (got %s)%s" % (
			rc, "" if rc == 0 else ":\n" + open(self.log).read()[-3000:]))


class Client:
	"""A browser's view: one cookie, the CSRF token, no redirect following."""

	def __init__(self, web):
		self.web = web
		self.cookie = None
		self.csrf = None

	def req(self, method, path, body=None, headers=None):
		h = dict(headers or {})
		if self.cookie:
			h.setdefault("Cookie", self.cookie)
		c = http.client.HTTPConnection("127.0.0.1", self.web.port, timeout=60)
		c.request(method, path, body=body, headers=h)
		r = c.getresponse()
		data = r.read()
		hdrs = {k.lower(): v for k, v in r.getheaders()}
		for k, v in r.getheaders():
			if k.lower() == "set-cookie" and v.startswith("weir_session="):
				val = v.split(";")[0]
				self.cookie = None if val == "weir_session=" else val
		c.close()
		return r.status, hdrs, data

	def login(self, user="admin", password=None, origin=None):
		body = urllib.parse.urlencode({"user": user, "password": password or self.web.password})
		h = {"Content-Type": "application/x-www-form-urlencoded"}
		if origin:
			h["Origin"] = origin
		st, hd, data = self.req("POST", "/api/login", body, h)
		if st == 200:
			self.csrf = json.loads(data)["csrf"]
		return st, hd, data

	def get(self, path, params=None):
		if params:
			path += "?" + urllib.parse.urlencode(params)
		st, hd, data = self.req("GET", path)
		try:
			return st, json.loads(data)
		except ValueError:
			return st, data.decode(errors="replace")

	def ok_json(self, path, params=None):
		st, j = self.get(path, params)
		if st != 200:
			print("GET %s %s -> %d %s" % (path, params, st, j))
			sys.exit(1)
		return j


# ---- truth helpers ---------------------------------------------------------------

class Namer:
	"""Longest-prefix name of an address (truth.py's rule, README rule 6)."""

	def __init__(self):
		nets = [(ipaddress.ip_network(c), c) for c in NETS]
		for s in SUBNETS:
			n, c = s.split("=")
			nets.append((ipaddress.ip_network(c), n))
		self.nets = sorted(nets, key=lambda t: -t[0].prefixlen)

	def __call__(self, addr):
		a = ipaddress.ip_address(addr)
		for net, name in self.nets:
			if a.version == net.version and a in net:
				return name
		return "remote"


def tshark_dns(pcap):
	"""{(querying address, VLAN): {name: [queries, last_ms]}} from tshark:
	DNS queries only (dns.flags.response == 0; a DNS message quoted in an
	ICMP error is not a query), the address the query came from, the
	outermost VLAN (0: none), the time of the latest query in unix ms."""
	r = subprocess.run(["tshark", "-r", pcap, "-Y", "dns.flags.response == 0 && !icmp && !icmpv6",
			    "-T", "fields", "-E", "occurrence=f", "-E", "separator=|",
			    "-e", "frame.time_epoch", "-e", "ieee8021ad.id", "-e", "vlan.id",
			    "-e", "ip.src", "-e", "ipv6.src", "-e", "dns.qry.name"],
			   capture_output=True, text=True, timeout=300, check=True)
	out = {}
	for line in r.stdout.splitlines():
		t, qinq, vlan, src4, src6, name = line.split("|")
		sec, _, frac = t.partition(".")
		ms = int(sec) * 1000 + int((frac + "000")[:3])
		host = (src4 or str(ipaddress.ip_address(src6)), int(qinq or vlan or 0))
		d = out.setdefault(host, {}).setdefault(name, [0, 0])
		d[0] += 1
		d[1] = max(d[1], ms)
	return out


def fkey(f):
	return (f["src"], int(f["sport"]), f["dst"], int(f["dport"]), int(f["proto"]), int(f["vlan"]))


def all_flows(cl, params):
	"""Every page of /api/flows (bounded by the page count)."""
	out, page = [], 1
	for _ in range(1000):
		j = cl.ok_json("/api/flows", dict(params, per_page=1000, page=page))
		out += j["flows"]
		if page >= j["pages"]:
			return out, j
		page += 1
	raise RuntimeError("more than 1000 pages")


def compare_flows(got, want, what):
	g = {fkey(f): f for f in got}
	w = {fkey(f): f for f in want}
	if not check(len(got) == len(g), "%s: no flow listed twice" % what):
		return
	missing = [k for k in w if k not in g]
	extra = [k for k in g if k not in w]
	check(not missing and not extra, "%s: the flows tshark sees (%d), no more, no fewer "
	      "(missing %s, extra %s)" % (what, len(w), missing[:3], extra[:3]))
	bad = [k for k in w if k in g and any(int(g[k][f]) != int(w[k][f]) for f in
		("bytes", "pkts", "bytes_fwd", "pkts_fwd", "bytes_rev", "pkts_rev"))]
	check(not bad, "%s: bytes and packets each way equal tshark's (%d differ: %s)" % (what, len(bad), bad[:3]))


# ---- case: api -------------------------------------------------------------------

def case_api(a):
	tmp, truth, redis = engine_fixture(a)
	web = Web(a, redis, tmp)
	cl = Client(web)
	st, _, _ = cl.login()
	if not check(st == 200, "login"):
		return 1
	namer = Namer()
	T = truth["totals"]

	# status
	s = cl.ok_json("/api/status")
	check(s["published"] is True and s["meta"]["node"] == NODE, "status: published by node %s" % NODE)
	check(s["health"]["rx_pkts"] == T["frames"] and s["health"]["rx_bytes"] == T["bytes"],
	      "status: frames %s / bytes %s = tshark's %d / %d" % (s["health"]["rx_pkts"], s["health"]["rx_bytes"], T["frames"], T["bytes"]))
	check(s["counts"]["hosts"] == len(truth["hosts"]) and s["counts"]["flows"] == len(truth["flows"]) and
	      s["counts"]["vlans"] == len(truth["vlans"]),
	      "status: %d hosts, %d flows, %d VLANs as tshark" % (len(truth["hosts"]), len(truth["flows"]), len(truth["vlans"])))
	ok("status (%d frames, %d hosts, %d flows)" % (T["frames"], len(truth["hosts"]), len(truth["flows"])))

	# hosts
	hs = cl.ok_json("/api/hosts", {"top": 10000})["hosts"]
	th = {(h["ip"], h["vlan"]): h for h in truth["hosts"]}
	gh = {(h["ip"], h["vlan"]): h for h in hs}
	check(set(th) == set(gh), "hosts: the same (address, VLAN) set as tshark (%d)" % len(th))
	bad = [k for k in th if k in gh and any(gh[k][f] != th[k][f] for f in
		("bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd", "flows"))]
	check(not bad, "hosts: bytes, packets and flows each way equal tshark's (%d differ: %s)" % (len(bad), bad[:3]))
	check(all(hs[i]["bytes"] >= hs[i + 1]["bytes"] for i in range(len(hs) - 1)), "hosts: busiest first")
	top = cl.ok_json("/api/hosts", {"top": 3})
	check(len(top["hosts"]) == 3 and top["total"] == len(th), "hosts?top=3: 3 rows of %d" % len(th))
	for v in sorted({h["vlan"] for h in truth["hosts"]}):
		got = {(h["ip"], h["vlan"]) for h in cl.ok_json("/api/hosts", {"vlan": v, "top": 10000})["hosts"]}
		check(got == {k for k in th if k[1] == v}, "hosts?vlan=%d: tshark's hosts on VLAN %d" % (v, v))
	got = {(h["ip"], h["vlan"]) for h in cl.ok_json("/api/hosts", {"subnet": "iot", "top": 10000})["hosts"]}
	check(got == {k for k in th if namer(k[0]) == "iot"}, "hosts?subnet=iot: the hosts inside 10.0.30.0/24 (%d)" % len(got))
	ok("hosts (%d), by VLAN and by subnet" % len(hs))

	# vlans
	vs = cl.ok_json("/api/vlans")["vlans"]
	tv = {v["vlan"]: v for v in truth["vlans"]}
	gv = {v["vlan"]: v for v in vs}
	check(set(tv) == set(gv), "vlans: tshark's VLANs %s" % sorted(tv))
	bad = [k for k in tv if k in gv and any(gv[k][f] != tv[k][f] for f in ("bytes", "pkts", "flows", "hosts"))]
	check(not bad, "vlans: bytes, packets, flows and hosts equal tshark's (%s differ)" % bad)
	ok("vlans (%d)" % len(vs))

	# subnets and the matrix
	ps = cl.ok_json("/api/subnets")["subnets"]
	tp = {(p["src"], p["dst"]): p for p in truth["subnets"]}
	gp = {(p["src"], p["dst"]): p for p in ps}
	check(set(tp) == set(gp), "subnets: tshark's pairs (%d)" % len(tp))
	bad = [k for k in tp if k in gp and any(gp[k][f] != tp[k][f] for f in
		("bytes", "pkts", "bytes_fwd", "bytes_rev", "flows"))]
	check(not bad, "subnets: every pair's numbers equal tshark's (%s differ)" % bad)
	m = cl.ok_json("/api/subnets", {"form": "matrix"})
	cells = {(r, c): m["cells"][i][k] for i, r in enumerate(m["rows"]) for k, c in enumerate(m["cols"])}
	check(all(cells.get(k, 0) == p["bytes"] for k, p in tp.items()) and
	      sum(cells.values()) == sum(p["bytes"] for p in tp.values()),
	      "matrix: each cell is its pair's bytes, nothing else")
	check(m["row_totals"] == sorted(m["row_totals"], reverse=True), "matrix: busiest rows first")
	ok("subnets (%d pairs) and the matrix (%dx%d)" % (len(ps), len(m["rows"]), len(m["cols"])))
	check_vlan_matrix(cl, truth, truth["flows"], {}, "vlans?form=matrix", across=True)

	# flows: all of them, then each filter
	fl, j = all_flows(cl, {})
	compare_flows(fl, truth["flows"], "flows")
	check(j["matched"] == len(truth["flows"]), "flows: matched %d" % j["matched"])
	check(all(fl[i]["bytes"] >= fl[i + 1]["bytes"] for i in range(len(fl) - 1)), "flows: by bytes, most first")
	p1 = cl.ok_json("/api/flows", {"per_page": 7, "page": 1})["flows"]
	p2 = cl.ok_json("/api/flows", {"per_page": 7, "page": 2})["flows"]
	check([f["id"] for f in p1 + p2] == [f["id"] for f in fl[:14]], "flows: page 2 continues page 1")
	asc = cl.ok_json("/api/flows", {"per_page": 1000, "sort": "pkts", "order": "asc"})["flows"]
	check(all(asc[i]["pkts"] <= asc[i + 1]["pkts"] for i in range(len(asc) - 1)), "flows?sort=pkts&order=asc")
	mode = j["mode"]
	filters = [
		({"vlan": 30}, lambda f: f["vlan"] == 30),
		({"vlan": 0}, lambda f: f["vlan"] == 0),
		({"port": 22}, lambda f: 22 in (f["sport"], f["dport"])),
		({"port": 53}, lambda f: 53 in (f["sport"], f["dport"])),
		({"subnet": "iot"}, lambda f: "iot" in (namer(f["src"]), namer(f["dst"]))),
		({"subnet": "iot>servers"}, lambda f: (namer(f["src"]), namer(f["dst"])) == ("iot", "servers")),
		({"vlan": 20, "port": 1883}, lambda f: f["vlan"] == 20 and 1883 in (f["sport"], f["dport"])),
	]
	busiest = max(truth["hosts"], key=lambda h: h["bytes_sent"] + h["bytes_rcvd"])
	filters.append(({"host": busiest["ip"], "vlan": busiest["vlan"]},
			lambda f: f["vlan"] == busiest["vlan"] and busiest["ip"] in (f["src"], f["dst"])))
	filters.append(({"host": "10.0.20.18"}, lambda f: "10.0.20.18" in (f["src"], f["dst"])))
	modes = set()
	for params, pred in filters:
		got, j = all_flows(cl, params)
		want = [f for f in truth["flows"] if pred(f)]
		compare_flows(got, want, "flows?%s (%s)" % (urllib.parse.urlencode(params), j["mode"]))
		modes.add(j["mode"])
	mode = "/".join(sorted(modes))
	if modes == {"index"}:
		# The same filters without the index: delete the idx:* sets (this
		# test's own Redis) and the server must fall back to a scan.
		keys = redis.cli("--scan", "--pattern", "weir:{%s}:idx:*" % NODE).split()
		for i in range(0, len(keys), 500):
			redis.cli("DEL", *keys[i:i + 500])
		for params, pred in filters:
			got, j = all_flows(cl, params)
			want = [f for f in truth["flows"] if pred(f)]
			check(j["mode"] == "scan", "without idx:* keys the server scans")
			compare_flows(got, want, "flows?%s (scan)" % urllib.parse.urlencode(params))
		mode += " and scan"
	# app: no tshark truth for labels here (engine_vs_ndpireader does
	# that); the listing must agree with the per-application totals.
	apps = cl.ok_json("/api/apps")["apps"]
	for app in apps[:4]:
		got, _ = all_flows(cl, {"app": app["name"]})
		check(len(got) == app["flows"] and sum(f["bytes"] for f in got) == app["bytes"] and
		      all(f["application"] == app["name"] for f in got),
		      "flows?app=%s: %d flows, %d bytes as /api/apps says" % (app["name"], app["flows"], app["bytes"]))
	check(sum(a_["bytes"] for a_ in apps) == sum(f["bytes"] for f in truth["flows"]),
	      "apps: bytes add up to every flow's bytes (tshark)")
	cats = cl.ok_json("/api/categories")["categories"]
	check(sum(c["bytes"] for c in cats) == sum(f["bytes"] for f in truth["flows"]), "categories: bytes add up to every flow's")
	ok("flows: %d, sorted, paged, %d filters (%s mode)" % (len(fl), len(filters) + 4, mode))

	# one host
	hd = cl.ok_json("/api/host", {"ip": busiest["ip"], "vlan": busiest["vlan"]})
	check(hd["host"]["bytes_sent"] == busiest["bytes_sent"] and hd["host"]["bytes_rcvd"] == busiest["bytes_rcvd"],
	      "host %s@%d: bytes each way equal tshark's" % (busiest["ip"], busiest["vlan"]))
	peers = {}
	for f in truth["flows"]:
		if f["vlan"] == busiest["vlan"] and busiest["ip"] in (f["src"], f["dst"]):
			o = f["dst"] if f["src"] == busiest["ip"] else f["src"]
			peers[o] = peers.get(o, 0) + f["bytes"]
	gpeers = {p["addr"]: p["bytes"] for p in hd["peers"]}
	check(gpeers == peers, "host: peers and bytes per peer equal tshark's flows (%d peers)" % len(peers))
	check(hd["peers_count"] == len(peers), "host: peers_count %d = %d" % (hd["peers_count"], len(peers)))
	check(sum(x["bytes"] for x in hd["apps"]) == busiest["bytes_sent"] + busiest["bytes_rcvd"],
	      "host: its applications' bytes add up to its bytes")
	multi = [ip for ip in {h["ip"] for h in truth["hosts"]} if sum(1 for h in truth["hosts"] if h["ip"] == ip) > 1]
	if multi:
		ip = sorted(multi)[0]
		on = sorted(h["vlan"] for h in truth["hosts"] if h["ip"] == ip)
		hd = cl.ok_json("/api/host", {"ip": ip})
		check(sorted(hd["vlans"]) == on, "host %s without vlan: lists VLANs %s" % (ip, on))
		best = max((h for h in truth["hosts"] if h["ip"] == ip), key=lambda h: h["bytes_sent"] + h["bytes_rcvd"])
		check(hd["host"]["vlan"] == best["vlan"], "host %s without vlan: shows its busiest VLAN %d" % (ip, best["vlan"]))
	# DNS names: every host's list against tshark's queries from it
	tdns = tshark_dns(os.path.join(tmp, "office.pcap"))
	gdns = {}
	for k in gh:
		for d in cl.ok_json("/api/host", {"ip": k[0], "vlan": k[1]})["dns"]:
			gdns.setdefault(k, {})[d["name"]] = [d["count"], d["last_ms"]]
	dns_hosts = sorted(gdns)
	check(sum(len(v) for v in tdns.values()) > 0, "tshark sees DNS queries in the capture")
	check(set(gdns) == set(tdns), "host dns: the hosts with names are the (address, VLAN) pairs tshark "
	      "sees querying (%d; differ: %s)" % (len(tdns), sorted(set(gdns) ^ set(tdns))[:4]))
	bad = [(k, gdns.get(k), tdns.get(k)) for k in set(gdns) | set(tdns) if gdns.get(k) != tdns.get(k)]
	check(not bad, "host dns: every host's names, query counts and last query time (ms) equal tshark's "
	      "dns.qry.name of its queries (%d hosts differ: %s)" % (len(bad), bad[:2]))
	st, j = cl.get("/api/host", {"ip": "198.51.100.250"})
	check(st == 404 and "no host" in j["error"], "host not seen: 404")
	ok("host detail, peers, apps, DNS names (%d hosts with names)" % len(dns_hosts))

	# metrics
	st, hd_, body = cl.req("GET", "/metrics")
	text = body.decode()
	check(st == 200 and hd_["content-type"].startswith("text/plain"), "metrics: 200 text/plain with a session")
	samples = {}
	for line in text.splitlines():
		if line.startswith("#") or not line:
			continue
		mm = re.match(r'^([a-z_0-9]+)\{(.*)\} (\d+)$', line)
		check(mm is not None, "metrics: a well-formed sample: %r" % line[:100])
		if mm:
			labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', mm.group(2)))
			samples.setdefault(mm.group(1), []).append((labels, int(mm.group(3))))
	hb = {(l_["ip"], int(l_["vlan"]), l_["direction"]): v for l_, v in samples.get("weir_host_bytes_total", [])}
	bad = [k for k in th if hb.get((k[0], k[1], "sent")) != th[k]["bytes_sent"] or
	       hb.get((k[0], k[1], "received")) != th[k]["bytes_rcvd"]]
	check(not bad, "metrics: weir_host_bytes_total of every host equals tshark's (%d differ)" % len(bad))
	vb = {int(l_["vlan"]): v for l_, v in samples.get("weir_vlan_bytes_total", [])}
	check(vb == {k: v["bytes"] for k, v in tv.items()}, "metrics: weir_vlan_bytes_total equals tshark's")
	check(sum(v for _, v in samples.get("weir_app_bytes_total", [])) == sum(f["bytes"] for f in truth["flows"]),
	      "metrics: weir_app_bytes_total adds up to every flow's bytes")
	eng = {k: v[0][1] for k, v in samples.items() if k.startswith("weir_engine_")}
	check(eng.get("weir_engine_rx_pkts") == T["frames"], "metrics: weir_engine_rx_pkts = %d frames" % T["frames"])
	check("weir_interface_bytes_total" in text, "metrics: weir_interface_bytes_total declared")
	ok("metrics (%d samples)" % sum(len(v) for v in samples.values()))
	# the Grafana dashboard asks only for metrics /metrics serves
	dash = json.load(open(os.path.join(HERE, "..", "grafana", "weir.json")))
	exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
	names = {n for e in exprs for n in re.findall(r"\b(weir_[a-z0-9_]+)\b", e) if not n.endswith("_")}
	served = set(samples) | set(re.findall(r"^# TYPE (\S+)", text, re.M))
	check(names and names <= served, "grafana/weir.json: every metric it queries is served (%s missing)" % sorted(names - served))
	check(any(n.startswith("weir_engine_drop_") for n in served), "grafana: weir_engine_drop_* exist for its loss panel")

	# what the engine may not publish yet: empty, not an error
	ts = cl.ok_json("/api/timeseries", {"entity": "engine", "res": "1s"})
	if s["features"]["timeseries"]:
		check(sum(p[1] for p in ts["points"]) == T["bytes"] and sum(p[2] for p in ts["points"]) == T["frames"],
		      "timeseries engine 1s: bytes and frames add up to tshark's")
		tsh = cl.ok_json("/api/timeseries", {"entity": "host:%s@%d" % (busiest["ip"], busiest["vlan"]), "res": "1s"})
		check(sum(p[1] for p in tsh["points"]) == busiest["bytes_sent"] + busiest["bytes_rcvd"],
		      "timeseries of the busiest host: its bytes")
		ok("time series (%d engine points)" % len(ts["points"]))
		check_long_series(cl, truth, busiest)
	else:
		check(ts["points"] == [], "timeseries: no ts:* keys yet -> empty list")
		print("note: the engine publishes no time series yet; only the empty answer was checked")
	rec = cl.ok_json("/api/flows/recent", {"count": 1000})
	if s["features"]["flows_ended"]:
		tf = {fkey(f): f for f in truth["flows"]}
		bad = [f for f in rec["flows"] if fkey(f) not in tf or int(f["bytes"]) != tf[fkey(f)]["bytes"]]
		check(rec["flows"] and not bad, "flows/recent: every ended flow is one of tshark's, same bytes (%d)" % len(rec["flows"]))
		ok("flows/recent (%d)" % len(rec["flows"]))
	else:
		check(rec["flows"] == [], "flows/recent: no flows:ended yet -> empty list")
		print("note: the engine publishes no flows:ended stream yet; only the empty answer was checked")
	check_flow_state(cl, redis, truth)
	e = cl.ok_json("/api/alerts")
	check(e["alerts"] == [] and e["skipped"] == 0, "alerts: [] before weir-alertd wrote anything")
	check(cl.ok_json("/api/alerts/history")["history"] == [], "alerts/history: [] before weir-alertd wrote anything")
	check_alerts_api(cl, redis, truth)
	ev = cl.ok_json("/api/events")
	check(isinstance(ev["events"], list), "events: a list")
	check(cl.ok_json("/api/exporters")["exporters"] == [] and cl.ok_json("/api/interfaces")["interfaces"] == [],
	      "exporters and interfaces: none from a packet capture")
	web.check_exit()
	return 1 if failures else 0


def check_long_series(cl, truth, busiest):
	"""The host page's 24 h and 7 d ranges (1m points, last=86400; 5m
	points, last=604800): the engine's and every host's points add up to
	tshark's bytes and frames, each point on its interval's start."""
	T = truth["totals"]
	for res, step, last in (("1m", 60000, 86400), ("5m", 300000, 7 * 86400)):
		j = cl.ok_json("/api/timeseries", {"entity": "engine", "res": res, "last": last})
		pts = j["points"]
		check(j["interval_ms"] == step and pts and all(p[0] % step == 0 for p in pts),
		      "timeseries engine %s: points on %d ms boundaries (%s)" % (res, step, [p[0] for p in pts][:3]))
		check(sum(p[1] for p in pts) == T["bytes"] and sum(p[2] for p in pts) == T["frames"],
		      "timeseries engine %s: bytes %d and frames %d equal tshark's %d / %d" % (
			      res, sum(p[1] for p in pts), sum(p[2] for p in pts), T["bytes"], T["frames"]))
		bad = []
		for h in truth["hosts"]:
			e = "host:%s@%d" % (h["ip"], h["vlan"])
			pts = cl.ok_json("/api/timeseries", {"entity": e, "res": res, "last": last})["points"]
			got = (sum(p[1] for p in pts), sum(p[2] for p in pts))
			want = (h["bytes_sent"] + h["bytes_rcvd"], h["pkts_sent"] + h["pkts_rcvd"])
			if got != want or any(p[0] % step for p in pts):
				bad.append((e, got, want))
		check(not bad, "timeseries host:* %s: every host's points add up to its tshark bytes and packets "
		      "both ways (%d of %d differ: %s)" % (res, len(bad), len(truth["hosts"]), bad[:3]))
		b = "host:%s@%d" % (busiest["ip"], busiest["vlan"])
		check(not any(x[0] == b for x in bad), "timeseries %s of the busiest host %s: its bytes" % (res, b))
	ok("time series 1m (24 h) and 5m (7 d): engine and %d hosts" % len(truth["hosts"]))


# ---- the VLAN matrix and the flow state -------------------------------------------

def home_vlans(truth):
	"""Each address's home VLAN from tshark's per-(address, VLAN) numbers
	(truth.py counts every frame by its vlan.id): the VLAN on which it sent
	the most bytes; one that sent nothing: where it received the most; a
	tie: the lowest VLAN id (docs/api.md, /api/vlans?form=matrix)."""
	best = {}
	for h in sorted(truth["hosts"], key=lambda h: h["vlan"]):
		key = (h["bytes_sent"] > 0, h["bytes_sent"] if h["bytes_sent"] else h["bytes_rcvd"])
		if h["ip"] not in best or key > best[h["ip"]][0]:
			best[h["ip"]] = (key, h["vlan"])
	return {ip: v for ip, (_, v) in best.items()}


def check_vlan_matrix(cl, truth, flows, params, what, across=False):
	"""across: the flows must give some cell off the diagonal (row VLAN !=
	column VLAN), so that placing each flow by its own VLAN would fail."""
	home = home_vlans(truth)
	want, own = {}, {}
	for f in flows:
		c = want.setdefault((home[f["src"]], home[f["dst"]]), [0, 0, 0])
		c[0] += f["bytes"]
		c[1] += f["pkts"]
		c[2] += 1
		c = own.setdefault((int(f["vlan"]), int(f["vlan"])), [0, 0, 0])
		c[0] += f["bytes"]
		c[1] += f["pkts"]
		c[2] += 1
	if across:
		check(any(r != c for r, c in want) and own != want,
		      "%s: some expected cell has row VLAN != column VLAN (%d of %d), unlike placing "
		      "flows by their own VLAN" % (what, sum(1 for r, c in want if r != c), len(want)))
	m = cl.ok_json("/api/vlans", dict(params, form="matrix"))
	got = {}
	for i, r in enumerate(m["rows"]):
		for k, c in enumerate(m["cols"]):
			if m["cells_flows"][i][k]:
				got[(r, c)] = [m["cells"][i][k], m["cells_pkts"][i][k], m["cells_flows"][i][k]]
	check(got == want, "%s: every cell (home VLAN of src -> of dst) holds tshark's bytes, packets, flows "
	      "(%d cells, %d across VLANs; differ: %s)" % (what, len(want), sum(1 for r, c in want if r != c),
							 sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))[:4]))
	check(m["flows"] == len(flows) and m["truncated"] is False and m["axis_truncated"] is False,
	      "%s: %d flows folded, not truncated" % (what, len(flows)))
	check(m["homes_bounded"] is False, "%s: homes_bounded is false (a few addresses, a few VLANs; "
	      "got %r)" % (what, m["homes_bounded"]))
	check(m["row_totals"] == sorted(m["row_totals"], reverse=True), "%s: busiest rows first" % what)
	return m


def check_flow_state(cl, redis, truth):
	"""state=active|ended against each flow hash's state field: a capture
	run ends every flow (flush), then the test marks some active again."""
	fl, _ = all_flows(cl, {})
	check(all(f["state"] == "ended" for f in fl), "flows: after a capture run every flow has ended")
	got, j = all_flows(cl, {"state": "ended"})
	compare_flows(got, truth["flows"], "flows?state=ended")
	check(j.get("state") == "ended", "flows?state=ended: the answer names the state")
	got, _ = all_flows(cl, {"state": "active"})
	check(got == [], "flows?state=active: none after a capture run (%d)" % len(got))
	check_vlan_matrix(cl, truth, [], {"state": "active"}, "vlans?form=matrix&state=active (no flows)")
	P = "weir:{%s}:" % NODE
	act = [f for i, f in enumerate(sorted(fl, key=lambda f: f["id"])) if i % 3 == 0]
	for f in act:
		redis.cli("HSET", P + "flow:" + f["id"], "state", "active", "end_reason", "")
	tf = {fkey(f): f for f in truth["flows"]}
	want_act = [tf[fkey(f)] for f in act]
	want_end = [f for f in truth["flows"] if fkey(f) not in {fkey(x) for x in act}]
	got, _ = all_flows(cl, {"state": "active"})
	compare_flows(got, want_act, "flows?state=active (%d flows marked active)" % len(act))
	got, _ = all_flows(cl, {"state": "ended"})
	compare_flows(got, want_end, "flows?state=ended (the rest)")
	v = act[0]["vlan"]
	got, j = all_flows(cl, {"state": "active", "vlan": v})
	compare_flows(got, [f for f in want_act if f["vlan"] == v], "flows?state=active&vlan=%d (%s)" % (v, j["mode"]))
	check_vlan_matrix(cl, truth, want_act, {"state": "active"}, "vlans?form=matrix&state=active")
	st, j = cl.get("/api/flows", {"state": "running"})
	check(st == 400 and j.get("error", "").startswith("state"), "flows?state=running: 400 naming state")
	ok("flows by state: %d active, %d ended" % (len(want_act), len(want_end)))


# ---- weir-alertd's keys, written by the test ------------------------------------

def write_alerts(redis, truth):
	"""Writes weir-alertd's keys as docs/alerts.md ("Keys written by
	weir-alertd") defines them and its store.c writes them, about hosts of
	the capture, and returns what the API must answer. B is the busiest
	host. Active, in the order the API must list them (severity, then the
	newest engaged first):
	  21 critical boundary   B_IP>10.0.20.99         engaged T+1000
	  22 warning  threshold  host:B_IP@B_VLAN        engaged T+2000
	  23 info     new-host   O_IP@O_VLAN (another)   engaged T+3000
	  24 info     new-app    B_IP@(B_VLAN+1)/SSH     engaged T+500
	25 is listed in alerts:active but its hash says released (a reader
	racing weir-alertd sees that): left out, counted in "skipped".
	About B on its VLAN: 21 (its address in the pair) and 22; about B's
	address on any VLAN: 21, 22, 24; about O: 23."""
	P = "weir:{%s}:" % NODE
	T = 1700000000000
	hs = sorted(truth["hosts"], key=lambda h: -(h["bytes_sent"] + h["bytes_rcvd"]))
	b, o = hs[0], next(h for h in hs if h["ip"] != hs[0]["ip"])
	bid, oid = "%s@%d" % (b["ip"], b["vlan"]), "%s@%d" % (o["ip"], o["vlan"])
	other_vlan = "%s@%d/SSH" % (b["ip"], b["vlan"] + 1)
	# 21's summary holds markup: the page must show it as text.
	alerts = {
		"21": ["rule", "iot-must-not-reach-servers", "kind", "boundary", "entity", b["ip"] + ">10.0.20.99",
		       "severity", "critical", "engaged_ms", str(T + 1000), "updated_ms", str(T + 9000), "count", "4",
		       "summary", "forbidden flow %s -> 10.0.20.99 tcp/22 <img src=x onerror=alert(1)>" % b["ip"],
		       "details", '{"boundary":"forbid","dport":22}'],
		"22": ["rule", "busy-host", "kind", "threshold", "entity", "host:" + bid, "severity", "warning",
		       "engaged_ms", str(T + 2000), "updated_ms", str(T + 2000), "count", "1",
		       "summary", "host:%s bits/s 950M above 900M" % bid, "details", '{"value":950000000}',
		       "value", "9.5e+08", "peak", "9.8e+08", "threshold", "9e+08"],
		"23": ["rule", "new-hosts", "kind", "new-host", "entity", oid, "severity", "info",
		       "engaged_ms", str(T + 3000), "updated_ms", str(T + 3000), "count", "1",
		       "summary", "new host " + oid, "details", "{}"],
		"24": ["rule", "new-apps", "kind", "new-app", "entity", other_vlan, "severity", "info",
		       "engaged_ms", str(T + 500), "updated_ms", str(T + 500), "count", "1",
		       "summary", "new application SSH for " + other_vlan, "details", "{}"],
	}
	want = {}
	for aid, f in alerts.items():
		d = dict(zip(f[0::2], f[1::2]))
		fields = ["id", aid, "rule", d["rule"], "kind", d["kind"], "entity", d["entity"],
			  "key", d["rule"] + "|" + d["entity"], "severity", d["severity"], "state", "active",
			  "engaged_ms", d["engaged_ms"], "updated_ms", d["updated_ms"],
			  "last_match_ms", d["updated_ms"], "count", d["count"], "notes", "1",
			  "summary", d["summary"], "details", d["details"], "node", NODE]
		for k in ("value", "peak", "threshold"):
			if k in d:
				fields += [k, d[k]]
		fields += ["dlv_ops", "ok (attempt 1)", "dlv_ops_ms", str(int(d["engaged_ms"]) + 120)]
		redis.cli("HSET", P + "alert:" + aid, *fields)
		redis.cli("HSET", P + "alerts:active", d["rule"] + "|" + d["entity"], aid)
		# What the API must say: numbers as numbers, the rest as text.
		w = {}
		for k, v in zip(fields[0::2], fields[1::2]):
			strings = k in ("rule", "kind", "entity", "key", "severity", "state", "summary", "details", "node")
			w[k] = v if strings or not re.fullmatch(r"[0-9.e+]+", v) else json.loads(v)
		want[aid] = w
	redis.cli("HSET", P + "alert:25", "id", "25", "rule", "new-hosts", "kind", "new-host", "entity", bid,
		  "key", "new-hosts|" + bid, "severity", "info", "state", "released", "engaged_ms", str(T),
		  "updated_ms", str(T + 100), "last_match_ms", str(T), "count", "1", "notes", "2",
		  "summary", "new host " + bid, "details", "{}", "node", NODE, "released_ms", str(T + 100))
	redis.cli("HSET", P + "alerts:active", "new-hosts|" + bid, "25")
	redis.cli("SET", P + "alerts:seq", "25")
	# The transitions, oldest first (value only for threshold).
	hist = [("21", "engaged", T + 1000), ("22", "engaged", T + 2000), ("23", "engaged", T + 3000),
		("21", "updated", T + 9000), ("25", "released", T + 100)]
	hist.sort(key=lambda x: x[2])
	want_h = []
	for n, (aid, state, ts) in enumerate(hist):
		d = dict(zip(alerts[aid][0::2], alerts[aid][1::2])) if aid in alerts else \
			{"rule": "new-hosts", "kind": "new-host", "severity": "info", "entity": bid, "summary": "new host " + bid}
		sid = "%d-0" % (ts + 10)
		f = ["id", aid, "state", state, "rule", d["rule"], "kind", d["kind"], "severity", d["severity"],
		     "entity", d["entity"], "ts", str(ts), "summary", d["summary"]]
		if "value" in d:
			f += ["value", d["value"]]
		redis.cli("XADD", P + "alerts:history", sid, *f)
		w = {"stream_id": sid}
		for k, v in zip(f[0::2], f[1::2]):
			w[k] = json.loads(v) if k in ("id", "ts", "value") else v
		want_h.insert(0, w)
	return {"order": ["21", "22", "23", "24"], "want": want, "history": want_h,
		"b_ip": b["ip"], "b_vlan": b["vlan"], "o_ip": o["ip"], "o_vlan": o["vlan"]}


def check_alerts_api(cl, redis, truth):
	al = write_alerts(redis, truth)
	got = cl.ok_json("/api/alerts")
	want = [al["want"][i] for i in al["order"]]
	check(got["alerts"] == want, "alerts: the 4 active alerts written, field by field, critical first, "
	      "then the newest engaged (got %s)" % [x.get("id") for x in got["alerts"]])
	check(got["skipped"] == 1 and got["node"] == NODE, "alerts: the released one listed in alerts:active skipped")
	a22 = next((x for x in got["alerts"] if x["id"] == 22), {})
	check(a22.get("value") == 950000000 and a22.get("threshold") == 900000000 and a22.get("count") == 1
	      and isinstance(a22.get("details"), str), "alerts: value/threshold/count numbers, details text")
	ids = lambda q: [x["id"] for x in cl.ok_json("/api/alerts", q)["alerts"]]
	check(ids({"host": al["b_ip"], "vlan": al["b_vlan"]}) == [21, 22],
	      "alerts?host=B&vlan=V: the pair with B's address and host:B@V, not B on another VLAN")
	check(ids({"host": al["b_ip"]}) == [21, 22, 24], "alerts?host=B: B's address on any VLAN")
	check(ids({"host": al["o_ip"], "vlan": al["o_vlan"]}) == [23], "alerts?host=O&vlan=V: O's new-host alert")
	check(ids({"host": "192.0.2.254"}) == [], "alerts?host=an address no alert names: none")
	st, j = cl.get("/api/alerts", {"host": "not-an-ip"})
	check(st == 400 and "host" in str(j), "alerts?host=garbage: 400 naming host")
	st, j = cl.get("/api/alerts", {"vlan": "10"})
	check(st == 400 and "vlan" in str(j), "alerts?vlan without host: 400")
	h = cl.ok_json("/api/alerts/history")
	check(h["history"] == al["history"], "alerts/history: the 5 transitions newest first, field by field")
	check(cl.ok_json("/api/alerts/history", {"count": 2})["history"] == al["history"][:2],
	      "alerts/history?count=2: the newest 2")
	st, j = cl.get("/api/alerts/history", {"count": "0"})
	check(st == 400, "alerts/history?count=0: 400")
	ok("alerts (4 active, host filter, 5 transitions)")
	return al


# ---- case: collect ---------------------------------------------------------------

def metric_samples(text):
	"""{name: [(labels, value)]} of a Prometheus text exposition; a line
	that is not a well-formed sample is a failure."""
	samples = {}
	for line in text.splitlines():
		if line.startswith("#") or not line:
			continue
		mm = re.match(r'^([a-z_0-9]+)\{(.*)\} (\d+)$', line)
		check(mm is not None, "metrics: a well-formed sample: %r" % line[:100])
		if mm:
			labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', mm.group(2)))
			samples.setdefault(mm.group(1), []).append((labels, int(mm.group(3))))
	return samples


def case_collect(a):
	"""Exporters and interfaces with data: a NetFlow v9 stream built by
	the test (web_collect.py) into `weir --collect`, and every exporter,
	interface and weir_interface_bytes_total sample against tshark."""
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-web-collect-")
	atexit.register(shutil.rmtree, tmp, True)
	redis = weirtest.Redis()
	truth, built, problems = web_collect.fixture(a, redis, tmp)
	for p in problems:
		check(False, p)
	check(truth["records"] == built, "tshark decodes the %d records the test built (%d)" % (built, truth["records"]))
	web = Web(a, redis, tmp, node=web_collect.NODE)
	cl = Client(web)
	st, _, _ = cl.login()
	if not check(st == 200, "login"):
		return 1
	tx, ti = truth["exporters"], truth["interfaces"]
	ex = cl.ok_json("/api/exporters")
	gx = {e["address"]: e for e in ex["exporters"]}
	check(set(gx) == set(tx) and ex["total"] == len(tx), "exporters: %s, as tshark (got %s)" % (sorted(tx), sorted(gx)))
	bad = [(k, f, gx[k].get(f), w) for k in tx if k in gx for f, w in tx[k].items() if gx[k].get(f) != w]
	check(not bad, "exporters: version, datagrams, records, bytes, packets equal tshark's (%s)" % bad[:4])
	check(all(gx[k].get("errors", 0) == 0 for k in gx), "exporters: no decoding error")
	ok("exporters (%d, %d records)" % (len(gx), truth["records"]))
	ifs = cl.ok_json("/api/interfaces")
	gi = {(i["exporter"], int(i["ifindex"])): i for i in ifs["interfaces"]}
	check(set(gi) == set(ti), "interfaces: the (exporter, ifIndex) pairs tshark's records name (%d; got %d: %s)" % (
		len(ti), len(gi), sorted(set(gi) ^ set(ti))[:4]))
	bad = [(k, f) for k in ti if k in gi for f in ("bytes_in", "bytes_out", "pkts_in", "pkts_out")
	       if gi[k].get(f, 0) != ti[k].get(f, 0)]
	check(not bad, "interfaces: bytes and packets in and out equal tshark's INPUT/OUTPUT_SNMP sums (%s)" % bad[:4])
	check(all(ifs["interfaces"][i]["bytes_in"] + ifs["interfaces"][i]["bytes_out"] >=
		  ifs["interfaces"][i + 1]["bytes_in"] + ifs["interfaces"][i + 1]["bytes_out"]
		  for i in range(len(ifs["interfaces"]) - 1)), "interfaces: busiest first")
	ok("interfaces (%d)" % len(gi))
	st, hd_, body = cl.req("GET", "/metrics")
	check(st == 200, "metrics: 200")
	samples = metric_samples(body.decode())
	mi = {(l_["exporter"], int(l_["ifindex"]), l_["direction"]): v
	      for l_, v in samples.get("weir_interface_bytes_total", [])}
	want = {}
	for (addr, idx), v in ti.items():
		want[(addr, idx, "in")] = v.get("bytes_in", 0)
		want[(addr, idx, "out")] = v.get("bytes_out", 0)
	check(mi == want, "metrics: weir_interface_bytes_total of every interface and direction equals tshark's (%d samples; differ: %s)" % (
		len(want), sorted(k for k in set(mi) | set(want) if mi.get(k) != want.get(k))[:4]))
	s = cl.ok_json("/api/status")
	check(s["counts"]["exporters"] == len(tx) and s["counts"]["interfaces"] == len(ti),
	      "status: counts of exporters and interfaces")
	ok("metrics: weir_interface_bytes_total (%d samples)" % len(mi))
	web.check_exit()
	return 1 if failures else 0


# ---- case: security ------------------------------------------------------------------

def case_security(a):
	tmp, truth, redis = engine_fixture(a)
	tokfile = os.path.join(tmp, "token")
	with open(tokfile, "w") as f:
		f.write("s3cret-token-0123456789\n")
	web = Web(a, redis, tmp, ["--metrics-token", tokfile, "--secure-cookie"])
	anon = Client(web)

	for path in ("/api/hosts", "/api/status", "/api/flows?vlan=10", "/api/session", "/api/nosuch"):
		st, hd, body = anon.req("GET", path)
		check(st == 401 and b"login required" in body, "no session: GET %s -> 401 (%d)" % (path, st))
	for path in ("/", "/index.html"):
		st, hd, _ = anon.req("GET", path)
		check(st == 302 and hd.get("location") == "/login.html", "no session: GET %s -> 302 /login.html (%d)" % (path, st))
	st, hd, body = anon.req("GET", "/login.html")
	check(st == 200 and b"<form" in body, "login page without a session: 200")
	st, _, _ = anon.req("GET", "/metrics")
	check(st == 401, "no session: /metrics -> 401")
	st, _, body = anon.req("GET", "/metrics", headers={"Authorization": "Bearer s3cret-token-0123456789"})
	check(st == 200 and b"weir_host_bytes_total" in body, "/metrics with the bearer token -> 200")
	st, _, _ = anon.req("GET", "/metrics", headers={"Authorization": "Bearer s3cret-token-012345678"})
	check(st == 401, "/metrics with a wrong token -> 401")
	st, _, _ = anon.req("GET", "/../../etc/passwd")
	check(st in (400, 404), "path outside the page: refused (%d)" % st)
	st, _, _ = anon.req("PUT", "/api/hosts", body="x")
	check(st == 405, "PUT -> 405")
	ok("no session: 401 / redirect")

	# headers on every response
	st, hd, _ = anon.req("GET", "/login.html")
	csp = hd.get("content-security-policy", "")
	check("frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
	      and "unsafe-eval" not in csp, "CSP: own scripts only, no inline, no framing: %s" % csp)
	check(hd.get("x-content-type-options") == "nosniff", "X-Content-Type-Options: nosniff")
	check(hd.get("x-frame-options") == "DENY", "X-Frame-Options: DENY")
	for path in ("/assets/app.js", "/assets/app.css"):
		st, hd, _ = anon.req("GET", path)
		check(st == 200 and hd.get("x-content-type-options") == "nosniff", "%s served with nosniff" % path)
	ok("security headers")

	# login: Origin, cookie flags
	cl = Client(web)
	st, _, body = cl.login(origin="http://evil.example")
	check(st == 403 and cl.cookie is None, "login with a foreign Origin -> 403, no cookie")
	st, hd, body = cl.login(origin="http://127.0.0.1:%d" % web.port)
	check(st == 200 and cl.cookie, "login with our Origin -> 200")
	ck = hd.get("set-cookie", "")
	check("HttpOnly" in ck and "SameSite=Strict" in ck and "Secure" in ck and "Path=/" in ck,
	      "session cookie: HttpOnly, SameSite=Strict, Secure (--secure-cookie): %s" % re.sub("=[0-9a-f]{64}", "=…", ck))
	sid = cl.cookie.split("=", 1)[1]
	check(re.fullmatch("[0-9a-f]{64}", sid) is not None, "session id: 256 bits as hex")
	check(re.fullmatch("[0-9a-f]{64}", cl.csrf) is not None and cl.csrf != sid, "CSRF token: 256 bits, not the session id")
	st, j = cl.get("/api/hosts")
	check(st == 200, "with the session: /api/hosts -> 200")
	st, _, _ = cl.req("GET", "/metrics")
	check(st == 200, "with the session: /metrics -> 200")

	# bad parameters: 400 naming the parameter
	bad = [
		("/api/hosts", {"vlan": "4096"}, "vlan"), ("/api/hosts", {"vlan": "abc"}, "vlan"),
		("/api/hosts", {"vlan": "-1"}, "vlan"), ("/api/hosts", {"top": "0"}, "top"),
		("/api/hosts", {"subnet": "nope"}, "subnet"), ("/api/hosts", {"subnet": "a*"}, "subnet"),
		("/api/flows", {"host": "10.0.0.256"}, "host"), ("/api/flows", {"host": "10.0.0.1;FLUSHALL"}, "host"),
		("/api/flows", {"port": "65536"}, "port"), ("/api/flows", {"app": "NoSuchApp"}, "app"),
		("/api/flows", {"app": "x y"}, "app"), ("/api/flows", {"subnet": "iot>nowhere"}, "subnet"),
		("/api/flows", {"sort": "id; DROP"}, "sort"), ("/api/flows", {"per_page": "0"}, "per_page"),
		("/api/flows", {"per_page": "1001"}, "per_page"), ("/api/flows", {"page": "0"}, "page"),
		("/api/host", {}, "ip"), ("/api/host", {"ip": "1.2.3"}, "ip"), ("/api/host", {"ip": "10.0.0.1", "vlan": "99999"}, "vlan"),
		("/api/subnets", {"form": "cube"}, "form"),
		("/api/timeseries", {}, "entity"), ("/api/timeseries", {"entity": "host:10.0.0.1"}, "entity"),
		("/api/timeseries", {"entity": "host:10.0.0.1@5000"}, "entity"), ("/api/timeseries", {"entity": "app:*"}, "entity"),
		("/api/timeseries", {"entity": "app:NoSuchApp"}, "entity"), ("/api/timeseries", {"entity": "engine", "res": "2h"}, "res"),
		("/api/timeseries", {"entity": "engine", "since": "1", "last": "60"}, "since"),
		("/api/flows/recent", {"count": "100000"}, "count"), ("/api/events", {"type": "x"}, "type"),
	]
	for path, params, name in bad:
		st, j = cl.get(path, params)
		check(st == 400 and isinstance(j, dict) and j.get("error", "").startswith(name),
		      "%s?%s -> 400 naming %s (%d %s)" % (path, urllib.parse.urlencode(params), name, st, j))
	ok("%d bad parameters -> 400 with a message" % len(bad))
	keys_before = redis.cli("DBSIZE").strip()

	# CSRF
	nocsrf = Client(web)
	nocsrf.cookie = cl.cookie
	st, _, body = nocsrf.req("POST", "/api/logout")
	check(st == 403 and b"CSRF" in body, "POST /api/logout without X-CSRF-Token -> 403")
	st, _, _ = nocsrf.req("POST", "/api/logout", headers={"X-CSRF-Token": "0" * 64})
	check(st == 403, "POST /api/logout with a wrong token -> 403")
	st, _, _ = cl.req("POST", "/api/hosts", headers={"X-CSRF-Token": cl.csrf})
	check(st == 405, "POST to a GET endpoint with the token -> 405")
	st, _, _ = anon.req("POST", "/api/logout", headers={"X-CSRF-Token": cl.csrf})
	check(st == 401, "POST /api/logout without a session -> 401")
	st, hd, _ = cl.req("POST", "/api/logout", headers={"X-CSRF-Token": cl.csrf})
	check(st == 200 and "Max-Age=0" in hd.get("set-cookie", ""), "logout with the token -> 200, cookie cleared")
	st, _ = nocsrf.get("/api/hosts")
	check(st == 401, "after logout the old session id -> 401")
	check(redis.cli("DBSIZE").strip() == keys_before, "the server wrote nothing to Redis")
	ok("CSRF and logout")

	# login rate limit: 5 failures, then even the right password waits
	rl = Client(web)
	for i in range(5):
		st, _, _ = rl.login(password="wrong-%d" % i)
		check(st == 401, "wrong password %d -> 401" % (i + 1))
	st, _, body = rl.login()
	check(st == 429 and b"try again" in body, "6th try with the right password -> 429 (%d %s)" % (st, body[:80]))
	check(rl.cookie is None, "no session while locked out")
	st, _, _ = rl.login(user="nobody", password="x")
	check(st == 429, "another name from the same address -> 429")
	ok("login rate limit")

	# --metrics-public
	web2 = Web(a, redis, tmp, ["--metrics-public"])
	st, _, body = Client(web2).req("GET", "/metrics")
	check(st == 200 and b"weir_vlan_bytes_total" in body, "--metrics-public: /metrics without login -> 200")
	st, _, _ = Client(web2).req("GET", "/api/hosts")
	check(st == 401, "--metrics-public: the API still needs a session")
	check_redis_restart(web2, redis, truth)
	web2.check_exit()
	web.check_exit()
	log = open(web.log).read()
	check(web.password not in log, "the password never appears in the log")
	return 1 if failures else 0


def check_redis_restart(web, redis, truth):
	"""Redis goes away under a running weir-web: every API call and
	/metrics answer 503 with a JSON error (never a hang, a crash or
	another status); Redis comes back on the same port with the same data
	(SAVEd, reloaded): every server thread reconnects (at most every 5 s,
	docs/api.md) and the numbers are tshark's again."""
	cl = Client(web)
	st, _, _ = cl.login()
	if not check(st == 200, "redis restart: login"):
		return
	want = (len(truth["hosts"]), len(truth["flows"]))
	counts = lambda j: (j["counts"]["hosts"], j["counts"]["flows"])
	check(counts(cl.ok_json("/api/status")) == want, "redis restart: status counts before")
	redis.cli("SAVE")
	redis.proc.kill()
	redis.proc.wait(timeout=10)
	# more calls than server threads (4), so every thread meets the loss
	paths = ["/api/status", "/api/hosts", "/api/host?ip=%s" % truth["hosts"][0]["ip"], "/api/flows",
		 "/api/vlans", "/api/timeseries?entity=engine", "/metrics"] * 3
	bad = []
	for path in paths:
		t0 = time.time()
		st, hd, body = cl.req("GET", path)
		try:
			err = json.loads(body).get("error", "")
		except ValueError:
			err = None
		if st != 503 or not err or "Redis" not in err or hd.get("content-type") != "application/json" \
		   or time.time() - t0 > 5:
			bad.append((path, st, body[:100]))
	check(not bad, "redis down: %d calls -> 503 with a JSON error naming Redis, each within 5 s "
	      "(%d did not: %s)" % (len(paths), len(bad), bad[:3]))
	check(web.proc.poll() is None, "redis down: weir-web still runs")
	# the same server again: same port, same directory, the saved data
	redis.proc = subprocess.Popen(
		["redis-server", "--port", str(redis.port), "--bind", "127.0.0.1", "--save", "",
		 "--appendonly", "no", "--dir", redis.dir],
		stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=weirtest.die_with_parent)
	deadline = time.time() + 10
	while redis.cli("PING", check=False).strip() != "PONG" and time.time() < deadline:
		time.sleep(0.05)
	t0 = time.time()
	good, seen = 0, []
	while good < 12 and time.time() - t0 < 20:	# 12 answers in a row: every thread is back
		st, j = cl.get(paths[good % 6])
		seen.append(st)
		good = good + 1 if st == 200 else 0
		if st != 200:
			time.sleep(0.25)
	check(good >= 12 and time.time() - t0 < 12, "redis back: 200 again on every thread within 12 s "
	      "(%.1f s, statuses %s)" % (time.time() - t0, seen[-20:]))
	j = cl.ok_json("/api/status")
	check(counts(j) == want, "redis back: status counts %s equal tshark's %s" % (counts(j), want))
	ok("redis down -> 503, back -> 200 in %.1f s" % (time.time() - t0))


# ---- case: browser -------------------------------------------------------------------

def case_browser(a):
	chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
	node = shutil.which("node") or shutil.which("nodejs")
	pw_dir = os.path.join(a.static, "npm", "node_modules", "playwright-core")
	if not chromium:
		print("SKIP: chromium is not installed (apt-get install chromium; scripts/packages.txt lists it)")
		return weirtest.SKIP
	if not node:
		print("SKIP: node is not installed (nodejs)")
		return weirtest.SKIP
	if not os.path.isdir(pw_dir) or not os.path.exists(os.path.join(a.static, "index.html")):
		print("SKIP: the page or playwright-core was not built (%s): npm missing at build time?" % pw_dir)
		return weirtest.SKIP
	tmp, truth, redis = engine_fixture(a)
	web = Web(a, redis, tmp)
	namer = Namer()
	busiest = max(truth["hosts"], key=lambda h: h["bytes_sent"] + h["bytes_rcvd"])
	host_peers = sorted({(f["dst"] if f["src"] == busiest["ip"] else f["src"]) for f in truth["flows"]
			     if f["vlan"] == busiest["vlan"] and busiest["ip"] in (f["src"], f["dst"])})
	iot_servers = [p for p in truth["subnets"] if p["src"] == "iot" and p["dst"] == "servers"]
	expect = {
		"url": web.url, "user": "admin", "password": web.password,
		"chromium": chromium, "artefacts": a.artefacts,
		"hosts": len(truth["hosts"]),
		"top_host": {"ip": busiest["ip"], "vlan": busiest["vlan"],
			     "bytes": busiest["bytes_sent"] + busiest["bytes_rcvd"]},
		"host_peers": host_peers,
		"vlan_filter": 30,
		"vlan_flows": sum(1 for f in truth["flows"] if f["vlan"] == 30),
		"vlan_flow_hosts": sorted({f["src"] for f in truth["flows"] if f["vlan"] == 30}),
		"subnet_filter": "iot",
		"subnet_flows": sum(1 for f in truth["flows"] if "iot" in (namer(f["src"]), namer(f["dst"]))),
		"vlans": {str(v["vlan"]): v["bytes"] for v in truth["vlans"]},
		"iot_servers": iot_servers[0]["bytes"] if iot_servers else 0,
		"frames": truth["totals"]["frames"],
		"bytes": truth["totals"]["bytes"],
	}
	home = home_vlans(truth)
	cells = {}
	for f in truth["flows"]:
		c = cells.setdefault((home[f["src"]], home[f["dst"]]), [0, 0])
		c[0] += f["bytes"]
		c[1] += 1
	(r, c), (b, n) = max(((k, v) for k, v in cells.items() if k[0] != k[1]), key=lambda kv: kv[1][0])
	expect["vlan_cell"] = {"title": "VLAN %d → VLAN %d" % (r, c), "bytes": b, "flows": n}
	expect["live_cmd"] = ["setpriv", "--pdeathsig", "KILL", "--", a.weir, "--quiet", "-r",
			      os.path.join(tmp, "office.pcap"), "--loop", "--redis", redis.url, "--node", NODE,
			      "-w", "1", "--flow-table-size", "65536", "--eal-mem", "256", "-m", ",".join(NETS)]
	ctruth, built, problems = web_collect.fixture(a, redis, tmp)
	for p in problems:
		check(False, p)
	cweb = Web(a, redis, tmp, node=web_collect.NODE)
	expect["collect"] = {"url": cweb.url, "password": cweb.password,
			     "exporters": {k: v["datagrams"] for k, v in ctruth["exporters"].items()},
			     "interfaces": len(ctruth["interfaces"])}
	al = write_alerts(redis, truth)
	expect["alerts"] = [{"id": al["want"][i]["id"], "rule": al["want"][i]["rule"],
			     "summary": al["want"][i]["summary"]} for i in al["order"]]
	expect["alert_history"] = len(al["history"])
	expect["host_alerts"] = [21, 22]
	ej = os.path.join(tmp, "expect.json")
	with open(ej, "w") as f:
		json.dump(expect, f)
	env = dict(os.environ, NODE_PATH=os.path.join(a.static, "npm", "node_modules"))
	r = subprocess.run([node, a.browser_js, ej], env=env, timeout=400, text=True,
			   stdout=sys.stdout, stderr=sys.stderr)
	if r.returncode == 0:
		shot = os.path.join(a.artefacts, "dashboard.png")
		print("screenshots in %s (dashboard: %s)" % (a.artefacts, shot))
	return r.returncode


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--case", required=True, choices=["api", "security", "browser", "collect"])
	ap.add_argument("--weirctl", required=True)
	ap.add_argument("--weir-web", required=True)
	ap.add_argument("--weir", required=True)
	ap.add_argument("--gen", required=True)
	ap.add_argument("--truth", required=True)
	ap.add_argument("--static", required=True)
	ap.add_argument("--artefacts", required=True)
	ap.add_argument("--browser-js")
	a = ap.parse_args()
	a.static = os.path.normpath(a.static)
	rc = {"api": case_api, "security": case_security, "browser": case_browser,
	      "collect": case_collect}[a.case](a)
	if failures:
		print("%d checks failed" % len(failures))
		return 1
	if rc == 0:
		print("all %s checks passed" % a.case)
	return rc


if __name__ == "__main__":
	sys.exit(main())
