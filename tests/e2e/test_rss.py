"""Several RX queues on one port, one worker each (issue 12, "RSS").

    test_rss.py HOLDFAST SOURCE_ROOT [CASE ...]

holdfast runs with 2 workers: every port has 2 RX/TX queue pairs, and
worker w polls RX queue w and answers out of TX queue w.

net_af_xdp on a 2-queue TAP (xdp_queue_per_worker). A veth gives
net_af_xdp one queue (af_xdp_veth_one_queue); a multi-queue TAP reports
its queues as combined channels, which DPDK 22.11's driver counts. The
test makes the TAP (hf<tag>q, root namespace, no address) and holds both
of its queue file descriptors: it is the wire and the NIC. A frame it
writes on descriptor q arrives on the interface's RX queue q, where the
XDP program hands it to the AF_XDP socket of queue q; what that socket
sends leaves through descriptor q. The test plays a NIC's RSS: it sends
each of 32 client flows (source address and port) to the queue the
Toeplitz hash of the flow under a 40-byte key gives, through the
round-robin table holdfast programs on ports that hash (queue = hash mod
2), with the hash checked against Microsoft's published RSS vector first.
Each query must be answered by the core that owns that queue (the
workers' `queries` counters, one query at a time), out of the same
queue; with a second key the split changes as computed, and holdfast
follows it. On af_xdp the key is the kernel driver's (`ethtool -X`), so
holdfast refuses rss-key there (rss_key_refused_af_xdp).

net_af_packet, qpairs=2 on the lab's veth (fanout_flows): the kernel's
PACKET_FANOUT flow hash picks the queue. 24 flows from the client
namespace, twice each: each is answered by one core, the same both times,
and both cores have flows. rss-key is refused there too.

Why the lab cannot show a key holdfast sets at work: docs/decisions.md,
"RSS in the lab". What holdfast asks of a port that hashes (key, hash
functions, RETA) is tests/unit/test_port.c's.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed".
"""

import fcntl
import os
import re
import select
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import check  # noqa: E402
from lib.ctl import per_core  # noqa: E402
from lib.dnsmsg import NOERROR, T_A, Response, build_query  # noqa: E402
from lib.frames import udp4_frame  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import TEST_A, Rig, sh  # noqa: E402

WORKERS = 2
NAME = "www.test"
FANOUT_FLOWS = [20000 + 977 * i for i in range(24)]  # source ports in the client namespace
XDP_FLOWS = [(f"198.18.53.{10 + i % 8}", 30000 + 1013 * i) for i in range(32)]  # (address, port)
CLIENT_MAC = bytes.fromhex("020000005302")
# Microsoft's RSS verification key (most NICs' default) and another one
KEY_MS = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c"
                       "6a42b73bbeac01fa")
KEY_B = bytes((i * 37 + 11) & 0xff for i in range(40))
NOT_DPDK = ("does not hash in DPDK: the kernel spreads its queues (af_packet: PACKET_FANOUT's "
            "flow hash; af_xdp: the NIC's RSS, set with ethtool -X IFACE hkey KEY)")
TUNSETIFF, IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x400454CA, 0x0002, 0x1000, 0x0100
RIG = None


def toeplitz(key, data):
    """The Toeplitz hash of data (bytes) under key, as a NIC computes it."""
    k = int.from_bytes(key, "big")
    klen = len(key) * 8
    h = 0
    for i, byte in enumerate(data):
        for b in range(8):
            if byte & (0x80 >> b):
                pos = i * 8 + b  # the 32 key bits from this position
                h ^= (k >> (klen - 32 - pos)) & 0xFFFFFFFF
    return h


def rss_queue(key, src, sport, dst="198.18.53.1", dport=53):
    """The queue a NIC with key and holdfast's round-robin RETA gives an
    IPv4 UDP flow: the hash over source and destination address, source
    and destination port, mod the 2 queues."""
    data = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return toeplitz(key, data) % WORKERS


