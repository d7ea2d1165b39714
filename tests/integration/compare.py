#!/usr/bin/python3
"""compare.py -- the engine's answers against tshark's, integer for integer.

An integration test replays a capture through `weir`, dumps what the engine
published with `weirctl --json hosts|flows|vlans|subnets`, and hands those
files with truth.py's output to this script.  Every number must be equal:
a mismatch is printed (the first 20 of each kind, then a count) and the exit
status is 1.  A part whose file is not given is skipped.

Usage:
  compare.py --truth truth.json [--hosts hosts.json] [--flows flows.json]
	     [--vlans vlans.json] [--subnets subnets.json]

Each engine file is a JSON array of objects (a top-level object holding one
such array, e.g. {"hosts": [...]}, is accepted too).  Numbers may be JSON
numbers or decimal strings (Redis hashes hold strings).  Addresses are
compared in canonical form (ipaddress), so "2001:db8::1" equals
"2001:0db8::0001" and a v4-mapped "::ffff:10.0.0.1" equals "10.0.0.1".
"""

import argparse
import ipaddress
import json
import sys

MAX_SHOWN = 20


def canon_ip(a):
	try:
		ip = ipaddress.ip_address(str(a).strip())
	except ValueError:
		return str(a)
	if ip.version == 6 and ip.ipv4_mapped is not None:
		ip = ip.ipv4_mapped
	return str(ip)


def num(v, what):
	if isinstance(v, bool):
		raise ValueError("%s: boolean where a number was expected" % what)
	if isinstance(v, int):
		return v
	if isinstance(v, float) and v.is_integer():
		return int(v)
	if isinstance(v, str) and v.strip().lstrip("-").isdigit():
		return int(v.strip())
	raise ValueError("%s: %r is not an integer" % (what, v))


def load_list(path, key):
	with open(path) as f:
		data = json.load(f)
	if isinstance(data, dict):
		if key in data and isinstance(data[key], list):
			data = data[key]
		else:
			lists = [v for v in data.values() if isinstance(v, list)]
			if len(lists) != 1:
				raise ValueError("%s: expected a JSON array (or an object"
						 " with a '%s' array)" % (path, key))
			data = lists[0]
	if not isinstance(data, list):
		raise ValueError("%s: expected a JSON array" % path)
	return data


class Report:
	def __init__(self):
		self.by_part = {}

	def add(self, part, msg):
		self.by_part.setdefault(part, []).append(msg)

	def total(self):
		return sum(len(v) for v in self.by_part.values())

	def show(self):
		for part, msgs in self.by_part.items():
			for m in msgs[:MAX_SHOWN]:
				print("MISMATCH %s: %s" % (part, m))
			if len(msgs) > MAX_SHOWN:
				print("MISMATCH %s: ... and %d more" % (
					part, len(msgs) - MAX_SHOWN))
			print("%s: %d mismatch(es)" % (part, len(msgs)))


def compare_table(rep, part, truth_rows, engine_rows, keyfn, cols,
		  optional=()):
	"""Index both sides by keyfn and compare cols exactly; the optional
	cols only when the engine's row has them."""
	t_idx = {}
	for r in truth_rows:
		t_idx[keyfn(r)] = r
	e_idx = {}
	for r in engine_rows:
		try:
			k = keyfn(r)
		except (KeyError, ValueError) as e:
			rep.add(part, "engine row without a usable key (%s): %s" % (e, r))
			continue
		if k in e_idx:
			rep.add(part, "engine lists %s twice" % (k,))
			continue
		e_idx[k] = r
	for k in sorted(t_idx, key=str):
		t = t_idx[k]
		e = e_idx.get(k)
		if e is None:
			rep.add(part, "%s missing from the engine (truth %s)" % (
				k, {c: t[c] for c in cols}))
			continue
		diffs = []
		for c in tuple(cols) + tuple(c for c in optional if c in e):
			try:
				ev = num(e.get(c), c) if c in e else None
			except ValueError as err:
				diffs.append(str(err))
				continue
			if ev != t[c]:
				diffs.append("%s engine %s truth %d" % (c, ev, t[c]))
		if diffs:
			rep.add(part, "%s: %s" % (k, "; ".join(diffs)))
	for k in sorted(set(e_idx) - set(t_idx), key=str):
		rep.add(part, "%s reported by the engine but not in the truth: %s"
			% (k, {c: e_idx[k].get(c) for c in cols}))
	return len(t_idx)


