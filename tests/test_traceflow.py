"""test_traceflow.py: the Python module traceflow against the seed's
documented behaviours (pcapkit.foundation.traceflow.TraceFlow), one by one:
the label format {src}_{srcport}-{dst}_{dstport}-{timestamp}; trace's label
and dumper, dump and __call__; submit's records (fpout, index as a tuple,
label), a FIN ending its flow; make_fout's formats, FormatWarning,
FileWarning and FileExists; the constructor's byteorder and nanosecond;
traceflow's own rule with compat=False; from_file. Run by
tests/python-lib.sh (TRACEFLOW_LIB and PYTHONPATH point at the build)."""

import os
import struct
import sys
import tempfile
import unittest
import warnings

import traceflow
from traceflow import FileExists, FileWarning, FormatWarning, TraceFlow

BASE = 1700000000.25
SYN, FIN, ACK = 0x02, 0x01, 0x10


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, flags, payload=b""):
    """An Ethernet/IPv4/TCP frame."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + payload


def packet(index, src, dst, sport, dport, flags, ts, payload=b""):
    """The seed's trace.packet record, as a dict."""
    return dict(protocol=1, index=index, frame=frame(src, dst, sport, dport, flags, payload),
                syn=bool(flags & SYN), fin=bool(flags & FIN), src=src, dst=dst,
                srcport=sport, dstport=dport, timestamp=ts)


def connection(first=1, sport=40000, ts=BASE):
    """SYN, SYN-ACK, ACK, data, FIN, FIN back, last ACK: 7 records."""
    c, s = "10.0.0.1", "10.0.0.2"
    steps = [(c, s, sport, 80, SYN), (s, c, 80, sport, SYN | ACK), (c, s, sport, 80, ACK),
             (c, s, sport, 80, ACK), (c, s, sport, 80, FIN | ACK), (s, c, 80, sport, FIN | ACK),
             (c, s, sport, 80, ACK)]
    return [packet(first + i, a, b, p, q, f, ts + i * 0.001, b"x" * 10 if i == 3 else b"")
            for i, (a, b, p, q, f) in enumerate(steps)]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test_traceflow.")

    def out(self, name="out"):
        return os.path.join(self.tmp, name)


class Labels(Base):
    def test_label_format(self):
        tf = TraceFlow(self.out(), "pcap")
        labels = [tf.trace(p) for p in connection()]
        # {src}_{srcport}-{dst}_{dstport}-{timestamp}, the timestamp as Python prints it.
        self.assertEqual(labels[0], "10.0.0.1_40000-10.0.0.2_80-%s" % BASE)
        self.assertEqual(labels[1], "10.0.0.2_80-10.0.0.1_40000-%s" % (BASE + 0.001))
        self.assertEqual(labels[3], labels[0])
        tf.close()

    def test_fin_submits_flow(self):
        tf = TraceFlow(self.out(), "pcap")
        labels = [tf.trace(p) for p in connection()]
        # The FIN (frame 5) ended the client's flow: frame 7 starts a new one.
        self.assertEqual(labels[6], "10.0.0.1_40000-10.0.0.2_80-%s" % (BASE + 0.006))
        index = tf.submit()
        self.assertIsInstance(index, tuple)
        self.assertEqual(len(index), 3)
        by = {r.label: r for r in index}
        self.assertEqual(by[labels[0]].index, (1, 3, 4, 5))
        self.assertEqual(by[labels[1]].index, (2, 6))
        self.assertEqual(by[labels[6]].index, (7,))
        self.assertEqual(by[labels[0]].fpout, "%s/%s.pcap" % (self.out(), labels[0]))
        self.assertTrue(os.path.isfile(by[labels[0]].fpout))
        # Records answer by key as pcapkit's Info does.
        self.assertEqual(by[labels[0]]["label"], labels[0])
        self.assertEqual(set(by[labels[0]].keys()), {"fpout", "index", "label"})
        self.assertEqual(by[labels[0]].record["packets"], 4)
        # Cached until the next trace, and the index property is submit's.
        self.assertIs(tf.submit(), index)
        self.assertIs(tf.index, index)

    def test_trace_output_and_dump(self):
        tf = TraceFlow(self.out(), "json")
        pk = connection()
        fp = tf.trace(pk[0], output=True)
        self.assertEqual(fp, "%s/10.0.0.1_40000-10.0.0.2_80-%s.json" % (self.out(), BASE))
        self.assertIsNone(tf.dump(pk[1]))
        self.assertIsNone(tf(pk[2]))
        index = tf.submit()
        self.assertEqual({r.index for r in index}, {(1, 3), (2,)})
        for r in index:
            self.assertTrue(r.fpout.endswith(".json") and os.path.isfile(r.fpout))

    def test_frame_numbers_from_records(self):
        tf = TraceFlow(self.out(), "pcap")
        pk = connection()
        tf.trace(pk[0])
        pk[2]["index"] = 9  # frames 2..8 were not given
        tf.trace(pk[2])
        self.assertEqual(tf.submit()[0].index, (1, 9))
        tf2 = TraceFlow(self.out("o2"), "pcap")
        tf2.trace(pk[2])
        with self.assertRaises(ValueError):
            tf2.trace(pk[0])  # index 1 after 9

    def test_compat_false(self):
        tf = TraceFlow(self.out(), "pcap", compat=False)
        labels = {tf.trace(p) for p in connection()}
        # traceflow's rule: one flow both ways, the opener's label.
        self.assertEqual(labels, {"10.0.0.1_40000-10.0.0.2_80-1700000000.250000"})
        (rec,) = tf.submit()
        self.assertEqual(rec.index, (1, 2, 3, 4, 5, 6, 7))

    def test_nanosecond_byteorder(self):
        tf = TraceFlow(self.out(), "pcap", byteorder="big", nanosecond=True)
        label = tf.trace(packet(1, "10.0.0.1", "10.0.0.2", 1, 2, SYN, 1700000000.123456789))
        (rec,) = tf.submit()
        self.assertEqual(label, rec.label)
        with open(rec.fpout, "rb") as f:
            magic = f.read(4)
        self.assertEqual(magic, b"\xa1\xb2\x3c\x4d")  # big-endian, nanoseconds
        tf = TraceFlow(self.out("le"), "pcap", byteorder="little")
        tf.trace(packet(1, "10.0.0.1", "10.0.0.2", 1, 2, SYN, BASE))
        (rec,) = tf.submit()
        with open(rec.fpout, "rb") as f:
            self.assertEqual(f.read(4), b"\xd4\xc3\xb2\xa1")