class RssRig(Rig):
    """A Rig whose holdfast may drive net_af_xdp on a 2-queue TAP the test
    makes and holds (xdp_tap=True) instead of the lab's veth."""

    xdp_tap = False
    tap_fds = ()

    def tap_if(self):
        return f"hf{self.tag}q"

    def make_tap(self):
        if self.tap_fds:
            return
        fds = []
        for _ in range(WORKERS):  # queue q is the q-th descriptor attached
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)  # non-blocking: tun runs XDP then
            fds.append(fd)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", self.tap_if().encode(),
                                                   IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE))
        self.tap_fds = fds
        sh("sysctl", "-qw", f"net.ipv6.conf.{self.tap_if()}.disable_ipv6=1")
        sh("ip", "link", "set", self.tap_if(), "up")
        with open(f"/sys/class/net/{self.tap_if()}/address") as f:
            self.tap_mac = bytes.fromhex(f.read().strip().replace(":", ""))

    def start(self, extra=(), wait=True, cli=None, **knobs):
        if self.xdp_tap:
            self.make_tap()
            self.vdev = f"--vdev=net_af_xdp0,iface={self.tap_if()},queue_count={WORKERS}"
        else:
            self.vdev = None
        return super().start(extra=extra, wait=wait, cli=cli, **knobs)

    def wait_ready(self, limit=20.0):
        if not self.xdp_tap:
            return super().wait_ready(limit)
        t0 = time.monotonic()  # no client namespace on the TAP: its log and the socket
        while "ready: " not in self.log_text() or not os.path.exists(self.sock):
            check(self.running(), f"exited with status {self.proc.returncode} during start-up: "
                  f"{self.log_tail(3).strip()}")
            check(time.monotonic() - t0 < limit, f"not ready after {limit:g} s")
            time.sleep(0.05)
        return time.monotonic() - t0

    def teardown(self):
        super().teardown()
        for fd in self.tap_fds:
            os.close(fd)
        self.tap_fds = ()


def tap_exchange(rig, q, src, sport, qid):
    """A query for NAME from src:sport written on queue q's descriptor; the
    answer (Response) and the queue it came back on."""
    wire = build_query(NAME, T_A, qid=qid)
    os.write(rig.tap_fds[q], udp4_frame(rig.tap_mac, CLIENT_MAC, src, rig.lab["HF_LAB_SERVICE4"], wire, sport=sport))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        ready, _, _ = select.select(rig.tap_fds, [], [], max(0.0, deadline - time.monotonic()))
        for fd in ready:
            try:
                f = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
                continue  # not IPv4 UDP
            ihl = (f[14] & 0xF) * 4
            dst, (sp, dp) = socket.inet_ntoa(f[30:34]), struct.unpack("!HH", f[14 + ihl:18 + ihl])
            if dst != src or sp != 53 or dp != sport:
                continue
            check(f[0:6] == CLIENT_MAC and f[6:12] == rig.tap_mac, f"answer to {src}:{sport}: MACs {f[:12].hex()}")
            r = Response(f[14 + ihl + 8:])
            check(r.id == qid and r.rcode == NOERROR and r.values(T_A) == [TEST_A], f"{src}:{sport}: {r.summary()}")
            return r, rig.tap_fds.index(fd)
    check(False, f"no answer to {NAME} from {src}:{sport} (queue {q}) within 3 s")


def case_xdp_queue_per_worker():
    rig = RIG
    # the model first: Microsoft's verification vector (IPv4 with ports)
    check(toeplitz(KEY_MS, socket.inet_aton("66.9.149.187") + socket.inet_aton("161.142.100.80")
                   + struct.pack("!HH", 2794, 1766)) == 0x51CCC178, "the test's Toeplitz is wrong")
    for q in range(WORKERS):  # NAME into each core's cache (the first is a miss on each)
        tap_exchange(rig, q, "198.18.53.9", 19990 + q, 1 + q)
    splits = {}
    for k, key in enumerate((KEY_MS, KEY_B)):
        before = per_core(rig.stats(), "queries")
        check(sorted(before) == list(range(WORKERS)), f"stats --per-core: cores {sorted(before)}")
        split = {c: [] for c in range(WORKERS)}
        for i, (src, sport) in enumerate(XDP_FLOWS):
            q = rss_queue(key, src, sport)
            _, back = tap_exchange(rig, q, src, sport, 100 + 100 * k + i)
            after = per_core(rig.stats(), "queries")
            moved = {c: after[c] - before[c] for c in after if after[c] != before[c]}
            check(moved == {q: 1}, f"{src}:{sport} on queue {q}: the cores' queries moved by {moved}")
            check(back == q, f"{src}:{sport}: sent on queue {q}, answered on queue {back}")
            split[q].append(i)
            before = after
        check(all(split.values()), f"key {k}: a queue without flows {split}: pick other flows")
        splits[k] = split
        print(f"# key {key[:4].hex()}...: flows per core {[len(split[c]) for c in range(WORKERS)]}", flush=True)
    check(splits[0] != splits[1], "the two keys split the flows alike: pick another second key")
    print(f"# flows that changed core with the key: "
          f"{sum(1 for i in range(len(XDP_FLOWS)) if (i in splits[0][0]) != (i in splits[1][0]))}"
          f" of {len(XDP_FLOWS)}", flush=True)


