#!/usr/bin/python3
"""truth.py -- what the engine must report for a capture, as tshark sees it.

The engine's integration tests replay a capture through `weir` and compare
what `weirctl --json` prints with numbers computed here.  Everything here is
derived from tshark's own dissection (field extraction), never from our own
parser, and the extraction is cross-checked against tshark's statistics
(`-z endpoints,ip`, `-z endpoints,ipv6`, `-z conv,ip`): if our reading of
the fields disagreed with tshark's counting we would be testing nothing.

The accounting rules (which VLAN, which flow a fragment belongs to, how
ICMP is keyed, what a tunnel counts as) are the contract with the engine and
are written down in tests/integration/README.md.  Change them there first.

Usage:
  truth.py FILE [--local-networks CIDR,...] [--subnet NAME=CIDR ...]
           [--no-crosscheck] [--tshark PATH]
Prints JSON on stdout.  Exit 0 on success, 1 when the cross-check fails,
2 on usage/tool errors, 77 (the meson "skip" code) when the capture holds no
Ethernet frames (a link type the engine does not read).
"""

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

EXIT_CROSSCHECK = 1
EXIT_USAGE = 2
EXIT_SKIP = 77

# Extracted fields, in this order.  All occurrences are kept (tshark's
# default, comma separated): occurrence 0 is the outermost header, later
# ones come from tunnels or ICMP error payloads.
FIELDS = [
	"frame.number", "frame.len", "frame.cap_len", "frame.time_epoch",
	"frame.protocols",
	"vlan.id", "ieee8021ad.id",
	"ip.src", "ip.dst", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset",
	"ipv6.src", "ipv6.dst", "ipv6.nxt",
	"ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.fraghdr.nxt",
	"ipv6.dstopts.nxt", "ah.next_header", "mip6.proto",
	"ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
	"tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
	"sctp.srcport", "sctp.dstport",
	"icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
	"_ws.malformed",
]
FI = {name: i for i, name in enumerate(FIELDS)}

# Reassembly off: every frame is dissected on its own and counted once;
# a first fragment still shows its L4 header, later ones do not.
TSHARK_PREFS = [
	"ip.defragment:FALSE",
	"ipv6.defragment:FALSE",
	"tcp.desegment_tcp_streams:FALSE",
	"tcp.analyze_sequence_numbers:FALSE",
]

# Layers that may stand between Ethernet and the outermost IP header for the
# frame to count as IP (what the engine's parser walks: Ethernet, 802.1Q,
# 802.1ad, MPLS, PPPoE session).  Anything else first (LLC, a pseudowire,
# ERSPAN without an outer IP...) makes the frame "not IP" for accounting.
L2_PREFIX = {"eth", "ethertype", "vlan", "ieee8021ad", "mpls", "pppoes", "ppp"}

# IPv6 extension headers the chain walk steps over (RFC 8200 4.1 plus AH
# and Mobility, as the engine's parser); the first next-header value not in
# this set is the flow's protocol.  ESP (50) and No Next Header (59) end the
# walk and are the protocol (no ports).  IPv4 AH stays protocol 51.
V6_EXT = {0: "ipv6.hopopts.nxt", 43: "ipv6.routing.nxt",
	  44: "ipv6.fraghdr.nxt", 60: "ipv6.dstopts.nxt",
	  51: "ah.next_header", 135: "mip6.proto"}

PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_SCTP, PROTO_ICMPV6 = 6, 17, 1, 132, 58


def die(code, msg):
	print("truth.py: " + msg, file=sys.stderr)
	sys.exit(code)


def occ(row, name):
	"""All occurrences of a field, outermost first ([] if absent)."""
	v = row[FI[name]]
	return v.split(",") if v else []


def toint(s):
	"""tshark prints most numbers in decimal, identifiers in 0x hex."""
	s = s.strip()
	return int(s, 16) if s[:2] in ("0x", "0X") else int(s, 10)


def first_int(row, name):
	v = occ(row, name)
	if not v:
		return None
	try:
		return toint(v[0])
	except ValueError:
		return None


