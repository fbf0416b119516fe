#!/usr/bin/python3
"""Turn bench/e2e/transport.sh's raw tool output into results.

    transport_report.py [--check] RAW_DIR OUT_DIR

--check (the smoke run): fail unless every server produced every part and
got answers (and latencies) in each; no speed is asserted.

Reads RAW_DIR/facts.txt and, per server and round n,
<server>.r<n>.<part>.txt: dnsperf -v (tcp.long.max, tcp.long.rate,
dot.long.max, dot.long.rate), stream_load's line (tcp.long.gen,
dot.long.gen), conn_rate's line (tcp.short, tls.short,
tls.short.resumed), openssl s_time plus our wall clock (tls.new,
tls.reuse); .seg0/.seg1 (the client's TCP segments, nstat) for the
long-lived parts; for holdfast also .hf0/.hf1 (holdfastctl --json stats before
and after: the transport counters' deltas are kept). Writes
OUT_DIR/transport.json and transport.md. Every number of one part comes
from one round: the round whose headline (answered rate; p50 latency for
the fixed-rate runs) is the median (median_low) of the rounds'; the
per-round headlines are kept. Standard library only.
"""
import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import PEER_LABEL, fmt_int, other_cpu, parse_dnsperf, read_facts  # noqa: E402

DNSPERF_PARTS = ("tcp.long.max", "tcp.long.rate", "dot.long.max", "dot.long.rate")
GEN_PARTS = ("tcp.long.gen", "dot.long.gen")  # bench/stream_load
CONN_PARTS = ("tcp.short", "tls.short", "tls.short.resumed")
STIME_PARTS = ("tls.new", "tls.reuse")
PARTS = DNSPERF_PARTS + GEN_PARTS + CONN_PARTS + STIME_PARTS


def kv_line(path, first):
    """A C tool's one line of "key value" pairs starting with key first, as
    a dict; or the end of its output (an error)."""
    text = open(path).read()
    m = re.search(rf"^{first} .*$", text, re.M)
    if not m:
        return None, {"error": text.strip()[-300:]}
    kv = m.group(0).split()
    return dict(zip(kv[0::2], kv[1::2])), None


def with_cpu(rec, path, ours, wall):
    oc = other_cpu(path, ours, wall)
    if oc:
        rec.update(oc)
    return rec


def parse_conn_rate(path, ours):
    d, err = kv_line(path, "connections")
    if err:
        return err
    rec = {
        "connections": int(d["connections"]),
        "errors": int(d["errors"]),
        "seconds": float(d["seconds"]),
        "per_second": round(float(d["per_second"])),
        "resumed": int(d["resumed"]),
        "latency_us": latency(d),
    }
    return with_cpu(rec, path, ours, rec["seconds"])


def latency(d):
    return {"avg": float(d["latency_avg_us"]), "p50": int(d["latency_p50_us"]), "p99": int(d["latency_p99_us"])}


def parse_stream_load(path, ours):
    d, err = kv_line(path, "answered")
    if err:
        return err
    rec = {
        "sent": int(d["sent"]),
        "answered": int(d["answered"]),
        "lost": int(d["lost"]),
        "errors": int(d["errors"]),
        "rcodes": {k: int(d[k]) for k in ("noerror", "nxdomain", "servfail", "other_rcode")},
        "seconds": float(d["seconds"]),
        "answered_qps": round(float(d["per_second"])),
        "latency_us": latency(d),
    }
    return with_cpu(rec, path, ours, rec["seconds"])


def parse_s_time(path, ours):
    text = open(path).read()
    c = re.search(r"^(\d+) connections in [\d.]+s;", text, re.M)
    w = re.search(r"^wall_seconds ([\d.]+)", text, re.M)
    if not c or not w:
        return {"error": text.strip()[-300:]}
    wall = float(w.group(1))
    rec = {"handshakes": int(c.group(1)), "wall_seconds": round(wall, 3),
           "per_second": round(int(c.group(1)) / wall) if wall else None}
    return with_cpu(rec, path, ours, wall)


