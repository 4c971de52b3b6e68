#!/usr/bin/env python3
"""genopen.py: a capture of N TCP connections that are opened and never closed.

Each connection is SYN, SYN/ACK, ACK and one client data packet (PAYLOAD
bytes), Ethernet/IPv4, all connections one after another, 1 us apart, so at
the end of the capture all N are open at once. bench/scale replays it to hold
N concurrent flows in the daemon. IP header checksums are right; TCP
checksums are left at zero (nothing on the path checks them).

usage: genopen.py N OUT.pcap [PAYLOAD]
"""

import struct
import sys


def ip_csum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    n = int(sys.argv[1])
    out = sys.argv[2]
    payload = int(sys.argv[3]) if len(sys.argv) == 4 else 100
    if not 1 <= n <= 16 * 65536 * 64:
        sys.exit("genopen: N out of range")
    mac_c = bytes.fromhex("020000000001")
    mac_s = bytes.fromhex("020000000002")
    srv = bytes([10, 0, 0, 1])
    data = bytes((i * 7) & 0xFF for i in range(payload))
    ts = 1700000000 * 1000000
    pack = struct.pack
    with open(out, "wb", buffering=1 << 20) as f:
        f.write(pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        w = f.write

        def frame(src, dst, macs, sport, dport, seq, ack, flags, pl, ident):
            nonlocal ts
            tot = 40 + len(pl)
            iph = pack("!BBHHHBBH4s4s", 0x45, 0, tot, ident, 0x4000, 64, 6, 0, src, dst)
            iph = iph[:10] + pack("!H", ip_csum(iph)) + iph[12:]
            tcph = pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
            fr = macs + b"\x08\x00" + iph + tcph + pl
            w(pack("<IIII", ts // 1000000, ts % 1000000, len(fr), len(fr)))
            w(fr)
            ts += 1

        c2s = mac_s + mac_c
        s2c = mac_c + mac_s
        for i in range(n):
            # 64 source ports per client address; addresses 10.16.0.0 upward.
            host = i // 64
            cli = bytes([10, 16 + (host >> 16), (host >> 8) & 0xFF, host & 0xFF])
            sport = 1024 + (i % 64) * 997 % 60000
            ident = i & 0xFFFF
            isn_c, isn_s = (i * 2654435761) & 0xFFFFFFFF, (i * 40503 + 7) & 0xFFFFFFFF
            frame(cli, srv, c2s, sport, 80, isn_c, 0, 0x02, b"", ident)
            frame(srv, cli, s2c, 80, sport, isn_s, (isn_c + 1) & 0xFFFFFFFF, 0x12, b"", ident)
            frame(cli, srv, c2s, sport, 80, (isn_c + 1) & 0xFFFFFFFF,
                  (isn_s + 1) & 0xFFFFFFFF, 0x10, b"", ident)
            frame(cli, srv, c2s, sport, 80, (isn_c + 1) & 0xFFFFFFFF,
                  (isn_s + 1) & 0xFFFFFFFF, 0x18, data, ident)
    sys.stderr.write("genopen: %d connections, %d packets\n" % (n, 4 * n))


if __name__ == "__main__":
    main()