def as_bool(s):
	return s in ("1", "True", "true")


class Namer:
	"""Longest-prefix match of an address against named CIDRs."""

	def __init__(self, local_networks, subnets):
		self.nets = []
		for cidr in local_networks:
			self.nets.append((ipaddress.ip_network(cidr, strict=False), cidr))
		for spec in subnets:
			if "=" not in spec:
				die(EXIT_USAGE, "--subnet wants NAME=CIDR, got %r" % spec)
			name, cidr = spec.split("=", 1)
			self.nets.append((ipaddress.ip_network(cidr, strict=False), name))
		# Longest prefix first; between equal prefixes the first given wins
		# (local networks before named subnets), as weir_subnet_lookup().
		self.nets = sorted(enumerate(self.nets),
				   key=lambda t: (-t[1][0].prefixlen, t[0]))
		self.nets = [n for _, n in self.nets]
		self.cache = {}

	def name(self, addr):
		r = self.cache.get(addr)
		if r is None:
			a = ipaddress.ip_address(addr)
			r = "remote"
			for net, name in self.nets:
				if a.version == net.version and a in net:
					r = name
					break
			self.cache[addr] = r
		return r


def run_tshark(tshark, path, extra):
	cmd = [tshark, "-n", "-r", path]
	for p in TSHARK_PREFS:
		cmd += ["-o", p]
	cmd += extra
	return cmd


def read_frames(tshark, path):
	cmd = run_tshark(tshark, path, ["-T", "fields", "-E", "separator=/t",
					"-E", "occurrence=a", "-E", "aggregator=,"])
	for f in FIELDS:
		cmd += ["-e", f]
	proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
				stderr=subprocess.PIPE, text=True,
				errors="replace")
	for line in proc.stdout:
		row = line.rstrip("\n").split("\t")
		if len(row) < len(FIELDS):
			row += [""] * (len(FIELDS) - len(row))
		yield row
	err = proc.stderr.read()
	if proc.wait() != 0:
		# tshark exits 2 on a capture cut short mid-record but has printed
		# every whole frame; anything else is a real failure.
		if "cut short" in err or "appears to have been cut" in err:
			print("truth.py: warning: %s" % err.strip().splitlines()[-1],
			      file=sys.stderr)
		else:
			die(EXIT_USAGE, "tshark failed: %s" % err.strip())


class Flow:
	__slots__ = ("src", "dst", "sport", "dport", "proto", "vlan",
		     "bytes_fwd", "pkts_fwd", "bytes_rev", "pkts_rev",
		     "first", "last", "max_gap")

	def __init__(self, src, sport, dst, dport, proto, vlan, ts):
		self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
		self.proto, self.vlan = proto, vlan
		self.bytes_fwd = self.pkts_fwd = self.bytes_rev = self.pkts_rev = 0
		self.first = self.last = ts
		self.max_gap = 0.0


def ports_of(row, proto, v6):
	"""(sport, dport) of the outermost L4 header, None if it is missing."""
	if proto == PROTO_TCP:
		s, d = first_int(row, "tcp.srcport"), first_int(row, "tcp.dstport")
	elif proto == PROTO_UDP:
		s, d = first_int(row, "udp.srcport"), first_int(row, "udp.dstport")
	elif proto == PROTO_SCTP:
		s, d = first_int(row, "sctp.srcport"), first_int(row, "sctp.dstport")
	elif proto == PROTO_ICMP and not v6:
		t, c = first_int(row, "icmp.type"), first_int(row, "icmp.code")
		if t is None or c is None:
			return None
		return 0, (t << 8) | c
	elif proto == PROTO_ICMPV6 and v6:
		t, c = first_int(row, "icmpv6.type"), first_int(row, "icmpv6.code")
		if t is None or c is None:
			return None
		return 0, (t << 8) | c
	else:
		return 0, 0
	if s is None or d is None:
		return None
	return s, d


