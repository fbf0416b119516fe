"""The lab (tests/lab/lab.sh: a client network namespace, a veth pair whose
host end holdfast drives through DPDK, knotd, the signed world with its
Unbound) and one holdfast on it at a time.

One Rig per run. Its name gives the lab dir (/tmp/hf-NAME-PID), the DPDK
file prefixes (hf_NAME_PID_N), the log names (NAME-holdfast-PID-N.log) and
finds what runs of the same suite killed with SIGKILL left behind. knotd
gets an address of this run's own (127.53.A.B from the pid, or
HF_LAB_UPSTREAM_ADDR), so runs can overlap without sharing an upstream.

holdfast forwards to the lab's knotd (test., unsigned, `dnssec: no`), or,
with signed=True, validates with the lab's trust anchor and forwards to the
lab's iterator-only Unbound. workers=None runs it on "-l 0,1" (or
HF_E2E_LCORES) with one queue; workers=N on N worker lcores mapped onto
the CPUs there are, with N queue pairs (the kernel's fanout hash spreads
client flows over them). HF_E2E_DRIVER=af_xdp uses net_af_xdp instead of
net_af_packet.

A holdfast that exits without the rig stopping or killing it has crashed:
note_exit records it in exits, and the runner fails the case it happened
in (take_exits).
"""

import os
import shutil
import signal
import subprocess
import sys
import time

from lib import lab as labmod
from lib.checks import Fail, check
from lib.client import Client, Netns
from lib.ctl import CtlResult, prom_sum

TEST_A = "198.51.100.10"  # www.test: in test. (knotd), insecure in the signed world


def lcores_arg(workers):
    """EAL --lcores putting the main lcore and `workers` worker lcores on the
    CPUs we may run on (more lcores than CPUs is fine: the workers sleep
    when idle, idle-sleep)."""
    cpuset = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    return f"--lcores=(0-{workers})@({cpuset})"


