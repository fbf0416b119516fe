#!/usr/bin/python3
"""holdfast end-to-end tests on the lab (tests/lab/).

    test_e2e.py HOLDFAST SOURCE_ROOT [CASE ...]

Brings up a lab with a unique tag (a client network namespace, a veth pair
whose host end holdfast drives with DPDK's net_af_packet, and knotd on a
127.53.x.y address of this run's own serving tests/lab/zones), starts
holdfast with a generated config, runs the cases, restarts holdfast where
a case needs other knobs (given on its command line), and always tears
everything down. The runner, rig and DNS messages are tests/e2e/lib's
(lib/runner.py says what is printed and counted).

Every assertion is made on what comes back on the wire: queries are built
and answers parsed with dnspython (lib/dnsmsg.py), from sockets created
inside the client namespace; a few deliberately malformed queries and the
raw frames are built here byte by byte; arping and ndisc6 probe ARP and
ND. holdfast's log is only printed to explain a failure.

Environment: HF_E2E_VERBOSE=1 prints every answer; HF_E2E_DRIVER=af_xdp
uses net_af_xdp instead of net_af_packet; HF_E2E_LCORES overrides the EAL
lcore list (default "0,1", or "0" on a single CPU); HF_E2E_LOGDIR says
where holdfast's logs go (default: meson-logs/ under the current directory
when it exists, else /tmp); HF_LAB_UPSTREAM_ADDR sets knotd's address
(default: 127.53.A.B derived from this process's pid).
"""

import math
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import check, rnd, expect, expect_no_ede, answer_ttl, soa_of, rcode_name  # noqa: E402
from lib.dnsmsg import (Response, build_query, question_wire, EDNS_BUFSIZE, OPT_COOKIE,  # noqa: E402
                        T_A, T_CNAME, T_TXT, T_AAAA, T_OPT, C_IN, C_CH, OP_NOTIFY, OP_UPDATE,
                        NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS)
from lib.frames import inet_sum, udp4_frame  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig  # noqa: E402
import dns.edns  # noqa: E402
import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402

# ---------------------------------------------------------------- constants
# Values from tests/lab/zones/*.zone (marked "e2e:" there).
WWW_A = "198.51.100.10"
WWW_AAAA = "2001:db8::10"
WWW_TTL = 300
SHORT_A = "198.51.100.20"
MIXED_A = "198.51.100.30"
NEG_TTL = 60  # SOA MINIMUM of test.
STALE_ZONE_NEG_TTL = 2  # SOA TTL and MINIMUM of stale.test.
# holdfast defaults the cases rely on (control/hf_config.h)
STALE_TTL = 30
CLIENT_TIMEOUT = 1.8
EDE_STALE, EDE_STALE_NX, EDE_NO_REACHABLE = 3, 19, 22

RIG = None


def q(name, qtype=T_A, **kw):
    return RIG.client.query(name, qtype, **kw)


def rig_prom(metric, **labels):
    return RIG.prom(metric, **labels)


def ctl_json(*args):
    """holdfastctl --json ARGS... against this instance, parsed."""
    return RIG.ctl(*args)


def ctl_stats():
    return ctl_json("stats")["total"]


def case_miss_then_hit():
    hits0, misses0 = rig_prom("holdfast_hits_fresh_total"), rig_prom("holdfast_misses_total")
    r1, _ = q("www.test")
    expect(r1, NOERROR, ra=True, aa=False, tc=False)
    check(r1.values(T_A) == [WWW_A], f"first answer {r1.values(T_A)}, expected [{WWW_A}]")
    t1 = answer_ttl(r1, T_A)
    check(WWW_TTL - 5 <= t1 <= WWW_TTL, f"first TTL {t1}, expected about {WWW_TTL} (a fresh miss)")
    expect_no_ede(r1)
    r2, dt2 = q("www.test")
    expect(r2, NOERROR, ra=True, aa=False)
    check(r2.values(T_A) == [WWW_A], f"second answer {r2.values(T_A)}")
    t2 = answer_ttl(r2, T_A)
    check(t2 <= t1, f"second TTL {t2} > first TTL {t1}")
    check(dt2 < 0.5, f"cached answer took {dt2:.3f} s")
    time.sleep(2)
    r3, _ = q("www.test")
    t3 = answer_ttl(r3, T_A)
    check(t3 <= t2 - 1, f"TTL {t3} 2 s after {t2}: not aged by at least 1")
    # one miss, then two fresh hits, in the Prometheus export too
    hits = rig_prom("holdfast_hits_fresh_total") - hits0
    misses = rig_prom("holdfast_misses_total") - misses0
    check((hits, misses) == (2, 1), f"holdfast_hits_fresh_total +{hits}, "
          f"holdfast_misses_total +{misses}; want +2 and +1")


def case_ttl_decreases():
    ta1 = time.monotonic()
    r1, _ = q("www.test", T_AAAA)
    tb1 = time.monotonic()
    expect(r1, NOERROR)
    t1 = answer_ttl(r1, T_AAAA)
    time.sleep(3.5)  # half a second from the bounds' edges
    ta2 = time.monotonic()
    r2, _ = q("www.test", T_AAAA)
    tb2 = time.monotonic()
    t2 = answer_ttl(r2, T_AAAA)
    # the TTL ages in whole seconds: answers dt apart differ by floor(dt) .. ceil(dt)
    lo, hi = math.floor(ta2 - tb1), math.ceil(tb2 - ta1)
    check(lo <= t1 - t2 <= hi, f"TTL went {t1} -> {t2} in {ta2 - tb1:.2f} .. {tb2 - ta1:.2f} s")


def case_cname():
    r, _ = q("alias.test")
    expect(r, NOERROR, ra=True, aa=False)
    types = [rr.type for rr in r.answer]
    check(types[:1] == [T_CNAME] and r.values(T_CNAME) == ["www.test."],
          f"expected CNAME www.test. first: {r.summary()}")
    check(r.values(T_A) == [WWW_A], f"expected the target's A {WWW_A}: {r.summary()}")


def case_0x20_case_kept():
    for name in ("MiXeD.TeSt", "mIxEd.tEsT"):  # a miss, then a hit
        wire = build_query(name, T_A)
        data, _ = RIG.client.exchange(wire)
        check(data is not None, f"no answer to {name}")
        r = Response(data)
        expect(r, NOERROR)
        sent_q = question_wire(wire)
        check(r.counts[0] == 1, f"QDCOUNT {r.counts[0]}")
        check(question_wire(r.wire) == sent_q,
              f"question bytes differ: sent {sent_q!r}, got {question_wire(r.wire)!r}")
        check(r.values(T_A) == [MIXED_A], f"answer for {name}: {r.summary()}")


def case_aaaa_over_ipv6():
    r, _ = q("www.test", T_AAAA, server=RIG.lab["HF_LAB_SERVICE6"])
    expect(r, NOERROR, ra=True, aa=False)
    check(r.values(T_AAAA) == [WWW_AAAA], f"expected {WWW_AAAA}: {r.summary()}")
    r, _ = q("www.test", T_A, server=RIG.lab["HF_LAB_SERVICE6"])
    check(r.values(T_A) == [WWW_A], f"A over IPv6: {r.summary()}")


def host_mac():
    with open(f"/sys/class/net/{RIG.lab['HF_LAB_HOST_IF']}/address") as f:
        return f.read().strip().lower()


