#!/usr/bin/python3
# gen_frames.py -- the frames that parse_tshark checks our parser on.
#
# Builds a few hundred varied Ethernet frames with scapy (a tool we did not
# write) from a fixed seed, so every run writes the same pcap: plain and
# tagged (802.1Q, 802.1ad QinQ, 0x9100 QinQ), MPLS stacks of 1-3 labels,
# PPPoE sessions, IPv4 with options and fragments, IPv6 with extension
# headers (hop-by-hop, routing, destination options, AH, mobility,
# fragment), TCP/UDP/ICMP/ICMPv6/SCTP, GRE (plain, checksum/key/sequence,
# transparent Ethernet bridging, over IPv6) and VXLAN, plus a few non-IP
# frames and short frames with Ethernet padding.
#
#   gen_frames.py OUT.pcap            the cross-check capture
#   gen_frames.py --corpus DIR        one raw frame per file: fuzz seeds
import random
import sys

from scapy.all import (ARP, GRE, ICMP, IP, SCTP, TCP, UDP, Dot1AD, Dot1Q,
                       Ether, ICMPv6EchoReply, ICMPv6EchoRequest,
                       ICMPv6ND_NS, IPOption_NOP, IPOption_RR, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, MIP6MH_BU,
                       PPP, PPPoE, Padding, Raw, SCTPChunkData, fragment,
                       wrpcap)
from scapy.contrib.mpls import MPLS
from scapy.layers.ipsec import AH
from scapy.layers.vxlan import VXLAN

rnd = random.Random(20240611)


def mac():
    return "02:%02x:%02x:%02x:%02x:%02x" % tuple(rnd.randrange(256) for _ in range(5))


def v4():
    return "%d.%d.%d.%d" % (rnd.randrange(1, 224), rnd.randrange(256),
                            rnd.randrange(256), rnd.randrange(1, 255))


def v6():
    return "2001:db8:%x:%x::%x" % (rnd.randrange(65536), rnd.randrange(65536),
                                    rnd.randrange(1, 65536))


def port():
    return rnd.randrange(1, 65536)


def payload(lo=0, hi=64):
    return Raw(bytes(rnd.randrange(256) for _ in range(rnd.randrange(lo, hi + 1))))


def l4(v6fam):
    """A random transport header with payload."""
    k = rnd.randrange(5)
    if k == 0:
        return TCP(sport=port(), dport=port(), flags=rnd.randrange(256),
                   seq=rnd.randrange(1 << 32)) / payload()
    if k == 1:
        return TCP(sport=port(), dport=port(), flags="PA",
                   options=[("MSS", 1460), ("NOP", None), ("WScale", 7)]) / payload()
    if k == 2:
        while True:
            d = port()
            if d != 4789:
                break
        return UDP(sport=port(), dport=d) / payload()
    if k == 3:
        if v6fam:
            return (ICMPv6EchoRequest if rnd.randrange(2) else ICMPv6EchoReply)(
                id=port(), seq=rnd.randrange(100)) / payload(0, 16)
        return ICMP(type=rnd.choice([0, 8, 13]), code=0,
                    ts_ori=1000, ts_rx=2000, ts_tx=3000) / payload(0, 16)
    return SCTP(sport=port(), dport=port()) / SCTPChunkData(data=b"x" * rnd.randrange(1, 20))


def ip_pkt(v6fam=None):
    if v6fam is None:
        v6fam = rnd.randrange(2) == 1
    if v6fam:
        return IPv6(src=v6(), dst=v6()) / l4(True)
    return IP(src=v4(), dst=v4(), id=rnd.randrange(65536)) / l4(False)


def eth(inner):
    return Ether(src=mac(), dst=mac()) / inner


