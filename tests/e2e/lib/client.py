"""Sockets in the lab's client namespace, and DNS over them."""

import ctypes
import os
import selectors
import socket
import time

from lib.checks import Fail, check, type_name
from lib.dnsmsg import T_A, Response, build_query
from lib.lab import libc

VERBOSE = os.environ.get("HF_E2E_VERBOSE", "") not in ("", "0")
CLONE_NEWNET = 0x40000000


class Netns:
    """Makes sockets inside a network namespace (setns on this thread only
    for the socket() call; a socket keeps the namespace it was made in)."""

    def __init__(self, name):
        self.name = name
        self.own = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.target = os.open(f"/run/netns/{name}", os.O_RDONLY)

    def socket(self, family, kind=socket.SOCK_DGRAM, proto=0):
        if libc.setns(self.target, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({self.name}): {os.strerror(e)}")
        try:
            return socket.socket(family, kind, proto)
        finally:
            if libc.setns(self.own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to our own namespace failed")

    def close(self):
        for fd in (self.own, self.target):
            try:
                os.close(fd)
            except OSError:
                pass


class RootNs:
    """Netns stand-in: sockets in our own namespace."""

    def socket(self, family, kind=socket.SOCK_DGRAM, proto=0):
        return socket.socket(family, kind, proto)

    def close(self):
        pass


class Client:
    def __init__(self, netns, service4, service6):
        self.ns, self.service4, self.service6 = netns, service4, service6

    def exchange(self, wire, server=None, timeout=3.0, expect_id=True):
        """Send one UDP datagram to server:53 from the client namespace.
        Returns (raw response or None on timeout, seconds elapsed)."""
        server = server or self.service4
        fam = socket.AF_INET6 if ":" in server else socket.AF_INET
        s = self.ns.socket(fam)
        try:
            s.connect((server, 53))
            t0 = time.monotonic()
            s.send(wire)
            while True:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    return None, time.monotonic() - t0
                s.settimeout(left)
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    return None, time.monotonic() - t0
                except ConnectionRefusedError:
                    raise Fail(f"ICMP port unreachable from {server}:53 (the kernel, not holdfast, "
                               "saw the query?)")
                if not expect_id or len(wire) < 2 or (len(data) >= 2 and data[:2] == wire[:2]):
                    return data, time.monotonic() - t0
        finally:
            s.close()

    def query(self, name, qtype=T_A, server=None, timeout=3.0, **kw):
        """Query and parse (build_query's keywords); fails the case on a
        timeout, an answer that does not parse, lacks QR or has another ID.
        Returns (Response, seconds)."""
        wire = build_query(name, qtype, **kw)
        data, dt = self.exchange(wire, server, timeout)
        check(data is not None,
              f"no answer to {name} {type_name(qtype)} from {server or self.service4} within {timeout:g} s")
        r = Response(data)
        if VERBOSE:
            print(f"#   {name} {type_name(qtype)} -> {r.summary()} ({dt * 1000:.1f} ms)", flush=True)
        check(r.qr, f"answer without QR: {r.summary()}")
        check(r.id == int.from_bytes(wire[:2], "big"), "answer ID differs from the query's")
        return r, dt


def spread_query(netns, server, queries, timeout=6.0, **kw):
    """Send every (name, qtype) of queries at once, each from a socket (a
    source port, so a flow) of its own: the port's RSS/fanout spreads them
    over the worker cores. Returns [(name, qtype, Response or None)] in
    order; None: no answer within timeout."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    sel = selectors.DefaultSelector()
    pending = {}
    out = [None] * len(queries)
    socks = []
    try:
        for i, (name, qtype) in enumerate(queries):
            s = netns.socket(fam)
            socks.append(s)
            s.connect((server, 53))
            s.setblocking(False)
            wire = build_query(name, qtype, **kw)
            s.send(wire)
            pending[s.fileno()] = (i, s, wire)
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
                s = key.fileobj
                i, _, wire = pending[s.fileno()]
                try:
                    data = s.recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    continue
                if data[:2] != wire[:2]:
                    continue
                out[i] = Response(data)
                check(out[i].qr and out[i].id == int.from_bytes(wire[:2], "big"),
                      f"bad answer to {queries[i][0]}: {out[i].summary()}")
                sel.unregister(s)
                del pending[s.fileno()]
    finally:
        sel.close()
        for s in socks:
            s.close()
    return [(n, t, r) for (n, t), r in zip(queries, out)]
