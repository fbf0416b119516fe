#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the hf_bench harness (bench/hf_bench.c) through bench_selftest.

Usage: test_bench_json.py CASE BENCH_SELFTEST
CASE is one of: json list filter badflag console compare.
Standard library only. Exit 0 = pass, 1 = fail; never 77 (meson's "skipped"):
'compare' without compare.py or scipy is a failure (scripts/deps.sh installs them).

The checks follow Google Benchmark's documented JSON output (the keys that
its tools/compare.py and gbench/report.py read, plus the context block) and
its console and command-line behaviour.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

# What bench_selftest registers, in order (DISABLED_bm_never is never shown).
NAMES = [
    "bm_sum_array/64",
    "bm_sum_array/1024",
    "bm_counters",
    "bm_batch_pause",
    "bm_skip_error",
    "bm_runtime/7",
]
FAMILY = {  # name -> (family_index, per_family_instance_index)
    "bm_sum_array/64": (0, 0),
    "bm_sum_array/1024": (0, 1),
    "bm_counters": (1, 0),
    "bm_batch_pause": (2, 0),
    "bm_skip_error": (3, 0),
    "bm_runtime/7": (4, 0),
}
AGGREGATES = ["mean", "median", "stddev", "cv"]
UNITS = ("ns", "us", "ms", "s")
FAST = ["--benchmark_min_time=0.01"]


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run(exe, *args, ok=True):
    p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=100)
    if ok and p.returncode != 0:
        raise Fail("%s %s: exit %d\nstderr: %s" % (exe, " ".join(args), p.returncode, p.stderr))
    return p


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def check_context(ctx):
    check(isinstance(ctx, dict), "context is not an object")
    for key, pred in [
        ("date", lambda v: isinstance(v, str)
         and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", v)),
        ("host_name", lambda v: isinstance(v, str) and v),
        ("executable", lambda v: isinstance(v, str) and v),
        ("num_cpus", lambda v: is_int(v) and v >= 1),
        ("mhz_per_cpu", lambda v: is_int(v) and v >= 0),
        ("cpu_scaling_enabled", lambda v: isinstance(v, bool)),
        ("caches", lambda v: isinstance(v, list)),
        ("load_avg", lambda v: isinstance(v, list) and all(is_num(x) for x in v)),
        ("library_build_type", lambda v: v in ("debug", "release")),
        ("json_schema_version", lambda v: v == 1 and is_int(v)),
    ]:
        check(key in ctx, "context lacks %r" % key)
        check(pred(ctx[key]), "context %r has a bad value: %r" % (key, ctx[key]))
    for c in ctx["caches"]:
        check(set(c) == {"type", "level", "size", "num_sharing"}, "cache keys: %r" % c)
        check(c["type"] in ("Data", "Instruction", "Unified"), "cache type %r" % c)
        check(is_int(c["level"]) and c["level"] >= 1, "cache level %r" % c)
        check(is_int(c["size"]) and c["size"] > 0, "cache size %r" % c)
        check(is_int(c["num_sharing"]) and c["num_sharing"] >= 0, "num_sharing %r" % c)


REQUIRED = {
    "name": lambda v: isinstance(v, str) and v,
    "family_index": lambda v: is_int(v) and v >= 0,
    "per_family_instance_index": lambda v: is_int(v) and v >= 0,
    "run_name": lambda v: isinstance(v, str) and v,
    "run_type": lambda v: v in ("iteration", "aggregate"),
    "repetitions": lambda v: is_int(v) and v >= 1,
    "threads": lambda v: v == 1 and is_int(v),
    "iterations": lambda v: is_int(v) and v >= 1,
    "real_time": is_num,
    "cpu_time": is_num,
    "time_unit": lambda v: v in UNITS,
}
NON_COUNTER = set(REQUIRED) | {"repetition_index", "aggregate_name", "aggregate_unit",
                               "error_occurred", "error_message", "label"}


def expected_indexes(names):
    """(family_index, per_family_instance_index) by name when only 'names' are
    selected: both count selected benchmarks only."""
    fams = sorted({FAMILY[n][0] for n in names})
    out = {}
    for n in names:
        fam = FAMILY[n][0]
        inst = sorted(FAMILY[m][1] for m in names if FAMILY[m][0] == fam).index(FAMILY[n][1])
        out[n] = (fams.index(fam), inst)
    return out


def check_benchmark(b, reps, indexes):
    for key, pred in REQUIRED.items():
        check(key in b, "%s lacks %r" % (b.get("name"), key))
        check(pred(b[key]), "%s: %r has a bad value %r" % (b["name"], key, b[key]))
    check(b["repetitions"] == reps, "%s: repetitions %r" % (b["name"], b["repetitions"]))
    check(b["run_name"] in indexes, "unexpected run_name %r" % b["run_name"])
    check((b["family_index"], b["per_family_instance_index"]) == indexes[b["run_name"]],
          "%s: family/instance index %r" % (b["name"], (b["family_index"],
                                                       b["per_family_instance_index"])))
    if b["run_type"] == "iteration":
        check(b["name"] == b["run_name"], "iteration name %r != run_name" % b["name"])
        check(is_int(b.get("repetition_index")) and 0 <= b["repetition_index"] < reps,
              "%s: repetition_index %r" % (b["name"], b.get("repetition_index")))
        check("aggregate_name" not in b, "%s: iteration with aggregate_name" % b["name"])
        if not b.get("error_occurred"):
            check(b["real_time"] > 0 and b["cpu_time"] >= 0, "%s: times" % b["name"])
    else:
        check("repetition_index" not in b, "%s: aggregate with repetition_index" % b["name"])
        check(b.get("aggregate_name") in AGGREGATES, "%s: aggregate_name" % b["name"])
        unit = "percentage" if b["aggregate_name"] == "cv" else "time"
        check(b.get("aggregate_unit") == unit, "%s: aggregate_unit" % b["name"])
        check(b["name"] == b["run_name"] + "_" + b["aggregate_name"],
              "aggregate name %r" % b["name"])
        check(b["iterations"] == reps, "%s: aggregate iterations" % b["name"])
    if "error_occurred" in b:
        check(b["error_occurred"] is True, "%s: error_occurred" % b["name"])
        check(isinstance(b.get("error_message"), str), "%s: error_message" % b["name"])
    if "label" in b:
        check(isinstance(b["label"], str), "%s: label" % b["name"])
    for k, v in b.items():
        if k not in NON_COUNTER:
            check(is_num(v), "%s: counter %r is not a number: %r" % (b["name"], k, v))


def check_document(doc, reps, names=NAMES, aggregates_only=False):
    """Schema and semantics of one JSON output of bench_selftest."""
    check(isinstance(doc, dict) and set(doc) >= {"context", "benchmarks"},
          "top level must have context and benchmarks")
    check_context(doc["context"])
    benches = doc["benchmarks"]
    check(isinstance(benches, list), "benchmarks is not a list")
    indexes = expected_indexes(names)
    for b in benches:
        check_benchmark(b, reps, indexes)
    # order: by family, instance, iterations before aggregates, by repetition
    keys = [(b["family_index"], b["per_family_instance_index"],
             b["run_type"] == "aggregate", b.get("repetition_index", 0)) for b in benches]
    check(keys == sorted(keys), "benchmarks are not in Google Benchmark's order")
    check([n for n in dict.fromkeys(b["run_name"] for b in benches)] == names,
          "run names %r, expected %r" % (list(dict.fromkeys(b["run_name"] for b in benches)),
                                         names))
    for name in names:
        its = [b for b in benches if b["run_name"] == name and b["run_type"] == "iteration"]
        aggs = {b["aggregate_name"]: b for b in benches
                if b["run_name"] == name and b["run_type"] == "aggregate"}
        failed = name == "bm_skip_error"
        if aggregates_only and reps > 1 and not failed:
            check(not its, "%s: iteration runs despite aggregates only" % name)
        else:
            check(len(its) == reps, "%s: %d iteration runs, expected %d" % (name, len(its), reps))
            check([b["repetition_index"] for b in its] == list(range(reps)),
                  "%s: repetition indexes" % name)
            check(len({b["iterations"] for b in its}) == 1,
                  "%s: repetitions ran different iteration counts" % name)
        if failed:
            for b in its:
                check(b.get("error_occurred") is True
                      and b.get("error_message") == "skipped on purpose",
                      "bm_skip_error not reported as an error: %r" % b)
            check(not aggs, "bm_skip_error has aggregates")
            continue
        check(all("error_occurred" not in b for b in its), "%s: unexpected error" % name)
        if reps > 1:
            check(sorted(aggs) == sorted(AGGREGATES),
                  "%s: aggregates %r" % (name, sorted(aggs)))
        else:
            check(not aggs, "%s: aggregates without repetitions" % name)
        if its and aggs:
            for field in ("real_time", "cpu_time"):
                vals = [b[field] for b in its]
                mean = sum(vals) / len(vals)
                check(math.isclose(aggs["mean"][field], mean, rel_tol=1e-9),
                      "%s: mean %s %r != %r" % (name, field, aggs["mean"][field], mean))
                med = sorted(vals)[len(vals) // 2] if len(vals) % 2 else \
                    sum(sorted(vals)[len(vals) // 2 - 1:len(vals) // 2 + 1]) / 2
                check(math.isclose(aggs["median"][field], med, rel_tol=1e-9),
                      "%s: median %s" % (name, field))
                sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
                check(math.isclose(aggs["stddev"][field], sd, rel_tol=1e-6, abs_tol=1e-12),
                      "%s: stddev %s %r != %r" % (name, field, aggs["stddev"][field], sd))
                cv = sd / mean if mean else 0
                check(math.isclose(aggs["cv"][field], cv, rel_tol=1e-6, abs_tol=1e-12),
                      "%s: cv %s" % (name, field))
        for b in its + list(aggs.values()):
            if name.startswith("bm_sum_array"):
                check(b["time_unit"] == "ns", "%s: time_unit" % b["name"])
                if b["run_type"] == "iteration":
                    check(b["items_per_second"] > 0 and b["bytes_per_second"] > 0,
                          "%s: rates" % b["name"])
                    check(math.isclose(b["bytes_per_second"], 4 * b["items_per_second"]),
                          "%s: bytes_per_second != 4 * items_per_second" % b["name"])
            if name == "bm_counters":
                check(b.get("label") == "lcg", "%s: label" % b["name"])
                if b["run_type"] == "iteration" or b["aggregate_name"] in ("mean", "median"):
                    check(b["plain"] == 42, "%s: plain counter %r" % (b["name"], b["plain"]))
                    check(math.isclose(b["per_iter"], 1000.0),
                          "%s: per_iter %r" % (b["name"], b["per_iter"]))
                    check(b["ops_rate"] > 0, "%s: ops_rate" % b["name"])
            if name == "bm_batch_pause":
                check(b["time_unit"] == "us", "%s: time_unit %r" % (b["name"], b["time_unit"]))
    return benches


def load(path):
    with open(path) as f:
        return json.load(f)


def case_json(exe, tmp):
    out = os.path.join(tmp, "out.json")
    p = run(exe, *FAST, "--benchmark_repetitions=3", "--benchmark_out=" + out,
            "--benchmark_out_format=json")
    check_document(load(out), 3)
    check("bm_sum_array/64_mean" in p.stdout, "console lacks the aggregate rows")

    # JSON on stdout is a whole document by itself, context included
    p = run(exe, *FAST, "--benchmark_format=json")
    doc = json.loads(p.stdout)
    check_document(doc, 1)
    check(doc["context"]["executable"] == exe, "executable %r" % doc["context"]["executable"])

    # report_aggregates_only: file and display both without iteration runs
    p = run(exe, *FAST, "--benchmark_repetitions=2", "--benchmark_report_aggregates_only=true",
            "--benchmark_out=" + out)
    check_document(load(out), 2, aggregates_only=True)
    check(not re.search(r"^bm_counters ", p.stdout, re.M), "console shows iteration runs")

    # display_aggregates_only: the file still has everything
    p = run(exe, *FAST, "--benchmark_repetitions=2", "--benchmark_display_aggregates_only",
            "--benchmark_out=" + out)
    check_document(load(out), 2)
    check(not re.search(r"^bm_counters ", p.stdout, re.M), "console shows iteration runs")
    check(re.search(r"^bm_counters_mean ", p.stdout, re.M), "console lacks aggregates")

    # "Nx": exactly N iterations; --benchmark_time_unit; "0.01s"
    p = run(exe, "--benchmark_min_time=7x", "--benchmark_format=json",
            "--benchmark_time_unit=ms", "--benchmark_filter=-skip")
    for b in json.loads(p.stdout)["benchmarks"]:
        check(b["iterations"] == 7, "%s: %d iterations with 7x" % (b["name"], b["iterations"]))
        check(b["time_unit"] == ("us" if b["name"] == "bm_batch_pause" else "ms"),
              "%s: time_unit %s" % (b["name"], b["time_unit"]))
    p = run(exe, "--benchmark_min_time=0.01s", "--benchmark_format=json",
            "--benchmark_filter=bm_counters")
    check(json.loads(p.stdout)["benchmarks"][0]["iterations"] > 1000, "min_time 0.01s too short")

    # environment defaults; the command line wins
    env = dict(os.environ, BENCHMARK_FILTER="bm_counters", BENCHMARK_FORMAT="json",
               BENCHMARK_MIN_TIME="3x")
    p = subprocess.run([exe, "--benchmark_min_time=5x"], capture_output=True, text=True,
                       env=env, timeout=100)
    bs = json.loads(p.stdout)["benchmarks"]
    check([b["name"] for b in bs] == ["bm_counters"] and bs[0]["iterations"] == 5,
          "environment defaults: %r" % bs)

    # custom context
    p = run(exe, "--benchmark_min_time=1x", "--benchmark_format=json",
            "--benchmark_context=site=fra1,nic=veth", "--benchmark_filter=bm_runtime")
    ctx = json.loads(p.stdout)["context"]
    check(ctx.get("site") == "fra1" and ctx.get("nic") == "veth", "custom context %r" % ctx)


def case_list(exe, tmp):
    for flag in ("--benchmark_list_tests", "--benchmark_list_tests=true"):
        p = run(exe, flag)
        check(p.stdout.splitlines() == NAMES, "%s printed %r" % (flag, p.stdout))
        check(p.stderr == "", "list_tests wrote to stderr: %r" % p.stderr)
    p = run(exe, "--benchmark_list_tests", "--benchmark_filter=sum")
    check(p.stdout.splitlines() == NAMES[:2], "filtered list %r" % p.stdout)
    p = run(exe, "--benchmark_list_tests=false", "--benchmark_min_time=1x",
            "--benchmark_format=json")
    check(json.loads(p.stdout)["benchmarks"], "list_tests=false did not run")


def names_run(exe, *args):
    p = run(exe, "--benchmark_min_time=1x", "--benchmark_format=json", *args)
    return [b["name"] for b in json.loads(p.stdout)["benchmarks"]]


def case_filter(exe, tmp):
    check(names_run(exe, "--benchmark_filter=bm_sum_array/1024") == ["bm_sum_array/1024"],
          "filter bm_sum_array/1024")
    check(names_run(exe, "--benchmark_filter=^bm_(counters|runtime)") ==
          ["bm_counters", "bm_runtime/7"], "filter with an ERE alternation")
    for f in ("all", ".", ""):
        check(names_run(exe, "--benchmark_filter=" + f) == NAMES, "filter %r" % f)
    check(names_run(exe, "--benchmark_filter=-sum|skip") ==
          ["bm_counters", "bm_batch_pause", "bm_runtime/7"], "negative filter")
    # family and instance indexes count selected benchmarks only
    p = run(exe, "--benchmark_min_time=1x", "--benchmark_format=json",
            "--benchmark_filter=1024|batch")
    got = [(b["name"], b["family_index"], b["per_family_instance_index"])
           for b in json.loads(p.stdout)["benchmarks"]]
    check(got == [("bm_sum_array/1024", 0, 0), ("bm_batch_pause", 1, 0)],
          "indexes after filtering: %r" % got)
    p = run(exe, "--benchmark_filter=nomatch")
    check("Failed to match any benchmarks against regex: nomatch" in p.stderr,
          "no-match message: %r" % p.stderr)
    p = run(exe, "--benchmark_filter=(", ok=False)
    check(p.returncode == 1 and len(p.stderr.splitlines()) == 1,
          "bad regex: exit %d, %r" % (p.returncode, p.stderr))


def case_badflag(exe, tmp):
    for args, what in [
        (["--benchmark_bogus=1"], "unrecognized command-line flag: --benchmark_bogus=1"),
        (["--benchmark_min_time=fast"], "--benchmark_min_time"),
        (["--benchmark_min_time=0x"], "--benchmark_min_time"),
        (["--benchmark_repetitions=0"], "--benchmark_repetitions"),
        (["--benchmark_format=xml"], "--benchmark_format"),
        (["--benchmark_time_unit=ps"], "--benchmark_time_unit"),
        (["--benchmark_list_tests=maybe"], "--benchmark_list_tests"),
        (["--benchmark_filter"], "--benchmark_filter"),
        (["stray_argument"], "unrecognized command-line flag: stray_argument"),
    ]:
        p = run(exe, *args, ok=False)
        lines = p.stderr.splitlines()
        check(p.returncode == 1, "%r: exit %d" % (args, p.returncode))
        check(len(lines) == 1 and what in lines[0] and "error" in lines[0],
              "%r: stderr %r" % (args, p.stderr))
        check(p.stdout == "", "%r: stdout %r" % (args, p.stdout))
    p = run(exe, "--help")
    check("--benchmark_filter=<regex>" in p.stdout, "--help output")
    p = run(exe, "--benchmark_out=" + os.path.join(tmp, "no", "such", "dir.json"), ok=False)
    check(p.returncode == 1 and "invalid file name" in p.stderr, "bad --benchmark_out")


def case_console(exe, tmp):
    p = run(exe, *FAST, "--benchmark_repetitions=2", "--benchmark_color=false")
    err, out = p.stderr.splitlines(), p.stdout.splitlines()
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", err[0]), "date %r" % err[0])
    check(err[1] == "Running " + exe, "Running line %r" % err[1])
    check(re.fullmatch(r"Run on \(\d+ X [\d.e+]+ MHz CPU s?\)", err[2]), "Run on %r" % err[2])
    check(any(re.fullmatch(r"Load Average: [\d.]+, [\d.]+, [\d.]+", l) for l in err),
          "no load average")
    check(out[0] == "-" * len(out[1]) and out[2] == out[0], "dashed header lines")
    check(re.fullmatch(r"Benchmark +Time +CPU +Iterations UserCounters\.\.\.", out[1]),
          "header %r" % out[1])
    check(out[1].index("Iterations") + len("Iterations") == len("bm_sum_array/1024_median") + 1
          + 13 + 1 + 15 + 1 + 12 and len(out[1].split("Benchmark")[1]) > 0, "column widths")
    rows = {}
    for line in out[3:]:
        rows.setdefault(line.split()[0], []).append(line)
    check(sorted(rows) == sorted([n for n in NAMES if n != "bm_skip_error"]
                                 + [n + "_" + a for n in NAMES if n != "bm_skip_error"
                                    for a in AGGREGATES] + ["bm_skip_error"]),
          "console rows %r" % sorted(rows))
    row = rows["bm_sum_array/64"][0]
    check(re.fullmatch(r"bm_sum_array/64 +[\d.]+ ns +[\d.]+ ns +\d+ "
                       r"bytes_per_second=[\d.]+[kMGT]?/s items_per_second=[\d.]+[kMGT]?/s", row),
          "row %r" % row)
    check(re.fullmatch(r"bm_counters +[\d.]+ ns +[\d.]+ ns +\d+ ops_rate=[\d.]+[kMGT]?/s "
                       r"per_iter=1000 plain=42 lcg", rows["bm_counters"][0]),
          "counters row %r" % rows["bm_counters"][0])
    check(re.fullmatch(r"bm_counters_cv +[\d.]+ % +[\d.]+ % +2 ops_rate=[\d.]+% "
                       r"per_iter=0\.00% plain=0\.00% lcg", rows["bm_counters_cv"][0]),
          "cv row %r" % rows["bm_counters_cv"][0])
    check(re.fullmatch(r"bm_batch_pause +[\d.]+ us +[\d.]+ us +\d+",
                       rows["bm_batch_pause"][0]), "us row %r" % rows["bm_batch_pause"][0])
    check(all(re.fullmatch(r"bm_skip_error +ERROR OCCURRED: 'skipped on purpose'", l)
              for l in rows["bm_skip_error"]) and len(rows["bm_skip_error"]) == 2,
          "error rows %r" % rows["bm_skip_error"])
    check("\033[" not in p.stdout, "colour codes in uncoloured output")

    # console to a file: context goes into the file too
    out_path = os.path.join(tmp, "out.txt")
    run(exe, "--benchmark_min_time=1x", "--benchmark_out=" + out_path,
        "--benchmark_out_format=console")
    text = open(out_path).read()
    check(text.splitlines()[1] == "Running " + exe and "bm_runtime/7" in text,
          "console file %r" % text[:200])

    # CSV on stdout, context on stderr
    p = run(exe, "--benchmark_min_time=1x", "--benchmark_format=csv")
    lines = p.stdout.splitlines()
    check(lines[0] == "name,iterations,real_time,cpu_time,time_unit,bytes_per_second,"
          "items_per_second,label,error_occurred,error_message" or
          lines[0].startswith("name,iterations,real_time,cpu_time,time_unit,bytes_per_second,"
                              "items_per_second,label,error_occurred,error_message,"),
          "csv header %r" % lines[0])
    check(lines[1].startswith('"bm_sum_array/64",1,') and len(lines) == 1 + len(NAMES),
          "csv rows %r" % lines)
    check(lines[5] == '"bm_skip_error",,,,,,,true,"skipped on purpose"' + "," * 0 or
          lines[5].startswith('"bm_skip_error",,,,,,,true,"skipped on purpose"'),
          "csv error row %r" % lines[5])
    check(p.stderr.splitlines()[1] == "Running " + exe, "csv context")


def find_compare():
    """Google Benchmark's compare.py (Debian: libbenchmark-tools) and a
    Python that can import its scipy and numpy."""
    for path in ("/usr/share/benchmark/compare.py",):
        if os.path.isfile(path):
            for py in ("/usr/bin/python3", sys.executable):
                if py and os.path.exists(py) and subprocess.run(
                        [py, "-c", "import scipy.stats, numpy"],
                        capture_output=True).returncode == 0:
                    return py, path
    return None, None


def case_compare(exe, tmp):
    py, compare = find_compare()
    if compare is None:
        raise Fail("Google Benchmark's compare.py or scipy is missing: install "
                   "libbenchmark-tools and python3-scipy (scripts/deps.sh does)")
    # A failed run reports zero times (as in Google Benchmark), which makes
    # compare.py's overall geometric mean zero and drop out: compare the
    # benchmarks that run, then check a file with the failure still loads.
    names = [n for n in NAMES if n != "bm_skip_error"]
    a, b = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
    for path in (a, b):
        run(exe, *FAST, "--benchmark_repetitions=3", "--benchmark_filter=-skip_error",
            "--benchmark_out=" + path)
        check_document(load(path), 3, names=names)
    diff = os.path.join(tmp, "diff.json")
    p = subprocess.run([py, compare, "--no-color", "-d", diff, "benchmarks", a, b],
                       capture_output=True, text=True, timeout=100)
    check(p.returncode == 0, "compare.py failed (%d):\n%s\n%s" % (p.returncode, p.stdout,
                                                                  p.stderr))
    print(p.stdout)
    check("Comparing %s to %s" % (a, b) in p.stdout, "compare.py header")
    report = load(diff)
    got = [(r["name"], r["run_type"], r["aggregate_name"]) for r in report]
    want = []
    for n in names:
        want.append((n, "iteration", ""))
        want += [(n + "_" + agg, "aggregate", agg) for agg in AGGREGATES]
    want.append(("OVERALL_GEOMEAN", "aggregate", "geomean"))
    check(got == want, "compare.py report names:\n%r\nexpected\n%r" % (got, want))
    for r in report:
        if r["name"] == "OVERALL_GEOMEAN":
            continue
        reps = 3 if r["run_type"] == "iteration" else 1
        check(len(r["measurements"]) == reps, "%s: %d measurements" % (r["name"],
                                                                       len(r["measurements"])))
        if r["run_type"] == "iteration":
            check(r["utest"] and 0 <= r["utest"]["time_pvalue"] <= 1,
                  "%s: no U test" % r["name"])
    c = os.path.join(tmp, "c.json")
    run(exe, "--benchmark_min_time=1x", "--benchmark_repetitions=2", "--benchmark_out=" + c)
    check_document(load(c), 2)
    p = subprocess.run([py, compare, "--no-color", "benchmarks", c, c], capture_output=True,
                       text=True, timeout=100)
    check(p.returncode == 0 and "bm_skip_error" in p.stdout,
          "compare.py with a failed benchmark: %s %s" % (p.stdout, p.stderr))
    # compare.py can also run the executables itself (it adds --benchmark_out)
    p = subprocess.run([py, compare, "--no-color", "benchmarks", exe, exe,
                        "--benchmark_min_time=10x", "--benchmark_filter=bm_runtime"],
                       capture_output=True, text=True, timeout=100)
    check(p.returncode == 0 and re.search(r"^bm_runtime/7 ", p.stdout, re.M),
          "compare.py running the executable: %s %s" % (p.stdout, p.stderr))
    # and the filters mode, which re-labels the names it compares
    p = subprocess.run([py, compare, "--no-color", "filters", a, "bm_sum_array/64",
                        "bm_sum_array/1024"], capture_output=True, text=True, timeout=100)
    check(p.returncode == 0 and "[bm_sum_array/64 vs. bm_sum_array/1024]" in p.stdout,
          "compare.py filters: %s %s" % (p.stdout, p.stderr))


CASES = {
    "json": case_json,
    "list": case_list,
    "filter": case_filter,
    "badflag": case_badflag,
    "console": case_console,
    "compare": case_compare,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        print("usage: %s {%s} BENCH_SELFTEST" % (sys.argv[0], "|".join(CASES)))
        return 2
    exe = sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="hf-bench-test-")
    try:
        CASES[sys.argv[1]](exe, tmp)
    except Fail as e:
        print("FAIL %s: %s" % (sys.argv[1], e))
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS %s" % sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