def hf_delta(path):
    """holdfast's total.transport counters: after minus before."""
    try:
        a = json.load(open(path + ".hf0"))["total"]["transport"]
        b = json.load(open(path + ".hf1"))["total"]["transport"]
    except (OSError, ValueError, KeyError):
        return None
    return {k: b[k] - a.get(k, 0) for k in b if not k.endswith("_open")}


def segments(path, answered):
    """The client namespace's TCP segments in and out per answer over the
    part (transport.sh's .seg0/.seg1, nstat -a), or None (older runs)."""
    def read(p):
        d = {}
        for line in open(p):
            f = line.split()
            if len(f) >= 2 and f[0] in ("TcpInSegs", "TcpOutSegs"):
                d[f[0]] = int(f[1])
        return d
    try:
        a, b = read(path + ".seg0"), read(path + ".seg1")
    except OSError:
        return None
    if not answered or len(a) != 2 or len(b) != 2:
        return None
    return {"in": round((b["TcpInSegs"] - a["TcpInSegs"]) / answered, 3),
            "out": round((b["TcpOutSegs"] - a["TcpOutSegs"]) / answered, 3)}


def headline(part, rec):
    if part.endswith(".rate"):
        return -(rec.get("latency_us", {}).get("p50") or 0)  # lower is better
    return rate_of(part, rec)


def rate_of(part, rec):
    return rec.get("answered_qps") if part in DNSPERF_PARTS + GEN_PARTS else rec.get("per_second")


# Everything of the server runs on this CPU (and the kernel's work for its
# packets: the host veth's RPS sends it there); the clients run on CPU 0.
SERVER_CPU = "1"
# The unthrottled long-lived parts, by transport: issue 13's 2x target,
# with dnsperf and with stream_load.
TARGET_PARTS = {"tcp": ("tcp.long.max", "tcp.long.gen"), "dot": ("dot.long.max", "dot.long.gen")}
UNTHROTTLED = tuple(p for ps in TARGET_PARTS.values() for p in ps)


def per_core_rate(part, rec):
    """Answers per second of the server CPU's busy time, for the unthrottled
    long-lived parts: what one core of the server carries when the clients
    cannot keep it busy. All the answers came between the snapshots, and
    all the CPU's busy time between them is counted (other processes'
    too), so the seconds dnsperf spends starting and stopping flatter no
    one. Not for the short connections: a handshake that waits (Unbound's
    take 40 ms) leaves the core idle without that being capacity."""
    if part not in UNTHROTTLED:
        return None
    busy = (rec.get("cpu_busy_s") or {}).get(SERVER_CPU)
    count = rec.get("answered")
    return round(count / busy) if busy and count else None


def best_of_clients(res, servers):
    """Per transport, each server's best unthrottled answered rate over the
    two clients (dnsperf, stream_load), with its core's busy share then, and
    holdfast's against the best peer's: the servers' capacities, each
    measured with the client that got the most from it."""
    out = {}
    for t, ps in TARGET_PARTS.items():
        by = {}
        for s in servers:
            r, p = max((rate_of(p, res[s]["parts"].get(p, {})) or 0, p) for p in ps)
            if r:
                by[s] = {"client": "dnsperf" if p in DNSPERF_PARTS else "stream_load", "answered_qps": r,
                         "server_cpu_busy_pct": (res[s]["parts"][p].get("cpu_busy_pct") or {}).get(SERVER_CPU)}
        peers = [s for s in by if s != "holdfast"]
        if "holdfast" in by and peers:
            peer = max(peers, key=lambda s: by[s]["answered_qps"])
            out[t] = {"servers": by, "best_peer": peer,
                      "ratio": round(by["holdfast"]["answered_qps"] / by[peer]["answered_qps"], 2)}
    return out


