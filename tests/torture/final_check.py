"""The final phase of a seed and the exact comparison of PostgreSQL with the model (part of Run)."""

import collections
import os
import random
import time

import harness
import model as M


class FinalCheck:
    """Brings both processes up, completes lines, waits, then compares (a mixin of Run)."""

    def final_phase(self):
        t = time.monotonic()
        desc = ["final:"]
        if self.collector is None or self.collector_small:
            self.stop_collector("term")
            self.start_collector(False)
            desc.append("collector (re)started with the normal limits")
        if not self.agent_up:
            self.start_agent(wait_ready=False)
            desc.append("agent started")
        if self.final_plan["complete_partials"]:
            rng = random.Random(self.final_plan["seed"])
            done = []
            for gen in list(self.model.gens):
                if not gen.deleted and not gen.rotated and gen.partial_tail() and gen.path.startswith(str(self.work)):
                    rel = os.path.relpath(gen.path, self.work)
                    if self.complete_partial(rel, self.writer(rel, rng.getrandbits(32))):
                        done.append(rel)
            desc.append(f"completed unterminated lines of {done or 'no file'}")
        for attempt in range(3):
            # a signal sent by the last steps may still be killing a process: look again, and
            # restart what died (check_processes records it as a failure) before judging
            time.sleep(0.5)
            problems = len(self.problems)
            self.check_processes()
            desc.append(f"wait: {self.quiesce(final=True)}")
            time.sleep(0.2)
            self.check_processes()
            if len(self.problems) == problems:
                break
            desc.append("(a process had died: restarted, waiting again)")
        self.executed.append(("final", " ".join(desc), time.monotonic() - t))
        self.check()

    def compare_now(self):
        req, opt, where = self.model.expected()
        rows = self.psql("SELECT encode(convert_to(body, 'UTF8'), 'hex'), count(*) FROM logs GROUP BY body")
        actual = collections.Counter()
        for h, n in rows:
            actual[bytes.fromhex(h).decode("utf-8")] += int(n)
        missing, extra = M.compare(req, opt, actual)
        return missing, extra, req, opt, where, actual

    def check(self):
        missing, extra, req, opt, where, actual = self.compare_now()
        if missing or extra:
            self.save_rows(actual)
        self.missing, self.extra, self.where = missing, extra, where
        self.history = self.model.history_bodies()
        self.result["lost"] = sum(missing.values())
        self.result["duplicated"] = sum(n for b, n in extra.items() if b in where)
        self.result["unexpected"] = sum(n for b, n in extra.items() if b not in where)
        self.result["duplicated"] += self.result["unexpected"]
        self.result["expected_rows"] = sum(req.values())
        self.result["optional_rows"] = sum(opt.values())
        self.result["rows"] = sum(actual.values())
        dead = []
        try:
            n = int(self.psql("SELECT count(*) FROM logs_dead_letter")[0][0])
            if n:
                dead.append(f"{n} rows in logs_dead_letter")
        except harness.HarnessError as e:
            self.notes.append(f"logs_dead_letter not readable: {e}")
        dl = self.data_dir / "dead-letter"
        if dl.is_dir():
            files = sorted(p.name for p in dl.iterdir())
            if files:
                reasons = sorted({(dl / f).read_text(errors="replace").strip()[:200] for f in files if f.endswith(".reason")})
                dead.append(f"{len(files)} files in {dl}: {files[:6]}{' …' if len(files) > 6 else ''}; reasons: {reasons[:3]}")
        self.result["dead_letters"] = dead
