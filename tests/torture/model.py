"""The torture test's model: which `logs.body` values PostgreSQL must hold, and how often.

Standard library only, no I/O, no clocks: everything here is a pure function of the bytes the
driver wrote and of the events it reported (file created, rotated, truncated, deleted, agent
started for the first time, source added or removed). The driver (torture.py) feeds it; the
unit tests (test_model.py) check the pieces.

What a line becomes (README "File source behaviour", "What happens when…", "PostgreSQL
schema"):

* Lines are split at `\\n`; the body is the line without its `\\n`. A `\\r` before it stays
  (CRLF keeps the CR). An empty line is a record with an empty body.
* A line longer than `max_line_bytes` (M) is split into parts of exactly M bytes, the last part
  holding the remainder (1..M bytes); a line of exactly M bytes is one record. Parts are never
  grouped into multi-line events. An unterminated line longer than M has its full M-byte parts
  shipped already; its remainder waits for the newline.
* Multiline (`start_pattern`): a line that matches starts an event; other lines join the
  pending event with `\\n`; an event is cut before a line when it already has `max_lines`
  lines or when adding `\\n` + line would exceed `max_bytes`; an over-long line's first part
  closes the pending event; the last event is flushed after `timeout` (so at the end of the
  data the pending event counts). The driver writes so that grouping never depends on timing:
  every write to a multiline file begins with a start line (or completes an unterminated start
  line), and the line after an over-long line is a start line.
* Body text in PostgreSQL: valid UTF-8 is kept; every byte that is not part of a valid UTF-8
  sequence (RFC 3629: no overlongs, surrogates or code points above U+10FFFF), and every NUL,
  becomes the four characters `\\xNN` (lower-case hex). See escape_body().

Which lines must arrive (the product's target semantics, see README.md next to this file):

* `start_at: end`: on the agent's very first start (empty data_dir) the bytes files already hold
  are history and are not shipped (Model.agent_first_start()). Every byte written after that
  ships exactly once, whatever happens later (files created or rotated while the agent was
  down, files empty at the first start, sources added by reload: read from their start).
* A file rotated away (renamed so the glob no longer matches) or deleted keeps shipping what was
  written to it; its unterminated last line is shipped as its own record once the agent
  releases the file (Segment.final).
* copytruncate: the driver waits until everything written so far is in PostgreSQL before it
  truncates, so nothing is inherently lost; after the truncation the file is a new segment
  read from 0 (Generation.truncate()).
* A second source removed by reload: bytes written to its files after the removal ship only
  if the source is added again (Segment.visible_upto).
* Allowed losses (Segment.may_lose): only what the driver marks, i.e. the cases README and
  the brief document as inherently lossy (a file deleted while the agent is down). Their
  records are `optional`: 0 or 1 arrival of each is fine, never 2.
"""

import bisect
import collections
import re

# --------------------------------------------------------------------------------------------
# Body escaping (common/utf8.cc AppendEscapedUtf8, described in README "PostgreSQL schema":
# "invalid UTF-8 bytes and NUL stored as \xNN text").


def _utf8_sequence_length(b: bytes, i: int) -> int:
    """Length of the valid UTF-8 sequence starting at b[i], 0 if none (RFC 3629)."""
    c = b[i]
    left = len(b) - i
    if c < 0x80:
        return 1
    if 0xC2 <= c <= 0xDF:
        return 2 if left >= 2 and (b[i + 1] & 0xC0) == 0x80 else 0
    if 0xE0 <= c <= 0xEF:
        if left < 3 or (b[i + 1] & 0xC0) != 0x80 or (b[i + 2] & 0xC0) != 0x80:
            return 0
        if c == 0xE0 and b[i + 1] < 0xA0:
            return 0  # overlong
        if c == 0xED and b[i + 1] > 0x9F:
            return 0  # surrogate
        return 3
    if 0xF0 <= c <= 0xF4:
        if left < 4 or any((b[i + k] & 0xC0) != 0x80 for k in (1, 2, 3)):
            return 0
        if c == 0xF0 and b[i + 1] < 0x90:
            return 0  # overlong
        if c == 0xF4 and b[i + 1] > 0x8F:
            return 0  # above U+10FFFF
        return 4
    return 0


