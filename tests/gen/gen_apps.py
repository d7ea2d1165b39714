#!/usr/bin/python3
"""gen_apps.py -- write a pcap of application traffic with real payloads.

Why: the nDPI tests need flows whose application we know and whose bytes
ndpiReader (the reference) can classify too: DNS (A, AAAA, NXDOMAIN), HTTP
GET with Host, TLS 1.2 and 1.3 ClientHello with SNI plus a ServerHello,
SSH banners both ways, a QUIC v1 Initial (really encrypted with the RFC 9001
initial keys, so nDPI has to decrypt it to find the SNI), SMB2 negotiate on
445, NTP, DHCP discover with a hostname option, IPv6 and 802.1Q-tagged
variants, and a few SYN-only flows that nDPI can only guess by port.

Deterministic: fixed addresses, ports, sequence numbers, timestamps and
"random" fields, so the file is byte-identical on every run.

The payload builders (client_hello, server_hello, tls_*, quic_*, smb2_*,
ssh_*, http_*, ntp_pair, sip_options) are also imported by gen_traffic.py,
whose mixed benchmark profile carries the same kinds of payloads: keep them
free of side effects and deterministic (every varying field an argument),
and keep this file's own output byte-identical when changing them.

Usage: /usr/bin/python3 gen_apps.py OUT.pcap
"""
import hashlib
import hmac
import struct
import sys

from scapy.all import (DHCP, DNS, DNSQR, DNSRR, BOOTP, IP, IPv6, NTP, TCP, UDP,
                       Dot1Q, Ether, Raw, wrpcap)
from scapy.layers.tls.all import (TLS, TLSClientHello, TLSServerHello,
                                  TLS_Ext_ServerName, ServerName,
                                  TLS_Ext_SupportedVersion_CH,
                                  TLS_Ext_SupportedVersion_SH,
                                  TLS_Ext_SupportedGroups,
                                  TLS_Ext_SignatureAlgorithms,
                                  TLS_Ext_ALPN, ProtocolName,
                                  TLS_Ext_KeyShare_CH, KeyShareEntry)

T0 = 1700000000.0
CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"


class Writer:
    """Collects frames with increasing timestamps."""

    def __init__(self):
        self.pkts = []
        self.t = T0

    def add(self, frame, dt=0.001):
        self.t += dt
        frame.time = self.t
        self.pkts.append(frame)


def l2(vlan):
    e = Ether(src=CLIENT_MAC, dst=SERVER_MAC)
    return e / Dot1Q(vlan=vlan) if vlan else e


def l2r(vlan):
    e = Ether(src=SERVER_MAC, dst=CLIENT_MAC)
    return e / Dot1Q(vlan=vlan) if vlan else e


def ipl(c, s, v6):
    return IPv6(src=c, dst=s) if v6 else IP(src=c, dst=s, id=1, ttl=64)


def tcp_session(w, c, s, cport, sport, c2s, s2c, vlan=0, v6=False,
                close=True, order=None):
    """A TCP connection: handshake, payloads (client first, then alternate
    following `order`, a list of 'c'/'s'), FIN both ways."""
    cseq, sseq = 1000, 5000
    def cp(flags, payload=b""):
        return l2(vlan) / ipl(c, s, v6) / TCP(sport=cport, dport=sport,
                                              flags=flags, seq=cseq, ack=sseq,
                                              window=64240) / Raw(payload)
    def sp(flags, payload=b""):
        return l2r(vlan) / ipl(s, c, v6) / TCP(sport=sport, dport=cport,
                                               flags=flags, seq=sseq, ack=cseq,
                                               window=65535) / Raw(payload)
    syn = l2(vlan) / ipl(c, s, v6) / TCP(sport=cport, dport=sport, flags="S",
                                         seq=cseq - 1, window=64240)
    w.add(syn)
    w.add(l2r(vlan) / ipl(s, c, v6) / TCP(sport=sport, dport=cport, flags="SA",
                                          seq=sseq - 1, ack=cseq, window=65535))
    w.add(cp("A"))
    ci, si = list(c2s), list(s2c)
    if order is None:
        order = []
        for i in range(max(len(ci), len(si))):
            if i < len(ci):
                order.append("c")
            if i < len(si):
                order.append("s")
    for who in order:
        if who == "c":
            data = ci.pop(0)
            w.add(cp("PA", data))
            cseq += len(data)
            w.add(sp("A"))
        else:
            data = si.pop(0)
            w.add(sp("PA", data))
            sseq += len(data)
            w.add(cp("A"))
    if close:
        w.add(cp("FA"))
        cseq += 1
        w.add(sp("FA"))
        sseq += 1
        w.add(cp("A"))


