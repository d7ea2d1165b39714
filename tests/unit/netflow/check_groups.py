#!/usr/bin/python3
"""check_groups.py -- weir's NetFlow/IPFIX decoders against tshark, per group.

For every NetFlow v5, v9 and IPFIX group of the shared capture corpus
(GROUND_TRUTH.json "groups"; files fed in the listed order), run nf_groups
(our decoders through weir_xflow_decode) and compare with what tshark 4.0.17
decoded from the same files (flowexport/_groundtruth/<group>.tshark-records.jsonl):

  * the number of data records (tshark lines that are not options records
    and not "undecodable");
  * the multiset of (src, dst, sport, dport, proto, bytes, packets, in_if,
    out_if, duration, reverse bytes, reverse packets), bytes and packets
    both directions of an RFC 5103 biflow, with our counts divided by the
    sampling rate we applied, which must divide them exactly;
  * bytes and packets in all and per ingress VRF == pmacct's nfacctd
    (*.nfacctd.expected.json, made by pmacct's own test suite);
  * set padding noted (not counted as an error) where EXPECTED_PADDING says;
  * the sampling rate applied, recomputed from tshark's own decoding of the
    options records (sampler id -> interval) and of the record itself;
  * data sets we still hold for a template never seen == tshark's count of
    data sets without a known template;
  * no error counter for a valid group, the named errors for the invalid
    ones (EXPECTED_ERRORS, each with its reason);
  * interface names from options data (ifindex, name) == tshark's;
  * nothing left allocated after weir_nf_state_free.

Where weir deliberately differs from tshark the difference is listed in
DIFFERENCES with the reason, and checked to be exactly that.

Usage: check_groups.py NF_GROUPS_BINARY [CAPTURES_DIR]  (WEIR_SHARED_CAPTURES overrides)
Exit 77 (skip) when the captures are absent.
"""
import collections
import json
import os
import subprocess
import sys

SKIP = 77

# Groups whose input is malformed on purpose (MANIFEST: INVALID / negative)
# or carries bytes we must refuse: the errors weir must count, and why.
EXPECTED_ERRORS = {
    # header count 55582 x 48 bytes in a 1464-byte datagram (BAD_INPUTS #16):
    # the datagram is refused as a whole. tshark decodes the 30 records that
    # fit; we do not trust any record of a datagram whose count lies.
    'ls_nf5_invalid01': {'nfv5_bad_count': 1},
    # logstash captured these with nc, so each file is several datagrams
    # glued together: bytes follow the 2 records the v5 header announces,
    # and the second IPFIX message follows the 484 bytes of the first's
    # length field. We decode the first (as tshark does) and count the rest.
    'ls_nf5_generic': {'trailing_bytes': 1},
    'ls_ipfix_generic': {'trailing_bytes': 1},
}

# Valid captures whose sets end in non-zero padding shorter than a record
# and than 4 bytes: padding (RFC 3954 5.3 pads to 4 bytes; RFC 7011 3.3.1
# says it SHOULD be zero), noted per set, never an error. Offsets checked
# by hand in the files:
#   MikroTik: set 259 ends with 2 bytes 6b ab after 18 records of 79 bytes
#   Cisco WLC: options template 256 (18 bytes) padded with 2d 67
#   nProbe: set 257 ends with 0d 00 01 after its 49-byte record
EXPECTED_PADDING = {
    'ls_ipfix_mikrotik': 1,
    'ls_nf9_cisco_wlc': 1,
    'ls_nf9_multi_exporters': 1,
}

# Refused on purpose: tshark decodes records from these, weir none.
REFUSED = {
    'ls_nf5_invalid01',     # see EXPECTED_ERRORS
}

