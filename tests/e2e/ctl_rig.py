"""A lab rig for tests that drive holdfast with holdfastctl (tests/e2e/test_ctl.py,
tests/drill/drill.py).

The lab with its signed world (tests/lab/), holdfast validating with the lab's
trust anchor, forwarding to the lab's iterator-only Unbound, with several worker
lcores on one net_af_packet port with as many queue pairs (the kernel's
PACKET_FANOUT_HASH spreads the client flows over the queues, so clients from
several source ports reach every worker), a control socket and an NTA state
file in the lab dir; and holdfastctl run against it.

The wire code (queries, answers, namespace sockets) is test_e2e.py's.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as e2e  # noqa: E402
from test_e2e import Fail, check, Client, Netns, libc, PR_SET_PDEATHSIG  # noqa: E402

TEST_A = "198.51.100.10"  # www.test: outside de., insecure (the root delegates test. without DS)


def lcores_arg(workers):
    """EAL --lcores putting the main lcore and `workers` worker lcores on the
    CPUs we may run on (more lcores than CPUs is fine: the workers sleep
    when idle, idle-sleep)."""
    cpus = sorted(os.sched_getaffinity(0))
    cpuset = ",".join(str(c) for c in cpus)
    return f"--lcores=(0-{workers})@({cpuset})"


class CtlResult:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed
        self.obj = None

    def show(self):
        return (f"`{' '.join(self.cmd[self.cmd.index('--') + 1:] if '--' in self.cmd else self.cmd)}` "
                f"exit {self.rc}, stdout {self.out.strip()[:600]!r}, stderr {self.err.strip()[:300]!r}")


def stale_pid(path_pid, marker):
    """True when the pid no longer runs a process whose command line has marker."""
    try:
        with open(f"/proc/{path_pid}/cmdline", "rb") as f:
            return marker.encode() not in f.read()
    except OSError:
        return True


class CtlRig(e2e.Rig):
    """name: used for the lab dir (/tmp/hf-<name>-<pid> unless lab_dir is
    given), log names and the DPDK file prefix. tag: the lab tag."""

    def __init__(self, holdfast, srcdir, name, tag, upstream=None, lab_dir=None, workers=2, script=None):
        super().__init__(holdfast, srcdir)
        pid = os.getpid()
        self.name = name
        self.tag = tag
        self.script = script or os.path.basename(sys.argv[0])
        self.workers = workers
        upstream = upstream or os.environ.get("HF_LAB_UPSTREAM_ADDR") or \
            f"127.53.{1 + pid // 254 % 254}.{1 + pid % 254}"
        self.lab_env = dict(os.environ, HF_LAB_TAG=tag, HF_LAB_DIR=lab_dir or f"/tmp/hf-{name}-{pid}",
                            HF_LAB_UPSTREAM_ADDR=upstream)
        self.ctl_bin = os.environ.get("HF_HOLDFASTCTL") or os.path.join(os.path.dirname(self.holdfast),
                                                                        "holdfastctl")
        self.faulted = False
        self.conf_path = None
        self.config_lines = []
        self.sock = None
        self.state_file = None
        self.started_at = None
        self.extra = []
        self.exits = []  # holdfast exits the tests did not cause (note_exit)

    # ---------------------------------------------------------------- lab
    def remove_leftovers(self):
        """Labs and DPDK runtime dirs of runs of this script killed with SIGKILL."""
        for d in glob.glob(f"/tmp/hf-{self.name}-*"):
            pid = d.rsplit("-", 1)[1]
            if pid.isdigit() and int(pid) != os.getpid() and stale_pid(pid, self.script):
                lab_state = os.path.join(d, "lab.state")
                tag = None
                for f in glob.glob(os.path.join(d, "tag")):
                    with open(f) as fh:
                        tag = fh.read().strip()
                if tag and os.path.exists(lab_state):
                    print(f"# removing the lab left by {self.script} run {pid}", flush=True)
                    subprocess.run([self.lab_sh, "down"], env=dict(os.environ, HF_LAB_TAG=tag, HF_LAB_DIR=d),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        for d in glob.glob(f"/var/run/dpdk/hf_{self.name}_*"):
            pid = os.path.basename(d).split("_")[2]
            if pid.isdigit() and int(pid) != os.getpid() and stale_pid(pid, self.script):
                shutil.rmtree(d, ignore_errors=True)

    def lab_up(self):
        self.remove_leftovers()
        self.lab_is_up = True  # even a half-made lab gets torn down
        self.lab_cmd("up")
        for line in self.lab_cmd("env").splitlines():
            k, _, v = line.partition("=")
            self.lab[k] = v.strip("'")
        for k in ("HF_LAB_RESOLVER", "HF_LAB_TRUST_ANCHOR"):
            check(self.lab.get(k), f"lab.sh env has no {k}: the lab came up without its signed world")
        d = self.lab["HF_LAB_DIR"]
        with open(os.path.join(d, "tag"), "w") as f:
            f.write(self.tag + "\n")
        # the control socket lives in a directory everyone may enter, so a
        # refused connection is the socket's own mode at work, not the dir's
        self.run_dir = os.path.join(d, "run")
        os.makedirs(self.run_dir, exist_ok=True)
        os.chmod(d, 0o755)
        os.chmod(self.run_dir, 0o755)
        self.sock = os.path.join(self.run_dir, "control.sock")
        self.state_file = os.path.join(d, "nta.state")
        self.netns = Netns(self.lab["HF_LAB_NETNS"])
        self.client = Client(self.netns, self.lab["HF_LAB_SERVICE4"], self.lab["HF_LAB_SERVICE6"])

    def fault(self, kind, zone):
        self.faulted = True
        self.lab_cmd("fault-" + kind, zone)

    def repair(self, zone="all"):
        self.lab_cmd("repair", zone)
        if zone == "all":
            self.faulted = False

    # ----------------------------------------------------------- holdfast
    def config_text(self, knobs, extra):
        conf = {
            "forwarder": self.lab["HF_LAB_RESOLVER"],
            "dnssec": "yes",
            "trust-anchor": self.lab["HF_LAB_TRUST_ANCHOR"],
            "idle-sleep": "20",
            "control-socket": self.sock,
            "nta-state-file": self.state_file,
        }
        conf.update({k: str(v) for k, v in knobs.items()})
        return (f"# generated by {self.script}\n"
                f"service-address: {self.lab['HF_LAB_SERVICE4']}\n"
                f"service-address: {self.lab['HF_LAB_SERVICE6']}\n"
                + "".join(f"{k}: {v}\n" for k, v in conf.items() if v is not None)
                + "".join(f"{k}: {v}\n" for k, v in extra))

    def start(self, extra=(), wait=True, **knobs):
        """(Re)start holdfast: config keys from knobs (None drops a key),
        extra: (key, value) lines appended (repeatable keys such as nta)."""
        self.stop()
        self.instance += 1
        self.knobs = knobs
        self.extra = list(extra)
        d = self.lab["HF_LAB_DIR"]
        self.conf_path = os.path.join(d, f"holdfast-{self.name}-{self.instance}.conf")
        text = self.config_text(knobs, extra)
        with open(self.conf_path, "w") as f:
            f.write(text)
        prefix = f"hf_{self.name}_{os.getpid()}_{self.instance}"
        self.prefixes.append(prefix)
        driver = os.environ.get("HF_E2E_DRIVER", "af_packet")
        vdev = f"--vdev=net_{driver}0,iface={self.lab['HF_LAB_HOST_IF']}"
        if driver == "af_packet":
            vdev += f",qpairs={self.workers}"
        else:
            vdev += f",queue_count={self.workers}"
        cmd = [self.holdfast, lcores_arg(self.workers), "--no-huge", "-m", "512", "--no-pci",
               f"--file-prefix={prefix}", vdev, "--", "-c", self.conf_path]
        self.log_path = os.path.join(e2e.log_dir(), f"{self.name}-holdfast-{os.getpid()}-{self.instance}.log")
        self.logs.append(self.log_path)
        with open(self.log_path, "w") as logf:
            logf.write("# " + " ".join(cmd) + "\n# config:\n")
            logf.write("".join("#   " + line + "\n" for line in text.splitlines()))
            logf.flush()

            def child_setup():
                os.setpgrp()
                libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with us, even on SIGKILL

            self.cmd = cmd
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                         preexec_fn=child_setup, close_fds=True)
        self.started_at = time.time()
        if wait:
            return self.wait_ready()
        return None

    def stop(self):
        """Stop holdfast (SIGTERM); an exit it made by itself before is noted
        in self.exits (see take_exits)."""
        self.note_exit()
        super().stop()

    def note_exit(self):
        """If holdfast has exited without the test stopping or killing it
        (a crash), note how in self.exits and forget the process."""
        p = self.proc
        if p is not None and p.poll() is not None:
            rc = p.returncode
            how = (f"killed by signal {signal.Signals(-rc).name} ({-rc})" if rc < 0
                   else f"exited with status {rc}")
            self.exits.append(f"holdfast {how} (log: {self.log_path})")
            with open(self.log_path, "a") as f:
                f.write(f"# e2e: holdfast {how} by itself\n")
            self.proc = None

    def take_exits(self):
        """The exits noted since the last call (crashes: each one fails the case)."""
        self.note_exit()
        out, self.exits = self.exits, []
        return out

    def restart(self, wait=True):
        """Stop and start again with the same config."""
        return self.start(extra=self.extra, wait=wait, **self.knobs)

    def kill(self):
        """SIGKILL (a crash): nothing gets written at exit."""
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(timeout=10)

    def wait_ready(self, limit=20.0):
        """Until dig from the namespace gets www.test (outside de., so the
        first de. queries of a case are real misses) and the control socket
        exists."""
        t0 = time.monotonic()
        last = ""
        while time.monotonic() - t0 < limit:
            if not self.running():
                raise RuntimeError(f"holdfast exited with status {self.proc.returncode} during start-up "
                                   f"(log: {self.log_path}): {self.log_tail(3).strip()}")
            r = self.nsexec("dig", "+time=1", "+tries=1", f"@{self.lab['HF_LAB_SERVICE4']}", "www.test", "A",
                            "+noall", "+comments", "+answer")
            last = r.stdout.strip().splitlines()[-1:] if r.stdout.strip() else [f"dig status {r.returncode}"]
            if "status: NOERROR" in r.stdout and TEST_A in r.stdout:
                t1 = time.monotonic()
                while time.monotonic() - t1 < 5 and not os.path.exists(self.sock):
                    time.sleep(0.05)
                return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError(f"not answering www.test after {limit:g} s (dig: {' '.join(last)})")

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # ---------------------------------------------------------- holdfastctl
    def ctl_raw(self, *args, sock=True, json_out=True, user=None, env=None, timeout=20):
        """Run holdfastctl; returns a CtlResult (obj: the parsed JSON when
        --json was given and stdout is not empty; a Fail if it does not parse)."""
        check(os.access(self.ctl_bin, os.X_OK), f"holdfastctl not found at {self.ctl_bin} "
              "(not built yet? meson compile -C build)")
        cmd = [self.ctl_bin]
        if sock:
            cmd += ["-s", self.sock if sock is True else sock]
        if json_out:
            cmd += ["--json"]
        cmd += [str(a) for a in args]
        if user:
            cmd = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}",
                   "--clear-groups" if len(user) < 3 else f"--groups={user[2]}", "--"] + cmd
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env=env if env is not None else os.environ)
        res = CtlResult(cmd, r.returncode, r.stdout, r.stderr, time.monotonic() - t0)
        if json_out and r.stdout.strip():
            try:
                res.obj = json.loads(r.stdout)
            except ValueError as e:
                raise Fail(f"--json output is not one JSON object ({e}): {res.show()}")
            check(isinstance(res.obj, dict), f"--json output is not an object: {res.show()}")
        return res

    def ctl(self, *args, **kw):
        """holdfastctl --json ARGS, which must succeed: returns the object."""
        r = self.ctl_raw(*args, **kw)
        check(r.rc == 0, f"expected exit 0: {r.show()}")
        check(r.obj is not None, f"no JSON on stdout: {r.show()}")
        check(r.obj.get("ok") is True, f'"ok" is not true: {r.show()}')
        return r.obj

    def stats(self):
        return self.ctl("stats", "--per-core")


def per_core(stats, key):
    """{core: value} of a counter (dotted keys for nested ones) from
    `stats --per-core --json`."""
    out = {}
    for c in stats.get("per_core") or []:
        v = c
        for part in key.split("."):
            v = v.get(part, 0) if isinstance(v, dict) else 0
        out[c.get("core")] = v
    return out


def counter(d, key):
    v = d
    for part in key.split("."):
        check(isinstance(v, dict) and part in v, f"no counter {key} (missing {part!r}) in {json.dumps(d)[:400]}")
        v = v[part]
    return v


def raw_request(sock_path, data, timeout=8.0, shut=False):
    """Write data on the control socket with a raw AF_UNIX socket; returns
    (reply bytes, closed by the server: bool)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close while we still write (oversized)
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        closed = False
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
        return out, closed
    finally:
        s.close()


def spread_query(netns, server, queries, timeout=6.0, **kw):
    """Send every (name, qtype) of queries at once, each from a socket (a
    source port, so a flow) of its own: the port's RSS/fanout spreads them
    over the worker cores. Returns [(name, qtype, Response or None)] in
    order; None: no answer within timeout."""
    import selectors
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
            wire = e2e.build_query(name, qtype, **kw)
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
                out[i] = e2e.Response(data)
                check(out[i].qr and out[i].id == int.from_bytes(wire[:2], "big"),
                      f"bad answer to {queries[i][0]}: {out[i].summary()}")
                sel.unregister(s)
                del pending[s.fileno()]
    finally:
        sel.close()
        for s in socks:
            s.close()
    return [(n, t, r) for (n, t), r in zip(queries, out)]