def escape_body_reference(b: bytes) -> str:
    """Byte-by-byte statement of the escaping rule (slow; the oracle for escape_body)."""
    out = []
    i = 0
    while i < len(b):
        n = _utf8_sequence_length(b, i)
        if n == 0:
            out.append("\\x%02x" % b[i])
            i += 1
        elif n == 1 and b[i] == 0:
            out.append("\\x00")
            i += 1
        else:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
    return "".join(out)


_SURROGATE_ESCAPES = {0xDC00 + v: "\\x%02x" % v for v in range(0x80, 0x100)}
_SURROGATE_ESCAPES[0] = "\\x00"


def escape_body(b: bytes) -> str:
    """The text PostgreSQL stores for body bytes `b`: valid UTF-8 kept, every invalid byte and
    every NUL as `\\xNN` (lower-case hex). Python's strict UTF-8 decoder rejects exactly what
    RFC 3629 rejects, and its surrogateescape handler maps each rejected byte on its own."""
    b = bytes(b)
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        s = b.decode("utf-8", "surrogateescape")
        return s.translate(_SURROGATE_ESCAPES)
    return s.replace("\x00", "\\x00") if "\x00" in s else s


# --------------------------------------------------------------------------------------------
# Line shapes


def split_long_line(line: bytes, max_line_bytes: int) -> list:
    """Records an over-long line becomes: parts of exactly max_line_bytes, then the remainder
    (1..max_line_bytes bytes). A line of at most max_line_bytes is one record."""
    if len(line) <= max_line_bytes:
        return [line]
    parts = []
    i = 0
    while len(line) - i > max_line_bytes:
        parts.append(line[i:i + max_line_bytes])
        i += max_line_bytes
    parts.append(line[i:])
    return parts


class MultilineConfig:
    def __init__(self, start_pattern: str, max_lines: int = 500, max_bytes: int = 1 << 20,
                 timeout_ms: int = 1000):
        self.start_pattern = start_pattern
        self.regex = re.compile(start_pattern.encode())
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.timeout_ms = timeout_ms

    def starts(self, line: bytes) -> bool:
        return self.regex.search(line) is not None


class SourceConfig:
    def __init__(self, name: str, max_line_bytes: int = 1 << 20, multiline: MultilineConfig = None):
        self.name = name
        self.max_line_bytes = max_line_bytes
        self.multiline = multiline


class Grouper:
    """Multi-line grouping exactly as README describes it (see the module docstring)."""

    def __init__(self, cfg: MultilineConfig):
        self.cfg = cfg
        self.body = b""
        self.offset = 0
        self.lines = 0

    def add(self, line: bytes, offset: int) -> list:
        out = []
        if self.lines > 0 and (self.cfg.starts(line) or self.lines >= self.cfg.max_lines
                               or len(self.body) + 1 + len(line) > self.cfg.max_bytes):
            out = self.flush()
        if self.lines == 0:
            self.body = bytes(line)
            self.offset = offset
        else:
            self.body += b"\n" + line
        self.lines += 1
        return out

    def flush(self) -> list:
        if self.lines == 0:
            return []
        out = [(self.offset, self.body)]
        self.body, self.lines = b"", 0
        return out


def records_from_bytes(data: bytes, cfg: SourceConfig, final: bool, base: int = 0) -> list:
    """[(offset, body bytes)] the agent ships for `data`, read from its start.

    `final`: no more bytes will come (the file was rotated away or deleted and then released),
    so an unterminated last line is shipped as its own record. Otherwise only the full
    max_line_bytes parts of an unterminated last line are shipped (the rest waits for its newline).
    `base` is added to every offset (data may be a slice of a file)."""
    data = bytes(data)
    m = cfg.max_line_bytes
    grouper = Grouper(cfg.multiline) if cfg.multiline else None
    out = []
    pos = 0
    n = len(data)
    while pos < n:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        line = data[pos:nl]
        if len(line) > m:
            if grouper:
                out += grouper.flush()
            for k, part in enumerate(split_long_line(line, m)):
                out.append((base + pos + k * m, part))
        elif grouper:
            out += grouper.add(line, base + pos)
        else:
            out.append((base + pos, line))
        pos = nl + 1
    if grouper:
        out += grouper.flush()  # flushed after `timeout`, or by the next start line
    tail = data[pos:]
    if tail:
        parts = split_long_line(tail, m)
        if not final:
            parts = parts[:-1] if len(tail) > m else []
        for k, part in enumerate(parts):
            out.append((base + pos + k * m, part))
    return out


