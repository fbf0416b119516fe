"""holdfast as a service (issue 17): readiness and the watchdog through the
sd_notify protocol itself, and reload.

    test_service.py HOLDFAST SOURCE_ROOT [CASE ...]

systemd is not PID 1 on the machines this runs on, so the test plays the
service manager: it binds a Unix datagram socket, starts holdfast with
NOTIFY_SOCKET pointing at it and WATCHDOG_USEC=1000000 (a ping due every
500 ms, systemd's deadline 1 s), and reads what arrives.

- ready: the first datagram is exactly "READY=1\\nSTATUS=answering on 1
  worker core(s)", it comes once, and a query sent the moment it arrives
  (a miss: a name no one asked before) is answered NOERROR on its first
  try.
- watchdog: WATCHDOG=1 keeps arriving, never more than 1 s apart (what
  systemd would take as a hang), at least 5 in 3 s.
- worker_stall: the worker lcore thread (rte-worker-1) alone is stopped (ptrace
  PTRACE_SEIZE + PTRACE_INTERRUPT on its thread id: a group-wide SIGSTOP
  would stop every thread, control too): after at most one ping already
  under way, no WATCHDOG=1 arrives for 3 s, and the log names the worker.
  Resumed (PTRACE_DETACH), the pings come back within 1.5 s and the log
  says so.
- control_stall: the same with the control thread (the main lcore): no
  ping while it is stopped, pings again after.
- ctl_thread_stall (a holdfast with `control-threads 2`): the same with
  resolver thread 1 (hf-ctl-1), which sends no pings itself: thread 0
  holds them back while it makes no pass, and the log names it.

- reload_notify: SIGHUP under the notify protocol: "RELOADING=1" with
  MONOTONIC_USEC, then "READY=1" once every core applied the reload.

Reload (a holdfast of its own, the file rewritten between reloads):

- reload_changed: serve-stale-ttl 7s and max-ttl 60s in the file;
  `holdfastctl --json reload` says exactly applied [serve-stale-ttl,
  max-ttl], restart_needed [], cores 1; `config get` shows 7s, and a name
  whose record has TTL 3600 comes back with TTL 60.
- reload_restart_only: cache-entries and burst changed (restart) with
  upstream-timeout (run time): applied [upstream-timeout], restart_needed
  [cache-entries, burst], and the log line says so.
- reload_broken: a value above its maximum: exit 1, one line naming the
  file, line and key, "nothing changed"; config get still shows the old
  value, and a good file after it reloads.
- reload_sighup: serve-stale-client-timeout 0 by SIGHUP: the log line,
  and `config get` shows 0.
- reload_forwarder: the forwarder replaced by an address nothing listens
  on: a new name gets SERVFAIL; put back: a new name is answered.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed".
"""

import os
import random
import re
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import answer_ttl, check, expect  # noqa: E402
from lib.dnsmsg import NOERROR, SERVFAIL, T_A  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig  # noqa: E402
from lib.threads import Stopped, thread_of  # noqa: E402

RIG = None
NOTIFY = {"sock": None, "path": None, "got": []}  # got: (monotonic time, datagram)
WD_USEC = 1000000

def receive(until):
    """Read datagrams until the monotonic time `until`; returns those read."""
    s, got = NOTIFY["sock"], []
    while True:
        left = until - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        got.append((time.monotonic(), d.decode()))
    NOTIFY["got"] += got
    return got


def pings(got):
    return [t for t, d in got if d == "WATCHDOG=1"]


def case_ready():
    got = NOTIFY["got"]
    check(got, "nothing arrived on NOTIFY_SOCKET")
    check(got[0][1] == "READY=1\nSTATUS=answering on 1 worker core(s)", f"first datagram: {got[0][1]!r}")
    check(sum(1 for _, d in got if d.startswith("READY=1")) == 1, f"READY=1 more than once: {got}")
    check(NOTIFY.get("answered"), f"the query sent at READY=1 was not answered: {NOTIFY.get('dig')}")
    log = RIG.log_text()
    check("holdfast: every worker answers (1 applied a first control message): READY=1 sent" in log,
          "no readiness line in the log")
    check("holdfast: watchdog: WATCHDOG=1 every 500 ms" in log, "no watchdog line in the log")


def check_steady(seconds):
    t0 = time.monotonic()
    got = receive(t0 + seconds)
    p = [t0] + pings(got)
    gaps = [b - a for a, b in zip(p, p[1:])]
    check(len(p) - 1 >= 5, f"{len(p) - 1} WATCHDOG=1 in {seconds} s: {got}")
    check(max(gaps) < WD_USEC / 1e6, f"a gap of {max(gaps):.3f} s between pings (WatchdogSec 1 s)")
    check(all(d == "WATCHDOG=1" for _, d in got), f"other datagrams: {got}")


def case_watchdog():
    check_steady(3.0)


