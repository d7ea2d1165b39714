#!/usr/bin/python3
# check_tshark.py -- our packet parser against tshark, frame by frame.
#
# gen_frames.py (scapy, fixed seed) writes a few hundred varied frames;
# parse_dump prints what weir_parse_frame makes of each, once with GRE/VXLAN
# decapsulation off and once on; tshark (a dissector we did not write)
# dissects the same file. For every frame we derive from tshark's fields
# what the parser should have said -- result, VLANs, addresses, ports,
# protocol, TCP flags, fragment flags and id, MPLS depth, IP length, L4
# payload length -- and any difference fails with the frame number, the
# field and both values. With decapsulation off the outer IP header is the
# truth; with it on, the IP header after the last GRE or VXLAN header.
#
#   check_tshark.py --dump PARSE_DUMP --gen GEN_FRAMES.py --out BUILDDIR
#
# Exit 77 (skip) when tshark or scapy is missing.
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys

FIELDS = [
    "frame.number", "frame.protocols",
    "vlan.id", "ieee8021ad.id", "mpls.label",
    "ip.src", "ip.dst", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.len", "ip.proto",
    "ipv6.src", "ipv6.dst", "ipv6.plen",
    "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident", "ipv6.fraghdr.nxt",
    "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.len",
    "udp.srcport", "udp.dstport", "udp.length",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "sctp.srcport", "sctp.dstport",
]

COLS = ["frame", "result", "vlan", "vlan_inner", "src", "dst", "sport", "dport",
        "proto", "tcp_flags", "flags", "frag_id", "n_mpls", "l3_len", "payload_len"]

F_IPV6, F_FRAG, F_FRAG_LATER, F_TUNNEL, F_MPLS, F_PPPOE, F_L4 = 1, 2, 4, 8, 16, 32, 64

L4_PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132}


def num(s):
    return int(s, 0)