class Rig:
    what = "holdfast"

    def __init__(self, holdfast, srcdir, name, tag, signed=False, workers=None, config=None, upstream=None,
                 lab_dir=None, script=None):
        self.holdfast = os.path.abspath(holdfast)
        self.srcdir = os.path.abspath(srcdir)
        self.lab_sh = os.path.join(self.srcdir, "tests", "lab", "lab.sh")
        pid = os.getpid()
        self.name, self.tag, self.signed, self.workers = name, tag, signed, workers
        self.config = dict(config or {})
        self.script = script or os.path.basename(sys.argv[0])
        upstream = upstream or os.environ.get("HF_LAB_UPSTREAM_ADDR") or \
            f"127.53.{1 + pid // 254 % 254}.{1 + pid % 254}"  # never 127.53.0.x, a hand-made lab's
        self.lab_env = dict(os.environ, HF_LAB_TAG=tag, HF_LAB_DIR=lab_dir or f"/tmp/hf-{name}-{pid}",
                            HF_LAB_UPSTREAM_ADDR=upstream)
        self.ctl_bin = os.environ.get("HF_HOLDFASTCTL") or os.path.join(os.path.dirname(self.holdfast),
                                                                        "holdfastctl")
        self.lab = {}
        self.lab_is_up = self.torn_down = self.faulted = False
        self.netns = self.client = None
        self.run_dir = self.sock = None
        self.proc = self.cmd = self.log_path = self.conf_path = self.started_at = None
        self.instance = 0
        self.prefixes, self.logs = [], []
        self.knobs, self.extra, self.cli = {}, [], None
        self.exits = []  # holdfast exits the tests did not cause (note_exit)
        self.env = None  # holdfast's environment (None: ours), e.g. with NOTIFY_SOCKET
        self.driver = None  # the DPDK driver (None: HF_E2E_DRIVER, else af_packet)
        self.vdev_args = ""  # appended to the --vdev argument, e.g. ",xdp_prog=..."
        self.vdev = None  # the whole --vdev argument (None: net_DRIVER0 on the lab's veth)

    # ---------------------------------------------------------------- lab
    def lab_cmd(self, *args, check_rc=True):
        r = subprocess.run([self.lab_sh, *args], env=self.lab_env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if check_rc and r.returncode != 0:
            raise RuntimeError(f"lab.sh {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r.stdout

    def lab_up(self):
        labmod.remove_leftovers(self.lab_sh, self.name, self.script)
        d = self.lab_env["HF_LAB_DIR"]
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tag"), "w") as f:  # for remove_leftovers, should we be killed
            f.write(self.tag + "\n")
        self.lab_is_up = True  # even a half-made lab gets torn down
        self.lab_cmd("up")
        for line in self.lab_cmd("env").splitlines():
            k, _, v = line.partition("=")
            self.lab[k] = v.strip("'")
        if self.signed:
            for k in ("HF_LAB_RESOLVER", "HF_LAB_TRUST_ANCHOR"):
                check(self.lab.get(k), f"lab.sh env has no {k}: the lab came up without its signed world")
        # the control socket lives in a directory everyone may enter, so a
        # refused connection is the socket's own mode at work, not the dir's
        self.run_dir = os.path.join(d, "run")
        os.makedirs(self.run_dir, exist_ok=True)
        os.chmod(d, 0o755)
        os.chmod(self.run_dir, 0o755)
        self.sock = os.path.join(self.run_dir, "control.sock")
        self.netns = Netns(self.lab["HF_LAB_NETNS"])
        self.client = Client(self.netns, self.lab["HF_LAB_SERVICE4"], self.lab["HF_LAB_SERVICE6"])

    def upstream(self, action):
        """lab.sh upstream-ACTION: knotd start, stop, pause, resume."""
        self.lab_cmd("upstream-" + action)

    def fault(self, kind, zone):
        self.faulted = True
        self.lab_cmd("fault-" + kind, zone)

    def repair(self, zone="all"):
        self.lab_cmd("repair", zone)
        if zone == "all":
            self.faulted = False

    def resolver(self, action):
        """lab.sh resolver-stop / resolver-start (`repair all` starts it too)."""
        if action == "stop":
            self.faulted = True  # started again before the next instance, should a case fail halfway
        self.lab_cmd("resolver-" + action)

    def nsexec(self, *cmd, timeout=10):
        return subprocess.run(["ip", "netns", "exec", self.lab["HF_LAB_NETNS"], *cmd],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)

    # ----------------------------------------------------------- holdfast
    def config_text(self, knobs, extra=()):
        if self.signed:
            conf = {"forwarder": self.lab["HF_LAB_RESOLVER"], "dnssec": "yes",
                    "trust-anchor": self.lab["HF_LAB_TRUST_ANCHOR"]}
        else:
            # knotd is an unsigned authoritative (test.) that cannot answer
            # DS/DNSKEY for the root: forward only
            conf = {"forwarder": self.lab["HF_LAB_UPSTREAM"], "dnssec": "no"}
        conf.update({"idle-sleep": "20", "control-socket": self.sock})
        conf.update(self.config)
        conf.update(knobs)
        return (f"# generated by {self.script}\n"
                f"service-address: {self.lab['HF_LAB_SERVICE4']}\n"
                f"service-address: {self.lab['HF_LAB_SERVICE6']}\n"
                + "".join(f"{k}: {v}\n" for k, v in conf.items() if v is not None)
                + "".join(f"{k}: {v}\n" for k, v in extra))

    def start(self, extra=(), wait=True, cli=None, **knobs):
        """(Re)start holdfast: config keys from knobs (None drops a key),
        extra: (key, value) lines appended (repeatable keys such as nta),
        cli: {option: value} given as --option value on the command line."""
        self.stop()
        self.instance += 1
        self.knobs, self.extra, self.cli = knobs, list(extra), cli
        d = self.lab["HF_LAB_DIR"]
        self.conf_path = os.path.join(d, f"holdfast-{self.name}-{self.instance}.conf")
        text = self.config_text(knobs, extra)
        with open(self.conf_path, "w") as f:
            f.write(text)
        prefix = f"hf_{self.name}_{os.getpid()}_{self.instance}"
        self.prefixes.append(prefix)
        driver = self.driver or os.environ.get("HF_E2E_DRIVER", "af_packet")
        vdev = self.vdev or f"--vdev=net_{driver}0,iface={self.lab['HF_LAB_HOST_IF']}{self.vdev_args}"
        if self.workers:
            lcores = [lcores_arg(self.workers)]
            if not self.vdev:
                vdev += f",qpairs={self.workers}" if driver == "af_packet" else f",queue_count={self.workers}"
        else:
            lcores = ["-l", os.environ.get("HF_E2E_LCORES") or
                      ("0,1" if len(os.sched_getaffinity(0)) >= 2 else "0")]
        cmd = [self.holdfast, *lcores, "--no-huge", "-m", "512", "--no-pci", f"--file-prefix={prefix}", vdev,
               "--", "-c", self.conf_path]
        for k, v in (cli or {}).items():
            cmd += ["--" + k, str(v)]
        self.log_path = os.path.join(labmod.log_dir(), f"{self.name}-holdfast-{os.getpid()}-{self.instance}.log")
        self.logs.append(self.log_path)
        with open(self.log_path, "w") as logf:
            logf.write("# " + " ".join(cmd) + "\n# config:\n")
            logf.write("".join("#   " + line + "\n" for line in text.splitlines()))
            logf.flush()
            self.cmd = cmd
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                         preexec_fn=labmod.child_setup, close_fds=True, env=self.env)
        self.started_at = time.time()
        return self.wait_ready() if wait else None

    def exc_ifname(self):
        return f"hx{self.tag}"  # at most 15 characters, one per lab

    def start_with_exception(self, extra=(), cli=None, wait=True, **knobs):
        """start() with `exception-interface`, set up as an operator would
        (docs/operations.md, "The exception path"), before holdfast starts:
        the veth the DPDK port sits on never hands the clients' frames to
        the kernel's own stack (net_af_packet leaves them to it too, and the
        service addresses are local once the interface holds them: it would
        answer them a second time, through eth0), and a wire's frame sizes
        (the client veth's TSO/GSO would hand net_af_packet 64 KiB TCP
        super-frames, which it cuts at its frame size; net_af_xdp turns the
        peer's GSO off by itself). After: the kernel reaches the clients
        through the interface."""
        lab = self.lab
        sh("sysctl", "-qw", f"net.ipv4.conf.{lab['HF_LAB_HOST_IF']}.rp_filter=1")
        r = self.nsexec("ethtool", "-K", lab["HF_LAB_CLIENT_IF"], "tso", "off", "gso", "off")
        check(r.returncode == 0, f"ethtool -K {lab['HF_LAB_CLIENT_IF']} tso off gso off: {r.stdout.strip()}")
        ready = self.start(extra=extra, cli=dict(cli or {}, **{"exception-interface": self.exc_ifname()}),
                           wait=wait, **knobs)
        if wait:  # the interface is there once holdfast answers
            sh("ip", "route", "replace", "198.18.53.0/24", "dev", self.exc_ifname())
            sh("ip", "-6", "route", "replace", "fd53::/64", "dev", self.exc_ifname())
        return ready

    def failed_start(self, starter, **knobs):
        """starter(wait=False, **knobs) (start or start_with_exception),
        which must make holdfast exit during start-up: (its status, its
        lines that begin "holdfast:"). Fails the case when it keeps running."""
        starter(wait=False, **knobs)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Fail(f"holdfast started with {knobs}")
        finally:
            self.proc = None  # an exit the case asked for
        return rc, [ln for ln in self.log_text().splitlines() if ln.startswith("holdfast:")]

    def restart(self, wait=True):
        """Stop and start again with self.knobs, extra and cli (the last
        start's, unless a case put others back)."""
        return self.start(extra=self.extra, wait=wait, cli=self.cli, **self.knobs)

    def ready_probe(self):
        """dig from the namespace for a name of the lab: unsigned, a name of
        its own per start (so the cases' first queries are real misses);
        signed, www.test (outside de., so the first de. queries are)."""
        name, want = ("www.test", TEST_A) if self.signed else (f"gen-{990 + self.instance}.test", "203.0.113.")
        r = self.nsexec("dig", "+time=1", "+tries=1", f"@{self.lab['HF_LAB_SERVICE4']}", name, "A",
                        "+noall", "+comments", "+answer")
        return name, r, "status: NOERROR" in r.stdout and want in r.stdout

    def wait_ready(self, limit=20.0):
        """Until ready_probe answers and the control socket exists."""
        t0 = time.monotonic()
        last, name = "", "?"
        while time.monotonic() - t0 < limit:
            if not self.running():
                raise RuntimeError(f"exited with status {self.proc.returncode} during start-up "
                                   f"(log: {self.log_path}): {self.log_tail(3).strip()}")
            name, r, ok = self.ready_probe()
            last = r.stdout.strip().splitlines()[-1:] if r.stdout.strip() else [f"dig status {r.returncode}"]
            if ok:
                t1 = time.monotonic()
                while self.sock and time.monotonic() - t1 < 5 and not os.path.exists(self.sock):
                    time.sleep(0.05)
                return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError(f"not answering {name} after {limit:g} s (dig: {' '.join(last)})")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def note_exit(self):
        """If holdfast has exited without the rig stopping or killing it
        (a crash), note how in self.exits and forget the process."""
        p = self.proc
        if p is not None and p.poll() is not None:
            rc = p.returncode
            how = (f"killed by signal {signal.Signals(-rc).name} ({-rc})" if rc < 0
                   else f"exited with status {rc}")
            self.exits.append(f"{self.what} {how} (log: {self.log_path})")
            with open(self.log_path, "a") as f:
                f.write(f"# e2e: {self.what} {how} by itself\n")
            self.proc = None

    def take_exits(self):
        """The exits noted since the last call (crashes: each one fails the case)."""
        self.note_exit()
        out, self.exits = self.exits, []
        return out

    def stop(self):
        """SIGTERM (SIGKILL after 10 s). An exit it made by itself before, a
        status other than 0, or a stop that took SIGKILL is noted in
        self.exits (each one fails the case)."""
        self.note_exit()
        p, self.proc = self.proc, None
        if p is None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with open(self.log_path, "a") as f:
                f.write(f"# e2e: {self.what} did not stop within 10 s of SIGTERM; SIGKILL\n")
            p.kill()
            p.wait(timeout=10)
            self.exits.append(f"{self.what} did not stop within 10 s of SIGTERM (log: {self.log_path})")
            return
        if rc != 0:
            # SIGTERM is a clean stop (status 0): anything else is a
            # failure, a sanitizer's report at exit (leaks) included
            how = (f"killed by signal {signal.Signals(-rc).name} ({-rc})" if rc < 0
                   else f"exited with status {rc}")
            self.exits.append(f"{self.what} {how} on SIGTERM (log: {self.log_path})")

    def stopped(self):
        """The case stopped holdfast itself (and waited for it): not a crash."""
        self.proc = None

    def kill(self):
        """SIGKILL (a crash the case makes): nothing gets written at exit."""
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(timeout=10)

    def log_tail(self, n=40, path=None):
        path = path or self.log_path
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError as e:
            return f"(no log: {e})\n"

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
        try:
            self.stop()
        except Exception as e:  # keep tearing down
            print(f"# teardown: stopping {self.what}: {e}", file=sys.stderr)
        if self.netns:
            self.netns.close()
        if self.lab_is_up:
            try:
                self.lab_cmd("down", check_rc=False)
            except Exception as e:
                print(f"# teardown: lab.sh down: {e}", file=sys.stderr)
        for prefix in self.prefixes:
            shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)

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
            res.parse_json()
        return res

    def ctl(self, *args, **kw):
        """holdfastctl --json ARGS, which must succeed: returns the object."""
        r = self.ctl_raw(*args, **kw)
        check(r.rc == 0, f"expected exit 0: {r.show()}")
        check(r.obj is not None, f"no JSON on stdout: {r.show()}")
        check(r.obj.get("ok") is True, f'"ok" is not true: {r.show()}')
        return r.obj

    def ctl_text(self, *args):
        """holdfastctl ARGS without --json, which must succeed: its stdout."""
        r = self.ctl_raw(*args, json_out=False)
        check(r.rc == 0, f"expected exit 0: {r.show()}")
        return r.out

    def stats(self):
        return self.ctl("stats", "--per-core")

    def prom(self, metric, sparse=False, **labels):
        """prom_sum of metric over `stats --prometheus`."""
        return prom_sum(self.ctl_text("stats", "--prometheus"), metric, sparse, **labels)


def sh(*cmd):
    """Run a command in the root namespace; its failure fails the case."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    check(r.returncode == 0, f"{' '.join(cmd)}: status {r.returncode}: {r.stdout.strip()}")
    return r.stdout