def stall(comm, log_line, back_line="holdfast: watchdog: every worker makes progress again"):
    tid = thread_of(RIG.proc.pid, comm) if comm else RIG.proc.pid
    comm = comm or "the control thread"
    receive(time.monotonic() + 0.6)  # drain
    with Stopped(RIG.proc.pid, tid):
        t0 = time.monotonic()
        got = receive(t0 + 3.0)
        late = [t - t0 for t in pings(got)]
        # a probe the thread applied just before it stopped may still earn one ping
        check(len(late) <= 1 and all(x < 0.6 for x in late),
              f"WATCHDOG=1 while {comm} is stopped, at {[round(x, 3) for x in late]} s")
    t1 = time.monotonic()
    got = receive(t1 + 1.5)
    check(pings(got), f"no WATCHDOG=1 within 1.5 s of resuming {comm}")
    if log_line:
        log = RIG.log_text()
        check(log_line in log, f"no {log_line!r} in the log")
        check(back_line in log, f"no {back_line!r} in the log")
    check_steady(3.0)


def slow_passes():
    return RIG.ctl("stats", "--per-core")["per_core"][0]["slow_passes"]


def case_worker_stall():
    """The watchdog holds WATCHDOG=1 back while the worker is stopped, and
    the worker counts the 3 s pass it was stopped in as slow (slow_passes:
    10 ms or more; a busy-polling core otherwise has none that long)."""
    s0 = slow_passes()
    stall("rte-worker-1",
          "holdfast: watchdog: worker(s) 0 not making progress: WATCHDOG=1 held back")
    s1 = slow_passes()
    check(s1 > s0, f"slow_passes did not move over a 3 s stop of the worker ({s0} -> {s1})")


def case_control_stall():
    stall(None, None)  # the main thread: the main lcore, the control loop


def case_ctl_thread_stall():
    stall("hf-ctl-1", "holdfast: watchdog: control thread(s) 1 not making progress: WATCHDOG=1 held back",
          "holdfast: watchdog: every control thread makes progress again")


def case_reload_notify():
    receive(time.monotonic() + 0.6)  # drain
    RIG.proc.send_signal(signal.SIGHUP)
    got = [d for _, d in receive(time.monotonic() + 1.0) if d != "WATCHDOG=1"]
    check(len(got) == 2 and got[0].startswith("RELOADING=1\nMONOTONIC_USEC=") and got[1] == "READY=1",
          f"after SIGHUP: {got}")
    usec = int(got[0].split("=")[-1])
    check(abs(usec - time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000) < 2_000_000,
          f"MONOTONIC_USEC {usec} is not now")


# ---- reload

def rewrite(**knobs):
    """The running holdfast's config file with these keys changed, on top of
    the changes before (None drops a key)."""
    RIG.knobs = dict(RIG.knobs, **knobs)
    with open(RIG.conf_path, "w") as f:
        f.write(RIG.config_text(RIG.knobs, RIG.extra))


def reload_ok(applied, restart):
    r = RIG.ctl("reload")
    check(r.get("applied") == applied and r.get("restart_needed") == restart and r.get("cores") == 1 and
          isinstance(r.get("apply_us"), int), f"reload: {r}")
    return r


def config_get(key):
    return RIG.ctl("config", "get", key)["config"][key]


USED = set()


def new_name():
    """A name of the lab this run has not asked yet (a miss)."""
    n = random.choice([i for i in range(1, 900) if i not in USED])
    USED.add(n)
    return f"gen-{n}.test"


def case_reload_changed():
    rewrite(**{"serve-stale-ttl": "7", "max-ttl": "60"})
    reload_ok(["serve-stale-ttl", "max-ttl"], [])
    check(config_get("serve-stale-ttl") == "7s", f"serve-stale-ttl: {config_get('serve-stale-ttl')}")
    r, _ = RIG.client.query(new_name(), T_A)
    expect(r, NOERROR)
    check(answer_ttl(r, T_A) == 60, f"TTL {answer_ttl(r, T_A)} after max-ttl 60 (the record's is 3600)")
    check("holdfast: reload: applied: serve-stale-ttl max-ttl; needs a restart (old value kept): none\n"
          in RIG.log_text(), "no reload line in the log")
    out = RIG.ctl_text("reload")  # text: nothing changed since
    check(re.fullmatch(r"applied:\n  \(none\)\nrestart_needed:\n  \(none\)\ncores: 1\napply_us: \d+\n", out),
          f"text reply: {out!r}")


def case_reload_restart_only():
    rewrite(**{"cache-entries": "2048", "burst": "16", "upstream-timeout": "2s"})
    reload_ok(["upstream-timeout"], ["cache-entries", "burst"])
    check("holdfast: reload: applied: upstream-timeout; needs a restart (old value kept): cache-entries burst\n"
          in RIG.log_text(), "no reload line in the log")
    # the next reload names them again: the old values are still in force
    reload_ok([], ["cache-entries", "burst"])
    # the file as the running holdfast has it again: nothing to name
    rewrite(**{"cache-entries": None, "burst": None})
    reload_ok([], [])