def udp_exchange(w, c, s, cport, sport, c2s, s2c, vlan=0, v6=False):
    for i in range(max(len(c2s), len(s2c))):
        if i < len(c2s):
            w.add(l2(vlan) / ipl(c, s, v6) / UDP(sport=cport, dport=sport) /
                  Raw(c2s[i]))
        if i < len(s2c):
            w.add(l2r(vlan) / ipl(s, c, v6) / UDP(sport=sport, dport=cport) /
                  Raw(s2c[i]))


# ---- DNS -----------------------------------------------------------------

def dns_pair(qid, name, qtype, answers, rcode=0):
    q = DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype))
    an = None
    for rr in answers:
        an = rr if an is None else an / rr
    r = DNS(id=qid, qr=1, rd=1, ra=1, rcode=rcode,
            qd=DNSQR(qname=name, qtype=qtype), an=an)
    return bytes(q), bytes(r)


# ---- TLS -----------------------------------------------------------------

def client_hello(sni, tls13, alpn=(b"h2", b"http/1.1")):
    exts = [TLS_Ext_ServerName(servernames=[ServerName(servername=sni.encode())]),
            TLS_Ext_SupportedGroups(groups=[29, 23, 24]),
            TLS_Ext_SignatureAlgorithms(sig_algs=[0x0403, 0x0804, 0x0401]),
            TLS_Ext_ALPN(protocols=[ProtocolName(protocol=p) for p in alpn])]
    if tls13:
        exts.append(TLS_Ext_SupportedVersion_CH(versions=[0x0304, 0x0303]))
        exts.append(TLS_Ext_KeyShare_CH(client_shares=[
            KeyShareEntry(group=29, key_exchange=bytes(range(32)))]))
    ch = TLSClientHello(version=0x0303, gmt_unix_time=0x11223344,
                        random_bytes=bytes(range(28)),
                        sid=bytes(32) if tls13 else b"",
                        ciphers=[0x1301, 0x1302, 0xc02b, 0xc02f, 0x009c],
                        comp=[0], ext=exts)
    return bytes(TLS(version=0x0301, msg=[ch]))


def server_hello(tls13):
    exts = []
    if tls13:
        exts.append(TLS_Ext_SupportedVersion_SH(version=0x0304))
    sh = TLSServerHello(version=0x0303, gmt_unix_time=0x55667788,
                        random_bytes=bytes(range(100, 128)),
                        sid=bytes(32) if tls13 else b"",
                        cipher=0x1301 if tls13 else 0xc02f, comp=0, ext=exts)
    return bytes(TLS(version=0x0303, msg=[sh]))


def tls_record(ctype, body):
    """A TLS 1.2-format record: 20 change_cipher_spec, 21 alert,
    22 handshake, 23 application_data."""
    return struct.pack(">BHH", ctype, 0x0303, len(body)) + body


def tls_app_data(data, max_len=16384):
    """`data` cut into application_data records of at most max_len bytes."""
    return b"".join(tls_record(23, data[i:i + max_len])
                    for i in range(0, len(data), max_len))


TLS_CCS = tls_record(20, b"\x01")
TLS12_SERVER_HELLO_DONE = tls_record(22, b"\x0e\x00\x00\x00")


def tls12_client_key_exchange(pub):
    """ClientKeyExchange (16) with an ECDHE public point (x25519: 32 bytes)."""
    return tls_record(22, b"\x10" + struct.pack(">I", len(pub) + 1)[1:] +
                      bytes([len(pub)]) + pub)


