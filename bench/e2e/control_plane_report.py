#!/usr/bin/python3
"""Turn bench/e2e/control_plane.sh's raw output into results.

    control_plane_report.py [--check] RAW_DIR OUT_DIR

Reads RAW_DIR/facts.txt, openssl_speed.txt, <workload>.p<pass>.{before,after}
(holdfast's SIGUSR1 counter lines), <workload>.p<pass>.dnsperf.txt,
<workload>.p<pass>.cpu (the control thread's CPU time over the pass) and
.syscalls (perf stat -x, of its system calls),
<workload>.upstream.txt (dig +dnssec +cd of the upstream: what the validator
checks per answer), mem.txt, mem.{before,filled,checked}; writes
OUT_DIR/control_plane.json and control_plane.md. --check (the smoke run):
fail unless every part ran and every query was answered with the expected
code; no speed is asserted. Standard library only.
"""
import json
import os
import re
import statistics
import sys

WORKLOADS = [
    # name, what, algorithm (None: no signatures checked), expected rcode
    ("wild13", "wildcard answers <i>.wild.example.de A, validated", 13, "NOERROR"),
    ("nx8", "NXDOMAIN <i>.alg8.de, NSEC proof validated", 8, "NXDOMAIN"),
    ("nx15", "NXDOMAIN <i>.alg15.de, NSEC proof validated", 15, "NXDOMAIN"),
    ("insecure", "NXDOMAIN <i>.unsigned.de, proven insecure (no DS)", None, "NXDOMAIN"),
    ("wild13_nodnssec", "wildcard answers, dnssec: no (resolution alone)", None, "NOERROR"),
]
OPENSSL = {8: ("rsa", "2048"), 13: ("ecdsa", "nistp256"), 15: ("eddsa", "Ed25519")}


def kv(line):
    """'holdfast: control: in_flight 0 dnssec on requests 1 ...' -> {key: int}
    (the names of docs/operations.md, "One name for each counter")"""
    a = line.split()
    out = {}
    for i in range(len(a) - 1):
        if re.fullmatch(r"\d+", a[i + 1]) and not re.fullmatch(r"\d+", a[i]):
            out[a[i].rstrip(":")] = int(a[i + 1])
    return out


def snap(path):
    ctl, wrk = {}, {}
    with open(path) as f:
        for line in f:
            if "holdfast: control:" in line:
                ctl = kv(line.split("control:", 1)[1])
            elif re.search(r"holdfast: worker \d+:", line):
                wrk = kv(line.split(":", 2)[2])
    return ctl, wrk


def delta(a, b):
    return {k: b[k] - a.get(k, 0) for k in b}


def dnsperf(path):
    t = open(path).read()
    g = lambda rx, conv=int: (lambda m: conv(m.group(1)) if m else None)(re.search(rx, t, re.M))
    codes = dict((c, int(n)) for c, n in re.findall(r"(\b[A-Z]+) (\d+) \(", t.split("Response codes:", 1)[-1].split("\n")[0]))
    return {
        "sent": g(r"Queries sent:\s+(\d+)"),
        "completed": g(r"Queries completed:\s+(\d+)"),
        "lost": g(r"Queries lost:\s+(\d+)"),
        "run_time_s": g(r"Run time \(s\):\s+([\d.]+)", float),
        "rcodes": codes,
    }


