"""DNS over TCP and TLS for clients (issue 13), with real clients.

    test_transport.py HOLDFAST SOURCE_ROOT [CASE ...]

Brings up the lab's signed world (lab name e2et, tag t + pid) and runs
holdfast with `exception-interface` set up as an operator would
(Rig.start_with_exception), a certificate the lab makes with openssl
(tls-certificate, tls-key), so it answers UDP/53 on the workers and TCP/53
and TLS/853 on the transport thread. The cases:

- tcp_dig: dig +tcp and kdig +tcp over IPv4 and IPv6 get the same records,
  rcode and flags as over UDP; the transport's counters moved by exactly
  those queries.
- tc_retry: big.test TXT (about 2,000 bytes) is TC=1 with no records over
  UDP at 1232 bytes; `dig` retries over TCP by itself and gets every record;
  a TCP answer larger than 1232 bytes comes whole, without TC.
- pipelining: 100 queries written at once on one connection (hits and
  misses), 100 answers, each matched by ID to its own question, 0x20 case
  kept.
- keepalive: a query with an empty edns-tcp-keepalive option gets ours (the
  idle timeout in 100 ms units); one without gets none.
- bad_framing: a length of 0, a message with QR=1, a message declared
  longer than sent and then a half-close, and garbage after a TLS
  handshake: each connection is closed, its counter moves by one, and a
  new connection is answered; two queries and a length of 0 in one write
  get both answers before the close; a TLS client that closes without
  close_notify counts as closed by the client, not as malformed.
- tls_kdig: kdig +tls gets the answer; TLS 1.2 and 1.3 both handshake with
  ALPN "dot"; a second connection resumes the first one's session (1.2
  and 1.3), and tls_resumed counts it.
- tls_coalesced: 50 cached queries sent in one TLS record get their 50
  answers in one record, each matched by ID and 0x20 case; a query split
  across two records sent 50 ms apart is answered.
- tls_reload: `holdfastctl tls reload` with a new certificate: an open TLS
  connection still answers, a new one gets the new certificate; a key that
  does not match is refused with one line naming the file, and the old
  certificate stays; `holdfastctl reload` refuses it the same way and,
  once both files are renewed, takes them (applied [tls-certificate]).
- dnssec_ede: a broken de. (fault-corrupt) gives SERVFAIL with EDE 6 over
  UDP, TCP and TLS alike; `holdfastctl nta add de` makes it NOERROR without
  AD over all three.
- limits (an instance of its own: tcp-max-connections-per-client 3,
  tcp-idle-timeout 1s): a 4th connection from the client is closed at once
  and counted; an idle connection is closed at the timeout, and so is one
  that sends a byte every 200 ms of a message it never finishes
  (slow-loris); UDP/53 is answered all along.
- acl (an instance with access-control rules for extra client addresses
  the case adds on the lab's wire): a refused client gets REFUSED with EDE
  18 over UDP and TCP, IPv4 and IPv6; a dropped one gets no UDP answer and
  its TCP connection is closed at once; everyone else is answered; the
  counters acl_refused and drops.acl moved by exactly those.
- rrl (an instance with rrl-rate 5, rrl-slip 2): 20 UDP queries at once
  from one client get 5 to 10 whole answers (one or two of the core's
  seconds), every second one over the rate an empty TC=1 answer with the
  question, the rest nothing; rrl_slipped and drops.rrl say exactly that;
  TCP queries from the same client are answered meanwhile, and UDP again
  a second later.
- cookies (an instance with cookie-secret, rrl-rate 5, rrl-slip 2): DNS
  cookies (RFC 7873, RFC 9018), the server cookies checked byte for byte
  against a SipHash-2-4 of our own:
  - cookie_dig: `dig +cookie` gets a server cookie of ours ("good"), and
    sent back it comes back as it was;
  - cookie_udp: a client cookie alone gets a new server cookie; sent back it
    is valid and echoed; one past half an hour is valid and renewed; one
    more than an hour old, five minutes ahead, with a wrong hash or of
    another form is invalid and answered with a new one; none gets none;
    `holdfastctl cookie-secret set` keeps the previous secret valid (renewed
    with the new one), a second change (`rotate`) drops it; the counters
    cookies, cookies_valid and cookies_invalid moved by exactly those;
  - cookie_rrl: 20 queries at once with a valid server cookie are all
    answered (exempt from rrl-rate); 20 with a client cookie alone get 5 to
    10 answers, the slips as BADCOOKIE with the question and a server
    cookie to retry with, which is then answered at once;
    badcookie_answers, rrl_slipped and drops.rrl say exactly that;
  - cookie_tcp: over TCP and TLS the same cookies, never BADCOOKIE.
- cookie-required (cookie-secret and cookie-required yes): a client cookie
  alone, or an invalid server cookie, gets BADCOOKIE with a server cookie
  over UDP and an answer over TCP; a query without a cookie is answered;
  `dig +cookie +badcookie` retries with the new cookie and gets its answer.
- bad_certificate: a missing certificate and a key that does not match each
  stop start-up with one line naming the file.
- xdp_exception (the last group: net_af_xdp with `xdp-exception`, the
  service addresses on the lab's host veth as an operator would put them
  there): holdfast's XDP program is attached; UDP over IPv4 and IPv6 is
  answered by the worker, dig +tcp and kdig +tls by the transport from the
  kernel's own sockets, ping by the kernel; the workers received exactly
  the 2 UDP queries, the transport counted exactly 2 TCP and 1 TLS queries.
- idle_backoff (in the xdp-exception group, where the worker's port sees
  UDP/53 only): over a second with no UDP the worker core sleeps in steps
  of idle-sleep-max (1 ms in that group; the default 0 is no back-off): idle_sleeps moves by 100 to 1,000 plus
  the back-off's first steps (with the e2e default idle-sleep 20 µs and no
  back-off it would be thousands); a UDP query after the idle second is
  answered, and so is the next one; the counter keeps moving after them.
- xdp_exception_errors: xdp-exception with exception-interface, on
  net_af_packet, and on a vdev that has its own xdp_prog= each stop
  start-up with one line.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed".
"""

import os
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import Fail, check  # noqa: E402
from lib.ctl import counter  # noqa: E402
from lib.dnsmsg import T_A, T_AAAA, T_TXT, NOERROR, SERVFAIL, Response, build_query  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig, sh  # noqa: E402

import dns.edns  # noqa: E402

WWW_A, WWW_AAAA = "198.51.100.10", "2001:db8::10"
EDE_BOGUS = 6
RIG = None
CERT = {}  # "cert", "key", "other_cert", "other_key": paths the lab made


def tr(rig):
    """The transport counters of the `stats` JSON totals."""
    return rig.ctl("stats")["total"]["transport"]


