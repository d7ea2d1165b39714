#!/usr/bin/python3
"""gen_traffic.py -- deterministic synthetic captures for weir's tests and benchmarks.

The integration tests need a capture whose every feature the engine must
handle is present and whose numbers tshark can vouch for (truth.py); the
benchmarks need a million packets and tens of thousands of flows quickly.
Both come from here.  Frames are packed by hand with struct (scapy is far
too slow for a million frames) and the packing is checked against scapy's
own encoders by --selftest.

Profiles:
  office  a small office trunk: VLAN 10 users 10.0.10.0/24, VLAN 20 servers
	  10.0.20.0/24, VLAN 30 IoT 10.0.30.0/24, untagged uplink (NAT address
	  192.0.2.10) to the internet (203.0.113.0/24, 198.51.100.0/24,
	  2001:db8:ff00::/40); local IPv6 2001:db8:a::/48 (VLAN n ->
	  2001:db8:a:n::/64).  Routed flows between VLANs appear twice on the
	  trunk (router on a stick: once on each VLAN), internet flows twice
	  (inside VLAN, then NATed on the uplink).  TCP sessions with handshake
	  and FIN, DNS to the resolver 10.0.20.53, ICMP echo, IPv4 fragments
	  (one datagram out of order), IPv6 with hop-by-hop/destination/routing
	  /fragment headers, ICMPv6 echo, QinQ (802.1ad S-tag 1000), MPLS, PPPoE,
	  ARP.  About 60 s of capture.
  mixed   benchmark mix: ~--packets (1M) packets, ~--flows (50k) flows,
	  10% IPv6, VLANs 10/20/30 and untagged, real application payloads
	  (built by gen_apps.py, which needs scapy).  TCP 72% of the flows:
	  443 TLS 1.2/1.3 ClientHello with SNI, ServerHello, application
	  data records; 80 and 8080 HTTP/1.1 GET and 200 OK; 22 SSH banners,
	  key exchange, encrypted packets; 445 SMB2 NEGOTIATE and READ.  UDP
	  23%: 53 DNS A/AAAA; 123 NTP; 443 QUIC v1 Initials (really
	  encrypted, SNI inside) and 1-RTT packets; 5060 SIP OPTIONS/200 OK.
	  ICMP/ICMPv6 echo 5%.  5% of the flows (TCP and UDP to high,
	  unassigned ports) carry random bytes that no DPI can name.
  big     --flows (200k) flows of a few packets each (flow-table tests).

Usage: gen_traffic.py --out FILE [--profile office|mixed|big] [--seed N]
			 [--packets N] [--flows N] [--selftest]
Same arguments, same bytes: everything random comes from --seed.
"""

import argparse
import heapq
import os
import random
import struct
import sys
import time

T0 = 1795766400			# 2026-11-27 00:00:00 UTC, start of captures

# ---------------------------------------------------------------- checksums


def _native_sum(b):
	"""Sum of 16-bit words in host order (ones' complement sums do not care
	about byte order as long as the result is stored in the same order)."""
	if len(b) & 1:
		b = bytes(b) + b"\0"
	return sum(memoryview(b).cast("H"))


def _fold(s):
	while s >> 16:
		s = (s & 0xFFFF) + (s >> 16)
	return struct.pack("=H", ~s & 0xFFFF)	# host order, as summed


_payload_sums = {}


def _psum(payload):
	"""Cached sum of a payload (mixed/big reuse a few payload objects)."""
	k = id(payload)
	e = _payload_sums.get(k)
	if e is None or e[0] is not payload:
		e = (payload, _native_sum(payload))
		if len(_payload_sums) < 4096:
			_payload_sums[k] = e
	return e[1]

# ---------------------------------------------------------------- L2 layers


class Encap:
	"""What sits between Ethernet and IP for every frame of a flow.

	tags: [(tpid, vid)] outermost first; mpls: [label] top first; pppoe:
	session id or None."""
	__slots__ = ("tags", "mpls", "pppoe")

	def __init__(self, tags=(), mpls=(), pppoe=None):
		self.tags, self.mpls, self.pppoe = tuple(tags), tuple(mpls), pppoe


def l2(dmac, smac, encap, v6, l3):
	"""Ethernet + tags + MPLS/PPPoE, then the L3 bytes."""
	parts = [dmac, smac]
	for tpid, vid in encap.tags:
		parts.append(struct.pack("!HH", tpid, vid & 0x0FFF))
	if encap.mpls:
		parts.append(b"\x88\x47")
		n = len(encap.mpls)
		for i, label in enumerate(encap.mpls):
			# | label:20 | tc:3 | s:1 | ttl:8 |
			parts.append(struct.pack("!I", (label << 12) |
						 ((1 if i == n - 1 else 0) << 8) | 64))
	elif encap.pppoe is not None:
		# ethertype 0x8864 | ver/type 0x11 | code 0 | session | length |
		# PPP protocol 0x0021 (IPv4) / 0x0057 (IPv6)
		parts.append(struct.pack("!HBBHHH", 0x8864, 0x11, 0, encap.pppoe,
					 len(l3) + 2, 0x0057 if v6 else 0x0021))
	else:
		parts.append(b"\x86\xdd" if v6 else b"\x08\x00")
	parts.append(l3)
	frame = b"".join(parts)
	if len(frame) < 60:			# Ethernet minimum, padded (no FCS)
		frame += bytes(60 - len(frame))
	return frame


def arp_frame(smac, sip, tip, reply=False, tmac=b"\0" * 6, encap=None):
	body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2 if reply else 1,
			   smac, sip, tmac, tip)
	dmac = tmac if reply else b"\xff" * 6
	parts = [dmac, smac]
	for tpid, vid in (encap.tags if encap else ()):
		parts.append(struct.pack("!HH", tpid, vid))
	parts += [b"\x08\x06", body]
	f = b"".join(parts)
	return f + bytes(max(0, 60 - len(f)))

# ---------------------------------------------------------------- L3 / L4


def ipv4(src, dst, proto, payload, ident, ttl=64, mf=False, frag_off=0,
	 df=False):
	"""IPv4 header (no options).  frag_off in bytes (multiple of 8)."""
	flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off >> 3)
	h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
			flags, ttl, proto, 0, src, dst)
	return h[:10] + _fold(_native_sum(h)) + h[12:] + payload


def ipv6(src, dst, nh, payload, hlim=64):
	return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, hlim,
			   src, dst) + payload


def _pseudo(src, dst, proto, length):
	if len(src) == 4:
		return struct.pack("!4s4sBBH", src, dst, 0, proto, length)
	return struct.pack("!16s16sIxxxB", src, dst, length, proto)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", win=64240,
	opts=b""):
	off = (20 + len(opts)) // 4
	h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
			ack & 0xFFFFFFFF, off << 4, flags, win, 0, 0) + opts
	ln = len(h) + len(payload)
	s = _native_sum(_pseudo(src, dst, 6, ln)) + _native_sum(h) + _psum(payload)
	return h[:16] + _fold(s) + h[18:] + payload