def case_arp_answered():
    ns, cif = RIG.lab["HF_LAB_NETNS"], RIG.lab["HF_LAB_CLIENT_IF"]
    subprocess.run(["ip", "-n", ns, "neigh", "flush", "dev", cif], check=False)
    r = RIG.nsexec("arping", "-c", "1", "-w", "3", "-I", cif, RIG.lab["HF_LAB_SERVICE4"])
    # iputils: "Unicast reply from 198.18.53.1 [42:9D:..]"; Habets' arping: "... bytes from 42:9d:.. (198.18.53.1)"
    m = re.search(r"(?:reply|from)\b.*?([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})", r.stdout)
    check(r.returncode == 0 and m, f"no ARP reply (arping status {r.returncode}): {r.stdout.strip()[-300:]}")
    check(m.group(1).lower() == host_mac(), f"ARP reply MAC {m.group(1).lower()}, host veth is {host_mac()}")
    # and the kernel's own resolution works: a query right after a flush
    subprocess.run(["ip", "-n", ns, "neigh", "flush", "dev", cif], check=False)
    r2, _ = q("www.test")
    expect(r2, NOERROR)


def case_nd_answered():
    ns, cif = RIG.lab["HF_LAB_NETNS"], RIG.lab["HF_LAB_CLIENT_IF"]
    subprocess.run(["ip", "-n", ns, "-6", "neigh", "flush", "dev", cif], check=False)
    r = RIG.nsexec("ndisc6", "-1", "-r", "2", "-w", "1500", RIG.lab["HF_LAB_SERVICE6"], cif)
    m = re.search(r"Target link-layer address:\s*([0-9A-Fa-f:]{17})", r.stdout)
    check(r.returncode == 0 and m, f"no neighbor advertisement (ndisc6 status {r.returncode}): "
          f"{r.stdout.strip()[-300:]}")
    check(m.group(1).lower() == host_mac(), f"ND target MAC {m.group(1).lower()}, host veth is {host_mac()}")
    subprocess.run(["ip", "-n", ns, "-6", "neigh", "flush", "dev", cif], check=False)
    r2, _ = q("www.test", T_AAAA, server=RIG.lab["HF_LAB_SERVICE6"])
    expect(r2, NOERROR)


def case_nxdomain_cached():
    name = rnd("nx") + ".test"
    r1, _ = q(name)
    expect(r1, NXDOMAIN, ra=True, aa=False)
    check(not r1.answer, f"NXDOMAIN with answer records: {r1.summary()}")
    s1 = soa_of(r1)
    check(s1.name == "test.", f"SOA owner {s1.name}")
    check(NEG_TTL - 2 <= s1.ttl <= NEG_TTL, f"SOA TTL {s1.ttl}, expected {NEG_TTL} (SOA MINIMUM)")
    time.sleep(1.5)
    r2, dt = q(name)
    expect(r2, NXDOMAIN)
    s2 = soa_of(r2)
    check(s2.ttl < s1.ttl or s2.ttl < NEG_TTL, f"second SOA TTL {s2.ttl} not below {s1.ttl}: not from cache?")
    check(s2.ttl >= NEG_TTL - 5, f"second SOA TTL {s2.ttl} aged too much")
    check(dt < 0.5, f"cached NXDOMAIN took {dt:.3f} s")
    # NODATA: a name that exists, a type that does not
    r3, _ = q("www.test", T_TXT)
    expect(r3, NOERROR)
    check(not r3.answer, f"NODATA with an answer: {r3.summary()}")
    check(soa_of(r3).ttl <= NEG_TTL, f"NODATA SOA TTL {soa_of(r3).ttl}")


def case_truncation():
    # big.test TXT is about 2000 bytes: over holdfast's 1232 and a client's 512.
    for kw, limit in (({"bufsize": 512}, 512), ({"bufsize": 4096}, EDNS_BUFSIZE),
                      ({"bufsize": 1232}, 1232), ({"edns": False}, 512)):
        r, _ = q("big.test", T_TXT, **kw)
        expect(r, NOERROR, tc=True)
        check(len(r.wire) <= limit, f"{len(r.wire)} bytes sent to a client allowing {limit} ({kw})")
        check(r.counts[0] == 1, f"truncated answer without the question ({kw})")
    # mid.test TXT (about 800 bytes) fits EDNS 1232 but not 512.
    r, _ = q("mid.test", T_TXT, bufsize=1232)
    expect(r, NOERROR, tc=False)
    check(len(r.records(T_TXT)) == 3, f"mid.test TXT at 1232: {r.summary()}")
    check(len(r.wire) > 512, f"mid.test answer only {len(r.wire)} bytes")
    for kw in ({"bufsize": 512}, {"edns": False}):
        r, _ = q("mid.test", T_TXT, **kw)
        expect(r, NOERROR, tc=True)
        check(len(r.wire) <= 512, f"{len(r.wire)} bytes to a 512-byte client ({kw})")
    # a small answer at 512 is not truncated
    for kw in ({"bufsize": 512}, {"edns": False}):
        r, _ = q("www.test", T_A, **kw)
        expect(r, NOERROR, tc=False)
        check(r.values(T_A) == [WWW_A], f"www.test at {kw}: {r.summary()}")


def case_edns():
    r, _ = q("www.test", bufsize=4096)
    expect(r, NOERROR)
    check(r.opt is not None, f"no OPT in the answer to an EDNS query: {r.summary()}")
    check(r.opt["udp"] == EDNS_BUFSIZE, f"OPT UDP size {r.opt['udp']}, expected {EDNS_BUFSIZE}")
    check(r.opt["version"] == 0, f"OPT version {r.opt['version']}")
    check(not r.opt["do"], "DO set in the answer to a query without DO")
    r, _ = q("www.test", edns=False)
    expect(r, NOERROR)
    check(r.opt is None and not r.records(T_OPT, r.additional), f"OPT in an answer to a non-EDNS query: {r.summary()}")
    r, _ = q("www.test", do=True)
    expect(r, NOERROR)
    check(r.opt is not None and r.opt["do"], f"DO not echoed: {r.summary()}")
    r, _ = q("www.test", edns_version=1)
    check(r.opt is not None, f"BADVERS needs an OPT: {r.summary()}")
    expect(r, BADVERS)
    check(r.opt["version"] == 0, f"BADVERS answer with OPT version {r.opt['version']}")
    check(not r.answer, f"BADVERS with answer records: {r.summary()}")
    check(len(r.questions) == 1 and r.questions[0][1] == T_A, f"BADVERS without the question: {r.summary()}")


def raw_exchange(wire, timeout=2.0):
    data, _ = RIG.client.exchange(wire, timeout=timeout)
    return data


def expect_rcode_raw(wire, rcode, what):
    data = raw_exchange(wire)
    check(data is not None, f"{what}: no answer (expected {rcode_name(rcode)})")
    check(len(data) >= 12, f"{what}: {len(data)}-byte answer")
    qid, flags = struct.unpack("!HH", data[:4])
    check(qid == struct.unpack("!H", wire[:2])[0], f"{what}: answer ID {qid}, query ID {wire[:2].hex()}")
    check(flags & 0x8000, f"{what}: QR not set")
    check(flags & 0xF == rcode, f"{what}: rcode {rcode_name(flags & 0xF)}, expected {rcode_name(rcode)}")
    return data