# ---- QUIC v1 Initial (RFC 9000 17.2.2, RFC 9001 5) -------------------------

def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def quic_varint(v):
    if v < 64:
        return bytes([v])
    if v < 16384:
        return struct.pack(">H", 0x4000 | v)
    return struct.pack(">I", 0x80000000 | v)


QUIC_V1_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
QUIC_DCID = bytes.fromhex("8394c8f03e515708")     # RFC 9001 appendix A


def quic_initial_keys(odcid, label):
    """(key, iv, hp) protecting Initial packets: label b"client in" or
    b"server in", both derived from the client's first DCID."""
    sec = hkdf_expand_label(hkdf_extract(QUIC_V1_SALT, odcid), label, 32)
    return (hkdf_expand_label(sec, b"quic key", 16),
            hkdf_expand_label(sec, b"quic iv", 12),
            hkdf_expand_label(sec, b"quic hp", 16))


def quic_protect_initial(keys, dcid, scid, frames, size=None, pn=0):
    """A protected v1 Initial packet (empty token, 4-byte packet number)
    carrying `frames`, padded with PADDING frames to `size` bytes."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, iv, hp = keys
    pn_len = 4
    first = 0xc0 | (pn_len - 1)         # long header, Initial, 4-byte PN
    hdr_wo_len = (bytes([first]) + struct.pack(">I", 1) +
                  bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid +
                  quic_varint(0))       # token length 0
    plain = frames
    if size is not None:
        payload_len = size - len(hdr_wo_len) - 2 - pn_len - 16
        plain = frames + bytes(payload_len - len(frames))
    length = pn_len + len(plain) + 16
    header = hdr_wo_len + struct.pack(">H", 0x4000 | length) + struct.pack(">I", pn)
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))
    ct = AESGCM(key).encrypt(nonce, plain, header)
    # Header protection: sample starts 4 bytes after the PN start.
    pn_off = len(header) - pn_len
    sample = ct[4 - pn_len:4 - pn_len + 16]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    h = bytearray(header)
    h[0] ^= mask[0] & 0x0f
    for i in range(pn_len):
        h[pn_off + i] ^= mask[1 + i]
    return bytes(h) + ct


def quic_client_hello(sni, alpn=(b"h2", b"http/1.1")):
    """The TLS 1.3 ClientHello handshake message (no record layer, as QUIC
    carries it) with the quic_transport_parameters extension (0x39) nDPI
    expects."""
    rec = client_hello(sni, True, alpn)
    hs = rec[5:]
    tp = b"\x00\x39" + struct.pack(">H", 8) + b"\x04\x04\x80\x10\x00\x00" + b"\x0f\x00"
    # Append transport parameters to the extension block of the hello.
    body = bytearray(hs[4:])
    off = 2 + 32                        # version, random
    off += 1 + body[off]                # session id
    off += 2 + struct.unpack(">H", body[off:off + 2])[0]   # ciphers
    off += 1 + body[off]                # compression
    ext_len = struct.unpack(">H", body[off:off + 2])[0]
    body[off:off + 2] = struct.pack(">H", ext_len + len(tp))
    body += tp
    return bytes([1]) + struct.pack(">I", len(body))[1:] + bytes(body)


def quic_crypto_frame(msg):
    return b"\x06" + quic_varint(0) + quic_varint(len(msg)) + msg


def quic_initial(sni, dcid=QUIC_DCID, scid=b"", hello=None):
    """A client Initial packet carrying a TLS 1.3 ClientHello in a CRYPTO
    frame, padded to 1200 bytes, protected with the v1 initial keys.
    hello: a quic_client_hello() already made for sni (saves rebuilding)."""
    crypto = quic_crypto_frame(hello or quic_client_hello(sni))
    return quic_protect_initial(quic_initial_keys(dcid, b"client in"), dcid,
                                scid, crypto, size=1200)


def quic_server_initial(odcid, dcid, scid, hello):
    """The server's Initial answer: ACK of the client's packet 0 and a
    CRYPTO frame with the ServerHello handshake message `hello`, protected
    with the server initial keys of the client's first DCID `odcid`."""
    ack = b"\x02\x00\x00\x00\x00"   # largest 0, delay 0, no ranges, first 0
    return quic_protect_initial(quic_initial_keys(odcid, b"server in"), dcid,
                                scid, ack + quic_crypto_frame(hello))


