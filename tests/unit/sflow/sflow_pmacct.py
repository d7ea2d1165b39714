#!/usr/bin/python3
"""sflow_pmacct.py -- interop: pmacctd's sfprobe exports a capture as sFlow,
weir decodes it, per-host totals must equal tshark's on the capture.

1. scapy writes a deterministic capture (fixed seed): TCP, UDP and ICMP
   between IPv4 hosts, some IPv6 and 802.1Q-tagged packets, an ARP frame;
   then a trailer of packets between two sentinel hosts (see below).
2. pmacctd reads it (pcap_savefile, plugins: sfprobe, sampling_rate: 1) and
   exports sFlow v5 to a UDP socket this script holds on 127.0.0.1.
3. sflow_decode (weir's decoder) sums bytes and packets per host.
4. tshark reads the capture: per host, packets and frame.len summed over
   the packets it sent or received.
At sampling 1 every packet is one sample, so each host's totals must match
exactly. pmacct sends frame_length = captured length + 4 (FCS) with
stripped = 4, so this also proves the FCS is taken off (drivers/sflow/
sflow.c wire_length()).

What differs, and how it is handled: pmacctd 1.7.7 can exit before its core
has handed the last packets of a savefile to the sfprobe plugin (seen here:
58 of 60 samples in some runs, the last two missing). The sentinel trailer
absorbs that race: sentinel hosts are excluded from the comparison (their
totals may only be lower), and every packet before the trailer must be
present. Bounded in time: pmacctd is killed after 60 s at most.

Exit 77 (skip) without pmacctd, tshark or scapy.
"""
import argparse
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

