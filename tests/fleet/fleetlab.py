"""The fleet lab (tests/fleet/): three holdfast sites with their agents and
BIRDs, a router and a client behind it, a 3-member etcd cluster. One
command brings it up (and keeps it up until told to stop) and down:

    tests/fleet/fleetlab.py up [HOLDFAST [SOURCE_ROOT]]   (as root; default
                                  build/holdfast of this tree)
    tests/fleet/fleetlab.py down

`up` stays in the foreground (every process it starts dies with it) and
writes /tmp/hf-fleetlab.env: the sites' management sockets, the etcd
endpoints and TLS files for holdfastctl --fleet, the namespaces; `down`
(or Ctrl-C, SIGTERM) stops it, and it tears everything down. The lab is
test_fleet.py's (class Fleet); the pieces are here:

A 3-member etcd cluster on loopback
addresses, holdfast sites on their own labs (tests/e2e/lib/rig.py), a
holdfast-fleet agent per site, TCP proxies that can cut one site off from
etcd, and BIRD: one router namespace peering with each site's BIRD, with
a client namespace behind it.

Addresses: etcd members on 127.61.X.1-3 (client port 2379, peer 2380),
the proxies of a site on 127.61.X.(10*site+1..3), X from our pid; BGP on
veths in 198.18.70.0/24 and fd53:70::/64 (site i: 198.18.70.(4i+1)/30 on
its side, .(4i+2) on the router's); the client behind the router on
198.18.71.0/24 and fd53:71::/64. etcd's data lives on /dev/shm (tmpfs):
Debian's etcd 3.4 has no --unsafe-no-fsync, and a WAL fsync on a shared
disk is what would dominate the fleet's latency otherwise.
"""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))  # lib

from lib import lab as labmod
from lib.checks import check


def octet():
    return 1 + os.getpid() % 254


