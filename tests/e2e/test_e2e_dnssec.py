#!/usr/bin/python3
"""holdfast DNSSEC end-to-end tests on the lab's signed world (tests/lab/).

    test_e2e_dnssec.py HOLDFAST SOURCE_ROOT [CASE ...]

Brings up a lab of its own (tag "d" + 5 hex digits of the pid, lab dir
/tmp/hf-e2ed-<pid>) with the signed world, starts holdfast validating
(`dnssec: yes`, the lab's trust anchor, `nsec3-max-iterations: 50`) with the
lab's iterator-only Unbound (HF_LAB_RESOLVER) as its forwarder, and asserts
rcode, AD, RRSIG/NSEC/NSEC3 presence, EDE codes and TTLs on the bytes that
come back to a client in the lab's namespace. The lab's fault switches break
the world; every fault case runs on a freshly started holdfast (empty answer
and key caches), so "an uncached name in the broken zone" means exactly that.
Always tears everything down. Prints "ok NAME" / "FAIL NAME: reason" per
case, then "N passed, N failed"; exits 1 when anything failed.

The runner, the rig (`signed=True`) and DNS messages (dnspython) are
tests/e2e/lib's; only the config holdfast gets here and the cases differ.

Environment (besides lib's HF_E2E_VERBOSE, HF_E2E_DRIVER,
HF_E2E_LCORES, HF_E2E_LOGDIR, HF_LAB_UPSTREAM_ADDR):

  HF_E2E_DNSSEC_REFERENCE=unbound  run the same cases against a validating
        Unbound of this run's own (forwarding to the lab's Unbound, loading
        the lab's trust anchor, `ede: yes`) instead of holdfast: checks the
        suite, the lab and the parser against a reference validator. HOLDFAST
        is then ignored. Unbound 1.17 does not do everything holdfast must
        (EDE 27, some EDE codes differ): its failures there are expected.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import (check, rnd, expect, expect_ede, expect_no_ede, expect_a, ede_str,  # noqa: E402
                        ede_name, answer_ttl, soa_of, rcode_name, type_name)
from lib.client import Client, RootNs  # noqa: E402
from lib.ctl import prom_sum  # noqa: E402
from lib.dnsmsg import (T_A, T_SOA, T_TXT, T_AAAA, T_RRSIG, T_NSEC, T_NSEC3,  # noqa: E402
                        NOERROR, SERVFAIL, NXDOMAIN)
from lib.lab import lab_tag, libc, PR_SET_PDEATHSIG  # noqa: E402
from lib.rig import Rig, TEST_A  # noqa: E402
import signal  # noqa: E402

DNSSEC_TYPES = (T_RRSIG, T_NSEC, T_NSEC3)

# EDE info codes (RFC 8914, RFC 9276)
EDE_STALE, EDE_BOGUS, EDE_EXPIRED, EDE_NOT_YET_VALID, EDE_DNSKEY_MISSING = 3, 6, 7, 8, 9
EDE_RRSIGS_MISSING, EDE_NSEC_MISSING, EDE_NO_REACHABLE, EDE_NSEC3_ITERATIONS = 10, 12, 22, 27

# The signed world (tests/lab/README.md, "The signed world"; zones/world/*.zone.in)
SECURE_WWW = {  # name: (A, algorithm of its zone)
    "www.alg8.de": ("192.0.2.8", 8),
    "www.alg13.de": ("192.0.2.13", 13),
    "www.alg15.de": ("192.0.2.15", 15),
    "www.example.de": ("192.0.2.1", 13),
}
WWW_TTL = 300
NEG_TTL = 60
WILD_A = "192.0.2.2"
UNSIGNED_A = "192.0.2.200"
OPTOUT_A = "192.0.2.201"
# holdfast config of this suite and defaults the cases rely on
NSEC3_MAX_ITERATIONS = 50  # the lab's iter.de has 150
STALE_TTL = 30
CLIENT_TIMEOUT = 1.8
STALE_MAX_TTL = 3

REFERENCE = os.environ.get("HF_E2E_DNSSEC_REFERENCE", "")


# ------------------------------------------------------------------ the rig

# holdfast's config here besides lib's signed rig (knobs add to it)
CONFIG = {
    "nsec3-max-iterations": str(NSEC3_MAX_ITERATIONS),
    "failure-ttl": "1",  # a failure cached before `repair` must not outlive the check after it
}


class ReferenceRig(Rig):
    """The same cases against a validating Unbound (HF_E2E_DNSSEC_REFERENCE=
    unbound) at 127.A+6.B.C, in our own namespace, forwarding to the lab's
    Unbound. One fresh Unbound per instance, as holdfast."""

    what = "the reference Unbound"

    def lab_up(self):
        super().lab_up()
        self.sock = None  # no control socket to wait for
        a, b, c = self.lab["HF_LAB_UPSTREAM_ADDR"].split(".")[1:]
        self.ref_addr = f"127.{int(a) + 6}.{b}.{c}"
        self.client = Client(RootNs(), self.ref_addr, self.ref_addr)

    def start(self, extra=(), wait=True, cli=None, **knobs):
        self.stop()
        self.instance += 1
        self.knobs = knobs
        d = os.path.join(self.lab["HF_LAB_DIR"], f"ref-unbound-{self.instance}")
        os.makedirs(d, exist_ok=True)
        max_ttl = knobs.get("max-ttl", 86400)
        conf = os.path.join(d, "unbound.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
    module-config: "validator iterator"
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    logfile: "{d}/unbound.log"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    interface: {self.ref_addr}
    port: 53
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    so-reuseport: no
    trust-anchor-file: "{self.lab['HF_LAB_TRUST_ANCHOR']}"
    ede: yes
    minimal-responses: no
    qname-minimisation: no
    local-zone: "test." nodefault
    val-nsec3-keysize-iterations: "1024 {NSEC3_MAX_ITERATIONS} 2048 {NSEC3_MAX_ITERATIONS} 4096 {NSEC3_MAX_ITERATIONS}"
    cache-max-ttl: {max_ttl}
    serve-expired: yes
    serve-expired-reply-ttl: {STALE_TTL}
    serve-expired-client-timeout: {int(CLIENT_TIMEOUT * 1000)}
    infra-cache-max-rtt: 400
forward-zone:
    name: "."
    forward-addr: {self.lab['HF_LAB_RESOLVER_ADDR']}
""")
        bin_ = os.path.join(self.lab["HF_LAB_DIR"], "world", "unbound", "unbound-lab")  # AppArmor-free copy
        if not os.access(bin_, os.X_OK):
            bin_ = "/usr/sbin/unbound"
        self.log_path = os.path.join(d, "unbound.log")
        self.logs.append(self.log_path)
        self.cmd = [bin_, "-d", "-c", conf]
        out = open(os.path.join(d, "unbound.out"), "w")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL),
                                     close_fds=True)
        out.close()
        return self.wait_ready() if wait else None

    def ready_probe(self):
        r = subprocess.run(["dig", "+time=1", "+tries=1", f"@{self.ref_addr}", "www.test", "A",
                            "+noall", "+comments", "+answer"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10)
        return "www.test", r, "status: NOERROR" in r.stdout and TEST_A in r.stdout


# ------------------------------------------------------------------ helpers

RIG = None


def q(name, qtype=T_A, timeout=4.0, **kw):
    return RIG.client.query(name, qtype, timeout=timeout, **kw)


def rrsig_fields(rr):
    """(type covered, algorithm, labels) of an RRSIG record."""
    return rr.rdata.type_covered, rr.rdata.algorithm, rr.rdata.labels


def all_records(r):
    return r.answer + r.authority + r.additional  # the OPT is not among them


def dnssec_records(r):
    return [rr for rr in all_records(r) if rr.type in DNSSEC_TYPES]


def expect_rrsig(r, covered, alg=None, labels=None, section=None, what=""):
    sigs = [rrsig_fields(rr) for rr in r.records(T_RRSIG, section)]
    match = [s for s in sigs if s[0] == covered and (alg is None or s[1] == alg)
             and (labels is None or s[2] == labels)]
    check(match, f"{what + ': ' if what else ''}no RRSIG covering {type_name(covered)}"
          f"{f' with algorithm {alg}' if alg else ''}{f' and labels {labels}' if labels else ''} "
          f"(RRSIGs: {sigs}): {r.summary()}")


def expect_no_dnssec(r, what=""):
    recs = dnssec_records(r)
    check(not recs, f"{what + ': ' if what else ''}DNSSEC records without DO: "
          f"{[type_name(rr.type) + ' ' + rr.name for rr in recs]}")


def expect_denial(r, rcode, zone, denial_type, what):
    """A negative answer with DO: rcode, AD, SOA of the zone + the NSEC or
    NSEC3 records and their RRSIGs in the authority section, TTLs <= 60."""
    expect(r, rcode, ad=True, what=what)
    expect_no_ede(r, what)
    check(not r.answer, f"{what}: answer section not empty: {r.summary()}")
    soa = soa_of(r, zone)
    check(0 < soa.ttl <= NEG_TTL, f"{what}: SOA TTL {soa.ttl}, expected 1..{NEG_TTL}")
    proofs = r.records(denial_type, r.authority)
    check(proofs, f"{what}: no {type_name(denial_type)} in the authority section: "
          f"{[type_name(x.type) for x in r.authority]}")
    other = T_NSEC if denial_type == T_NSEC3 else T_NSEC3
    check(not r.records(other, r.authority), f"{what}: {type_name(other)} in a "
          f"{type_name(denial_type)} zone's answer")
    expect_rrsig(r, T_SOA, section=r.authority, what=what)
    expect_rrsig(r, denial_type, section=r.authority, what=what)
    for p in proofs:
        check(p.name.lower().endswith(zone), f"{what}: {type_name(denial_type)} owner {p.name} "
              f"outside {zone}")
        check(0 < p.ttl <= NEG_TTL, f"{what}: {type_name(denial_type)} TTL {p.ttl}")


def expect_secure_again(limit=8.0):
    """After `repair all`: fresh (never asked) names, <x>.wild.example.de
    (its chain runs through de. and example.de.), answer secure within
    `limit` seconds (failure-ttl is 1 s; the lab flushes its Unbound)."""
    t0 = time.monotonic()
    while True:
        name = rnd("back") + ".wild.example.de"
        last, _ = q(name, do=True)
        if last.rcode == NOERROR and last.ad and last.values(T_A) == [WILD_A]:
            expect_no_ede(last, f"{name} after repair")
            return
        if time.monotonic() - t0 > limit:
            expect(last, NOERROR, ad=True, what=f"{name}, {limit:g} s after `lab.sh repair all` (failure-ttl is "
                   "1 s: is a bogus verdict remembered longer than failure-ttl?)")
            expect_a(last, WILD_A, name)
            return
        time.sleep(0.5)


# ------------------------------------------------------------------ cases
# --- instance "validating": the healthy world

def secure_case(name):
    value, alg = SECURE_WWW[name]

    def case():
        # DO: AD and the RRSIG (of the zone's algorithm) over the A RRset
        r, _ = q(name, do=True)
        expect(r, NOERROR, ad=True, what=f"{name} A +do")
        expect_a(r, value, name)
        expect_no_ede(r, name)
        check(r.opt is not None and r.opt["do"], f"{name}: DO not echoed in the OPT: {r.summary()}")
        expect_rrsig(r, T_A, alg=alg, section=r.answer, what=f"{name} +do")
        t = answer_ttl(r, T_A)
        check(0 < t <= WWW_TTL, f"{name}: TTL {t}, expected 1..{WWW_TTL}")
        # AD without DO (RFC 6840 5.7): AD, no RRSIGs
        r, _ = q(name, ad=True)
        expect(r, NOERROR, ad=True, what=f"{name} A, AD=1 without DO")
        expect_a(r, value, name)
        expect_no_dnssec(r, f"{name} AD=1 without DO")
        # neither DO nor AD: no AD bit, no RRSIGs
        r, _ = q(name)
        expect(r, NOERROR, ad=False, what=f"{name} A without DO or AD")
        expect_a(r, value, name)
        expect_no_dnssec(r, f"{name} without DO")
        expect_no_ede(r, name)
        # AD=1 in a query without EDNS at all
        r, _ = q(name, ad=True, edns=False)
        expect(r, NOERROR, ad=True, what=f"{name} A, AD=1, no EDNS")
        expect_no_dnssec(r, f"{name} AD=1 no EDNS")

    case.__name__ = "case_secure_" + name.replace(".", "_")
    case.__doc__ = f"{name} (algorithm {alg}): AD with DO and with AD=1, not without; RRSIGs only with DO"
    return case


def case_secure_aaaa_over_ipv6():
    r, _ = q("www.example.de", T_AAAA, server=RIG.client.service6, do=True)
    expect(r, NOERROR, ad=True, what="www.example.de AAAA +do over IPv6")
    check(r.values(T_AAAA) == ["2001:db8:53::1"], f"AAAA {r.values(T_AAAA)}: {r.summary()}")
    expect_rrsig(r, T_AAAA, alg=13, section=r.answer)


def expect_insecure(name, want, no_rrsig=False):
    """name, asked with DO and with AD=1: answered, no AD, no EDE."""
    for kw in ({"do": True}, {"ad": True}):
        r, _ = q(name, **kw)
        expect(r, NOERROR, ad=False, what=f"{name} {kw}")
        expect_a(r, want, name)
        expect_no_ede(r, name)
        if no_rrsig:
            check(not r.records(T_RRSIG, r.answer), f"RRSIG in an unsigned zone's answer: {r.summary()}")


def case_insecure_unsigned_delegation():
    """www.unsigned.de: no DS in de. (NSEC proof): insecure, answered, no AD."""
    expect_insecure("www.unsigned.de", UNSIGNED_A, no_rrsig=True)


def case_insecure_optout():
    """www.insecure.nsec3.de: unsigned delegation inside an NSEC3 opt-out span."""
    expect_insecure("www.insecure.nsec3.de", OPTOUT_A)


def case_insecure_outside_de():
    """www.test: the lab root delegates test. without DS: insecure, no AD."""
    r, _ = q("www.test", do=True)
    expect(r, NOERROR, ad=False, what="www.test +do")
    expect_a(r, TEST_A, "www.test")
    expect_no_ede(r, "www.test")


def negative_case_body(name, qtype, rcode, zone, denial_type):
    tname = type_name(qtype)
    r, _ = q(name, qtype, do=True)
    expect_denial(r, rcode, zone, denial_type, f"{name} {tname} +do")
    r, _ = q(name, qtype, ad=True)
    expect(r, rcode, ad=True, what=f"{name} {tname} AD=1 without DO")
    expect_no_dnssec(r, f"{name} {tname} without DO")
    soa_of(r, zone)
    r, _ = q(name, qtype)
    expect(r, rcode, ad=False, what=f"{name} {tname} without DO or AD")
    expect_no_dnssec(r, f"{name} {tname} without DO")


def case_nxdomain_nsec():
    negative_case_body(rnd("nx") + ".example.de", T_A, NXDOMAIN, "example.de.", T_NSEC)


def case_nodata_nsec():
    negative_case_body("txt.example.de", T_A, NOERROR, "example.de.", T_NSEC)
    negative_case_body("ent.example.de", T_A, NOERROR, "example.de.", T_NSEC)  # empty non-terminal


def nsec3_optout(rr):
    return bool(rr.rdata.flags & 1)


def case_nxdomain_nsec3():
    """NXDOMAIN under nsec3.de: SOA + NSEC3 (+ RRSIGs) with DO. The lab signs
    nsec3.de with opt-out on every NSEC3 (tests/lab/world.sh: ldns-signzone
    -p), so the NSEC3 covering the next closer name has opt-out, which
    leaves room for an unsigned delegation there (RFC 5155 9.2): the
    NXDOMAIN is insecure, no AD, no EDE (holdfast's validator: PR_OPTOUT;
    Unbound agrees). NSEC3 without opt-out is nsec3n.de's case below."""
    name = rnd("nx") + ".nsec3.de"
    r, _ = q(name, do=True)
    proofs = r.records(T_NSEC3, r.authority)
    check(proofs, f"{name}: no NSEC3 in the authority section: {r.summary()}")
    check(all(nsec3_optout(p) for p in proofs),
          f"{name}: an NSEC3 without opt-out: the lab signs nsec3.de with opt-out (-p): {r.summary()}")
    expect(r, NXDOMAIN, ad=False, what=f"{name} +do (opt-out NSEC3: insecure, RFC 5155 9.2)")
    expect_no_ede(r, name)
    soa_of(r, "nsec3.de.")
    expect_rrsig(r, T_NSEC3, section=r.authority, what=name)
    r, _ = q(name, ad=True)
    expect(r, NXDOMAIN, ad=False, what=f"{name} AD=1 (opt-out: insecure)")
    expect_no_dnssec(r, name)


def case_nodata_nsec3():
    negative_case_body("www.nsec3.de", T_TXT, NOERROR, "nsec3.de.", T_NSEC3)


def case_nxdomain_nsec3_secure():
    """NXDOMAIN under nsec3n.de (NSEC3 without opt-out): proven secure, AD."""
    name = rnd("nx") + ".nsec3n.de"
    r, _ = q(name, do=True)
    proofs = r.records(T_NSEC3, r.authority)
    check(proofs and not any(nsec3_optout(p) for p in proofs),
          f"{name}: expected NSEC3 without opt-out: {r.summary()}")
    negative_case_body(name, T_A, NXDOMAIN, "nsec3n.de.", T_NSEC3)


def case_nodata_nsec3_secure():
    negative_case_body("www.nsec3n.de", T_TXT, NOERROR, "nsec3n.de.", T_NSEC3)


def case_wildcard():
    """<fresh>.wild.example.de: synthesized from *.wild, RRSIG labels 3,
    the NSEC proving the name itself does not exist, AD."""
    name = rnd("w") + ".wild.example.de"
    r, _ = q(name, do=True)
    expect(r, NOERROR, ad=True, what=f"{name} A +do")
    expect_a(r, WILD_A, name)
    expect_no_ede(r, name)
    owners = {rr.name.lower() for rr in r.records(T_A)}
    check(owners == {name + "."}, f"wildcard answer owner {owners}, expected {name}.")
    expect_rrsig(r, T_A, alg=13, labels=3, section=r.answer, what=name)
    check(r.records(T_NSEC, r.authority), f"{name}: no NSEC (next closer name proof) in the authority: "
          f"{r.summary()}")
    r, _ = q(rnd("w") + ".wild.example.de", T_TXT, ad=True)
    expect(r, NOERROR, ad=True, what="wildcard TXT, AD=1")
    check(r.values(T_TXT) == [[b"wildcard"]], f"wildcard TXT {r.values(T_TXT)}")


def case_nsec3_iterations_insecure():
    """iter.de: NSEC3 with 150 iterations > nsec3-max-iterations 50 (RFC 9276):
    its denials are insecure: answered, no AD, EDE 27."""
    for name, qtype, rcode in ((rnd("nx") + ".iter.de", T_A, NXDOMAIN), ("www.iter.de", T_TXT, NOERROR)):
        tname = type_name(qtype)
        r, _ = q(name, qtype, do=True)
        expect(r, rcode, ad=False, what=f"{name} {tname} +do")
        expect_ede(r, EDE_NSEC3_ITERATIONS, f"{name} {tname}")
        soa = soa_of(r, "iter.de.")
        check(0 < soa.ttl <= NEG_TTL, f"{name}: SOA TTL {soa.ttl}")
        r, _ = q(name, qtype, ad=True)
        expect(r, rcode, ad=False, what=f"{name} {tname} AD=1")
        expect_ede(r, EDE_NSEC3_ITERATIONS, f"{name} {tname} AD=1")


# --- fault instances: one fresh holdfast each (empty answer and key caches)

STATE = {}
FAULTS = {  # fault switch -> (zone, name to ask (fresh per run), qtype, EDE the issue demands)
    "expired": ("de", "www.alg8.de", T_A, EDE_EXPIRED),
    "future": ("de", "www.alg8.de", T_A, EDE_NOT_YET_VALID),
    "corrupt": ("de", "www.alg8.de", T_A, EDE_BOGUS),
    "dnskey": ("de", "www.alg8.de", T_A, EDE_DNSKEY_MISSING),
    "nosig": ("example.de", "www.example.de", T_A, EDE_RRSIGS_MISSING),
    "nodenial": ("example.de", "*.example.de", T_A, EDE_NSEC_MISSING),  # *: a fresh NXDOMAIN name
}
MATRIX = {}  # fault -> EDE codes seen (for the summary)


def fault_case(kind):
    zone, name, qtype, want = FAULTS[kind]

    def case():
        STATE["fault"] = kind
        RIG.fault(kind, zone)
        qname = rnd("nx") + name[1:] if name.startswith("*") else name
        r, _ = q(qname, qtype, do=True, timeout=8)
        MATRIX[f"fault-{kind} {zone}: {qname}"] = (rcode_name(r.rcode), r.ede_codes())
        expect(r, SERVFAIL, ad=False, what=f"fault-{kind} {zone}, {qname} +do")
        expect_ede(r, want, f"fault-{kind} {zone}, {qname}")
        check(not r.answer, f"SERVFAIL with an answer section: {r.summary()}")
        # the same again: the cached failure keeps its EDE
        r, _ = q(qname, qtype, timeout=8)
        MATRIX[f"fault-{kind} {zone}: {qname} again"] = (rcode_name(r.rcode), r.ede_codes())
        expect(r, SERVFAIL, what=f"fault-{kind} {zone}, {qname} again")
        check(r.ede_codes() in ([want], [13]), f"fault-{kind} {zone}, {qname} again (cached failure): "
              f"EDE {ede_str(r)}, expected {want} ({ede_name(want)}) or 13 (Cached Error)")
        if zone == "de":  # a de. NXDOMAIN (proof signed by the broken de. itself) fails alike
            nx = rnd("nx") + ".de"
            r, _ = q(nx, do=True, timeout=8)
            MATRIX[f"fault-{kind} {zone}: {nx}"] = (rcode_name(r.rcode), r.ede_codes())
            expect(r, SERVFAIL, ad=False, what=f"fault-{kind} de, {nx}")
            expect_ede(r, want, f"fault-{kind} de, {nx}")

    case.__name__ = f"case_fault_{kind}_{zone.replace('.', '_')}"
    return case


def case_cd_gets_data():
    """CD=1 under the fault: the data, NOERROR, never AD (with DO: RRSIGs)."""
    kind = STATE.get("fault")
    check(kind, "no fault active (an earlier case failed)")
    zone, name, qtype, _ = FAULTS[kind]
    name = "www.alg8.de" if zone == "de" else "www.example.de"
    r, _ = q(name, cd=True, timeout=8)
    expect(r, NOERROR, ad=False, what=f"{name} CD=1 under fault-{kind} {zone}")
    expect_a(r, SECURE_WWW[name][0], f"{name} CD=1")
    r, _ = q(name, cd=True, do=True, ad=True, timeout=8)
    expect(r, NOERROR, ad=False, what=f"{name} CD=1 DO=1 AD=1 under fault-{kind} {zone}")
    expect_a(r, SECURE_WWW[name][0], f"{name} CD=1 +do")
    # and CD=0 still fails: the CD=1 answer is cached apart
    r, _ = q(name, timeout=8)
    expect(r, SERVFAIL, what=f"{name} CD=0 after the CD=1 answer")


def case_outside_zone_untouched():
    """Under fault-* de: www.test (outside de., insecure) is answered as ever."""
    r, _ = q("www.test", do=True)
    expect(r, NOERROR, ad=False, what="www.test under a de. fault")
    expect_a(r, TEST_A, "www.test")
    expect_no_ede(r, "www.test")


def case_outside_zone_untouched_example():
    """Under fault-* example.de: another zone of de. (www.alg13.de) stays secure."""
    r, _ = q("www.alg13.de", do=True)
    expect(r, NOERROR, ad=True, what="www.alg13.de under an example.de fault")
    expect_a(r, SECURE_WWW["www.alg13.de"][0])
    expect_no_ede(r, "www.alg13.de")


def case_repaired():
    """`lab.sh repair all`: fresh names whose chain runs through the zone
    that was broken answer secure again (failure-ttl 1 s)."""
    RIG.repair()
    expect_secure_again()


# --- instance "stale" (max-ttl 3): the TLD breaks after names are cached

def case_stale_prime():
    for name in ("www.alg13.de", "www.example.de"):
        r, _ = q(name, do=True)
        expect(r, NOERROR, ad=True, what=f"{name} before the fault")
        expect_a(r, SECURE_WWW[name][0], name)
        t = answer_ttl(r, T_A)
        check(t <= STALE_MAX_TTL, f"{name}: TTL {t} with max-ttl {STALE_MAX_TTL}")
    STATE["primed"] = time.monotonic()


def case_stale_tld_expired():
    """fault-expired de after the names were cached, past their TTL: the
    stale answers, NOERROR, TTL 30, EDE 3 (the first may wait out the
    1.8 s client timeout)."""
    check(STATE.get("primed"), "not primed (an earlier case failed)")
    RIG.fault("expired", "de")
    STATE["fault"] = "expired"
    time.sleep(max(0.0, STATE["primed"] + STALE_MAX_TTL + 1.5 - time.monotonic()))
    for name in ("www.alg13.de", "www.example.de"):
        r, dt = q(name, do=True, timeout=8)
        MATRIX[f"stale, fault-expired de: {name} (cached)"] = (rcode_name(r.rcode), r.ede_codes())
        expect(r, NOERROR, what=f"{name} cached, then fault-expired de, past its TTL")
        expect_a(r, SECURE_WWW[name][0], name)
        check(r.ede_codes() == [EDE_STALE], f"{name}: EDE {ede_str(r)}, expected exactly 3 (Stale Answer) "
              f"(a fresh AD answer means the refresh did not re-validate the chain through de.): {r.summary()}")
        t = answer_ttl(r, T_A)
        check(t == STALE_TTL, f"{name}: stale TTL {t}, expected {STALE_TTL}")
        check(dt <= CLIENT_TIMEOUT + 1.7, f"{name}: stale answer after {dt:.2f} s")


def case_stale_uncached_servfail():
    """Under the same fault, names never cached: SERVFAIL with EDE 7, never 22;
    the Prometheus export counts exactly those three EDE 7 answers."""
    ede7 = RIG.prom("holdfast_answers_ede_total", sparse=True, code="7")
    for name in ("www.alg8.de", rnd("nx") + ".de", rnd("w") + ".wild.example.de"):
        r, _ = q(name, do=True, timeout=8)
        MATRIX[f"stale, fault-expired de: {name} (uncached)"] = (rcode_name(r.rcode), r.ede_codes())
        expect(r, SERVFAIL, ad=False, what=f"{name} (never cached) under fault-expired de")
        expect_ede(r, EDE_EXPIRED, name)
    got = RIG.prom("holdfast_answers_ede_total", sparse=True, code="7") - ede7
    check(got == 3, f"holdfast_answers_ede_total{{code=\"7\"}} rose by {got}, want 3")


# --- instance "resolver down": holdfast's only forwarder is gone

def case_resolver_down_servfail():
    """The lab's Unbound (the forwarder) stopped while validation is on:
    names never asked (nor their chain of trust) are SERVFAIL with exactly
    EDE 22 and the forwarder's reason as its text, never a DNSSEC code,
    once the attempts have timed out; the cached failure is answered at
    once with the same EDE and text; with the
    resolver back (failure-ttl 1 s) the name validates again."""
    RIG.resolver("stop")
    want = [(EDE_NO_REACHABLE, f"{RIG.lab['HF_LAB_RESOLVER']}: connection refused")]
    for name in ("www.alg13.de", rnd("nx") + ".example.de"):
        r, dt = q(name, do=True, timeout=8)
        MATRIX[f"resolver stopped: {name}"] = (rcode_name(r.rcode), r.ede_codes())
        expect(r, SERVFAIL, ad=False, what=f"{name} with the resolver stopped")
        check(r.ede == want, f"{name}: EDE {ede_str(r)}, expected exactly {want}")
        check(not r.answer, f"SERVFAIL with an answer section: {r.summary()}")
        # an ICMP error does not cut an attempt short (a forged one must
        # not end a resolution): 3 attempts x the 1 s upstream timeout
        check(2.8 <= dt <= 6, f"{name}: SERVFAIL after {dt:.2f} s, expected after the 3 attempts of 1 s")
        r2, dt2 = q(name, do=True)
        expect(r2, SERVFAIL, ad=False, what=f"{name} again (cached failure)")
        check(r2.ede == want, f"{name} again: EDE {ede_str(r2)}, expected exactly {want}")
        check(dt2 < 0.5, f"{name} again: took {dt2:.2f} s: failure not cached")
    RIG.resolver("start")
    time.sleep(1.2)  # failure-ttl 1 s
    r, _ = q("www.alg13.de", do=True, timeout=8)
    expect(r, NOERROR, ad=True, what="www.alg13.de with the resolver back")
    expect_a(r, SECURE_WWW["www.alg13.de"][0], "www.alg13.de")
    expect_no_ede(r, "www.alg13.de")


# --- instance "aggressive nsec": RFC 8198 synthesis (a fresh holdfast, counters from 0)

EDE_SYNTHESIZED = 29
UPSTREAM = "holdfast_control_upstream_queries_total"
SYNTH_NX = "holdfast_validation_synth_nxdomain_total"
SYNTH_NODATA = "holdfast_validation_synth_nodata_total"
# RFC 8198 on the cores (NSEC records): the workers' own synthesis
CORE_NX = "holdfast_synth_nxdomain_total"
CORE_NODATA = "holdfast_synth_nodata_total"
MISSES = "holdfast_misses_total"
CACHED = "holdfast_cache_entries"


def counters():
    text = RIG.ctl_text("stats", "--prometheus")
    return {m: prom_sum(text, m) for m in (UPSTREAM, SYNTH_NX, SYNTH_NODATA, CORE_NX, CORE_NODATA, MISSES,
                                           CACHED)}


def moved(before, **want):
    """The counters moved by exactly want (UPSTREAM as upstream=, control's
    synthesis as nx= and nodata=, the cores' as core_nx= and core_nodata=);
    a counter not named must not have moved unless it is UPSTREAM and
    upstream=None (it may). The misses and the cache's entries are not
    looked at here."""
    now = counters()
    names = {"upstream": UPSTREAM, "nx": SYNTH_NX, "nodata": SYNTH_NODATA, "core_nx": CORE_NX,
             "core_nodata": CORE_NODATA}
    for k, m in names.items():
        d = now[m] - before[m]
        w = want.get(k, 0)
        if w is None:
            check(d > 0, f"{m} did not move")
        else:
            check(d == w, f"{m} moved by {d}, expected {w}")
    return now


def authority_ttls(r):
    return [rr.ttl for rr in r.authority]


def expect_synth(r, rcode, first, t_first, what):
    """r synthesized from the NSECs of `first` (answered at t_first): rcode,
    AD, exactly EDE 29, the same NSEC owners and SOA, every authority TTL
    the same and exactly first's smallest less the seconds since."""
    expect(r, rcode, ad=True, what=what)
    check(r.ede_codes() == [EDE_SYNTHESIZED], f"{what}: EDE {ede_str(r)}, expected exactly 29 (Synthesized)")
    check(not r.answer, f"{what}: answer section not empty: {r.summary()}")
    soa_of(r, "example.de.")
    owners = sorted(rr.name.lower() for rr in r.records(T_NSEC, r.authority))
    first_owners = sorted(rr.name.lower() for rr in first.records(T_NSEC, first.authority))
    check(owners and set(owners) <= set(first_owners), f"{what}: NSEC owners {owners}, from {first_owners}")
    expect_rrsig(r, T_SOA, section=r.authority, what=what)
    expect_rrsig(r, T_NSEC, section=r.authority, what=what)
    check(len(r.records(T_RRSIG, r.authority)) == 1 + len(owners), f"{what}: RRSIGs: {r.summary()}")
    ttls = set(authority_ttls(r))
    bound = min(authority_ttls(first))
    elapsed = time.monotonic() - t_first
    check(len(ttls) == 1, f"{what}: authority TTLs {sorted(ttls)}, expected one value")
    t = min(ttls)
    # whole seconds on both sides (control's clock, the cores'): 2 s of slack below
    check(bound - int(elapsed) - 2 <= t <= bound and t <= NEG_TTL,
          f"{what}: TTL {t}, expected {bound} (first answer's) less {elapsed:.1f} s, at most {NEG_TTL}")


def case_aggr_nxdomain():
    """After one NXDOMAIN under example.de (NSEC), another random name in
    the same NSEC range is NXDOMAIN with AD and EDE 29 from the kept NSECs,
    synthesized by the core from its copy of them: no upstream query, no
    MISS, the core's synth_nxdomain +1 (control's not), TTL the first
    answer's less the time since; asked again, synthesized again (nothing
    was cached); without DO, the same (no DNSSEC records, no AD)."""
    first = rnd("nx") + ".example.de"
    r1, _ = q(first, do=True)
    t1 = time.monotonic()
    expect_denial(r1, NXDOMAIN, "example.de.", T_NSEC, f"{first} +do")
    STATE["nx_first"] = (r1, t1)
    kept = RIG.prom("holdfast_aggressive_nsec_records")
    check(kept == len(r1.records(T_NSEC, r1.authority)), f"holdfast_aggressive_nsec_records {kept}, expected "
          f"the first answer's NSECs: {r1.summary()}")
    c = counters()
    time.sleep(1.1)  # a second passes: the TTL must show it
    name = rnd("nx") + ".example.de"
    r, _ = q(name, do=True)
    expect_synth(r, NXDOMAIN, r1, t1, f"{name} +do")
    c = moved(c, core_nx=1)
    r, _ = q(name, do=True)
    expect_synth(r, NXDOMAIN, r1, t1, f"{name} +do again")
    c = moved(c, core_nx=1)
    r, _ = q(name, ad=True)
    expect(r, NXDOMAIN, ad=True, what=f"{name} AD=1 without DO")
    expect_no_dnssec(r, f"{name} AD=1 without DO")
    check(r.ede_codes() == [EDE_SYNTHESIZED], f"{name} AD=1: EDE {ede_str(r)}")
    soa_of(r, "example.de.")
    moved(c, core_nx=1)
    not_cached(c)


def not_cached(before):
    """Neither a MISS nor a cache entry since before."""
    now = counters()
    for m in (MISSES, CACHED):
        check(now[m] == before[m], f"{m} moved by {now[m] - before[m]}, expected 0 (the cores synthesize)")


CORE_FLOOD = 40


def case_aggr_core_flood():
    """A random-subdomain flood under example.de after its first NXDOMAIN:
    CORE_FLOOD fresh names, each NXDOMAIN with AD, exactly EDE 29, the
    first answer's TTL less the time since, all from the cores: 0 upstream
    queries, the cores' synth_nxdomain +CORE_FLOOD, control's synthesis,
    the MISS count and the cache's entries unchanged."""
    check(STATE.get("nx_first"), "no NXDOMAIN kept (an earlier case failed)")
    r1, t1 = STATE["nx_first"]
    c = counters()
    for _ in range(CORE_FLOOD):
        name = rnd("nx") + ".example.de"  # in the first NXDOMAIN's NSEC range
        r, _ = q(name, do=True)
        expect_synth(r, NXDOMAIN, r1, t1, f"{name} +do")
    c = moved(c, core_nx=CORE_FLOOD)
    not_cached(c)


def case_aggr_core_flush():
    """`cache flush example.de` drops the cores' NSECs with control's: the
    next fresh name goes upstream (AD, no EDE), and its NXDOMAIN's NSECs
    reach the cores again: the one after is synthesized there."""
    check(STATE.get("nx_first"), "no NXDOMAIN kept (an earlier case failed)")
    RIG.ctl("cache", "flush", "example.de")
    c = counters()
    name = rnd("nx") + ".example.de"
    r1, _ = q(name, do=True)
    t1 = time.monotonic()
    expect_denial(r1, NXDOMAIN, "example.de.", T_NSEC, f"{name} +do after the flush")
    c = moved(c, upstream=None)
    name = rnd("nx") + ".example.de"
    r, _ = q(name, do=True)
    expect_synth(r, NXDOMAIN, r1, t1, f"{name} +do")
    c = moved(c, core_nx=1)
    not_cached(c)
    STATE["nx_first"] = (r1, t1)


def case_aggr_nodata():
    """txt.example.de A (NODATA, its NSEC lists TXT RRSIG NSEC): then AAAA
    is NODATA from that NSEC (AD, EDE 29, the core's synth_nodata +1, no
    upstream query, no MISS) and is cached on the core (one entry more):
    asked again, it is a hit (synth_nodata +0), the same answer; TXT,
    which the NSEC lists, still goes upstream and is answered."""
    r1, _ = q("txt.example.de", T_A, do=True)
    t1 = time.monotonic()
    expect_denial(r1, NOERROR, "example.de.", T_NSEC, "txt.example.de A +do")
    c = counters()
    r, _ = q("txt.example.de", T_AAAA, do=True)
    expect_synth(r, NOERROR, r1, t1, "txt.example.de AAAA +do")
    check([rr.name.lower() for rr in r.records(T_NSEC, r.authority)] == ["txt.example.de."],
          f"txt.example.de AAAA: NSECs {r.summary()}")
    c0, c = c, moved(c, core_nodata=1)
    check(c[MISSES] == c0[MISSES], f"{MISSES} moved by {c[MISSES] - c0[MISSES]}, expected 0 (the core synthesizes)")
    check(c[CACHED] == c0[CACHED] + 1, f"{CACHED} moved by {c[CACHED] - c0[CACHED]}, expected 1 (a NODATA is cached)")
    r2, _ = q("txt.example.de", T_AAAA, do=True)
    expect_synth(r2, NOERROR, r1, t1, "txt.example.de AAAA +do, again (from the cache)")
    same = [[(rr.name, rr.type, rr.rdata.to_text()) for rr in all_records(x)] for x in (r, r2)]
    check(same[0] == same[1], f"txt.example.de AAAA again: {r2.summary()}, first {r.summary()}")
    c = moved(c)
    check(c[MISSES] == c0[MISSES] and c[CACHED] == c0[CACHED] + 1,
          f"txt.example.de AAAA again: {MISSES} {c[MISSES] - c0[MISSES]}, {CACHED} {c[CACHED] - c0[CACHED]}")
    r, _ = q("txt.example.de", T_TXT, do=True)
    expect(r, NOERROR, ad=True, what="txt.example.de TXT +do")
    check(r.records(T_TXT), f"txt.example.de TXT: no TXT: {r.summary()}")
    moved(c, upstream=None)


def case_aggr_nsec3():
    """nsec3n.de (NSEC3, no opt-out; three names, so three NSEC3 ranges):
    of eight fresh names, each is either synthesized (NXDOMAIN, AD, EDE 29,
    NSEC3s, no upstream query, synth_nxdomain +1) or asked upstream (which
    keeps the range it falls in); at most three ranges can be missing, so
    at least five are synthesized."""
    synthesized = 0
    for _ in range(8):
        c = counters()
        name = rnd("nx") + ".nsec3n.de"
        r, _ = q(name, do=True)
        expect(r, NXDOMAIN, ad=True, what=f"{name} +do")
        check(r.records(T_NSEC3, r.authority) and not r.records(T_NSEC, r.authority),
              f"{name}: expected NSEC3 proofs: {r.summary()}")
        if r.ede_codes() == [EDE_SYNTHESIZED]:
            synthesized += 1
            moved(c, nx=1)
        else:
            expect_no_ede(r, name)
            moved(c, upstream=None)
    check(synthesized >= 5, f"{synthesized} of 8 names synthesized, expected at least 5")


def case_aggr_nsec3_optout():
    """nsec3.de (NSEC3 opt-out): an NXDOMAIN is insecure and never
    synthesized; a NODATA at a matching NSEC3 is (www.nsec3.de TXT, then
    MX: AD, EDE 29, no upstream query)."""
    r, _ = q("www.nsec3.de", T_TXT, do=True)
    expect(r, NOERROR, ad=True, what="www.nsec3.de TXT +do")
    c = counters()
    r, _ = q("www.nsec3.de", 15, do=True)  # MX
    expect(r, NOERROR, ad=True, what="www.nsec3.de MX +do")
    check(r.ede_codes() == [EDE_SYNTHESIZED], f"www.nsec3.de MX: EDE {ede_str(r)}, expected 29")
    nx_insecure_upstream(moved(c, nodata=1), ".nsec3.de")


def nx_insecure_upstream(c, zone):
    """Two fresh names under zone: NXDOMAIN, no AD, no EDE, asked upstream."""
    for _ in range(2):
        name = rnd("nx") + zone
        r, _ = q(name, do=True)
        expect(r, NXDOMAIN, ad=False, what=f"{name} +do")
        expect_no_ede(r, name)
    moved(c, upstream=None)


def case_aggr_not_cd():
    """CD=1: never synthesized (by the cores nor by control), asked upstream
    (validated all the same: AD with DO; no EDE)."""
    check(STATE.get("nx_first"), "no NXDOMAIN kept (an earlier case failed)")
    c = counters()
    name = rnd("nx") + ".example.de"
    r, _ = q(name, cd=True, do=True)
    expect(r, NXDOMAIN, ad=True, what=f"{name} CD=1")
    expect_no_ede(r, f"{name} CD=1")
    moved(c, upstream=None)


def case_aggr_not_insecure():
    """Under unsigned.de (insecure): a second NXDOMAIN goes upstream too."""
    nx_insecure_upstream(counters(), ".unsigned.de")


def case_aggr_not_nta():
    """An NTA on example.de: a name in the kept range goes upstream at once
    (neither the cores nor control synthesize) and is NXDOMAIN without AD
    or EDE."""
    check(STATE.get("nx_first"), "no NXDOMAIN kept (an earlier case failed)")
    RIG.ctl("nta", "add", "example.de", "--lifetime", "60s", "--reason", "aggressive nsec test")
    try:
        c = counters()
        name = rnd("nx") + ".example.de"
        r, _ = q(name, do=True)
        expect(r, NXDOMAIN, ad=False, what=f"{name} under an NTA")
        expect_no_ede(r, f"{name} under an NTA")
        moved(c, upstream=None)
    finally:
        RIG.ctl("nta", "remove", "example.de")


def case_aggr_off_by_reload():
    """aggressive-nsec: no, applied by reload: a name the kept NSECs of a
    fresh NXDOMAIN cover goes upstream (AD, no EDE)."""
    first = rnd("nx") + ".example.de"
    r, _ = q(first, do=True)
    expect_denial(r, NXDOMAIN, "example.de.", T_NSEC, f"{first} +do")
    RIG.knobs = dict(RIG.knobs, **{"aggressive-nsec": "no"})
    with open(RIG.conf_path, "w") as f:
        f.write(RIG.config_text(RIG.knobs, RIG.extra))
    res = RIG.ctl("reload")
    check(res.get("applied") == ["aggressive-nsec"] and res.get("restart_needed") == [], f"reload: {res}")
    c = counters()
    name = rnd("nx") + ".example.de"
    r, _ = q(name, do=True)
    expect_denial(r, NXDOMAIN, "example.de.", T_NSEC, f"{name} +do, aggressive-nsec: no")
    moved(c, upstream=None)


# ------------------------------------------------------------------ runner

# (instance name, holdfast config knobs, [cases]); each instance a fresh holdfast.
def anchor_reload(path, applied):
    """trust-anchor: path in the running holdfast's file, holdfastctl reload,
    which must apply exactly `applied`; then every cache emptied, so the
    next answers are validated with the anchors now in force."""
    RIG.knobs = dict(RIG.knobs, **{"trust-anchor": path})
    with open(RIG.conf_path, "w") as f:
        f.write(RIG.config_text(RIG.knobs, RIG.extra))
    r = RIG.ctl("reload")
    check(r.get("applied") == applied and r.get("restart_needed") == [] and r.get("cores") == 1,
          f"reload: {r}")
    RIG.ctl("cache", "flush", "--all")


def case_anchor_reload():
    """A new trust-anchor file applies on reload (issue 17), validated
    before anything changes: a root DS that matches none of the root's keys
    makes a secure name bogus (SERVFAIL, EDE 9); a file that does not parse
    changes nothing (one line naming it); the right anchors written into
    the same file apply again on the next reload (same path, new text)."""
    good = RIG.lab["HF_LAB_TRUST_ANCHOR"]
    with open(good) as f:
        good_text = f.read()
    other = os.path.join(RIG.lab["HF_LAB_DIR"], "other-root.key")
    r, _ = q("www.example.de", do=True)
    expect(r, NOERROR, ad=True, what="with the lab's anchor")
    with open(other, "w") as f:
        f.write(". IN DS 12345 13 2 " + "AB" * 32 + "\n")
    anchor_reload(other, ["trust-anchor"])
    r, _ = q("www.alg13.de", do=True)
    expect(r, SERVFAIL, what="with a root DS that matches no key")
    expect_ede(r, 9, "with a root DS that matches no key")
    with open(other, "w") as f:
        f.write("not an anchor\n")
    res = RIG.ctl_raw("reload")
    want = f"reload: trust-anchor: {other}: line 1: not a DS or DNSKEY record: nothing changed"
    check(res.rc == 1 and res.obj is not None and res.obj.get("error") == want,
          f"a broken anchor file: {res.show()}; want {want!r}")
    with open(other, "w") as f:  # the same path, the lab's anchors now
        f.write(good_text)
    r = RIG.ctl("reload")
    check(r.get("applied") == ["trust-anchor"], f"same path, new text: {r}")
    RIG.ctl("cache", "flush", "--all")
    r, _ = q("www.alg8.de", do=True)
    expect(r, NOERROR, ad=True, what="with the lab's anchors in the same file")
    anchor_reload(good, ["trust-anchor"])


PLAN = [
    ("validating", {}, [secure_case(n) for n in SECURE_WWW] + [
        case_secure_aaaa_over_ipv6, case_insecure_unsigned_delegation, case_insecure_optout,
        # each DO query here must come from upstream (no EDE 29): the NODATA at
        # www.nsec3n.de before the NXDOMAIN, whose NSEC3s (aggressive-nsec)
        # would prove it (the NODATA keeps only www's NSEC3: no closest encloser)
        case_insecure_outside_de, case_nxdomain_nsec, case_nodata_nsec, case_nxdomain_nsec3, case_nodata_nsec3,
        case_nodata_nsec3_secure, case_nxdomain_nsec3_secure,
        case_wildcard, case_nsec3_iterations_insecure]),
    ("fault-expired de", {}, [fault_case("expired"), case_cd_gets_data, case_outside_zone_untouched,
                              case_repaired]),
    ("fault-future de", {}, [fault_case("future"), case_cd_gets_data, case_repaired]),
    ("fault-corrupt de", {}, [fault_case("corrupt"), case_cd_gets_data, case_repaired]),
    ("fault-dnskey de", {}, [fault_case("dnskey"), case_cd_gets_data, case_repaired]),
    ("fault-nosig example.de", {}, [fault_case("nosig"), case_cd_gets_data, case_outside_zone_untouched_example,
                                    case_repaired]),
    ("fault-nodenial example.de", {}, [fault_case("nodenial"), case_repaired]),
    ("stale", {"max-ttl": STALE_MAX_TTL}, [case_stale_prime, case_stale_tld_expired, case_stale_uncached_servfail,
                                           case_repaired]),
    ("resolver down", {}, [case_resolver_down_servfail]),
] + ([] if REFERENCE else [
    ("trust-anchor reload", {}, [case_anchor_reload]),
    # (NTAs not kept in a state file: the lab has no /var/lib/holdfast)
    ("aggressive nsec", {"nta-state-file": '""'}, [case_aggr_nxdomain, case_aggr_core_flood, case_aggr_nodata,
                             case_aggr_core_flush, case_aggr_nsec3, case_aggr_nsec3_optout,
                             case_aggr_not_cd, case_aggr_not_insecure, case_aggr_not_nta,
                             case_aggr_off_by_reload]),
])


def make_rig(holdfast, srcdir):
    global RIG
    RIG = (ReferenceRig if REFERENCE else Rig)(holdfast, srcdir, "e2ed", lab_tag("d"), signed=True,
                                               config=CONFIG)
    return RIG


def start(rig, label, knobs):
    STATE.clear()
    rig.start(**knobs)


def print_matrix(_runner):
    if MATRIX:
        print("# EDE matrix (query under fault -> rcode, EDE codes seen):")
        for k, (rc, codes) in MATRIX.items():
            print(f"#   {k} -> {rc}, EDE {codes or 'none'}")


def main():
    if REFERENCE not in ("", "unbound"):
        print(f"HF_E2E_DNSSEC_REFERENCE={REFERENCE}: only 'unbound' is known", file=sys.stderr)
        return 2
    if REFERENCE:
        print("# reference mode: the cases run against a validating Unbound, not holdfast", flush=True)
    return runner.main(__doc__, "e2e_dnssec", PLAN, make_rig, start, after=print_matrix)


if __name__ == "__main__":
    sys.exit(main())
