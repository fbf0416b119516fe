"""The exception path (issue 13, step 1), on one DPDK driver.

    test_exception.py HOLDFAST SOURCE_ROOT DRIVER [CASE ...]

DRIVER is af_xdp or af_packet; CASE is exact, tcp_echo or off (with or
without the _DRIVER suffix the results name them by). Brings up a lab of
its own (lab name e2ex, tag x + pid) and runs each case on a holdfast of its
own. For exact and tcp_echo it starts with `--exception-interface hxTAG`:
a TAP interface in the root namespace that holds the service addresses
(NOARP). The test routes the lab's client prefixes to it (as an operator
would) and sets rp_filter=1 on the lab's host veth, so that with
net_af_packet, which leaves the frames it reads to the kernel as well, the
root namespace's own stack does not answer them a second time. Then:

- exact: ping -c 3 and ping -6 -c 3 to the service addresses answer; a UDP
  datagram to a port nobody listens on gets ICMP port unreachable and a
  TCP connect to a closed port a RST, both from the kernel; UDP/53 queries
  over IPv4 and IPv6 in between are answered by the workers. holdfast is
  stopped and the exception path's counters (the line it prints at exit)
  moved by exactly those frames: 8 to the kernel (and any port unreachable
  the client sent for a late answer to start-up's readiness probe), 8 from
  it, no drops, checksums completed for the UDP and TCP ones only.
- tcp_echo: a TCP listener bound on each service address in the root
  namespace echoes 1 byte, 1,000 bytes and 200,000 bytes (many segments)
  from a client in the lab's namespace, over IPv4 and IPv6, while UDP/53
  keeps being answered.
- off: without exception-interface, ping gets nothing and the ICMP is a
  not_ours drop, as before; the exception counters stay 0.

In exact and tcp_echo the `holdfastctl stats` JSON totals exception_to_kernel,
exception_from_kernel and drops.exception_full, read just before the stop,
equal the exit line's workers: to-kernel, from-kernel and drops, and its
"exception" object the exit line's tap numbers; without the path there is
no "exception" object.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed".
"""

import os
import random
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import Fail, check  # noqa: E402
from lib.ctl import counter  # noqa: E402
from lib.dnsmsg import T_A, T_AAAA, NOERROR  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig  # noqa: E402

WWW_A, WWW_AAAA = "198.51.100.10", "2001:db8::10"
EXC_LINE = re.compile(r"holdfast: exception (\S+): workers: to-kernel (\d+) from-kernel (\d+) drops (\d+); "
                      r"tap: written (\d+) read (\d+) tap-full (\d+) worker-full (\d+) no-neighbour (\d+) "
                      r"other (\d+) cksum-fixed (\d+)")
EXC_KEYS = ("to_kernel", "from_kernel", "drops", "written", "read", "tap_full", "worker_full",
            "no_neighbour", "other", "cksum_fixed")
# the exit line's worker numbers and the `stats` JSON totals they are
EXC_JSON = {"to_kernel": "exception_to_kernel", "from_kernel": "exception_from_kernel",
            "drops": "drops.exception_full"}
# the exit line's tap numbers and the `stats` JSON "exception" object's keys
EXC_THREAD_JSON = {"written": "tap_written", "read": "tap_read", "tap_full": "tap_full",
                   "worker_full": "worker_full", "no_neighbour": "no_neighbour", "other": "kernel_other",
                   "cksum_fixed": "cksum_fixed"}
RIG = None
ICMP0 = None  # client_icmp_errors before the instance's holdfast started


def ctl_stats(rig):
    return rig.ctl("stats")["total"]


def ifname(rig):
    return rig.exc_ifname()


def client_icmp_errors(rig):
    """ICMP and ICMPv6 destination unreachables the client namespace has
    sent (a late answer to a closed socket), from its SNMP counters."""
    n = 0
    out = rig.nsexec("cat", "/proc/net/snmp", "/proc/net/snmp6").stdout.splitlines()
    for i, line in enumerate(out):
        if line.startswith("Icmp: ") and "OutDestUnreachs" in line.split() and i + 1 < len(out):
            n += int(out[i + 1].split()[line.split().index("OutDestUnreachs")])
        elif line.startswith("Icmp6OutDestUnreachs"):
            n += int(line.split()[1])
    return n


