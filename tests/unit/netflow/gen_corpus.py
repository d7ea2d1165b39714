#!/usr/bin/python3
"""gen_corpus.py -- seed datagrams for the fuzz_nfv5/nfv9/ipfix targets.

Writes a few small, valid datagrams per protocol, built field by field as in
test_netflow_inputs.c (templates, options with sampling and interface
names, variable-length and enterprise fields, withdrawals), into
tests/fuzz/corpus/{nfv5,nfv9,ipfix}/. The *_shared_* seeds are template
records as template sharing stores them, behind the byte that picks the
set (bit 0) and domain (bits 1-3) in fuzz_netflow.h's install step. No
capture bytes are copied. Deterministic: re-running gives the same files.

Usage: gen_corpus.py CORPUS_DIR
"""
import os
import struct
import sys

EXPORT = 1700000000
A1, A2 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def u16(v): return struct.pack('>H', v)
def u32(v): return struct.pack('>I', v)
def u64(v): return struct.pack('>Q', v)


def fset(set_id, body):
    return u16(set_id) + u16(4 + len(body)) + body


def v5(count, sampling=0):
    h = u16(5) + u16(count) + u32(1000) + u32(EXPORT) + u32(0) + u32(100) + b'\0\0' + u16(sampling)
    r = b''
    for i in range(count):
        r += A1 + A2 + bytes(4) + u16(3) + u16(4) + u32(i + 1) + u32(100 * (i + 1))
        r += u32(0xfffffc18) + u32(500) + u16(1000 + i) + u16(80) + b'\0\x12\x06\0' + bytes(8)
    return h + r


def v9(seq, sets, source_id=1):
    return u16(9) + u16(len(sets)) + u32(10000) + u32(EXPORT) + u32(seq) + u32(source_id) + b''.join(sets)


V9_TMPL = fset(0, u16(256) + u16(9) + b''.join(u16(t) + u16(l) for t, l in
               [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4)]))


def v9_data(n):
    return fset(256, b''.join(A1 + A2 + u16(1000 + i) + u16(80) + b'\x06' + u32(100) + u32(1) +
                              u32(5000) + u32(6000) for i in range(n)))


V9_OPT = fset(1, u16(260) + u16(4) + u16(12) + u16(2) + u16(4) + u16(34) + u16(4) +
              u16(48) + u16(1) + u16(82) + u16(8) + b'\0\0')
V9_OPT_DATA = fset(260, u32(7) + u32(1000) + b'\x05' + b'ge-0/0/1' + b'\0\0\0')


def ipfix(seq, sets, domain=5):
    body = b''.join(sets)
    return u16(10) + u16(16 + len(body)) + u32(EXPORT) + u32(seq) + u32(domain) + body


IPFIX_TMPL = fset(2, u16(300) + u16(5) + u16(8) + u16(4) + u16(82) + u16(0xffff) +
                  u16(0x8007) + u16(4) + u32(1234) + u16(1) + u16(3) + u16(152) + u16(8))
IPFIX_DATA = fset(300, A1 + b'\x03abc' + u32(0xdeadbeef) + b'\x01\x00\x02' + u64(EXPORT * 1000) +
                  A2 + b'\x00' + u32(0) + b'\0\0\x09' + u64(EXPORT * 1000) +
                  A1 + b'\xff\x00\x02xy' + u32(0) + b'\0\0\x01' + u64(EXPORT * 1000))
IPFIX_OPT = fset(3, u16(302) + u16(3) + u16(1) + u16(302) + u16(2) + u16(305) + u16(4) + u16(306) + u16(4))
IPFIX_OPT_DATA = fset(302, u16(9) + u32(1) + u32(99))
IPFIX_TMPL2 = fset(2, u16(301) + u16(8) + b''.join(u16(t) + u16(l) for t, l in
                   [(27, 16), (28, 16), (160, 8), (22, 4), (21, 4), (56, 6), (243, 2), (95, 0xffff)]))
IPFIX_DATA2 = fset(301, bytes(15) + b'\x01' + bytes(15) + b'\x02' + u64(EXPORT * 1000 - 100000) +
                   u32(97000) + u32(99000) + bytes(6) + u16(100) + b'\x04\x03\x00\x00\x07')

SEEDS = {
    'nfv5': {
        'v5_two_records': v5(2, 0x4064),
        'v5_unsampled': v5(1),
    },
    'nfv9': {
        'v9_template_data': v9(0, [V9_TMPL, v9_data(2)]),
        'v9_options_template_data': v9(1, [V9_OPT, V9_TMPL, V9_OPT_DATA, v9_data(1)]),
        'v9_data_only': v9(2, [v9_data(3)]),
        'v9_shared_template': b'\x02' + V9_TMPL[4:],
        'v9_shared_options': b'\x03' + V9_OPT[4:-2],
        'v9_zero_length_field': v9(3, [fset(0, u16(300) + u16(3) + u16(8) + u16(4) + u16(89) + u16(0) +
                                            u16(2) + u16(2)), fset(300, A1 + u16(5) + A2 + u16(7))]),
    },
    'ipfix': {
        'ipfix_varlen_enterprise': ipfix(0, [IPFIX_TMPL, IPFIX_DATA]),
        'ipfix_options_sampling': ipfix(3, [IPFIX_OPT, IPFIX_OPT_DATA, IPFIX_TMPL2, IPFIX_DATA2]),
        'ipfix_data_only': ipfix(4, [IPFIX_DATA]),
        'ipfix_shared_template': b'\x0a' + IPFIX_TMPL[4:],
        'ipfix_shared_options': b'\x0b' + IPFIX_OPT[4:],
        'ipfix_withdrawal': ipfix(7, [fset(2, u16(300) + u16(0)), fset(3, u16(3) + u16(0)),
                                      fset(2, u16(2) + u16(0))]),
    },
}


def main():
    root = sys.argv[1]
    for proto, seeds in SEEDS.items():
        os.makedirs(os.path.join(root, proto), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(root, proto, name + '.bin'), 'wb') as f:
                f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
