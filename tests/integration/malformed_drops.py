#!/usr/bin/python3
"""malformed_drops.py -- issue 2: "malformed packets are counted per reason",
end to end.

A capture is built here (scapy writes it; the malformed frames are raw
bytes, each decoded by hand below) holding, besides 5 well-formed UDP
frames and 2 ARP frames (non_ip), a known number of frames of each kind
the parser must refuse (engine/parse/parser.c, include/weir/pkt.h).
`weir -r` reads it through the pcap vdev into a redis-server of the test;
then every drop_REASON of `weirctl status --json` must equal the count
built into the file, every other drop_* must be 0, parse_drops their sum,
non_ip 2, and the hosts the 5 good frames only.

Every process started dies with the test; every wait is bounded.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import weirtest  # noqa: E402
from weirtest import check  # noqa: E402

DST_MAC = bytes.fromhex("020000000002")
SRC_MAC = bytes.fromhex("020000000001")


def eth(ethertype, payload):
	"""dst 02:00:00:00:00:02, src 02:00:00:00:00:01, the EtherType."""
	return DST_MAC + SRC_MAC + struct.pack("!H", ethertype) + payload


def ipv4(first, total, proto, flags_frag=0):
	"""A 20-byte IPv4 header: first byte (version << 4 | IHL) as given,
	TOS 0, total length, id 1, flags/fragment offset, TTL 64, protocol,
	checksum 0 (the parser checks none), 192.0.2.1 -> 192.0.2.2."""
	return struct.pack("!BBHHHBBH4s4s", first, 0, total, 1, flags_frag, 64, proto, 0,
			   bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))


def ipv6(first, plen, nh):
	"""A 40-byte IPv6 header: first byte (version << 4, traffic class 0),
	payload length, next header, hop limit 64, 2001:db8::1 -> 2001:db8::2."""
	src = bytes.fromhex("20010db8000000000000000000000001")
	dst = bytes.fromhex("20010db8000000000000000000000002")
	return struct.pack("!BBHHBB", first, 0, 0, plen, nh, 64) + src + dst


def frames():
	"""(reason, count, frame bytes) for each malformed kind."""
	out = []
	# bad_ipv4_version: first byte 0x55 is version 5, IHL 5; total 28
	out.append(("bad_ipv4_version", 3, eth(0x0800, ipv4(0x55, 28, 17) + bytes(8))))
	# bad_ipv4_ihl: 0x44 is version 4, IHL 4 (16 bytes, below 20)
	out.append(("bad_ipv4_ihl", 2, eth(0x0800, ipv4(0x44, 28, 17) + bytes(8))))
	# bad_ipv4_total_length: 0x45 and total length 10, below the 20 of
	# the header itself
	out.append(("bad_ipv4_total_length", 4, eth(0x0800, ipv4(0x45, 10, 17) + bytes(8))))
	# short_ipv4: EtherType IPv4 but 12 bytes after the Ethernet header
	out.append(("short_ipv4", 1, eth(0x0800, ipv4(0x45, 28, 17)[:12])))
	# short_tcp: total length 30 = 20 of IP + 10 of TCP, not a fragment
	# (flags/offset 0): a TCP header needs 20
	out.append(("short_tcp", 5, eth(0x0800, ipv4(0x45, 30, 6) + bytes.fromhex("c0000050" "00000001" "0000"))))
	# bad_tcp_data_offset: 20 bytes of TCP whose data offset nibble is 4
	# (byte 12 = 0x40: 16 bytes, below the 20 of the fixed header)
	tcp = struct.pack("!HHIIBBHHH", 49152, 80, 1, 0, 0x40, 0x02, 8192, 0, 0)
	out.append(("bad_tcp_data_offset", 2, eth(0x0800, ipv4(0x45, 40, 6) + tcp)))
	# short_udp: total length 24: 4 bytes of UDP (ports only), 8 needed
	out.append(("short_udp", 3, eth(0x0800, ipv4(0x45, 24, 17) + bytes.fromhex("c0000035"))))
	# short_icmp: total length 24: 4 bytes of ICMP, 8 needed
	out.append(("short_icmp", 1, eth(0x0800, ipv4(0x45, 24, 1) + bytes.fromhex("08000000"))))
	# short_ipv6: EtherType IPv6 but 20 bytes, the header is 40
	out.append(("short_ipv6", 2, eth(0x86dd, ipv6(0x60, 8, 17)[:20])))
	# bad_ipv6_version: 40 bytes under EtherType IPv6, first nibble 4
	out.append(("bad_ipv6_version", 1, eth(0x86dd, ipv6(0x40, 0, 59))))
	# bad_ipv6_exthdr (a truncated extension header): next header 0
	# (hop-by-hop), payload length 4, and 4 bytes 11 00 00 00: its length
	# byte 0 says (0 + 1) * 8 = 8 bytes, only 4 are there
	out.append(("bad_ipv6_exthdr", 2, eth(0x86dd, ipv6(0x60, 4, 0) + bytes.fromhex("11000000"))))
	# too_many_ipv6_exthdrs: nine destination-options headers (next 60,
	# length 0 = 8 bytes, a PadN option 01 04 00000000), the last with
	# next header 17, then 8 bytes of UDP: the parser follows 8
	chain = b""
	for k in range(9):
		chain += bytes([60 if k < 8 else 17, 0, 1, 4, 0, 0, 0, 0])
	udp = struct.pack("!HHHH", 5353, 5353, 8, 0)
	out.append(("too_many_ipv6_exthdrs", 1, eth(0x86dd, ipv6(0x60, len(chain) + 8, 60) + chain + udp)))
	# short_vlan: EtherType 802.1Q and 2 bytes of the 4-byte tag
	out.append(("short_vlan", 1, eth(0x8100, bytes.fromhex("001e"))))
	# short_sctp: total length 24: 4 bytes of SCTP, its common header is 12
	out.append(("short_sctp", 2, eth(0x0800, ipv4(0x45, 24, 132) + bytes.fromhex("0b590b59"))))
	# short_mpls: EtherType MPLS unicast (0x8847) and 2 bytes of a 4-byte
	# label stack entry
	out.append(("short_mpls", 1, eth(0x8847, bytes.fromhex("0001"))))
	# bad_pppoe: EtherType PPPoE session (0x8864), 8 bytes whose first is
	# 0x12 (version 1, type 2: only 0x11 is PPPoE)
	out.append(("bad_pppoe", 1, eth(0x8864, bytes.fromhex("1200000100040021"))))
	# short_pppoe: 0x8864 and 4 bytes (6 at least are needed)
	out.append(("short_pppoe", 1, eth(0x8864, bytes.fromhex("11000001"))))
	# short_ethernet: a 10-byte frame, no room for the 14-byte header
	out.append(("short_ethernet", 1, DST_MAC + SRC_MAC[:4]))
	return out


def build(path):
	from scapy.all import ARP, IP, UDP, Ether, Raw  # python3-scapy
	from scapy.utils import RawPcapWriter

	w = RawPcapWriter(path, linktype=1, sync=True)	# Ethernet, bytes as given
	w.write_header(None)
	good = bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01") /
		     IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=40000, dport=53) /
		     Raw(b"x" * 18))
	arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01") /
		    ARP(psrc="192.0.2.1", pdst="192.0.2.2"))
	seq = [good] * 5 + [arp] * 2
	want = {}
	for reason, count, raw in frames():
		want[reason] = want.get(reason, 0) + count
		seq += [raw] * count
	for n, raw in enumerate(seq):	# a millisecond apart from 1700000000
		w.write_packet(raw, sec=1700000000, usec=n * 1000)
	w.close()
	return want, len(seq), len(good)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--weir", required=True)
	ap.add_argument("--weirctl", required=True)
	a = ap.parse_args()
	weirtest.need_root()
	tmp = tempfile.mkdtemp(prefix="weir-malformed-")
	try:
		pcap = os.path.join(tmp, "malformed.pcap")
		want, total, good_len = build(pcap)
		print("capture: %d frames, %d malformed of %d kinds" % (total, sum(want.values()), len(want)))
		if shutil.which("tshark"):	# the file holds what we meant it to
			r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.len"],
					   capture_output=True, text=True, timeout=60)
			check(len(r.stdout.split()) == total, "tshark reads %d frames back" % total,
			      r.stderr[-500:])
		redis = weirtest.Redis()
		weirtest.run_weir(a.weir, ["-r", pcap, "--redis", redis.url, "--node", "bad", "-w", "1",
					   "--flow-table-size", "65536", "--eal-mem", "256"])
		st = weirtest.weirctl_json(a.weirctl, redis.url, "status", node="bad")
		h = st.get("health", {})
		drops = {k[5:]: int(v) for k, v in h.items() if k.startswith("drop_")}
		for reason, n in sorted(want.items()):
			check(drops.get(reason) == n, "drop_%s = %d" % (reason, n), drops.get(reason))
		others = {k: v for k, v in drops.items() if k not in want and v}
		check(not others, "every other drop_* is 0", others)
		check(int(h.get("parse_drops", -1)) == sum(want.values()),
		      "parse_drops = %d, the sum" % sum(want.values()), h.get("parse_drops"))
		check(int(h.get("non_ip", -1)) == 2, "non_ip = 2 (the ARP frames)", h.get("non_ip"))
		hosts = weirtest.weirctl_json(a.weirctl, redis.url, "hosts", node="bad")
		got = {x["id"]: (x["bytes_sent"], x["pkts_sent"], x["bytes_rcvd"], x["pkts_rcvd"])
		       for x in hosts}
		check(got == {"192.0.2.1@0": (5 * good_len, 5, 0, 0),
			      "192.0.2.2@0": (0, 0, 5 * good_len, 5)},
		      "hosts: the 5 good frames only (%d bytes each)" % good_len, got)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	if weirtest.FAILS:
		print("%d checks failed" % len(weirtest.FAILS))
		return 1
	print("all malformed-packet checks passed")
	return 0


if __name__ == "__main__":
	sys.exit(main())
