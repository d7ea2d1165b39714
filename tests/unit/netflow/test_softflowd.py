#!/usr/bin/python3
"""test_softflowd.py -- weir's decoders on what softflowd really exports.

A small deterministic pcap is built with scapy (a TCP exchange, a UDP query,
an ICMP echo, an IPv6 UDP flow). softflowd reads it (-r, exits at EOF) and
exports NetFlow v5, v9 and IPFIX to a UDP receiver bound here on 127.0.0.1.
The datagrams received are then:

  1. decoded by weir (nf_groups, i.e. weir_xflow_decode) and by tshark
     (-d udp.port==PORT,cflow): the per-flow (src, dst, sport, dport, proto,
     bytes, packets) multisets must be equal, with no error counted (v9 is
     shown to tshark one flowset per datagram: see v9_one_flowset_each);
  2. since softflowd does not sample, the bytes and packets weir decoded per
     address pair must equal tshark's IP conversation totals of the original
     pcap (-z conv,ip), counted as IP bytes: frame bytes - 14 per frame.
     (NetFlow v5 cannot carry IPv6, so the IPv6 flow is left out there.)

Usage: test_softflowd.py NF_GROUPS_BINARY
Exit 77 (skip) when softflowd, tshark or scapy is missing.
"""
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

SKIP = 77


def build_pcap(path):
    from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, Raw, wrpcap
    pkts = []
    t = 1700000000.0

    def add(p):
        nonlocal t
        p.time = t
        t += 0.01
        pkts.append(p)
    for i in range(3):
        add(Ether() / IP(src='10.1.0.1', dst='10.2.0.1') /
            TCP(sport=40000, dport=80, flags='PA') / Raw(b'x' * (100 + i)))
        add(Ether() / IP(src='10.2.0.1', dst='10.1.0.1') /
            TCP(sport=80, dport=40000, flags='A') / Raw(b'y' * (1000 + i)))
    add(Ether() / IP(src='10.1.0.1', dst='10.3.0.1') / UDP(sport=5353, dport=53) / Raw(b'q' * 30))
    add(Ether() / IP(src='10.3.0.1', dst='10.1.0.1') / UDP(sport=53, dport=5353) / Raw(b'r' * 90))
    add(Ether() / IP(src='10.1.0.1', dst='10.3.0.1') / ICMP(type=8, code=0) / Raw(b'p' * 56))
    add(Ether() / IPv6(src='2001:db8::1', dst='2001:db8::2') / UDP(sport=1111, dport=2222) / Raw(b'z' * 77))
    add(Ether() / IPv6(src='2001:db8::1', dst='2001:db8::2') / UDP(sport=1111, dport=2222) / Raw(b'z' * 33))
    wrpcap(path, pkts)


def export(pcap, version, tmp):
    """Run softflowd on pcap; return (port, [datagrams])."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(('127.0.0.1', 0))
    rx.settimeout(1.0)
    port = rx.getsockname()[1]
    cmd = ['softflowd', '-r', pcap, '-n', '127.0.0.1:%d' % port,
           '-v', str(version), '-d', '-p', os.path.join(tmp, 'softflowd.pid')]
    if version != 5:
        cmd.append('-6')
    subprocess.run(cmd, capture_output=True, timeout=60, check=True)
    grams = []
    try:
        while len(grams) < 1000:
            grams.append(rx.recv(65535))
    except socket.timeout:
        pass
    rx.close()
    return port, grams


def records_of(node, out):
    """Every flow record (a dict with octets) in tshark's JSON tree."""
    if isinstance(node, dict):
        if 'cflow.octets' in node or 'cflow.packets' in node:
            out.append(node)
            return
        for v in node.values():
            records_of(v, out)
    elif isinstance(node, list):
        for v in node:
            records_of(v, out)


