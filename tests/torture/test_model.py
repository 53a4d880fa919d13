#!/usr/bin/python3
"""Unit tests of the torture model: python3 tests/torture/test_model.py"""

import collections
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import model  # noqa: E402
from model import (MultilineConfig, SourceConfig, compare, escape_body, escape_body_reference,  # noqa: E402
                   records_from_bytes, split_long_line)


def bodies(recs):
    return [b for _, b in recs]


class Escaping(unittest.TestCase):
    def test_readme_invalid_utf8_row(self):
        # README "What happens when…", invalid UTF-8 (tests/integration/catalogue/agent_files.py)
        raw = "ok é ".encode() + b"caf\xc3 \xff\xfe \xed\xa0\x80 end"
        self.assertEqual(escape_body(raw), "ok é caf\\xc3 \\xff\\xfe \\xed\\xa0\\x80 end")

    def test_readme_binary_garbage_row(self):
        raw = b"\x7fELF\x02\x01\x01\x00\x00\x00\x03\x00>\x00\xff\x80 end"
        s = escape_body(raw)
        self.assertIn("\\x00\\x00\\x00" + chr(3) + "\\x00>", s)
        self.assertTrue(s.endswith("\\xff\\x80 end"))
        self.assertTrue(s.startswith("\x7fELF\x02\x01\x01"))  # DEL and control bytes are valid UTF-8

    def test_rfc3629_edges(self):
        cases = {
            b"\xc0\xaf": "\\xc0\\xaf",                       # overlong 2-byte
            b"\xe0\x80\xaf": "\\xe0\\x80\\xaf",              # overlong 3-byte
            b"\xf0\x80\x80\xaf": "\\xf0\\x80\\x80\\xaf",     # overlong 4-byte
            b"\xf4\x90\x80\x80": "\\xf4\\x90\\x80\\x80",     # above U+10FFFF
            b"\xe2\x82x": "\\xe2\\x82x",                     # truncated sequence, then ASCII
            b"\xe2\x82\xac": "€",
            "😀".encode(): "😀",
            b"a\x00b": "a\\x00b",
            b"\\x41": "\\x41",                               # a literal backslash is not escaped
            b"": "",
            b"\r": "\r",
        }
        for raw, want in cases.items():
            self.assertEqual(escape_body(raw), want, raw)
            self.assertEqual(escape_body_reference(raw), want, raw)

    def test_fast_path_matches_reference(self):
        rng = random.Random(7)
        alphabet = [b"a", b"\x00", b"\x7f", b"\x80", b"\xbf", b"\xc2", b"\xc3\xa9", b"\xe0", b"\xed", b"\xed\x9f\xbf",
                    b"\xf0", b"\xf4", b"\xf5", b"\xff", b"\xe2\x82", b"\xf0\x9f\x98", "😀".encode()]
        for _ in range(5000):
            raw = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
            self.assertEqual(escape_body(raw), escape_body_reference(raw), raw)
        for _ in range(2000):
            raw = rng.randbytes(rng.randrange(0, 16))
            self.assertEqual(escape_body(raw), escape_body_reference(raw), raw)