# Where weir and tshark decode differently on purpose: records weir
# decodes that tshark does not, each with the sampling rate it must carry.
DIFFERENCES = {
    # Header count = 2 but the datagram carries 2 templates, an options
    # template, options data and 2 data records, every flowset length
    # consistent. tshark stops after `count` records; weir walks flowsets by
    # their lengths (exporters disagree on what count counts) and decodes the
    # 2 data records. Decoded by hand from the bytes (offsets in the file):
    #   0xb2 set 2048 (template at 0x50): 2001:44b8:1118:7200::10 ->
    #        2001:44b8:4030:cd91:8075:bae:d39d:2621, bytes 0x60, pkts 1,
    #        ports 0x7b/0x7b, proto 0x11
    #   0xf8 set 1024: c0a80001 -> c0a80069, bytes 0x62, pkts 1,
    #        ports 0x0035/0xd917, proto 0x11
    #   sampling 100: options data at 0xa2, SAMPLING_INTERVAL 0x00000064.
    #   interfaces 0/0; FIRST_SWITCHED == LAST_SWITCHED (0xd8e0, 0x15ba4).
    'ls_nf9_invalid01': [
        (('2001:44b8:1118:7200::10', '2001:44b8:4030:cd91:8075:bae:d39d:2621',
          123, 123, 17, 96, 1, 0, 0, 0), 100),
        (('192.168.0.1', '192.168.0.105', 53, 55575, 17, 98, 1, 0, 0, 0), 100),
    ],
    # 16 flowsets of template 3281, one record each (header count 16);
    # tshark 4.0 decodes only the first. The other 15 are what tshark
    # decodes when each flowset is re-wrapped alone behind the same header
    # and sent after the template datagram (done once with scapy + tshark
    # -d udp.port==2055,cflow; the records below are its output).
    'ls_nf9_h3c': [
        (('10.22.166.12', '10.21.3.172', 0, 0, 6, 6200, 6, 2662, 494, 60005), 1),
        (('10.22.166.33', '10.22.178.37', 0, 0, 6, 11896, 21, 2662, 2908, 60016), 1),
        (('10.22.166.35', '10.20.100.253', 0, 0, 6, 1041, 3, 2662, 789, 90011), 1),
        (('10.22.166.36', '10.20.136.36', 0, 0, 6, 1740, 20, 2662, 1246, 30000), 1),
        (('10.22.166.36', '10.20.147.28', 0, 0, 6, 2998, 16, 2662, 1285, 29467), 1),
        (('10.22.166.28', '10.20.141.16', 0, 0, 6, 55773, 37, 2662, 1271, 29452), 1),
        (('10.22.166.35', '10.20.162.17', 0, 0, 6, 3239438, 2135, 2662, 1472, 29449), 1),
        (('10.22.166.15', '10.20.171.36', 0, 0, 6, 5701, 20, 2662, 1513, 30000), 1),
        (('10.22.166.2', '10.22.208.12', 0, 0, 6, 4255012, 2804, 2662, 2967, 29391), 1),
        (('10.22.166.28', '10.22.196.21', 0, 0, 6, 37557, 25, 2662, 2719, 29196), 1),
        (('10.22.166.25', '10.22.202.15', 0, 0, 6, 23676, 68, 2662, 2953, 30000), 1),
        (('10.22.166.25', '10.20.166.26', 0, 0, 6, 22821, 30, 2662, 1492, 89282), 1),
        (('10.22.166.12', '10.21.3.117', 0, 0, 6, 526, 2, 2662, 494, 90012), 1),
        (('10.22.166.17', '10.22.145.26', 0, 0, 6, 33129, 220, 2662, 1349, 60005), 1),
        (('10.22.166.36', '10.21.75.38', 0, 0, 6, 5092, 9, 2662, 1743, 60006), 1),
    ],
}


def differences(name):
    """DIFFERENCES of a group as truth tuples (no reverse counts there)."""
    return [(t + (0, 0), rate) for t, rate in DIFFERENCES.get(name, [])]


def first(v):
    return v[0] if isinstance(v, list) else v


