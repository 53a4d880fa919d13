"""The bytes of one write: line pieces, a pure function of the write's seed and the file's state."""

import base64

# Constant first lines, the same in every generation of a file (W3C, CSV): file identity
# cannot rely on them.
HEADERS = [b"#Fields: date time s-ip cs-method cs-uri-stem sc-status time-taken",
           b"ts,level,user,msg",
           b"#Version: 1.0"]
SAME_LINES = [b"GET /health 200", b"GET /metrics 200 0.001"]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar "
         "papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
UTF8_WORDS = ["héllo", "wörld", "ünïcode", "✓", "😀", "日本語", "Ελληνικά"]


class Writer:
    """Makes line pieces [(bytes, shape)] for one write to a file of a source."""

    def __init__(self, rng, source_cfg, seq):
        self.rng = rng
        self.s = source_cfg           # gen_config()["sources"][name]
        self.seq = seq                # [next unique number], shared by the run
        self.m = source_cfg["max_line_bytes"]
        self.ml = source_cfg["multiline"]

    def next_seq(self):
        self.seq[0] += 1
        return self.seq[0]

    def start_prefix(self, constant=False):
        """How every first line of an event begins (matches start_pattern when multiline)."""
        r = self.rng
        style = self.ml["style"] if self.ml else r.choice(["date", "none", "none"])
        if constant:
            return {"date": b"2024-05-01 00:00:00.000 ", "bracket": b"[2024-05-01T00:00:00Z] ",
                    "level": b"INFO ", "none": b""}[style]
        if style == "date":
            return b"2024-05-%02d %02d:%02d:%02d.%03d " % (r.randint(1, 28), r.randint(0, 23), r.randint(0, 59),
                                                          r.randint(0, 59), r.randint(0, 999))
        if style == "bracket":
            return b"[2024-05-%02dT%02d:%02d:00Z] " % (r.randint(1, 28), r.randint(0, 23), r.randint(0, 59))
        if style == "level":
            return r.choice([b"INFO ", b"WARN ", b"ERROR "])
        return b""

    def words(self, lo=2, hi=8):
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(lo, hi))).encode()

    def uniq(self):
        return self.start_prefix() + b"u seq=%d %s" % (self.next_seq(), self.words())

    def continuation(self):
        r = self.rng
        return r.choice([
            lambda: b"    at com.example.Svc%d.call(Svc.java:%d)" % (r.randint(1, 9), r.randint(1, 999)),
            lambda: b"\tat org.example.Loop.run(Loop.java:%d)" % r.randint(1, 999),
            lambda: b"Caused by: java.lang.IllegalStateException: " + self.words(1, 4),
            lambda: b"    ... %d more" % r.randint(1, 40),
            lambda: b"",
            lambda: b"  {\"k\": \"" + self.words(1, 3) + b"\"}",
        ])()

    def long_line(self):
        m, r = self.m, self.rng
        n = r.choice([m - 1, m, m + 1, 2 * m, 2 * m + 1, r.randint(m + 1, 3 * m)])
        head = self.start_prefix() + b"long seq=%d len=%d " % (self.next_seq(), n)
        if r.random() < 0.4:  # multi-byte characters: parts cut them in two (each half escaped)
            body = head + "é".encode() * (n // 2 + 1)
            if r.random() < 0.5:
                body = head + b"x" + "é".encode() * (n // 2 + 1)
        else:
            body = head + (b"0123456789abcdefghijklmnopqrstuvwxyz" * (n // 36 + 2))
        return body[:max(n, len(head))]

    def item(self, shapes):
        """One item: (lines [bytes] without newline, shape, eol)."""
        r = self.rng
        shape = r.choices(list(shapes), weights=list(shapes.values()))[0]
        eol = b"\n"
        if shape == "uniq":
            lines = [self.uniq()]
        elif shape == "same":
            lines = [self.start_prefix(constant=True) + r.choice(SAME_LINES)]
        elif shape == "crlf":
            eol = b"\r\n"
            lines = [self.uniq()] + [self.continuation() for _ in range(r.randint(0, 2) if self.ml else 0)]
        elif shape == "event":
            lines = [self.start_prefix() + b"ERROR seq=%d request failed: %s" % (self.next_seq(), self.words(1, 4))]
            n = r.choice([r.randint(1, 6), r.randint(1, 6), r.randint(10, 40)])
            lines += [self.continuation() for _ in range(n)]
        elif shape == "utf8":
            lines = [self.start_prefix() + b"utf8 seq=%d " % self.next_seq() +
                     " ".join(r.choice(UTF8_WORDS) for _ in range(r.randint(1, 6))).encode()]
        elif shape == "binary":
            junk = r.choice([b"\x00", b"\x00\x00\x01", b"\xff\xfe", b"caf\xc3 ", b"\xed\xa0\x80", b"\xc0\xaf",
                             b"\x7fELF\x02\x01\x01\x00", b"\xf4\x90\x80\x80", b"\xe2\x82"])
            lines = [self.start_prefix() + b"bin seq=%d " % self.next_seq() + junk + b" " + r.randbytes(r.randint(0, 6)).replace(b"\n", b"") + b" end"]
        elif shape == "empty":
            lines = [b""]
        elif shape == "long":
            lines = [self.long_line()]
        else:
            raise AssertionError(shape)
        return lines, shape, eol

    def shapes(self):
        s = {"uniq": 40, "same": 12, "crlf": 6, "event": 8, "utf8": 4, "binary": 5}
        if not self.ml:
            s["empty"] = 2  # with multiline an empty line is a continuation line
        if self.s["max_line_bytes"]:
            s["long"] = 3
        return s

    def completion(self, tail):
        """Finishes an unterminated last line."""
        r = self.rng
        if tail.endswith(b"\r"):
            return b"\n", "completion"
        if tail.startswith(b"LONGPARTIAL") or len(tail) > 200:
            return b"Z" * r.randint(0, 300) + b" done\n", "long_completion"
        return b" completed\n" if r.random() < 0.7 else b" completed\r\n", "completion"

    def pieces(self, n_lines, tail=b"", allow_partial=True):
        """[(bytes, shape)] for one write of about n_lines lines."""
        out = []
        if tail:
            out.append(self.completion(tail))
        shapes = self.shapes()
        made = 0
        while made < n_lines:
            lines, shape, eol = self.item(shapes)
            out.append((b"".join(line + eol for line in lines), shape))
            made += len(lines)
        r = self.rng
        if allow_partial and r.random() < 0.2:
            if r.random() < 0.15 and self.s["max_line_bytes"]:
                # an unterminated line longer than max_line_bytes: its full parts ship at once
                n = r.randint(self.m + 1, 2 * self.m + 10)
                out.append((b"LONGPARTIAL seq=%d " % self.next_seq() + b"p" * n, "long_partial"))
            else:
                line = self.start_prefix() + b"partial seq=%d %s" % (self.next_seq(), self.words(1, 3))
                out.append((line + (b"\r" if r.random() < 0.2 else b""), "partial"))
        return out

    def header(self, rel):
        return HEADERS[sum(rel.encode()) % len(HEADERS)] + b"\n", "header"

    def fill_lines(self, total_bytes, tag=b"fill"):
        """Poorly compressible lines (base64 of random bytes), about total_bytes in all."""
        chunks, size = [], 0
        while size < total_bytes:
            line = self.start_prefix() + tag + b" seq=%d " % self.next_seq() + \
                base64.b64encode(self.rng.randbytes(self.rng.randint(90, 180)))
            if self.s["max_line_bytes"]:
                line = line[:self.s["max_line_bytes"]]
            chunks.append(line + b"\n")
            size += len(line) + 1
        return chunks