class LongLines(unittest.TestCase):
    def test_split(self):
        self.assertEqual(split_long_line(b"abcdefghij", 4), [b"abcd", b"efgh", b"ij"])
        self.assertEqual(split_long_line(b"abcdefgh", 4), [b"abcd", b"efgh"])
        self.assertEqual(split_long_line(b"abcd", 4), [b"abcd"])
        self.assertEqual(split_long_line(b"abcde", 4), [b"abcd", b"e"])
        self.assertEqual(split_long_line(b"", 4), [b""])

    def test_records_with_long_lines(self):
        cfg = SourceConfig("s", max_line_bytes=4)
        recs = records_from_bytes(b"ab\nabcdefghij\nabcd\n", cfg, final=False)
        self.assertEqual(recs, [(0, b"ab"), (3, b"abcd"), (7, b"efgh"), (11, b"ij"), (14, b"abcd")])

    def test_unterminated_long_line(self):
        cfg = SourceConfig("s", max_line_bytes=4)
        # not final: the full parts are shipped, the remainder waits for its newline
        self.assertEqual(bodies(records_from_bytes(b"x\nabcdefghij", cfg, final=False)), [b"x", b"abcd", b"efgh"])
        self.assertEqual(bodies(records_from_bytes(b"x\nabcdefgh", cfg, final=False)), [b"x", b"abcd"])
        self.assertEqual(bodies(records_from_bytes(b"x\nabc", cfg, final=False)), [b"x"])
        # final (rotated away or deleted, then released): the remainder is a record too
        self.assertEqual(bodies(records_from_bytes(b"x\nabcdefghij", cfg, final=True)), [b"x", b"abcd", b"efgh", b"ij"])
        self.assertEqual(bodies(records_from_bytes(b"x\nabc", cfg, final=True)), [b"x", b"abc"])

    def test_split_cuts_utf8_and_parts_are_escaped_alone(self):
        cfg = SourceConfig("s", max_line_bytes=4)
        recs = bodies(records_from_bytes("aaéé\n".encode(), cfg, final=False))  # 6 bytes: aa c3 a9 c3 a9
        self.assertEqual(recs, [b"aa\xc3\xa9", b"\xc3\xa9"])
        recs = bodies(records_from_bytes("aaaéé\n".encode(), cfg, final=False))  # cut inside the first é
        self.assertEqual([escape_body(r) for r in recs], ["aaa\\xc3", "\\xa9é"])

    def test_crlf_and_empty_lines(self):
        cfg = SourceConfig("s", max_line_bytes=256)
        self.assertEqual(bodies(records_from_bytes(b"a\r\n\nb\r\n", cfg, final=False)), [b"a\r", b"", b"b\r"])


class Multiline(unittest.TestCase):
    def cfg(self, **kw):
        return SourceConfig("s", max_line_bytes=kw.pop("max_line_bytes", 1 << 20),
                            multiline=MultilineConfig(r"^\d{4}-", **kw))

    def test_grouping(self):
        data = (b"head\n  cont-of-head\n"
                b"2024-01-01 a\n  at x\n  at y\n"
                b"2024-01-01 b\n"
                b"2024-01-01 c\r\n\tat z\r\n")
        self.assertEqual(bodies(records_from_bytes(data, self.cfg(), final=False)),
                         [b"head\n  cont-of-head", b"2024-01-01 a\n  at x\n  at y", b"2024-01-01 b",
                          b"2024-01-01 c\r\n\tat z\r"])

    def test_offsets_are_the_first_lines(self):
        recs = records_from_bytes(b"2024-1\n c\n2024-2\n", self.cfg(), final=False)
        self.assertEqual(recs, [(0, b"2024-1\n c"), (10, b"2024-2")])

    def test_max_lines_cut(self):
        data = b"2024-x\n" + b"".join(b" c%d\n" % i for i in range(5))
        self.assertEqual(bodies(records_from_bytes(data, self.cfg(max_lines=3), final=False)),
                         [b"2024-x\n c0\n c1", b" c2\n c3\n c4"])

    def test_max_bytes_cut(self):
        # the event would exceed max_bytes with the next line: cut before it
        data = b"2024-" + b"a" * 5 + b"\n" + b" " + b"b" * 8 + b"\n" + b" c\n"
        recs = bodies(records_from_bytes(data, self.cfg(max_bytes=20), final=False))
        self.assertEqual(recs, [b"2024-aaaaa\n bbbbbbbb", b" c"])  # 10 + 1 + 9 = 20 fits; + 3 does not
        recs = bodies(records_from_bytes(data, self.cfg(max_bytes=19), final=False))
        self.assertEqual(recs, [b"2024-aaaaa", b" bbbbbbbb\n c"])

    def test_long_line_is_never_grouped(self):
        cfg = self.cfg(max_line_bytes=8)
        data = b"2024-a\n x\n" + b"L" * 20 + b"\n y\n2024-b\n"
        self.assertEqual(bodies(records_from_bytes(data, cfg, final=False)),
                         [b"2024-a\n x", b"L" * 8, b"L" * 8, b"LLLL", b" y", b"2024-b"])

    def test_unterminated_start_line_waits(self):
        recs = bodies(records_from_bytes(b"2024-a\n x\n2024-b par", self.cfg(), final=False))
        self.assertEqual(recs, [b"2024-a\n x"])
        recs = bodies(records_from_bytes(b"2024-a\n x\n2024-b par", self.cfg(), final=True))
        self.assertEqual(recs, [b"2024-a\n x", b"2024-b par"])


