"""DNS messages through dnspython (Debian python3-dnspython, 2.3.0 on
Debian 12): build_query makes a query's wire form, Response parses an
answer and keeps what the cases assert on (rcode, flags, records in wire
order with their own TTLs, the OPT and its EDE options) beside the bytes.

Answers are parsed strictly: trailing bytes, an OPT that is not the root's
or not alone, a compression pointer that does not point backwards, RDATA
that does not parse, each fails the case (dns.exception.FormError -> Fail).
Every record is kept on its own (one_rr_per_rrset): a duplicate is counted,
not merged away, and keeps its TTL.
"""

import random

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from lib.checks import Fail, check, rcode_name, type_name

T = dns.rdatatype.RdataType
T_A, T_NS, T_CNAME, T_SOA, T_TXT, T_AAAA, T_OPT = T.A, T.NS, T.CNAME, T.SOA, T.TXT, T.AAAA, T.OPT
T_DS, T_RRSIG, T_NSEC, T_DNSKEY, T_NSEC3 = T.DS, T.RRSIG, T.NSEC, T.DNSKEY, T.NSEC3
C_IN, C_CH = dns.rdataclass.IN, dns.rdataclass.CH
OP_QUERY, OP_NOTIFY, OP_UPDATE = dns.opcode.QUERY, dns.opcode.NOTIFY, dns.opcode.UPDATE
NOERROR, FORMERR, SERVFAIL, NXDOMAIN = dns.rcode.NOERROR, dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NXDOMAIN
NOTIMP, REFUSED, BADVERS = dns.rcode.NOTIMP, dns.rcode.REFUSED, dns.rcode.BADVERS
OPT_COOKIE = dns.edns.OptionType.COOKIE
EDNS_BUFSIZE = 1232  # holdfast's default edns-buffer-size (control/hf_config.h)


class _EDE(dns.edns.EDEOption):
    """dnspython's EDE option, but its text as it came: stock 2.3.0 drops a
    trailing NUL and raises on bad UTF-8; here a NUL stays in the text (so an
    exact comparison sees it) and bad UTF-8 shows as U+FFFD."""

    @classmethod
    def from_wire_parser(cls, otype, parser):
        code = parser.get_uint16()
        opt = cls(code)
        opt.text = parser.get_remaining().decode("utf-8", "replace")
        return opt


dns.edns.register_type(_EDE, dns.edns.OptionType.EDE)


def build_query(name, qtype=T_A, qclass=C_IN, qid=None, rd=True, opcode=OP_QUERY, qr=False, edns=True,
                bufsize=EDNS_BUFSIZE, edns_version=0, do=False, cd=False, ad=False, options=None):
    """A query's wire form; name keeps its case (0x20)."""
    flags = 0
    for on, bit in ((rd, dns.flags.RD), (qr, dns.flags.QR), (cd, dns.flags.CD), (ad, dns.flags.AD)):
        if on:
            flags |= bit
    m = dns.message.make_query(name, qtype, qclass, id=random.randrange(65536) if qid is None else qid,
                               flags=flags)
    m.set_opcode(opcode)
    if edns:
        # use_edns itself: make_query's want_dnssec(False) clears the EDNS
        # version on Python 3.11 (~EDNSFlag.DO is 0 there)
        m.use_edns(edns_version, int(dns.flags.DO) if do else 0, bufsize, options=options)
    return m.to_wire()


def question_wire(wire):
    """The bytes of the first question of a message (its name as it stands
    at offset 12, type and class)."""
    try:
        _, used = dns.name.from_wire(wire, 12)
    except dns.exception.DNSException as e:
        raise Fail(f"no question name at offset 12: {type(e).__name__}")
    check(12 + used + 4 <= len(wire), "question runs past the end")
    return wire[12:12 + used + 4]


class RR:
    """One record: name (as on the wire, case kept), type, rclass, ttl,
    rdata (dnspython's) and value (A/AAAA: the address; CNAME/NS: the
    target, lower case; TXT: the strings as bytes; else None)."""

    def __init__(self, rrset, rdata):
        self.name = rrset.name.to_text()
        self.type, self.rclass, self.ttl, self.rdata = rrset.rdtype, rrset.rdclass, rrset.ttl, rdata
        self.value = None
        if self.type in (T_A, T_AAAA):
            self.value = rdata.address
        elif self.type in (T_CNAME, T_NS):
            self.value = rdata.target.to_text().lower()
        elif self.type == T_TXT:
            self.value = list(rdata.strings)

    def __repr__(self):
        return f"{self.name} {self.ttl} {self.rclass} {type_name(self.type)} {self.value!r}"


class Response:
    """A parsed DNS message (dnspython), with the attributes the cases
    assert on. Raises Fail when it does not parse."""

    def __init__(self, wire):
        self.wire = wire
        check(len(wire) >= 12, f"response of {len(wire)} bytes is shorter than a header")
        try:
            self.msg = m = dns.message.from_wire(wire, one_rr_per_rrset=True)
        except dns.exception.DNSException as e:
            raise Fail(f"answer does not parse ({type(e).__name__}: {e}): {wire[:64].hex()}")
        self.id = m.id
        self.flags = m.flags
        for f in ("qr", "aa", "tc", "rd", "ra", "ad", "cd"):
            setattr(self, f, bool(m.flags & getattr(dns.flags, f.upper())))
        self.opcode = m.opcode()
        self.rcode = m.rcode()
        self.questions = [(q.name.to_text(), q.rdtype, q.rdclass) for q in m.sections[0]]
        self.answer, self.authority, self.additional = (
            [RR(s, rd) for s in sec for rd in s] for sec in m.sections[1:4])
        self.counts = (len(self.questions), len(self.answer), len(self.authority),
                       len(self.additional) + (m.opt is not None) + (m.tsig is not None))
        self.opt = None
        self.ede = []  # [(info code, text)], in the order of the options
        if m.opt is not None:
            self.opt = {"udp": m.payload, "version": m.edns, "do": bool(m.ednsflags & dns.flags.DO),
                        "ext_rcode": m.ednsflags >> 24, "options": m.options}
            self.ede = [(int(o.code), o.text or "") for o in m.options if o.otype == dns.edns.OptionType.EDE]

    def records(self, rtype, section=None):
        rtype = T.make(rtype)
        return [rr for rr in (self.answer if section is None else section) if rr.type == rtype]

    def values(self, rtype):
        return [rr.value for rr in self.records(rtype)]

    def ede_codes(self):
        return [c for c, _ in self.ede]

    def summary(self):
        fl = " ".join(f for f in ("qr", "aa", "tc", "rd", "ra", "ad", "cd") if getattr(self, f))
        s = f"{rcode_name(self.rcode)} id={self.id} flags=[{fl}] counts={self.counts} len={len(self.wire)}"
        if self.answer:
            s += " answer=" + "; ".join(f"{type_name(r.type)} {r.ttl} "
                                        f"{f'<{len(r.value)} strings>' if r.type == T_TXT else r.value}"
                                        for r in self.answer[:4])
        if self.authority:
            s += " authority=" + "; ".join(f"{type_name(r.type)} {r.ttl}" for r in self.authority[:2])
        if self.opt is not None:
            s += f" opt=(udp {self.opt['udp']} v{self.opt['version']} do={int(self.opt['do'])})"
        if self.ede:
            s += " ede=" + ",".join(f"{c}{' ' + repr(t) if t else ''}" for c, t in self.ede)
        return s
