"""The library every end-to-end suite shares (tests/e2e/*.py, tests/drill/drill.py).

    checks   Fail, check and the assertions on answers the suites share
    dnsmsg   DNS messages through dnspython: queries built, answers parsed
    client   sockets in the lab's client namespace: one exchange, a spread burst
    lab      process and lab bookkeeping: log dir, lab tags, leftovers of killed runs
    rig      the lab (lab.sh) and one holdfast on it: config, start, stop, crashes
    ctl      holdfastctl, the raw control socket and the Prometheus export
    runner   the case runner: selection, reporting, crash and failure accounting

A suite is its cases and a plan; `runner.main` does the rest. Import as
`from lib import ...` with tests/e2e on sys.path (a suite there has it as its
script directory).
"""