def case_formerr():
    # Malformed on purpose, so built by hand (dnspython makes none of these):
    # a header (ID, RD, QDCOUNT 1) and what follows it.
    qid = random.randrange(65536)
    hdr = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    www_test = b"\x03www\x04test\x00"
    # a label that runs past the end of the packet
    expect_rcode_raw(hdr + b"\x0awww", FORMERR, "qname past the end")
    # question name complete but type/class cut off
    expect_rcode_raw(hdr + www_test + b"\x00", FORMERR, "truncated qtype/qclass")
    # a compression pointer in the question name (pointing at the header)
    expect_rcode_raw(hdr + b"\x03www\xc0\x00" + struct.pack("!HH", T_A, C_IN), FORMERR,
                     "compression pointer in qname")
    # two questions
    two = struct.pack("!HHHHHH", qid, 0x0100, 2, 0, 0, 0) + (www_test + struct.pack("!HH", 1, 1)) * 2
    expect_rcode_raw(two, FORMERR, "QDCOUNT 2")
    # no question at all
    expect_rcode_raw(struct.pack("!HHHHHH", qid, 0x0100, 0, 0, 0, 0), FORMERR, "QDCOUNT 0")
    # a COOKIE option (10) of 3 bytes, neither a client cookie (8) nor client
    # + server cookie (16..40): FORMERR with an OPT (RFC 7873 5.2.2); 8 is fine
    for olen in (3, 8):
        wire = build_query("www.test", qid=qid,
                           options=[dns.edns.GenericOption(OPT_COOKIE, bytes(range(1, olen + 1)))])
        what = f"COOKIE of {olen} bytes"
        r = Response(expect_rcode_raw(wire, FORMERR if olen == 3 else NOERROR, what))
        check(r.opt is not None and r.opt["udp"] == EDNS_BUFSIZE, f"{what}: OPT {r.opt}: {r.summary()}")
        if olen == 3:
            check(not r.questions and not r.answer, f"{what}: FORMERR with records: {r.summary()}")
        else:
            check(r.values(T_A) == [WWW_A], f"{what}: {r.summary()}")


def case_no_answer_to_garbage():
    # a response (QR=1) is never answered
    wire = bytearray(build_query("www.test"))
    wire[2] |= 0x80
    data = raw_exchange(bytes(wire), timeout=1.0)
    check(data is None, f"a QR=1 packet was answered: {data[:16].hex() if data else ''}")
    # a packet too short for a header is dropped
    data = raw_exchange(b"\x12\x34\x01", timeout=1.0)
    check(data is None, "a 3-byte packet was answered")
    # and holdfast still answers afterwards
    r, _ = q("www.test")
    expect(r, NOERROR)


def case_opcode_and_class():
    for op, name in ((OP_NOTIFY, "NOTIFY"), (OP_UPDATE, "UPDATE"), (2, "STATUS")):
        r, _ = q("www.test", opcode=op)
        check(r.rcode == NOTIMP, f"opcode {name}: {r.summary()}, expected NOTIMP")
        check(r.opcode == op, f"opcode {name}: answer has opcode {r.opcode}")
    r, _ = q("www.test", 252)  # AXFR over UDP: NOTIMP, question echoed
    check(r.rcode == NOTIMP, f"AXFR: {r.summary()}, expected NOTIMP")
    check(len(r.questions) == 1 and r.questions[0][1] == 252, f"AXFR NOTIMP without the question: {r.summary()}")
    r, _ = q("www.test", T_A, qclass=C_CH)
    check(r.rcode == REFUSED, f"class CH: {r.summary()}, expected REFUSED")
    r, _ = q("www.test", T_A, qclass=254)  # NONE: a class other than IN, like CH
    check(r.rcode == REFUSED, f"class NONE: {r.summary()}, expected REFUSED")
    check(len(r.questions) == 1 and r.questions[0][2] == 254, f"class NONE REFUSED without the question: {r.summary()}")


def case_checksums_and_addresses():
    """Capture the answer frames in the client namespace and check every
    header byte holdfast wrote: MACs, IP addresses, ports, lengths, the
    IPv4 header checksum and the UDP checksum (never 0, always right).
    A query with IPv4 options gets an answer without them (IHL 5)."""
    cif = RIG.lab["HF_LAB_CLIENT_IF"]
    out = subprocess.run(["ip", "-n", RIG.lab["HF_LAB_NETNS"], "-o", "link", "show", cif],
                         stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"link/ether ([0-9a-f:]{17})", out)
    check(m, f"cannot read the client veth's MAC: {out!r}")
    client_mac = m.group(1)
    nops = b"\x01\x01\x01\x00"  # IPv4 options: NOP NOP NOP EOL (IHL 6)
    for server, fam, opts in ((RIG.lab["HF_LAB_SERVICE4"], socket.AF_INET, b""),
                              (RIG.lab["HF_LAB_SERVICE4"], socket.AF_INET, nops),
                              (RIG.lab["HF_LAB_SERVICE6"], socket.AF_INET6, b"")):
        cap = RIG.netns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        udp = RIG.netns.socket(fam)
        try:
            if opts:
                udp.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, opts)
            cap.bind((cif, 0))
            udp.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
            udp.connect((server, 53))
            port = udp.getsockname()[1]
            udp.send(build_query("www.test", T_A if fam == socket.AF_INET else T_AAAA))
            frame, deadline = None, time.monotonic() + 3
            while time.monotonic() < deadline:
                cap.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data, addr = cap.recvfrom(65535)
                except socket.timeout:
                    break
                if addr[2] == 4:  # PACKET_OUTGOING: our own query
                    if opts and data[12:14] == b"\x08\x00":
                        check(data[14] == 0x46, f"the query went out with IHL byte {data[14]:#x}, not 0x46 "
                              "(IP_OPTIONS not applied)")
                    continue
                et = struct.unpack("!H", data[12:14])[0]
                if fam == socket.AF_INET and et == 0x0800 and data[23] == 17:
                    ihl = (data[14] & 0xF) * 4
                    if struct.unpack("!HH", data[14 + ihl:18 + ihl]) == (53, port):
                        frame = data
                        break
                if fam == socket.AF_INET6 and et == 0x86DD and data[20] == 17:
                    if struct.unpack("!HH", data[54:58]) == (53, port):
                        frame = data
                        break
            check(frame is not None, f"no answer frame from {server} captured on {cif}")
            check(frame[6:12].hex(":") == host_mac(),
                  f"Ethernet source {frame[6:12].hex(':')}, host veth is {host_mac()}")
            check(frame[0:6].hex(":") == client_mac,
                  f"Ethernet destination {frame[0:6].hex(':')}, client veth is {client_mac}")
            if fam == socket.AF_INET:
                ip = frame[14:]
                ihl = (ip[0] & 0xF) * 4
                check(ip[0] >> 4 == 4 and ihl >= 20, f"IPv4 version/IHL byte {ip[0]:#x}")
                check(ihl == 20, f"answer with IHL {ihl // 4} (options {'sent' if opts else 'not sent'}): "
                      "answers carry no IPv4 options")
                tot = struct.unpack("!H", ip[2:4])[0]
                check(tot <= len(ip), f"IPv4 total length {tot} > {len(ip)} bytes on the wire")
                ip = ip[:tot]
                check(inet_sum(ip[:ihl]) == 0xFFFF, f"bad IPv4 header checksum {ip[10:12].hex()}")
                check(ip[8] > 0, "IPv4 TTL 0")
                check(socket.inet_ntop(socket.AF_INET, ip[12:16]) == server, "IPv4 source is not the service address")
                check(socket.inet_ntop(socket.AF_INET, ip[16:20]) == RIG.lab["HF_LAB_CLIENT4"], "IPv4 destination")
                seg = ip[ihl:]
                pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(seg))
            else:
                ip = frame[14:]
                plen = struct.unpack("!H", ip[4:6])[0]
                check(ip[0] >> 4 == 6, f"IPv6 version {ip[0] >> 4}")
                check(40 + plen <= len(ip), f"IPv6 payload length {plen} > what is on the wire")
                check(ip[7] > 0, "IPv6 hop limit 0")
                check(socket.inet_ntop(socket.AF_INET6, ip[8:24]) == server, "IPv6 source is not the service address")
                check(socket.inet_ntop(socket.AF_INET6, ip[24:40]) == RIG.lab["HF_LAB_CLIENT6"], "IPv6 destination")
                seg = ip[40:40 + plen]
                pseudo = ip[8:40] + struct.pack("!IxxxB", len(seg), 17)
            ulen, csum = struct.unpack("!HH", seg[4:8])
            check(ulen == len(seg), f"UDP length {ulen}, segment is {len(seg)} bytes")
            check(csum != 0, "UDP checksum 0 (none)")
            check(inet_sum(pseudo + seg) == 0xFFFF, f"bad UDP checksum {csum:#06x}")
            r = Response(seg[8:])
            expect(r, NOERROR)
        finally:
            cap.close()
            udp.close()



