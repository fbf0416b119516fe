#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seeds of fuzz_frame (seeds-frame/), fuzz_upstream
(seeds-upstream/) and fuzz_snapshot (seeds-snapshot/) next to this script,
or under the directory argv[1].

fuzz_frame: Ethernet frames to the fuzz worker: port MAC 02:00:00:00:00:01,
service 198.18.53.1 and 2001:db8::53; the client is 02:00:00:00:00:02,
198.18.53.2 and 2001:db8::2. Checksums are right, so every frame reaches
the code after them.

fuzz_upstream: a forwarder's answers to www.example.com. A IN, ID 0x1234.

fuzz_snapshot: cache-snapshot records (cache/hf_snap.h) behind the 2-byte
record count the target seals them with, and one whole sealed file.
"""
import os
import struct
import sys

PORT_MAC = bytes.fromhex("020000000001")
CLIENT_MAC = bytes.fromhex("020000000002")
SVC4, CLI4 = bytes([198, 18, 53, 1]), bytes([198, 18, 53, 2])
SVC6 = bytes.fromhex("20010db8000000000000000000000053")
CLI6 = bytes.fromhex("20010db8000000000000000000000002")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def name(text):
    out = b""
    for lab in text.strip(".").split("."):
        if lab:
            out += bytes([len(lab)]) + lab.encode()
    return out + b"\0"


def query(qname, qtype=1, edns=True, do=False, flags=0x0100, qid=0x4242):
    d = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    d += name(qname) + struct.pack("!HH", qtype, 1)
    if edns:
        d += b"\0" + struct.pack("!HHBBHH", 41, 1232, 0, 0, 0x8000 if do else 0, 0)
    return d


def eth(et, vlan=None, dst=PORT_MAC, src=CLIENT_MAC):
    h = dst + src
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", et)


def udp4(dns, options=b"", vlan=None):
    ihl = 5 + len(options) // 4
    tot = ihl * 4 + 8 + len(dns)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, 0, 64, 17, 0, CLI4, SVC4) + options
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    u = struct.pack("!HHHH", 40000, 53, 8 + len(dns), 0) + dns
    ph = CLI4 + SVC4 + struct.pack("!BBH", 0, 17, len(u))
    c = csum(ph + u) or 0xFFFF
    u = u[:6] + struct.pack("!H", c) + u[8:]
    return eth(0x0800, vlan) + ip + u


def ip6(proto, l4, src=CLI6, dst=SVC6, hlim=64, cksum_off=None, vlan=None, edst=PORT_MAC):
    ph = src + dst + struct.pack("!I3xB", len(l4), proto)
    c = csum(ph + l4) or 0xFFFF
    l4 = l4[:cksum_off] + struct.pack("!H", c) + l4[cksum_off + 2:]
    h = struct.pack("!IHBB", 0x60000000, len(l4), proto, hlim) + src + dst
    return eth(0x86DD, vlan, dst=edst) + h + l4


def udp6(dns):
    return ip6(17, struct.pack("!HHHH", 40001, 53, 8 + len(dns), 0) + dns, cksum_off=6)


def ns(src=CLI6, dad=False):
    body = struct.pack("!BBHI", 135, 0, 0, 0) + SVC6
    if not dad:
        body += bytes([1, 1]) + CLIENT_MAC  # source link-layer address
    sn = bytes.fromhex("ff0200000000000000000001ff000053")
    return ip6(58, body, src=src, dst=sn, hlim=255, cksum_off=2, edst=bytes.fromhex("3333ff000053"))


def arp():
    a = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + CLIENT_MAC + CLI4 + bytes(6) + SVC4
    return eth(0x0806, dst=b"\xff" * 6) + a


FRAME = {
    "v4_hit_edns": udp4(query("n0000000.bench.example")),
    "v4_hit_noedns": udp4(query("n0000001.bench.example", edns=False)),
    "v4_stale_park": udp4(query("n0000004.bench.example")),
    "v4_failure_hit": udp4(query("f0000000.bench.example")),
    "v4_miss_do": udp4(query("www.example.com", qtype=28, do=True)),
    "v4_ip_options": udp4(query("n0000002.bench.example"), options=b"\x01\x01\x01\x00"),
    "v4_formerr": udp4(query("n0000000.bench.example")[:20]),
    "v4_notimp": udp4(query("n0000000.bench.example", flags=0x2800)),
    "vlan_v4_hit": udp4(query("n0000003.bench.example"), vlan=42),
    "v6_hit_edns": udp6(query("n0000000.bench.example")),
    "v6_miss_edns": udp6(query("example.org", qtype=15)),
    "arp_request": arp(),
    "nd_ns": ns(),
    "nd_ns_dad": ns(src=bytes(16), dad=True),
}


def rr(owner, rtype, ttl, rdata, rclass=1):
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def answer(counts, body, rcode=0, flags=0x8180, qid=0x1234, qname="www.example.com", qtype=1):
    h = struct.pack("!HHHHHH", qid, (flags & ~0xF) | rcode, 1, *counts)
    return h + name(qname) + struct.pack("!HH", qtype, 1) + body


Q = b"\xc0\x0c"  # the question name
SOA = name("example.com") + name("hostmaster.example.com") + struct.pack("!IIIII", 7, 3600, 600, 86400, 300)
SOA_C = b"\xc0\x10" + b"\x0ahostmaster\xc0\x10" + struct.pack("!IIIII", 7, 3600, 600, 86400, 300)
RRSIG_A = struct.pack("!HBBIIIH", 1, 13, 3, 300, 1800000000, 1700000000, 3613) + name("example.com") + bytes(64)
NSEC = name("xyz.example.com") + bytes([0, 6, 0x40, 0, 0, 0, 0, 3])
EDE = struct.pack("!HHH", 15, 2 + 13, 22) + b"no reachable!"
OPT = b"\0" + struct.pack("!HHBBHH", 41, 1232, 0, 0, 0x8000, 0)
OPT_EDE = b"\0" + struct.pack("!HHBBHH", 41, 1232, 0, 0, 0, len(EDE)) + EDE

UPSTREAM = {
    "a_two": answer((2, 0, 0), rr(Q, 1, 300, bytes([192, 0, 2, 1])) + rr(Q, 1, 60, bytes([192, 0, 2, 2]))),
    "a_0x20": answer((1, 0, 0), rr(Q, 1, 300, bytes([192, 0, 2, 1])), qname="wWw.ExAmPle.cOM"),
    "cname_rrsig": answer(
        (3, 0, 1),
        rr(Q, 5, 3600, b"\x04host\xc0\x10")
        + rr(b"\x04host\xc0\x10", 1, 120, bytes([192, 0, 2, 7]))
        + rr(b"\x04host\xc0\x10", 46, 120, RRSIG_A)
        + OPT,
    ),
    "nxdomain_soa_nsec": answer(
        (0, 3, 0),
        rr(b"\xc0\x10", 6, 900, SOA_C) + rr(b"\xc0\x10", 47, 300, NSEC) + rr(b"\xc0\x10", 46, 300, RRSIG_A),
        rcode=3,
    ),
    "nodata_soa": answer((0, 1, 0), rr(b"\xc0\x10", 6, 7200, SOA)),
    "nodata_no_soa": answer((0, 0, 1), OPT),
    "servfail_ede": answer((0, 0, 1), OPT_EDE, rcode=2),
    "refused": answer((0, 0, 0), b"", rcode=5),
    "truncated": answer((0, 0, 0), b"", flags=0x8380),
    "mx_glue": answer(
        (1, 1, 1),
        rr(Q, 15, 300, b"\x00\x0a\x04mail\xc0\x10")
        + rr(b"\xc0\x10", 2, 300, b"\x02ns\xc0\x10")
        + rr(b"\x04mail\xc0\x10", 1, 300, bytes([192, 0, 2, 25]))
    ),
    "wrong_id": answer((1, 0, 0), rr(Q, 1, 300, bytes([192, 0, 2, 1])), qid=0x4321),
}

U0 = 1700000000000  # fuzz_snapshot.c: the records' Unix time (ms)


def snap_answer(kind, rcode, security, qname_len, body, ttl_offs, ttl, ede=0xFFFF, ede_text=b"",
                counts=(0, 0, 0)):
    return (struct.pack("<BBBBHHHHHHHHI", rcode, kind, security, qname_len, ede, len(ede_text), *counts,
                        len(ttl_offs), len(body), 0, ttl)
            + b"".join(struct.pack("<H", o) for o in ttl_offs) + body + ede_text)


def snap_rec(qname, qtype, flags, ans, inserted, expires, failed=0):
    key = struct.pack("<BBHH", len(qname), flags, qtype, 1) + qname
    rec = struct.pack("<qqqI", inserted, expires, failed, len(ans)) + key
    rec += b"\0" * (-len(rec) % 4) + ans
    return rec + b"\0" * (-len(rec) % 8)


def crc32c(data):
    crc = 0  # no initial or final inversion (dns/hf_crc32c.h)
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc


def snap_file(recs):
    body = b"".join(recs)
    hdr = b"HFCACHE\0" + struct.pack("<IIqQQI", 1, 0x01020304, U0, len(recs), len(body), crc32c(body))
    return hdr + struct.pack("<I", crc32c(hdr)) + body


QN = name("www.example.de")
A_BODY = rr(b"\xc0\x0c", 1, 300, bytes([192, 0, 2, 1]))
SNAP_FRESH = snap_rec(QN, 1, 1, snap_answer(0, 0, 1, len(QN), A_BODY, [6], 300, counts=(1, 0, 0)),
                      U0 - 50000, U0 + 250000)
SNAP_STALE = snap_rec(name("short.example.de"), 1, 1,
                      snap_answer(0, 0, 1, len(name("short.example.de")), A_BODY, [6], 2, counts=(1, 0, 0)),
                      U0 - 40000, U0 - 38000, U0 - 5000)
SNAP_BOGUS = snap_rec(name("www.alg8.de"), 1, 1,
                      snap_answer(3, 2, 2, len(name("www.alg8.de")), b"", [], 300, ede=7,
                                  ede_text=b"signature expired"), U0 - 1000, U0 + 299000)
SNAP_NX = snap_rec(name("nx.example.de"), 28, 0,
                   snap_answer(2, 3, 0, len(name("nx.example.de")), rr(b"\xc0\x10", 6, 60, SOA), [6], 60,
                               counts=(0, 1, 0)), U0 - 10000, U0 + 50000)
SNAPSHOT = {
    "fresh": struct.pack("<H", 1) + SNAP_FRESH,
    "three": struct.pack("<H", 3) + SNAP_FRESH + SNAP_STALE + SNAP_BOGUS,
    "nxdomain": struct.pack("<H", 1) + SNAP_NX,
    "file": snap_file([SNAP_FRESH, SNAP_STALE, SNAP_BOGUS, SNAP_NX]),
}

top = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
for sub, seeds in (("seeds-frame", FRAME), ("seeds-upstream", UPSTREAM), ("seeds-snapshot", SNAPSHOT)):
    out = os.path.join(top, sub)
    os.makedirs(out, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(out, k + ".bin"), "wb") as f:
            f.write(v)