def flow_key(r):
	return (num(r["vlan"], "vlan"), num(r["proto"], "proto"),
		canon_ip(r["src"]), num(r["sport"], "sport"),
		canon_ip(r["dst"]), num(r["dport"], "dport"))


def compare_flows(rep, truth_rows, engine_rows):
	"""Flows are matched by their directed key (initiator first).  An engine
	flow found only under the reversed key means the engine chose the
	other end as initiator: reported as such, not as missing + extra."""
	cols = ("bytes", "pkts", "bytes_fwd", "pkts_fwd", "bytes_rev", "pkts_rev")
	t_idx = {flow_key(r): r for r in truth_rows}
	rev_of = {}
	e_rows = []
	for r in engine_rows:
		try:
			k = flow_key(r)
		except (KeyError, ValueError) as e:
			rep.add("flows", "engine flow without a usable key (%s): %s"
				% (e, r))
			continue
		if k not in t_idx:
			rk = (k[0], k[1], k[4], k[5], k[2], k[3])
			if rk in t_idx:
				rep.add("flows", "%s: engine took %s:%d as the initiator,"
					" truth %s:%d (the first frame's source)" % (
						rk, k[2], k[3], rk[2], rk[3]))
				rev_of[rk] = True
				continue
		e_rows.append(r)
	truth_rest = [r for r in truth_rows if flow_key(r) not in rev_of]
	return compare_table(rep, "flows", truth_rest, e_rows, flow_key, cols)


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--truth", required=True)
	ap.add_argument("--hosts")
	ap.add_argument("--flows")
	ap.add_argument("--vlans")
	ap.add_argument("--subnets")
	args = ap.parse_args()
	with open(args.truth) as f:
		truth = json.load(f)
	rep = Report()
	checked = []
	try:
		if args.hosts:
			n = compare_table(
				rep, "hosts", truth["hosts"], load_list(args.hosts, "hosts"),
				lambda r: (canon_ip(r["ip"]), num(r["vlan"], "vlan")),
				("bytes_sent", "bytes_rcvd", "pkts_sent", "pkts_rcvd",
				 "flows"))
			checked.append("hosts %d" % n)
		if args.flows:
			n = compare_flows(rep, truth["flows"],
					  load_list(args.flows, "flows"))
			checked.append("flows %d" % n)
		if args.vlans:
			n = compare_table(
				rep, "vlans", truth["vlans"], load_list(args.vlans, "vlans"),
				lambda r: num(r["vlan"], "vlan"), ("bytes", "pkts", "flows"),
				("hosts",))
			checked.append("vlans %d" % n)
		if args.subnets:
			n = compare_table(
				rep, "subnets", truth["subnets"],
				load_list(args.subnets, "subnets"),
				lambda r: (str(r["src"]), str(r["dst"])),
				("bytes", "pkts", "flows"),
				("bytes_fwd", "pkts_fwd", "bytes_rev", "pkts_rev"))
			checked.append("subnets %d" % n)
	except (OSError, ValueError, KeyError) as e:
		print("compare.py: %s" % e, file=sys.stderr)
		return 2
	if not checked:
		print("compare.py: nothing to compare (give --hosts, --flows,"
		      " --vlans or --subnets)", file=sys.stderr)
		return 2
	rep.show()
	total = rep.total()
	print("compare.py: %s: %s" % ("FAIL, %d mismatch(es)" % total if total
				       else "all equal", ", ".join(checked)))
	return 1 if total else 0


if __name__ == "__main__":
	sys.exit(main())
