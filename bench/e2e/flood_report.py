#!/usr/bin/python3
"""Turn bench/e2e/flood.sh's raw output into results.

    flood_report.py [--check] RAW_DIR OUT_DIR

--check (the smoke run): fail unless every server produced every part (the
three hit loads with answers and latencies, kxdpgun's totals with answers,
the trickle's summary, RSS after the warm-up and after the flood; for
holdfast its counters around every phase); no speed is asserted.

Reads RAW_DIR/facts.txt, <server>.<phase>.hits.txt (dnsperf -v, phases
baseline, flood, after), <server>.flood.kx.txt (kxdpgun),
<server>.trickle.json (flood_trickle.py), <server>.rss.txt ("phase VmRSS
VmHWM" in KiB), holdfast.stats.<phase>.json (`holdfastctl --json stats`
after the phases warm, baseline, flood, after), holdfast.driver and
leak.<if>.txt. Writes OUT_DIR/flood.json and flood.md. holdfast's counters
are read defensively: a counter this build does not have is left out (the
workers' synthesis counters, issue 15, may not exist yet: every counter
whose name holds "synth" is summed, wherever it is). Standard library only.
"""
import argparse
import glob
import json
import re
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import PEER_LABEL, fmt_int, parse_dnsperf, parse_kx, read_facts  # noqa: E402

PHASES = ("baseline", "flood", "after")
HIT_TARGET = 0.95  # hit answers/s under the flood: within 5% of the baseline
TRICKLE_TARGET = 99.0  # % of the legitimate misses resolved

# holdfast counters (name -> path in `holdfastctl --json stats`)
HF_COUNTERS = {
    "answers": ("total", "answers"),
    "hits_fresh": ("total", "hits_fresh"),
    "misses": ("total", "misses"),
    "parked": ("total", "parked"),
    "servfail_timeout": ("total", "servfail_timeout"),
    "park_full": ("total", "drops", "park_full"),
    "ring_full": ("total", "drops", "ring_full"),
    "tx_full": ("total", "drops", "tx_full"),
    "nxdomain": ("total", "rcode", "NXDOMAIN"),
    "servfail": ("total", "rcode", "SERVFAIL"),
    "ede29_synthesized": ("total", "ede", "29"),
    "requests": ("control", "requests"),
    "coalesced": ("control", "coalesced"),
    "resolutions": ("control", "resolutions"),
    "upstream_queries": ("control", "upstream_queries"),
    "overloaded": ("control", "overloaded"),
    "fetch_limited_zone": ("control", "fetch_limited", "zone"),
    "fetch_limited_server": ("control", "fetch_limited", "server"),
    "control_synth_nxdomain": ("control", "validation", "synth_nxdomain"),
    "control_synth_nodata": ("control", "validation", "synth_nodata"),
    "core_fetch_limited_zone": ("total", "fetch_limited_zone"),
    "cache_evictions": ("total", "cache_evictions"),
    "rx_packets": ("total", "rx_packets"),
}


def read_net(raw, s, phase):
    """flood.sh's net_snap of a phase: the veth pair's counters (host and
    client side, ethtool -S), the client namespace's UDP counters and the
    softnet backlog drops, as one flat dict; None when absent."""
    try:
        with open(os.path.join(raw, f"{s}.net.{phase}.txt")) as f:
            text = f.read()
    except OSError:
        return None
    out, side, udp_head = {}, None, None
    dropped = 0
    for line in text.splitlines():
        if line.startswith("# "):
            side = line[2:].split()[0]
            continue
        p = line.split()
        if side in ("host", "client") and len(p) == 2 and p[0].endswith(":") and p[1].isdigit():
            out[f"{side}.{p[0][:-1]}"] = int(p[1])
        elif side == "client" and p[:1] == ["Udp:"]:
            if udp_head is None:
                udp_head = p[1:]
            else:
                out.update({f"udp.{k}": int(v) for k, v in zip(udp_head, p[1:])})
        elif side == "softnet" and len(p) >= 2:
            dropped += int(p[1], 16)
        elif side == "sched" and len(p) == 4 and p[1].isdigit() and p[2].isdigit():
            for k, v in (("run", p[1]), ("wait", p[2])):
                out[f"sched.{p[0]}.{k}"] = out.get(f"sched.{p[0]}.{k}", 0) + int(v)
    out["softnet.dropped"] = dropped
    return out