def make_cert(d, name, cn):
    cert, key = os.path.join(d, f"{name}.crt"), os.path.join(d, f"{name}.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
                        "-addext", "subjectAltName=IP:198.18.53.1,IP:fd53::1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    check(r.returncode == 0, f"openssl req: {r.stdout.strip()}")
    return cert, key


# ------------------------------------------------------------- clients

def tls_context(version=None):
    """A client context that trusts the lab's certificate and offers ALPN dot."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(CERT["cert"])
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["dot"])
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def connect(rig, addr=None, port=53, tls=False, ctx=None, session=None, timeout=5.0):
    """A TCP (or TLS: ctx, or a fresh tls_context()) connection from the
    client namespace."""
    addr = addr or rig.lab["HF_LAB_SERVICE4"]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = rig.netns.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    if not tls and ctx is None:
        return s
    return (ctx or tls_context()).wrap_socket(s, session=session)


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise Fail(f"connection closed after {len(out)} of {n} bytes")
        out += d
    return bytes(out)


def send_msgs(s, wires):
    s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in wires))


def recv_msg(s):
    n = struct.unpack("!H", recv_exact(s, 2))[0]
    return recv_exact(s, n)


def ask(s, name, qtype=T_A, **kw):
    """One query on an open connection; its parsed answer (ID checked)."""
    wire = build_query(name, qtype, **kw)
    send_msgs(s, [wire])
    r = Response(recv_msg(s))
    check(r.qr and r.id == int.from_bytes(wire[:2], "big"), f"{name}: answer {r.summary()} to ID {wire[:2].hex()}")
    return r


def closed_within(s, limit):
    """Seconds until the peer closes s (EOF or reset); fails after limit."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return time.monotonic() - t0
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        raise Fail(f"connection still open after {limit:g} s")


def dig(rig, *args):
    r = rig.nsexec("dig", "+time=3", "+tries=1", *args, timeout=20)
    check(r.returncode == 0, f"dig {' '.join(args)}: status {r.returncode}: {r.stdout.strip()[-300:]}")
    return r.stdout


def udp_ok(rig):
    r, _ = rig.client.query("www.test", T_A)
    check(r.rcode == NOERROR and r.values(T_A) == [WWW_A], f"UDP www.test A: {r.summary()}")


# ---------------------------------------------------------------- cases

def case_tcp_dig():
    rig = RIG
    s4, s6 = rig.lab["HF_LAB_SERVICE4"], rig.lab["HF_LAB_SERVICE6"]
    t0 = tr(rig)
    udp = dig(rig, f"@{s4}", "www.test", "A", "+noall", "+answer", "+comments")
    for args in ((f"@{s4}", "www.test", "A"), (f"@{s6}", "www.test", "AAAA")):
        out = dig(rig, "+tcp", *args, "+noall", "+answer", "+comments")
        want = WWW_A if args[2] == "A" else WWW_AAAA
        check("status: NOERROR" in out and want in out and "flags: qr rd ra" in out,
              f"dig +tcp {' '.join(args)}: {out.strip()}")
    r = rig.nsexec("kdig", "+tcp", "+time=3", "+retry=0", f"@{s4}", "www.test", "A", timeout=20)
    check(r.returncode == 0 and "status: NOERROR" in r.stdout and WWW_A in r.stdout and "TCP" in r.stdout,
          f"kdig +tcp: {r.stdout.strip()}")
    check("status: NOERROR" in udp and WWW_A in udp, f"dig over UDP: {udp.strip()}")
    t1 = tr(rig)
    d = {k: t1[k] - t0[k] for k in ("tcp_queries", "tcp_answers", "tcp_accepted", "tls_queries")}
    check(d == {"tcp_queries": 3, "tcp_answers": 3, "tcp_accepted": 3, "tls_queries": 0},
          f"transport counters moved {d} for 3 TCP queries on 3 connections")
    st = rig.ctl("stats", "--per-core")
    roles = [c.get("role") for c in st["per_core"]]
    check(st["workers"] == 1 and roles == ["worker", "transport"], f"stats: workers {st['workers']}, roles {roles}")
    check(st["per_core"][1]["transport"]["tcp_queries"] == t1["tcp_queries"], "the transport's own counters "
          f"{st['per_core'][1]['transport']} are not the totals' {t1}")


def case_tc_retry():
    rig = RIG
    s4 = rig.lab["HF_LAB_SERVICE4"]
    r, _ = rig.client.query("big.test", T_TXT, bufsize=1232)
    check(r.tc and not r.answer, f"big.test TXT over UDP at 1232: {r.summary()}, expected TC=1 and no records")
    out = dig(rig, f"@{s4}", "big.test", "TXT", "+bufsize=1232")
    check("Truncated, retrying in TCP mode" in out and "status: NOERROR" in out,
          f"dig did not retry over TCP by itself: {out.strip()[-400:]}")
    s = connect(rig)
    try:
        wire = build_query("big.test", T_TXT, bufsize=1232)
        send_msgs(s, [wire])
        raw = recv_msg(s)
        a = Response(raw)
    finally:
        s.close()
    check(len(raw) > 1232 and not a.tc and a.rcode == NOERROR and len(a.records(T_TXT)) >= 2,
          f"big.test over TCP: {len(raw)} bytes, TC={a.tc}, {len(a.records(T_TXT))} TXT records")


def case_pipelining():
    rig = RIG
    stamp = int(time.time() * 1000) % 1000000
    names = []
    for i in range(100):
        # half hits (www.test in any case), half fresh misses under test.
        names.append("wWw.TeSt" if i % 2 == 0 else f"Pipe-{stamp}-{i}.TEST")
    wires = [build_query(n, T_A, qid=(1000 + i)) for i, n in enumerate(names)]
    s = connect(rig, timeout=10)
    try:
        send_msgs(s, wires)
        got = {}
        for _ in range(100):
            r = Response(recv_msg(s))
            check(r.id not in got, f"two answers with ID {r.id}")
            got[r.id] = r
    finally:
        s.close()
    check(sorted(got) == list(range(1000, 1100)), f"answers for IDs {sorted(set(range(1000, 1100)) - set(got))} "
          "missing")
    for i, n in enumerate(names):
        r = got[1000 + i]
        check(r.questions and r.questions[0][0] == n + ".", f"ID {1000 + i}: question {r.questions}, asked {n}")
        check(r.rcode in (NOERROR, 3), f"ID {1000 + i} {n}: {r.summary()}")
        if i % 2 == 0:
            check(r.values(T_A) == [WWW_A], f"ID {1000 + i} {n}: {r.summary()}")


def case_keepalive():
    rig = RIG
    s = connect(rig)
    try:
        r = ask(s, "www.test", options=[dns.edns.GenericOption(dns.edns.OptionType.KEEPALIVE, b"")])
        ka = [o for o in r.opt["options"] if o.otype == dns.edns.OptionType.KEEPALIVE]
        check(len(ka) == 1 and ka[0].to_wire() == struct.pack("!H", 100),
              f"keepalive in the answer: {[o.to_wire().hex() for o in ka]}, expected one of 100 (10 s)")
        r = ask(s, "www.test")
        ka = [o for o in r.opt["options"] if o.otype == dns.edns.OptionType.KEEPALIVE]
        check(not ka, "keepalive in an answer to a query without one")
    finally:
        s.close()


def case_bad_framing():
    rig = RIG
    t0 = tr(rig)
    s = connect(rig)
    s.sendall(b"\x00\x00")
    closed_within(s, 3)
    s.close()
    t1 = tr(rig)
    check(t1["closed_malformed"] - t0["closed_malformed"] == 1, "length 0: closed_malformed did not move by 1")
    s = connect(rig)
    resp = bytearray(build_query("www.test"))
    resp[2] |= 0x80  # QR=1
    send_msgs(s, [bytes(resp)])
    closed_within(s, 3)
    s.close()
    t2 = tr(rig)
    check(t2["closed_malformed"] - t1["closed_malformed"] == 1, "QR=1: closed_malformed did not move by 1")
    s = connect(rig)
    s.sendall(struct.pack("!H", 100) + b"0123456789")
    s.shutdown(socket.SHUT_WR)
    closed_within(s, 3)
    s.close()
    t3 = tr(rig)
    check(t3["closed_by_client"] - t2["closed_by_client"] == 1, "half-close mid-message: closed_by_client "
          f"moved by {t3['closed_by_client'] - t2['closed_by_client']}")
    s = connect(rig, port=853, tls=True)
    # after the handshake, bytes under the TLS layer that are no TLS record
    os.write(s.fileno(), b"\x17\x03\x03\x00\x05garbage-garbage")
    closed_within(s, 3)
    s.close()
    t4 = tr(rig)
    check(t4["closed_malformed"] - t3["closed_malformed"] == 1, "garbage after the TLS handshake: "
          f"closed_malformed moved by {t4['closed_malformed'] - t3['closed_malformed']}")
    # a TLS client that goes without close_notify has closed, not erred
    s = connect(rig, port=853, tls=True)
    ask(s, "www.test")
    s.close()
    time.sleep(0.3)
    t5 = tr(rig)
    d = (t5["closed_by_client"] - t4["closed_by_client"], t5["closed_malformed"] - t4["closed_malformed"])
    check(d == (1, 0), f"TLS close without close_notify: closed_by_client +{d[0]}, closed_malformed +{d[1]}")
    # two queries and a length 0 in one write: both answered, then the close
    s = connect(rig)
    try:
        wires = [build_query("www.test"), build_query("www.test", T_AAAA)]
        s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in wires) + b"\x00\x00")
        got = sorted(Response(recv_msg(s)).id for _ in wires)
        check(got == sorted(int.from_bytes(w[:2], "big") for w in wires), f"answers before the bad frame: {got}")
        closed_within(s, 3)
    finally:
        s.close()
    t6 = tr(rig)
    check(t6["closed_malformed"] - t5["closed_malformed"] == 1, "queries then length 0: closed_malformed moved by "
          f"{t6['closed_malformed'] - t5['closed_malformed']}")
    s = connect(rig)
    try:
        r = ask(s, "www.test")
        check(r.values(T_A) == [WWW_A], f"a new connection after the bad ones: {r.summary()}")
    finally:
        s.close()
    udp_ok(rig)


