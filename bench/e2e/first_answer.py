#!/usr/bin/python3
"""Wait for the first DNS answer from a server that is starting.

    first_answer.py ADDR [NAME [TIMEOUT_S]]

Sends NAME/A (default www.test) over UDP to ADDR port 53 every 5 ms from one
connected socket and exits 0 at the first NOERROR response with at least one
answer record and our ID; ICMP port unreachable (nothing listening yet) and
timeouts just mean "try again". Exits 1 after TIMEOUT_S (default 30).
bench/e2e/side_by_side.sh times it with hyperfine right after starting a
server: start-up to first answer. Standard library only.
"""
import os
import select
import socket
import struct
import sys
import time


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD=1
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)  # A, IN


def main():
    addr = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "www.test"
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    deadline = time.monotonic() + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, 53))
    qid = struct.unpack("!H", os.urandom(2))[0]
    pkt = query(qid, name)
    while time.monotonic() < deadline:
        try:
            s.send(pkt)
        except OSError:  # ECONNREFUSED from an earlier ICMP unreachable
            time.sleep(0.005)
            continue
        end = time.monotonic() + 0.005
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            try:
                r = s.recv(4096)
            except OSError:
                time.sleep(max(0.0, end - time.monotonic()))
                break
            if len(r) < 12:
                continue
            rid, flags, _, ancount = struct.unpack("!HHHH", r[:8])
            if rid == qid and flags & 0x8000 and flags & 0xF == 0 and ancount > 0:
                return 0
    print(f"first_answer: no answer from {addr} within {timeout:g} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
