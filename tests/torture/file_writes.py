"""Writes to the seed's log files, each recorded in the model (part of Run)."""

import collections
import os
import random

from content import Writer


class FileWrites:
    """Creates and appends to log files and tells the model what was written (a mixin of Run)."""

    def source_of(self, rel):
        return "main" if rel.startswith("logs/") else "second"

    def writer(self, rel, seed):
        return Writer(random.Random(seed), self.cfg["sources"][self.source_of(rel)], self.seq)

    def gen_of(self, rel, create=True, tags=()):
        path = str(self.work / rel)
        gen = self.model.gen_at(path)
        if gen is None and create:
            t = set(tags)
            if not self.agent_up and self.n_agent > 0:
                t.add("created while agent down")
            gen = self.model.create(path, self.source_of(rel), t)
            gen.agent_starts_at_creation = self.n_agent  # an agent start since then may see it
        return gen

    def write_pieces(self, rel, pieces, path=None):
        """One write(2) of the pieces to the file (created if missing), recorded in the model."""
        path = path or str(self.work / rel)
        gen = self.model.gen_at(path)
        if gen is None:
            gen = self.gen_of(rel)
        data = b"".join(b for b, _ in pieces)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)
        for b, shape in pieces:
            gen.append(b, self.current_step, shape, self.agent_up)
        return len(data)

    def append_lines(self, rel, wr, n, allow_partial=True, path=None):
        path = path or str(self.work / rel)
        gen = self.model.gen_at(path) or self.gen_of(rel)
        pieces = wr.pieces(n, gen.partial_tail(), allow_partial=allow_partial)
        self.write_pieces(rel, pieces, path=path)
        return collections.Counter(s for _, s in pieces)

    def new_file(self, rel, wr, header, lines, tags=()):
        pieces = []
        if header:
            pieces.append(wr.header(rel))
        self.gen_of(rel, tags=tags)
        if pieces or lines:
            pieces += wr.pieces(lines, allow_partial=True) if lines else []
        if pieces:
            self.write_pieces(rel, pieces)
        else:
            open(self.work / rel, "ab").close()
        return collections.Counter(s for _, s in pieces)

    def complete_partial(self, rel, wr):
        gen = self.model.gen_at(str(self.work / rel))
        tail = gen.partial_tail() if gen else b""
        if tail:
            self.write_pieces(rel, [wr.completion(tail)])
            return True
        return False
