#!/usr/bin/env python3
"""holdfast.conf(5): the page's text (holdfast.conf.5.in) with the list of
keys that `holdfast -- --help` prints (the configuration table of
control/config.c: every key, its help, default and bounds), so the page
names every key the binary takes. Usage: gen_conf5.py HOLDFAST IN OUT"""
import os
import re
import subprocess
import sys


def roff(s):
    return s.replace("\\", "\\e").replace("-", "\\-")


def main():
    holdfast, src, dst = sys.argv[1:4]
    # a sanitizer build's holdfast too (its exit after --help leaks the
    # argument copy on purpose: nothing to report here)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    out = subprocess.run([holdfast, "--", "--help"], stdout=subprocess.PIPE, check=True,
                         text=True, timeout=30, env=env).stdout
    keys = []
    for line in out.splitlines():
        m = re.match(r"^  --([a-z0-9-]+)\s+(.*)$", line)
        if m and line.startswith("  --") and not m.group(1) in ("config", "dump-config", "help"):
            keys.append((m.group(1), m.group(2)))
    if not keys:
        sys.exit("gen_conf5.py: no keys in holdfast --help")
    items = "".join(f".TP\n.B {roff(k)}\n{roff(h)}\n" for k, h in keys)
    text = open(src).read().replace("@KEYS@\n", items)
    open(dst, "w").write(text)


main()