def ip6_frame(dst_mac, src_mac, src, dst, proto, l4, csum_at, hop=64, zero_sum=False, bad_sum=False):
    s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    if not zero_sum:
        csum = 0xFFFF - inet_sum(s6 + d6 + struct.pack("!IxxxB", len(l4), proto) + l4) or 0xFFFF
        l4 = l4[:csum_at] + struct.pack("!H", csum ^ (0x0101 if bad_sum else 0)) + l4[csum_at + 2:]
    ip = struct.pack("!IHBB", 6 << 28, len(l4), proto, hop) + s6 + d6
    return dst_mac + src_mac + b"\x86\xdd" + ip + l4


def case_bad_sources_dropped():
    """Frames holdfast must not answer (reflection, flooding the segment,
    RFC 4861 7.1.1 discards) are dropped and counted by reason; the same
    query from a good source, sent the same way, is answered."""
    cif = RIG.lab["HF_LAB_CLIENT_IF"]
    cmac = bytes.fromhex(RIG.nsexec("cat", f"/sys/class/net/{cif}/address").stdout.strip().replace(":", ""))
    hmac = bytes.fromhex(host_mac().replace(":", ""))
    s4, c4, s6, c6 = (RIG.lab["HF_LAB_SERVICE4"], RIG.lab["HF_LAB_CLIENT4"], RIG.lab["HF_LAB_SERVICE6"],
                      RIG.lab["HF_LAB_CLIENT6"])
    qry = build_query("www.test", T_A)
    udp6 = struct.pack("!HHHH", 40000, 53, 8 + len(qry), 0) + qry
    t6 = socket.inet_pton(socket.AF_INET6, s6)
    ns = struct.pack("!BBHI", 135, 0, 0, 0) + t6
    sllao = struct.pack("!BB", 1, 1) + cmac
    cases = [  # (what, frame, drop reason)
        ("IPv4 from 0.0.0.0", udp4_frame(hmac, cmac, "0.0.0.0", s4, qry), "bad_source"),
        ("IPv4 from 255.255.255.255", udp4_frame(hmac, cmac, "255.255.255.255", s4, qry), "bad_source"),
        ("IPv4 from 224.0.0.1", udp4_frame(hmac, cmac, "224.0.0.1", s4, qry), "bad_source"),
        ("IPv4 from 127.0.0.1", udp4_frame(hmac, cmac, "127.0.0.1", s4, qry), "bad_source"),
        ("IPv4 from the service address", udp4_frame(hmac, cmac, s4, s4, qry), "bad_source"),
        ("from the broadcast MAC", udp4_frame(hmac, b"\xff" * 6, c4, s4, qry), "bad_l2"),
        ("from a multicast MAC", udp4_frame(hmac, b"\x01\x00\x5e\x00\x00\x01", c4, s4, qry), "bad_l2"),
        ("to another host's MAC", udp4_frame(b"\x02\x00\x00\x00\x00\x99", cmac, c4, s4, qry), "bad_l2"),
        ("IPv4 with a bad header checksum", udp4_frame(hmac, cmac, c4, s4, qry, bad_ip_sum=True), "bad_cksum"),
        ("IPv6 UDP with checksum 0", ip6_frame(hmac, cmac, c6, s6, 17, udp6, 6, zero_sum=True), "bad_cksum"),
        ("IPv6 from ::", ip6_frame(hmac, cmac, "::", s6, 17, udp6, 6), "bad_source"),
        ("IPv6 from ::1", ip6_frame(hmac, cmac, "::1", s6, 17, udp6, 6), "bad_source"),
        ("IPv6 from ff02::1", ip6_frame(hmac, cmac, "ff02::1", s6, 17, udp6, 6), "bad_source"),
        ("IPv6 from the service address", ip6_frame(hmac, cmac, s6, s6, 17, udp6, 6), "bad_source"),
        ("NS with a bad checksum", ip6_frame(hmac, cmac, c6, s6, 58, ns + sllao, 2, hop=255, bad_sum=True),
         "bad_cksum"),
        ("NS with a zero-length option", ip6_frame(hmac, cmac, c6, s6, 58, ns + b"\x01\x00" + cmac, 2, hop=255),
         "malformed_l3"),
        ("NS from :: with a source link-layer option", ip6_frame(hmac, cmac, "::", s6, 58, ns + sllao, 2, hop=255),
         "malformed_l3"),
    ]
    # one frame at a time, each with its own before and after: the
    # namespace's kernel sends ND and MLD of its own now and then
    controls = [("a good IPv4 query", udp4_frame(hmac, cmac, c4, s4, qry), "answers"),
                ("a good IPv6 query", ip6_frame(hmac, cmac, c6, s6, 17, udp6, 6), "answers"),
                ("a good NS", ip6_frame(hmac, cmac, c6, s6, 58, ns + sllao, 2, hop=255), "nd_replies")]
    reasons = sorted({r for _, _, r in cases})
    prom0 = {r: rig_prom("holdfast_drops_total", reason=r) for r in reasons}
    raw = RIG.netns.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        raw.bind((cif, 0))
        for what, frame, reason in controls + cases:
            b = ctl_stats()
            raw.send(frame)
            time.sleep(0.15)
            a = ctl_stats()
            if reason in ("answers", "nd_replies"):
                check(a[reason] - b[reason] == 1, f"{what}: {reason} rose by {a[reason] - b[reason]}, not 1")
                continue
            got = a["drops"][reason] - b["drops"][reason]
            check(got == 1, f"{what}: drops.{reason} rose by {got}, not 1")
            moved = "nd_replies" if frame[12:14] == b"\x86\xdd" and frame[20] == 58 else "answers"
            check(a[moved] == b[moved], f"{what}: answered ({moved} rose by {a[moved] - b[moved]})")
    finally:
        raw.close()
    # the Prometheus export counts the same drops
    for r in reasons:
        n = sum(1 for _, _, x in cases if x == r)
        got = rig_prom("holdfast_drops_total", reason=r) - prom0[r]
        check(got == n, f"holdfast_drops_total{{reason=\"{r}\"}} rose by {got}, want {n}")


SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 0x10, 0x40
VLAN_ID = 53


def vlan_tagged(frame, vid=VLAN_ID):
    """frame with an 802.1Q tag (priority 0) after its MAC addresses."""
    return frame[:12] + struct.pack("!HH", 0x8100, vid) + frame[12:]