def tshark_flows(dg_pcap, port):
    out = subprocess.run(['tshark', '-r', dg_pcap, '-d', 'udp.port==%d,cflow' % port, '-T', 'json'],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    recs = []
    for pkt in json.loads(out):
        records_of(pkt['_source']['layers'].get('cflow', {}), recs)
    flows = collections.Counter()
    for r in recs:
        src = r.get('cflow.srcaddrv6') or r.get('cflow.srcaddr')
        dst = r.get('cflow.dstaddrv6') or r.get('cflow.dstaddr')
        proto = int(r['cflow.protocol'])
        dport = int(r.get('cflow.dstport', 0))
        # ICMP type/code (v9 ICMP_TYPE / IPFIX 32, 139): weir puts it where
        # NetFlow v5 does, in the destination port
        tc = r.get('cflow.icmp_type_code_ipv4') or r.get('cflow.icmp_type_code_ipv6')
        if proto in (1, 58) and tc is not None:
            dport = int(tc, 0)
        flows[(src, dst, int(r.get('cflow.srcport', 0)), dport,
               proto, int(r['cflow.octets']), int(r['cflow.packets']))] += 1
    return flows


def v9_one_flowset_each(grams):
    """softflowd's v9 header count covers its templates only (5 in the
    first datagram, which also carries the data), and tshark stops after
    `count` records: it would decode no data at all. For tshark's sake each
    v9 datagram is re-sent as one datagram per flowset, same header, count
    1; weir decodes the datagrams exactly as softflowd sent them."""
    out = []
    for g in grams:
        hdr, off = g[:20], 20
        while off + 4 <= len(g):
            slen = int.from_bytes(g[off + 2:off + 4], 'big')
            if slen < 4:
                break
            out.append(hdr[:2] + b'\x00\x01' + hdr[4:] + g[off:off + slen])
            off += slen
    return out


def conv_ip_bytes(pcap):
    """tshark's IP conversations: {{a, b}: (IP bytes, frames)}, both ways.

    Lines look like
      10.1.0.1  <-> 10.2.0.1   3 3165 bytes   3 465 bytes   6 3630 bytes  0.0 0.05
    (frames and frame bytes <-, ->, total). The pcap is small enough that
    tshark prints plain bytes; a line in other units does not match and the
    conversation count check fails loudly."""
    out = subprocess.run(['tshark', '-r', pcap, '-q', '-z', 'conv,ip', '-z', 'conv,ipv6'],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    line_re = re.compile(r'^(\S+)\s+<->\s+(\S+)\s+\d+\s+\d+ bytes\s+\d+\s+\d+ bytes\s+(\d+)\s+(\d+) bytes')
    conv = {}
    for line in out.splitlines():
        m = line_re.match(line)
        if m:
            frames, nbytes = int(m.group(3)), int(m.group(4))
            conv[frozenset((m.group(1), m.group(2)))] = (nbytes - 14 * frames, frames)
    return conv


def main():
    nf_groups = sys.argv[1]
    for tool in ('softflowd', 'tshark'):
        if not shutil.which(tool):
            print('SKIP: %s not installed' % tool)
            return SKIP
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        print('SKIP: python3-scapy not installed')
        return SKIP
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, 'traffic.pcap')
        build_pcap(pcap)
        conv = conv_ip_bytes(pcap)
        if len(conv) != 3:
            fails.append('tshark conv: expected 3 conversations, got %r' % conv)
        from scapy.all import Ether, IP, UDP, Raw, wrpcap
        for version in (5, 9, 10):
            port, grams = export(pcap, version, tmp)
            if not grams:
                fails.append('v%d: softflowd sent nothing' % version)
                continue
            def to_pcap(path, dgrams):
                wrpcap(path, [Ether() / IP(src='127.0.0.1', dst='127.0.0.1') /
                              UDP(sport=40000, dport=port) / Raw(g) for g in dgrams])
                return path
            dg = to_pcap(os.path.join(tmp, 'export-v%d.pcap' % version), grams)
            for_tshark = dg
            if version == 9:
                for_tshark = to_pcap(os.path.join(tmp, 'export-v9-split.pcap'),
                                     v9_one_flowset_each(grams))
            want = tshark_flows(for_tshark, port)
            out = subprocess.run([nf_groups, dg], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
            got = collections.Counter()
            pair = collections.Counter()
            pair_pkts = collections.Counter()
            for line in out.splitlines():
                d = json.loads(line)
                if d['t'] == 'rec':
                    if d['sampling'] != 1:
                        fails.append('v%d: sampling %d from an unsampled exporter' % (version, d['sampling']))
                    got[(d['src'], d['dst'], d['sport'], d['dport'], d['proto'],
                         d['bytes'], d['pkts'])] += 1
                    pair[frozenset((d['src'], d['dst']))] += d['bytes']
                    pair_pkts[frozenset((d['src'], d['dst']))] += d['pkts']
                elif d['t'] == 'exporter' and d['errors']:
                    fails.append('v%d: errors %r' % (version, d['errors']))
            if not got or got != want:
                fails.append('v%d: weir %s != tshark %s' % (version, sorted(got.items()), sorted(want.items())))
            for k, (nbytes, frames) in conv.items():
                if version == 5 and any(':' in a for a in k):
                    if pair.get(k):
                        fails.append('v5 carried an IPv6 flow')
                    continue
                if pair.get(k) != nbytes or pair_pkts.get(k) != frames:
                    fails.append('v%d: %s: weir %s bytes %s pkts, tshark conv %d IP bytes %d frames' % (
                        version, sorted(k), pair.get(k), pair_pkts.get(k), nbytes, frames))
            print('v%d: %d datagrams, %d flows, equal to tshark: %s' % (
                version, len(grams), sum(got.values()), got == want))
    for f in fails:
        print('FAIL ' + f)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