def udp(src, dst, sport, dport, payload):
	ln = 8 + len(payload)
	h = struct.pack("!HHHH", sport, dport, ln, 0)
	s = _native_sum(_pseudo(src, dst, 17, ln)) + _native_sum(h) + _psum(payload)
	c = _fold(s)
	if c == b"\0\0":
		c = b"\xff\xff"
	return h[:6] + c + payload


def icmp_echo(typ, ident, seq, payload, v6src=None, v6dst=None):
	"""ICMP (v6src None) or ICMPv6 echo; type 8/0 or 128/129."""
	h = struct.pack("!BBHHH", typ, 0, 0, ident, seq)
	s = _native_sum(h) + _psum(payload)
	if v6src is not None:
		s += _native_sum(_pseudo(v6src, v6dst, 58, len(h) + len(payload)))
	return h[:2] + _fold(s) + h[4:] + payload


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# ---------------------------------------------------------------- addresses


def a4(s):
	return bytes(int(x) for x in s.split("."))


def a6(s):
	import ipaddress
	return ipaddress.IPv6Address(s).packed


def mac_of(addr, salt=0):
	"""A stable locally administered MAC for an address."""
	h = hash_bytes(addr + bytes([salt]))
	return bytes([0x02, salt & 0xFF]) + h[:4]