def case_vlan():
    """VLAN-tagged queries (IPv4, IPv6) and an ARP request, sent as raw
    frames on the client veth (this kernel may have no 802.1Q devices):
    each answered with the same tag (the kernel takes it off on receipt:
    PACKET_AUXDATA of a capture on the client veth shows it), the right
    data, and counted once."""
    cif = RIG.lab["HF_LAB_CLIENT_IF"]
    cmac = bytes.fromhex(RIG.nsexec("cat", f"/sys/class/net/{cif}/address").stdout.strip().replace(":", ""))
    hmac = bytes.fromhex(host_mac().replace(":", ""))
    s4, c4, s6, c6 = (RIG.lab["HF_LAB_SERVICE4"], RIG.lab["HF_LAB_CLIENT4"], RIG.lab["HF_LAB_SERVICE6"],
                      RIG.lab["HF_LAB_CLIENT6"])
    q4, q6 = build_query("www.test", T_A, qid=5301), build_query("www.test", T_AAAA, qid=5302)
    udp6 = struct.pack("!HHHH", 40000, 53, 8 + len(q6), 0) + q6
    arp = (b"\xff" * 6 + cmac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + cmac
           + socket.inet_aton(c4) + b"\x00" * 6 + socket.inet_aton(s4))
    sends = [("IPv4 query", vlan_tagged(udp4_frame(hmac, cmac, c4, s4, q4))),
             ("IPv6 query", vlan_tagged(ip6_frame(hmac, cmac, c6, s6, 17, udp6, 6))),
             ("ARP request", vlan_tagged(arp))]
    raw = RIG.netns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    try:
        raw.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        raw.bind((cif, 0))
        b = ctl_stats()
        for what, frame in sends:
            raw.send(frame)
            got, deadline = None, time.monotonic() + 3
            while got is None and time.monotonic() < deadline:
                raw.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data, anc, _, addr = raw.recvmsg(65535, socket.CMSG_SPACE(32))
                except socket.timeout:
                    break
                if addr[2] == 4 or data[6:12] != hmac:  # our own frame, or not from holdfast
                    continue
                et = struct.unpack("!H", data[12:14])[0]
                if what == "ARP request" and et == 0x0806:
                    got = (data, anc)
                elif what == "IPv4 query" and et == 0x0800 and data[23] == 17 and data[42:44] == q4[:2]:
                    got = (data, anc)
                elif what == "IPv6 query" and et == 0x86DD and data[20] == 17 and data[62:64] == q6[:2]:
                    got = (data, anc)
            check(got is not None, f"VLAN {VLAN_ID} {what}: no answer captured on {cif} within 3 s")
            data, anc = got
            aux = [d for lvl, typ, d in anc if lvl == SOL_PACKET and typ == PACKET_AUXDATA]
            check(aux and len(aux[0]) >= 20, f"{what}: no PACKET_AUXDATA with the frame")
            status, _, _, _, _, tci, tpid = struct.unpack("=IIIHHHH", aux[0][:20])
            check(status & TP_STATUS_VLAN_VALID, f"{what}: the answer came untagged (VLAN {VLAN_ID} asked)")
            check(tci == VLAN_ID, f"{what}: answer tagged TCI {tci:#06x}, expected VLAN {VLAN_ID}, priority 0")
            check(not status & TP_STATUS_VLAN_TPID_VALID or tpid == 0x8100, f"{what}: TPID {tpid:#06x}")
            check(data[0:6] == cmac, f"{what}: to {data[0:6].hex(':')}, not the client")
            if what == "ARP request":
                check(data[14:22] == struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) and data[22:28] == hmac
                      and data[28:32] == socket.inet_aton(s4) and data[32:38] == cmac
                      and data[38:42] == socket.inet_aton(c4), f"ARP reply {data[14:42].hex()}")
                continue
            r = Response(data[42:] if what == "IPv4 query" else data[62:])
            expect(r, NOERROR)
            want = [WWW_A] if what == "IPv4 query" else [WWW_AAAA]
            check(r.values(T_A if what == "IPv4 query" else T_AAAA) == want, f"{what}: {r.summary()}")
        a = ctl_stats()
        check((a["answers"] - b["answers"], a["arp_replies"] - b["arp_replies"]) == (2, 1),
              f"answers rose by {a['answers'] - b['answers']}, arp_replies by "
              f"{a['arp_replies'] - b['arp_replies']}: expected 2 and 1")
    finally:
        raw.close()


def case_waiters_all_answered():
    """20 clients ask the same uncached name at once: every one gets its
    own answer (its ID, its 0x20 spelling), from one upstream resolution."""
    name, want = "gen-500.test", "203.0.113.246"
    socks, sent = [], {}
    try:
        for i in range(20):
            s = RIG.netns.socket(socket.AF_INET)
            s.connect((RIG.lab["HF_LAB_SERVICE4"], 53))
            spelled = "".join(ch.upper() if random.random() < 0.5 else ch for ch in name)
            wire = build_query(spelled, T_A, qid=1000 + i)
            socks.append(s)
            sent[s.fileno()] = wire
        for s in socks:
            s.send(sent[s.fileno()])
        deadline = time.monotonic() + 5
        got = 0
        for s in socks:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            wire = sent[s.fileno()]
            r = Response(data)
            expect(r, NOERROR)
            check(r.id == struct.unpack("!H", wire[:2])[0], f"answer ID {r.id} on a socket that asked {wire[:2].hex()}")
            check(r.questions and question_wire(r.wire) == question_wire(wire),
                  f"question bytes not echoed for {wire[12:30]!r}")
            check(r.values(T_A) == [want], f"{r.summary()}")
            got += 1
        check(got == len(socks), f"only {got} of {len(socks)} parked clients answered")
    finally:
        for s in socks:
            s.close()


def ask_all(names, qtype=T_A, chunk=300, timeout=8.0, meanwhile=None):
    """Ask every name once from one socket (one flow, so one worker core),
    chunk queries back to back, then (after meanwhile(), when given) their
    answers; the query ID is the name's index. Returns the Responses in the
    order of names; fails the case when one is missing."""
    s = RIG.netns.socket(socket.AF_INET)
    got = {}
    try:
        s.connect((RIG.lab["HF_LAB_SERVICE4"], 53))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for first in range(0, len(names), chunk):
            ids = range(first, min(first + chunk, len(names)))
            for i in ids:
                s.send(build_query(names[i], qtype, qid=i))
            if meanwhile is not None:
                meanwhile()
            deadline = time.monotonic() + timeout
            while any(i not in got for i in ids) and time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                r = Response(data)
                got[r.id] = r
            missing = [names[i] for i in ids if i not in got]
            check(not missing, f"{len(missing)} of {len(ids)} names unanswered within {timeout:g} s, "
                  f"first {missing[0] if missing else ''}")
    finally:
        s.close()
    return [got[i] for i in range(len(names))]


def case_burst_of_misses():
    """300 different uncached names sent back to back from one socket: all
    answered, each with its own data."""
    ns = range(600, 900)
    rs = ask_all([f"gen-{n}.test" for n in ns])
    wrong = [r.summary() for n, r in zip(ns, rs)
             if r.rcode != NOERROR or r.values(T_A) != [f"203.0.113.{(n - 1) % 254 + 1}"]]
    check(not wrong, f"{len(wrong)} wrong answers, first: {wrong[:1]}")


# --- serve-stale, instance 1 (client timeout 1.8 s, recheck 30 s)

STATE = {}


def prime_stale_names():
    r, _ = q("short.test")
    expect(r, NOERROR)
    check(r.values(T_A) == [SHORT_A], f"short.test: {r.summary()}")
    check(answer_ttl(r, T_A) <= 2, f"short.test TTL {answer_ttl(r, T_A)}")
    nx = rnd("nx") + ".stale.test"
    r, _ = q(nx)
    expect(r, NXDOMAIN)
    check(soa_of(r).ttl <= STALE_ZONE_NEG_TTL, f"stale.test negative TTL {soa_of(r).ttl}")
    STATE["nx"] = nx


def case_stale_client_timeout():
    """Upstream silent (knotd paused): a stale hit waits for the refresh
    for the client timeout (1.8 s), then gets the stale answer."""
    prime_stale_names()
    RIG.upstream("pause")
    time.sleep(3)  # short.test (TTL 2) has expired
    r, dt = q("short.test", timeout=6)
    expect(r, NOERROR, ra=True, aa=False)
    check(r.values(T_A) == [SHORT_A], f"stale answer {r.summary()}")
    check(answer_ttl(r, T_A) == STALE_TTL, f"stale TTL {answer_ttl(r, T_A)}, expected {STALE_TTL}")
    check(EDE_STALE in r.ede_codes(), f"no EDE 3 (Stale Answer): {r.summary()}")
    check(dt <= 3.5, f"took {dt:.2f} s")


