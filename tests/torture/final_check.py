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

    def search_index_bodies(self):
        """The multiset of `message` in this seed's OpenSearch indices (waits for them to
        catch up with PostgreSQL, the first sink written), or None without --with-opensearch."""
        node = self.args.search_node
        if not node:
            return None
        pattern = f"{self.es_index}-*"
        rows = self.row_count() or 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if node.count(pattern) >= rows:
                    break
            except Exception:  # noqa: BLE001  (no index yet: nothing arrived)
                pass
            time.sleep(1)
        actual = collections.Counter()
        status, body = node.request("POST", f"/{pattern}/_search?scroll=2m",
                                    {"size": 5000, "_source": ["message"], "sort": ["_doc"]})
        while status == 200 and body["hits"]["hits"]:
            for h in body["hits"]["hits"]:
                actual[h["_source"]["message"]] += 1
            status, body = node.request("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": body["_scroll_id"]})
        return actual

    def check(self):
        missing, extra, req, opt, where, actual = self.compare_now()
        es_actual = self.search_index_bodies()
        if es_actual is not None:
            es_missing, es_extra = M.compare(req, opt, es_actual)
            self.result["es_lost"] = sum(es_missing.values())
            self.result["es_duplicated"] = sum(es_extra.values())
            self.result["es_documents"] = sum(es_actual.values())
            if es_missing or es_extra:
                self.notes.append(f"OpenSearch differs from the model: {self.result['es_lost']} lost, "
                                  f"{self.result['es_duplicated']} extra; e.g. missing "
                                  f"{[b[:80] for b in list(es_missing)[:3]]}, extra {[b[:80] for b in list(es_extra)[:3]]}")
                missing = missing + es_missing
                extra = extra + es_extra
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
