#!/usr/bin/env python3
"""Writes a flood capture for the agent's memory bound: COUNT packets of one kind, each opening a new
flow, spread evenly over SECONDS from START (unix seconds), to a classic PCAP (Ethernet, ns).

  flood.py syn COUNT OUT.pcap     SYNs from distinct client ports/addresses to 10.96.0.10:80, never answered
  flood.py udp COUNT OUT.pcap     one UDP datagram per conversation to 10.96.0.20:9999
  flood.py dns COUNT OUT.pcap     DNS A queries to 10.96.0.53:53, never answered

Options: --seconds S (default 60), --start T (default 1795651200, 2026-11-26T00:00:00Z).
Merge it with legitimate traffic (`mergecap -w mixed.pcap flood.pcap legit.pcap`) to check that
what is legitimate is still indexed while the flood is bounded.
"""

import argparse
import struct
import sys

ETH = bytes.fromhex("020000000002" "020000000001" "0800")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def pseudo(src: bytes, dst: bytes, proto: int, segment: bytes) -> int:
    return checksum(src + dst + struct.pack("!BBH", 0, proto, len(segment)) + segment)


def tcp_syn(src, dst, sport, dport, seq):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    seg = seg[:16] + struct.pack("!H", pseudo(src, dst, 6, seg)) + seg[18:]
    return ipv4(src, dst, 6, seg)


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    seg = seg[:6] + struct.pack("!H", pseudo(src, dst, 17, seg) or 0xFFFF) + seg[8:]
    return ipv4(src, dst, 17, seg)


def dns_query(qid: int, name: str) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", 1, 1)


def client(i: int):
    """A distinct address per flow, as a spoofed flood has (10.128.0.0/10, up to 4 M of them), and a
    port from 1024..65023."""
    return bytes([10, 128 + ((i >> 16) & 63), (i >> 8) & 0xFF, i & 0xFF]), 1024 + (i * 7919) % 64000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["syn", "udp", "dns"])
    parser.add_argument("count", type=int)
    parser.add_argument("out")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--start", type=float, default=1795651200.0)
    args = parser.parse_args()
    step_ns = int(args.seconds * 1e9 / max(args.count, 1))
    start_ns = int(args.start * 1e9)
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        for i in range(args.count):
            src, sport = client(i)
            if args.kind == "syn":
                frame = tcp_syn(src, bytes([10, 96, 0, 10]), sport, 80, i * 2654435761 & 0xFFFFFFFF)
            elif args.kind == "udp":
                frame = udp(src, bytes([10, 96, 0, 20]), sport, 9999, b"x" * 16)
            else:
                frame = udp(src, bytes([10, 96, 0, 53]), sport, 53, dns_query(i & 0xFFFF, f"h{i}.flood.example"))
            frame = ETH + frame
            ts = start_ns + i * step_ns
            out.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(frame), len(frame)))
            out.write(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