def v6_chain(row):
	"""Walk the outermost IPv6 header's extension chain.

	Returns (proto, frag) where frag is None or (offset, more, ident)."""
	cur = first_int(row, "ipv6.nxt")
	if cur is None:
		return None, None
	used = defaultdict(int)
	frag = None
	for _ in range(16):
		field = V6_EXT.get(cur)
		if field is None:
			break
		vals = occ(row, field)
		i = used[field]
		if i >= len(vals):
			break		# chain cut short: the last value is the protocol
		used[field] += 1
		if cur == 44:
			offs = occ(row, "ipv6.fraghdr.offset")
			more = occ(row, "ipv6.fraghdr.more")
			ident = occ(row, "ipv6.fraghdr.ident")
			if i < len(offs) and i < len(ident):
				try:
					nxt = toint(vals[i])
				except ValueError:
					nxt = None
				frag = (toint(offs[i]),
					as_bool(more[i]) if i < len(more) else False,
					toint(ident[i]), nxt)
		try:
			cur = toint(vals[i])
		except ValueError:
			break
	return cur, frag


def outer_layers(protos, row):
	"""(family, vlan) of the outermost IP header or (None, reason)."""
	if not protos or protos[0] != "eth":
		return None, "non_ethernet"
	vi = ai = 0
	vlan = None
	vids, aids = occ(row, "vlan.id"), occ(row, "ieee8021ad.id")
	for tok in protos:
		if tok in ("ip", "ipv6"):
			return tok, (vlan if vlan is not None else 0)
		if tok not in L2_PREFIX:
			return None, "non_ip"
		if tok == "vlan":
			if vlan is None and vi < len(vids):
				vlan = toint(vids[vi])
			vi += 1
		elif tok == "ieee8021ad":
			if vlan is None and ai < len(aids):
				vlan = toint(aids[ai])
			ai += 1
	return None, "non_ip"


# A frame length no capture can hold (fuzzed headers): tshark's own
# conversation sums overflow on these, so their bytes are not compared.
ABSURD_LEN = 1 << 20


def new_tally():
	# [tx_p, tx_b, rx_p, rx_b] sure, the same maybe, and an "absurd" flag
	return [[0, 0, 0, 0], [0, 0, 0, 0], [False]]


def tally_ip_layers(row, protos, flen, maybe, absurd, ts_ep, ts_conv):
	"""Count the frame once per IP header tshark's ip/ipv6 taps see.

	tshark queues no tap for an IP header inside an ICMP/ICMPv6 error
	payload nor for an IPv6 non-first fragment, and may or may not have queued one for a malformed frame (it
	depends on where the exception hit): those count as "maybe"."""
	idx = {"ip": 0, "ipv6": 0}
	in_error = False
	layers = []		# [fam, occurrence index, tapped]
	offs = occ(row, "ipv6.fraghdr.offset")
	fh = 0
	for tok in protos:
		if tok in ("icmp", "icmpv6"):
			in_error = True
		elif tok in idx:
			layers.append([tok, idx[tok], not in_error])
			idx[tok] += 1
		elif tok == "ipv6.fraghdr":
			# tshark 4.0 (reassembly off) queues no ipv6 tap for a
			# non-first fragment; IPv4 later fragments are tapped
			if fh < len(offs) and offs[fh] not in ("0", "") and layers:
				layers[-1][2] = False
			fh += 1
	seen = []
	for fam, i, tapped in layers:
		srcs, dsts = occ(row, fam + ".src"), occ(row, fam + ".dst")
		if not tapped or i >= len(srcs) or i >= len(dsts):
			continue
		s, d = srcs[i], dsts[i]
		seen.append((fam, s, d))
		k = 1 if maybe else 0
		for t, off in ((ts_ep[fam][s], 0), (ts_ep[fam][d], 2)):
			t[k][off] += 1
			t[k][off + 1] += flen
			t[2][0] = t[2][0] or absurd
		if fam == "ip":
			c, off = (ts_conv[(s, d)], 0) if s <= d else (ts_conv[(d, s)], 2)
			c[k][off] += 1
			c[k][off + 1] += flen
			c[2][0] = c[2][0] or absurd
	# malformed frames can carry address fields the frame.protocols walk
	# did not reach; count any leftover as "maybe" for endpoints
	for fam in ("ip", "ipv6"):
		srcs, dsts = occ(row, fam + ".src"), occ(row, fam + ".dst")
		for s, d in list(zip(srcs, dsts))[idx[fam]:]:
			if not maybe:
				continue
			for t, off in ((ts_ep[fam][s], 0), (ts_ep[fam][d], 2)):
				t[1][off] += 1
				t[1][off + 1] += flen
	return seen