def case_tls_kdig():
    rig = RIG
    s4 = rig.lab["HF_LAB_SERVICE4"]
    r = rig.nsexec("kdig", "+tls", f"+tls-ca={CERT['cert']}", "+tls-hostname=198.18.53.1", "+time=3", "+retry=0",
                   f"@{s4}", "www.test", "A", timeout=20)
    check(r.returncode == 0 and "status: NOERROR" in r.stdout and WWW_A in r.stdout and "TLS" in r.stdout,
          f"kdig +tls: {r.stdout.strip()[-500:]}")
    t0 = tr(rig)
    for ver in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tls_context(ver)
        s = connect(rig, port=853, ctx=ctx)
        try:
            check(s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[ver],
                  f"negotiated {s.version()}")
            check(s.selected_alpn_protocol() == "dot", f"ALPN {s.selected_alpn_protocol()!r}, expected 'dot'")
            r1 = ask(s, "www.test")
            check(r1.values(T_A) == [WWW_A], f"over {s.version()}: {r1.summary()}")
            sess = s.session
        finally:
            s.close()
        s = connect(rig, port=853, ctx=ctx, session=sess)
        try:
            check(s.session_reused, f"{ver.name}: the second connection did not resume the first one's session")
            r1 = ask(s, "www.test", T_AAAA)
            check(r1.values(T_AAAA) == [WWW_AAAA], f"resumed {s.version()}: {r1.summary()}")
        finally:
            s.close()
    t1 = tr(rig)
    d = {k: t1[k] - t0[k] for k in ("tls_handshakes", "tls_resumed", "tls_queries", "tls_answers")}
    check(d == {"tls_handshakes": 4, "tls_resumed": 2, "tls_queries": 4, "tls_answers": 4},
          f"TLS counters moved {d}")


class RecordConn:
    """A TLS 1.3 client over a memory BIO that sees the server's records as
    they come: recs is the (type, length) of every complete record read."""

    def __init__(self, rig):
        self.sock = connect(rig, port=853)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = tls_context(ssl.TLSVersion.TLSv1_3).wrap_bio(self.inc, self.out)
        self.raw, self.recs, self.plain = b"", [], b""
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._push()
                self._pull()
        self._push()

    def _push(self):
        out = self.out.read()
        if out:
            self.sock.sendall(out)

    def _pull(self):
        d = self.sock.recv(65536)
        if not d:
            raise Fail("the server closed the TLS connection")
        self.inc.write(d)
        self.raw += d
        while len(self.raw) >= 5 and len(self.raw) >= 5 + struct.unpack("!H", self.raw[3:5])[0]:
            n = struct.unpack("!H", self.raw[3:5])[0]
            self.recs.append((self.raw[0], n))
            self.raw = self.raw[5 + n:]

    def send(self, data):
        """data as one TLS record (one write of the client's)."""
        self.tls.write(data)
        self._push()

    def answers(self, n):
        """The next n messages the server sends."""
        got = []
        while len(got) < n:
            if len(self.plain) >= 2 and len(self.plain) >= 2 + struct.unpack("!H", self.plain[:2])[0]:
                k = struct.unpack("!H", self.plain[:2])[0]
                got.append(Response(self.plain[2:2 + k]))
                self.plain = self.plain[2 + k:]
                continue
            try:
                self.plain += self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._pull()
        return got

    def close(self):
        self.sock.close()


def case_tls_coalesced():
    rig = RIG
    c = RecordConn(rig)
    try:
        w = build_query("www.test", qid=1)
        c.send(struct.pack("!H", len(w)) + w)  # the replica's cache gets www.test
        check(c.answers(1)[0].id == 1, "the first answer over TLS")
        # 50 cached answers asked in one record come back in one record,
        # each matched to its query by ID and 0x20 case
        names = ["".join(ch.upper() if (i >> k) & 1 else ch for k, ch in enumerate("www.test")) for i in range(50)]
        wires = [build_query(n, qid=2000 + i) for i, n in enumerate(names)]
        n0 = len(c.recs)
        c.send(b"".join(struct.pack("!H", len(w)) + w for w in wires))
        got = {r.id: r for r in c.answers(50)}
        recs = c.recs[n0:]
        check(sorted(got) == list(range(2000, 2050)), f"answers to IDs {sorted(got)}")
        for i, n in enumerate(names):
            r = got[2000 + i]
            check(r.questions and r.questions[0][0] == n + "." and r.values(T_A) == [WWW_A],
                  f"ID {2000 + i} ({n}): {r.summary()}, question {r.questions}")
        check(len(recs) == 1 and recs[0][0] == 23, f"50 answers came in records {recs}, expected one of "
              "application data")
        # a query split across two records, 50 ms apart, is answered
        w = build_query("wWw.tEsT", qid=3000)
        m = struct.pack("!H", len(w)) + w
        c.send(m[:7])
        time.sleep(0.05)
        c.send(m[7:])
        r = c.answers(1)[0]
        check(r.id == 3000 and r.questions[0][0] == "wWw.tEsT." and r.values(T_A) == [WWW_A],
              f"a query split across two records: {r.summary()}")
    finally:
        c.close()