def ask(rig, sport, qid):
    """NAME A from the client namespace, source port sport."""
    s = rig.netns.socket(socket.AF_INET)
    try:
        s.bind((rig.lab["HF_LAB_CLIENT4"], sport))
        s.connect((rig.lab["HF_LAB_SERVICE4"], 53))
        s.settimeout(3)
        s.send(build_query(NAME, T_A, qid=qid))
        try:
            r = Response(s.recv(65535))
        except socket.timeout:
            r = None
    finally:
        s.close()
    check(r is not None, f"no answer to {NAME} from source port {sport} within 3 s")
    check(r.id == qid and r.rcode == NOERROR and r.values(T_A) == [TEST_A], f"source port {sport}: {r.summary()}")


def case_fanout_flows():
    rig = RIG
    for sport in (19990, 19991, 19992, 19993):  # NAME into both cores' caches, most likely
        ask(rig, sport, 1)
    s0 = rig.stats()
    before = per_core(s0, "queries")
    check(sorted(before) == list(range(WORKERS)), f"stats --per-core: cores {sorted(before)}")
    flows = {}
    for rnd in range(2):
        for i, sport in enumerate(FANOUT_FLOWS):
            ask(rig, sport, 2 + rnd * len(FANOUT_FLOWS) + i)
            after = per_core(rig.stats(), "queries")
            moved = {c: after[c] - before[c] for c in after if after[c] != before[c]}
            check(list(moved.values()) == [1], f"source port {sport}: the cores' queries moved by {moved}")
            flows.setdefault(sport, []).append(next(iter(moved)))
            before = after
    s1 = rig.stats()
    split = {c: [p for p, cores in flows.items() if cores[0] == c] for c in range(WORKERS)}
    check(all(len(set(cores)) == 1 for cores in flows.values()),
          f"flows answered by more than one core: {({p: c for p, c in flows.items() if len(set(c)) != 1})}")
    check(all(split.values()), f"a core without flows: {split}")
    rx = {c: per_core(s1, "rx_packets")[c] - per_core(s0, "rx_packets")[c] for c in range(WORKERS)}
    check(all(rx[c] >= 2 * len(split[c]) for c in range(WORKERS)), f"rx_packets per core {rx} for {split}")
    print(f"# flows per core {[len(split[c]) for c in range(WORKERS)]}, rx_packets per core {rx}", flush=True)


def refused(rig, driver):
    key = ":".join(f"{b:02x}" for b in KEY_B)
    rc, lines = rig.failed_start(rig.start, **{"rss-key": key})
    rig.knobs = {}  # the next case's holdfast starts without it
    want = f"holdfast: rss-key: port 0 (net_{driver}) {NOT_DPDK}"
    check(rc == 1 and want in lines, f"status {rc}, lines {lines}, expected {want}")


def case_rss_key_refused_af_packet():
    refused(RIG, "af_packet")


def case_rss_key_refused_af_xdp():
    refused(RIG, "af_xdp")


def case_af_xdp_veth_one_queue():
    """net_af_xdp with queue_count=2 on the lab's veth, set to 2 RX and 2
    TX channels: a veth has no combined channels, and DPDK 22.11 counts
    those alone, so it stops at start-up."""
    rig = RIG
    host = rig.lab["HF_LAB_HOST_IF"]
    sh("ethtool", "-L", host, "rx", "2", "tx", "2")
    out = sh("ethtool", "-l", host)
    cur = out.split("Current hardware settings:")[-1]
    got = dict(re.findall(r"^(RX|TX|Combined):\s+(\S+)", cur, re.M))
    check(got == {"RX": "2", "TX": "2", "Combined": "n/a"}, f"ethtool -l {host}: {out.strip()}")
    rig.xdp_tap, rig.driver = False, "af_xdp"
    try:
        rc, _ = rig.failed_start(rig.start)
    finally:
        rig.xdp_tap, rig.driver = True, None
    want = "Specified queue count 2 is larger than combined queue count 1."
    check(rc != 0 and want in rig.log_text(), f"status {rc}: {rig.log_tail(8).strip()}")


def make_rig(holdfast, srcdir):
    global RIG
    RIG = RssRig(holdfast, srcdir, "e2er", lab_tag("r"), workers=WORKERS)
    return RIG


def start(rig, label, knobs):
    rig.xdp_tap = label.startswith("net_af_xdp")
    rig.start(**knobs)


PLAN = [
    ("net_af_packet qpairs=2", {}, [case_fanout_flows, case_rss_key_refused_af_packet]),
    ("net_af_xdp on a 2-queue TAP", {}, [case_xdp_queue_per_worker, case_rss_key_refused_af_xdp,
                                         case_af_xdp_veth_one_queue]),
]


def main():
    return runner.main(__doc__, "rss", PLAN, make_rig, start=start)


if __name__ == "__main__":
    sys.exit(main())