SENTINELS = ("10.255.255.1", "10.255.255.2")
TRAILER = 64


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def make_capture(path):
    try:
        from scapy.all import (ARP, Dot1Q, Ether, ICMP, IP, IPv6, Raw, TCP,
                               UDP, wrpcap)
    except ImportError:
        skip("python3-scapy not importable")
    import random
    rnd = random.Random(20261127)
    v4 = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "192.168.5.9", "172.16.4.4"]
    v6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::7"]
    t = 1700000000.0
    pkts = []
    for i in range(150):
        k = i % 6
        n = rnd.randint(0, 1400)
        if k in (0, 1, 2):
            a, b = rnd.sample(v4, 2)
            l3 = IP(src=a, dst=b)
            l4 = (TCP(sport=1024 + i, dport=443, flags="PA") if k == 0 else
                  UDP(sport=2048 + i, dport=53) if k == 1 else ICMP())
            p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / l3 / l4
        elif k == 3:
            a, b = rnd.sample(v6, 2)
            p = (Ether(src="02:00:00:00:00:03", dst="02:00:00:00:00:04") /
                 IPv6(src=a, dst=b) / TCP(sport=3000 + i, dport=22, flags="A"))
        elif k == 4:
            a, b = rnd.sample(v4, 2)
            p = (Ether(src="02:00:00:00:00:05", dst="02:00:00:00:00:06") /
                 Dot1Q(vlan=100 + i % 3) / IP(src=a, dst=b) / UDP(sport=5000, dport=5001))
        else:
            if i % 30 == 5:
                p = Ether(src="02:00:00:00:00:07", dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.1.0.9")
                n = 0
            else:
                a, b = rnd.sample(v4, 2)
                p = Ether() / IP(src=a, dst=b) / TCP(sport=6000, dport=80, flags="S")
                n = 0
        if n:
            p = p / Raw(bytes([0x41 + i % 26]) * n)
        p.time = t + i * 0.001
        pkts.append(p)
    for j in range(TRAILER):
        p = (Ether() / IP(src=SENTINELS[j % 2], dst=SENTINELS[1 - j % 2]) /
             UDP(sport=9, dport=9) / Raw(b"s" * 10))
        p.time = t + 1 + j * 0.001
        pkts.append(p)
    wrpcap(path, pkts)
    return len(pkts) - TRAILER


def tshark_hosts(pcap):
    out = subprocess.run(
        ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t",
         "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
         "-e", "frame.len"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    hosts = {}
    for line in out.splitlines():
        f = line.split("\t")
        src = f[0] or f[2]
        dst = f[1] or f[3]
        if not src:
            continue                    # ARP: not an IP endpoint
        # tunnelled packets would list several addresses; there are none here
        assert "," not in src, line
        for h in (src, dst):
            p, b = hosts.get(h, (0, 0))
            hosts[h] = (p + 1, b + int(f[4]))
    return hosts


def collect(conf_dir, pcap, log):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    conf = os.path.join(conf_dir, "pmacctd-sfprobe.conf")
    with open(conf, "w") as f:
        f.write("daemonize: false\n"
                "pcap_savefile: %s\n"
                "pcap_savefile_wait: false\n"
                "plugins: sfprobe\n"
                "sfprobe_receiver: 127.0.0.1:%d\n"
                "sfprobe_agentip: 127.0.0.1\n"
                "sampling_rate: 1\n" % (pcap, port))
    proc = subprocess.Popen(["pmacctd", "-f", conf], stdout=log, stderr=log,
                            start_new_session=True)
    dgrams = []
    deadline = time.monotonic() + 60
    exited_at = None
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            dgrams.append(sock.recv(65535))
            continue
        if proc.poll() is not None:
            if exited_at is None:
                exited_at = time.monotonic()
            elif time.monotonic() - exited_at > 1.0:
                break
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    sock.close()
    return dgrams


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decode", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    for tool in ("pmacctd", "tshark"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            skip(tool + " not installed")
    os.environ["PATH"] += ":/usr/sbin"
    os.makedirs(a.out, exist_ok=True)
    pcap = os.path.join(a.out, "sflow_pmacct_in.pcap")
    n_real = make_capture(pcap)

    with open(os.path.join(a.out, "sflow_pmacct_pmacctd.log"), "w") as log:
        dgrams = collect(a.out, pcap, log)
    if not dgrams:
        print("FAIL: pmacctd sent no datagram (see sflow_pmacct_pmacctd.log)")
        return 1
    raw = os.path.join(a.out, "sflow_pmacct_datagrams.bin")
    with open(raw, "wb") as f:
        for d in dgrams:
            f.write(struct.pack("!I", len(d)) + d)

    out = subprocess.run([a.decode, raw], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    ours, summary, errors = {}, {}, []
    for line in out.splitlines():
        f = line.split()
        if f[0] == "host":
            ours[f[1]] = (int(f[2]), int(f[3]))
        elif f[0] == "summary":
            summary = dict(zip(f[1::2], map(int, f[2::2])))
        elif f[0] == "error":
            errors.append(line)
    truth = tshark_hosts(pcap)

    fails = []
    if summary.get("errors") != 0:
        fails.append("decoder errors: %s" % errors)
    if summary.get("seq_lost") != 0 or summary.get("seq_resets") != 0:
        fails.append("sequence: %s" % summary)
    # every packet before the trailer was exported: one record each
    real_records = sum(p for h, (p, b) in ours.items() if h not in SENTINELS) // 2
    for h, (p, b) in sorted(truth.items()):
        got = ours.get(h, (0, 0))
        if h in SENTINELS:
            if got[0] > p or got[1] > b or got[0] == 0:
                fails.append("sentinel %s: ours %s, tshark %s" % (h, got, (p, b)))
            continue
        if got != (p, b):
            fails.append("%s: ours (pkts, bytes) %s, tshark %s" % (h, got, (p, b)))
    for h in ours:
        if h not in truth:
            fails.append("host %s not in the capture" % h)
    print("pmacctd: %d datagrams, %d records (%d before the trailer of %d)"
          % (len(dgrams), summary.get("records", 0), real_records, TRAILER))
    for h, (p, b) in sorted(truth.items()):
        print("  %-16s tshark %4d pkts %7d bytes   weir %s" % (h, p, b, ours.get(h)))
    if fails:
        for f in fails:
            print("FAIL: " + f)
        return 1
    print("per-host totals match tshark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