# --------------------------------------------------------------------------------------------
# Files


class Piece:
    """Provenance of bytes written: which step wrote them, in which shape."""
    __slots__ = ("offset", "step", "shape", "agent_up")

    def __init__(self, offset, step, shape, agent_up):
        self.offset, self.step, self.shape, self.agent_up = offset, step, shape, agent_up


class Segment:
    """The bytes of one file (inode) between two truncations."""

    def __init__(self, ship_from: int = 0):
        self.data = bytearray()
        self.ship_from = ship_from      # bytes before this are history (start_at: end)
        self.final = False              # no more writes; an unterminated last line ships
        self.visible_upto = None        # source removed: only data[:visible_upto] ships (for now)
        self.may_lose = False           # documented loss allowed: records are optional
        self.pieces = []                # Piece, by offset
        self.piece_offsets = []

    def add_piece(self, piece):
        self.pieces.append(piece)
        self.piece_offsets.append(piece.offset)

    def piece_at(self, offset):
        i = bisect.bisect_right(self.piece_offsets, offset) - 1
        return self.pieces[i] if i >= 0 else None


class Generation:
    """One file (one inode) the driver created; follows it through renames."""

    def __init__(self, gid: int, path: str, source: str, tags=()):
        self.gid = gid
        self.path = path                # current name
        self.first_path = path
        self.paths = [path]             # every name it had
        self.source = source            # name of the source whose glob matches it
        self.segments = [Segment()]
        self.tags = set(tags)           # for failure reports only
        self.deleted = False
        self.rotated = False

    @property
    def seg(self) -> Segment:
        return self.segments[-1]

    @property
    def size(self) -> int:
        return len(self.seg.data)

    def partial_tail(self) -> bytes:
        """The unterminated last line of the current segment (b"" if none)."""
        d = self.seg.data
        nl = d.rfind(b"\n")
        return bytes(d[nl + 1:])

    def append(self, data: bytes, step: int, shape: str, agent_up: bool):
        self.seg.add_piece(Piece(len(self.seg.data), step, shape, agent_up))
        self.seg.data += data

    def truncate(self, step: int):
        """copytruncate: the file is emptied in place; what follows is read from 0."""
        self.seg.final = False  # the agent dropped its unterminated tail; the driver avoids one
        self.segments.append(Segment(0))
        self.tags.add(f"copytruncated@{step}")


class Record:
    __slots__ = ("body", "gen", "segment", "offset", "piece", "optional")

    def __init__(self, body, gen, segment, offset, piece, optional):
        self.body, self.gen, self.segment, self.offset = body, gen, segment, offset
        self.piece, self.optional = piece, optional

    def describe(self) -> str:
        p = self.piece
        where = f"{self.gen.first_path}" + (f" (now {self.gen.path})" if self.gen.path != self.gen.first_path else "")
        seg = f" segment {self.segment}" if self.segment else ""
        what = f"step {p.step} shape {p.shape}{'' if p.agent_up else ' (agent down)'}" if p else "?"
        tags = f" [{', '.join(sorted(self.gen.tags))}]" if self.gen.tags else ""
        return f"{where}{seg} @{self.offset}: {what}{tags}"