def net_delta(raw, s):
    """Where the flood phase's packets went missing outside the server."""
    a, b = read_net(raw, s, "flood"), read_net(raw, s, "baseline")
    if a is None or b is None:
        return None
    d = {k: a[k] - b.get(k, 0) for k in a}
    keep = {
        "host_veth_rx_drops": "host.rx_queue_0_drops",
        "host_veth_xdp_redirect": "host.rx_queue_0_xdp_redirect",
        "host_veth_xdp_packets": "host.rx_queue_0_xdp_packets",
        "client_veth_rx_drops": "client.rx_queue_0_drops",
        "client_udp_rcvbuf_errors": "udp.RcvbufErrors",
        "client_udp_in_errors": "udp.InErrors",
        "softnet_dropped": "softnet.dropped",
    }
    out = {k: d[v] for k, v in keep.items() if v in d}
    # the server's threads that ran at least 1 s of the phase: seconds run
    # and seconds waited for a CPU (something else had it)
    out["threads"] = {k[6:-4]: {"run_s": round(d[k] / 1e9, 2), "wait_s": round(d[k[:-4] + ".wait"] / 1e9, 2)}
                      for k in d if k.startswith("sched.") and k.endswith(".run") and d[k] >= 1e9}
    return out


def get(d, keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d if isinstance(d, (int, float)) and not isinstance(d, bool) else None


def synth_leaves(d, path=()):
    """Every numeric counter whose key holds "synth", outside "control"
    (the workers' own, when there are some): {dotted path: value}."""
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            p = path + (k,)
            if p[0] in ("control", "workers", "per_core"):
                continue
            if isinstance(v, dict):
                out.update(synth_leaves(v, p))
            elif "synth" in k and isinstance(v, int) and not isinstance(v, bool):
                out[".".join(p)] = v
    return out


def load_stats(raw, phase):
    try:
        with open(os.path.join(raw, f"holdfast.stats.{phase}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def hf_delta(a, b, seconds):
    """The counters' growth from b to a: left out where this build has no
    such counter; 0 before where only the later one has it (an EDE code
    appears once it happened)."""
    out = {}
    for name, keys in HF_COUNTERS.items():
        x, y = get(a, keys), get(b, keys)
        if x is not None:
            out[name] = x - (y or 0)
    wa, wb = synth_leaves(a), synth_leaves(b)
    out["worker_synth"] = {k: wa[k] - wb.get(k, 0) for k in wa}
    out["synth_total"] = (out.get("control_synth_nxdomain", 0) + out.get("control_synth_nodata", 0)
                          + sum(out["worker_synth"].values()))
    for k in ("parked", "park_full", "ring_full", "fetch_limited_zone", "synth_total", "upstream_queries"):
        if k in out and seconds:
            out[k + "_per_s"] = round(out[k] / seconds, 1)
    out["in_flight_after"] = get(a, ("control", "in_flight"))
    out["waiters_after"] = get(a, ("total", "waiters"))
    out["aggressive_nsec_records_after"] = get(a, ("control", "validation", "aggressive_nsec_records"))
    return out


def read_rss(raw, s):
    rss = {}
    try:
        with open(os.path.join(raw, f"{s}.rss.txt")) as f:
            for line in f:
                p = line.split()
                if len(p) == 3:
                    rss[p[0]] = {"vmrss_kib": int(p[1]), "vmhwm_kib": int(p[2])}
    except (OSError, ValueError):
        pass
    return rss


def server_entry(raw, facts, s):
    e = {"label": PEER_LABEL.get(s, s), "version": facts.get(s, "")}
    if s == "holdfast":
        e["version"] = facts.get("holdfast_commit", "")
        dp = os.path.join(raw, "holdfast.driver")
        e["driver"] = "net_" + open(dp).read().strip() if os.path.exists(dp) else None
    secs = {"baseline": float(facts["base_t"]), "flood": float(facts["flood_t"]), "after": float(facts["after_t"])}
    e["hits"] = {}
    for ph in PHASES:
        p = os.path.join(raw, f"{s}.{ph}.hits.txt")
        if os.path.exists(p):
            d = e["hits"][ph] = parse_dnsperf(p, set(), secs[ph])
            if d.get("sent") and d.get("run_time_s"):
                # what dnsperf managed to send: under the flood its core is shared
                d["sent_qps"] = round(d["sent"] / d["run_time_s"])
    base = e["hits"].get("baseline", {}).get("answered_qps")
    for ph in ("flood", "after"):
        q = e["hits"].get(ph, {}).get("answered_qps")
        if base and q is not None:
            e["hits"][ph]["ratio_to_baseline"] = round(q / base, 4)
    kx = os.path.join(raw, f"{s}.flood.kx.txt")
    if os.path.exists(kx):
        try:
            k = parse_kx(kx, s, float(facts["kx_t"]), set())
            k["lost"] = k["sent"] - k["answered"]
            e["flood"] = k
        except (AttributeError, ValueError):
            e["flood"] = None
    tp = os.path.join(raw, f"{s}.trickle.json")
    if os.path.exists(tp):
        with open(tp) as f:
            e["trickle"] = json.load(f)
    e["rss"] = read_rss(raw, s)
    e["net_flood"] = net_delta(raw, s)
    for ph, d in e["hits"].items():
        # the hit set's rcodes: a hit answered SERVFAIL is an answer to
        # dnsperf, not to the client
        try:
            with open(os.path.join(raw, f"{s}.{ph}.hits.txt")) as f:
                line = next((x for x in f if "Response codes:" in x), "")
            d["rcodes"] = {m[0]: int(m[1]) for m in re.findall(r"([A-Z]+) (\d+) \(", line)}
        except OSError:
            pass
    if s == "holdfast":
        st = {ph: load_stats(raw, ph) for ph in ("warm",) + PHASES}
        e["holdfast_stats_present"] = sorted(ph for ph, v in st.items() if v is not None)
        prev = "warm"
        for ph in PHASES:
            if st[ph] is not None and st[prev] is not None:
                e.setdefault("holdfast", {})[ph] = hf_delta(st[ph], st[prev], secs[ph])
            prev = ph
    return e


def verdicts(e):
    """The issue's targets for one server: [(target, met, words)]."""
    out = []
    fl, base = e["hits"].get("flood", {}), e["hits"].get("baseline", {})
    r = fl.get("ratio_to_baseline")
    if r is not None:
        ok = r >= HIT_TARGET and not fl.get("lost")
        out.append(("hit answers keep their rate (within 5%) with no loss", ok,
                    f"{fmt_int(fl.get('answered_qps'))} of {fmt_int(base.get('answered_qps'))} answers/s "
                    f"({100 * r:.1f}%), {fmt_int(fl.get('lost'))} hits lost"))
    t = e.get("trickle")
    if t:
        out.append(("at least 99% of the legitimate misses resolve", (t["resolved_pct"] or 0) >= TRICKLE_TARGET,
                    f"{t['resolved']} of {t['sent']} ({t['resolved_pct']}%)"))
    rss = e.get("rss", {})
    if "warm" in rss and "flood" in rss:
        grow = rss["flood"]["vmrss_kib"] - rss["warm"]["vmrss_kib"]
        out.append(("memory stays bounded", None,
                    f"RSS {rss['warm']['vmrss_kib'] // 1024} MiB after the warm-up, "
                    f"{rss['flood']['vmrss_kib'] // 1024} MiB after the flood (+{grow // 1024} MiB), "
                    f"peak {rss['flood']['vmhwm_kib'] // 1024} MiB"))
    h = e.get("holdfast", {}).get("flood")
    k = e.get("flood")
    if h and k:
        # kxdpgun's file alternates the zones: half its queries are the
        # signed zone's; a repeat of a name answered before is a cache hit
        out.append(("the signed zone's flood is answered by synthesis", None,
                    f"{fmt_int(h['synth_total'])} answers synthesized ({h.get('synth_total_per_s')}/s) "
                    f"for {fmt_int(k['sent'] // 2)} signed-zone queries sent; "
                    f"{fmt_int(h.get('park_full'))} misses refused parking, "
                    f"{fmt_int(h.get('ring_full'))} lost to a full ring"))
    return out


def check(doc):
    bad = []
    for s, e in doc["servers"].items():
        for ph in PHASES:
            d = e["hits"].get(ph)
            if not d or not d.get("answered") or not d.get("latency_us", {}).get("samples"):
                bad.append(f"{s}: hit load {ph}: no answers or no latencies")
        if not e.get("flood") or not e["flood"].get("answered"):
            bad.append(f"{s}: kxdpgun: no totals or nothing answered")
        t = e.get("trickle")
        if not t or not t.get("sent"):
            bad.append(f"{s}: no trickle results")
        if not {"warm", "flood"} <= set(e.get("rss", {})):
            bad.append(f"{s}: no RSS after the warm-up and the flood")
        if s == "holdfast" and e.get("holdfast_stats_present") != sorted(("warm",) + PHASES):
            bad.append(f"{s}: counters (holdfastctl --json stats) missing around some phase: "
                       f"have {e.get('holdfast_stats_present')}")
    if not doc["servers"]:
        bad.append("no servers")
    return bad


def md(doc):
    f = doc["facts"]
    L = []
    L.append(f"Random-subdomain flood, side by side ({f.get('mode')} run, {f.get('date')}): "
             f"{f.get('cpu')}, {f.get('cpus')} CPUs, Linux {f.get('kernel')}; load average before/after "
             f"{f.get('loadavg_start')} / {f.get('loadavg_end')}. holdfast {f.get('holdfast_commit')}, "
             f"Unbound {f.get('unbound')}, Knot Resolver {f.get('kresd')}, kxdpgun {f.get('kxdpgun')}, "
             f"dnsperf {f.get('dnsperf')}; DPDK {f.get('dpdk')}. Server on CPU 1, generators on CPU 0, "
             f"every server validating through the lab's resolver.")
    L.append("")
    L.append(f"Hit load: dnsperf at {fmt_int(int(f['hit_qps']))} qps over {f['hit_names']} cached names "
             f"(baseline {f['base_t']} s alone, then {f['flood_t']} s with the flood, then {f['after_t']} s "
             f"alone again). Flood: kxdpgun as fast as it sends over {fmt_int(2 * int(f['flood_names_per_zone']))} "
             f"random names, half <r>.{f['signed_zone']} (signed, NSEC), half <r>.{f['unsigned_zone']} "
             f"(unsigned). Trickle: {f['trickle_qps']} new names a second under wild.example.de, each once. "
             f"holdfast: fetches-per-zone {f['fetches_per_zone']}, aggressive-nsec yes (the default).")
    L.append("")
    L.append("| server | hit qps baseline | hit qps in the flood (sent) | ratio | hits lost in the flood | "
             "hit p99 baseline / flood (us) | hit qps after | legitimate misses resolved | "
             "flood sent qps | flood answered qps | flood rcodes | flood lost | RSS warm / after (MiB) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for s, e in doc["servers"].items():
        b, fl, af = (e["hits"].get(p, {}) for p in PHASES)
        k = e.get("flood") or {}
        t = e.get("trickle") or {}
        rss = e.get("rss", {})
        p99 = lambda d: (d.get("latency_us") or {}).get("p99")
        ratio = fl.get("ratio_to_baseline")
        rc = ", ".join(f"{n} {fmt_int(v)}" for n, v in sorted(k.get("rcodes", {}).items(), key=lambda x: -x[1]))
        L.append(
            f"| {e['label']} | {fmt_int(b.get('answered_qps'))} | {fmt_int(fl.get('answered_qps'))} "
            f"(sent {fmt_int(fl.get('sent_qps'))}) | "
            f"{'-' if ratio is None else f'{ratio:.3f}'} | {fmt_int(fl.get('lost'))} ({fl.get('loss_pct', '-')}%) | "
            f"{p99(b)} / {p99(fl)} | {fmt_int(af.get('answered_qps'))} | "
            f"{t.get('resolved', '-')} of {t.get('sent', '-')} ({t.get('resolved_pct', '-')}%) | "
            f"{fmt_int(k.get('sent_qps'))} | {fmt_int(k.get('answered_qps'))} | {rc or '-'} | "
            f"{fmt_int(k.get('lost'))} | "
            f"{rss.get('warm', {}).get('vmrss_kib', 0) // 1024} / {rss.get('flood', {}).get('vmrss_kib', 0) // 1024} |")
    L.append("")
    L.append("The hit set's answers in the flood, by rcode, and where packets went missing outside the server "
             "in the flood phase (veth: the host side's RX ring, before XDP or the server's socket; the client "
             "side's; the client namespace's UDP receive-buffer errors; the kernel's backlog drops):")
    L.append("")
    for s, e in doc["servers"].items():
        rc = (e.get("hits", {}).get("flood") or {}).get("rcodes") or {}
        n = e.get("net_flood") or {}
        L.append(f"- {e['label']}: hits {', '.join(f'{k} {fmt_int(v)}' for k, v in rc.items()) or '-'}; "
                 f"host veth RX drops {fmt_int(n.get('host_veth_rx_drops'))}, "
                 f"client veth RX drops {fmt_int(n.get('client_veth_rx_drops'))}, "
                 f"client UDP RcvbufErrors {fmt_int(n.get('client_udp_rcvbuf_errors'))}, "
                 f"softnet drops {fmt_int(n.get('softnet_dropped'))}"
                 + "".join(f"; thread {t} ran {v['run_s']} s, waited {v['wait_s']} s for a CPU"
                           for t, v in (n.get("threads") or {}).items()))
    L.append("")
    L.append("Legitimate misses that did not resolve, by what came back instead:")
    L.append("")
    for s, e in doc["servers"].items():
        t = e.get("trickle") or {}
        w = dict(t.get("wrong", {}))
        if t.get("unanswered"):
            w["no answer within 5 s"] = t["unanswered"]
        lat = (t.get("latency_ms") or {}).get("p50")
        lat = f" (the resolved ones took {lat} ms at the median)" if lat is not None else ""
        L.append(f"- {e['label']}: {', '.join(f'{k} {v}' for k, v in w.items()) or 'none'}{lat}")
    h = doc["servers"].get("holdfast", {}).get("holdfast")
    if h:
        L.append("")
        L.append("holdfast's counters per phase (growth over the phase; the flood phase includes the hit load):")
        L.append("")
        keys = ["answers", "nxdomain", "servfail", "synth_total", "control_synth_nxdomain", "ede29_synthesized",
                "misses", "parked", "park_full", "ring_full", "servfail_timeout", "requests", "resolutions",
                "upstream_queries", "fetch_limited_zone", "core_fetch_limited_zone", "fetch_limited_server",
                "overloaded", "cache_evictions", "rx_packets"]
        L.append("| counter | " + " | ".join(p for p in PHASES if p in h) + " |")
        L.append("|---|" + "---:|" * len([p for p in PHASES if p in h]))
        for key in keys:
            L.append(f"| {key} | " + " | ".join(fmt_int(h[p].get(key)) for p in PHASES if p in h) + " |")
        ws = h.get("flood", {}).get("worker_synth")
        L.append("")
        L.append(f"Workers' own synthesis counters: {ws if ws else 'none in this build'}.")
    L.append("")
    L.append("Against issue 15's targets:")
    L.append("")
    for s, e in doc["servers"].items():
        for target, ok, words in e.get("verdicts", []):
            state = "measured" if ok is None else ("met" if ok else "not met")
            L.append(f"- {e['label']}: {target}: {words} ({state})")
    leaks = doc.get("leak_packets")
    if leaks is not None:
        L.append("")
        L.append(f"DNS packets seen on other interfaces during the run: {leaks}.")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="the smoke run's checks")
    ap.add_argument("raw")
    ap.add_argument("out")
    a = ap.parse_args()
    raw, out, do_check = a.raw, a.out, a.check
    facts = read_facts(raw)
    doc = {"facts": facts, "servers": {}}
    for s in facts["servers"].split():
        e = server_entry(raw, facts, s)
        e["verdicts"] = verdicts(e)
        doc["servers"][s] = e
    leaks = 0
    for p in glob.glob(os.path.join(raw, "leak.*.txt")):
        with open(p) as f:
            leaks += sum(1 for line in f if line.strip())
    doc["leak_packets"] = leaks
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "flood.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "flood.md"), "w") as f:
        f.write(md(doc))
    if do_check:
        bad = check(doc)
        if leaks:
            bad.append(f"{leaks} DNS packets on other interfaces")
        for b in bad:
            print(f"flood_report: {b}", file=sys.stderr)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
