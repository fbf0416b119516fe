"""Process and lab bookkeeping shared by the rigs: libc, the child set-up
that ties holdfast to us, where logs go, lab tags, and the leftovers of runs
killed with SIGKILL (which cannot clean up after themselves)."""

import ctypes
import glob
import os
import shutil
import signal
import subprocess

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def child_setup():
    """preexec_fn of holdfast: its own process group, and it dies with us,
    even when we die of SIGKILL."""
    os.setpgrp()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def log_dir():
    """HF_E2E_LOGDIR, else meson-logs/ under the current directory when it
    exists, else /tmp."""
    d = os.environ.get("HF_E2E_LOGDIR")
    if not d:
        d = "meson-logs" if os.path.isdir("meson-logs") else "/tmp"
    return os.path.abspath(d)


def lab_tag(letter, pid=None):
    """A lab tag of <= 6 chars of [a-z0-9]: a suite's letter and the pid."""
    return letter + format((os.getpid() if pid is None else pid) % 16 ** 5, "05x")


def runs(pid, script):
    """True while pid is a process whose command line names script."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return script.encode() in f.read()
    except OSError:
        return False


def remove_leftovers(lab_sh, name, script):
    """The labs (/tmp/hf-NAME-PID, whose tag file says their lab tag) and
    DPDK runtime dirs (hf_NAME_PID_*) of runs of script that are gone."""
    me = os.getpid()
    for d in glob.glob(f"/tmp/hf-{name}-*"):
        pid = d.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == me or runs(pid, script):
            continue
        try:
            with open(os.path.join(d, "tag")) as f:
                tag = f.read().strip()
        except OSError:
            tag = None
        if tag:
            print(f"# removing the lab left by {script} run {pid}", flush=True)
            subprocess.run([lab_sh, "down"], env=dict(os.environ, HF_LAB_TAG=tag, HF_LAB_DIR=d),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    for d in glob.glob(f"/var/run/dpdk/hf_{name}_*"):
        pid = os.path.basename(d).split("_")[2]
        if pid.isdigit() and int(pid) != me and not runs(pid, script):
            shutil.rmtree(d, ignore_errors=True)
