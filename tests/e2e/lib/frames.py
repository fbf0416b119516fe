"""Ethernet frames built by hand, for the cases that write them on a
raw socket or a TAP: the Internet checksum and an IPv4 UDP frame."""

import socket
import struct


def inet_sum(data):
    """The ones' complement sum of data's 16-bit words (0xFFFF over data
    that carries its right checksum)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def udp4_frame(dst_mac, src_mac, src, dst, payload, bad_ip_sum=False, sport=40000, dport=53):
    """Ethernet / IPv4 / UDP with both checksums right (bad_ip_sum: the
    IPv4 header's wrong)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    csum = 0xFFFF - inet_sum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    isum = 0xFFFF - inet_sum(ip)
    ip = ip[:10] + struct.pack("!H", isum ^ (0x0101 if bad_ip_sum else 0)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp
