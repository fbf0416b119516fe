#!/usr/bin/python3
"""Turn bench/e2e/side_by_side.sh's raw tool output into results.

    report.py [--check] RAW_DIR OUT_DIR

--check (the smoke run): fail unless every server produced every part
(kxdpgun steps, both dnsperf runs with latencies, start-up times; signed
workload: holdfast's counters around every measurement instead of start-up
times) and answered something in each; no speed is asserted.

Reads RAW_DIR/facts.txt, <server>.r<round>.kx.<rate>.txt (kxdpgun),
<server>.r<round>.dnsperf.<tag>.txt (dnsperf -v: one "> RCODE name type
seconds" line per answer, then its summary), holdfast.driver, leak.<if>.txt and
OUT_DIR/side_by_side_startup_<server>.json (hyperfine). Writes
OUT_DIR/side_by_side.json, side_by_side.md, and side_by_side.dat +
side_by_side.gpvars for plot.gp. For facts workload=signed (names that
expire, validated) the files are side_by_side_signed.*, there is no
start-up, and each measurement also has SERVFAILs (kxdpgun's "responded
SERVFAIL", dnsperf's "Response codes") and, for holdfast, the difference of
`holdfastctl --json stats` before and after it (<file>.stats0, .stats1):
parked clients, stale answers, refreshes, park_full per second. With
several rounds every number is the
numbers of one round: per server, the round whose peak answered rate is the
median (median_low) of its rounds' peaks, so no row mixes rounds; the
per-round values are kept in the JSON.
Standard library only.
"""
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_snapshot  # noqa: E402 (beside this file)

PEER_LABEL = {
    "holdfast": "holdfast",
    "unbound": "Unbound",
    "kresd": "Knot Resolver",
    "dnsdist": "dnsdist + Unbound",
}