def openssl_speed(path):
    """verify/s per (kind, size) from openssl speed's tables."""
    res = {}
    for line in open(path):
        m = re.match(r"\s*rsa\s+(\d+) bits\s+\S+s?\s+\S+s?\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            res[("rsa", m.group(1))] = float(m.group(3))
            continue
        m = re.match(r"\s*\d+ bits (ecdsa|EdDSA) \((\w+)\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            res[(m.group(1).lower(), m.group(2))] = float(m.group(4))
    return res


def rrsigs(path):
    """RRSIGs a validator checks in a dig +dnssec output: every one in the
    answer section, and in the authority section those over the denial
    (NSEC, NSEC3, SOA), not the referral-style NS set."""
    n, sec = 0, None
    for line in open(path):
        if line.startswith(";; ANSWER SECTION"):
            sec = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            sec = "authority"
        elif line.startswith(";; ") and "SECTION" in line:
            sec = None
        elif sec and not line.startswith(";"):
            a = line.split()
            if len(a) > 4 and a[3] == "RRSIG" and (sec == "answer" or a[4] != "NS"):
                n += 1
    return n


def control_cost(raw, tag, resolutions):
    """The control thread's CPU time and system calls over a pass, per
    resolution (None where the pass has no such file)."""
    out = {"control_cpu_s": None, "control_cpu_us_per_resolution": None,
           "syscalls": None, "syscalls_per_resolution": None}
    path = os.path.join(raw, tag + ".cpu")
    if os.path.exists(path):
        ns = int(open(path).read().split()[1])
        out["control_cpu_s"] = round(ns / 1e9, 3)
        if resolutions:
            out["control_cpu_us_per_resolution"] = round(ns / 1e3 / resolutions, 1)
    path = os.path.join(raw, tag + ".syscalls")
    if os.path.exists(path):
        calls = {}
        for line in open(path):
            a = line.strip().split(",")
            if len(a) > 2 and re.fullmatch(r"\d+", a[0]):
                ev = a[2].split(":")[-1].replace("sys_enter_", "")
                calls["all" if ev == "sys_enter" else ev] = int(a[0])
        if calls:
            out["syscalls"] = calls
            if resolutions:
                out["syscalls_per_resolution"] = {k: round(v / resolutions, 2) for k, v in calls.items()}
    return out


def one_pass(raw, tag):
    c0, w0 = snap(os.path.join(raw, tag + ".before"))
    c1, w1 = snap(os.path.join(raw, tag + ".after"))
    dc, dw = delta(c0, c1), delta(w0, w1)
    dp = dnsperf(os.path.join(raw, tag + ".dnsperf.txt"))
    t = dp["run_time_s"] or 0
    verdicts = sum(dc.get("validation." + k, 0) for k in ("secure", "insecure", "bogus", "indeterminate"))
    return {
        "queries": dp["sent"],
        "answered": dp["completed"],
        "lost": dp["lost"],
        "rcodes": dp["rcodes"],
        "run_time_s": t,
        "resolutions": dc.get("resolutions", 0),
        "upstream_queries": dc.get("upstream_queries", 0),
        "validation_subqueries": dc.get("validation.subqueries", 0),
        "verdicts": {k: dc.get("validation." + k, 0) for k in ("secure", "insecure", "bogus", "indeterminate")},
        "resolutions_per_s": round(dc.get("resolutions", 0) / t) if t else None,
        "validations_per_s": round(verdicts / t) if t else None,
        "worker_misses": dw.get("misses", 0),
        "servfail": dw.get("rcode.SERVFAIL", 0),
        "upstream_sockets": dc.get("upstream_sockets"),
        **control_cost(raw, tag, dc.get("resolutions", 0)),
    }


def calls_str(c):
    """'8.1 (sendto 1.0, recvfrom 1.1, ...)': all, then each counted call."""
    if not c:
        return "-"
    rest = ", ".join(f"{k} {v}" for k, v in c.items() if k != "all" and v)
    return f"{c['all']} ({rest})" if rest else f"{c['all']}"


def main():
    args = sys.argv[1:]
    do_check = args[:1] == ["--check"]
    if do_check:
        args = args[1:]
    raw, out = args
    facts = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(raw, "facts.txt")))
    rounds = int(facts["rounds"])
    ssl = openssl_speed(os.path.join(raw, "openssl_speed.txt"))
    bad = []

    d = lambda v: "-" if v is None else f"{v:,}"
    work = {}
    for name, what, alg, rcode in WORKLOADS:
        p0 = one_pass(raw, f"{name}.p0")
        hot = [one_pass(raw, f"{name}.p{i}") for i in range(1, rounds + 1)]
        def med(k):
            v = [h[k] for h in hot if h[k] is not None]
            return statistics.median_low(v) if v else None

        def med_calls():
            v = [h["syscalls_per_resolution"] for h in hot if h["syscalls_per_resolution"]]
            return v[[x["all"] for x in v].index(statistics.median_low([x["all"] for x in v]))] if v else None
        e = {
            "what": what,
            "dnssec_algorithm": alg,
            "cold": p0,
            "holdfast_cold_resolver_warm": {
                "rounds": len(hot),
                "resolutions_per_s": med("resolutions_per_s"),
                "validations_per_s": med("validations_per_s"),
                "resolutions_per_s_per_round": [h["resolutions_per_s"] for h in hot],
                "validations_per_s_per_round": [h["validations_per_s"] for h in hot],
                "control_cpu_us_per_resolution": med("control_cpu_us_per_resolution"),
                "control_cpu_us_per_resolution_per_round": [h["control_cpu_us_per_resolution"] for h in hot],
                "syscalls_per_resolution": med_calls(),
                "passes": hot,
            },
        }
        up = os.path.join(raw, f"{name}.upstream.txt")
        if alg is not None and os.path.exists(up):
            e["rrsigs_per_answer"] = rrsigs(up)
            v = ssl.get(OPENSSL[alg])
            if v:
                e["openssl_verify_per_s"] = round(v)
                if e["rrsigs_per_answer"]:
                    e["crypto_bound_answers_per_s"] = round(v / e["rrsigs_per_answer"])
                    hv = e["holdfast_cold_resolver_warm"]["validations_per_s"]
                    if hv:
                        e["fraction_of_crypto_bound"] = round(hv / e["crypto_bound_answers_per_s"], 3)
                    # the same on the control thread's own CPU time: the
                    # verifies' share of what one answer cost it
                    us = e["holdfast_cold_resolver_warm"]["control_cpu_us_per_resolution"]
                    if us:
                        e["crypto_us_per_answer"] = round(1e6 / e["crypto_bound_answers_per_s"], 1)
                        e["fraction_of_crypto_bound_cpu"] = round(e["crypto_us_per_answer"] / us, 3)
        work[name] = e
        for label, p in [("cold", p0)] + [(f"holdfast cold {i + 1}", h) for i, h in enumerate(hot)]:
            if p["answered"] != p["queries"] or p["rcodes"].get(rcode, 0) != p["queries"]:
                bad.append(f"{name} {label}: {p['answered']} of {p['queries']} answered, rcodes {p['rcodes']}")
            if alg is not None and p["verdicts"]["secure"] < p["queries"]:
                bad.append(f"{name} {label}: {p['verdicts']['secure']} secure of {p['queries']}")
            if p["control_cpu_s"] is None or not p["syscalls"]:
                bad.append(f"{name} {label}: no control CPU time or system call counts")

    # memory
    m = dict(line.split() for line in open(os.path.join(raw, "mem.txt")))
    m = {k: int(v) for k, v in m.items()}
    _, wb = snap(os.path.join(raw, "mem.before"))
    _, wf = snap(os.path.join(raw, "mem.filled"))
    _, wc = snap(os.path.join(raw, "mem.checked"))
    fill, chk = delta(wb, wf), delta(wf, wc)
    dpf = dnsperf(os.path.join(raw, "mem.fill.txt"))
    n = m["names"]
    mem = {
        "names": n,
        "how": "a real holdfast (dnssec: no, forwarding to the lab's knotd for example.de) fed the names once "
               "by dnsperf; VmRSS of the process before and after; then a second pass over all names",
        "cache_entries": m["cache_entries"],
        "cache_memory_bytes": m["cache_memory"],
        "eal_memory_mib": m["eal_m_mib"],
        "rss_mib_tiny_cache": round(m["rss_kib_tiny_cache"] / 1024, 1),
        "rss_mib_empty": round(m["rss_kib_start"] / 1024, 1),
        "rss_mib_filled": round(m["rss_kib_filled"] / 1024, 1),
        "rss_mib_after_second_pass": round(m["rss_kib_after_check"] / 1024, 1),
        "bytes_per_cached_name": round((m["rss_kib_filled"] - m["rss_kib_tiny_cache"]) * 1024 / n),
        "bytes_per_cached_name_how": "(RSS with the names cached - RSS of the same holdfast with the "
                                     "smallest cache, 1024 entries and 1 MiB) / names: the table sized "
                                     "for them included",
        "rss_growth_bytes_per_name_while_filling": round((m["rss_kib_filled"] - m["rss_kib_start"]) * 1024 / n),
        "fill_misses": fill.get("misses", 0),
        "fill_answered": dpf["completed"],
        "fill_rate_per_s": round(dpf["completed"] / dpf["run_time_s"]) if dpf["run_time_s"] else None,
        "second_pass_fresh_hits": chk.get("hits_fresh", 0),
        "second_pass_misses": chk.get("misses", 0),
    }
    if mem["second_pass_fresh_hits"] != n:
        bad.append(f"memory: second pass: {mem['second_pass_fresh_hits']} of {n} answered from the cache")

    doc = {
        "benchmark": "holdfast control-plane numbers (bench/e2e/control_plane.sh)",
        "mode": facts["mode"],
        "machine": {k: facts.get(k) for k in ("date", "cpu", "cpus", "kernel", "loadavg_end")},
        "versions": {k: facts.get(k) for k in ("holdfast_commit", "openssl", "unbound", "knotd", "dnsperf")},
        "setup": {
            "path": "dnsperf in the lab's client netns (CPU 0, -c 8 -q 64, every name once) -> veth -> "
                    "holdfast net_af_xdp (worker CPU 1, control CPU 0) -> lab Unbound (iterator only) -> "
                    "the signed world's knotd servers, all on this machine",
            "names_per_workload": int(facts["names"]),
            "rounds": rounds,
            "cold": "holdfast and the lab's Unbound both cold for these names (one pass)",
            "holdfast_cold_resolver_warm": "holdfast restarted (empty cache, DNSKEY/DS of the zone "
                                           "fetched by one query first), Unbound already holds the names: "
                                           "holdfast's control plane alone; median over rounds",
            "validations": "secure + insecure + bogus + indeterminate verdicts of holdfast's validator "
                           "(control counters), one per answer",
            "control_cpu": "the control thread's CPU time over the pass (/proc/PID/task/PID/schedstat) "
                           "per resolution; fraction_of_crypto_bound_cpu = the verifies' time per answer "
                           "at openssl speed's rate / that",
            "syscalls": "the control thread's system calls over the pass (perf stat on the syscall "
                        "tracepoints, counting only), per resolution; 'all' is every call",
        },
        "openssl_speed_verify_per_s": {f"{k[0]} {k[1]}": round(v) for k, v in ssl.items()},
        "cold_cache": work,
        "memory": mem,
        "startup_to_first_answer": "see side_by_side_startup_holdfast.json (hyperfine, bench/e2e/side_by_side.sh)",
        "duration_s": int(facts.get("duration_s", 0)),
    }
    with open(os.path.join(out, "control_plane.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    L = [f"Control plane ({facts['mode']} run, {facts['date']}): {facts['cpu']}, {facts['cpus']} CPUs, "
         f"Linux {facts['kernel']}; holdfast {facts['holdfast_commit']}, {facts['openssl']}, lab Unbound "
         f"{facts['unbound']}, knotd {facts['knotd']}. {facts['names']} new names per workload; "
         f"\"holdfast cold\" is the median of {rounds} rounds.", "",
         "| workload | alg | RRSIGs per answer | cold: resolutions/s | holdfast cold: resolutions/s | "
         "validations/s | openssl verify/s | crypto bound (answers/s) | fraction | control CPU per "
         "resolution (us) | fraction of its CPU | system calls per resolution |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, what, alg, _ in WORKLOADS:
        e = work[name]
        h = e["holdfast_cold_resolver_warm"]
        L.append(f"| {name}: {what} | {alg or '-'} | {d(e.get('rrsigs_per_answer'))} | "
                 f"{d(e['cold']['resolutions_per_s'])} | {d(h['resolutions_per_s'])} | "
                 f"{d(h['validations_per_s']) if alg or name == 'insecure' else '-'} | "
                 f"{d(e.get('openssl_verify_per_s'))} | {d(e.get('crypto_bound_answers_per_s'))} | "
                 f"{e.get('fraction_of_crypto_bound', '-')} | "
                 f"{d(h['control_cpu_us_per_resolution'])} | {e.get('fraction_of_crypto_bound_cpu', '-')} | "
                 f"{calls_str(h['syscalls_per_resolution'])} |")
    L += ["", f"Memory: {n:,} names cached in a real holdfast (one worker): RSS {mem['rss_mib_filled']} MiB; "
          f"{mem['rss_mib_empty']} MiB with the same cache empty, {mem['rss_mib_tiny_cache']} MiB with the "
          f"smallest cache: {mem['bytes_per_cached_name']} bytes per cached name over the smallest cache "
          f"({mem['rss_growth_bytes_per_name_while_filling']} of them touched while filling); second pass {mem['second_pass_fresh_hits']:,} of {n:,} answered from the cache; filled at "
          f"{d(mem['fill_rate_per_s'])} names/s (cache-entries {mem['cache_entries']:,}, cache-memory "
          f"{mem['cache_memory_bytes'] / 1048576:.0f} MiB, --no-huge -m {mem['eal_memory_mib']})."]
    with open(os.path.join(out, "control_plane.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    if do_check:
        for b in bad:
            print(f"control_plane_report: FAIL: {b}", file=sys.stderr)
        return 1 if bad else 0
    for b in bad:
        print(f"control_plane_report: warning: {b}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
