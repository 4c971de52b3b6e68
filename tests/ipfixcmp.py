#!/usr/bin/env python3
"""ipfixcmp.py: every flow of a spool's index.jsonl against what a collector
received of it over IPFIX.

  ipfixcmp.py nfdump SPOOL NFDUMP_OUT [--lost N]
  ipfixcmp.py ipfixdump SPOOL DUMP_OUT... --pen PEN [--lost N]

NFDUMP_OUT is `nfdump -q -o 'fmt:%ts|%te|%sa|%da|%sp|%dp|%pkt|%byt|%pr|%flg'`
run with TZ=UTC; DUMP_OUT is `ipfixDump --rfc5610 -d` output. For each index
line the collector must hold a record with the same addresses, ports,
packets, start and end (to the millisecond: what nfdump keeps), as octets
the sum of the IP total lengths of the flow's packets and as TCP flags
(tcpControlBits) the union of their flags, both read here from the flow's
own pcap file (the index counts frame bytes, and has no flags). With --pen the
enterprise elements (label, fpout, reason, partial) must match too. With
--lost N, up to N index lines may be missing (the exporter counted them as
lost). Prints one summary line; exits 1 on any mismatch.
"""
import ipaddress
import json
import os
import re
import struct
import sys
from datetime import datetime, timezone


def tcp_flags(frame, p):
    """The TCP flags byte of the IP packet at frame[p:], 0 for none (a later fragment)."""
    if frame[p] >> 4 == 4:
        if struct.unpack(">H", frame[p + 6:p + 8])[0] & 0x1FFF or frame[p + 9] != 6:
            return 0
        t = p + (frame[p] & 0xF) * 4
    else:
        nh, t = frame[p + 6], p + 40
        while nh != 6:
            if nh in (0, 43, 60):  # hop-by-hop, routing, destination options
                nh, t = frame[t], t + (frame[t + 1] + 1) * 8
            elif nh == 44:  # fragment: only the first holds the TCP header
                if struct.unpack(">H", frame[t + 2:t + 4])[0] >> 3:
                    return 0
                nh, t = frame[t], t + 8
            elif nh == 51:  # authentication header
                nh, t = frame[t], t + (frame[t + 1] + 2) * 4
            else:
                return 0
    if t + 13 >= len(frame):
        raise ValueError("TCP flags beyond a frame's captured bytes: %r" % frame.hex())
    return frame[t + 13]


def flag_text(flags):
    """nfdump's %flg: CWR ECE URG ACK PSH RST SYN FIN, a dot for each one unset."""
    return "".join(c if flags & (0x80 >> i) else "." for i, c in enumerate("CEUAPRSF"))