class MakeFout(Base):
    def test_formats(self):
        want = {"pcap": ("pcap", ".pcap"), "cap": ("pcap", ".pcap"), "json": ("json", ".json"),
                "plist": ("plist", ".plist"), "xml": ("plist", ".plist"),
                "tree": ("tree", ".txt"), "txt": ("tree", ".txt")}
        for fmt, (name, ext) in want.items():
            got = TraceFlow.make_fout(self.out(fmt + "/sub"), fmt)
            self.assertEqual(got, (name, ext), fmt)
            self.assertTrue(os.path.isdir(self.out(fmt + "/sub")))

    def test_unknown_format(self):
        with self.assertWarns(FormatWarning):
            self.assertEqual(TraceFlow.make_fout(self.out(), "mp3"), (None, None))
        # A tracer without files: the index has no fpout.
        with self.assertWarns(FormatWarning):
            tf = TraceFlow(self.out("nofiles"), "mp3")
        tf.trace(connection()[0])
        (rec,) = tf.submit()
        self.assertIsNone(rec.fpout)
        self.assertEqual([n for n in os.listdir(self.out("nofiles")) if n.endswith(".pcap")], [])

    def test_file_exists(self):
        path = self.out("file")
        open(path, "w").close()
        with self.assertRaises(FileExists):
            TraceFlow.make_fout(path, "pcap")
        self.assertTrue(issubclass(FileExists, FileExistsError))
        with self.assertRaises(FileExists):
            TraceFlow(path, "pcap")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            TraceFlow.make_fout(path, "mp3")
        self.assertEqual({type(x.message) for x in w}, {FormatWarning, FileWarning})

    def test_defaults(self):
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            self.assertEqual(TraceFlow.make_fout(), ("pcap", ".pcap"))
            self.assertTrue(os.path.isdir("tmp"))
            tf = TraceFlow(None, None)
            tf.trace(connection()[0])
            (rec,) = tf.submit()
            self.assertTrue(rec.fpout.startswith("./tmp/") and rec.fpout.endswith(".pcap"))
        finally:
            os.chdir(cwd)


class Errors(Base):
    def test_bad_option(self):
        with self.assertRaises(ValueError):
            TraceFlow(self.out(), "pcap", flow_key="sideways")
        with self.assertRaises(ValueError):
            TraceFlow(self.out("x"), "pcap", spool_dir="/x")

    def test_bad_file(self):
        with self.assertRaises(traceflow.TraceFlowError):
            TraceFlow.from_file(self.out("missing.pcap"), self.out())


class FromFile(Base):
    def test_from_file(self):
        # The dict path's capture written by one tracer, read back by another.
        tf = TraceFlow(self.out("a"), "pcap", compat=False)
        for p in connection() + connection(8, 40001, BASE + 1):
            tf.dump(p)
        (rec, _) = sorted(tf.submit(), key=lambda r: r.label)
        back = TraceFlow.from_file(rec.fpout, self.out("b")).submit()
        self.assertEqual(sorted(r.index for r in back), [(1, 3, 4, 5), (2, 6), (7,)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