def counter(rec, *keys):
    """(all, reverse) of the first of keys the record has. tshark lists an
    RFC 5103 reverse counter (PEN 29305) under the forward one's name, after
    it (the template order of YAF's biflows): all is the sum of the list,
    reverse the sum of what follows the first."""
    for k in keys:
        if k in rec:
            v = rec[k] if isinstance(rec[k], list) else [rec[k]]
            v = [int(x, 0) if isinstance(x, str) else int(x) for x in v]
            return sum(v), sum(v[1:])
    return 0, 0


def num(rec, *keys):
    for k in keys:
        if k in rec:
            v = first(rec[k])
            return int(v, 0) if isinstance(v, str) else int(v)
    return None


def tshark_addr(rec, v4, v6):
    a6 = first(rec.get(v6)) if v6 in rec else None
    a4 = first(rec.get(v4)) if v4 in rec else None
    if a6 and (a6 != '::' or not a4):
        return a6
    if a4:
        return a4
    return '::'


def tshark_dport(rec, proto):
    dport = num(rec, 'cflow.dstport') or 0
    if proto in (1, 58):
        v6 = proto == 58
        tc = num(rec, 'cflow.icmp_type_code_ipv6' if v6 else 'cflow.icmp_type_code_ipv4')
        if tc is not None:
            return tc
        t = num(rec, 'cflow.icmp_ipv6_type' if v6 else 'cflow.icmp_ipv4_type')
        c = num(rec, 'cflow.icmp_ipv6_code' if v6 else 'cflow.icmp_ipv4_code')
        if t is not None or c is not None:
            return ((t or 0) & 0xff) << 8 | ((c or 0) & 0xff)
    return dport


def duration_ms(rec, version):
    if 'cflow.timedelta' not in rec:
        return None
    # IPFIX flowStart/EndSysUpTime (22/21) without systemInitTimeMilliseconds
    # (160, in the record or in options data) cannot be placed in time: weir
    # reports them as unknown (0) rather than guess; tshark shows only the
    # relative values. Nothing to compare then.
    if (version == 10 and 'cflow.abstimestart' not in rec
            and 'cflow.sys_init_time' not in rec and not rec.get('_init')):
        return None
    return round(float(first(rec['cflow.timedelta'])) * 1000)


def own_rate(rec):
    for k in ('cflow.sampling_interval', 'cflow.sampler_random_interval'):
        v = num(rec, k)
        if v:
            return v
    n, pop = num(rec, 'cflow.sampling_size'), num(rec, 'cflow.sampling_population')
    if n and pop and pop // n:      # n out of N (IEs 309/310): 1 in N/n
        return pop // n
    i = num(rec, 'cflow.sampling_packet_interval')
    if i:
        return (i + (num(rec, 'cflow.sampling_packet_space') or 0)) // i
    return 0


def tshark_truth(path, version):
    """Data-record tuples and the sampling rate each should have had."""
    recs = []
    names = collections.Counter()
    domains = {}        # (exporter, domain) -> {'rate':, 'samplers': {}}
    for line in open(path):
        d = json.loads(line)
        if 'undecodable' in d or 'record' not in d:
            continue
        rec = d['record']
        key = (d['exporter'], d.get('domain'))
        st = domains.setdefault(key, {'rate': 0, 'samplers': {}, 'init': False})
        if d.get('options_record'):
            if 'cflow.sys_init_time' in rec:
                st['init'] = True
            name = first(rec.get('cflow.if_name') or rec.get('cflow.if_descr') or '')
            if name and 'cflow.inputint' in rec:
                names[(num(rec, 'cflow.inputint'), name[:63])] += 1
            r = own_rate(rec)
            if r:
                st['rate'] = r
                sid = num(rec, 'cflow.sampler_id')
                if sid is not None:
                    st['samplers'][sid] = r
            continue
        proto = num(rec, 'cflow.protocol') or 0
        rec['_init'] = st['init']
        nbytes, rbytes = counter(rec, 'cflow.octets', 'cflow.permanent_octets', 'cflow.post_octets')
        npkts, rpkts = counter(rec, 'cflow.packets', 'cflow.permanent_packets', 'cflow.post_packets')
        tup = (tshark_addr(rec, 'cflow.srcaddr', 'cflow.srcaddrv6'),
               tshark_addr(rec, 'cflow.dstaddr', 'cflow.dstaddrv6'),
               num(rec, 'cflow.srcport') or 0,
               tshark_dport(rec, proto),
               proto,
               nbytes, npkts,
               num(rec, 'cflow.inputint') or 0,
               num(rec, 'cflow.outputint') or 0,
               duration_ms(rec, int(d['version'])),
               rbytes, rpkts)
        if version == 5:
            s = num(rec, 'cflow.sampling_interval') or 0
            rate = s or 1
        else:
            rate = own_rate(rec)
            sid = num(rec, 'cflow.sampler_id')
            if not rate and sid is not None:
                rate = st['samplers'].get(sid, 0)
            rate = rate or st['rate'] or 1
        recs.append((tup, rate))
    return recs, names