def peer_cn(s):
    der = s.getpeercert(binary_form=True)
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    return r.stdout.decode().strip()


def case_tls_reload():
    rig = RIG
    old = connect(rig, port=853, tls=True)
    try:
        check("holdfast-lab" in peer_cn(old), f"first certificate: {peer_cn(old)}")
        ask(old, "www.test")
        for a, b in (("cert", "other_cert"), ("key", "other_key")):
            with open(CERT[b], "rb") as f:
                data = f.read()
            with open(CERT[a] + ".new", "wb") as f:
                f.write(data)
            os.replace(CERT[a] + ".new", CERT[a])
        res = rig.ctl_raw("tls", "reload")
        check(res.rc == 0, f"tls reload: rc {res.rc}: {res.out.strip()} {res.err.strip()}")
        r = ask(old, "www.test")  # the open connection keeps going
        check(r.values(T_A) == [WWW_A], f"open connection after reload: {r.summary()}")
        new = connect(rig, port=853, tls=True)
        try:
            check("holdfast-other" in peer_cn(new), f"after reload: {peer_cn(new)}")
        finally:
            new.close()
        # a key that is not the certificate's: refused, the new one stays
        with open(CERT["key"], "wb") as f:
            with open(CERT["spare_key"], "rb") as g:
                f.write(g.read())
        res = rig.ctl_raw("tls", "reload", json_out=False)
        check(res.rc == 1 and f"tls-key: {CERT['key']}: does not match tls-certificate {CERT['cert']}" in res.err,
              f"reload with a mismatched key: rc {res.rc}: {res.err.strip()}")
        new = connect(rig, port=853, tls=True)
        try:
            check("holdfast-other" in peer_cn(new), f"after a failed reload: {peer_cn(new)}")
        finally:
            new.close()
        # `holdfastctl reload` (SIGHUP, systemctl reload) reads the files
        # again too: refused the same way, then a renewal taken
        res = rig.ctl_raw("reload", json_out=False)
        check(res.rc == 1 and f"tls-key: {CERT['key']}: does not match tls-certificate {CERT['cert']}" in res.err,
              f"holdfastctl reload with a mismatched key: rc {res.rc}: {res.err.strip()}")
        spare = os.path.join(os.path.dirname(CERT["cert"]), "spare.crt")
        for src, dst in ((spare, CERT["cert"]), (CERT["spare_key"], CERT["key"])):
            with open(src, "rb") as g, open(dst + ".new", "wb") as f:
                f.write(g.read())
            os.replace(dst + ".new", dst)
        r = rig.ctl("reload")
        check(r.get("applied") == ["tls-certificate"] and r.get("restart_needed") == [],
              f"holdfastctl reload with renewed files: {r}")
        new = connect(rig, port=853, tls=True)
        try:
            check("holdfast-spare" in peer_cn(new), f"after holdfastctl reload: {peer_cn(new)}")
        finally:
            new.close()
        r = ask(old, "www.test")
        check(r.values(T_A) == [WWW_A], f"open connection after holdfastctl reload: {r.summary()}")
    finally:
        old.close()
        for src, dst in ((CERT["other_cert"], CERT["cert"]), (CERT["other_key"], CERT["key"])):
            with open(src, "rb") as g:  # the files agree again for the next instances
                data = g.read()
            with open(dst, "wb") as f:
                f.write(data)


def over_all(rig, name):
    """name A +do over UDP, TCP and TLS: [(transport, Response)]."""
    u, _ = rig.client.query(name, T_A, do=True, timeout=8)
    rs = [("UDP", u)]
    for port, tls in ((53, False), (853, True)):
        s = connect(rig, port=port, tls=tls, timeout=8)
        try:
            rs.append(("TLS" if tls else "TCP", ask(s, name, do=True)))
        finally:
            s.close()
    return rs


def case_dnssec_ede():
    rig = RIG
    rig.fault("corrupt", "de")
    try:
        name = "www.alg8.de"
        for how, r in over_all(rig, name):
            check(r.rcode == SERVFAIL and EDE_BOGUS in r.ede_codes() and not r.ad,
                  f"{how} {name} with de. broken: {r.summary()}, expected SERVFAIL EDE 6")
        res = rig.ctl_raw("nta", "add", "de", "--lifetime", "5m")
        check(res.rc == 0, f"nta add de: {res.err.strip()}")
        for how, r in over_all(rig, name):
            check(r.rcode == NOERROR and not r.ad and r.answer, f"{how} {name} under an NTA: {r.summary()}")
    finally:
        rig.ctl_raw("nta", "remove", "de")
        rig.repair()


def case_limits():
    rig = RIG
    t0 = tr(rig)
    conns = [connect(rig) for _ in range(3)]
    try:
        for s in conns:
            check(ask(s, "www.test").values(T_A) == [WWW_A], "a connection within the limit")
        extra = connect(rig)
        closed_within(extra, 3)
        extra.close()
    finally:
        for s in conns:
            s.close()
    t1 = tr(rig)
    check(t1["refused_client_limit"] - t0["refused_client_limit"] == 1, "4th connection: refused_client_limit "
          f"moved by {t1['refused_client_limit'] - t0['refused_client_limit']}")
    time.sleep(0.3)  # the 3 closes are seen
    idle = connect(rig)
    dt = closed_within(idle, 5)
    idle.close()
    check(0.8 <= dt <= 2.5, f"idle connection closed after {dt:.2f} s, expected about 1 s (tcp-idle-timeout)")
    loris = connect(rig)
    t_0 = time.monotonic()
    loris.sendall(struct.pack("!H", 40))
    try:
        while time.monotonic() - t_0 < 5:
            loris.sendall(b"x")
            udp_ok(rig)
            time.sleep(0.2)
        raise Fail("slow-loris connection still open after 5 s")
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        loris.close()
    dt = time.monotonic() - t_0
    check(dt <= 2.5, f"slow-loris connection closed after {dt:.2f} s, expected about 1 s")
    t2 = tr(rig)
    check(t2["closed_timeout"] - t1["closed_timeout"] == 2, "closed_timeout moved by "
          f"{t2['closed_timeout'] - t1['closed_timeout']} for the idle and the slow-loris connections")
    check(t2["tcp_open"] == 0, f"tcp_open {t2['tcp_open']} with every connection closed")
    udp_ok(rig)


ACL_REFUSED4, ACL_DROPPED4, ACL_REFUSED6 = "198.18.53.3", "198.18.53.4", "fd53::3"


def udp_from(rig, src, name="www.test", timeout=2.0):
    """One UDP query from source address src: the raw answer or None."""
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = rig.netns.socket(fam)
    try:
        s.bind((src, 0))
        s.settimeout(timeout)
        wire = build_query(name)
        s.sendto(wire, (rig.lab["HF_LAB_SERVICE6" if ":" in src else "HF_LAB_SERVICE4"], 53))
        try:
            return Response(s.recv(65535))
        except socket.timeout:
            return None
    finally:
        s.close()