def exc_json(rig):
    """The exception counters of the `stats` JSON: the workers' totals keyed
    as EXC_JSON, and the exception thread's keyed as EXC_THREAD_JSON (when
    the path is on)."""
    st = rig.ctl("stats")
    out = {k: counter(st["total"], key) for k, key in EXC_JSON.items()}
    if "exception" in st:
        out.update({k: counter(st["exception"], key) for k, key in EXC_THREAD_JSON.items()})
    return out


def settled_exc_json(rig):
    """exc_json once two reads 0.2 s apart agree (nothing left in flight)."""
    last = exc_json(rig)
    for _ in range(10):
        time.sleep(0.2)
        cur = exc_json(rig)
        if cur == last:
            break
        last = cur
    return last


def stop_and_counters(rig):
    """Stop holdfast and return its exit line's exception counters; the
    `stats` JSON totals read just before the stop must say the same."""
    js = settled_exc_json(rig)
    rig.stop()
    with open(rig.log_path, errors="replace") as f:
        m = None
        for line in f:
            m = EXC_LINE.search(line) or m
    check(m is not None, "no 'holdfast: exception' line in holdfast's output at exit")
    check(m.group(1) == ifname(rig), f"exception line names {m.group(1)}, not {ifname(rig)}")
    c = dict(zip(EXC_KEYS, (int(v) for v in m.groups()[1:])))
    line = {k: c[k] for k in list(EXC_JSON) + list(EXC_THREAD_JSON)}
    check(js == line, f"stats JSON before the stop {js}, exit line {line}")
    return c


def ping(rig, addr, count=3):
    fam = "-6" if ":" in addr else "-4"
    r = rig.nsexec("ping", fam, "-c", str(count), "-W", "2", "-i", "0.2", addr, timeout=20)
    return r.returncode, r.stdout


def expect_udp53(rig):
    a0 = ctl_stats(rig)["answers"]
    r, _ = rig.client.query("www.test", T_A)
    check(r.rcode == NOERROR and r.values(T_A) == [WWW_A], f"www.test A over IPv4: {r.summary()}")
    r, _ = rig.client.query("www.test", T_AAAA, server=rig.lab["HF_LAB_SERVICE6"])
    check(r.rcode == NOERROR and r.values(T_AAAA) == [WWW_AAAA], f"www.test AAAA over IPv6: {r.summary()}")
    a1 = ctl_stats(rig)["answers"]
    check(a1 - a0 == 2, f"answers +{a1 - a0} for 2 UDP/53 queries")


def case_exact():
    rig = RIG
    expect_udp53(rig)  # into the cache, and the workers answer with the path on
    for addr in (rig.lab["HF_LAB_SERVICE4"], rig.lab["HF_LAB_SERVICE6"]):
        rc, out = ping(rig, addr)
        check(rc == 0 and " 3 received" in out, f"ping {addr}: status {rc}: {out.strip().splitlines()[-2:]}")
    expect_udp53(rig)
    # UDP to a port nobody listens on: ICMP port unreachable from the kernel
    s = rig.netns.socket(socket.AF_INET)
    try:
        s.connect((rig.lab["HF_LAB_SERVICE4"], 5301))
        s.send(b"anyone?")
        s.settimeout(3)
        try:
            s.recv(100)
            raise Fail("an answer from UDP port 5301")
        except ConnectionRefusedError:
            pass
        except socket.timeout:
            raise Fail("no ICMP port unreachable for UDP port 5301 within 3 s")
    finally:
        s.close()
    # TCP to a closed port: the kernel's RST
    s = rig.netns.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(3)
        try:
            s.connect((rig.lab["HF_LAB_SERVICE4"], 5302))
            raise Fail("TCP port 5302 accepted a connection")
        except ConnectionRefusedError:
            pass
        except socket.timeout:
            raise Fail("no RST for TCP port 5302 within 3 s")
    finally:
        s.close()
    expect_udp53(rig)
    c = stop_and_counters(rig)
    # 6 echo requests, 1 UDP datagram, 1 SYN to the kernel; 6 echo replies,
    # 1 port unreachable, 1 RST back (no ARP, ND or DAD: the interface is
    # NOARP). And to the kernel too, unanswered: the port unreachables the
    # client sent for an answer that came after its dig had given up
    # (start-up's readiness probe)
    late = client_icmp_errors(rig) - ICMP0
    want = {"to_kernel": 8 + late, "from_kernel": 8, "drops": 0, "written": 8 + late, "tap_full": 0,
            "worker_full": 0, "no_neighbour": 0, "cksum_fixed": 2}
    got = {k: c[k] for k in want}
    check(got == want, f"exception counters {got}, want {want}")
    # read = what the workers sent + what was not for a client (the
    # kernel's own MLD / router solicitations on the new interface)
    check(c["read"] == c["from_kernel"] + c["other"], f"tap read {c['read']} != 8 + other {c['other']}")