def check_nfacctd(name, g, fe, ours):
    """Against pmacct's own expected output (*.nfacctd.expected.json, made
    by nfacctd with sampling renormalised): bytes and packets in all and
    per ingress VRF id, where nfacctd reports one. nfacctd aggregates
    records, and reports SRv6 flows by their inner addresses (tshark and
    weir by the outer ones), so sums are compared, not records."""
    fail = []
    for e in g.get('expected', []):
        if not e['name'].endswith('.nfacctd.expected.json'):
            continue
        path = None
        for sub in ('netflow5', 'netflow9', 'ipfix'):
            if os.path.exists(os.path.join(fe, sub, e['name'])):
                path = os.path.join(fe, sub, e['name'])
        if not path:
            fail.append('%s missing' % e['name'])
            continue
        want = collections.Counter()
        has_vrf = False
        for line in open(path):
            if not line.strip():
                continue
            d = json.loads(line)
            vrf = d.get('custom_primitives', {}).get('vrf_id_ingress')
            has_vrf |= vrf is not None
            for key in ('all', 'vrf %s' % vrf if vrf is not None else None):
                if key:
                    want[(key, 'bytes')] += d['bytes']
                    want[(key, 'packets')] += d['packets']
        got = collections.Counter()
        for r in ours:
            for key in ('all', 'vrf %d' % r['vrf_in'] if has_vrf else None):
                if key:
                    got[(key, 'bytes')] += r['bytes'] + r['rev_bytes']
                    got[(key, 'packets')] += r['pkts'] + r['rev_pkts']
        if +got != +want:
            fail.append('vs nfacctd: only weir %s, only nfacctd %s' % (
                list((got - want).items())[:3], list((want - got).items())[:3]))
    return fail


def group_version(g):
    vs = set(g['tshark'].get('versions', {}))
    for v in ('5', '9', '10'):
        if v in vs:
            return int(v)
    return None