class Files(unittest.TestCase):
    def test_history_rotation_removal(self):
        main = SourceConfig("main", max_line_bytes=1024)
        second = SourceConfig("second", max_line_bytes=1024)
        m = model.Model({"main": main, "second": second})
        m.source_removed("second")
        a = m.create("/l/a.log", "main")
        a.append(b"old 1\nold 2\n", 0, "history", False)
        empty = m.create("/l/e.log", "main")
        s = m.create("/l2/s.log", "second")
        s.append(b"s1\n", 0, "uniq", False)
        m.agent_first_start()
        a.append(b"new 1\npart", 1, "uniq", True)
        empty.append(b"e1\n", 1, "uniq", True)
        req, opt, _ = m.expected()
        self.assertEqual(req, collections.Counter({"new 1": 1, "e1": 1}))
        self.assertEqual(set(m.history_bodies()), {"old 1", "old 2"})
        # rename rotation: the unterminated line becomes a record once the file is released
        m.rename("/l/a.log", "/l/a.log.1")
        m.rotated_away(a, 2, True)
        req, opt, _ = m.expected()
        self.assertEqual(req["part"], 1)
        # a source added by reload reads its files from the start
        m.source_added("second")
        s.append(b"s2\n", 3, "uniq", True)
        req, _, _ = m.expected()
        self.assertEqual((req["s1"], req["s2"]), (1, 1))
        m.source_removed("second")
        s.append(b"s3\n", 4, "uniq", True)
        req, _, _ = m.expected()
        self.assertEqual(req["s3"], 0)
        m.source_added("second")
        req, _, _ = m.expected()
        self.assertEqual(req["s3"], 1)

    def test_copytruncate_same_header(self):
        m = model.Model({"main": SourceConfig("main")})
        m.agent_first_start()
        g = m.create("/l/w.log", "main")
        g.append(b"#Fields: a b\nx 1\n", 1, "header", True)
        g.truncate(2)
        g.append(b"#Fields: a b\nx 1\n", 3, "header", True)
        req, _, where = m.expected()
        self.assertEqual(req, collections.Counter({"#Fields: a b": 2, "x 1": 2}))
        self.assertEqual(sorted(r.segment for r in where["x 1"]), [0, 1])

    def test_delete_while_down_is_optional(self):
        m = model.Model({"main": SourceConfig("main")})
        m.agent_first_start()
        g = m.create("/l/d.log", "main")
        g.append(b"d1\nd2\n", 1, "uniq", False)
        m.delete("/l/d.log", agent_up=False, step=2)
        req, opt, _ = m.expected()
        self.assertEqual((sum(req.values()), sum(opt.values())), (0, 2))
        missing, extra = compare(req, opt, collections.Counter({"d1": 1}))
        self.assertEqual((missing, extra), (collections.Counter(), collections.Counter()))
        missing, extra = compare(req, opt, collections.Counter({"d1": 2}))
        self.assertEqual(extra, collections.Counter({"d1": 1}))

    def test_compare_counts_identical_lines(self):
        req = collections.Counter({"GET /health 200": 3, "a": 1})
        missing, extra = compare(req, collections.Counter(), collections.Counter({"GET /health 200": 2, "a": 2}))
        self.assertEqual(missing, collections.Counter({"GET /health 200": 1}))
        self.assertEqual(extra, collections.Counter({"a": 1}))


if __name__ == "__main__":
    unittest.main(verbosity=1)