def tcp_echo_server(addr, port, ready, errors):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    try:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(4)
        srv.settimeout(10)
        ready.set()
        for _ in range(3):
            conn, _peer = srv.accept()
            with conn:
                conn.settimeout(10)
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    conn.sendall(data)
    except Exception as e:  # reported by the client side's check
        errors.append(f"server {addr}: {type(e).__name__}: {e}")
        ready.set()
    finally:
        srv.close()


def tcp_echo(rig, addr, port):
    ready, errors = threading.Event(), []
    t = threading.Thread(target=tcp_echo_server, args=(addr, port, ready, errors), daemon=True)
    t.start()
    check(ready.wait(5) and not errors, f"listener on {addr}:{port}: {errors}")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for size in (1, 1000, 200000):
        payload, got = random.randbytes(size), bytearray()
        s = rig.netns.socket(fam, socket.SOCK_STREAM)
        try:
            s.settimeout(10)
            s.connect((addr, port))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except OSError as e:
            raise Fail(f"TCP {addr}:{port}, {size} bytes: {type(e).__name__}: {e} ({len(got)} echoed; "
                       f"server: {errors})")
        finally:
            s.close()
        check(bytes(got) == payload, f"TCP {addr}:{port}: {len(got)} bytes echoed of {size}, or different")
    t.join(10)
    check(not errors, f"echo server: {errors}")


def case_tcp_echo():
    rig = RIG
    expect_udp53(rig)
    tcp_echo(rig, rig.lab["HF_LAB_SERVICE4"], 5353)
    expect_udp53(rig)
    tcp_echo(rig, rig.lab["HF_LAB_SERVICE6"], 5353)
    expect_udp53(rig)
    c = stop_and_counters(rig)
    check(c["drops"] == 0 and c["tap_full"] == 0 and c["worker_full"] == 0 and c["no_neighbour"] == 0,
          f"drops on the exception path: {c}")
    # 200,000 bytes each way over a 1500-byte link: at least 140 segments a direction
    check(c["to_kernel"] >= 2 * 140 and c["from_kernel"] >= 2 * 140, f"too few frames for 400 kB: {c}")
    check(c["cksum_fixed"] == c["to_kernel"], f"every frame was TCP, every checksum completed: {c}")


def case_off():
    rig = RIG
    before = ctl_stats(rig)["drops"]["not_ours"]
    rc, out = ping(rig, rig.lab["HF_LAB_SERVICE4"], count=2)
    check(rc != 0 and " 0 received" in out, f"ping answered without the exception path: {out.strip()}")
    after = ctl_stats(rig)["drops"]["not_ours"]
    check(after - before == 2, f"not_ours +{after - before} for 2 echo requests")
    expect_udp53(rig)
    js = exc_json(rig)
    check(js == {k: 0 for k in EXC_JSON}, f"exception counters without exception-interface: {js}")
    check("exception" not in rig.ctl("stats"), "an \"exception\" object in stats without the path")


def start(rig, label, knobs):
    """An instance's holdfast: with the exception path (knobs["path"]) the
    way an operator sets it up, else with the lab's defaults."""
    global ICMP0
    if knobs.get("path"):
        ICMP0 = client_icmp_errors(rig)
        rig.start_with_exception()
    else:
        rig.start()


def make_rig(holdfast, srcdir):
    global RIG
    os.environ.setdefault("HF_LAB_WORLD", "0")  # the test. zone is enough
    RIG = Rig(holdfast, srcdir, "e2ex", lab_tag("x"))
    return RIG


def main():
    if len(sys.argv) < 4 or sys.argv[3] not in ("af_xdp", "af_packet"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    driver = sys.argv[3]
    os.environ["HF_E2E_DRIVER"] = driver
    path = {"path": True}
    plan = [("exception-interface", path, [(f"exact_{driver}", case_exact)]),
            ("exception-interface", path, [(f"tcp_echo_{driver}", case_tcp_echo)]),
            ("no exception-interface", {}, [(f"off_{driver}", case_off)])]
    # a case by its name, with or without the driver's suffix
    only = [c if c.endswith("_" + driver) else f"{c}_{driver}" for c in sys.argv[4:]]
    return runner.main(__doc__, "exception", plan, make_rig, start=start, argv=sys.argv[1:3] + only)


if __name__ == "__main__":
    sys.exit(main())