def case_stale_upstream_refused():
    """Upstream gone (ICMP port unreachable): stale within the client
    timeout. When exactly depends on the refresh stale_client_timeout left
    in flight (its last attempt, refused now, still waits out its 1 s: an
    ICMP error does not end an attempt); servfail_nothing_cached times a
    resolution against the stopped upstream from its start."""
    RIG.upstream("stop")
    r, dt = q("short.test", timeout=6)
    expect(r, NOERROR)
    check(r.values(T_A) == [SHORT_A], f"stale answer {r.summary()}")
    check(answer_ttl(r, T_A) == STALE_TTL, f"stale TTL {answer_ttl(r, T_A)}")
    check(EDE_STALE in r.ede_codes(), f"no EDE 3: {r.summary()}")
    check(dt <= 3.5, f"took {dt:.2f} s")


def case_servfail_nothing_cached():
    """Upstream stopped: every attempt gets ICMP port unreachable, and each
    still waits out its upstream-timeout (1 s) since a forged ICMP must not
    end it: SERVFAIL with EDE 22 "connection refused" after the three
    attempts, about 3 s (it was at once before ICMP stopped counting)."""
    name = rnd("never-cached") + ".test"
    r, dt = q(name, timeout=8)
    expect(r, SERVFAIL, ra=True)
    check(r.ede_codes() == [EDE_NO_REACHABLE], f"expected EDE 22 (No Reachable Authority): {r.summary()}")
    check(any("connection refused" in t for _, t in r.ede), f"EDE text: {r.summary()}")
    check(2.8 <= dt <= 6, f"SERVFAIL after {dt:.2f} s, expected 3 attempts of 1 s")
    # the failure is cached (RFC 9520): the retry is answered at once, from
    # the cached entry, with the failure's own EDE and text (not EDE 13)
    r2, dt2 = q(name, timeout=8)
    expect(r2, SERVFAIL)
    check(r2.ede == r.ede, f"cached failure: EDE {r2.ede}, expected the failure's {r.ede}: {r2.summary()}")
    check(dt2 < 0.5, f"second SERVFAIL took {dt2:.2f} s: failure not cached")


def case_stale_nxdomain():
    nx = STATE.get("nx")
    check(nx, "not primed (an earlier case failed)")
    r, dt = q(nx, timeout=6)
    expect(r, NXDOMAIN, ra=True)
    check(EDE_STALE_NX in r.ede_codes(), f"expected EDE 19 (Stale NXDOMAIN Answer): {r.summary()}")
    s = soa_of(r)
    check(0 < s.ttl <= STALE_TTL, f"stale NXDOMAIN SOA TTL {s.ttl}")
    check(dt <= 3.5, f"took {dt:.2f} s")


# --- serve-stale, instance 2 (client timeout 0, recheck 1 s)

def case_stale_at_once():
    r, _ = q("short.test")
    expect(r, NOERROR)
    RIG.upstream("stop")
    time.sleep(3)
    r, dt = q("short.test", timeout=6)
    expect(r, NOERROR)
    check(r.values(T_A) == [SHORT_A], f"stale answer {r.summary()}")
    check(answer_ttl(r, T_A) == STALE_TTL, f"stale TTL {answer_ttl(r, T_A)}, expected {STALE_TTL}")
    check(EDE_STALE in r.ede_codes(), f"no EDE 3: {r.summary()}")
    check(dt < 0.5, f"client timeout 0, but the stale answer took {dt:.2f} s")


def case_upstream_back():
    RIG.upstream("start")
    r, _ = q(rnd("gen") + ".test")  # new name: resolved fresh (NXDOMAIN here)
    expect(r, NXDOMAIN)
    expect_no_ede(r)
    r, _ = q("gen-77.test")
    expect(r, NOERROR)
    expect_no_ede(r)
    check(r.values(T_A) == ["203.0.113.77"], f"gen-77.test: {r.summary()}")
    # the stale name comes back fresh once the failure recheck (1 s) passed
    t0, last = time.monotonic(), None
    while time.monotonic() - t0 < 6:
        last, _ = q("short.test")
        if not last.ede and last.records(T_A) and answer_ttl(last, T_A) <= 2:
            break
        time.sleep(0.5)
    expect(last, NOERROR)
    expect_no_ede(last)
    check(answer_ttl(last, T_A) <= 2, f"short.test TTL {answer_ttl(last, T_A)}: still stale after 6 s")


# --- instance 3 (edns-buffer-size 1400, cache-entries 1024)

CACHE_ENTRIES = 1024  # instance 3's cache-entries per core: the smallest allowed
# instance 3's edns-buffer-size: wide.test's answer fits, and the frame fits
# the veth's 1500-byte MTU (holdfast does not fragment)
WIDE_BUFSIZE = 1400


def zone_txt(owner):
    """The TXT strings of owner in tests/lab/zones/test.zone, as bytes."""
    with open(os.path.join(RIG.srcdir, "tests", "lab", "zones", "test.zone")) as f:
        return sorted(m.encode() for line in f if line.split()[:1] == [owner]
                      for m in re.findall(r'"([^"]*)"', line))


def case_tcp_fallback():
    """wide.test TXT (about 1300 bytes) comes back truncated from knotd, whose
    UDP payload is at most 1232 however much holdfast offers: control retries
    it over TCP once (control.tcp_retries +1) and caches all of it. With
    edns-buffer-size 1400 a client offering 1400 gets the whole RRset, TC=0;
    one offering 1232 gets TC=1; the second time it is a hit, no retry."""
    want = zone_txt("wide")
    check(len(want) == 5, f"test.zone has {len(want)} wide TXT strings, expected 5")
    t0 = ctl_json("stats")["control"]["tcp_retries"]
    r, _ = q("wide.test", T_TXT, bufsize=WIDE_BUFSIZE)
    t1 = ctl_json("stats")["control"]["tcp_retries"]
    check(t1 - t0 == 1, f"control.tcp_retries rose by {t1 - t0}, expected 1 (the truncated UDP answer)")
    expect(r, NOERROR, tc=False)
    check(sorted(s for v in r.values(T_TXT) for s in v) == want and len(r.values(T_TXT)) == 5,
          f"wide.test TXT at {WIDE_BUFSIZE}: not the zone's 5 strings: {r.summary()}")
    check(EDNS_BUFSIZE < len(r.wire) <= WIDE_BUFSIZE, f"answer of {len(r.wire)} bytes")
    r, _ = q("wide.test", T_TXT, bufsize=EDNS_BUFSIZE)
    expect(r, NOERROR, tc=True)
    check(len(r.wire) <= EDNS_BUFSIZE, f"{len(r.wire)} bytes to a client offering {EDNS_BUFSIZE}")
    r, dt = q("wide.test", T_TXT, bufsize=WIDE_BUFSIZE)
    expect(r, NOERROR, tc=False)
    check(len(r.values(T_TXT)) == 5 and dt < 0.5, f"wide.test again: {r.summary()} in {dt:.3f} s")
    t2 = ctl_json("stats")["control"]["tcp_retries"]
    check(t2 == t1, f"control.tcp_retries rose by {t2 - t1} for a cached answer")