def in_range(got, t, cols):
	"""tshark's value for each column lies within sure..sure+maybe."""
	for c in cols:
		if not (t[0][c] <= got[c] <= t[0][c] + t[1][c]):
			return False
	return True


CAPTURED_BYTES = False


def account(row, protos, flen, ts, totals, flows, frags):
	"""Apply the engine's rules to one frame: update its flow.

	Returns the (src, dst) accounted, None if the frame is not counted."""
	fam, vlan = outer_layers(protos, row)
	if fam is None:
		totals[vlan + "_frames"] += 1
		totals[vlan + "_bytes"] += flen
		return None
	v6 = fam == "ipv6"
	if v6:
		src = occ(row, "ipv6.src")[:1]
		dst = occ(row, "ipv6.dst")[:1]
		proto, frag = v6_chain(row)
		later = frag is not None and frag[0] != 0
		first_frag = frag is not None and frag[0] == 0 and frag[1]
		fid = frag[2] if frag else None
		fproto = frag[3] if frag else proto	# the Fragment header's
	else:
		src = occ(row, "ip.src")[:1]
		dst = occ(row, "ip.dst")[:1]
		proto = first_int(row, "ip.proto")
		off = first_int(row, "ip.frag_offset") or 0
		mf = as_bool((occ(row, "ip.flags.mf") or ["0"])[0])
		later = off != 0
		first_frag = off == 0 and mf
		fid = first_int(row, "ip.id")
		fproto = proto
	if not src or not dst or proto is None:
		totals["dropped_bad_ip_frames"] += 1
		return None
	src, dst = src[0], dst[0]
	fkey = (fam, src, dst, fid, fproto)
	if later:
		# a later fragment joins its first fragment's flow (ports and,
		# for IPv6, the protocol found past the Fragment header)
		totals["frag_later_frames"] += 1
		e = frags.get(fkey)
		if e is None:
			totals["frag_unmatched"] += 1
			e = (0, 0, fproto)
		sport, dport, proto = e
	else:
		pp = ports_of(row, proto, v6)
		if pp is None:
			totals["dropped_short_l4_frames"] += 1
			return None
		if first_frag:
			totals["frag_first_frames"] += 1
			frags[fkey] = pp + (proto,)
		sport, dport = pp
	totals["ip_frames"] += 1
	totals["ip_bytes"] += flen
	if len(occ(row, "ip.src")) + len(occ(row, "ipv6.src")) > 1:
		totals["multi_ip_header_frames"] += 1

	a, b = (src, sport), (dst, dport)
	key = (vlan, proto) + ((a, b) if a <= b else (b, a))
	f = flows.get(key)
	if f is None:
		f = flows[key] = Flow(src, sport, dst, dport, proto, vlan, ts)
	gap = ts - f.last
	if gap > f.max_gap:
		f.max_gap = gap
	f.last = ts
	if (src, sport) == (f.src, f.sport) and (dst, dport) == (f.dst, f.dport):
		f.bytes_fwd += flen; f.pkts_fwd += 1
	else:
		f.bytes_rev += flen; f.pkts_rev += 1
	return src, dst


