#!/usr/bin/env python3
"""control_plane_cost2: split each validated workload's control CPU per resolution: the verifies at
openssl speed's rate, libcrypto beyond that, the kernel (with libc's
system-call stubs, where a PVM guest's system calls land), and the rest (ours:
holdfast, rte_hash, the rest of libc, vdso). The shares are the profiled
pass's (perf record, --profile), applied to the median of the other passes.
pvm_irq_enable: the hypervisor's part of the kernel's (its own time).
Usage: split.py RUNDIR..."""
import json, re, sys, os

STUBS = ("epoll_wait", "__send", "__libc_recv", "__libc_send", "send", "recv", "__libc_connect",
         "__socket", "__close", "close", "epoll_ctl", "__GI___pthread_enable_asynccancel",
         "__GI___pthread_disable_asynccancel")

def profile(path):
    dso, fn, sec = {}, {}, None
    for line in open(path):
        if "[k] pvm_irq_enable " in line and "pvm" not in fn:
            fn["pvm"] = float(line.split()[1].rstrip("%"))
        if line.startswith("# self, by object"):
            sec = "dso"; continue
        if line.startswith("# self, by function"):
            sec = "fn"; continue
        if line.startswith("#"):
            sec = None; continue
        f = line.split()
        if sec == "dso" and f:
            dso[" ".join(f[1:])] = float(f[0].rstrip("%"))
        elif sec == "fn" and f:
            fn[(f[1], f[3])] = float(f[0].rstrip("%"))
    return dso, fn

def main():
    for run in sys.argv[1:]:
        d = json.load(open(os.path.join(run, "control_plane.json")))
        speed = d["openssl_speed_verify_per_s"]
        print(f"== {os.path.basename(run.rstrip('/'))}  speed {speed}")
        for w, c in d["cold_cache"].items():
            cpu = c["holdfast_cold_resolver_warm"]["control_cpu_us_per_resolution"]
            per = c["holdfast_cold_resolver_warm"].get("control_cpu_us_per_resolution_per_round")
            crypto = c.get("crypto_us_per_answer")
            prof = os.path.join(run, "control_plane", w + ".profile.txt")
            line = f"{w:16s} cpu {cpu:6.1f} {per}"
            if crypto:
                line += f" crypto {crypto:5.1f} rest {cpu - crypto:5.1f} share {crypto / cpu:.3f}"
            if os.path.exists(prof):
                dso, fn = profile(prof)
                lc = dso.get("libcrypto.so.3", 0.0)
                k = dso.get("[kernel.kallsyms]", 0.0)
                stubs = sum(v for k_, v in fn.items() if k_ != "pvm" and k_[0] == "libc.so.6" and k_[1] in STUBS)
                libc = dso.get("libc.so.6", 0.0)
                ours = dso.get("holdfast", 0.0) + dso.get("librte_hash.so.23.0", 0.0) + \
                    dso.get("[vdso]", 0.0) + libc - stubs
                line += (f" | prof%: crypto {lc:.1f} kernel+stubs {k + stubs:.1f} ours {ours:.1f}"
                         f" (holdfast {dso.get('holdfast', 0):.1f} rte_hash {dso.get('librte_hash.so.23.0', 0):.1f}"
                         f" libc-rest {libc - stubs:.1f})")
                line += (f" | us: kernel {cpu * (k + stubs) / 100:.1f} (of it pvm_irq_enable"
                         f" {cpu * fn.get('pvm', 0.0) / 100:.1f}) ours {cpu * ours / 100:.1f}")
                if crypto:
                    line += f" libcrypto-excess {cpu * lc / 100 - crypto:.1f}"
            print(line)

main()