def case_reload_broken():
    before = config_get("serve-stale-ttl")
    check(before == "7s", f"serve-stale-ttl {before} before the case")
    rewrite(**{"serve-stale-ttl": "9h"})
    lines = open(RIG.conf_path).read().splitlines()
    n = 1 + next(i for i, line in enumerate(lines) if line.startswith("serve-stale-ttl:"))
    r = RIG.ctl_raw("reload")
    want = (f'reload: {RIG.conf_path}:{n}: serve-stale-ttl: "9h" is above the maximum 1h: nothing changed')
    check(r.rc == 1 and r.obj is not None and r.obj.get("ok") is False and r.obj.get("error") == want,
          f"broken file: {r.show()}; want error {want!r}")
    check(config_get("serve-stale-ttl") == before, f"serve-stale-ttl changed to {config_get('serve-stale-ttl')}")
    check(f"holdfast: {want}\n" in RIG.log_text(), "no error line in the log")
    rewrite(**{"serve-stale-ttl": "8"})
    reload_ok(["serve-stale-ttl"], [])
    check(config_get("serve-stale-ttl") == "8s", "the good file after the broken one did not apply")


def case_reload_sighup():
    rewrite(**{"serve-stale-client-timeout": "0"})
    RIG.proc.send_signal(signal.SIGHUP)
    line = "holdfast: reload: applied: serve-stale-client-timeout; needs a restart (old value kept): none\n"
    t0 = time.monotonic()
    while line not in RIG.log_text() and time.monotonic() - t0 < 3:
        time.sleep(0.05)
    check(line in RIG.log_text(), "no reload line after SIGHUP")
    check(config_get("serve-stale-client-timeout") == "0", "serve-stale-client-timeout is not 0")


def case_reload_forwarder():
    upstream = RIG.lab["HF_LAB_UPSTREAM"]
    rewrite(**{"forwarder": "127.66.0.1@53", "upstream-timeout": "200ms", "upstream-attempts": "1"})
    reload_ok(["forwarder", "upstream-timeout", "upstream-attempts"], [])
    r, _ = RIG.client.query(new_name(), T_A, timeout=5)
    expect(r, SERVFAIL, "with a forwarder nothing listens on")
    rewrite(**{"forwarder": upstream, "upstream-timeout": "200ms", "upstream-attempts": "1"})
    reload_ok(["forwarder"], [])
    r, _ = RIG.client.query(new_name(), T_A)
    expect(r, NOERROR, "with the lab's forwarder back")


def start_notify(rig, knobs):
    """Start holdfast with NOTIFY_SOCKET and WATCHDOG_USEC; wait for READY=1
    and query at once."""
    if NOTIFY["sock"] is not None:
        NOTIFY["sock"].close()
    d = tempfile.mkdtemp(prefix="hf-notify-")
    path = os.path.join(d, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    NOTIFY.update(sock=s, path=path, got=[], answered=False, dig=None)
    rig.env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WD_USEC))
    try:
        rig.start(wait=False, **knobs)
    finally:
        rig.env = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        check(rig.running(), f"holdfast exited during start-up: {rig.log_tail(3)}")
        got = receive(time.monotonic() + 0.2)
        if any(d.startswith("READY=1") for _, d in got):
            r = rig.nsexec("dig", "+time=2", "+tries=1", f"@{rig.lab['HF_LAB_SERVICE4']}",
                           f"gen-{900 + rig.instance}.test", "A", "+noall", "+comments", "+answer")
            NOTIFY["dig"] = r.stdout
            NOTIFY["answered"] = "status: NOERROR" in r.stdout and "203.0.113." in r.stdout
            return
    raise AssertionError("no READY=1 within 30 s")


def make_rig(holdfast, srcdir):
    global RIG
    os.environ.setdefault("HF_LAB_WORLD", "0")  # the test. zone is enough
    RIG = Rig(holdfast, srcdir, "e2esvc", lab_tag("v"))
    return RIG


def start(rig, label, knobs):
    if label.startswith("notify"):
        start_notify(rig, knobs)
    else:
        rig.start(**knobs)


PLAN = [("notify", {}, [case_ready, case_watchdog, case_worker_stall, case_control_stall, case_reload_notify]),
        ("reload", {}, [case_reload_changed, case_reload_restart_only, case_reload_broken, case_reload_sighup,
                        case_reload_forwarder]),
        ("notify, control-threads 2", {"control-threads": "2"}, [case_ctl_thread_stall])]


def main():
    return runner.main(__doc__, "service", PLAN, make_rig, start=start)


if __name__ == "__main__":
    sys.exit(main())