def make_certs(d, server_ips):
    """A CA, a member certificate for server_ips (server and client use:
    etcd 3.4's gateway dials its own gRPC with it) and a client
    certificate, in d: ca.crt, server.{crt,key}, client.{crt,key}. The
    client certificate has no common name: with etcd's auth on, the JSON
    gateway refuses one that has (a CN is no etcd user through it)."""
    os.makedirs(d, exist_ok=True)

    def ossl(*args):
        r = run(["openssl", *args], cwd=d)
        check(r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr.strip()[-300:]}")

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=hf-fleet-test-ca")
    for who, ext in (("server", "subjectAltName=" + ",".join(f"IP:{a}" for a in server_ips)
                      + "\nextendedKeyUsage=serverAuth,clientAuth\n"),
                     ("client", "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(d, f"{who}.ext"), "w") as f:
            f.write(ext + "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n")
        subj = "/CN=hf-fleet-server" if who == "server" else "/O=hf-fleet-client"
        ossl("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", subj)
        ossl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{who}.crt", "-days", "2", "-extfile", f"{who}.ext")
    return {k: os.path.join(d, f) for k, f in (("ca", "ca.crt"), ("cert", "client.crt"), ("key", "client.key"))}


class Etcd:
    """Three members; start, kill (SIGKILL), start again, the leader.
    Clients over TLS with client certificates (--client-cert-auth): the
    certificates' files are in self.tls; extra_ips are more addresses the
    member certificate names (the proxies')."""

    def __init__(self, name, n=3, extra_ips=(), net="127.61"):
        x = octet()
        self.addrs = [f"{net}.{x}.{i + 1}" for i in range(n)]
        self.extra_ips = list(extra_ips)
        self.dir = f"/dev/shm/hf-{name}-{os.getpid()}-etcd"
        self.procs = [None] * n
        self.logs = [os.path.join(labmod.log_dir(), f"{name}-etcd{i + 1}-{os.getpid()}.log") for i in range(n)]
        self.token = f"hf-{name}-{os.getpid()}"
        self.tls = None
        self.ctx = None

    def url(self, i):
        return f"https://{self.addrs[i]}:2379"

    def client_env(self):
        """The environment holdfastctl --fleet takes the TLS files from."""
        return dict(os.environ, HOLDFAST_ETCD_CACERT=self.tls["ca"], HOLDFAST_ETCD_CERT=self.tls["cert"],
                    HOLDFAST_ETCD_KEY=self.tls["key"])

    def agent_args(self):
        return ["--etcd-cacert", self.tls["ca"], "--etcd-cert", self.tls["cert"], "--etcd-key", self.tls["key"]]

    def endpoints(self):
        return ",".join(self.url(i) for i in range(len(self.addrs)))

    def etcdctl(self, *args, user=None):
        """etcdctl (gRPC, with the client certificate) on every member."""
        cmd = ["etcdctl", "--endpoints", self.endpoints(), "--cacert", self.tls["ca"], "--cert", self.tls["cert"],
               "--key", self.tls["key"], *(["--user", user] if user else []), *args]
        r = run(cmd, env=dict(os.environ, ETCDCTL_API="3"))
        check(r.returncode == 0, f"{' '.join(args)}: {r.stderr.strip()[-300:]}")
        return r.stdout

    def start(self, i):
        a = self.addrs[i]
        cluster = ",".join(f"e{j + 1}=http://{b}:2380" for j, b in enumerate(self.addrs))
        cmd = ["etcd", "--name", f"e{i + 1}", "--data-dir", os.path.join(self.dir, f"e{i + 1}"),
               "--listen-client-urls", f"https://{a}:2379", "--advertise-client-urls", f"https://{a}:2379",
               "--cert-file", os.path.join(self.dir, "tls", "server.crt"),
               "--key-file", os.path.join(self.dir, "tls", "server.key"),
               "--trusted-ca-file", self.tls["ca"], "--client-cert-auth",
               "--listen-peer-urls", f"http://{a}:2380", "--initial-advertise-peer-urls", f"http://{a}:2380",
               "--initial-cluster", cluster, "--initial-cluster-state", "new",
               "--initial-cluster-token", self.token,
               "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn",
               "--logger", "zap"]
        with open(self.logs[i], "a") as logf:
            self.procs[i] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                             preexec_fn=labmod.child_setup, close_fds=True)

    def up(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.tls = make_certs(os.path.join(self.dir, "tls"), self.addrs + self.extra_ips)
        self.ctx = ssl.create_default_context(cafile=self.tls["ca"])
        self.ctx.load_cert_chain(self.tls["cert"], self.tls["key"])
        for i in range(len(self.addrs)):
            self.start(i)
        self.wait_healthy()

    def kill(self, i):
        p, self.procs[i] = self.procs[i], None
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(timeout=10)

    def down(self):
        for i in range(len(self.addrs)):
            self.kill(i)
        shutil.rmtree(self.dir, ignore_errors=True)

    def post(self, i, path, body, timeout=2.0):
        req = urllib.request.Request(self.url(i) + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout, context=self.ctx) as r:
            return json.loads(r.read())

    def status(self, i):
        try:
            return self.post(i, "/v3/maintenance/status", {})
        except OSError:
            return None

    def leader(self):
        """The index of the leader (as the members that answer agree), or None."""
        ids = {}
        leaders = set()
        for i in range(len(self.addrs)):
            s = self.status(i)
            if s:
                ids[s["header"]["member_id"]] = i
                leaders.add(s.get("leader"))
        if len(leaders) == 1:
            return ids.get(leaders.pop())
        return None

    def wait_healthy(self, limit=30.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            ok = all(self.status(i) for i in range(len(self.addrs)) if self.procs[i])
            if ok and self.leader() is not None:
                try:
                    self.post(self.leader(), "/v3/kv/range", {"key": "eA=="})
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"etcd cluster not healthy within {limit:g} s (logs: {self.logs})")

    def revision(self):
        for i in range(len(self.addrs)):
            if self.procs[i]:
                try:
                    return int(self.post(i, "/v3/kv/range", {"key": "eA=="})["header"]["revision"])
                except OSError:
                    continue
        raise RuntimeError("no etcd member answers")

    def compact(self, rev):
        for i in range(len(self.addrs)):
            if self.procs[i]:
                self.post(i, "/v3/kv/compaction", {"revision": rev, "physical": True}, timeout=10)
                return


class Proxy:
    """TCP proxies in front of the etcd members (one listen address each):
    cut() closes every connection and stops listening (connection refused),
    join() listens again."""

    def __init__(self, listen, targets):
        self.pairs = list(zip(listen, targets))
        self.lock = threading.Lock()
        self.conns = []
        self.listeners = []
        self.stopped = threading.Event()

    def urls(self):
        return ",".join(f"https://{a}:2379" for a, _ in self.pairs)

    def join(self):
        self.stopped.clear()
        for a, t in self.pairs:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((a, 2379))
            ls.listen(64)
            self.listeners.append(ls)
            threading.Thread(target=self.accept, args=(ls, t), daemon=True).start()

    def accept(self, ls, target):
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection((target, 2379), timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for s, d in ((c, u), (u, c)):
                threading.Thread(target=self.pipe, args=(s, d), daemon=True).start()

    @staticmethod
    def pipe(s, d):
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                d.sendall(b)
        except OSError:
            pass
        for x in (s, d):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        for ls in self.listeners:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        self.listeners = []
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


class Agent:
    """holdfast-fleet for one site."""

    def __init__(self, binary, site, sock, etcd_urls, prefix, extra=(), tls_args=(), report="1s"):
        self.tls_args = list(tls_args)
        self.report = report
        self.binary, self.site, self.sock, self.etcd_urls, self.prefix = binary, site, sock, etcd_urls, prefix
        self.extra = list(extra)
        self.proc = None
        self.log = os.path.join(labmod.log_dir(), f"fleet-agent-{site}-{os.getpid()}.log")
        self.exits = []

    def start(self):
        cmd = [self.binary, "--site", self.site, "--etcd", self.etcd_urls, "--prefix", self.prefix,
               *self.tls_args,
               "-s", self.sock, "--report-interval", self.report, *self.extra]
        with open(self.log, "a") as logf:
            logf.write("# " + " ".join(cmd) + "\n")
            logf.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                         preexec_fn=labmod.child_setup, close_fds=True)

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is not None:
            self.exits.append(f"agent {self.site} exited by itself with {p.returncode} (log {self.log})")
            return
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.exits.append(f"agent {self.site} did not stop on SIGTERM (log {self.log})")
            return
        if rc != 0:
            self.exits.append(f"agent {self.site} exited with {rc} on SIGTERM (log {self.log})")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=15):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def run(cmd, timeout=20, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)


class Bgp:
    """A router namespace running BIRD, a client namespace behind it, and
    per site a veth from the router into the site's namespace (its lab's,
    where the site's BIRD runs and from where the service addresses are
    on the link to holdfast's DPDK port). The sites' BIRDs announce the
    service addresses (static protocols svc4, svc6, which the agent
    enables and disables); the router's BIRD puts its best route into the
    router's kernel, so the client's queries to the service address go to
    one site (the lowest router id among those announcing: site 0 first),
    and to another once that one withdraws. The site namespaces forward
    between the router's veth and holdfast's link.

    Addresses: site i 198.18.70.(4i+1)/30 and fd53:70:i::1/64 on its side,
    .(4i+2) and ::2 on the router's; the client 198.18.71.2/24 and
    fd53:71::2/64, the router .1 and ::1 there."""

    CLIENT4, CLIENT6 = "198.18.71.2", "fd53:71::2"

    def __init__(self, name, site_ns, services):
        self.tag = f"{os.getpid() % 16 ** 5:05x}"
        self.dir = f"/tmp/hf-{name}-{os.getpid()}-bgp"
        self.router_ns = f"hf-fr{self.tag}"
        self.client_ns = f"hf-fc{self.tag}"
        self.site_ns = list(site_ns)  # the labs' namespaces: not ours to delete
        self.services = services  # (v4, v6)
        self.procs = []
        self.nsites = len(self.site_ns)
        self.site_ifs = []

    def ctl(self, i=None):
        return os.path.join(self.dir, "router.ctl" if i is None else f"site{i}.ctl")

    def ip(self, *args, ns=None):
        cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
        r = run(cmd)
        check(r.returncode == 0, f"{' '.join(cmd)}: {r.stderr.strip()}")

    def forwarding(self, ns):
        self.ip("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", ns=ns)

    def up(self):
        self.down()
        os.makedirs(self.dir, exist_ok=True)
        for ns in (self.router_ns, self.client_ns):
            self.ip("ip", "netns", "add", ns)
            self.ip("ip", "link", "set", "lo", "up", ns=ns)
        self.forwarding(self.router_ns)
        # the client namespace, behind the router
        hc, hr = f"hfc{self.tag}", f"hfrc{self.tag}"
        self.ip("ip", "link", "add", hc, "netns", self.client_ns, "type", "veth", "peer", "name", hr, "netns",
                self.router_ns)
        self.ip("ip", "addr", "add", f"{self.CLIENT4}/24", "dev", hc, ns=self.client_ns)
        self.ip("ip", "addr", "add", f"{self.CLIENT6}/64", "dev", hc, "nodad", ns=self.client_ns)
        self.ip("ip", "link", "set", hc, "up", ns=self.client_ns)
        self.ip("ip", "route", "add", "default", "via", "198.18.71.1", ns=self.client_ns)
        self.ip("ip", "-6", "route", "add", "default", "via", "fd53:71::1", ns=self.client_ns)
        self.ip("ip", "addr", "add", "198.18.71.1/24", "dev", hr, ns=self.router_ns)
        self.ip("ip", "addr", "add", "fd53:71::1/64", "dev", hr, "nodad", ns=self.router_ns)
        self.ip("ip", "link", "set", hr, "up", ns=self.router_ns)
        v4, v6 = self.services
        router_cf = [f"router id 198.18.70.254;", "log stderr all;",
                     "protocol device {}",
                     "protocol kernel k4 { ipv4 { import none; export all; }; }",
                     "protocol kernel k6 { ipv6 { import none; export all; }; }"]
        for i in range(self.nsites):
            ns = self.site_ns[i]
            a, r = f"198.18.70.{4 * i + 1}", f"198.18.70.{4 * i + 2}"
            a6, r6 = f"fd53:70:{i}::1", f"fd53:70:{i}::2"
            hs, hr = f"hfs{i}{self.tag}", f"hfr{i}{self.tag}"
            self.site_ifs.append(hs)
            self.forwarding(ns)
            self.ip("ip", "link", "add", hs, "netns", ns, "type", "veth", "peer", "name", hr, "netns",
                    self.router_ns)
            self.ip("ip", "addr", "add", f"{a}/30", "dev", hs, ns=ns)
            self.ip("ip", "addr", "add", f"{a6}/64", "dev", hs, "nodad", ns=ns)
            self.ip("ip", "link", "set", hs, "up", ns=ns)
            # the way back to the client, from holdfast's link
            self.ip("ip", "route", "add", "198.18.71.0/24", "via", r, ns=ns)
            self.ip("ip", "-6", "route", "add", "fd53:71::/64", "via", r6, ns=ns)
            self.ip("ip", "addr", "add", f"{r}/30", "dev", hr, ns=self.router_ns)
            self.ip("ip", "addr", "add", f"{r6}/64", "dev", hr, "nodad", ns=self.router_ns)
            self.ip("ip", "link", "set", hr, "up", ns=self.router_ns)
            site_cf = f"""router id {a};
log stderr all;
protocol device {{}}
protocol static svc4 {{ disabled; ipv4; route {v4}/32 blackhole; }}
protocol static svc6 {{ disabled; ipv6; route {v6}/128 blackhole; }}
protocol bgp up4 {{ local {a} as {65001 + i}; neighbor {r} as 65000; hold time 3; connect retry time 1;
  ipv4 {{ import none; export where proto = "svc4"; next hop self; }}; }}
protocol bgp up6 {{ local {a6} as {65001 + i}; neighbor {r6} as 65000; hold time 3; connect retry time 1;
  ipv6 {{ import none; export where proto = "svc6"; next hop self; }}; }}
"""
            with open(os.path.join(self.dir, f"site{i}.conf"), "w") as f:
                f.write(site_cf)
            router_cf += [
                f"protocol bgp site{i}_4 {{ local {r} as 65000; neighbor {a} as {65001 + i}; hold time 3; "
                f"connect retry time 1; ipv4 {{ import all; export none; }}; }}",
                f"protocol bgp site{i}_6 {{ local {r6} as 65000; neighbor {a6} as {65001 + i}; hold time 3; "
                f"connect retry time 1; ipv6 {{ import all; export none; }}; }}"]
        with open(os.path.join(self.dir, "router.conf"), "w") as f:
            f.write("\n".join(router_cf) + "\n")
        self.start_bird(self.router_ns, "router")
        for i in range(self.nsites):
            self.start_bird(self.site_ns[i], f"site{i}")

    def start_bird(self, ns, what):
        log = os.path.join(labmod.log_dir(), f"fleet-bird-{what}-{os.getpid()}.log")
        cmd = ["ip", "netns", "exec", ns, "bird", "-f", "-c", os.path.join(self.dir, f"{what}.conf"),
               "-s", os.path.join(self.dir, f"{what}.ctl"), "-P", os.path.join(self.dir, f"{what}.pid")]
        with open(log, "a") as logf:
            self.procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                               preexec_fn=labmod.child_setup, close_fds=True))

    def restart_site_bird(self, i):
        """SIGKILL site i's BIRD and start it again (its service protocols
        start disabled: the agent must say again what to announce)."""
        p = self.procs[1 + i]
        p.kill()
        p.wait(timeout=10)
        self.procs[1 + i] = None
        self.start_bird(self.site_ns[i], f"site{i}")
        self.procs[1 + i] = self.procs.pop()

    def routes(self, v6=False):
        """{next hop: True} of the router's routes to the service address."""
        addr = self.services[1] + "/128" if v6 else self.services[0] + "/32"
        r = run(["birdc", "-s", self.ctl(), "show", "route", "for", addr, "all"])
        hops = set()
        for line in r.stdout.splitlines():
            line = line.strip()
            if line.startswith("BGP.next_hop:"):
                hops.add(line.split(":", 1)[1].strip().split()[0])
        return hops

    def kernel_hop(self, v6=False):
        """The next hop of the router's kernel route to the service address
        (where the client's queries go), or None."""
        r = run(["ip", "-n", self.router_ns, "-6" if v6 else "-4", "route", "show",
                 self.services[1] if v6 else self.services[0]])
        words = r.stdout.split()
        return words[words.index("via") + 1] if "via" in words else None

    def down(self):
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        self.procs = []
        # the router's ends of the veths go with its namespace, and the
        # sites' ends with them
        for ns in (self.router_ns, self.client_ns):
            run(["ip", "netns", "del", ns])
        self.site_ifs = []
        shutil.rmtree(self.dir, ignore_errors=True)