def case_eviction():
    """cache-entries 1024 per core: 1024 + 300 names never asked (NXDOMAIN),
    once each. Every insert past the bound evicts one entry (cache_evictions
    + entries grown == names asked), the table stays at its bound; the 100
    asked last are still cached (hits), the 100 asked first are misses
    again (CLOCK: never-hit entries go in the order they came)."""
    def totals(*keys):
        return {k: ctl_json("stats")["total"][k] for k in keys}

    names = [rnd("ev") + ".test" for _ in range(CACHE_ENTRIES + 300)]
    s0 = ctl_json("stats", "--per-core")
    rs = ask_all(names)
    wrong = [r.summary() for r in rs if r.rcode != NXDOMAIN]
    check(not wrong, f"{len(wrong)} answers not NXDOMAIN, first: {wrong[:1]}")
    time.sleep(0.05)  # the gauges are published every millisecond
    s1 = ctl_json("stats", "--per-core")
    grown = s1["total"]["cache_entries"] - s0["total"]["cache_entries"]
    evicted = s1["total"]["cache_evictions"] - s0["total"]["cache_evictions"]
    check(grown + evicted == len(names), f"{len(names)} new names: cache_entries grew by {grown}, "
          f"cache_evictions by {evicted} (their sum must be the names)")
    full = [c["cache_entries"] for c in s1["per_core"]]
    check(max(full) == CACHE_ENTRIES, f"cache_entries per core {full}: none at its bound {CACHE_ENTRIES}")
    check(evicted >= len(names) - CACHE_ENTRIES, f"cache_evictions rose by {evicted}")
    for what, part, hits, misses in (("asked last", names[-100:], 100, 0), ("asked first", names[:100], 0, 100)):
        b = totals("hits_fresh", "misses")
        rs = ask_all(part)
        wrong = [r.summary() for r in rs if r.rcode != NXDOMAIN]
        check(not wrong, f"{what}: {len(wrong)} answers not NXDOMAIN, first: {wrong[:1]}")
        a = totals("hits_fresh", "misses")
        check((a["hits_fresh"] - b["hits_fresh"], a["misses"] - b["misses"]) == (hits, misses),
              f"the 100 names {what}: {a['hits_fresh'] - b['hits_fresh']} hits, {a['misses'] - b['misses']} "
              f"misses, expected {hits} and {misses}")

def case_second_instance_refused():
    """A second holdfast on the same interface stops at start-up with one
    line naming the interface and the first one's pid (with af_packet both
    would otherwise answer every query); the first keeps answering."""
    prefix = f"hf_e2e_{os.getpid()}_second"
    RIG.prefixes.append(prefix)
    cmd = [c if not c.startswith("--file-prefix=") else f"--file-prefix={prefix}" for c in RIG.cmd]
    # its own control socket: the first one's must not be touched
    cmd += ["--control-socket", os.path.join(RIG.lab["HF_LAB_DIR"], "second.sock")]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    want = (f"interface {RIG.lab['HF_LAB_HOST_IF']} is already driven by another holdfast "
            f"(pid {RIG.proc.pid},")
    check(r.returncode == 1 and want in r.stdout,
          f"second holdfast: status {r.returncode}, output tail {r.stdout[-400:]!r}; want status 1 and {want!r}")
    r1, _ = q("www.test")
    expect(r1, NOERROR)


def case_sighup_then_term():
    """SIGHUP reloads an unchanged file: nothing changes (holdfast keeps
    answering, tests/e2e/test_service.py has the reload's cases); SIGTERM then
    stops it with status 0, its shut-down counters logged and its control
    socket removed."""
    sock = RIG.sock
    check(os.path.exists(sock), f"no control socket at {sock}")
    RIG.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    check(RIG.proc.poll() is None, f"holdfast exited with status {RIG.proc.returncode} on SIGHUP")
    r, _ = q("www.test")
    expect(r, NOERROR)
    log = RIG.log_tail(20)
    check("holdfast: SIGHUP: reloading the configuration\n" in log and
          "holdfast: reload: applied: nothing changed; needs a restart (old value kept): none\n" in log,
          f"no reload lines for SIGHUP: {log[-300:]!r}")
    RIG.proc.send_signal(signal.SIGTERM)
    rc = RIG.proc.wait(timeout=10)
    RIG.stopped()  # this case stopped it: not a crash
    check(rc == 0, f"exit status {rc} after SIGTERM")
    check(not os.path.exists(sock), f"control socket {sock} left behind")
    log = RIG.log_tail(20)
    # one name per counter (docs/operations.md): the same names as stats
    w0 = re.search(r"holdfast: worker 0: waiters 0 rx_packets (\d+) queries (\d+) ", log)
    check(w0 is not None and int(w0.group(2)) >= 1 and "holdfast: control: in_flight 0 " in log and
          " drops.not_ours " in log and " rcode.NOERROR " in log,
          f"no shut-down counters in the log: {log[-300:]!r}")


def case_answer_fits_the_link():
    """edns-buffer-size 4096 on a 1500-byte link: holdfast says at start-up
    that UDP answers are at most 1452 bytes and keeps to it, so the
    2000-byte big.test answer to a client offering 4096 comes back TC=1
    (it retries over TCP) instead of being dropped by the link."""
    log = RIG.log_tail(200)
    want = "edns-buffer-size 4096 does not fit port 0's MTU 1500: UDP answers are at most 1452 bytes"
    check(want in log, f"no start-up line {want!r}")
    r, _ = q("big.test", T_TXT, bufsize=4096)
    expect(r, NOERROR, tc=True)
    check(len(r.wire) <= 1452, f"{len(r.wire)} bytes: more than the link carries")
    check(r.opt is not None and r.opt["udp"] == 1452, f"OPT advertises {r.opt and r.opt.get('udp')}, not 1452")
    r, _ = q("wide.test", T_TXT, bufsize=4096)
    expect(r, NOERROR, tc=False)


# --- fetch limits (issue 15)

class FloodUpstream:
    """A forwarder for holdfast on 127.0.0.1 (a thread of this process):
    questions below `silent` (with `first`: only those whose first label
    starts with it) are never answered, as an attacked zone's servers
    would not; every other question is relayed to knotd and its answer
    sent back."""

    def __init__(self, knotd, silent, first=None):
        host, _, port = knotd.partition("@")
        self.knotd = (host, int(port or 53))
        self.silent = dns.name.from_text(silent)
        self.first = first.encode() if first else None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.dropped = 0
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(1)
        while not self.stop:
            try:
                wire, peer = self.sock.recvfrom(65535)
                qname = dns.message.from_wire(wire).question[0].name
            except (socket.timeout, dns.exception.DNSException, IndexError):
                continue
            if qname.is_subdomain(self.silent) and (
                    self.first is None or qname.labels[0].lower().startswith(self.first)):
                self.dropped += 1
                continue
            try:
                up.sendto(wire, self.knotd)
                self.sock.sendto(up.recv(65535), peer)
            except socket.timeout:
                pass
        up.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


FLOOD_LIMIT, FLOOD_NAMES = 20, 60


def zone_limited():
    """Questions refused at fetches-per-zone: by control, and by the cores
    while control's refusal marks the zone (JSON, Prometheus)."""
    st = ctl_json("stats")
    return (st["control"]["fetch_limited"]["zone"] + st["total"]["fetch_limited_zone"],
            rig_prom("holdfast_control_fetch_limited_total", reason="zone")
            + rig_prom("holdfast_fetch_limited_zone_total"))


def flood_split(got, text, up):
    """The answers to FLOOD_NAMES flood names: FLOOD_LIMIT went upstream
    (their servers never answer: EDE 22), the rest SERVFAIL at once with
    EDE 0 and text; returns the indexes of the limited ones."""
    got = dict(enumerate(got))
    limited = [i for i, r in got.items() if r.rcode == SERVFAIL and r.ede == [(0, text)]]
    waited = [i for i, r in got.items() if r.rcode == SERVFAIL and r.ede_codes() == [EDE_NO_REACHABLE]]
    other = [got[i].summary() for i in got if i not in limited and i not in waited]
    check(not other, f"{len(other)} flood answers neither the limit's nor EDE 22, first {other[:1]}")
    check(len(limited) == FLOOD_NAMES - FLOOD_LIMIT and len(waited) == FLOOD_LIMIT,
          f"{len(limited)} limited, {len(waited)} sent upstream; expected "
          f"{FLOOD_NAMES - FLOOD_LIMIT} and {FLOOD_LIMIT}")
    check(up.dropped == FLOOD_LIMIT, f"the upstream saw {up.dropped} flood questions, expected {FLOOD_LIMIT}")
    return limited