def main():
    binary = sys.argv[1]
    root = os.environ.get('WEIR_SHARED_CAPTURES') or (sys.argv[2] if len(sys.argv) > 2 else None)
    gt_path = os.path.join(root or '', 'GROUND_TRUTH.json')
    if not root or not os.path.exists(gt_path):
        print('SKIP: shared captures not found (%s); set WEIR_SHARED_CAPTURES' % root)
        return SKIP
    gt = json.load(open(gt_path))
    fe = os.path.join(root, 'flowexport')
    where = {}
    for sub in ('netflow5', 'netflow9', 'ipfix', 'sflow'):
        for f in os.listdir(os.path.join(fe, sub)):
            where[f] = os.path.join(fe, sub, f)

    failures = []
    n_groups = n_recs = 0
    for name, g in sorted(gt['groups'].items()):
        version = group_version(g)
        if version is None:
            continue        # sFlow: drivers/sflow has its own checker
        files = [where[f] for f in g['files']]
        out = subprocess.run([binary] + files, capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            failures.append('%s: nf_groups exit %d: %s' % (name, out.returncode, out.stderr[-2000:]))
            continue
        ours, exps = [], []
        got_names = collections.Counter()
        for line in out.stdout.splitlines():
            d = json.loads(line)
            if d['t'] == 'rec':
                ours.append(d)
            elif d['t'] == 'ifname':
                got_names[(d['ifindex'], d['name'])] += 1
            elif d['t'] == 'exporter':
                exps.append(d)
        truth, want_names = tshark_truth(os.path.join(root, g['records_file']), version)
        fail = []
        if got_names != want_names:
            fail.append('interface names: only weir %s, only tshark %s' % (
                list((got_names - want_names).items())[:4],
                list((want_names - got_names).items())[:4]))

        # records and fields
        got = collections.Counter()
        got_rates = collections.Counter()
        for r in ours:
            s = r['sampling']
            nb, np_ = r['bytes'] + r['rev_bytes'], r['pkts'] + r['rev_pkts']
            if s == 0 or r['bytes'] % s or r['pkts'] % s or r['rev_bytes'] % s or r['rev_pkts'] % s:
                fail.append('record not scaled by its rate: %r' % r)
                continue
            dur = r['end_ms'] - r['start_ms'] if r['start_ms'] and r['end_ms'] else None
            tup = (r['src'], r['dst'], r['sport'], r['dport'], r['proto'],
                   nb // s, np_ // s, r['in_if'], r['out_if'], dur,
                   r['rev_bytes'] // s, r['rev_pkts'] // s)
            got[tup] += 1
            got_rates[(tup, s)] += 1
        if name in REFUSED:
            if not truth:
                fail.append('tshark decodes nothing here; the test is stale')
            truth = []
        want = collections.Counter(t for t, _ in truth)
        want_rates = collections.Counter(truth)
        for extra, rate in differences(name):
            want[extra] += 1
            want_rates[(extra, rate)] += 1
        if sum(got.values()) != sum(want.values()):
            fail.append('data records: weir %d, tshark %d' % (sum(got.values()), sum(want.values())))
        if got != want:
            fail.append('records only in weir: %s' % list((got - want).items())[:4])
            fail.append('records only in tshark: %s' % list((want - got).items())[:4])
        elif got_rates != want_rates:
            fail.append('sampling: weir %s, expected %s' % (
                list((got_rates - want_rates).items())[:4],
                list((want_rates - got_rates).items())[:4]))

        # counters per exporter
        errors = collections.Counter()
        held = padding = 0
        for e in exps:
            errors.update(e['errors'])
            held += e['pending']
            padding += e['padding']
            if e['mem_after_free'] or e['templates_after_free']:
                fail.append('%s: %d bytes, %d templates left after free' % (
                    e['addr'], e['mem_after_free'], e['templates_after_free']))
        want_err = collections.Counter(EXPECTED_ERRORS.get(name, {}))
        if errors != want_err:
            fail.append('errors: weir %s, expected %s' % (dict(errors), dict(want_err)))
        if padding != EXPECTED_PADDING.get(name, 0):
            fail.append('sets with padding: weir %d, expected %d' % (
                padding, EXPECTED_PADDING.get(name, 0)))
        fail += check_nfacctd(name, g, fe, ours)
        no_tmpl = g['tshark'].get('data_flowsets_without_template', 0)
        if version != 5 and held != no_tmpl:
            fail.append('data sets held for an unknown template: weir %d, tshark %d' % (held, no_tmpl))
        n_groups += 1
        n_recs += len(ours)
        status = 'FAIL' if fail else 'ok'
        print('%-50s %-4s records=%d ifnames=%d errors=%s held=%d' % (
            name, status, len(ours), sum(got_names.values()), dict(errors), held))
        failures += ['%s: %s' % (name, f) for f in fail]
    for f in failures:
        print('FAIL ' + f)
    print('%d groups, %d records, %d failures' % (n_groups, n_recs, len(failures)))
    if n_groups == 0:
        return 1
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