def tcp_from(rig, src, port=53):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = rig.netns.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src, 0))
    s.connect((rig.lab["HF_LAB_SERVICE6" if ":" in src else "HF_LAB_SERVICE4"], port))
    return s


def case_acl():
    rig = RIG
    for a in (ACL_REFUSED4, ACL_DROPPED4, ACL_REFUSED6):  # more clients on the lab's wire
        r = rig.nsexec("ip", "addr", "replace", a + ("/64" if ":" in a else "/24"), "dev",
                       rig.lab["HF_LAB_CLIENT_IF"], "nodad")
        check(r.returncode == 0, f"ip addr add {a}: {r.stdout.strip()}")
    s0 = rig.ctl("stats")["total"]
    for src in (ACL_REFUSED4, ACL_REFUSED6):
        r = udp_from(rig, src)
        check(r is not None and r.rcode == 5 and r.ede_codes() == [18] and not r.answer,
              f"UDP from {src} (refused): {r.summary() if r else 'no answer'}, expected REFUSED EDE 18")
        s = tcp_from(rig, src)
        try:
            r = ask(s, "www.test")
            check(r.rcode == 5 and r.ede_codes() == [18] and not r.answer,
                  f"TCP from {src} (refused): {r.summary()}, expected REFUSED EDE 18")
        finally:
            s.close()
    check(udp_from(rig, ACL_DROPPED4) is None, f"UDP from {ACL_DROPPED4} (dropped) got an answer")
    s = tcp_from(rig, ACL_DROPPED4)
    closed_within(s, 3)
    s.close()
    udp_ok(rig)  # everyone else: allowed
    s1 = rig.ctl("stats")["total"]
    d = {"acl_refused": s1["acl_refused"] - s0["acl_refused"],
         "drops.acl": s1["drops"]["acl"] - s0["drops"]["acl"]}
    check(d == {"acl_refused": 4, "drops.acl": 2}, f"counters moved {d}: expected 4 REFUSED (2 UDP, 2 TCP) "
          "and 2 drops (a query, a connection)")


def udp_burst(rig, wires):
    """Send wires at once from one UDP socket: the answers by ID (1.5 s)."""
    s = rig.netns.socket(socket.AF_INET)
    got = {}
    try:
        s.connect((rig.lab["HF_LAB_SERVICE4"], 53))
        for w in wires:
            s.send(w)
        s.settimeout(1.5)
        try:
            while len(got) < len(wires):
                r = Response(s.recv(65535))
                got[r.id] = r
        except socket.timeout:
            pass
    finally:
        s.close()
    return got


def case_rrl():
    rig = RIG
    time.sleep(1.1)  # the start-up probe's answer out of this second's budget
    s0 = rig.ctl("stats")["total"]
    got = udp_burst(rig, [build_query("www.test", qid=2000 + i) for i in range(20)])
    ok = [r for r in got.values() if not r.tc and r.values(T_A) == [WWW_A]]
    tc = [r for r in got.values() if r.tc]
    check(len(ok) + len(tc) == len(got), f"answers neither whole nor TC=1: {[r.summary() for r in got.values()]}")
    for r in tc:
        check(not r.answer and r.rcode == NOERROR and r.questions and r.questions[0][0] == "www.test.",
              f"a slipped answer: {r.summary()}")
    # 20 queries within a second or two of the core's: 5 (rrl-rate) pass per
    # second, every 2nd one over it slips, the rest are dropped
    check(5 <= len(ok) <= 10 and len(tc) >= 4, f"{len(ok)} answered, {len(tc)} slipped, {20 - len(got)} dropped "
          "of 20 at rrl-rate 5, rrl-slip 2")
    s1 = rig.ctl("stats")["total"]
    d = {"rrl_slipped": s1["rrl_slipped"] - s0["rrl_slipped"], "drops.rrl": s1["drops"]["rrl"] - s0["drops"]["rrl"]}
    check(d == {"rrl_slipped": len(tc), "drops.rrl": 20 - len(got)}, f"counters moved {d}, the client saw "
          f"{len(tc)} slipped and {20 - len(got)} dropped")
    # TCP has no limit: the retry a slip asks for is answered at once
    c = connect(rig)
    try:
        for _ in range(10):
            check(ask(c, "www.test").values(T_A) == [WWW_A], "TCP query while UDP is limited")
    finally:
        c.close()
    time.sleep(1.1)  # a new second: the budget is back
    udp_ok(rig)


# ------------------------------------------------------------- cookies

COOKIE_SECRET, COOKIE_SECRET2 = "e5e973e5a6b2a43f48e7dc849e37bfcf", "445536bcd2513298075a5d379663c962"
OPT_COOKIE = dns.edns.OptionType.COOKIE
BADCOOKIE = 23
M64 = (1 << 64) - 1


def siphash24(key, data):
    """SipHash-2-4 (Aumasson and Bernstein), 8 bytes as RFC 9018 writes them."""
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & M64

    def sipround():
        v[0] = (v[0] + v[1]) & M64
        v[1] = rotl(v[1], 13) ^ v[0]
        v[0] = rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64
        v[3] = rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & M64
        v[3] = rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & M64
        v[1] = rotl(v[1], 17) ^ v[2]
        v[2] = rotl(v[2], 32)

    tail = len(data) % 8
    words = [struct.unpack_from("<Q", data, i)[0] for i in range(0, len(data) - tail, 8)]
    words.append(struct.unpack("<Q", data[len(data) - tail:] + bytes(7 - tail) + bytes([len(data) & 0xff]))[0])
    for m in words:
        v[3] ^= m
        sipround()
        sipround()
        v[0] ^= m
    v[2] ^= 0xff
    for _ in range(4):
        sipround()
    return struct.pack("<Q", v[0] ^ v[1] ^ v[2] ^ v[3])


def server_cookie(secret, client, ts, addr):
    """RFC 9018's server cookie for client (8 bytes) from addr at ts."""
    ip = socket.inet_pton(socket.AF_INET6 if ":" in addr else socket.AF_INET, addr)
    hdr = b"\x01\x00\x00\x00" + struct.pack("!I", ts & 0xffffffff)
    return hdr + siphash24(bytes.fromhex(secret), client + hdr + ip)


# RFC 9018 appendix A.1: the helper itself is right
assert server_cookie(COOKIE_SECRET, bytes.fromhex("2464c4abcf10c957"), 1559731985,
                     "198.51.100.100").hex() == "010000005cf79f111f8130c3eee29480"


def cookie_of(r):
    """The COOKIE option's data of an answer, or None."""
    c = [o.to_wire() for o in (r.opt["options"] if r.opt else []) if o.otype == OPT_COOKIE]
    check(len(c) <= 1, f"{len(c)} COOKIE options in one answer")
    return c[0] if c else None


def cookie_opts(data):
    return [] if data is None else [dns.edns.GenericOption(OPT_COOKIE, data)]