# ---- SMB2 ----------------------------------------------------------------

def smb2_header(command, response=False, msg_id=0, tree_id=0, session_id=0):
    """An SMB2 sync header: 64 bytes, unsigned, one credit."""
    return (b"\xfeSMB" + struct.pack("<H", 64) + struct.pack("<H", 0) +
            struct.pack("<I", 0) + struct.pack("<H", command) +
            struct.pack("<H", 1) + struct.pack("<I", 1 if response else 0) +
            struct.pack("<I", 0) + struct.pack("<Q", msg_id) +
            struct.pack("<I", 0) + struct.pack("<I", tree_id) +
            struct.pack("<Q", session_id) + bytes(16))


def smb2_msg(command, body, response=False, msg_id=0, tree_id=0, session_id=0):
    """Header + body in a NetBIOS session message."""
    msg = smb2_header(command, response, msg_id, tree_id, session_id) + body
    return struct.pack(">I", len(msg)) + msg


def smb2_negotiate():
    dialects = [0x0202, 0x0210, 0x0300, 0x0302]
    body = (struct.pack("<HHHH", 36, len(dialects), 1, 0) + struct.pack("<I", 0) +
            bytes(16) + struct.pack("<Q", 0) +
            b"".join(struct.pack("<H", d) for d in dialects))
    return smb2_msg(0, body)


def smb2_negotiate_rsp():
    body = (struct.pack("<HHH", 65, 1, 0x0210) + b"\x00\x00" + bytes(16) +
            struct.pack("<IIII", 7, 65536, 65536, 65536) + struct.pack("<QQ", 0, 0) +
            struct.pack("<HHI", 128, 0, 0))
    return smb2_msg(0, body, response=True)


def smb2_read(length, offset, file_id, msg_id, tree_id, session_id):
    """READ request (command 8) for `length` bytes of the 16-byte file_id."""
    body = (struct.pack("<HBBIQ", 49, 0x50, 0, length, offset) + file_id +
            struct.pack("<IIIHHB", 1, 0, 0, 0, 0, 0))
    return smb2_msg(8, body, False, msg_id, tree_id, session_id)


def smb2_read_rsp_head(length, msg_id, tree_id, session_id):
    """READ response (command 8) up to its data: the NetBIOS length counts
    the `length` data bytes the caller appends."""
    body = struct.pack("<HBBIII", 17, 0x50, 0, length, 0, 0)
    return (struct.pack(">I", 64 + len(body) + length) +
            smb2_header(8, True, msg_id, tree_id, session_id) + body)


# ---- SSH (RFC 4253) ------------------------------------------------------

SSH_KEX_ALGS = {
    "client": ("curve25519-sha256,curve25519-sha256@libssh.org,"
               "ecdh-sha2-nistp256,diffie-hellman-group16-sha512,ext-info-c"),
    "server": ("curve25519-sha256,curve25519-sha256@libssh.org,"
               "ecdh-sha2-nistp256,diffie-hellman-group16-sha512"),
}
SSH_HOSTKEY_ALGS = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
SSH_CIPHERS = ("chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,"
               "aes128-gcm@openssh.com,aes256-gcm@openssh.com")
SSH_MACS = "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256"
SSH_COMP = "none,zlib@openssh.com"


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def ssh_packet(payload, block=8):
    """An unencrypted binary packet: length, padding length, payload and
    4 to 4+block-1 bytes of (zero) padding to a multiple of block."""
    pad = block - (len(payload) + 5) % block
    if pad < 4:
        pad += block
    return struct.pack(">IB", len(payload) + pad + 1, pad) + payload + bytes(pad)