def check(doc):
    bad = []
    for s, e in doc["servers"].items():
        for part in PARTS:
            d = e["parts"].get(part)
            if not d:
                bad.append(f"{s}: {part}: no result")
            elif not rate_of(part, d):
                bad.append(f"{s}: {part}: nothing answered ({d.get('error', '')})")
            elif part in DNSPERF_PARTS and not d.get("latency_us", {}).get("samples"):
                bad.append(f"{s}: {part}: no latencies")
            elif part in GEN_PARTS and (d.get("errors") or d.get("lost")):
                bad.append(f"{s}: {part}: {d['errors']} failed connections, {d['lost']} lost")
            elif part in CONN_PARTS and d.get("errors"):
                bad.append(f"{s}: {part}: {d['errors']} failed connections")
        if s == "holdfast":
            r = e["parts"].get("tls.short.resumed", {}).get("holdfast_transport") or {}
            if not r.get("tls_resumed"):
                bad.append("holdfast: tls.short.resumed: no resumed handshake counted")
    if not doc["servers"]:
        bad.append("no servers")
    return bad


def main():
    ap = argparse.ArgumentParser(description="bench/e2e/transport.sh's results")
    ap.add_argument("--check", action="store_true", help="fail unless every part got answers")
    ap.add_argument("raw")
    ap.add_argument("out")
    a = ap.parse_args()
    raw, out, do_check = a.raw, a.out, a.check
    facts = read_facts(raw)
    servers = facts["servers"].split()
    rounds = int(facts.get("rounds", 1))
    dp_t = float(facts["dp_t"])
    ours = set()
    op = os.path.join(raw, "our_pids.txt")
    if os.path.exists(op):
        ours = set(open(op).read().split())
    driver = None
    dpath = os.path.join(raw, "holdfast.driver")
    if os.path.exists(dpath):
        driver = open(dpath).read().strip()

    res = {}
    for s in servers:
        entry = {"label": PEER_LABEL.get(s, s), "version": facts.get(s, ""), "parts": {}}
        if s == "holdfast":
            entry["version"] = facts.get("holdfast_commit", "")
            entry["driver"] = "net_" + driver if driver else None
        for part in PARTS:
            per = {}
            for n in range(1, rounds + 1):
                p = os.path.join(raw, f"{s}.r{n}.{part}.txt")
                if not os.path.exists(p):
                    continue
                if part in DNSPERF_PARTS:
                    rec = parse_dnsperf(p, ours, dp_t)
                elif part in GEN_PARTS:
                    rec = parse_stream_load(p, ours)
                elif part in CONN_PARTS:
                    rec = parse_conn_rate(p, ours)
                else:
                    rec = parse_s_time(p, ours)
                if part in DNSPERF_PARTS + GEN_PARTS:
                    rec["client_segments_per_answer"] = segments(p, rec.get("answered"))
                if s == "holdfast":
                    rec["holdfast_transport"] = hf_delta(p)
                per[n] = rec
            if not per:
                continue
            heads = {n: headline(part, r) or 0 for n, r in per.items()}
            mid = statistics.median_low(heads.values())
            rep = min(n for n in heads if heads[n] == mid)
            d = dict(per[rep])
            d["round"] = rep
            d["per_server_core_second"] = per_core_rate(part, d)
            d["rate_per_round"] = [rate_of(part, per[n]) for n in sorted(per)]
            if part in UNTHROTTLED:
                d["per_server_core_second_per_round"] = [per_core_rate(part, per[n]) for n in sorted(per)]
            if part in DNSPERF_PARTS + GEN_PARTS:
                d["p50_us_per_round"] = [per[n].get("latency_us", {}).get("p50") for n in sorted(per)]
                d["p99_us_per_round"] = [per[n].get("latency_us", {}).get("p99") for n in sorted(per)]
            entry["parts"][part] = d
        res[s] = entry

    # holdfast against the best peer, per part (rates: higher is better)
    vs = {}
    peers = [s for s in servers if s != "holdfast"]
    if "holdfast" in res and peers:
        for part in PARTS:
            if part.endswith(".rate") or part not in res["holdfast"]["parts"]:
                continue
            h = rate_of(part, res["holdfast"]["parts"].get(part, {}))
            best = max(peers, key=lambda p: rate_of(part, res[p]["parts"].get(part, {})) or 0)
            b = rate_of(part, res[best]["parts"].get(part, {}))
            vs[part] = {"holdfast": h, "best_peer": best, "best_peer_rate": b,
                        "ratio": round(h / b, 2) if h and b else None}
            # the same per second of the server core's busy time (the best peer by that)
            hc = res["holdfast"]["parts"].get(part, {}).get("per_server_core_second")
            bc_peer = max(peers, key=lambda p: res[p]["parts"].get(part, {}).get("per_server_core_second") or 0)
            bc = res[bc_peer]["parts"].get(part, {}).get("per_server_core_second")
            if hc and bc:
                vs[part].update({"holdfast_per_core_s": hc, "best_peer_per_core": bc_peer,
                                 "best_peer_per_core_s": bc, "ratio_per_core": round(hc / bc, 2)})
    def target_met(key):
        return {p: (vs[p].get(key) or 0) >= 2.0 for ps in TARGET_PARTS.values() for p in ps if p in vs}
    target, target_core = target_met("ratio"), target_met("ratio_per_core")
    best = best_of_clients(res, servers)
    doc = {
        "benchmark": "transport",
        "facts": facts,
        "method": {
            "path": "clients in the lab's client namespace on CPU 0; the server behind the veth pair, "
                    "everything of it on CPU 1; one server at a time; caches warmed over TCP",
            "long": f"dnsperf {facts.get('dnsperf')} -m tcp|dot, -c {facts.get('clients')}, "
                    f"-l {facts.get('dp_t')}; unthrottled -q {facts.get('outstanding')}, "
                    f"fixed rate -Q {facts.get('lat_qps')}; latencies from dnsperf -v",
            "gen": f"bench/stream_load, -c {facts.get('clients')} -q {facts.get('outstanding')}, "
                   f"-l {facts.get('dp_t')}: dnsperf's wire (a query a TLS record), a batch sealed "
                   "in memory and sent in one system call; latencies its own",
            "short": f"bench/conn_rate, {facts.get('conn_rate_conc')} at once, {facts.get('dp_t')} s, "
                     "connect + one query + answer + close (TLS: full handshake; .resumed: session resumed)",
            "s_time": f"openssl s_time -new|-reuse, {facts.get('st_t')} s, one handshake at a time",
            "rounds": rounds,
        },
        "servers": res,
        "holdfast_vs_best_peer": vs,
        "target_2x_met": target,
        "target_2x_met_per_core": target_core,
        "best_of_both_clients": best,
        "target_2x_met_best_of_both_clients": {t: b["ratio"] >= 2.0 for t, b in best.items()},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "transport.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "transport.md"), "w") as f:
        f.write(markdown(doc, servers))
    if do_check:
        bad = check(doc)
        if bad:
            for b in bad:
                print("transport_report: " + b, file=sys.stderr)
            sys.exit(1)


def other_max(entry):
    v = [d["other_processes_cpu_s"] for d in entry["parts"].values() if d.get("other_processes_cpu_s") is not None]
    return f"{max(v):.2f} s" if v else "- (not in stored raw output)"


def markdown(doc, servers):
    facts = doc["facts"]
    res = doc["servers"]
    L = []

    def exc_path(f):
        # runs before --exception had only the TAP
        return ("`xdp-exception` (the XDP program passes it to the host veth's stack)"
                if f.get("exception") == "xdp" else "`exception-interface` (the worker and a TAP)")

    L.append("# DNS over TCP and TLS side by side (bench/e2e/transport.sh)\n")
    L.append(f"{facts.get('mode')} run of {facts.get('date')}, holdfast {facts.get('holdfast_commit')} "
             f"({res.get('holdfast', {}).get('driver') or '-'}, `--idle-sleep {facts.get('idle_sleep_us')}`, "
             f"TCP through {exc_path(facts)}), "
             f"Unbound {facts.get('unbound')}, Knot Resolver {facts.get('kresd')}, OpenSSL {facts.get('openssl')}; "
             f"{facts.get('cpu')}, {facts.get('cpus')} CPUs, kernel {facts.get('kernel')}; "
             f"load average {facts.get('loadavg_start')} at the start, {facts.get('loadavg_end')} at the end. "
             f"{doc['method']['rounds']} rounds, servers interleaved; each number is the median round's. "
             "Server (all of it) on CPU 1, clients on CPU 0. See docs/bench.md, \"TCP and TLS side by side\".\n")

    def lat(d):
        return " / ".join(f"{d[k]:,.0f}" if d.get(k) is not None else "-" for k in ("avg", "p50", "p99"))

    def busy(d):
        cb = d.get("cpu_busy_pct") or {}
        return f"{cb['0']:.0f}%, {cb[SERVER_CPU]:.0f}%" if "0" in cb and SERVER_CPU in cb else "-"

    def segs(d):
        g = d.get("client_segments_per_answer")
        return f"{g['in']:.2f} / {g['out']:.2f}" if g else "-"

    L.append("## Long-lived connections (dnsperf)\n")
    L.append(f"{doc['method']['long']}.\n")
    L.append("| server | transport | unthrottled answered qps | busy: CPU 0 (clients), CPU 1 (server) | answers per busy CPU-1 second | "
             "client's TCP segments in / out per answer | "
             f"avg / p50 / p99 (µs) | at {int(facts.get('lat_qps', 0)):,} qps: avg / p50 / p99 (µs) | "
             "qps per round (unthrottled) | per busy CPU-1 second, per round |")
    L.append("|---|---|---:|---:|---:|---:|---|---|---|---|")
    for s in servers:
        for t in ("tcp", "dot"):
            mx = res[s]["parts"].get(f"{t}.long.max", {})
            rt = res[s]["parts"].get(f"{t}.long.rate", {})
            lm, lr = mx.get("latency_us", {}), rt.get("latency_us", {})
            L.append(f"| {res[s]['label']} | {'TCP' if t == 'tcp' else 'DoT'} | {fmt_int(mx.get('answered_qps'))} | "
                     f"{busy(mx)} | {fmt_int(mx.get('per_server_core_second'))} | {segs(mx)} | "
                     f"{lat(lm)} | {lat(lr)} | {', '.join(fmt_int(v) for v in mx.get('rate_per_round', []))} | "
                     f"{', '.join(fmt_int(v) for v in mx.get('per_server_core_second_per_round', []))} |")
    L.append("")
    if any(res[s]["parts"].get(p) for s in servers for p in GEN_PARTS):
        L.append("## Long-lived connections (bench/stream_load)\n")
        L.append(f"{doc['method']['gen']}.\n")
        L.append("| server | transport | answered qps | lost | busy: CPU 0 (client), CPU 1 (server) | "
                 "answers per busy CPU-1 second | client's TCP segments in / out per answer | "
                 "avg / p50 / p99 (µs) | qps per round | per busy CPU-1 second, per round |")
        L.append("|---|---|---:|---:|---:|---:|---:|---|---|---|")
        for s in servers:
            for t in ("tcp", "dot"):
                g = res[s]["parts"].get(f"{t}.long.gen")
                if not g:
                    continue
                L.append(f"| {res[s]['label']} | {'TCP' if t == 'tcp' else 'DoT'} | {fmt_int(g.get('answered_qps'))} | "
                         f"{fmt_int(g.get('lost'))} | {busy(g)} | {fmt_int(g.get('per_server_core_second'))} | {segs(g)} | "
                         f"{lat(g.get('latency_us', {}))} | {', '.join(fmt_int(v) for v in g.get('rate_per_round', []))} | "
                         f"{', '.join(fmt_int(v) for v in g.get('per_server_core_second_per_round', []))} |")
        L.append("")
    L.append("## Short connections\n")
    L.append(f"{doc['method']['short']}; {doc['method']['s_time']}.\n")
    L.append("| server | new TCP connections/s | TLS full handshakes/s | TLS resumed/s | "
             "conn p50 / p99 (µs) TCP, TLS | s_time -new /s | s_time -reuse /s |")
    L.append("|---|---:|---:|---:|---|---:|---:|")
    for s in servers:
        p = res[s]["parts"]
        g = lambda k: p.get(k, {})
        cl = lambda k: f"{g(k).get('latency_us', {}).get('p50', '-')} / {g(k).get('latency_us', {}).get('p99', '-')}"
        L.append(f"| {res[s]['label']} | {fmt_int(g('tcp.short').get('per_second'))} | "
                 f"{fmt_int(g('tls.short').get('per_second'))} | {fmt_int(g('tls.short.resumed').get('per_second'))} | "
                 f"{cl('tcp.short')}, {cl('tls.short')} | {fmt_int(g('tls.new').get('per_second'))} | "
                 f"{fmt_int(g('tls.reuse').get('per_second'))} |")
    L.append("")
    L.append("Other processes' CPU (the machine may be shared) during the median rounds' parts, at most: " +
             ", ".join(f"{res[s]['label']} {other_max(res[s])}" for s in servers) + " (per part in the JSON).\n")
    vs = doc["holdfast_vs_best_peer"]
    if vs:
        L.append("## holdfast against the best peer\n")
        L.append("| part | holdfast | best peer | ratio | per busy CPU-1 second: holdfast | best peer | ratio |")
        L.append("|---|---:|---|---:|---:|---|---:|")
        for part, v in vs.items():
            pc = (f"{fmt_int(v['holdfast_per_core_s'])} | {PEER_LABEL.get(v['best_peer_per_core'], v['best_peer_per_core'])} "
                  f"{fmt_int(v['best_peer_per_core_s'])} | {v['ratio_per_core']}x" if v.get("ratio_per_core") else "- | - | -")
            L.append(f"| {part} | {fmt_int(v['holdfast'])} | {PEER_LABEL.get(v['best_peer'], v['best_peer'])} "
                     f"{fmt_int(v['best_peer_rate'])} | {v['ratio'] if v['ratio'] is not None else '-'}x | {pc} |")
        L.append("")
        t, tc = doc["target_2x_met"], doc.get("target_2x_met_per_core") or {}
        met = lambda x: "met" if x else "NOT met"
        verdicts = "; ".join(
            f"{'TCP' if tr == 'tcp' else 'DoT'} with {'dnsperf' if p.endswith('.max') else 'stream_load'}: "
            f"{met(t[p])} as answered, {met(tc.get(p))} per busy second of the server's core"
            for tr, ps in TARGET_PARTS.items() for p in ps if p in t)
        L.append(f"Issue 13's target (at least 2x the best peer's answered rate on one core): {verdicts}. "
                 "A server whose core is not busy all the time answered what the client (one core, "
                 "CPU 0) could send: its answered rate is what the client carried, its rate per busy "
                 "second what its core carries.\n")
    best = doc.get("best_of_both_clients") or {}
    if best:
        L.append("## Each server's best unthrottled rate over both clients\n")
        L.append("| transport | " + " | ".join(res[s]["label"] for s in servers) + " | holdfast against the best peer |")
        L.append("|---|" + "---:|" * len(servers) + "---:|")
        for t, b in best.items():
            cells = []
            for s in servers:
                v = b["servers"].get(s)
                cells.append(f"{fmt_int(v['answered_qps'])} ({v['client']}, CPU 1 "
                             f"{v['server_cpu_busy_pct'] if v['server_cpu_busy_pct'] is not None else '-'}% busy)"
                             if v else "-")
            L.append(f"| {'TCP' if t == 'tcp' else 'DoT'} | " + " | ".join(cells) + f" | {b['ratio']}x |")
        L.append("")
        L.append("Issue 13's target on each server's best: " + ", ".join(
            f"{'TCP' if t == 'tcp' else 'DoT'} {'met' if b['ratio'] >= 2.0 else 'NOT met'}" for t, b in best.items()) +
            ". With its core busy all the time, a server's best rate is its capacity on one core.\n")
    return "\n".join(L)


if __name__ == "__main__":
    main()
