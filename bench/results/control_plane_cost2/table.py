#!/usr/bin/env python3
"""The runs side by side: one row per run directory (usage: table.py RUNDIR...)."""
import json, os, sys
print("| run | holdfast | load (start) | openssl RSA / P-256 / Ed25519 verify/s | wild13 P-256 us, share | nx8 RSA us, share | nx15 Ed25519 us, share | insecure us | dnssec: no us |")
print("|---|---|---|---|---|---|---|---|---|")
for run in sys.argv[1:]:
    d = json.load(open(os.path.join(run, "control_plane.json")))
    facts = dict(l.strip().split("=", 1) for l in open(os.path.join(run, "control_plane", "facts.txt")) if "=" in l)
    s = d["openssl_speed_verify_per_s"]
    c = d["cold_cache"]
    def cell(w):
        x = c[w]
        cpu = x["holdfast_cold_resolver_warm"]["control_cpu_us_per_resolution"]
        f = x.get("fraction_of_crypto_bound_cpu")
        return f"{cpu:.1f}, {f:.3f}" if f else f"{cpu:.1f}"
    name = os.path.basename(run.rstrip("/"))
    print(f"| {name} | {facts['holdfast_commit']} | {facts['loadavg_start'].split()[0]} | {s['rsa 2048']:,} / {s['ecdsa nistp256']:,} / {s['eddsa Ed25519']:,} | {cell('wild13')} | {cell('nx8')} | {cell('nx15')} | {cell('insecure')} | {cell('wild13_nodnssec')} |")