def ssh_kexinit(cookie, side):
    """SSH_MSG_KEXINIT (20) of OpenSSH 9-like lists; side "client"/"server"."""
    lists = [SSH_KEX_ALGS[side], SSH_HOSTKEY_ALGS, SSH_CIPHERS, SSH_CIPHERS,
             SSH_MACS, SSH_MACS, SSH_COMP, SSH_COMP, "", ""]
    return ssh_packet(b"\x14" + cookie +
                      b"".join(ssh_string(x.encode()) for x in lists) +
                      b"\x00" + bytes(4))


def ssh_ecdh_init(q_c):
    """SSH_MSG_KEX_ECDH_INIT (30) with the client's curve25519 key."""
    return ssh_packet(b"\x1e" + ssh_string(q_c))


def ssh_ecdh_reply(host_key, q_s, sig):
    """SSH_MSG_KEX_ECDH_REPLY (31): ed25519 host key, server key, signature."""
    alg = ssh_string(b"ssh-ed25519")
    return ssh_packet(b"\x1f" + ssh_string(alg + ssh_string(host_key)) +
                      ssh_string(q_s) + ssh_string(alg + ssh_string(sig)))


SSH_NEWKEYS = ssh_packet(b"\x15")


# ---- HTTP, NTP, SIP ------------------------------------------------------

def http_get(host, path="/", ua="curl/7.88.1", extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"User-Agent: {ua}\r\n{extra}Accept: */*\r\n\r\n").encode()


def http_ok_head(length, ctype="text/html", extra=""):
    """Status line and headers of a 200 answer with a `length`-byte body."""
    return (f"HTTP/1.1 200 OK\r\n{extra}Content-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def ntp_pair(orig, ref, recv, xmit, stratum=2):
    """NTPv4 client request (mode 3) sent at `orig` and the server's answer
    (mode 4); times in seconds since 1900."""
    q = bytes(NTP(version=4, mode=3, ref=0, orig=0, recv=0, sent=orig))
    r = bytes(NTP(version=4, mode=4, stratum=stratum, ref=ref, orig=orig,
                  recv=recv, sent=xmit))
    return q, r


def sip_options(user, domain, via_host, tag, call_id, cseq, branch,
                ua="Yealink SIP-T46U 66.86.0.15", server="Asterisk PBX 20.5.0"):
    """SIP OPTIONS keepalive (RFC 3261 11) and its 200 OK answer."""
    head = (f"Via: SIP/2.0/UDP {via_host}:5060;branch=z9hG4bK{branch};rport\r\n"
            f"From: <sip:{user}@{domain}>;tag={tag}\r\n")
    rest = (f"Call-ID: {call_id}@{via_host}\r\n"
            f"CSeq: {cseq} OPTIONS\r\n")
    req = (f"OPTIONS sip:{domain} SIP/2.0\r\n" + head +
           f"To: <sip:{domain}>\r\n" + rest +
           f"Max-Forwards: 70\r\nContact: <sip:{user}@{via_host}:5060>\r\n"
           f"User-Agent: {ua}\r\nAccept: application/sdp\r\n"
           "Content-Length: 0\r\n\r\n").encode()
    rsp = ("SIP/2.0 200 OK\r\n" + head +
           f"To: <sip:{domain}>;tag=as{branch[:8]}\r\n" + rest +
           "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"
           f"Accept: application/sdp\r\nServer: {server}\r\n"
           "Content-Length: 0\r\n\r\n").encode()
    return req, rsp


# ---- DHCP ----------------------------------------------------------------

def dhcp_discover(w, hostname, mac):
    pkt = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
           IP(src="0.0.0.0", dst="255.255.255.255", id=1) /
           UDP(sport=68, dport=67) /
           BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")) + bytes(10),
                 xid=0x1234abcd, flags=0x8000) /
           DHCP(options=[("message-type", "discover"),
                         ("hostname", hostname.encode()),
                         ("param_req_list", [1, 3, 6, 15, 28, 51, 58, 59]),
                         ("vendor_class_id", b"MSFT 5.0"), "end"]))
    w.add(pkt)


