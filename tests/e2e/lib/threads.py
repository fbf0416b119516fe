"""One thread of a process stopped while the others run: ptrace's
PTRACE_SEIZE + PTRACE_INTERRUPT on its thread id (a SIGSTOP, even sent
with tgkill, stops every thread of the process). For the watchdog tests:
a stalled worker or control thread, with no fault injection compiled
into holdfast."""

import ctypes
import os

from lib.checks import check

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000


def thread_of(pid, comm):
    """The thread id of process pid's thread named comm (DPDK names a worker
    lcore's thread rte-worker-N)."""
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            names.append(f.read().strip())
            if names[-1] == comm:
                return int(tid)
    raise AssertionError(f"no thread named {comm} in process {pid}: {names}")


class Stopped:
    """with Stopped(pid, tid): thread tid of process pid is stopped."""

    def __init__(self, pid, tid):
        self.pid, self.tid = pid, tid

    def __enter__(self):
        if libc.ptrace(PTRACE_SEIZE, self.tid, None, None) != 0:
            raise OSError(ctypes.get_errno(), f"PTRACE_SEIZE {self.tid}")
        if libc.ptrace(PTRACE_INTERRUPT, self.tid, None, None) != 0:
            raise OSError(ctypes.get_errno(), f"PTRACE_INTERRUPT {self.tid}")
        os.waitpid(self.tid, WALL)  # it is stopped now
        with open(f"/proc/{self.pid}/task/{self.tid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        check(state in ("t", "T"), f"thread {self.tid} is in state {state}, not stopped")
        return self

    def __exit__(self, *exc):
        libc.ptrace(PTRACE_DETACH, self.tid, None, None)  # fails harmlessly once it is gone
        return False