def read_flow_file(path):
    """(IP octets, union of TCP flags) of a pcap file (Ethernet, VLAN tags, raw IP)."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off, total, flags = 24, 0, 0
    while off + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        p = 0
        if linktype == 1:
            etype = struct.unpack(">H", frame[12:14])[0]
            p = 14
            while etype in (0x8100, 0x88A8, 0x9100):
                etype = struct.unpack(">H", frame[p + 2:p + 4])[0]
                p += 4
            if etype == 0x8864:  # PPPoE session: its header, then PPP's protocol
                p += 8
            elif etype == 0x8847:  # MPLS: labels down to the bottom of the stack
                while not frame[p + 2] & 1:
                    p += 4
                p += 4
        elif linktype == 113:
            p = 16
        elif linktype not in (12, 14, 101):
            raise ValueError("%s: linktype %d not read here" % (path, linktype))
        flags |= tcp_flags(frame, p)
        v = frame[p] >> 4
        if v == 4:
            total += struct.unpack(">H", frame[p + 2:p + 4])[0]
        else:
            total += 40 + struct.unpack(">H", frame[p + 4:p + 6])[0]
    return total, flags


def ms_text(ns):
    t = datetime.fromtimestamp(ns // 10**9, tz=timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % (ns % 10**9 // 10**6)


def key(src, sport, dst, dport, first_ms):
    return (str(ipaddress.ip_address(src.strip())), int(sport),
            str(ipaddress.ip_address(dst.strip())), int(dport), first_ms)


def read_nfdump(path):
    recs = {}
    for line in open(path):
        f = [x.strip() for x in line.split("|")]
        if len(f) < 10 or not re.match(r"\d{4}-", f[0]):
            continue
        k = key(f[2], f[4], f[3], f[5], f[0])
        recs.setdefault(k, []).append({"end": f[1], "packets": int(f[6]),
                                       "octets": int(f[7]), "proto": f[8], "flags": f[9]})
    return recs


FIELD = re.compile(r"^\s*\((\d+(?:/\d+)?)\)\s+(\S+)\s*:\s?(.*)$")


def read_ipfixdump(paths):
    recs, cur = {}, None

    def done():
        if cur and "sourceTransportPort" in cur:
            src = cur.get("sourceIPv4Address") or cur.get("sourceIPv6Address")
            dst = cur.get("destinationIPv4Address") or cur.get("destinationIPv6Address")
            k = key(src, cur["sourceTransportPort"], dst, cur["destinationTransportPort"],
                    cur["flowStartMilliseconds"])
            recs.setdefault(k, []).append(cur)

    for path in paths:
        for line in open(path, errors="replace"):
            if line.startswith("--- "):
                done()
                cur = {} if line.startswith("--- data record") else None
                continue
            m = FIELD.match(line.rstrip("\n"))
            if cur is not None and m:
                v = m.group(3)
                s = re.match(r"\(len: \d+\) ?(.*)$", v)
                cur[m.group(2)] = s.group(1) if s else v.strip()
        done()
        cur = None
    return recs


def main():
    mode, spool = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    lost_ok, pen = 0, None
    if "--lost" in args:
        i = args.index("--lost")
        lost_ok = int(args[i + 1])
        del args[i:i + 2]
    if "--pen" in args:
        i = args.index("--pen")
        pen = args[i + 1]
        del args[i:i + 2]
    recs = read_nfdump(args[0]) if mode == "nfdump" else read_ipfixdump(args)
    lines = [json.loads(l) for l in open(os.path.join(spool, "index.jsonl"))]
    bad, missing, n = [], [], 0
    for e in lines:
        first, last = ms_text(e["first_ns"]), ms_text(e["last_ns"])
        k = key(e["src"], e["srcport"], e["dst"], e["dstport"], first)
        got = recs.get(k)
        if not got:
            missing.append(e["label"])
            continue
        octets, flags = read_flow_file(os.path.join(spool, e["fpout"]))
        want = {"end": last, "packets": e["packets"], "octets": octets}
        if mode == "nfdump":
            want.update({"proto": "TCP", "flags": flag_text(flags)})
        else:
            want = {"flowEndMilliseconds": last, "packetDeltaCount": str(e["packets"]),
                    "octetDeltaCount": str(octets), "protocolIdentifier": "6",
                    "tcpControlBits": str(flags)}
            if e.get("interface"):
                want["interfaceName"] = e["interface"]
            if pen:
                want.update({"traceflowLabel": e["label"], "traceflowFpout": e["fpout"],
                             "traceflowReason": e["reason"],
                             "traceflowPartial": "1" if e["partial"] else "0"})
        ok = [g for g in got if all(str(g.get(a)) == str(b) for a, b in want.items())]
        if not ok:
            bad.append("%s: want %s, got %s" % (e["label"], want, got))
            continue
        n += 1
    for b in bad[:5]:
        print("MISMATCH " + b)
    for m in missing[:5]:
        print("MISSING " + m)
    print("ipfixcmp: %d index lines, %d matched, %d missing (%d may be: counted lost), "
          "%d differ" % (len(lines), n, len(missing), lost_ok, len(bad)))
    if bad or len(missing) > lost_ok or not lines:
        sys.exit(1)


main()