def compute(path, tshark, namer):
	totals = defaultdict(int)
	totals["first_ts"] = None
	totals["last_ts"] = None
	flows = {}
	frags = {}	# (fam, src, dst, id, frag proto) -> (sport, dport, proto)
	# tshark-style tally (every IP layer tshark's taps see), for the
	# cross-check: [sure counts, maybe counts, absurd-length seen]
	ts_ep = {"ip": defaultdict(new_tally), "ipv6": defaultdict(new_tally)}
	ts_conv = defaultdict(new_tally)	# (a,b) a<b: a->b, b->a
	tainted = set()

	for row in read_frames(tshark, path):
		try:
			flen = int(row[FI["frame.len"]])
			clen = int(row[FI["frame.cap_len"]])
			ts = float(row[FI["frame.time_epoch"]])
		except ValueError:
			totals["unreadable_frames"] += 1
			continue
		totals["frames"] += 1
		totals["bytes"] += flen
		if clen < flen:
			totals["truncated_frames"] += 1
		if totals["first_ts"] is None:
			totals["first_ts"] = ts
		totals["last_ts"] = ts

		protos = row[FI["frame.protocols"]].split(":")
		malformed = bool(row[FI["_ws.malformed"]])
		if malformed:
			totals["malformed_frames"] += 1
		absurd = flen > ABSURD_LEN
		maybe = malformed or absurd
		tapped = tally_ip_layers(row, protos, flen, maybe, absurd,
					 ts_ep, ts_conv)

		# --captured-bytes: a snaplen-cut file, counted as the engine
		# reads it (net_pcap hands over the captured bytes only)
		mine = account(row, protos, clen if CAPTURED_BYTES else flen, ts, totals, flows, frags)
		# An address every one of whose frames had exactly one IP header
		# that tshark tapped, the same one the rules accounted, must
		# have the same totals by the rules as by tshark.
		if (maybe or len(tapped) != 1 or mine is None
				or tapped[0][1:] != mine):
			for fam in ("ip", "ipv6"):
				tainted.update(occ(row, fam + ".src"))
				tainted.update(occ(row, fam + ".dst"))

	return totals, flows, ts_ep, ts_conv, tainted


def aggregate(flows, namer):
	hosts = defaultdict(lambda: defaultdict(int))
	ips = defaultdict(lambda: defaultdict(int))
	vlans = defaultdict(lambda: defaultdict(int))
	subnets = defaultdict(lambda: defaultdict(int))
	for f in flows.values():
		for table, k_src, k_dst in ((hosts, (f.src, f.vlan), (f.dst, f.vlan)),
					    (ips, f.src, f.dst)):
			h = table[k_src]
			h["bytes_sent"] += f.bytes_fwd; h["pkts_sent"] += f.pkts_fwd
			h["bytes_rcvd"] += f.bytes_rev; h["pkts_rcvd"] += f.pkts_rev
			h["flows"] += 1
			h = table[k_dst]
			h["bytes_sent"] += f.bytes_rev; h["pkts_sent"] += f.pkts_rev
			h["bytes_rcvd"] += f.bytes_fwd; h["pkts_rcvd"] += f.pkts_fwd
			if k_dst != k_src:
				h["flows"] += 1
		v = vlans[f.vlan]
		v["bytes"] += f.bytes_fwd + f.bytes_rev
		v["pkts"] += f.pkts_fwd + f.pkts_rev
		v["flows"] += 1
		s = subnets[(namer.name(f.src), namer.name(f.dst))]
		s["bytes"] += f.bytes_fwd + f.bytes_rev
		s["pkts"] += f.pkts_fwd + f.pkts_rev
		s["bytes_fwd"] += f.bytes_fwd; s["pkts_fwd"] += f.pkts_fwd
		s["bytes_rev"] += f.bytes_rev; s["pkts_rev"] += f.pkts_rev
		s["flows"] += 1
	# hosts per VLAN
	for (ip, vlan) in hosts:
		vlans[vlan]["hosts"] += 1
	return hosts, ips, vlans, subnets


HCOLS = ("bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd", "flows")

# ---- cross-check against tshark's own statistics ---------------------------

UNITS = {"bytes": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3,
	 "TB": 1000 ** 4}


def parse_size(num, unit):
	"""tshark 4.0 prints conversation bytes as '3663 bytes' or '2279 kB'
	(truncated); return the [lo, hi) range the true value lies in."""
	m = UNITS.get(unit)
	if m is None:
		return None
	n = int(num)
	return (n * m, (n + 1) * m) if m > 1 else (n, n + 1)