def main():
    out = sys.argv[1]
    w = Writer()
    c4, c6 = "192.168.1.10", "2001:db8::10"

    # DNS over IPv4 (A, AAAA, NXDOMAIN) and IPv6, one of them VLAN-tagged.
    q, r = dns_pair(0x1001, "www.example.com", "A",
                    [DNSRR(rrname="www.example.com", type="A", ttl=300,
                           rdata="93.184.216.34")])
    udp_exchange(w, c4, "192.168.1.1", 40001, 53, [q], [r])
    q, r = dns_pair(0x1002, "www.wikipedia.org", "AAAA",
                    [DNSRR(rrname="www.wikipedia.org", type="AAAA", ttl=300,
                           rdata="2620:0:862:ed1a::1")])
    udp_exchange(w, c4, "192.168.1.1", 40002, 53, [q], [r])
    q, r = dns_pair(0x1003, "nosuchname.example", "A", [], rcode=3)
    udp_exchange(w, c4, "192.168.1.1", 40003, 53, [q], [r], vlan=10)
    q, r = dns_pair(0x1004, "ipv6.google.com", "AAAA",
                    [DNSRR(rrname="ipv6.google.com", type="AAAA", ttl=300,
                           rdata="2a00:1450:4001:80b::200e")])
    udp_exchange(w, c6, "2001:db8::1", 40004, 53, [q], [r], v6=True)

    # HTTP GET with Host, v4, v6 and VLAN 20.
    http_ok = http_ok_head(13) + b"<html></html>"
    tcp_session(w, c4, "93.184.216.34", 50001, 80,
                [http_get("www.example.com", "/index.html")], [http_ok])
    tcp_session(w, c6, "2001:db8::80", 50002, 80,
                [http_get("www.example.org")], [http_ok], v6=True)
    tcp_session(w, c4, "10.20.0.5", 50003, 80,
                [http_get("intranet.example.net", "/status")], [http_ok],
                vlan=20)

    # TLS 1.2 and 1.3 ClientHello with SNI, ServerHello answer.
    tls_flows = [("www.youtube.com", "142.250.185.78", False, 0, False),
                 ("www.netflix.com", "52.31.10.20", True, 0, False),
                 ("github.com", "140.82.121.4", True, 0, False),
                 ("www.google.com", "2a00:1450:4001:80b::2004", True, 0, True),
                 ("www.facebook.com", "157.240.1.35", False, 30, False)]
    port = 51000
    for sni, srv, tls13, vlan, v6 in tls_flows:
        port += 1
        tcp_session(w, c6 if v6 else c4, srv, port, 443,
                    [client_hello(sni, tls13)], [server_hello(tls13)],
                    vlan=vlan, v6=v6)

    # SSH banners both ways (server speaks first).
    tcp_session(w, c4, "192.168.1.22", 52001, 22,
                [b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"],
                [b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n"],
                order=["s", "c"])

    # SMB2 negotiate on 445.
    tcp_session(w, c4, "192.168.1.30", 52002, 445, [smb2_negotiate()],
                [smb2_negotiate_rsp()])

    # NTP v4 client/server.
    ntp_q, ntp_r = ntp_pair(3908800000.5, 3908799990.0, 3908800000.6,
                            3908800000.7)
    udp_exchange(w, c4, "162.159.200.1", 123, 123, [ntp_q], [ntp_r])

    # DHCP discover with hostname option.
    dhcp_discover(w, "weir-laptop", "02:00:00:00:00:33")

    # QUIC v1 Initial with SNI (one client datagram; no server answer).
    udp_exchange(w, c4, "142.250.185.110", 53001, 443,
                 [quic_initial("www.youtube.com")], [])

    # SYN-only flows: nothing to inspect, nDPI can only guess by port.
    for dport, sport in ((443, 54001), (3306, 54002), (5432, 54003)):
        w.add(l2(0) / IP(src=c4, dst="198.51.100.7", id=1) /
              TCP(sport=sport, dport=dport, flags="S", seq=1, window=64240))

    wrpcap(out, w.pkts)


if __name__ == "__main__":
    main()