def check_new_cookie(r, client, addr, secret=COOKIE_SECRET, what=""):
    """r carries client and a server cookie of `secret` made about now."""
    c = cookie_of(r)
    check(c is not None and len(c) == 24 and c[:8] == client, f"{what}: COOKIE {c.hex() if c else None}, "
          f"expected {client.hex()} and a 16-byte server cookie")
    ts = struct.unpack("!I", c[12:16])[0]
    check(abs(ts - time.time()) <= 5, f"{what}: server cookie timestamp {ts}, now {time.time():.0f}")
    check(c[8:] == server_cookie(secret, client, ts, addr), f"{what}: server cookie {c[8:].hex()} is not "
          f"SipHash-2-4 of ours for {addr}")
    return c


def udp_cookie(rig, data, name="www.test", qid=None):
    """One UDP query with COOKIE data (None: no option): (answer, our address)."""
    s = rig.netns.socket(socket.AF_INET)
    try:
        s.connect((rig.lab["HF_LAB_SERVICE4"], 53))
        s.settimeout(2.0)
        wire = build_query(name, qid=qid, options=cookie_opts(data))
        s.send(wire)
        r = Response(s.recv(65535))
        check(r.id == int.from_bytes(wire[:2], "big"), f"answer {r.summary()} to another ID")
        return r, s.getsockname()[0]
    finally:
        s.close()


def cookie_counters(rig):
    t = rig.ctl("stats")["total"]
    return {k: t[k] for k in ("cookies", "cookies_valid", "cookies_invalid", "badcookie_answers",
                              "rrl_slipped")} | {"drops.rrl": t["drops"]["rrl"]}


def moved(c0, c1):
    return {k: c1[k] - c0[k] for k in c0 if c1[k] != c0[k]}


def answered(r, what):
    check(r.rcode == NOERROR and not r.tc and r.values(T_A) == [WWW_A], f"{what}: {r.summary()}")


def case_cookie_dig():
    rig = RIG
    time.sleep(1.1)  # a second of rrl-rate of its own
    s4 = rig.lab["HF_LAB_SERVICE4"]
    c0 = cookie_counters(rig)
    out = dig(rig, "+cookie=2464c4abcf10c957", f"@{s4}", "www.test", "A")
    line = [ln for ln in out.splitlines() if ln.startswith("; COOKIE: ")]
    check(len(line) == 1 and line[0].endswith(" (good)") and WWW_A in out,
          f"dig +cookie: no good COOKIE line: {out.strip()[-600:]}")
    full = line[0].split()[2]
    check(len(full) == 48 and full.startswith("2464c4abcf10c95701000000"), f"dig +cookie: COOKIE {full}")
    out = dig(rig, f"+cookie={full}", f"@{s4}", "www.test", "A")
    check(f"; COOKIE: {full} (good)" in out and WWW_A in out, f"dig +cookie={full}: {out.strip()[-600:]}")
    d = moved(c0, cookie_counters(rig))
    check(d == {"cookies": 2, "cookies_valid": 1}, f"counters moved {d}")


def case_cookie_udp():
    rig = RIG
    time.sleep(1.1)
    cl = bytes.fromhex("0123456789abcdef")
    c0 = cookie_counters(rig)
    r, me = udp_cookie(rig, cl)
    answered(r, "a client cookie alone")
    c = check_new_cookie(r, cl, me, what="a client cookie alone")
    r, _ = udp_cookie(rig, c)
    answered(r, "its server cookie sent back")
    check(cookie_of(r) == c, f"a young valid cookie is echoed: got {cookie_of(r).hex()}, sent {c.hex()}")
    now = int(time.time())
    for age, valid in ((2000, True), (3700, False), (-600, False)):
        old = cl + server_cookie(COOKIE_SECRET, cl, now - age, me)
        r, _ = udp_cookie(rig, old)
        answered(r, f"a server cookie {age} s old")
        check_new_cookie(r, cl, me, what=f"a server cookie {age} s old")
    r, _ = udp_cookie(rig, c[:23] + bytes([c[23] ^ 1]))
    answered(r, "a wrong hash")
    check_new_cookie(r, cl, me, what="a wrong hash")
    d = moved(c0, cookie_counters(rig))
    check(d == {"cookies": 6, "cookies_valid": 2, "cookies_invalid": 3}, f"counters moved {d}")
    time.sleep(1.1)
    r, _ = udp_cookie(rig, c[:16])  # a server cookie of 8 bytes: not RFC 9018's
    answered(r, "an 8-byte server cookie")
    check_new_cookie(r, cl, me, what="an 8-byte server cookie")
    r, _ = udp_cookie(rig, None)
    answered(r, "no cookie")
    check(cookie_of(r) is None, "an answer to a query without a cookie has one")
    # a new secret: the previous one still validates, renewed with the new
    rig.ctl("cookie-secret", "set", COOKIE_SECRET2)
    r, _ = udp_cookie(rig, c)
    answered(r, "a cookie of the previous secret")
    c2 = check_new_cookie(r, cl, me, secret=COOKIE_SECRET2, what="a cookie of the previous secret")
    rig.ctl("cookie-secret", "rotate")  # two changes on: c is no longer ours, c2 is
    r, _ = udp_cookie(rig, c)
    answered(r, "a cookie two secrets old")
    check(cookie_of(r)[8:] not in (c[8:], c2[8:]), "a cookie two secrets old was echoed")
    time.sleep(1.1)
    r, _ = udp_cookie(rig, c2)
    answered(r, "a cookie of the secret before rotate")
    check(cookie_of(r)[8:] != c2[8:], "a cookie of the previous secret was echoed, not renewed")
    rig.ctl("cookie-secret", "set", COOKIE_SECRET)  # for the cases after
    d = moved(c0, cookie_counters(rig))
    check(d == {"cookies": 10, "cookies_valid": 4, "cookies_invalid": 5}, f"counters moved {d}")


def case_cookie_rrl():
    rig = RIG
    cl = bytes.fromhex("fedcba9876543210")
    time.sleep(1.1)
    r, me = udp_cookie(rig, cl)
    c = check_new_cookie(r, cl, me, what="a client cookie alone")
    time.sleep(1.1)
    c0 = cookie_counters(rig)
    # a valid server cookie: never limited
    got = udp_burst(rig, [build_query("www.test", qid=3000 + i, options=cookie_opts(c)) for i in range(20)])
    check(len(got) == 20, f"{len(got)} of 20 answered with a valid server cookie at rrl-rate 5")
    for r in got.values():
        answered(r, "a valid cookie over the rate")
        check(cookie_of(r) == c, "the valid cookie echoed")
    d = moved(c0, cookie_counters(rig))
    check(d == {"cookies": 20, "cookies_valid": 20}, f"counters moved {d}")
    # a client cookie alone: limited, the slips are BADCOOKIE
    got = udp_burst(rig, [build_query("www.test", qid=4000 + i, options=cookie_opts(cl)) for i in range(20)])
    ok = [r for r in got.values() if r.rcode == NOERROR]
    bad = [r for r in got.values() if r.rcode == BADCOOKIE]
    check(len(ok) + len(bad) == len(got), f"answers neither NOERROR nor BADCOOKIE: "
          f"{[r.summary() for r in got.values()]}")
    for r in ok:
        answered(r, "a client cookie within the rate")
        check_new_cookie(r, cl, me, what="a client cookie within the rate")
    for r in bad:
        check(not r.answer and not r.tc and r.questions and r.questions[0][0] == "www.test."
              and r.opt["ext_rcode"] == 1 and (r.flags & 0xf) == 7, f"a BADCOOKIE slip: {r.summary()}")
        nc = check_new_cookie(r, cl, me, what="a BADCOOKIE slip")
    check(5 <= len(ok) <= 10 and len(bad) >= 4, f"{len(ok)} answered, {len(bad)} BADCOOKIE, "
          f"{20 - len(got)} dropped of 20 at rrl-rate 5, rrl-slip 2")
    d = moved(c0, cookie_counters(rig))
    want = {"cookies": 40, "cookies_valid": 20, "badcookie_answers": len(bad), "rrl_slipped": len(bad)}
    if len(got) < 20:
        want["drops.rrl"] = 20 - len(got)
    check(d == want, f"counters moved {d}, expected {want}")
    # the retry BADCOOKIE asks for: with the server cookie it is answered at once
    r, _ = udp_cookie(rig, nc)
    answered(r, "the retry with the BADCOOKIE's server cookie")