def tshark_rows(pcap):
    cmd = ["tshark", "-r", pcap, "-n",
           "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        rows.append({f: (v.split(",") if v else []) for f, v in zip(FIELDS, vals)})
    return rows


def expect(t, decap):
    """What weir_parse_frame must say about the frame tshark dissected as t."""
    protos = t["frame.protocols"][0].split(":")
    tunnels = [i for i, p in enumerate(protos) if p in ("gre", "vxlan")]
    first_tunnel = tunnels[0] if tunnels else len(protos)
    # our GRE decap covers version 0 carrying IPv4, IPv6 or Ethernet
    if decap and tunnels:
        start = tunnels[-1] + 1
    else:
        start = 0
    sel = next((i for i in range(start, len(protos)) if protos[i] in ("ip", "ipv6")), None)

    e = {"result": "ok" if sel is not None else "non_ip"}
    # VLANs and MPLS: the outer Ethernet only
    tags = []
    iv = ia = 0
    for p in protos[:first_tunnel]:
        if p == "vlan":
            tags.append(num(t["vlan.id"][iv]))
            iv += 1
        elif p == "ieee8021ad":
            tags.append(num(t["ieee8021ad.id"][ia]))
            ia += 1
    if sel is None:
        return e
    e["vlan"] = tags[0] if tags else 0
    e["vlan_inner"] = tags[1] if len(tags) > 1 else 0
    flags = 0
    if "mpls" in protos[:first_tunnel]:
        flags |= F_MPLS
    e["n_mpls"] = len(t["mpls.label"]) if flags & F_MPLS else 0
    if "pppoes" in protos[:first_tunnel]:
        flags |= F_PPPOE
    if decap and tunnels:
        flags |= F_TUNNEL

    fam = protos[sel]
    k = protos[:sel].count(fam)          # occurrence index of that header
    frag_later = False
    frag_id = 0
    j = sel + 1
    if fam == "ip":
        e["src"], e["dst"] = t["ip.src"][k], t["ip.dst"][k]
        mf = t["ip.flags.mf"][k] in ("1", "True")
        off = num(t["ip.frag_offset"][k])
        if mf or off:
            flags |= F_FRAG
            frag_id = num(t["ip.id"][k])
        frag_later = off != 0
        e["l3_len"] = num(t["ip.len"][k])
        proto = num(t["ip.proto"][k])
    else:
        flags |= F_IPV6
        e["src"], e["dst"] = t["ipv6.src"][k], t["ipv6.dst"][k]
        e["l3_len"] = 40 + num(t["ipv6.plen"][k])
        proto = None
        while j < len(protos) and (protos[j].startswith("ipv6.") or protos[j] == "ah"):
            if protos[j] == "ipv6.fraghdr":
                fk = protos[:j].count("ipv6.fraghdr")
                off = num(t["ipv6.fraghdr.offset"][fk])
                more = t["ipv6.fraghdr.more"][fk] in ("1", "True")
                if off or more:
                    flags |= F_FRAG
                    frag_id = num(t["ipv6.fraghdr.ident"][fk])
                if off:
                    frag_later = True
                    proto = num(t["ipv6.fraghdr.nxt"][fk])
            j += 1
        nxt = protos[j] if j < len(protos) else ""
        if proto is None:
            if nxt in L4_PROTO:
                proto = L4_PROTO[nxt]
            elif nxt == "gre":
                proto = 47
            elif nxt == "mipv6":
                proto = 59   # the mobility header is chained; its payload is "none"
            else:
                raise ValueError("frame %s: no protocol for %r" % (t["frame.number"][0], nxt))
    if frag_later:
        flags |= F_FRAG_LATER
    e["proto"] = proto
    e["frag_id"] = frag_id

    sport = dport = tcp_flags = 0
    payload_len = 0
    nxt = protos[j] if j < len(protos) else ""
    if not frag_later and nxt in L4_PROTO:
        flags |= F_L4
        n = protos[:j].count(nxt)
        if nxt == "tcp":
            sport, dport = num(t["tcp.srcport"][n]), num(t["tcp.dstport"][n])
            tcp_flags = num(t["tcp.flags"][n]) & 0xff
            # tshark leaves tcp.len out of a first fragment
            payload_len = num(t["tcp.len"][n]) if n < len(t["tcp.len"]) else None
        elif nxt == "udp":
            sport, dport = num(t["udp.srcport"][n]), num(t["udp.dstport"][n])
            payload_len = num(t["udp.length"][n]) - 8
        elif nxt == "sctp":
            sport, dport = num(t["sctp.srcport"][n]), num(t["sctp.dstport"][n])
            payload_len = None
        else:
            dport = num(t[nxt + ".type"][n]) << 8 | num(t[nxt + ".code"][n])
            payload_len = None
        if flags & F_FRAG:
            payload_len = None      # a first fragment holds only part of it
    e.update(sport=sport, dport=dport, tcp_flags=tcp_flags, flags=flags)
    if payload_len is not None:
        e["payload_len"] = payload_len
    return e


def ours(dump, pcap, decap):
    cmd = [dump] + (["--decap"] if decap else []) + [pcap]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        rows.append(dict(zip(COLS, line.split("\t"))))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    if not shutil.which("tshark"):
        print("SKIP: tshark not installed")
        return 77
    if importlib.util.find_spec("scapy") is None:
        print("SKIP: python3 scapy not installed")
        return 77

    pcap = os.path.join(a.out, "parse_frames.pcap")
    subprocess.run([sys.executable, a.gen, pcap], check=True)
    truth = tshark_rows(pcap)
    if len(truth) < 200:
        print("FAIL: only %d frames generated" % len(truth))
        return 1

    # the capture must really hold every stack this test claims to cover
    seen = set()
    for t in truth:
        seen.update(t["frame.protocols"][0].split(":"))
    need = {"vlan", "ieee8021ad", "mpls", "pppoes", "ip", "ipv6", "ipv6.hopopts",
            "ipv6.routing", "ipv6.dstopts", "ipv6.fraghdr", "ah", "mipv6", "tcp",
            "udp", "icmp", "icmpv6", "sctp", "gre", "vxlan", "arp"}
    if not need <= seen:
        print("FAIL: capture lacks %s" % sorted(need - seen))
        return 1

    bad = 0
    checked = 0
    for decap in (False, True):
        mine = ours(a.dump, pcap, decap)
        if len(mine) != len(truth):
            print("FAIL: parse_dump printed %d frames, tshark %d" % (len(mine), len(truth)))
            return 1
        for t, m in zip(truth, mine):
            fno = t["frame.number"][0]
            if m["frame"] != fno:
                print("FAIL: frame order differs at %s/%s" % (m["frame"], fno))
                return 1
            e = expect(t, decap)
            for k, want in e.items():
                got = m[k]
                if k not in ("result", "src", "dst"):
                    got = int(got) if got != "-" else got
                checked += 1
                if k != "result" and m["result"] != e["result"]:
                    continue        # reported once, as the result
                if got != want:
                    bad += 1
                    print("MISMATCH frame %s (decap %s, %s): %s ours=%r tshark=%r"
                          % (fno, "on" if decap else "off", t["frame.protocols"][0],
                             k, got, want))
    print("%d frames x 2 (decap off/on), %d fields compared, %d mismatches"
          % (len(truth), checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
