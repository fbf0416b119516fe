"""The case runner every suite shares.

A suite is a plan: [(instance label, start keywords, [case, ...]), ...],
instances in order, each on a freshly started holdfast (Rig.start with the
keywords). A case is a function case_NAME, or a (NAME, function) pair.
`main` parses `SUITE HOLDFAST SOURCE_ROOT [CASE ...]` (only the cases
named run; an unknown name is a usage error), brings the lab up, runs the
plan and always tears everything down, also on SIGTERM, SIGINT or SIGHUP.

It prints "ok NAME (S s)" or "FAIL NAME: reason" per case, the last lines
of the logs of the holdfasts that failed a case, and finally "N passed, N
failed"; the exit status is 1 when anything failed. Nothing is skipped: a
case that cannot run (no root, no lab, holdfast does not start) fails with
the reason. A crash is a failure: holdfast exiting by itself during a case
fails that case even when its assertions passed (and one between two cases
fails the next); the next case then gets a holdfast started afresh, with
the crash still counted.
"""

import atexit
import os
import random
import signal
import sys
import time
import traceback

from lib.checks import Fail, check


def case_name(case):
    return case[0] if isinstance(case, tuple) else case.__name__[len("case_"):]


def case_fn(case):
    return case[1] if isinstance(case, tuple) else case


class Runner:
    def __init__(self, suite, rig):
        self.suite, self.rig = suite, rig
        self.passed = self.failed = 0
        self.failed_logs = set()
        self.current = "setup"

    def fail(self, name, reason):
        print(f"FAIL {name}: {reason}", flush=True)
        self.failed += 1

    def setup(self):
        """The lab up; the reason it cannot be, or None."""
        rig = self.rig
        if os.geteuid() != 0:
            return "must run as root (network namespaces, DPDK)"
        if rig.what == "holdfast" and not os.access(rig.holdfast, os.X_OK):
            return f"holdfast executable not found: {rig.holdfast}"
        try:
            rig.lab_up()
        except Exception as e:
            return f"lab: {e}"
        return None

    def run_case(self, name, fn):
        rig = self.rig
        self.current = name
        t0 = time.monotonic()
        log_before = rig.log_path
        before = rig.take_exits()  # between the case before and this one
        ok = False
        try:
            check(not before, f"before the case: {'; '.join(before)}")
            if not rig.running():  # stopped by the case before, or its crash (counted there)
                rig.restart()
            fn()
            ok = True
        except Fail as e:
            self.fail(name, e)
        except Exception as e:
            self.fail(name, f"{type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stdout)
        exits = rig.take_exits()
        if ok and exits:
            self.fail(name, "; ".join(exits))
            ok = False
        elif exits:
            print(f"# and during {name}: {'; '.join(exits)}", flush=True)
        if ok:
            print(f"ok {name} ({time.monotonic() - t0:.1f} s)", flush=True)
            self.passed += 1
        else:
            self.failed_logs.update(p for p in (log_before, rig.log_path) if p)

    def run_instance(self, label, knobs, cases, setup_error, start):
        start_error = setup_error
        if not start_error:
            try:
                if self.rig.faulted:
                    self.rig.repair()
                print(f"# instance {label}", flush=True)
                start(label, knobs)
            except Exception as e:
                start_error = f"{self.rig.what} start ({label}): {e}"
                self.failed_logs.add(self.rig.log_path)
        for c in cases:
            if start_error:
                self.current = case_name(c)
                self.fail(case_name(c), start_error)
            else:
                self.run_case(case_name(c), case_fn(c))
        if not start_error:
            self.rig.stop()
            for e in self.rig.take_exits():  # after the last case, before the stop
                self.fail(f"{label} (after its cases)", e)


def usage(doc, msg=None):
    print(msg or doc.strip(), file=sys.stderr)
    return 2


def main(doc, suite, plan, make_rig, start=None, after=None, finally_=None, argv=None, paths_optional=False,
         select=True):
    """Run a suite. make_rig(holdfast, srcdir) -> Rig (the suite keeps it);
    start(rig, label, knobs) starts holdfast for an instance (default
    rig.start(**knobs)); after(runner) runs once every instance ran (it may
    add failures); finally_(runner) runs before the teardown, always."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(doc.strip())
        return 0
    if len(args) < 2 and not paths_optional:
        return usage(doc)
    srcdir = os.path.abspath(args[1] if len(args) > 1 else
                             os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
    holdfast = args[0] if args else os.path.join(srcdir, "build", "holdfast")
    only = set(args[2:])
    if only and not select:
        return usage(doc, f"{suite} runs every case: no case names")
    known = {case_name(c) for *_, cases in plan for c in cases}
    if only - known:
        return usage(doc, f"unknown case(s): {' '.join(sorted(only - known))}; known: {' '.join(sorted(known))}")
    random.seed()
    rig = make_rig(holdfast, srcdir)
    run = Runner(suite, rig)
    atexit.register(rig.teardown)

    def on_signal(sig, _frame):
        raise SystemExit(f"signal {sig}")

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    start = start or (lambda r, label, knobs: r.start(**knobs))
    t_start = time.monotonic()
    try:
        setup_error = run.setup()
        for label, knobs, cases in plan:
            cases = [c for c in cases if not only or case_name(c) in only]
            if cases:
                run.run_instance(label, knobs, cases, setup_error, lambda lb, kn: start(rig, lb, kn))
        if after:
            after(run)
    except SystemExit as e:  # a signal (on_signal): report, clean up, count it
        run.fail(run.current, f"interrupted by {e}")
    finally:
        if finally_:
            finally_(run)
        rig.teardown()
    for path in sorted(p for p in run.failed_logs if p):
        print(f"# --- last lines of {path}")
        sys.stdout.write(rig.log_tail(40, path))
    print(f"# {suite} took {time.monotonic() - t_start:.1f} s")
    print(f"{run.passed} passed, {run.failed} failed", flush=True)
    return 1 if run.failed else 0