class Model:
    """Every file the driver wrote, and from that the multiset of bodies PostgreSQL must hold."""

    def __init__(self, sources: dict):
        self.sources = dict(sources)         # name -> SourceConfig
        self.gens = []
        self.by_path = {}                    # current name -> Generation (matched or not)
        self.first_start_done = False
        self.active = {name: True for name in sources}

    # ---- events reported by the driver

    def create(self, path: str, source: str, tags=()) -> Generation:
        gen = Generation(len(self.gens), path, source, tags)
        if not self.active.get(source, False):
            gen.seg.visible_upto = 0
        self.gens.append(gen)
        self.by_path[path] = gen
        return gen

    def gen_at(self, path):
        return self.by_path.get(path)

    def rename(self, old: str, new: str):
        """os.rename(old, new): `new`, if it named a file, is unlinked."""
        gen = self.by_path.pop(old)
        if new in self.by_path:
            self.unlinked(self.by_path.pop(new))
        gen.path = new
        gen.paths.append(new)
        self.by_path[new] = gen
        return gen

    def rotated_away(self, gen: Generation, step: int, agent_up: bool):
        """Renamed to a name the glob does not match: it will get no more lines once released."""
        gen.rotated = True
        gen.seg.final = True
        gen.tags.add(f"rotated@{step}" + ("" if agent_up else "(agent down)"))

    def unlinked(self, gen: Generation, agent_up: bool = True, step=None):
        gen.deleted = True
        gen.seg.final = True
        if step is not None:
            gen.tags.add(f"deleted@{step}" + ("" if agent_up else "(agent down)"))
        if not agent_up:
            gen.seg.may_lose = True  # documented: deleting while the agent is down loses unread lines

    def delete(self, path: str, agent_up: bool, step: int):
        gen = self.by_path.pop(path)
        self.unlinked(gen, agent_up, step)
        return gen

    def agent_first_start(self):
        """The agent's very first start: what files hold now is history (start_at: end)."""
        if self.first_start_done:
            return
        self.first_start_done = True
        for gen in self.gens:
            if self.active.get(gen.source) and not gen.deleted and not gen.rotated:
                gen.seg.ship_from = len(gen.seg.data)
                gen.tags.add("present at first start" + (" (empty)" if not gen.seg.data else ""))

    def source_removed(self, name: str):
        self.active[name] = False
        for gen in self.gens:
            if gen.source == name:
                for seg in gen.segments:
                    if seg.visible_upto is None:
                        seg.visible_upto = len(seg.data)

    def source_added(self, name: str):
        """A source added by reload reads its files from their start: everything ships."""
        self.active[name] = True
        for gen in self.gens:
            if gen.source == name:
                for seg in gen.segments:
                    seg.visible_upto = None

    # ---- expectations

    def records(self, gen: Generation, history=False) -> list:
        cfg = self.sources[gen.source]
        out = []
        for si, seg in enumerate(gen.segments):
            if history:
                data, final, base = seg.data[:seg.ship_from], False, 0
            else:
                end = len(seg.data) if seg.visible_upto is None else seg.visible_upto
                data, final, base = seg.data[seg.ship_from:end], seg.final and seg.visible_upto is None, seg.ship_from
            for off, body in records_from_bytes(data, cfg, final, base):
                out.append(Record(escape_body(body), gen, si, off, seg.piece_at(off), seg.may_lose))
        return out

    def expected(self):
        """(required Counter, optional Counter, {body: [Record]})."""
        required, optional = collections.Counter(), collections.Counter()
        where = collections.defaultdict(list)
        for gen in self.gens:
            for r in self.records(gen):
                (optional if r.optional else required)[r.body] += 1
                where[r.body].append(r)
        return required, optional, where

    def history_bodies(self) -> dict:
        """{body: Record} of history lines (must NOT ship), for explaining extra rows."""
        out = {}
        for gen in self.gens:
            for r in self.records(gen, history=True):
                out.setdefault(r.body, r)
        return out


def compare(required: collections.Counter, optional: collections.Counter, actual: collections.Counter):
    """(missing, extra) Counters: missing = required - actual; extra = what exceeds
    required + optional (so a record arriving twice is extra, one allowed-loss record is not)."""
    missing = required - actual
    allowed = required + optional
    extra = actual - allowed
    return missing, extra
