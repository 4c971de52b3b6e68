#!/usr/bin/env python3
"""bench/gensyn.py OUT.pcap [N]: an unanswered SYN scan, N probes (200,000).

One SYN per flow from 10.1.x.y to 10.0.0.2, 5 us apart: every flow stays
open until the end of the capture, the worst case for the memory the
writer's queue may hold (the per-connection-cost issue's SYN-scan target).
"""

import struct
import sys


def main():
    out = open(sys.argv[1], "wb")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    eth = b"\x00\x01\x02\x03\x04\x05" + b"\x00\x01\x02\x03\x04\x06" + b"\x08\x00"
    t = 1700000000
    for i in range(n):
        src = bytes([10, 1, (i >> 8) & 255, i & 255])
        tcp = struct.pack("!HHIIBBHHH", 40000 + i % 20000, i % 1000 + 1, i, 0, 5 << 4, 0x02,
                          1024, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, src,
                         bytes([10, 0, 0, 2]))
        frame = eth + ip + tcp
        us = i * 5
        out.write(struct.pack("<IIII", t + us // 1000000, us % 1000000, len(frame), len(frame)))
        out.write(frame)
    out.close()


if __name__ == "__main__":
    main()