def hash_bytes(b):
	x = 0xcbf29ce484222325
	for c in b:
		x = ((x ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
	return x.to_bytes(8, "big")


ROUTER_MAC = bytes.fromhex("02000000fe01")
UPLINK_MAC = bytes.fromhex("02000000fe02")	# ISP side of the uplink

# ---------------------------------------------------------------- flows
#
# A flow is a generator of (ts, frame).  A "leg" is where one copy of the
# flow is seen: its encapsulation, MACs and (after NAT) its addresses.


class Leg:
	__slots__ = ("encap", "cmac", "smac", "caddr", "saddr", "cport", "delay")

	def __init__(self, encap, cmac, smac, caddr, saddr, cport, delay=0.0):
		self.encap, self.cmac, self.smac = encap, cmac, smac
		self.caddr, self.saddr, self.cport = caddr, saddr, cport
		self.delay = delay


class Ctx:
	"""Per-flow state shared by the frame builders."""

	def __init__(self, rnd, legs, sport, v6):
		self.rnd, self.legs, self.sport, self.v6 = rnd, legs, sport, v6
		self.ident = rnd.randrange(65536)

	def frames(self, ts, from_client, proto, l4fn, ttl=64):
		"""One packet, emitted once per leg.  l4fn(src, dst, sp, dp) -> L4."""
		out = []
		for leg in self.legs:
			if from_client:
				src, dst, sp, dp = leg.caddr, leg.saddr, leg.cport, self.sport
				dmac, smac = leg.smac, leg.cmac
			else:
				src, dst, sp, dp = leg.saddr, leg.caddr, self.sport, leg.cport
				dmac, smac = leg.cmac, leg.smac
			l4b = l4fn(src, dst, sp, dp)
			if self.v6:
				l3 = ipv6(src, dst, proto, l4b, ttl)
			else:
				self.ident = (self.ident + 1) & 0xFFFF
				l3 = ipv4(src, dst, proto, l4b, self.ident, ttl,
					  df=proto == 6)
			out.append((ts + leg.delay, l2(dmac, smac, leg.encap, self.v6, l3)))
		return out


def pattern(rnd, n):
	return bytes(rnd.getrandbits(8) for _ in range(n)) if n else b""


def tcp_session(ctx, t, exchanges, mss=1448, rtt=0.02, think=0.3, v6_exts=None):
	"""Handshake, request/response exchanges, FIN both ways.

	exchanges: [(request bytes, response bytes)] of payload objects."""
	rnd = ctx.rnd
	cseq, sseq = rnd.getrandbits(32), rnd.getrandbits(32)
	out = []

	def seg(ts, fc, flags, payload=b"", opts=b""):
		nonlocal cseq, sseq
		s, a = (cseq, sseq) if fc else (sseq, cseq)

		def l4(src, dst, sp, dp):
			b = tcp(src, dst, sp, dp, s, a if flags & TCP_ACK else 0,
				flags, payload, opts=opts)
			return v6_exts(b, 6) if v6_exts else b
		proto = v6_exts.first if v6_exts else 6
		out.extend(ctx.frames(ts, fc, proto, l4))
		adv = len(payload) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)
		if fc:
			cseq += adv
		else:
			sseq += adv

	mssopt = struct.pack("!BBH", 2, 4, mss) + b"\x01\x01\x04\x02"
	seg(t, True, TCP_SYN, opts=mssopt)
	t += rtt
	seg(t, False, TCP_SYN | TCP_ACK, opts=mssopt)
	t += rtt * 0.05
	seg(t, True, TCP_ACK)
	for req, resp in exchanges:
		t += think * rnd.random()
		for i in range(0, len(req), mss):
			seg(t, True, TCP_PSH | TCP_ACK, req[i:i + mss])
			t += 0.0002
		t += rtt
		n = 0
		for i in range(0, len(resp), mss):
			seg(t, False, TCP_ACK | (TCP_PSH if i + mss >= len(resp) else 0),
			    resp[i:i + mss])
			n += 1
			t += 0.0003
			if n % 2 == 0:
				seg(t + rtt * 0.5, True, TCP_ACK)
		t += rtt * 0.5
		seg(t, True, TCP_ACK)
	t += think * rnd.random()
	seg(t, True, TCP_FIN | TCP_ACK)
	t += rtt
	seg(t, False, TCP_FIN | TCP_ACK)
	t += rtt * 0.05
	seg(t, True, TCP_ACK)
	return out


def udp_exchange(ctx, t, pairs, gap=0.05, rtt=0.01):
	"""UDP request/response pairs (DNS, NTP, MQTT-SN ...)."""
	out = []
	for req, resp in pairs:
		out.extend(ctx.frames(t, True, 17,
				      lambda s, d, sp, dp: udp(s, d, sp, dp, req)))
		if resp is not None:
			t += rtt
			out.extend(ctx.frames(t, False, 17,
					      lambda s, d, sp, dp: udp(s, d, sp, dp, resp)))
		t += gap
	return out


def dns_msg(rnd, name, qtype, answer=None, ident=None):
	"""A query (answer None) or a one-record answer; ident None: drawn."""
	q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
	if ident is None:
		ident = rnd.randrange(65536)
	if answer is None:
		return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + \
			struct.pack("!HH", qtype, 1)
	rr = struct.pack("!HHHIH", 0xC00C, qtype, 1, 300, len(answer)) + answer
	return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + \
		struct.pack("!HH", qtype, 1) + rr


def icmp_pings(ctx, t, count, size=56):
	out = []
	rnd = ctx.rnd
	ident = rnd.randrange(65536)
	pl = pattern(rnd, size)
	req, rep = (128, 129) if ctx.v6 else (8, 0)
	proto = 58 if ctx.v6 else 1
	for i in range(count):
		def l4(src, dst, sp, dp, typ=req, seq=i):
			return icmp_echo(typ, ident, seq, pl,
					 src if ctx.v6 else None, dst if ctx.v6 else None)
		out.extend(ctx.frames(t, True, proto, l4))

		def l4r(src, dst, sp, dp, typ=rep, seq=i):
			return icmp_echo(typ, ident, seq, pl,
					 src if ctx.v6 else None, dst if ctx.v6 else None)
		out.extend(ctx.frames(t + 0.003, False, proto, l4r))
		t += 1.0
	return out


def udp_fragmented(ctx, t, size, reply, out_of_order=False):
	"""One UDP datagram of `size` payload bytes over IPv4, fragmented at
	MTU 1500 (1480-byte pieces), then an unfragmented reply."""
	out = []
	rnd = ctx.rnd
	payload = pattern(rnd, size)
	for leg in ctx.legs:
		dg = udp(leg.caddr, leg.saddr, leg.cport, ctx.sport, payload)
		ctx.ident = (ctx.ident + 1) & 0xFFFF
		pieces = []
		for off in range(0, len(dg), 1480):
			chunk = dg[off:off + 1480]
			more = off + 1480 < len(dg)
			pieces.append(l2(leg.smac, leg.cmac, leg.encap, False,
					 ipv4(leg.caddr, leg.saddr, 17, chunk, ctx.ident,
					      mf=more, frag_off=off)))
		if out_of_order:		# last fragment overtakes the first
			pieces = [pieces[-1]] + pieces[:-1]
		for i, f in enumerate(pieces):
			out.append((t + leg.delay + i * 0.0001, f))
	t += 0.01
	out.extend(ctx.frames(t, False, 17,
			      lambda s, d, sp, dp: udp(s, d, sp, dp, reply)))
	return out


class V6Exts:
	"""IPv6 extension headers put in front of an L4 segment.

	kinds: list of 0 (hop-by-hop), 60 (destination options), 43 (routing
	type 2 with one address).  .first is the IPv6 next-header value."""

	def __init__(self, kinds, raddr=None):
		self.kinds = kinds
		self.raddr = raddr or bytes(16)
		self.first = kinds[0] if kinds else 6

	def __call__(self, l4b, l4proto):
		out = l4b
		nxt = l4proto
		for k in reversed(self.kinds):
			if k in (0, 60):
				# | next | hdrlen=0 | PadN(4) | = 8 bytes; HBH carries a
				# router alert option instead: | 5 | 2 | 0 0 |
				opt = b"\x05\x02\x00\x00" if k == 0 else b"\x01\x02\x00\x00"
				out = bytes([nxt, 0]) + opt + b"\x01\x00" + out
			elif k == 43:
				out = bytes([nxt, 2, 2, 1]) + bytes(4) + self.raddr + out
			nxt = k
		return out


def ipv6_frag_udp(ctx, t, size, reply):
	"""A UDP datagram over IPv6 in two pieces, each with a fragment header."""
	out = []
	payload = pattern(ctx.rnd, size)
	ident = ctx.rnd.getrandbits(32)
	for leg in ctx.legs:
		dg = udp(leg.caddr, leg.saddr, leg.cport, ctx.sport, payload)
		pieces = []
		for off in range(0, len(dg), 1232):
			chunk = dg[off:off + 1232]
			more = off + 1232 < len(dg)
			fh = struct.pack("!BBHI", 17, 0, off | (1 if more else 0), ident)
			pieces.append(l2(leg.smac, leg.cmac, leg.encap, True,
					 ipv6(leg.caddr, leg.saddr, 44, fh + chunk)))
		for i, f in enumerate(pieces):
			out.append((t + leg.delay + i * 0.0001, f))
	t += 0.01
	out.extend(ctx.frames(t, False, 17,
			      lambda s, d, sp, dp: udp(s, d, sp, dp, reply)))
	return out

# ---------------------------------------------------------------- office


VLAN_USERS, VLAN_SERVERS, VLAN_IOT = 10, 20, 30
NAT4 = a4("192.0.2.10")
NAT6_NONE = None
TPID_Q, TPID_AD = 0x8100, 0x88A8


class Office:
	"""The office network: hosts, and the legs a flow is seen on."""

	def __init__(self, rnd):
		self.rnd = rnd
		self.users = [a4("10.0.10.%d" % i) for i in range(11, 41)]
		self.servers = {"dns": a4("10.0.20.53"), "files": a4("10.0.20.10"),
				"web": a4("10.0.20.80"), "mqtt": a4("10.0.20.18"),
				"ssh": a4("10.0.20.22"), "log": a4("10.0.20.14")}
		self.iot = [a4("10.0.30.%d" % i) for i in range(101, 116)]
		self.remote4 = [a4("203.0.113.%d" % i) for i in range(1, 60)] + \
			[a4("198.51.100.%d" % i) for i in range(1, 40)]
		self.users6 = [a6("2001:db8:a:10::%x" % (0x100 + i)) for i in range(12)]
		self.servers6 = [a6("2001:db8:a:20::%x" % (0x80 + i)) for i in range(3)]
		self.remote6 = [a6("2001:db8:ff%02x::%x" % (i, i + 1)) for i in range(20)]
		self.ports = {}
		self.nat_next = 20000 + rnd.randrange(1000)
		self.ping_pairs = set()

	def eph(self, addr):
		p = self.ports.get(addr)
		if p is None:
			p = 32768 + self.rnd.randrange(20000)
		self.ports[addr] = p + 1 + self.rnd.randrange(3)
		return self.ports[addr]

	def vlan_of(self, addr):
		if len(addr) == 4 and addr[0] == 10:
			return addr[2]
		if len(addr) == 16 and addr[:6] == a6("2001:db8:a::")[:6]:
			# 2001:db8:a:10::/64 is VLAN 10: the group reads as decimal
			return int("%x" % addr[7])
		return None

	def legs_local(self, c, s, cport, qinq=False):
		"""Inside the office: one leg on the client's VLAN, and a second on
		the server's VLAN when the router forwards between them."""
		cv, sv = self.vlan_of(c), self.vlan_of(s)
		cm, sm = mac_of(c), mac_of(s)
		if cv == sv:
			enc = Encap([(TPID_Q, cv)])
			return [Leg(enc, cm, sm, c, s, cport)]
		e1 = Encap([(TPID_AD, 1000), (TPID_Q, cv)]) if qinq else Encap([(TPID_Q, cv)])
		return [Leg(e1, cm, ROUTER_MAC, c, s, cport),
			Leg(Encap([(TPID_Q, sv)]), ROUTER_MAC, sm, c, s, cport, 0.00005)]

	def legs_internet(self, c, r, cport, uplink=None):
		"""Client VLAN leg, then the uplink leg (NATed for IPv4)."""
		cv = self.vlan_of(c)
		legs = [Leg(Encap([(TPID_Q, cv)]), mac_of(c), ROUTER_MAC, c, r, cport)]
		if len(c) == 4:
			self.nat_next += 1		# one NAT port per flow
			legs.append(Leg(uplink or Encap(), ROUTER_MAC, UPLINK_MAC, NAT4, r,
					self.nat_next if cport else 0, 0.0002))
		else:
			legs.append(Leg(uplink or Encap(), ROUTER_MAC, UPLINK_MAC, c, r,
					cport, 0.0002))
		return legs


def office_flows(rnd, n_flows, duration=60.0):
	"""Yield (start_ts, generator_fn) for the office profile.  Every kind of
	frame the brief lists is present at least once; the rest is drawn at
	random.  No flow lasts more than ~25 s or pauses more than ~5 s."""
	o = Office(rnd)
	jobs = []

	def start():
		return T0 + rnd.uniform(0.2, duration - 8)

	def web_ex(n, small=False):
		ex = []
		for _ in range(n):
			req = b"\x17\x03\x03" + pattern(rnd, rnd.randrange(120, 500))
			size = rnd.randrange(150, 900 if small else 2600)
			ex.append((req, b"\x17\x03\x03" + pattern(rnd, size)))
		return ex

	def add(fn):
		jobs.append((start(), fn))

	# users -> internet HTTPS (v4, NAT on the uplink)
	def k_web4(uplink=None):
		c, r = rnd.choice(o.users), rnd.choice(o.remote4)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_internet(c, r, cp, uplink), 443, False)
		ex = web_ex(1, small=uplink is not None or rnd.random() < 0.6)
		add(lambda t: tcp_session(ctx, t, ex))

	# users -> internet over IPv6, sometimes with extension headers
	def k_web6(exts=None):
		c, r = rnd.choice(o.users6), rnd.choice(o.remote6)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_internet(c, r, cp), 443, True)
		ex = web_ex(1, small=True)
		add(lambda t: tcp_session(ctx, t, ex, mss=1428, v6_exts=exts))

	# users/iot -> resolver (cross-VLAN, seen on both VLANs)
	def k_dns(src_pool):
		c = rnd.choice(src_pool)
		cp = o.eph(c)
		s = o.servers["dns"]
		ctx = Ctx(rnd, o.legs_local(c, s, cp), 53, False)
		name = rnd.choice(["www.example.com", "mail.example.net",
				   "updates.example.org", "time.example.com",
				   "api.example.io", "cdn.example.net"])
		qt = rnd.choice([1, 28])
		ans = bytes([203, 0, 113, rnd.randrange(1, 60)]) if qt == 1 else \
			a6("2001:db8:ff00::%x" % rnd.randrange(1, 99))
		pairs = [(dns_msg(rnd, name, qt), dns_msg(rnd, name, qt, ans))]
		add(lambda t: udp_exchange(ctx, t, pairs))

	# users -> file server (SMB-ish), users -> ssh
	def k_local_tcp(port, srv, size_hi, pool=None, qinq=False):
		c = rnd.choice(pool or o.users)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_local(c, o.servers[srv], cp, qinq), port, False)
		ex = [(pattern(rnd, rnd.randrange(60, 400)),
		       pattern(rnd, rnd.randrange(100, size_hi)))
		      for _ in range(rnd.randrange(1, 3))]
		add(lambda t: tcp_session(ctx, t, ex, rtt=0.001))

	# iot -> MQTT broker on the server VLAN (cross-VLAN), small messages
	def k_mqtt():
		c = rnd.choice(o.iot)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_local(c, o.servers["mqtt"], cp), 1883, False)
		ex = [(pattern(rnd, rnd.randrange(20, 120)), pattern(rnd, 4))
		      for _ in range(rnd.randrange(2, 6))]
		add(lambda t: tcp_session(ctx, t, ex, rtt=0.002, think=1.5))

	# iot -> internet NTP
	def k_ntp():
		c, r = rnd.choice(o.iot), rnd.choice(o.remote4)
		legs = o.legs_internet(c, r, 123)
		ctx = Ctx(rnd, legs, 123, False)
		pk = b"\x23" + bytes(47)
		add(lambda t: udp_exchange(ctx, t, [(pk, b"\x24" + pattern(rnd, 47))]))

	def k_ping(v6=False):
		# ICMP flows are keyed by addresses and type/code only: never ping
		# the same peer twice (from the same address, or through the NAT)
		while True:
			if v6:
				c, r = rnd.choice(o.users6), rnd.choice(o.remote6)
				remote = True
			elif rnd.random() < 0.5:
				c, r = rnd.choice(o.users), rnd.choice(o.remote4)
				remote = True
			else:
				c = rnd.choice(o.users)
				r = rnd.choice(list(o.servers.values()))
				remote = False
			if (c, r) not in o.ping_pairs and (NAT4, r) not in o.ping_pairs:
				break
		o.ping_pairs.add((c, r))
		if remote:
			o.ping_pairs.add((NAT4, r))
			legs = o.legs_internet(c, r, 0)
		else:
			legs = o.legs_local(c, r, 0)
		ctx = Ctx(rnd, legs, 0, v6)
		n = rnd.randrange(2, 5)
		add(lambda t: icmp_pings(ctx, t, n))

	def k_frag(out_of_order=False):
		# syslog-ish big UDP datagram from an IoT box to the log server
		c = rnd.choice(o.iot)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_local(c, o.servers["log"], cp), 5140, False)
		size = rnd.randrange(1600, 3000)
		add(lambda t: udp_fragmented(ctx, t, size, b"ok", out_of_order))

	def k_frag6():
		c, s = rnd.choice(o.users6), rnd.choice(o.servers6)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_local(c, s, cp), 5140, True)
		size = rnd.randrange(1400, 2400)
		add(lambda t: ipv6_frag_udp(ctx, t, size, b"ok"))

	def k_routing6():
		c, s = rnd.choice(o.users6), rnd.choice(o.servers6)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_local(c, s, cp), 8443, True)
		exts = V6Exts([43, 60], raddr=s)
		ex = web_ex(1, small=True)
		add(lambda t: tcp_session(ctx, t, ex, mss=1400, rtt=0.001,
					  v6_exts=exts))

	def k_arp():
		pool = rnd.choice([o.users, o.iot])
		c = rnd.choice(pool)
		gw = bytes([10, 0, c[2], 1])
		enc = Encap([(TPID_Q, c[2])])

		def gen(t):
			return [(t, arp_frame(mac_of(c), c, gw, encap=enc)),
				(t + 0.0005, arp_frame(ROUTER_MAC, gw, c, True, mac_of(c),
						       encap=enc))]
		add(gen)

	def k_mpls():
		# a site-to-site flow handed to the provider with an MPLS label
		c, r = rnd.choice(o.users), rnd.choice(o.remote4)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_internet(c, r, cp,
					       Encap(mpls=[rnd.randrange(16, 1 << 20),
							   rnd.randrange(16, 1 << 20)])),
			  443, False)
		ex = web_ex(1, small=True)
		add(lambda t: tcp_session(ctx, t, ex))

	def k_pppoe():
		c, r = rnd.choice(o.users), rnd.choice(o.remote4)
		cp = o.eph(c)
		ctx = Ctx(rnd, o.legs_internet(c, r, cp, Encap(pppoe=0x1234)), 443,
			  False)
		ex = web_ex(1, small=True)
		add(lambda t: tcp_session(ctx, t, ex))

	# the must-haves
	for _ in range(3):
		k_arp()
		k_mpls()
		k_pppoe()
		k_frag()
		k_ping()
		k_mqtt()
	k_frag(out_of_order=True)
	k_frag6()
	k_ping(v6=True)
	k_routing6()
	k_web6(V6Exts([0, 60]))
	k_local_tcp(445, "files", 2500, qinq=True)
	k_local_tcp(22, "ssh", 3000, pool=o.iot)

	kinds = [(k_web4, 22), (lambda: k_dns(o.users), 18),
		 (lambda: k_dns(o.iot), 6), (k_web6, 6),
		 (lambda: k_web6(V6Exts([0, 60])), 2),
		 (lambda: k_local_tcp(445, "files", 2500), 8),
		 (lambda: k_local_tcp(22, "ssh", 3000), 3),
		 (lambda: k_local_tcp(80, "web", 4000, pool=o.iot), 3),
		 (k_mqtt, 8), (k_ntp, 5), (k_ping, 5), (k_arp, 3),
		 (lambda: k_ping(True), 1), (k_frag, 1)]
	total = sum(w for _, w in kinds)
	while len(jobs) < n_flows:
		x = rnd.randrange(total)
		for fn, w in kinds:
			if x < w:
				fn()
				break
			x -= w
	return jobs

