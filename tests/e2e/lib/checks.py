"""Fail, check and the assertions on answers (lib.dnsmsg.Response) that
more than one suite makes."""

import random

import dns.edns
import dns.rcode
import dns.rdatatype

NOERROR = dns.rcode.NOERROR


class Fail(AssertionError):
    """A case's assertion failed: the runner reports its message."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def rnd(prefix):
    """A name label never asked before: prefix-<8 hex digits>."""
    return f"{prefix}-{random.randrange(16 ** 8):08x}"


def rcode_name(rcode):
    return dns.rcode.to_text(rcode)


def type_name(rtype):
    """"A" for 1 or "A"; the number for a type dnspython does not know."""
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype))


def ede_name(code):
    """RFC 8914's name of an EDE info code ("DNSSEC Bogus" style words)."""
    return dns.edns.EDECode.to_text(code).replace("_", " ").title().replace("Nsec", "NSEC").replace(
        "Dnssec", "DNSSEC").replace("Dnskey", "DNSKEY").replace("Rrsig", "RRSIG").replace("Nxdomain", "NXDOMAIN")


def ede_str(r):
    """The EDE options of r with their RFC 8914 names, for messages."""
    return ", ".join(f"{c} ({ede_name(c)}){' ' + repr(t) if t else ''}"
                     for c, t in r.ede) or "none"


def expect(r, rcode=NOERROR, what="", **flags):
    """r's rcode is rcode, and each flag given (qr, aa, tc, rd, ra, ad, cd)
    is as given."""
    where = f"{what}: " if what else ""
    check(r.rcode == rcode, f"{where}rcode {rcode_name(r.rcode)}, expected {rcode_name(rcode)} "
          f"(EDE {ede_str(r)}): {r.summary()}")
    for f, want in flags.items():
        check(getattr(r, f) == want, f"{where}{f.upper()}={int(getattr(r, f))}, expected {int(want)}: {r.summary()}")


def expect_no_ede(r, what=""):
    check(not r.ede, f"{what + ': ' if what else ''}unexpected EDE {ede_str(r)}: {r.summary()}")


def expect_ede(r, code, what=""):
    """Exactly one EDE, code; never 22 (No Reachable Authority) for another."""
    where = f"{what}: " if what else ""
    name = ede_name(code)
    codes = r.ede_codes()
    check(codes, f"{where}no EDE option (expected {code}, {name}): {r.summary()}")
    check(22 not in codes or code == 22, f"{where}EDE 22 (No Reachable Authority) for a DNSSEC failure, "
          f"expected {code} ({name}): EDE {ede_str(r)}")
    check(codes == [code], f"{where}EDE {ede_str(r)}, expected exactly {code} ({name})")


def expect_a(r, want, what=""):
    check(r.values("A") == [want], f"{what + ': ' if what else ''}A {r.values('A')}, expected [{want}]: "
          f"{r.summary()}")


def answer_ttl(r, rtype):
    """The smallest TTL of the rtype records in r's answer section."""
    recs = r.records(rtype)
    check(recs, f"no {type_name(rtype)} in the answer: {r.summary()}")
    return min(rr.ttl for rr in recs)


def soa_of(r, zone=None):
    """The one SOA record in r's authority section (of zone, when given)."""
    soas = r.records("SOA", r.authority)
    check(len(soas) == 1, f"{len(soas)} SOA records in the authority section, expected one: {r.summary()}")
    check(zone is None or soas[0].name.lower() == zone, f"SOA of {soas[0].name}, expected {zone}")
    return soas[0]