def frames():
    out = []
    # plain IPv4 / IPv6, every transport
    for _ in range(40):
        out.append(eth(ip_pkt()))
    # IPv4 options
    for _ in range(10):
        opts = rnd.choice([[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()],
                           [IPOption_RR(routers=[v4(), v4()])],
                           [IPOption_RR(routers=[v4()] * rnd.randrange(1, 9))]])
        out.append(eth(IP(src=v4(), dst=v4(), options=opts) / l4(False)))
    # 802.1Q, 802.1ad + 802.1Q, 0x9100 + 802.1Q
    for _ in range(12):
        out.append(Ether(src=mac(), dst=mac()) / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8)) / ip_pkt())
    for _ in range(8):
        out.append(Ether(src=mac(), dst=mac()) / Dot1AD(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8)) /
                   Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8)) / ip_pkt())
    for _ in range(8):
        out.append(Ether(src=mac(), dst=mac(), type=0x9100) / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8)) /
                   Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8)) / ip_pkt())
    # MPLS 1..3 labels, IPv4 and IPv6 underneath, sometimes under a VLAN
    for i in range(15):
        n = 1 + i % 3
        stack = None
        for k in range(n):
            lab = MPLS(label=rnd.randrange(16, 1 << 20), s=1 if k == n - 1 else 0, ttl=64)
            stack = lab if stack is None else stack / lab
        e = Ether(src=mac(), dst=mac())
        if i % 4 == 3:
            e = e / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8))
        out.append(e / stack / ip_pkt())
    # PPPoE session
    for _ in range(10):
        v6fam = rnd.randrange(2) == 1
        out.append(Ether(src=mac(), dst=mac()) / PPPoE(sessionid=port()) /
                   PPP(proto=0x0057 if v6fam else 0x0021) / ip_pkt(v6fam))
    # IPv4 fragments: first and later ones
    for _ in range(6):
        pkt = IP(src=v4(), dst=v4(), id=rnd.randrange(65536)) / UDP(sport=port(), dport=port()) / \
            Raw(b"f" * rnd.randrange(100, 400))
        for fr in fragment(pkt, fragsize=rnd.choice([48, 96, 128])):
            out.append(eth(fr))
    # IPv6 extension headers
    for i in range(24):
        k = i % 8
        if k == 0:
            ext = IPv6ExtHdrHopByHop()
        elif k == 1:
            ext = IPv6ExtHdrRouting(addresses=[v6(), v6()])
        elif k == 2:
            ext = IPv6ExtHdrDestOpt()
        elif k == 3:
            ext = IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=[v6()]) / IPv6ExtHdrDestOpt()
        elif k == 4:
            # scapy leaves next header and length (4-byte units - 2) to its IPsec code
            up = l4(True)
            nh = {TCP: 6, UDP: 17, SCTP: 132}.get(type(up), 58)
            out.append(eth(IPv6(src=v6(), dst=v6()) / IPv6ExtHdrHopByHop() /
                           AH(nh=nh, payloadlen=4, spi=port(), seq=1, icv=b"\x00" * 12) / up))
            continue
        elif k == 5:
            ext = IPv6ExtHdrFragment(offset=0, m=1, id=rnd.randrange(1 << 32))
        elif k == 6:
            ext = IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(offset=rnd.randrange(1, 8000), m=rnd.randrange(2),
                                                           id=rnd.randrange(1 << 32))
        else:
            out.append(eth(IPv6(src=v6(), dst=v6()) / MIP6MH_BU(seq=rnd.randrange(65536))))
            continue
        out.append(eth(IPv6(src=v6(), dst=v6()) / ext / l4(True)))
    out.append(eth(IPv6(src=v6(), dst=v6()) / ICMPv6ND_NS(tgt=v6())))
    # GRE: plain, with checksum/key/sequence, bridging, over and carrying IPv6
    for i in range(16):
        k = i % 4
        if k == 0:
            g = GRE() / ip_pkt()
        elif k == 1:
            g = GRE(chksum_present=1, key_present=1, seqnum_present=1,
                    key=rnd.randrange(1 << 32), seqence_number=rnd.randrange(1 << 32)) / ip_pkt()
        elif k == 2:
            g = GRE(key_present=rnd.randrange(2), key=7, proto=0x6558) / \
                Ether(src=mac(), dst=mac()) / ip_pkt()
        else:
            g = GRE(seqnum_present=1, seqence_number=5) / ip_pkt(True)
        outer = IPv6(src=v6(), dst=v6()) if i % 3 == 2 else IP(src=v4(), dst=v4())
        e = Ether(src=mac(), dst=mac())
        if i % 5 == 1:
            e = e / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8))
        out.append(e / outer / g)
    # VXLAN
    for i in range(14):
        inner = Ether(src=mac(), dst=mac())
        if i % 4 == 1:
            inner = inner / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8))
        outer = IPv6(src=v6(), dst=v6()) if i % 5 == 4 else IP(src=v4(), dst=v4())
        e = Ether(src=mac(), dst=mac())
        if i % 3 == 0:
            e = e / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8))
        out.append(e / outer / UDP(sport=port(), dport=4789) /
                   VXLAN(vni=rnd.randrange(1 << 24)) / inner / ip_pkt())
    # non-IP
    out.append(Ether(src=mac(), dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=v4(), pdst=v4()))
    out.append(Ether(src=mac(), dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"\x02\x07\x04" + b"\x00" * 20))
    out.append(Ether(src=mac(), dst=mac()) / Dot1Q(vlan=9) / ARP(psrc=v4(), pdst=v4()))
    # short frames padded to the 60-byte Ethernet minimum
    for _ in range(8):
        f = eth(IP(src=v4(), dst=v4()) / UDP(sport=port(), dport=port()) / payload(0, 6))
        out.append(f / Padding(b"\x00" * (60 - len(f))) if len(f) < 60 else f)
        f = eth(IP(src=v4(), dst=v4()) / TCP(sport=port(), dport=port(), flags="S"))
        out.append(f / Padding(b"\xaa" * (60 - len(f))) if len(f) < 60 else f)
    # more mixed stacks to reach a few hundred frames
    while len(out) < 300:
        k = rnd.randrange(4)
        if k == 0:
            out.append(Ether(src=mac(), dst=mac()) / Dot1Q(vlan=rnd.randrange(1, 4095), prio=rnd.randrange(8)) / ip_pkt())
        elif k == 1:
            out.append(Ether(src=mac(), dst=mac()) / MPLS(label=rnd.randrange(16, 1 << 20), s=1) / ip_pkt())
        elif k == 2:
            out.append(eth(IP(src=v4(), dst=v4()) / GRE() / ip_pkt()))
        else:
            out.append(eth(ip_pkt()))
    return out


def main():
    fr = frames()
    if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
        import os
        # a spread of stacks, one raw frame per file
        pick = [0, 1, 2, 17, 19, 49, 51, 64, 74, 79, 81, 84, 95, 96, 104,
                106, 126, 127, 128, 129, 130, 149, 150, 152, 153, 164, 165,
                168, 178, 183]
        for i in pick:
            with open(os.path.join(sys.argv[2], "seed%03d.bin" % i), "wb") as f:
                f.write(bytes(fr[i]))
        return 0
    if len(sys.argv) != 2:
        print("usage: gen_frames.py OUT.pcap | --corpus DIR", file=sys.stderr)
        return 2
    for i, f in enumerate(fr):
        f.time = 1700000000 + i / 1000   # fixed timestamps: same bytes every run
    wrpcap(sys.argv[1], fr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
