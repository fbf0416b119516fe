"""holdfastctl, the raw control socket and the Prometheus export.

Rig.ctl_raw / Rig.ctl run holdfastctl against the rig's holdfast; these are
the pieces that need no rig: a command's result, raw requests on the
socket, counters out of `stats --json`, and the text exposition parsed."""

import json
import re
import socket

from lib.checks import Fail, check


class CtlResult:
    """One holdfastctl run: cmd, rc, out, err, elapsed (s), obj (the --json
    object, when there was one)."""

    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed
        self.obj = None

    def parse_json(self):
        try:
            self.obj = json.loads(self.out)
        except ValueError as e:
            raise Fail(f"--json output is not one JSON object ({e}): {self.show()}")
        check(isinstance(self.obj, dict), f"--json output is not an object: {self.show()}")

    def show(self):
        return (f"`{' '.join(self.cmd[self.cmd.index('--') + 1:] if '--' in self.cmd else self.cmd)}` "
                f"exit {self.rc}, stdout {self.out.strip()[:600]!r}, stderr {self.err.strip()[:300]!r}")


def per_core(stats, key):
    """{core: value} of a counter (dotted keys for nested ones) from
    `stats --per-core --json`."""
    out = {}
    for c in stats.get("per_core") or []:
        v = c
        for part in key.split("."):
            v = v.get(part, 0) if isinstance(v, dict) else 0
        out[c.get("core")] = v
    return out


def counter(d, key):
    """d[a][b]... for key "a.b...": fails when a part is missing."""
    v = d
    for part in key.split("."):
        check(isinstance(v, dict) and part in v, f"no counter {key} (missing {part!r}) in {json.dumps(d)[:400]}")
        v = v[part]
    return v


def raw_request(sock_path, data, timeout=8.0, shut=False):
    """Write data on the control socket with a raw AF_UNIX socket; returns
    (reply bytes, closed by the server: bool)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close while we still write (oversized)
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        closed = False
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
        return out, closed
    finally:
        s.close()


PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
                       r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?\})? '
                       r'([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|\+Inf|-Inf))( -?[0-9]+)?$')


def parse_prom(text, what):
    """{metric: [(labels, value)]} of a Prometheus text exposition; Fail on a bad line."""
    typed, samples = {}, {}
    for ln in text.splitlines():
        if not ln.strip():
            continue
        if ln.startswith("# TYPE "):
            parts = ln.split()
            check(len(parts) == 4 and parts[3] in ("counter", "gauge", "untyped", "histogram", "summary"),
                  f"{what}: bad TYPE line {ln!r}")
            typed[parts[2]] = parts[3]
            continue
        if ln.startswith("#"):
            continue
        m = PROM_LINE.match(ln)
        check(m, f"{what}: not a text exposition sample line: {ln!r}")
        base = m.group(1)
        fam = re.sub(r"_(total|count|sum|bucket)$", "", base)
        check(base in typed or fam in typed, f"{what}: {base} has no # TYPE line before it")
        samples.setdefault(base, []).append((m.group(2) or "", float(m.group(3))))
    return samples


def prom_sum(text, metric, sparse=False, **labels):
    """The sum over every sample of metric (cores, ...) whose labels include
    labels, in the text exposition text (`stats --prometheus`). A sparse
    family (EDE codes) has no sample for a count of 0."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    found = [v for lbl, v in parse_prom(text, "stats --prometheus").get(metric, [])
             if all(w in lbl.strip("{}").split(",") for w in want)]
    check(found or sparse, f"no sample of {metric} with {labels} in stats --prometheus")
    return sum(int(v) for v in found)