# ---------------------------------------------------------------- mixed / big


def _gen_apps():
	"""gen_apps.py, next to this file, has the application payload builders
	(TLS, QUIC, SMB2, SSH, HTTP, NTP, SIP).  Imported on first use: it
	needs scapy, which the office and big profiles do without."""
	here = os.path.dirname(os.path.abspath(__file__))
	if here not in sys.path:
		sys.path.insert(0, here)
	import gen_apps
	return gen_apps


# mixed: server ports of the flows with real payloads, and the ports of
# the few flows of random bytes (no IANA assignment, no nDPI default, no
# Wireshark dissector on any of them)
MIXED_TCP = (443, 443, 80, 22, 445, 8080)
MIXED_UDP = (53, 123, 443, 5060)
UNKNOWN_TCP = (40123, 41234, 42424, 45123)
UNKNOWN_UDP = (46123, 47123, 48123)


class MixedApps:
	"""The application payloads of the mixed profile.

	Every message that can be shared is made once (here, or on first use)
	and its bytes object is reused by every flow that carries it: _psum
	caches checksums by object, and the builders (scapy for TLS) are slow.
	Made per flow is only what must differ: lengths (HTTP Content-Length,
	SMB2 READ, the bulk of each answer) and QUIC packets (each connection
	has its own DCID, hence its own Initial keys).  Random-looking bytes
	(ciphertext, bodies) are slices of one random blob."""

	# TLS/QUIC server names: well-known services (nDPI names the app) and
	# names of no particular service (plain TLS).
	SNIS = ("www.google.com", "www.youtube.com", "i.ytimg.com",
		"fonts.gstatic.com", "www.facebook.com", "static.xx.fbcdn.net",
		"www.instagram.com", "web.whatsapp.com", "www.netflix.com",
		"login.microsoftonline.com", "outlook.office365.com",
		"teams.microsoft.com", "www.bing.com", "github.com",
		"api.github.com", "www.amazon.com", "s3.amazonaws.com",
		"en.wikipedia.org", "www.apple.com", "gateway.icloud.com",
		"open.spotify.com", "www.linkedin.com", "zoom.us", "slack.com",
		"www.dropbox.com", "discord.com", "www.reddit.com",
		"cdn.jsdelivr.net", "www.cloudflare.com", "api.stripe.com",
		"mail.example.net", "intranet.example.com", "api.example.io",
		"shop.example.org", "vpn.example.com", "sso.example.com")
	QUIC_SNIS = ("www.google.com", "www.youtube.com", "i.ytimg.com",
		     "fonts.gstatic.com", "www.facebook.com",
		     "static.xx.fbcdn.net", "www.instagram.com",
		     "www.cloudflare.com", "cdn.jsdelivr.net", "api.example.io")
	DNS_NAMES = SNIS + ("time.google.com", "ntp.ubuntu.com",
			    "connectivity-check.ubuntu.com", "deb.debian.org",
			    "ocsp.digicert.com", "wpad.example.com",
			    "printer-2.example.com", "fileserver.example.com")
	HTTP = {
		80: (("connectivity-check.ubuntu.com", "/"),
		     ("detectportal.firefox.com", "/canonical.html"),
		     ("www.msftconnecttest.com", "/connecttest.txt"),
		     ("ocsp.digicert.com", "/MFEwTzBNMEswSTAJBgUrDgMCGgUABBTfqhLj"),
		     ("ctldl.windowsupdate.com",
		      "/msdownload/update/v3/static/trustedr/en/authrootstl.cab"),
		     ("deb.debian.org", "/debian/dists/bookworm/InRelease"),
		     ("security.debian.org",
		      "/debian-security/dists/bookworm-security/InRelease"),
		     ("archive.ubuntu.com", "/ubuntu/dists/jammy/Release"),
		     ("crl.globalsign.com", "/gsrsaovsslca2018.crl"),
		     ("neverssl.com", "/"),
		     ("intranet.example.net", "/status")),
		8080: (("jenkins.example.net:8080", "/job/weir/lastBuild/api/json"),
		       ("grafana.example.net:8080", "/api/health"),
		       ("proxy.example.com:8080", "/proxy.pac"),
		       ("camera-03.example.net:8080", "/snapshot.cgi"),
		       ("build.example.com:8080", "/artifacts/weir.tar.gz")),
	}
	USER_AGENTS = (
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
		"(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
		"Firefox/128.0",
		"Microsoft-CryptoAPI/10.0", "Debian APT-HTTP/1.3 (2.6.1)",
		"curl/7.88.1", "Wget/1.21.3", "python-requests/2.31.0")
	HTTP_SERVERS = ("nginx/1.22.1", "Apache/2.4.57 (Debian)",
			"Microsoft-IIS/10.0", "ECAcc (lac/55B3)")
	SSH_SERVERS = (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
		       b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
		       b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n",
		       b"SSH-2.0-OpenSSH_8.7\r\n")
	SSH_CLIENTS = (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
		       b"SSH-2.0-OpenSSH_9.6\r\n",
		       b"SSH-2.0-PuTTY_Release_0.81\r\n",
		       b"SSH-2.0-paramiko_3.4.0\r\n")

	def __init__(self, rnd):
		ga = self.ga = _gen_apps()
		self.rnd = rnd
		self.blob = pattern(rnd, 1 << 16)
		rb = self.rbytes
		self._ch, self._qch, self._sip = {}, {}, {}

		# TLS: the server's first flight (1.3: ServerHello, compatibility
		# CCS, EncryptedExtensions..Finished as one encrypted record; 1.2:
		# ServerHello, ServerHelloDone), the client's second (1.3: CCS,
		# Finished; 1.2: ClientKeyExchange, CCS, Finished) with its first
		# request, and 1.2's server CCS + Finished before the bulk.
		self.tls_srv = {
			True: ga.server_hello(True) + ga.TLS_CCS +
			ga.tls_record(23, rb(2300)),
			False: ga.server_hello(False) + ga.TLS12_SERVER_HELLO_DONE}
		fin = {True: ga.TLS_CCS + ga.tls_record(23, rb(53)),
		       False: ga.tls12_client_key_exchange(rb(32)) + ga.TLS_CCS +
		       ga.tls_record(22, rb(40))}
		self.tls_req = {v: [fin[v] + ga.tls_record(23, rb(rnd.randrange(80, 700)))
				    for _ in range(6)] for v in (True, False)}
		self.tls12_srv_fin = ga.TLS_CCS + ga.tls_record(22, rb(40))

		# HTTP requests, two User-Agents a resource
		self.http_req = {
			port: [ga.http_get(h, p, rnd.choice(self.USER_AGENTS))
			       for h, p in hosts for _ in range(2)]
			for port, hosts in sorted(self.HTTP.items())}

		# SSH: (client KEXINIT, server KEXINIT, ECDH_INIT, ECDH_REPLY +
		# NEWKEYS, client NEWKEYS + its first encrypted packets)
		self.ssh = [(ga.ssh_kexinit(rb(16), "client"),
			     ga.ssh_kexinit(rb(16), "server"),
			     ga.ssh_ecdh_init(rb(32)),
			     ga.ssh_ecdh_reply(rb(32), rb(32), rb(64)) + ga.SSH_NEWKEYS,
			     ga.SSH_NEWKEYS + rb(rnd.randrange(100, 400)))
			    for _ in range(4)]

		self.smb_neg = (ga.smb2_negotiate(), ga.smb2_negotiate_rsp())

		# DNS: A and AAAA of every name, each with its own id and answer
		self.dns = []
		for name in self.DNS_NAMES:
			for qt in (1, 28):
				ident = rnd.randrange(65536)
				if qt == 1:
					ans = bytes([203, 0, 113, rnd.randrange(1, 255)])
				else:
					ans = a6("2001:db8:ff%02x::%x" % (rnd.randrange(256),
									rnd.randrange(1, 65536)))
				self.dns.append((dns_msg(rnd, name, qt, ident=ident),
						 dns_msg(rnd, name, qt, ans, ident)))

		# NTP: client polls (mode 3) and answers (mode 4), times about T0
		ntp0 = T0 + 2208988800		# 1900 epoch
		self.ntp = []
		for j in range(16):
			sent = ntp0 + j * 64 + rnd.random()
			self.ntp.append(ga.ntp_pair(sent, ntp0 - 1024 + j, sent + 0.0113,
						    sent + 0.0114))

		# QUIC: ServerHello for the server's Initial, and 1-RTT packets
		# the server sends (short header, empty DCID: the client's SCID)
		self.quic_sh = ga.server_hello(True)[5:]
		self.quic_srv_1rtt = [bytes([0x40 | rnd.getrandbits(6)]) +
				      rb(rnd.randrange(900, 1250)) for _ in range(8)]

	def rbytes(self, n):
		"""n random-looking bytes: the blob from a random offset on (and
		round again for a long answer)."""
		b = self.blob
		o = self.rnd.randrange(len(b))
		if o + n <= len(b):
			return b[o:o + n]
		return (b[o:] + b * (n // len(b) + 1))[:n]

	def bulk_len(self, per_flow, overhead):
		"""Bytes of a bulk answer: k full segments with k around
		(per_flow - overhead) * 2/3, as the data segments come with an
		ACK every second one; overhead is the flow's other frames."""
		k_avg = max(1, (per_flow - overhead) * 2 // 3)
		return self.rnd.randrange(1, 2 * k_avg) * 1448 - self.rnd.randrange(700)

	def client_hello(self, sni, tls13):
		k = (sni, tls13)
		if k not in self._ch:
			self._ch[k] = self.ga.client_hello(sni, tls13)
		return self._ch[k]

	def tcp_exchanges(self, port, per_flow, unknown):
		"""[(request, response)] of one TCP connection to `port`."""
		rnd, ga = self.rnd, self.ga
		if port == 443:
			v13 = rnd.random() < 0.7
			ch = self.client_hello(rnd.choice(self.SNIS), v13)
			n = self.bulk_len(per_flow, 13 if v13 else 11)
			bulk = ga.tls_app_data(self.rbytes(n - 5 * (n // 16389 + 1)))
			if not v13:
				bulk = self.tls12_srv_fin + bulk
			return [(ch, self.tls_srv[v13]),
				(rnd.choice(self.tls_req[v13]), bulk)]
		if port in (80, 8080):
			req = rnd.choice(self.http_req[port])
			n = self.bulk_len(per_flow, 8)
			extra = "Server: %s\r\n" % rnd.choice(self.HTTP_SERVERS)
			ctype = "application/octet-stream"
			n = max(0, n - len(ga.http_ok_head(n, ctype, extra)))
			return [(req, ga.http_ok_head(n, ctype, extra) + self.rbytes(n))]
		if port == 22:
			# banners in segments of their own (nDPI reads each whole
			# segment as the banner), then the key exchange
			ckex, skex, init, reply, creq = rnd.choice(self.ssh)
			return [(rnd.choice(self.SSH_CLIENTS), rnd.choice(self.SSH_SERVERS)),
				(ckex, skex), (init, reply),
				(creq, self.rbytes(self.bulk_len(per_flow, 17)))]
		if port == 445:
			# NEGOTIATE, then one READ (session setup and tree connect,
			# message ids 1..4, left out); 84: NetBIOS, SMB2 and READ
			# response headers
			n = self.bulk_len(per_flow, 11) - 84
			sess, tree = rnd.getrandbits(64), rnd.randrange(1, 1 << 16)
			read = ga.smb2_read(n, rnd.randrange(1 << 16) * 65536,
					    self.rbytes(16), 5, tree, sess)
			return [self.smb_neg,
				(read, ga.smb2_read_rsp_head(n, 5, tree, sess) +
				 self.rbytes(n))]
		# unknown: random bytes both ways
		return [(unknown, self.rbytes(self.bulk_len(per_flow, 8)))]

	def udp_pairs(self, port, n, unknown):
		"""n (request, response) datagrams of one UDP flow to `port`."""
		rnd = self.rnd
		if port == 53:
			return [rnd.choice(self.dns) for _ in range(n)]
		if port == 123:
			j = rnd.randrange(16)
			return [self.ntp[(j + i) % 16] for i in range(n)]
		if port == 443:
			return self.quic(n)
		if port == 5060:
			# a phone's OPTIONS keepalives to its PBX, CSeq 1, 2, ...
			ph = rnd.randrange(16)
			return [self.sip(ph, i + 1) for i in range(n)]
		return [unknown] * n

	def sip(self, phone, cseq):
		k = (phone, cseq)
		if k not in self._sip:
			r = self.rnd
			h = hash_bytes(b"sip%d" % phone).hex()
			self._sip[k] = self.ga.sip_options(
				str(201 + phone), "pbx.example.com",
				"phone-%d.voip.example.com" % (201 + phone), h[:10], h,
				cseq, "%016x" % r.getrandbits(64))
		return self._sip[k]

	def quic(self, n):
		"""Client Initial (ClientHello, SNI) / server Initial (ServerHello)
		+ Handshake, then 1-RTT packets both ways."""
		rnd, ga = self.rnd, self.ga
		sni = rnd.choice(self.QUIC_SNIS)
		if sni not in self._qch:
			self._qch[sni] = ga.quic_client_hello(sni, (b"h3",))
		dcid = rnd.getrandbits(64).to_bytes(8, "big")
		scid = rnd.getrandbits(64).to_bytes(8, "big")	# the server's
		hs_len = rnd.randrange(900, 1100)	# EE, Certificate, CV, Finished
		hs = (bytes([0xe3]) + struct.pack("!I", 1) + b"\0" + bytes([8]) +
		      scid + struct.pack("!H", 0x4000 | hs_len) + self.rbytes(hs_len))
		first = (ga.quic_initial(sni, dcid, b"", self._qch[sni]),
			 ga.quic_server_initial(dcid, b"", scid, self.quic_sh) + hs)
		c1rtt = bytes([0x40 | rnd.getrandbits(6)]) + scid + \
			self.rbytes(rnd.randrange(30, 120))
		return [first] + [(c1rtt, rnd.choice(self.quic_srv_1rtt))
				  for _ in range(n - 1)]


def bench_flows(rnd, n_flows, n_packets, duration, v6_share, big):
	"""Flows for the mixed and big profiles: addresses from the flow index
	so that no two flows share a key.  mixed: each flow's payloads are
	made when it starts (MixedApps), so memory holds only those in
	progress."""
	per_flow = max(2, n_packets // max(1, n_flows))
	pay = [pattern(rnd, n) for n in (0, 64, 200, 512, 1000, 1448)]
	apps = None if big else MixedApps(rnd)
	jobs = []
	vlans = [0, 10, 20, 30]
	for i in range(n_flows):
		v6 = rnd.random() < v6_share
		vlan = vlans[i % 4]
		enc = Encap([(TPID_Q, vlan)]) if vlan else Encap()
		cl = i % 4093
		if v6:
			c = a6("2001:db8:a:%x::%x" % (vlan, cl + 1))
			s = a6("2001:db8:ff%02x::%x" % (i % 251, (i // 251) % 65521 + 1))
		else:
			c = bytes([10, vlan, (cl >> 8) & 0xFF, cl & 0xFF])
			s = bytes([203, 0, 113, 1 + i % 250]) if i & 1 else \
				bytes([198, 51, 100, 1 + i % 250])
		cport = 1024 + (i // 4093) % 64000
		legs = [Leg(enc, mac_of(c[-4:]), ROUTER_MAC, c, s, cport)]
		r = rnd.random()
		t = T0 + rnd.uniform(0, duration * (0.9 if big else 0.8))
		if big:
			if r < 0.6:
				ctx = Ctx(rnd, legs, 443, v6)
				jobs.append((t, lambda t, ctx=ctx: tcp_session(
					ctx, t, [], rtt=0.01, think=0.01)))
			else:
				ctx = Ctx(rnd, legs, 53, v6)
				q = pay[1]
				jobs.append((t, lambda t, ctx=ctx, q=q: udp_exchange(
					ctx, t, [(q, q)])))
			continue
		# TCP 72% (3.5 points of it random bytes), UDP 23% (1.5 points
		# random), ICMP 5%
		if r < 0.72:
			port = rnd.choice(UNKNOWN_TCP if r < 0.035 else MIXED_TCP)
			ctx = Ctx(rnd, legs, port, v6)
			jobs.append((t, lambda t, ctx=ctx, port=port: tcp_session(
				ctx, t, apps.tcp_exchanges(port, per_flow, pay[3]),
				rtt=0.005, think=0.05)))
		elif r < 0.95:
			port = rnd.choice(UNKNOWN_UDP if r >= 0.935 else MIXED_UDP)
			ctx = Ctx(rnd, legs, port, v6)
			n = max(1, per_flow // 2 + rnd.randrange(-3, 4))
			jobs.append((t, lambda t, ctx=ctx, port=port, n=n: udp_exchange(
				ctx, t, apps.udp_pairs(port, n, (pay[1], pay[2])),
				gap=0.2)))
		else:
			ctx = Ctx(rnd, legs, 0, v6)
			jobs.append((t, lambda t, ctx=ctx: icmp_pings(ctx, t, 3)))
	return jobs

# ---------------------------------------------------------------- writer


def write_pcap(path, jobs):
	"""Merge every flow's frames in time order into a pcap (LINKTYPE_ETHERNET,
	microsecond timestamps).  Flows are started lazily so that memory holds
	only the flows in progress."""
	jobs.sort(key=lambda j: j[0])
	heap = []
	seq = 0
	n = 0
	nbytes = 0
	ji = 0
	with open(path, "wb") as f:
		f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
		buf = []
		while ji < len(jobs) or heap:
			while ji < len(jobs) and (not heap or jobs[ji][0] <= heap[0][0]):
				start, fn = jobs[ji]
				ji += 1
				for ts, fr in fn(start):
					heapq.heappush(heap, (ts, seq, fr))
					seq += 1
			ts, _, fr = heapq.heappop(heap)
			us = int(round(ts * 1e6))
			buf.append(struct.pack("<IIII", us // 1000000, us % 1000000,
					       len(fr), len(fr)))
			buf.append(fr)
			n += 1
			nbytes += len(fr)
			if len(buf) >= 8192:
				f.write(b"".join(buf))
				buf = []
		f.write(b"".join(buf))
	return n, nbytes

# ---------------------------------------------------------------- selftest


def selftest():
	"""Our hand packing against scapy's encoders, byte for byte."""
	from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, ICMP,
			       ICMPv6EchoRequest, IPv6ExtHdrHopByHop,
			       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, RouterAlert,
			       PadN, PPPoE, ARP, Raw)
	from scapy.contrib.mpls import MPLS
	rnd = random.Random(1)
	c, s = a4("10.0.10.11"), a4("203.0.113.7")
	c6, s6 = a6("2001:db8:a:10::101"), a6("2001:db8:ff01::2")
	cm, sm = mac_of(c), mac_of(s)
	pl = pattern(rnd, 101)
	fails = 0

	def check(name, mine, ref):
		nonlocal fails
		ref = bytes(ref)
		if len(ref) < 60:
			ref += bytes(60 - len(ref))
		if mine != ref:
			fails += 1
			print("selftest %s: MISMATCH\n mine %s\n ref  %s" % (
				name, mine.hex(), ref.hex()), file=sys.stderr)
		else:
			print("selftest %s: ok (%d bytes)" % (name, len(mine)))

	E = lambda: Ether(dst=sm, src=cm)
	check("vlan/ipv4/tcp",
	      l2(sm, cm, Encap([(TPID_Q, 10)]), False,
		 ipv4(c, s, 6, tcp(c, s, 40000, 443, 1000, 2000, TCP_PSH | TCP_ACK, pl),
		      77, df=True)),
	      E() / Dot1Q(vlan=10) / IP(src="10.0.10.11", dst="203.0.113.7", id=77,
					flags="DF") /
	      TCP(sport=40000, dport=443, seq=1000, ack=2000, flags="PA",
		  window=64240) / Raw(pl))
	check("qinq/ipv4/udp",
	      l2(sm, cm, Encap([(TPID_AD, 1000), (TPID_Q, 10)]), False,
		 ipv4(c, s, 17, udp(c, s, 5353, 53, pl), 9)),
	      E() / Dot1AD(vlan=1000) / Dot1Q(vlan=10) /
	      IP(src="10.0.10.11", dst="203.0.113.7", id=9) /
	      UDP(sport=5353, dport=53) / Raw(pl))
	check("mpls/ipv4/icmp",
	      l2(sm, cm, Encap(mpls=[100, 200]), False,
		 ipv4(c, s, 1, icmp_echo(8, 5, 1, pl), 3)),
	      E() / MPLS(label=100, s=0, ttl=64) / MPLS(label=200, s=1, ttl=64) /
	      IP(src="10.0.10.11", dst="203.0.113.7", id=3) /
	      ICMP(type=8, id=5, seq=1) / Raw(pl))
	check("pppoe/ipv4/tcp",
	      l2(sm, cm, Encap(pppoe=0x1234), False,
		 ipv4(c, s, 6, tcp(c, s, 1, 2, 3, 0, TCP_SYN), 4)),
	      # scapy's PPP() packs 0x0021 in one byte (PFC), which RFC 2516
	      # forbids in PPPoE: spell the two-byte protocol out.
	      E() / PPPoE(sessionid=0x1234) / Raw(b"\x00\x21") /
	      IP(src="10.0.10.11", dst="203.0.113.7", id=4) /
	      TCP(sport=1, dport=2, seq=3, ack=0, flags="S", window=64240))
	frag = ipv4(c, s, 17, pl[:48], 42, mf=True, frag_off=0)
	check("ipv4 first fragment",
	      l2(sm, cm, Encap(), False, frag),
	      E() / IP(src="10.0.10.11", dst="203.0.113.7", id=42, flags="MF",
		       frag=0, proto=17) / Raw(pl[:48]))
	check("ipv4 later fragment",
	      l2(sm, cm, Encap(), False, ipv4(c, s, 17, pl[:40], 42, frag_off=1480)),
	      E() / IP(src="10.0.10.11", dst="203.0.113.7", id=42, frag=185,
		       proto=17) / Raw(pl[:40]))
	ex = V6Exts([0, 60])
	check("ipv6 hbh+dst/tcp",
	      l2(sm, cm, Encap([(TPID_Q, 10)]), True,
		 ipv6(c6, s6, 0, ex(tcp(c6, s6, 40000, 443, 7, 0, TCP_SYN), 6))),
	      E() / Dot1Q(vlan=10) /
	      IPv6(src="2001:db8:a:10::101", dst="2001:db8:ff01::2") /
	      IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")]) /
	      IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0"), PadN(optdata=b"")]) /
	      TCP(sport=40000, dport=443, seq=7, flags="S", window=64240))
	check("ipv6/icmpv6 echo",
	      l2(sm, cm, Encap(), True,
		 ipv6(c6, s6, 58, icmp_echo(128, 9, 2, pl, c6, s6))),
	      E() / IPv6(src="2001:db8:a:10::101", dst="2001:db8:ff01::2") /
	      ICMPv6EchoRequest(id=9, seq=2, data=pl))
	u6 = udp(c6, s6, 1000, 5140, pl)
	fh = struct.pack("!BBHI", 17, 0, 0 | 1, 0xABCD)
	check("ipv6 fragment header",
	      l2(sm, cm, Encap(), True, ipv6(c6, s6, 44, fh + u6[:48])),
	      E() / IPv6(src="2001:db8:a:10::101", dst="2001:db8:ff01::2") /
	      IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0xABCD) / Raw(u6[:48]))
	check("arp",
	      arp_frame(cm, c, a4("10.0.10.1")),
	      Ether(dst="ff:ff:ff:ff:ff:ff", src=cm) /
	      ARP(op=1, hwsrc=cm, psrc="10.0.10.11", hwdst="00:00:00:00:00:00",
		  pdst="10.0.10.1"))
	return fails


PROFILES = {
	"office": dict(packets=1300, flows=100),
	"mixed": dict(packets=1000000, flows=50000),
	"big": dict(packets=800000, flows=200000),
}


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--out")
	ap.add_argument("--profile", choices=sorted(PROFILES), default="office")
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--packets", type=int, help="approximate packet count")
	ap.add_argument("--flows", type=int, help="approximate flow count")
	ap.add_argument("--duration", type=float, default=60.0,
			help="seconds of capture (default 60)")
	ap.add_argument("--selftest", action="store_true",
			help="compare the frame packing with scapy and exit")
	args = ap.parse_args()
	if args.selftest:
		sys.exit(1 if selftest() else 0)
	if not args.out:
		ap.error("--out is required")
	d = PROFILES[args.profile]
	packets = args.packets or d["packets"]
	flows = args.flows or d["flows"]
	rnd = random.Random(args.seed)
	t = time.time()
	if args.profile == "office":
		# ~15 frames per job on average: scale the job count to --packets
		n = max(40, int(flows * packets / (d["packets"])) if args.packets
			and not args.flows else flows)
		jobs = office_flows(rnd, n, args.duration)
	else:
		jobs = bench_flows(rnd, flows, packets, args.duration, 0.10,
				   args.profile == "big")
	n, nbytes = write_pcap(args.out, jobs)
	print("gen_traffic: %s: %d frames, %d bytes of frames, %d jobs, %.1f s"
	      % (args.out, n, nbytes, len(jobs), time.time() - t), file=sys.stderr)


if __name__ == "__main__":
	main()