def case_cookie_tcp():
    rig = RIG
    cl = bytes.fromhex("1122334455667788")
    c0 = cookie_counters(rig)
    for tls in (False, True):
        s = connect(rig, port=853 if tls else 53, tls=tls)
        try:
            me = s.getsockname()[0]
            r = ask(s, "www.test", options=cookie_opts(cl))
            answered(r, f"{'TLS' if tls else 'TCP'}: a client cookie alone")
            c = check_new_cookie(r, cl, me, what=f"{'TLS' if tls else 'TCP'}: a client cookie alone")
            r = ask(s, "www.test", options=cookie_opts(c))
            answered(r, f"{'TLS' if tls else 'TCP'}: its server cookie")
            check(cookie_of(r) == c, f"{'TLS' if tls else 'TCP'}: the valid cookie echoed")
            r = ask(s, "www.test", options=cookie_opts(c[:23] + bytes([c[23] ^ 1])))
            answered(r, f"{'TLS' if tls else 'TCP'}: a wrong hash")
            check_new_cookie(r, cl, me, what=f"{'TLS' if tls else 'TCP'}: a wrong hash")
        finally:
            s.close()
    d = moved(c0, cookie_counters(rig))
    check(d == {"cookies": 6, "cookies_valid": 2, "cookies_invalid": 2}, f"counters moved {d}")


def case_cookie_required():
    rig = RIG
    cl = bytes.fromhex("a1a2a3a4a5a6a7a8")
    c0 = cookie_counters(rig)
    r, _ = udp_cookie(rig, None)
    answered(r, "no cookie, cookie-required")
    r, me = udp_cookie(rig, cl)
    check(r.rcode == BADCOOKIE and not r.answer and r.questions and r.questions[0][0] == "www.test.",
          f"a client cookie alone, cookie-required: {r.summary()}")
    c = check_new_cookie(r, cl, me, what="BADCOOKIE")
    r, _ = udp_cookie(rig, c)
    answered(r, "the retry with the server cookie")
    check(cookie_of(r) == c, "the valid cookie echoed")
    r, _ = udp_cookie(rig, c[:23] + bytes([c[23] ^ 1]))
    check(r.rcode == BADCOOKIE and not r.answer, f"a wrong hash, cookie-required: {r.summary()}")
    check_new_cookie(r, cl, me, what="BADCOOKIE to a wrong hash")
    s = connect(rig)
    try:
        r = ask(s, "www.test", options=cookie_opts(cl))
        answered(r, "TCP: a client cookie alone, cookie-required")
        check_new_cookie(r, cl, s.getsockname()[0], what="TCP")
    finally:
        s.close()
    d = moved(c0, cookie_counters(rig))
    check(d == {"cookies": 4, "cookies_valid": 1, "cookies_invalid": 1, "badcookie_answers": 2},
          f"counters moved {d}")
    out = dig(rig, "+cookie", "+badcookie", f"@{rig.lab['HF_LAB_SERVICE4']}", "www.test", "A")
    check("status: NOERROR" in out and WWW_A in out and " (good)" in out,
          f"dig +cookie +badcookie: {out.strip()[-600:]}")


def case_bad_certificate():
    rig = RIG
    missing = os.path.join(rig.lab["HF_LAB_DIR"], "no-such.crt")
    cases = [({"tls-certificate": missing},
              f"holdfast: tls-certificate: cannot read {missing}: No such file or directory"),
             ({"tls-key": CERT["spare_key"]},
              f"holdfast: tls-key: {CERT['spare_key']}: does not match tls-certificate {CERT['cert']}")]
    for knobs, want in cases:
        rc, lines = rig.failed_start(rig.start_with_exception, **dict(tls_knobs(), **knobs))
        check(rc == 1 and lines and lines[-1] == want, f"{knobs}: exit {rc}, last lines {lines[-2:]}")


def case_xdp_exception():
    rig = RIG
    s4, s6 = rig.lab["HF_LAB_SERVICE4"], rig.lab["HF_LAB_SERVICE6"]
    link = sh("ip", "link", "show", rig.lab["HF_LAB_HOST_IF"])
    check("prog/xdp" in link and "name hf_xdp_dns" in link, f"holdfast's XDP program is not attached: {link}")
    rx0, t0 = counter(rig.ctl("stats"), "total.rx_packets"), tr(rig)
    udp4 = dig(rig, f"@{s4}", "www.test", "A", "+noall", "+answer", "+comments")
    udp6 = dig(rig, f"@{s6}", "www.test", "AAAA", "+noall", "+answer", "+comments")
    check("status: NOERROR" in udp4 and WWW_A in udp4, f"dig over UDP/IPv4: {udp4.strip()}")
    check("status: NOERROR" in udp6 and WWW_AAAA in udp6, f"dig over UDP/IPv6: {udp6.strip()}")
    for addr, qtype, want in ((s4, "A", WWW_A), (s6, "AAAA", WWW_AAAA)):
        out = dig(rig, "+tcp", f"@{addr}", "www.test", qtype, "+noall", "+answer", "+comments")
        check("status: NOERROR" in out and want in out, f"dig +tcp @{addr}: {out.strip()}")
    r = rig.nsexec("kdig", "+tls", "+time=3", "+retry=0", f"@{s4}", "www.test", "A", timeout=20)
    check(r.returncode == 0 and "status: NOERROR" in r.stdout and WWW_A in r.stdout and "TLS" in r.stdout,
          f"kdig +tls: {r.stdout.strip()}")
    for addr in (s4, s6):
        p = rig.nsexec("ping", "-6" if ":" in addr else "-4", "-c", "2", "-W", "2", "-i", "0.2", addr, timeout=20)
        check(p.returncode == 0 and " 0% packet loss" in p.stdout, f"ping {addr}: {p.stdout.strip()[-200:]}")
    rx1, t1 = counter(rig.ctl("stats"), "total.rx_packets"), tr(rig)
    # the workers saw the two UDP queries and nothing else: TCP, TLS, ping
    # and ARP/ND went to the kernel
    check(rx1 - rx0 == 2, f"the workers received {rx1 - rx0} frames for 2 UDP queries (TCP, TLS, ICMP and "
          "ARP/ND belong to the kernel with xdp-exception)")
    d = {k: t1[k] - t0[k] for k in ("tcp_queries", "tcp_answers", "tls_queries", "tls_answers", "tls_accepted")}
    check(d == {"tcp_queries": 2, "tcp_answers": 2, "tls_queries": 1, "tls_answers": 1, "tls_accepted": 1},
          f"transport counters moved {d} for 2 TCP and 1 TLS queries")
    check("exception" not in rig.ctl("stats"), "stats has an exception object without a TAP")