ENV_FILE = "/tmp/hf-fleetlab.env"
PID_FILE = "/tmp/hf-fleetlab.pid"


def lab_main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if not argv or argv[0] not in ("up", "down"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if argv[0] == "down":
        try:
            with open(PID_FILE) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            print("fleetlab: not up (no " + PID_FILE + ")", file=sys.stderr)
            return 1
        if not labmod.runs(pid, "fleetlab.py"):
            print(f"fleetlab: {PID_FILE} names pid {pid}, which is not fleetlab.py up", file=sys.stderr)
            os.unlink(PID_FILE)
            return 1
        os.kill(pid, signal.SIGTERM)
        t0 = time.monotonic()
        while labmod.runs(pid, "fleetlab.py") and time.monotonic() - t0 < 60:
            time.sleep(0.2)
        print("fleetlab: down")
        return 0
    srcdir = os.path.abspath(argv[2] if len(argv) > 2 else os.path.join(here, "..", ".."))
    holdfast = argv[1] if len(argv) > 1 else os.path.join(srcdir, "build", "holdfast")
    import test_fleet  # the lab the suite runs on
    # names of its own: a test_fleet.py run removes the fleet labs no test_fleet.py runs
    fleet = test_fleet.make_rig(holdfast, srcdir, name="fleetlab")
    stop = threading.Event()

    def on_signal(_sig, _frame):
        stop.set()

    for sg in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sg, on_signal)
    try:
        fleet.lab_up()
        fleet.start()
        env = {"HF_FLEET_ETCD": fleet.etcd.endpoints(), "HF_FLEET_PREFIX": test_fleet.PREFIX,
               "HOLDFAST_ETCD_CACERT": fleet.etcd.tls["ca"], "HOLDFAST_ETCD_CERT": fleet.etcd.tls["cert"],
               "HOLDFAST_ETCD_KEY": fleet.etcd.tls["key"], "HF_FLEET_ROUTER_NS": fleet.bgp.router_ns,
               "HF_FLEET_ROUTER_BIRD": fleet.bgp.ctl(), "HF_FLEET_CLIENT_NS": fleet.bgp.client_ns,
               "HF_FLEET_SERVICE4": fleet.bgp.services[0], "HF_FLEET_SERVICE6": fleet.bgp.services[1]}
        for i, r in enumerate(fleet.rigs):
            site = test_fleet.SITES[i].upper()
            env[f"HF_FLEET_SITE_{site}_SOCK"] = r.sock
            env[f"HF_FLEET_SITE_{site}_NS"] = r.lab["HF_LAB_NETNS"]
            env[f"HF_FLEET_SITE_{site}_LAB_DIR"] = r.lab["HF_LAB_DIR"]
        with open(ENV_FILE, "w") as f:
            f.write("".join(f"export {k}={v}\n" for k, v in env.items()))
        with open(PID_FILE, "w") as f:
            f.write(f"{os.getpid()}\n")
        print(f"fleetlab: up (3 sites, etcd {fleet.etcd.endpoints()}); {ENV_FILE} has the addresses:\n"
              f"  . {ENV_FILE}\n"
              f"  holdfastctl --fleet --etcd $HF_FLEET_ETCD --prefix $HF_FLEET_PREFIX status\n"
              f"  ip netns exec $HF_FLEET_CLIENT_NS dig @$HF_FLEET_SERVICE4 www.example.de\n"
              f"  holdfastctl -s $HF_FLEET_SITE_A_SOCK drain\n"
              f"`{sys.argv[0]} down` (or Ctrl-C) takes it down.", flush=True)
        while not stop.is_set():
            stop.wait(1.0)
            dead = fleet.take_exits()
            if dead:
                print("fleetlab: " + "; ".join(dead), flush=True)
        return 0
    except Exception as e:
        print(f"fleetlab: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        fleet.teardown()
        for p in (ENV_FILE, PID_FILE):
            try:
                os.unlink(p)
            except OSError:
                pass
        print("fleetlab: torn down", flush=True)


if __name__ == "__main__":
    sys.exit(lab_main(sys.argv[1:]))