def crosscheck(tshark, path, ts_ep, ts_conv):
	out = subprocess.run(run_tshark(tshark, path, [
		"-q", "-z", "endpoints,ip", "-z", "endpoints,ipv6",
		"-z", "conv,ip"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
		text=True, errors="replace")
	errors = []
	section = None
	seen = {"ip": set(), "ipv6": set()}
	conv_seen = set()
	n_checked = 0
	for line in out.stdout.splitlines():
		if line.startswith("IPv4 Endpoints"):
			section = "ip"; continue
		if line.startswith("IPv6 Endpoints"):
			section = "ipv6"; continue
		if line.startswith("IPv4 Conversations"):
			section = "conv"; continue
		if section in ("ip", "ipv6"):
			parts = line.split()
			if len(parts) != 7 or not parts[1].isdigit():
				continue
			addr = parts[0]
			got = [int(x) for x in parts[3:7]]
			t = ts_ep[section].get(addr) or new_tally()
			seen[section].add(addr)
			n_checked += 1
			cols = (0, 2) if t[2][0] else (0, 1, 2, 3)
			if not in_range(got, t, cols):
				errors.append("endpoints,%s %s: tshark tx %d/%d rx %d/%d,"
					      " fields give tx %d/%d rx %d/%d (+maybe %s)" % (
						      section, addr, *got, *t[0], t[1]))
		elif section == "conv":
			m = re.match(r"^(\S+)\s+<->\s+(\S+)\s+(\d+) (\d+) (\S+)\s+"
				     r"(\d+) (\d+) (\S+)\s+", line)
			if not m:
				continue
			a, b = m.group(1), m.group(2)
			# '->' is a->b, '<-' is b->a
			ab_p, ab_b = int(m.group(6)), parse_size(m.group(7), m.group(8))
			ba_p, ba_b = int(m.group(3)), parse_size(m.group(4), m.group(5))
			if a <= b:
				key, offs = (a, b), {"->": 0, "<-": 2}
			else:
				key, offs = (b, a), {"->": 2, "<-": 0}
			conv_seen.add(key)
			t = ts_conv.get(key) or new_tally()
			n_checked += 1
			for tag, p, br in (("->", ab_p, ab_b), ("<-", ba_p, ba_b)):
				o = offs[tag]
				lo_p, hi_p = t[0][o], t[0][o] + t[1][o]
				lo_b, hi_b = t[0][o + 1], t[0][o + 1] + t[1][o + 1]
				ok = lo_p <= p <= hi_p
				if not t[2][0]:
					ok = ok and br is not None and br[0] <= hi_b and lo_b < br[1]
				if not ok:
					errors.append("conv,ip %s %s %s: tshark %d frames, bytes in"
						      " %s; fields give %d..%d frames %d..%d bytes" % (
							      a, tag, b, p, br, lo_p, hi_p, lo_b, hi_b))
	for fam in ("ip", "ipv6"):
		for addr, t in ts_ep[fam].items():
			if addr not in seen[fam] and any(t[0]):
				errors.append("endpoints,%s: %s counted from fields but not"
					      " by tshark" % (fam, addr))
	for pair, t in ts_conv.items():
		if pair not in conv_seen and any(t[0]):
			errors.append("conv,ip: %s <-> %s counted from fields but not"
				      " by tshark" % pair)
	return n_checked, errors


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("file")
	ap.add_argument("--local-networks", default="",
			help="comma-separated CIDRs, named by their own text")
	ap.add_argument("--subnet", action="append", default=[],
			help="NAME=CIDR, may repeat")
	ap.add_argument("--no-crosscheck", action="store_true",
			help="skip the comparison with tshark -z statistics")
	ap.add_argument("--captured-bytes", action="store_true",
			help="count frame.cap_len, not frame.len, as bytes (for"
			" snaplen-cut captures; implies --no-crosscheck, as tshark's"
			" statistics count wire lengths)")
	ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"))
	args = ap.parse_args()
	global CAPTURED_BYTES
	CAPTURED_BYTES = args.captured_bytes
	if args.captured_bytes:
		args.no_crosscheck = True
	if not os.path.exists(args.file):
		die(EXIT_USAGE, "%s: no such file" % args.file)
	local = [c.strip() for c in args.local_networks.split(",") if c.strip()]
	try:
		namer = Namer(local, args.subnet)
	except ValueError as e:
		die(EXIT_USAGE, "bad CIDR: %s" % e)

	totals, flows, ts_ep, ts_conv, tainted = compute(args.file, args.tshark,
							 namer)
	if totals["frames"] and totals["non_ethernet_frames"] == totals["frames"]:
		die(EXIT_SKIP, "%s: no Ethernet frames (link type not Ethernet);"
		    " the engine reads Ethernet only, skipping" % args.file)

	cross = {"checked": 0, "errors": []}
	if not args.no_crosscheck:
		n, errors = crosscheck(args.tshark, args.file, ts_ep, ts_conv)
		cross = {"checked": n, "errors": errors}

	hosts, ips, vlans, subnets = aggregate(flows, namer)
	if not args.no_crosscheck:
		# the rules against tshark, for every address tunnels, drops and
		# ICMP errors leave alone (tshark's tally is proven equal above)
		n = 0
		for fam in ("ip", "ipv6"):
			for addr, t in ts_ep[fam].items():
				if addr in tainted:
					continue
				n += 1
				h = ips.get(addr, {})
				mine = [h.get("pkts_sent", 0), h.get("bytes_sent", 0),
					h.get("pkts_rcvd", 0), h.get("bytes_rcvd", 0)]
				if mine != t[0]:
					cross["errors"].append(
						"rules vs tshark for %s: rules give tx %d/%d rx"
						" %d/%d, tshark tx %d/%d rx %d/%d" % (
							addr, *mine, *t[0]))
		cross["rules_vs_endpoints_checked"] = n
		cross["rules_vs_endpoints_skipped"] = len(tainted)
	totals["flows"] = len(flows)
	totals["max_flow_gap_s"] = round(max((f.max_gap for f in flows.values()),
					     default=0.0), 6)
	totals["max_flow_duration_s"] = round(max(
		(f.last - f.first for f in flows.values()), default=0.0), 6)

	out = {
		"file": os.path.abspath(args.file),
		"rules": 1,
		"local_networks": local,
		"subnets_named": args.subnet,
		"totals": dict(totals),
		"hosts": [dict(ip=ip, vlan=vlan, **{c: h[c] for c in HCOLS})
			  for (ip, vlan), h in sorted(hosts.items())],
		"ips": [dict(ip=ip, **{c: h[c] for c in HCOLS})
			for ip, h in sorted(ips.items())],
		"vlans": [dict(vlan=v, bytes=d["bytes"], pkts=d["pkts"],
			       flows=d["flows"], hosts=d["hosts"])
			  for v, d in sorted(vlans.items())],
		"flows": [dict(src=f.src, dst=f.dst, sport=f.sport, dport=f.dport,
			       proto=f.proto, vlan=f.vlan,
			       bytes=f.bytes_fwd + f.bytes_rev,
			       pkts=f.pkts_fwd + f.pkts_rev,
			       bytes_fwd=f.bytes_fwd, pkts_fwd=f.pkts_fwd,
			       bytes_rev=f.bytes_rev, pkts_rev=f.pkts_rev)
			  for f in sorted(flows.values(), key=lambda f: (
				  f.vlan, f.proto, f.src, f.sport, f.dst, f.dport))],
		"subnets": [dict(src=s, dst=d, **dict(v))
			    for (s, d), v in sorted(subnets.items())],
		"crosscheck": cross,
	}
	json.dump(out, sys.stdout, indent=1, sort_keys=False)
	sys.stdout.write("\n")
	if cross["errors"]:
		for e in cross["errors"][:20]:
			print("truth.py: CROSS-CHECK FAILED: " + e, file=sys.stderr)
		die(EXIT_CROSSCHECK, "%d disagreement(s) with tshark's statistics"
		    % len(cross["errors"]))


if __name__ == "__main__":
	main()
