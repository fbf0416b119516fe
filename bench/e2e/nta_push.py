#!/usr/bin/env python3
"""NTA push time: how long `nta add` takes to be applied on every worker core.

Runs holdfast on the lab (tests/lab/lab.sh, its own tag and addresses),
fills every core's cache with N cached names (NXDOMAIN answers for names
under example.de., validated) for each N of --names, then sends --adds `nta
add de` requests over the management socket (the raw protocol, no process
per request) and records the apply_us each reply reports: from the
broadcast to the control loop seeing every worker's applied_seq reach it.
Since the NTA is applied in O(1) on each core (a generation and a log of
changes, docs/decisions.md), that no longer includes a walk of the cache;
the entries under de. change when next used. Then `hyperfine` times a whole
`holdfastctl status` round trip.

Configurations: 1 worker busy-polling (control on CPU 0, worker on CPU 1),
1 worker with idle-sleep 20 us, 2 workers sharing CPU 1 (idle-sleep 20 us;
this machine has 2 CPUs). Above 100,000 names only the first (a fill of
1M validated names takes minutes per configuration). Writes
bench/results/nta_push.json; the commit it ran is in "holdfast".

  bench/e2e/nta_push.py [--adds 1000] [--names 20000,1000000] [--smoke] [--out FILE]
Run as root.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(TOP, "tests", "lab", "lab.sh")
TAG = "ntab"
UPSTREAM = "127.163.9.10"


def log(msg):
    print("nta_push: " + msg, file=sys.stderr, flush=True)


def lab_env():
    env = dict(os.environ, HF_LAB_TAG=TAG, HF_LAB_UPSTREAM_ADDR=UPSTREAM)
    out = subprocess.run([LAB, "env"], env=env, check=True, capture_output=True, text=True).stdout
    return env, dict(line.split("=", 1) for line in out.split() if "=" in line)


def request(sock_path, line, timeout=15.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(line.encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.decode().partition("\n")
    if head != "OK":
        raise RuntimeError(f"{line.strip()!r}: {head}")
    return json.loads(body)


def start(holdfast, lab, lcores, queues, idle_sleep, sock, logf, names):
    # room for every name on every core: 1.25 keys per name, about 800
    # bytes of answer storage per name (docs/bench.md, "Memory per cached name")
    entries = max(262144, names * 5 // 4)
    mem_mb = max(64, names * 800 // (1 << 20) + 16)
    eal_mb = max(1024, 512 + queues * (mem_mb + entries * 32 // (1 << 20)))
    cmd = [holdfast, "--lcores", lcores, "--no-huge", "-m", str(eal_mb), "--no-pci",
           "--file-prefix=hf_ntab", f"--vdev=net_af_packet0,iface={lab['HF_LAB_HOST_IF']},qpairs={queues}",
           "--", "--service-address", lab["HF_LAB_SERVICE4"], "--forwarder", lab["HF_LAB_RESOLVER"],
           "--trust-anchor", lab["HF_LAB_TRUST_ANCHOR"], "--control-socket", sock,
           "--nta-state-file", "", "--idle-sleep", str(idle_sleep),
           "--cache-entries", str(entries), "--cache-memory", f"{mem_mb}M",
           # every name resolved and cached: with RFC 8198 the cores would
           # answer the names after the first from the kept NSECs, uncached
           "--aggressive-nsec", "no"]
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"holdfast exited ({p.returncode}); see {logf.name}")
        try:
            request(sock, "HF1 json status\n", 2)
            return p
        except (OSError, RuntimeError):
            time.sleep(0.2)
    raise RuntimeError("holdfast did not come up")


def fill_cache(lab, n, qfile):
    with open(qfile, "w") as f:
        for i in range(n):
            f.write(f"nta-bench-{i}.example.de A\n")
    subprocess.run(["ip", "netns", "exec", lab["HF_LAB_NETNS"], "dnsperf", "-s", lab["HF_LAB_SERVICE4"],
                    "-d", qfile, "-n", "1", "-c", "16", "-Q", "4000" if n <= 100000 else "8000",
                    "-t", "5", "-q", "200"],
                   check=True, capture_output=True)


def wait_idle(sock, timeout=120.0):
    """Until the control plane has resolved everything the fill asked (no
    resolution in flight, no message to the workers pending), so the NTA
    messages do not queue behind the fill's last FILLs."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = request(sock, "HF1 json stats\n").get("control", {})
        if c.get("in_flight") == 0 and c.get("msgs_pending") == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the control plane was still busy {timeout:.0f} s after the fill: {c}")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adds", type=int, default=1000)
    ap.add_argument("--names", default="20000,1000000", help="cached names per core, a comma list")
    ap.add_argument("--smoke", action="store_true", help="20 adds, 500 names, no hyperfine runs of note")
    ap.add_argument("--holdfast", default=os.path.join(TOP, "build", "holdfast"))
    ap.add_argument("--holdfastctl", default=os.path.join(TOP, "build", "holdfastctl"))
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results", "nta_push.json"))
    a = ap.parse_args()
    if a.smoke:
        a.adds, a.names = 20, "500"
    sizes = [int(x) for x in a.names.split(",")]
    if os.geteuid() != 0:
        sys.exit("nta_push: run as root")
    env, lab = {}, {}
    env, _ = lab_env()
    subprocess.run([LAB, "up"], env=env, check=True, capture_output=True)
    env, lab = lab_env()
    tmp = tempfile.mkdtemp(prefix="hf-ntab-")
    sock = os.path.join(tmp, "ctl.sock")
    configs = [("1 worker, busy poll", "0@0,1@1", 1, 0),
               ("1 worker, idle-sleep 20us", "0@0,1@1", 1, 20),
               ("2 workers on one CPU, idle-sleep 20us", "0@0,1@1,2@1", 2, 20)]
    results = []
    runs = [(n, c) for n in sizes for c in (configs if n <= 100000 else configs[:1])]
    try:
        for names, (name, lcores, queues, idle) in runs:
            logf = open(os.path.join(tmp, f"holdfast-{names}-{queues}-{idle}.log"), "w")
            p = start(a.holdfast, lab, lcores, queues, idle, sock, logf, names)
            try:
                # every core caches every answer: each must hold all the names.
                # dnsperf does not retry a query it lost, so ask again (the
                # cached names are hits) up to 3 times. The typed lookup is
                # applied by every core after the fills before it, and the
                # gauges are published before a core reports it applied.
                for _ in range(3):
                    fill_cache(lab, names, os.path.join(tmp, "names.txt"))
                    request(sock, "HF1 json cache\tlookup\tnta-bench-0.example.de\tA\n")
                    st = request(sock, "HF1 json stats\t--per-core\n")
                    entries = [c["cache_entries"] for c in st["per_core"]]
                    if len(entries) == queues and min(entries) >= names:
                        break
                if len(entries) != queues or min(entries) < names:
                    raise RuntimeError(f"cache fill: {entries} entries per core, wanted {names} on {queues}")
                wait_idle(sock)
                us, flushed = [], 0
                for i in range(a.adds):
                    r = request(sock, "HF1 json nta\tadd\tde\t--lifetime\t1h\n")
                    assert r["cores"] == queues, r
                    us.append(r["apply_us"])
                    flushed += r["flushed"]
                request(sock, "HF1 json nta\tremove\tde\n")
                hf_json = os.path.join(tmp, "hyperfine.json")
                subprocess.run(["hyperfine", "-N", "--warmup", "10", "--runs", "20" if a.smoke else "300",
                                "--export-json", hf_json, f"{a.holdfastctl} -s {sock} status"],
                               check=True, capture_output=True)
                with open(hf_json) as f:
                    hfr = json.load(f)["results"][0]
                res = {"config": name, "names_per_core": names, "workers": queues, "idle_sleep_us": idle,
                       "adds": a.adds, "flushed": flushed,
                       "cache_entries_per_core": entries,
                       "apply_us": {"median": statistics.median(us), "p99": pct(us, 99),
                                    "max": max(us), "min": min(us), "mean": round(statistics.mean(us), 1)},
                       "holdfastctl_status_ms": {"mean": round(hfr["mean"] * 1000, 3),
                                                 "stddev": round(hfr["stddev"] * 1000, 3),
                                                 "median": round(hfr["median"] * 1000, 3)}}
                results.append(res)
                log(f"{name}, {names} names: {entries} entries/core, nta add applied on {queues} core(s): median "
                    f"{res['apply_us']['median']} us, p99 {res['apply_us']['p99']} us, worst "
                    f"{res['apply_us']['max']} us over {a.adds} adds; holdfastctl status round trip "
                    f"{res['holdfastctl_status_ms']['mean']} ms")
            finally:
                p.terminate()
                p.wait(10)
                logf.close()
            time.sleep(1)
    finally:
        subprocess.run([LAB, "down"], env=env, capture_output=True)
    rev = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty", "--abbrev=7"],
                         capture_output=True, text=True).stdout.strip()
    out = {"machine": {"host": socket.gethostname(), "cpus": os.cpu_count(),
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
           "holdfast": rev,
           "smoke": a.smoke, "results": results}
    if a.smoke and a.out.endswith("bench/results/nta_push.json"):
        a.out = os.path.join(tmp, "nta_push.json")
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
