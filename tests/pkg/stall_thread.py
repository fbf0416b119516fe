"""Stop one thread of a process for a while, the others running (ptrace;
tests/e2e/lib/threads.py). Usage: stall_thread.py PID THREAD_NAME SECONDS"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib.threads import Stopped, thread_of  # noqa: E402

pid, name, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
with Stopped(pid, thread_of(pid, name)):
    time.sleep(seconds)