def case_idle_backoff():
    rig = RIG

    def sleeps():
        return rig.ctl("stats", "--per-core")["per_core"][0]["idle_sleeps"], time.monotonic()

    udp_ok(rig)  # the name is cached: what follows times the wake-up, not a resolution
    time.sleep(0.1)
    s0, t0 = sleeps()
    time.sleep(1.0)
    s1, t1 = sleeps()
    # each sleep is at least idle-sleep-max (1 ms) once backed off; the
    # back-off's first steps (20, 40, ... 640 µs) add at most 6
    bound = int((t1 - t0) * 1000) + 6
    check(100 <= s1 - s0 <= bound, f"the idle worker slept {s1 - s0} times in {t1 - t0:.3f} s: not in 100 .. "
          f"{bound} (idle-sleep 20 µs backing off to idle-sleep-max 1 ms)")
    rx0 = counter(rig.ctl("stats"), "total.rx_packets")
    for i in range(2):
        r, dt = rig.client.query("www.test", T_A)
        check(r.rcode == NOERROR and r.values(T_A) == [WWW_A], f"UDP www.test A after the idle second: {r.summary()}")
        check(dt < 0.5, f"UDP query {i + 1} after the idle second took {dt * 1000:.1f} ms")
    rx1 = counter(rig.ctl("stats"), "total.rx_packets")
    check(rx1 - rx0 == 2, f"the worker received {rx1 - rx0} frames for 2 UDP queries")
    time.sleep(0.1)
    s2, _ = sleeps()
    check(s2 > s1, f"idle_sleeps did not move after the queries ({s1} -> {s2})")


def failed_with(rig, knobs, **attrs):
    """rig.failed_start with some of the rig's attributes changed for it."""
    saved = {k: getattr(rig, k) for k in attrs}
    for k, v in attrs.items():
        setattr(rig, k, v)
    try:
        return rig.failed_start(rig.start, **knobs)
    finally:
        for k, v in saved.items():
            setattr(rig, k, v)


def case_xdp_exception_errors():
    rig = RIG
    knobs = dict(tls_knobs(), **{"xdp-exception": "yes"})
    rc, lines = rig.failed_start(rig.start, **dict(knobs, **{"exception-interface": rig.exc_ifname()}))
    check(rc == 1 and lines and lines[-1] == "holdfast: xdp-exception and exception-interface are both set: one "
          "exception path (XDP passing to the port's interface, or a TAP)", f"both paths: exit {rc}, {lines[-2:]}")
    rc, lines = failed_with(rig, knobs, driver="af_packet")
    check(rc == 1 and lines and lines[-1] == "holdfast: xdp-exception: no net_af_xdp vdev on the command line "
          "(e.g. --vdev=net_af_xdp0,iface=eth1)", f"xdp-exception on net_af_packet: exit {rc}, {lines[-2:]}")
    rc, lines = failed_with(rig, knobs, vdev_args=",xdp_prog=/nonexistent.o")
    want = (f"holdfast: xdp-exception: net_af_xdp0,iface={rig.lab['HF_LAB_HOST_IF']},xdp_prog=/nonexistent.o "
            "already has xdp_prog=: holdfast loads its own program")
    check(rc == 1 and lines and lines[-1] == want, f"a vdev with its own xdp_prog: exit {rc}, {lines[-2:]}")


def xdp_interface(rig):
    """The operator's part of xdp-exception: the service addresses on the
    port's own interface, whose kernel now answers ARP/ND for them."""
    host = rig.lab["HF_LAB_HOST_IF"]
    sh("sysctl", "-qw", f"net.ipv4.conf.{host}.arp_ignore=0", f"net.ipv6.conf.{host}.disable_ipv6=0")
    sh("ip", "addr", "replace", f"{rig.lab['HF_LAB_SERVICE4']}/24", "dev", host)
    sh("ip", "-6", "addr", "replace", f"{rig.lab['HF_LAB_SERVICE6']}/64", "dev", host, "nodad")
    rig.driver = "af_xdp"


# -------------------------------------------------------------- the plan

def tls_knobs():
    return {"tls-certificate": CERT["cert"], "tls-key": CERT["key"]}


def start(rig, label, knobs):
    if not CERT:
        d = rig.lab["HF_LAB_DIR"]
        CERT["cert"], CERT["key"] = make_cert(d, "dot", "holdfast-lab")
        CERT["other_cert"], CERT["other_key"] = make_cert(d, "other", "holdfast-other")
        _, CERT["spare_key"] = make_cert(d, "spare", "holdfast-spare")
    rig.config["nta-state-file"] = os.path.join(rig.lab["HF_LAB_DIR"], "nta.state")
    if knobs.get("bad_cert"):
        return
    if knobs.get("xdp"):  # the last group: the lab's interface stays so until lab.sh down
        xdp_interface(rig)
        rig.start(**dict(tls_knobs(), **{"xdp-exception": "yes", "idle-sleep-max": "1000"}))
        return
    knobs = dict(knobs)
    rig.start_with_exception(extra=knobs.pop("extra", ()), **dict(tls_knobs(), **knobs))


def make_rig(holdfast, srcdir):
    global RIG
    RIG = Rig(holdfast, srcdir, "e2et", lab_tag("t"), signed=True)
    RIG.config["nta-state-file"] = None  # set once the lab's directory is known (start)
    return RIG


def main():
    plan = [("tcp and tls", {}, [case_tcp_dig, case_tc_retry, case_pipelining, case_keepalive, case_bad_framing,
                                 case_tls_kdig, case_tls_coalesced, case_dnssec_ede, case_tls_reload]),
            ("limits", {"tcp-max-connections-per-client": "3", "tcp-idle-timeout": "1s"}, [case_limits]),
            ("rrl", {"rrl-rate": "5", "rrl-slip": "2"}, [case_rrl]),
            ("cookies", {"cookie-secret": COOKIE_SECRET, "rrl-rate": "5", "rrl-slip": "2"},
             [case_cookie_dig, case_cookie_udp, case_cookie_rrl, case_cookie_tcp]),
            ("cookie-required", {"cookie-secret": COOKIE_SECRET, "cookie-required": "yes"},
             [case_cookie_required]),
            ("access-control", {"extra": [("access-control", f"{ACL_REFUSED4}/32 refuse"),
                                          ("access-control", f"{ACL_DROPPED4}/32 drop"),
                                          ("access-control", f"{ACL_REFUSED6}/128 refuse"),
                                          ("access-control", "203.0.113.0/24 drop")]}, [case_acl]),
            ("bad certificates", {"bad_cert": True}, [case_bad_certificate]),
            ("xdp-exception", {"xdp": True}, [case_xdp_exception, case_idle_backoff,
                                               case_xdp_exception_errors])]
    return runner.main(__doc__, "transport", plan, make_rig, start=start)


if __name__ == "__main__":
    sys.exit(main())