def case_fetches_per_zone():
    """fetches-per-zone 20: a flood of 60 random names under victim.test,
    whose servers never answer, gets 20 resolutions; the other 40 get
    SERVFAIL at once with EDE 0 and the text naming the zone, counted by
    control.fetch_limited.zone, or by the core's fetch_limited_zone when
    the core answered it from control's mark (JSON and Prometheus); a
    question for
    another zone resolves during the flood; the limited answer is not
    cached (the same name asked again goes upstream). Then
    fetches-per-server 5, set by a reload: of 10 names, 5 go upstream and
    5 fail at once, counted by control.fetch_limited.server."""
    up = FloodUpstream(RIG.lab["HF_LAB_UPSTREAM"], "victim.test.")
    text = f"fetches-per-zone: {FLOOD_LIMIT} in flight for victim.test."

    def other_zone():
        # the 20 wait out their 1 s upstream timeout: meanwhile another zone resolves
        r, _ = q("gen-77.test")
        expect(r, NOERROR)
        check(r.values(T_A) == ["203.0.113.77"], f"gen-77.test during the flood: {r.summary()}")

    try:
        RIG.start(cli={"fetches-per-zone": str(FLOOD_LIMIT), "upstream-timeout": "1s", "upstream-attempts": "1"},
                  forwarder=f"127.0.0.1@{up.port}")
        zone0, prom0 = zone_limited()
        names = [rnd("flood") + ".victim.test" for _ in range(FLOOD_NAMES)]
        limited = flood_split(ask_all(names, timeout=6, meanwhile=other_zone), text, up)
        zone1, prom1 = zone_limited()
        check(zone1 - zone0 == len(limited), f"control.fetch_limited.zone and total.fetch_limited_zone rose by "
              f"{zone1 - zone0}, {len(limited)} answers limited")
        check(prom1 - prom0 == len(limited), f"holdfast_control_fetch_limited_total{{reason=\"zone\"}} and "
              f"holdfast_fetch_limited_zone_total rose by {prom1 - prom0}, {len(limited)} answers limited")
        # not cached: a limited name asked again is a miss; the zone has
        # room again, so it goes upstream (and times out, EDE 22)
        r, _ = q(names[limited[0]])
        expect(r, SERVFAIL)
        check(r.ede_codes() == [EDE_NO_REACHABLE], f"a limited name asked again: {r.summary()}")
        check(up.dropped == FLOOD_LIMIT + 1, f"the upstream saw {up.dropped} flood questions, expected "
              f"{FLOOD_LIMIT + 1}")

        # fetches-per-server 5 by a reload: of 10 more flood names (the
        # zone's limit is not reached), 5 go to the one forwarder, 5 fail
        # at once
        RIG.knobs = dict(RIG.knobs, **{"fetches-per-server": "5"})
        with open(RIG.conf_path, "w") as f:
            f.write(RIG.config_text(RIG.knobs, RIG.extra))
        r = RIG.ctl("reload")
        check(r.get("applied") == ["fetches-per-server"] and r.get("restart_needed") == [], f"reload: {r}")
        server0 = ctl_json("stats")["control"]["fetch_limited"]["server"]
        text = "fetches-per-server: every forwarder has 5 in flight"
        rs = ask_all([rnd("flood") + ".victim.test" for _ in range(10)], timeout=6)
        limited = [r for r in rs if r.rcode == SERVFAIL and r.ede == [(0, text)]]
        waited = [r for r in rs if r.rcode == SERVFAIL and r.ede_codes() == [EDE_NO_REACHABLE]]
        check(len(limited) == 5 and len(waited) == 5, f"{len(limited)} limited, {len(waited)} sent upstream, "
              f"expected 5 and 5: {[r.summary() for r in rs if r not in limited and r not in waited][:1]}")
        server1 = ctl_json("stats")["control"]["fetch_limited"]["server"]
        check(server1 - server0 == 5, f"control.fetch_limited.server rose by {server1 - server0}, expected 5")
        check(rig_prom("holdfast_control_fetch_limited_total", reason="server") == server1,
              "holdfast_control_fetch_limited_total{reason=\"server\"} differs from stats")
    finally:
        up.close()


def case_fetches_per_zone_cut():
    """fetches-per-zone 20 counts a question against the deepest zone cut
    holdfast knows: once it has seen an NXDOMAIN from stale.test (its SOA
    in authority), a flood of 60 names with two random labels under
    stale.test, whose servers never answer them, gets 20 resolutions and 40
    SERVFAILs naming stale.test. (Counted against the name less its first
    label, each was a zone of its own and all 60 went upstream.)"""
    up = FloodUpstream(RIG.lab["HF_LAB_UPSTREAM"], "stale.test.", first="flood")
    text = f"fetches-per-zone: {FLOOD_LIMIT} in flight for stale.test."
    try:
        RIG.start(cli={"fetches-per-zone": str(FLOOD_LIMIT), "upstream-timeout": "1s", "upstream-attempts": "1"},
                  forwarder=f"127.0.0.1@{up.port}")
        r, _ = q(rnd("nx") + ".stale.test")
        expect(r, NXDOMAIN)
        soa_of(r, "stale.test.")
        limited0 = ctl_json("stats")["control"]["fetch_limited"]["zone"]
        names = [f"{rnd('flood')}.{rnd('sub')}.stale.test" for _ in range(FLOOD_NAMES)]
        limited = flood_split(ask_all(names, timeout=6), text, up)
        # two labels below the zone: never refused on the cores
        limited1 = ctl_json("stats")["control"]["fetch_limited"]["zone"]
        check(limited1 - limited0 == len(limited), f"control.fetch_limited.zone rose by {limited1 - limited0}, "
              f"{len(limited)} answers limited")
    finally:
        up.close()


# (instance knobs, [cases]); instances run in order, each on a fresh holdfast
# with the knobs as command-line options.
PLAN = [(" ".join(f"--{k} {v}" for k, v in knobs.items()) or "defaults", knobs, cases) for knobs, cases in [
    ({}, [case_miss_then_hit, case_ttl_decreases, case_cname, case_0x20_case_kept, case_aaaa_over_ipv6,
          case_arp_answered, case_nd_answered, case_nxdomain_cached, case_truncation, case_edns,
          case_formerr, case_no_answer_to_garbage, case_opcode_and_class, case_checksums_and_addresses,
          case_bad_sources_dropped, case_vlan,
          case_waiters_all_answered, case_burst_of_misses,
          case_stale_client_timeout, case_stale_upstream_refused, case_servfail_nothing_cached,
          case_stale_nxdomain]),
    ({"serve-stale-client-timeout": "0", "serve-stale-failure-recheck": "1s"},
     [case_stale_at_once, case_upstream_back, case_second_instance_refused, case_sighup_then_term]),
    ({"edns-buffer-size": str(WIDE_BUFSIZE), "cache-entries": str(CACHE_ENTRIES)}, [case_tcp_fallback, case_eviction]),
    ({"edns-buffer-size": "4096"}, [case_answer_fits_the_link]),
    # restarts holdfast on a forwarder of its own (FloodUpstream)
    ({}, [case_fetches_per_zone, case_fetches_per_zone_cut]),
]]


def make_rig(holdfast, srcdir):
    global RIG
    RIG = Rig(holdfast, srcdir, "e2e", lab_tag("e"))
    return RIG


def start(rig, label, knobs):
    rig.upstream("start")  # between instances the upstream is up again
    rig.start(cli=knobs)


if __name__ == "__main__":
    sys.exit(runner.main(__doc__, "e2e", PLAN, make_rig, start))