def read_facts(raw):
    facts = {}
    with open(os.path.join(raw, "facts.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            facts[k] = v
    return facts


def parse_kx(path, server, duration, ours):
    text = open(path).read()
    sent = int(re.search(r"^total queries:\s+(\d+)", text, re.M).group(1))
    answered = int(re.search(r"^total replies:\s+(\d+)", text, re.M).group(1))
    rec = {
        "duration_s": duration,
        "sent": sent,
        "answered": answered,
        "sent_qps": round(sent / duration),
        "answered_qps": round(answered / duration),
        "loss_pct": round(100.0 * (sent - answered) / sent, 3) if sent else None,
    }
    rc = {k: int(v) for k, v in re.findall(r"^responded (\S+):\s+(\d+)", text, re.M)}
    rec["rcodes"] = rc
    rec["servfail"] = rc.get("SERVFAIL", 0)
    hs = holdfast_stats(path, duration)
    if hs:
        rec["holdfast_stats"] = hs
    m = re.search(r"^XDP threads (\d+)", text, re.M) or re.search(r"XDP threads (\d+)", text)
    if m:
        rec["kxdpgun_threads"] = int(m.group(1))
    b = re.search(r"^server_counters_before (.*)$", text, re.M)
    a = re.search(r"^server_counters_after (.*)$", text, re.M)
    if a and b:
        bv = [int(x) for x in b.group(1).split()] if b.group(1).strip() else []
        av = [int(x) for x in a.group(1).split()] if a.group(1).strip() else []
        if server == "holdfast" and len(av) == 1 and len(bv) == 1:
            # holdfast's own counter (SIGUSR1): packets its worker received
            rec["server_received"] = av[0] - bv[0]
        elif len(av) == 2 and len(bv) == 2:
            # root namespace /proc/net/snmp (whole machine, the peer dominates)
            rec["kernel_udp_in"] = av[0] - bv[0]
            rec["kernel_udp_rcvbuf_errors"] = av[1] - bv[1]
    oc = other_cpu(path, ours, duration)
    if oc:
        rec.update(oc)
    return rec


# holdfast's counters that show expiry on the measured path (JSON "total"):
# name -> path in the object
HF_STATS = {
    "parked": ("parked",),
    "hits_stale": ("hits_stale",),
    "hits_fresh": ("hits_fresh",),
    "refreshes": ("refreshes",),
    "misses": ("misses",),
    "servfail_timeout": ("servfail_timeout",),
    "park_full": ("drops", "park_full"),
    "servfail": ("rcode", "SERVFAIL"),
    "answers": ("answers",),
}


def holdfast_stats(path, seconds):
    """The difference of holdfast's counters after and before a measurement
    (PATH.stats0 / .stats1: `holdfastctl --json stats`), None without them."""
    try:
        with open(path + ".stats0") as f:
            b = json.load(f)["total"]
        with open(path + ".stats1") as f:
            a = json.load(f)["total"]
    except (OSError, ValueError, KeyError):
        return None

    def get(d, keys):
        for k in keys:
            d = d[k]
        return d

    out = {}
    for name, keys in HF_STATS.items():
        try:
            out[name] = get(a, keys) - get(b, keys)
        except (KeyError, TypeError):
            pass
    if seconds:
        for name in ("parked", "hits_stale", "refreshes", "park_full"):
            if name in out:
                out[name + "_per_s"] = round(out[name] / seconds, 1)
    return out


def other_cpu(path, ours, wall):
    """CPU seconds used meanwhile by user-space processes that are not the
    benchmark's own (the machine may be shared), and machine busy %."""
    try:
        p0, t0, hz = cpu_snapshot.read(path + ".cpu0")
        p1, t1, _ = cpu_snapshot.read(path + ".cpu1")
    except OSError:
        return None
    by_comm = cpu_snapshot.others(p0, p1, ours)
    top = sorted(by_comm.items(), key=lambda x: -x[1])[:3]
    (c0, w0), (c1, w1) = cpu_snapshot.per_cpu(path + ".cpu0"), cpu_snapshot.per_cpu(path + ".cpu1")
    out = {
        # None from stored raw output, whose snapshots keep only the CPU lines (lib.sh, finish_raw)
        "other_processes_cpu_s": round(sum(by_comm.values()) / hz, 2) if p0 and p1 else None,
        "other_processes_top": [f"{c} {t / hz:.2f}s" for c, t in top],
        "machine_busy_pct": round(100.0 * (t1 - t0) / hz / (2 * wall), 1) if wall else None,
    }
    if w0 is not None and w1 is not None and w1 > w0:
        # each CPU's busy share of the time between the snapshots (since 2026-12-05)
        out["cpu_busy_s"] = {str(n): round((c1[n] - c0[n]) / hz, 2) for n in sorted(c0) if n in c1}
        out["cpu_busy_pct"] = {n: round(100.0 * v / (w1 - w0), 1) for n, v in out["cpu_busy_s"].items()}
    return out


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def parse_dnsperf(path, ours, duration):
    lat = []
    summary = {}
    with open(path) as f:
        for line in f:
            if line.startswith("> "):
                parts = line.split()
                try:
                    lat.append(float(parts[-1]))
                except ValueError:
                    pass
                continue
            m = re.match(r"\s+Queries sent:\s+(\d+)", line)
            if m:
                summary["sent"] = int(m.group(1))
            m = re.match(r"\s+Queries completed:\s+(\d+)", line)
            if m:
                summary["answered"] = int(m.group(1))
            m = re.match(r"\s+Queries lost:\s+(\d+)", line)
            if m:
                summary["lost"] = int(m.group(1))
            m = re.match(r"\s+Queries per second:\s+([\d.]+)", line)
            if m:
                summary["answered_qps"] = round(float(m.group(1)))
            m = re.match(r"\s+Run time \(s\):\s+([\d.]+)", line)
            if m:
                summary["run_time_s"] = float(m.group(1))
            m = re.match(r"\s+Response codes:\s+(.*)$", line)
            if m:
                summary["rcodes"] = {k: int(v) for k, v in re.findall(r"(\w+) (\d+) \(", m.group(1))}
    lat.sort()
    summary["servfail"] = summary.get("rcodes", {}).get("SERVFAIL", 0)
    hs = holdfast_stats(path, summary.get("run_time_s") or duration)
    if hs:
        summary["holdfast_stats"] = hs
    oc = other_cpu(path, ours, summary.get("run_time_s") or duration)
    if oc:
        summary.update(oc)
    if summary.get("sent"):
        summary["loss_pct"] = round(100.0 * summary.get("lost", 0) / summary["sent"], 3)
    if lat:
        us = lambda v: round(v * 1e6, 1)
        summary["latency_us"] = {
            "samples": len(lat),
            "avg": us(sum(lat) / len(lat)),
            "min": us(lat[0]),
            "p50": us(pct(lat, 50)),
            "p90": us(pct(lat, 90)),
            "p99": us(pct(lat, 99)),
            "p99_9": us(pct(lat, 99.9)),
            "max": us(lat[-1]),
        }
    return summary


def parse_hyperfine(path):
    with open(path) as f:
        r = json.load(f)["results"][0]
    ms = lambda v: round(v * 1000, 1) if v is not None else None
    return {
        "runs": len(r.get("times", [])),
        "mean_ms": ms(r["mean"]),
        "stddev_ms": ms(r.get("stddev")),
        "median_ms": ms(r["median"]),
        "min_ms": ms(r["min"]),
        "max_ms": ms(r["max"]),
        "hyperfine_json": os.path.basename(path),
    }


def fmt_int(v):
    return "-" if v is None else f"{v:,}"


def check(doc):
    """Every part ran and got answers; returns the list of what is missing."""
    bad = []
    signed = doc["workload"] == "signed"
    for s, e in doc["servers"].items():
        if signed and s == "holdfast":
            parts = e["kxdpgun"] + list(e["dnsperf"].values())
            if not parts or not all("holdfast_stats" in x for x in parts):
                bad.append(f"{s}: no counters (holdfastctl --json stats) around some measurement")
        if not e["kxdpgun"]:
            bad.append(f"{s}: no kxdpgun results")
        for x in e["kxdpgun"]:
            if not x["answered"]:
                bad.append(f"{s}: kxdpgun at {x['offered']}: nothing answered")
        for tag in ("latency", "unthrottled"):
            d = e["dnsperf"].get(tag)
            if not d or not d.get("answered") or not d.get("latency_us", {}).get("samples"):
                bad.append(f"{s}: dnsperf {tag}: no answers or no latencies")
        h = e.get("startup_to_first_answer")
        if not signed and (not h or not h["runs"]):
            bad.append(f"{s}: no start-up time")
    if not doc["servers"]:
        bad.append("no servers")
    return bad


def main():
    args = sys.argv[1:]
    do_check = args[:1] == ["--check"]
    if do_check:
        args = args[1:]
    raw, out = args[0], args[1]
    facts = read_facts(raw)
    workload = facts.get("workload", "static")
    signed = workload == "signed"
    name = "side_by_side_signed" if signed else "side_by_side"
    servers = facts["servers"].split()
    rates = facts["rates"].split()
    kx_t = float(facts["kx_t"])
    rounds = int(facts.get("rounds", 1))
    driver = None
    dpath = os.path.join(raw, "holdfast.driver")
    if os.path.exists(dpath):
        driver = open(dpath).read().strip()

    ours = set()
    op = os.path.join(raw, "our_pids.txt")
    if os.path.exists(op):
        ours = set(open(op).read().split())
    res = {}
    for s in servers:
        entry = {"label": PEER_LABEL.get(s, s), "version": facts.get(s, "")}
        if s == "holdfast":
            entry["version"] = facts.get("holdfast_commit", "")
            entry["driver"] = "net_" + driver if driver else None
        # every number of a row comes from one round: the round whose peak
        # answered rate is the median (median_low) of the rounds' peaks
        kx = {n: {} for n in range(1, rounds + 1)}
        for r in rates:
            for n in range(1, rounds + 1):
                p = os.path.join(raw, f"{s}.r{n}.kx.{r}.txt")
                if os.path.exists(p):
                    kx[n][r] = parse_kx(p, s, kx_t, ours)
        peaks = {n: max(x["answered_qps"] for x in kx[n].values()) for n in kx if kx[n]}
        rep = None
        if peaks:
            mid = statistics.median_low(peaks.values())
            rep = min(n for n in peaks if peaks[n] == mid)
        entry["round"] = rep
        entry["peak_answered_qps_per_round"] = [peaks[n] for n in sorted(peaks)]
        steps = []
        for r in rates:
            if rep is None or r not in kx[rep]:
                continue
            rec = dict(kx[rep][r])
            per = [kx[n][r] for n in sorted(kx) if r in kx[n]]
            rec["offered"] = r if r == "max" else int(r)
            rec["rounds"] = len(per)
            rec["answered_qps_per_round"] = [x["answered_qps"] for x in per]
            rec["loss_pct_per_round"] = [x["loss_pct"] for x in per]
            steps.append(rec)
        entry["kxdpgun"] = steps
        dp = {}
        for tag in ("latency", "unthrottled"):
            per = {}
            for n in range(1, rounds + 1):
                p = os.path.join(raw, f"{s}.r{n}.dnsperf.{tag}.txt")
                if os.path.exists(p):
                    per[n] = parse_dnsperf(p, ours, float(facts["dp_t"]))
            if rep in per:
                d = dict(per[rep])
                d["rounds"] = len(per)
                d["answered_qps_per_round"] = [per[n].get("answered_qps") for n in sorted(per)]
                d["p99_us_per_round"] = [per[n].get("latency_us", {}).get("p99") for n in sorted(per)]
                dp[tag] = d
        entry["dnsperf"] = dp
        hp = os.path.join(out, f"side_by_side_startup_{s}.json")
        if not signed and os.path.exists(hp):
            entry["startup_to_first_answer"] = parse_hyperfine(hp)
        entry["peak_answered_qps"] = max((x["answered_qps"] for x in steps), default=None)
        entry["lossless_all_rates"] = all(x["sent"] == x["answered"] for x in steps) if steps else None
        entry["lossless_all_rates_all_rounds"] = (all(v == 0 for x in steps for v in x["loss_pct_per_round"])
                                                  if steps else None)
        res[s] = entry

    leaks = {}
    for p in sorted(glob.glob(os.path.join(raw, "leak.*.txt"))):
        iface = os.path.basename(p)[len("leak."):-len(".txt")]
        with open(p) as f:
            leaks[iface] = sum(1 for line in f if line.strip())

    peers = [s for s in servers if s != "holdfast" and res[s]["peak_answered_qps"]]
    summary = {}
    if "holdfast" in res and peers:
        best = max(peers, key=lambda s: res[s]["peak_answered_qps"])
        hf = res["holdfast"]
        summary = {
            "holdfast_peak_answered_qps": hf["peak_answered_qps"],
            "best_peer": best,
            "best_peer_peak_answered_qps": res[best]["peak_answered_qps"],
            "ratio_to_best_peer": round(hf["peak_answered_qps"] / res[best]["peak_answered_qps"], 2),
            "holdfast_lossless_all_rates": hf["lossless_all_rates"],
            "holdfast_max_loss_pct": max(x["loss_pct"] for x in hf["kxdpgun"]),
            "target_no_loss": hf["lossless_all_rates"],
            "target_2x_best_peer": hf["peak_answered_qps"] >= 2 * res[best]["peak_answered_qps"],
        }

    if signed:
        query_file = (f"{facts['queries']} names nI.ttl.example.de A (tests/lab/lab.sh HF_LAB_TTL_NAMES), "
                      f"signed, TTLs {facts['ttl_min']}..{facts['ttl_max']} s spread evenly, no EDNS")
        upstream = (f"the lab's signed world (root, de., example.de. on knotd) through its iterator-only "
                    f"Unbound {facts.get('upstream')}; every server validates with the lab's root trust "
                    "anchor (dnsdist: its Unbound backend does)")
    else:
        query_file = f"tests/lab/queries.txt ({facts['queries']} names, no EDNS)"
        upstream = "lab knotd (zone test.) on loopback, for every server"
    doc = {
        "benchmark": "holdfast side by side, end to end (bench/e2e/side_by_side.sh"
                     + (" --workload signed)" if signed else ")"),
        "workload": workload,
        "mode": facts["mode"],
        "rounds": rounds,
        "statistic": ("each server's numbers from one round: the one whose peak answered rate is the "
                      "median (median_low) of its rounds'" if rounds > 1 else "one round"),
        "machine": {
            "date": facts["date"],
            "cpu": facts["cpu"],
            "cpus": int(facts["cpus"]),
            "kernel": facts["kernel"],
            "mem_gib": float(facts["mem_gib"]),
            "loadavg_start": facts["loadavg_start"],
            "loadavg_end": facts.get("loadavg_end"),
        },
        "setup": {
            "path": "load generators in the lab's client netns on CPU 0, veth pair, server on CPU 1",
            "holdfast_port": "net_" + driver if driver else None,
            "peers_port": "kernel UDP socket on the host veth end (198.18.53.1/24)",
            "upstream": upstream,
            "query_file": query_file,
            "cache": "warmed with two dnsperf passes over the query file before measuring",
            "kxdpgun": f"kxdpgun {facts['kxdpgun']}, {kx_t:g} s per offered rate, 1 XDP thread on CPU 0",
            "dnsperf": f"dnsperf {facts['dnsperf']}, -c 8, {facts['dp_t']} s; latency run at -Q {facts['lat_qps']}; unthrottled run -q 100",
            "dpdk": facts["dpdk"],
            "duration_s": int(facts["duration_s"]) if facts.get("duration_s") else None,
        },
        "versions": {k: facts.get(k) for k in ("holdfast_commit", "unbound", "kresd", "dnsdist", "knotd", "kxdpgun", "dnsperf", "hyperfine", "dpdk")},
        "servers": res,
        "summary": summary,
        "leak_check_dns_packets_on_other_interfaces": leaks,
    }
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    if do_check:
        bad = check(doc)
        for b in bad:
            print(f"report: FAIL: {b}", file=sys.stderr)
        if bad:
            return 1
        print(f"report: ok: every part ran for {', '.join(servers)}", file=sys.stderr)

    def other(x):
        v = x.get("other_processes_cpu_s")
        if v is None:
            return "-"
        top = x.get("other_processes_top") or []
        return f"{v:.2f} s" + (f" ({top[0].split()[0]})" if v >= 0.05 and top else "")

    # ---- markdown
    m = doc["machine"]
    L = []
    L.append(f"Side by side, end to end{', signed workload' if signed else ''} ({facts['mode']} run, {m['date']}): {m['cpu']}, "
             f"{m['cpus']} CPUs, Linux {m['kernel']}; load average before/after "
             f"{m['loadavg_start']} / {m['loadavg_end']}. holdfast {facts.get('holdfast_commit')} "
             f"via {doc['setup']['holdfast_port']}, Unbound {facts['unbound']}, Knot Resolver "
             f"{facts['kresd']}, dnsdist {facts['dnsdist']}; DPDK {facts['dpdk']}. Server on CPU 1, "
             f"generator on CPU 0; warm caches; {facts['queries']} names"
             + (f" nI.ttl.example.de A, signed, TTLs {facts['ttl_min']}..{facts['ttl_max']} s spread evenly, "
                "so answers expire while measured; every server validates with the lab's root anchor and "
                "forwards to the lab's iterator-only Unbound (dnsdist through a validating Unbound). "
                if signed else ". ")
             + (f"{rounds} rounds, servers interleaved; each server's numbers all come from one round, "
                "the one whose peak answered rate is the median of its rounds' (round "
                + ", ".join(f"{res[s]['label']} {res[s]['round']}" for s in servers) + "); the range column "
                "shows every round (the machine is shared with other work: see the range and the other "
                "processes' CPU)."
                if rounds > 1 else "One round."))
    L.append("")
    L.append(f"Peak rate: kxdpgun {facts['kxdpgun']}, {kx_t:g} s per step (\"max\": as fast as kxdpgun sends).")
    L.append("")
    def exp_cols(x):
        """signed: SERVFAILs, and holdfast's parked clients, stale answers
        and refreshes per second during the measurement"""
        if not signed:
            return ""
        hs = x.get("holdfast_stats")
        g = lambda k: "-" if not hs or hs.get(k) is None else f"{hs[k]:,.1f}"
        return f" {fmt_int(x.get('servfail'))} | {g('parked_per_s')} | {g('hits_stale_per_s')} | {g('refreshes_per_s')} |"

    exp_head = " SERVFAIL | parked/s | stale/s | refreshes/s |" if signed else ""
    exp_rule = "---:|---:|---:|---:|" if signed else ""
    L.append("| server | offered qps | sent qps | answered qps | range over rounds | loss % |" + exp_head
             + " reached the server | other processes' CPU |")
    L.append("|---|---:|---:|---:|---:|---:|" + exp_rule + "---:|---:|")
    for s in servers:
        for x in res[s]["kxdpgun"]:
            off = "max" if x["offered"] == "max" else f"{x['offered'] / 1000:g}k"
            got = x.get("server_received", x.get("kernel_udp_in"))
            reached = "-" if got is None or not x["sent"] else f"{100.0 * min(got, x['sent']) / x['sent']:.2f}%"
            per = x.get("answered_qps_per_round") or [x["answered_qps"]]
            rng = f"{min(per) / 1000:.0f}k-{max(per) / 1000:.0f}k" if len(per) > 1 else "-"
            L.append(f"| {res[s]['label']} | {off} | {fmt_int(x['sent_qps'])} | "
                     f"{fmt_int(x['answered_qps'])} | {rng} | {x['loss_pct']:.2f} |{exp_cols(x)} {reached} | {other(x)} |")
    L.append("")
    L.append("\"reached the server\": holdfast's own received counter (SIGUSR1), or for the kernel peers "
             "the root namespace's UDP InDatagrams (what got past the socket buffer; the rest are RcvbufErrors). "
             "\"other processes' CPU\": CPU time that user-space processes other than the benchmark's own used "
             f"during the {kx_t:g} s step (the machine may be shared; anything well above zero disturbed the step)."
             + (" SERVFAIL: answers with that rcode (kxdpgun's, dnsperf's count). parked/s, stale/s, refreshes/s: "
                "holdfast's own counters (holdfastctl --json stats before and after the step) per second: clients "
                "parked to wait for a refresh or a miss, answers from stale data, entries sent for renewal "
                "(expiry or prefetch); '-' for the peers, which have no such counters here."
                if signed else ""))
    L.append("")
    L.append(f"Latency: dnsperf {facts['dnsperf']}, 8 clients, {facts['dp_t']} s, at {int(facts['lat_qps']) // 1000}k qps "
             "and unthrottled (up to 100 queries outstanding); microseconds.")
    L.append("")
    L.append("| server | run | answered qps | loss % |" + exp_head + " avg | p50 | p99 | p99.9 | max | other processes' CPU |")
    L.append("|---|---|---:|---:|" + exp_rule + "---:|---:|---:|---:|---:|---:|")
    for s in servers:
        for tag, d in res[s]["dnsperf"].items():
            lu = d.get("latency_us", {})
            g = lambda k: "-" if lu.get(k) is None else f"{lu[k]:.0f}"
            run = f"{int(facts['lat_qps']) // 1000}k qps" if tag == "latency" else "unthrottled"
            L.append(f"| {res[s]['label']} | {run} | {fmt_int(d.get('answered_qps'))} | "
                     f"{d.get('loss_pct', 0):.2f} |{exp_cols(d)} {g('avg')} | {g('p50')} | {g('p99')} | {g('p99_9')} | {g('max')} | {other(d)} |")
    st = [(s, res[s]["startup_to_first_answer"]) for s in servers if "startup_to_first_answer" in res[s]]
    if st:
        L.append("")
        L.append("Start-up to first answer (hyperfine; start the server, query www.test every 5 ms "
                 "until answered; includes one resolution through the upstream), milliseconds.")
        L.append("")
        L.append("| server | runs | median | mean | stddev | min | max |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for s, h in st:
            L.append(f"| {res[s]['label']} | {h['runs']} | {h['median_ms']} | {h['mean_ms']} | {h['stddev_ms']} | {h['min_ms']} | {h['max_ms']} |")
    if summary:
        L.append("")
        L.append(f"holdfast peak {fmt_int(summary['holdfast_peak_answered_qps'])} answered qps, "
                 f"best peer {res[summary['best_peer']]['label']} {fmt_int(summary['best_peer_peak_answered_qps'])}: "
                 f"{summary['ratio_to_best_peer']}x"
                 + ("" if signed else f" (target 2x: {'met' if summary['target_2x_best_peer'] else 'not met'})")
                 + f"; holdfast loss at most {summary['holdfast_max_loss_pct']:.2f}%"
                 + ("." if signed else f" (target no loss: {'met' if summary['target_no_loss'] else 'not met'})."))
    leaked = sum(leaks.values())
    L.append("")
    L.append(f"DNS packets seen on other interfaces during the run: {leaked}.")
    with open(os.path.join(out, name + ".md"), "w") as f:
        f.write("\n".join(L) + "\n")

    # ---- gnuplot data: one block per server (sent qps, answered qps)
    with open(os.path.join(out, name + ".dat"), "w") as f:
        for s in servers:
            f.write(f"# {s}\n")
            for x in res[s]["kxdpgun"]:
                f.write(f"{x['sent_qps']} {x['answered_qps']}\n")
            f.write("\n\n")
    titles = []
    for s in servers:
        t = res[s]["label"]
        if s == "holdfast" and driver:
            t += f" (DPDK net_{driver})"
        elif s == "dnsdist":
            t = f"dnsdist {res[s]['version']} + Unbound {facts.get('unbound', '')}"
        elif s != "holdfast":
            t += f" {res[s]['version']}"
        titles.append(t.replace('"', "'"))
    xmax = max((x["sent_qps"] for s in servers for x in res[s]["kxdpgun"]), default=1)
    with open(os.path.join(out, name + ".gpvars"), "w") as f:
        f.write(f"n = {len(servers)}\n")
        for i, t in enumerate(titles):
            f.write(f't{i} = "{t}"\n')
        f.write(f"xmax = {xmax}\n")
        f.write(f'subtitle = "{m["cpu"]}, {m["cpus"]} CPUs, Linux {m["kernel"]}, {m["date"][:10]}; '
                f'server on 1 core, kxdpgun on the other, warm caches'
                + (f'; median round of {rounds}' if rounds > 1 else '') + '"\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
