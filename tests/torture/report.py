"""The report of a seed: verdict, replay command, steps, and what was lost or duplicated
and why (part of Run)."""

import collections
import json
import os
import re
import sys


class Report:
    """Describes a finished run; the causes are heuristic guesses (a mixin of Run)."""

    def rel(self, text):
        return text.replace(f"{self.work}/", "")

    def describe_missing(self, body):
        recs = self.where.get(body, [])
        if not recs:
            return "?"
        more = f" (+{len(recs) - 1} more places)" if len(recs) > 1 else ""
        return recs[0].describe() + more

    def describe_extra(self, body):
        if body in self.where:
            recs = self.where[body]
            hint = (" (or: the agent started reading at the end of an unterminated line, which yields an "
                    "empty record)") if body == "" else ""
            return "duplicate of " + recs[0].describe() + (f" (+{len(recs) - 1} places)" if len(recs) > 1 else "") + hint
        if body in self.history:
            return "HISTORY line (written before the first start; start_at: end must skip it): " + \
                self.history[body].describe()
        if body == "":
            return ("an empty record that was never written as an empty line: the agent started reading "
                    "at the end of an unterminated line (a position in the middle of a line)")
        if len(body) < 2000:
            for known in list(self.where) + list(self.history):
                if known != body and (known.endswith(body) or known.startswith(body)):
                    where = self.where.get(known) or [self.history[known]]
                    return (f"a {'tail' if known.endswith(body) else 'head'} of the expected record "
                            f"{known[:80]!r} ({where[0].describe()}): cut at a wrong position")
            for known in list(self.where) + list(self.history):
                if known != body and body in known:
                    where = self.where.get(known) or [self.history[known]]
                    return (f"a piece of the expected record {known[:80]!r} ({where[0].describe()}): split at a "
                            f"wrong position (reading started in the middle of the line)")
        return "not in the model at all (a wrong split/join, or a driver bug)"

    def causes(self):
        """Missing rows grouped by where they were written (unique bodies only: exact)."""
        groups = collections.Counter()
        ambiguous = 0
        for body, n in self.missing.items():
            recs = self.where.get(body, [])
            if len(recs) != 1:
                ambiguous += n
                continue
            r = recs[0]
            p = r.piece
            key = (f"{'second' if r.gen.source == 'second' else 'main'} source; file tags: "
                   f"{', '.join(sorted(t for t in r.gen.tags)) or '-'}; segment {r.segment}; "
                   f"shape {p.shape if p else '?'}; written while agent {'up' if p and p.agent_up else 'DOWN'}"
                   f"; step {p.step if p else '?'} ({self.step_kind(p.step if p else None)})")
            groups[key] += n
        return groups, ambiguous

    def step_kind(self, step):
        if step is None:
            return "?"
        if step < 1:
            return "setup"
        if step > len(self.plan):
            return "final"
        return self.plan[step - 1]["kind"]

    def agent_log_events(self):
        """(path, what, byte) from the agent logs, in order: where the agent started reading."""
        pats = [(re.compile(r"tailing (\S+) from its end \(byte (\d+)\)"), "end"),
                (re.compile(r"resuming (\S+) at byte (\d+)"), "resume"),
                (re.compile(r"(\S+) was (?:truncated|rewritten in place)"), "truncated"),
                (re.compile(r"reading (\S+) from its start"), "start")]
        out = []
        for log in sorted(self.rundir.glob("agent-*.log"), key=lambda p: int(p.stem.split("-")[1])):
            for line in log.read_text(errors="replace").splitlines():
                for rx, what in pats:
                    m = rx.search(line)
                    if m:
                        out.append((m.group(1), what, int(m.group(2)) if what in ("end", "resume") else None))
        return out

    def triage(self, gen, seg, first, last):
        """A guess, from the agent logs and the file's history, at why a run of records was lost."""
        events = [e for e in self.agent_log_events_cache if e[0] in gen.paths]
        s = gen.segments[seg]
        if seg > 0:  # only what the agent did after the (last) truncation concerns this segment
            last_trunc = max((i for i, e in enumerate(events) if e[1] == "truncated"), default=-1)
            later = events[last_trunc + 1:]
        else:
            later = events
        ends = [b for p, w, b in later if w == "end" and b is not None and b > first.offset]
        if ends and s.ship_from <= first.offset:
            return (f"START_AT_END: the agent positioned the file at its end (agent log: 'tailing … from its end "
                    f"(byte {max(ends)})'): start_at: end applied after the very first start")
        if seg > 0:
            after_trunc, resumed = False, []
            for p, w, b in events:
                if w == "truncated":
                    after_trunc = True
                elif w == "resume" and after_trunc and b > first.offset:
                    resumed.append(b)
            if resumed:
                return (f"TRUNCATE_RESUME: after the truncation the agent resumed at byte {max(resumed)} (agent log: 'was truncated' "
                        f"then 'resuming … at byte {max(resumed)}'): the old checkpoint matched the same first line")
        if any("(agent down)" in t and t.startswith("rotated@") for t in gen.tags):
            return "ROTATED_DOWN: rotated while the agent was down: the renamed file was not read after the restart"
        tail_start = len(s.data) - (len(s.data) - s.data.rfind(b"\n") - 1)
        if (gen.rotated or gen.deleted) and s.final and not s.data.endswith(b"\n") and last.offset >= tail_start:
            return ("RELEASED_PARTIAL: the unterminated last line of a rotated or deleted file was not shipped when "
                    "the file was released")
        if any(t.startswith("rotated@") for t in gen.tags) and seg == len(gen.segments) - 1:
            return ("ROTATED_RESTART: rotated with the agent up, but the agent restarted before it had read the "
                    "renamed file to its end, and did not find it again")
        if self.result.get("dead_letters"):
            return "DEAD_LETTER?: possibly dead-lettered (see DEAD LETTERS)"
        return "UNEXPLAINED"

    def missing_ranges(self):
        """Per file segment: runs of consecutive expected records that did not arrive (records
        whose body is written in one place only; identical lines do not break a run)."""
        remaining = collections.Counter(self.missing)
        out = []
        for gen in self.model.gens:
            recs = self.model.records(gen)
            by_seg = collections.defaultdict(list)
            for r in recs:
                by_seg[r.segment].append(r)
            for seg, rs in by_seg.items():
                runs, cur, lost = [], None, 0
                for r in rs:
                    unique = len(self.where.get(r.body, ())) == 1
                    if unique and remaining[r.body] > 0:
                        lost += 1
                        if cur is None:
                            cur = [r, r, 1]
                        else:
                            cur[1], cur[2] = r, cur[2] + 1
                    elif unique and cur is not None:
                        runs.append(cur)
                        cur = None
                if cur is not None:
                    runs.append(cur)
                if not runs:
                    continue
                rel = os.path.relpath(gen.first_path, self.work)
                now = os.path.relpath(gen.path, self.work)
                head = (f"{rel}{' (now ' + now + ')' if now != rel else ''} segment {seg} "
                        f"[{', '.join(sorted(gen.tags)) or '-'}]: {lost} of {len(rs)} records lost")
                parts = []
                for a, b, n in runs[:8]:
                    steps = sorted({x.piece.step for x in (a, b) if x.piece})
                    cause = self.triage(gen, seg, a, b)
                    self.cause_counts[cause.split(":")[0]] += n
                    parts.append(f"offsets {a.offset}..{b.offset} ({n} records, steps {'-'.join(map(str, steps))})"
                                 f"\n      likely cause: {cause}")
                out.append(head + ":\n    " + "\n    ".join(parts) + (" …" if len(runs) > 8 else ""))
        return out

    def save_rows(self, actual):
        try:
            with open(self.work / "rows.txt", "w") as f:
                for body, n in sorted(actual.items()):
                    f.write(f"{n}\t{body!r}\n")
        except OSError:
            pass

    def report(self):
        r = self.result
        out = []
        status = "PASS" if r["passed"] else "FAIL"
        opt = f" (+ up to {r['optional_rows']} allowed-loss rows)" if r.get("optional_rows") else ""
        out.append(f"{status} seed {self.seed} ({self.nsteps} steps, {r['seconds']:.0f}s): "
                   f"{r.get('rows', '?')} rows for {r.get('expected_rows', '?')} expected{opt}; lost {r['lost']}, "
                   f"duplicated {r['duplicated']} (of which {r['unexpected']} not in the model)" +
                   (f"; opensearch {r['es_documents']} documents, lost {r['es_lost']}, duplicated {r['es_duplicated']}"
                    if "es_documents" in r else ""))
        if r["passed"] and not self.args.verbose:
            return "\n".join(out)
        without = f" --without {','.join(sorted(self.args.without))}" if self.args.without else ""
        if self.args.start_at != "end":
            without += f" --start-at {self.args.start_at}"
        if self.args.search_node:
            without += " --with-opensearch"
        out.append(f"replay: {sys.argv[0]} --bin-dir {self.args.bin_dir} --seed {self.seed} --steps {self.nsteps}{without}")
        out.append("config: " + json.dumps(self.cfg, sort_keys=True))
        out.append("steps:")
        for i, desc, secs in self.executed:
            out.append(f"  {str(i):>6} {desc}  [{secs:.2f}s]")
        if r["error"]:
            out.append(f"ERROR: {r['error']}")
        for p in self.problems:
            out.append(f"PROCESS: {p}")
        for d in r.get("dead_letters") or []:
            out.append(f"DEAD LETTERS: {d}")
        for n in self.notes:
            out.append(f"note: {n}")
        if hasattr(self, "missing"):
            if self.missing:
                out.append(f"missing: {sum(self.missing.values())} rows, {len(self.missing)} distinct bodies; first 20:")
                for body, n in sorted(self.missing.items(), key=lambda kv: self.where[kv[0]][0].piece.step
                                      if self.where.get(kv[0]) and self.where[kv[0]][0].piece else 0)[:20]:
                    out.append(f"  {n}x {body[:120]!r}{'…' if len(body) > 120 else ''}\n       <- {self.rel(self.describe_missing(body))}")
                self.agent_log_events_cache = self.agent_log_events()
                out.append("missing runs per file (byte offsets of the first and last record of each run; "
                           "the likely cause is a heuristic guess from the agent logs):")
                self.cause_counts = collections.Counter()
                for line in self.missing_ranges():
                    out.append(f"  {line}")
                out.append("likely causes (records in runs): " +
                           ", ".join(f"{k} {v}" for k, v in self.cause_counts.most_common()))
                groups, ambiguous = self.causes()
                out.append("missing rows by origin:")
                for key, n in groups.most_common():
                    out.append(f"  {n:6d}  {key}")
                if ambiguous:
                    out.append(f"  {ambiguous:6d}  identical lines written in several places (origin ambiguous)")
            if self.extra:
                out.append(f"extra: {sum(self.extra.values())} rows, {len(self.extra)} distinct bodies; first 20:")
                for body, n in list(self.extra.items())[:20]:
                    out.append(f"  {n}x {body[:120]!r}{'…' if len(body) > 120 else ''}\n       <- {self.rel(self.describe_extra(body))}")
        logs = sorted(str(p) for p in self.rundir.glob("*.log"))
        out.append(f"work dir: {self.work} (plan.json, agent.yaml, logs/, agent-data/)")
        out.append("process logs: " + " ".join(logs))
        return "\n".join(out)
