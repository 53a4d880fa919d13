"""Executing the planned steps against real files and processes (part of Run)."""

import os
import random
import shutil
import signal
import time

from configs import fmt_size


class Steps:
    """One method per step kind; exec_step dispatches (a mixin of Run). Each returns the line
    that describes what it did in the report."""

    def do_setup_create(self, step):
        wr = self.writer(step["file"], step["seed"])
        if step["mode"] == "empty":
            self.gen_of(step["file"])
            open(self.work / step["file"], "ab").close()
            return f"setup: {step['file']} empty"
        pieces = [wr.header(step["file"])] if step["header"] else []
        pieces += wr.pieces(step["lines"], allow_partial=False) if step["lines"] else []
        if pieces:
            self.write_pieces(step["file"], pieces)
        else:
            self.gen_of(step["file"])
            open(self.work / step["file"], "ab").close()
        return f"setup: {step['file']} with {'a header and ' if step['header'] else ''}{step['lines']} lines"

    def step_append(self, step, rng):
        parts = []
        for rel in step["files"]:
            wr = self.writer(rel, rng.getrandbits(32))
            shapes = self.append_lines(rel, wr, step["lines"])
            parts.append(f"{rel} +{step['lines']} lines ({', '.join(f'{k} {v}' for k, v in sorted(shapes.items()))})")
        return "append " + "; ".join(parts)

    def step_create(self, step, rng):
        rel = step["file"]
        wr = self.writer(rel, rng.getrandbits(32))
        if step["mode"] == "empty":
            self.gen_of(rel)
            open(self.work / rel, "ab").close()
            return f"create {rel} empty"
        if step["mode"] == "rename_in":
            tmp = str(self.work / rel) + ".tmp"
            gen = self.model.create(tmp, self.source_of(rel), {"created by rename into the glob"} |
                                    ({"created while agent down"} if not self.agent_up and self.n_agent > 0 else set()))
            pieces = ([wr.header(rel)] if step["header"] else []) + wr.pieces(max(1, step["lines"]))
            self.write_pieces(rel, pieces, path=tmp)
            os.rename(tmp, self.work / rel)
            self.model.rename(tmp, str(self.work / rel))
            return f"create {rel} by rename of a written .tmp ({len(pieces)} pieces)"
        shapes = self.new_file(rel, wr, step["header"], step["lines"])
        return f"create {rel} ({', '.join(f'{k} {v}' for k, v in sorted(shapes.items())) or 'empty'})"

    def step_rotate(self, step, rng):
        rel = step["file"]
        p = str(self.work / rel)
        desc = [f"rotate {rel} -> {rel}.1 (agent {'up' if self.agent_up else 'DOWN'})"]
        if step["quiesce_first"]:
            desc.append(f"first quiesce: {self.quiesce(strict=True)}")
            if not self.quiesce_ok and self.model.gen_at(p + ".2"):
                self.unsure(f"unlink of {rel}.2", [self.model.gen_at(p + ".2").seg])
        if os.path.exists(p + ".2"):
            os.unlink(p + ".2")
            self.model.delete(p + ".2", agent_up=True, step=self.current_step)
            desc.append(f"unlinked {rel}.2")
        if os.path.exists(p + ".1"):
            os.rename(p + ".1", p + ".2")
            self.model.rename(p + ".1", p + ".2")
        gen = self.model.gen_at(p)
        if gen is None:  # the plan thought it existed (an edited plan): make it
            self.gen_of(rel)
            open(p, "ab").close()
            gen = self.model.gen_at(p)
        self.wait_agent_saw_files()
        tail = gen.partial_tail()
        # Created while the agent was down, and no agent started since (an inode number is no
        # test: a recreated file may reuse the one the agent knew).
        never_seen = (not self.agent_up and "created while agent down" in gen.tags
                      and getattr(gen, "agent_starts_at_creation", None) == self.n_agent)
        os.rename(p, p + ".1")
        self.model.rename(p, p + ".1")
        self.model.rotated_away(gen, self.current_step, self.agent_up)
        if never_seen:
            # Created and renamed out of the globs while the agent was down: it never knew of
            # the file (README "What happens when…"), so its lines may be lost.
            gen.seg.may_lose = True
            gen.tags.add("never seen by the agent")
        if tail:
            desc.append(f"with an unterminated last line of {len(tail)} bytes")
        if step["post_write"]:
            wr = self.writer(rel, rng.getrandbits(32))
            self.append_lines(rel, wr, step["post_write"], allow_partial=False, path=p + ".1")
            desc.append(f"+{step['post_write']} lines written to {rel}.1 after the rename")
        if step["recreate"]:
            wr = self.writer(rel, rng.getrandbits(32))
            shapes = self.new_file(rel, wr, step["header"], step["lines"])
            desc.append(f"new {rel}: {'header, ' if step['header'] else ''}{sum(shapes.values())} pieces")
        return "; ".join(desc)

    def step_copytruncate(self, step, rng):
        rel = step["file"]
        p = self.work / rel
        wr = self.writer(rel, rng.getrandbits(32))
        desc = [f"copytruncate {rel}"]
        if self.complete_partial(rel, wr):
            desc.append("completed its last line first")
        desc.append(f"quiesce: {self.quiesce(strict=True)}")
        if not self.quiesce_ok:
            self.unsure(f"copytruncate of {rel}", [self.model.gen_at(str(p)).seg])
        self.ct_count += 1
        shutil.copyfile(p, str(p) + f"-ct{self.ct_count}")
        os.truncate(p, 0)
        self.model.gen_at(str(p)).truncate(self.current_step)
        time.sleep(self.cfg["sources"]["main"]["poll_ms"] / 1000 + 0.4)
        shapes = self.new_file(rel, wr, step["header"], step["lines"])
        desc.append(f"truncated, waited > poll_interval, wrote {'the same header, ' if step['header'] else ''}"
                    f"{sum(shapes.values())} pieces")
        return "; ".join(desc)

    def step_delete(self, step, rng):
        rel = step["file"]
        p = str(self.work / rel)
        s = self.cfg["sources"]["main"]
        release = (s["rotate_wait_ms"] + 2 * s["poll_ms"]) / 1000 + 0.5
        desc = [f"delete {rel} (agent {'up' if self.agent_up else 'DOWN'})"]
        wr = self.writer(rel, rng.getrandbits(32))
        if self.agent_up:
            desc.append(f"quiesce: {self.quiesce(strict=True)}")
        gen = self.model.gen_at(p)
        if self.agent_up and not self.quiesce_ok and gen:
            self.unsure(f"delete of {rel}", [gen.seg])
        tail = gen.partial_tail() if gen else b""
        if gen is None:
            open(p, "ab").close()
        os.unlink(p)
        if gen is not None:
            self.model.delete(p, agent_up=self.agent_up, step=self.current_step)
        if tail:
            desc.append(f"it had an unterminated last line of {len(tail)} bytes")
        tags = {f"recreated after delete@{self.current_step}"}
        if step["recreate"] == "now":
            self.new_file(rel, wr, step["header"], step["lines"], tags=tags)
            desc.append(f"recreated at once ({'same header' if step['header'] else 'no header'})")
        if self.agent_up:
            time.sleep(release)
            desc.append(f"waited {release:.1f}s for the release")
            if step["recreate"] == "later":
                self.new_file(rel, wr, step["header"], step["lines"], tags=tags)
                desc.append(f"recreated after the release ({'same header' if step['header'] else 'no header'}, "
                            f"inode {os.stat(p).st_ino})")
            desc.append(f"quiesce: {self.quiesce(strict=True)}")
        return "; ".join(desc)

    def step_agent_stop(self, step, how):
        desc = f"agent {how}"
        self.stop_agent(how)
        if step["restart"]:
            self.start_agent(step["wait_ready"])
            desc += f", restarted{' (waited for ready)' if step['wait_ready'] else ''}"
        else:
            desc += ", left down"
        return desc

    def step_collector_stop(self, step, how):
        self.stop_collector(how)
        if step["restart"]:
            self.start_collector(False)
            return f"collector {how}, restarted"
        return f"collector {how}, left down"

    def step_reload(self, step, rng):
        action = step["action"]
        desc = f"reload (SIGHUP) {action}"
        if action == "remove":
            desc += f"; quiesce first: {self.quiesce(strict=True)}"
            if not self.quiesce_ok:
                self.unsure("removal of the second source", [seg for g in self.model.gens if g.source == "second"
                                                            for seg in g.segments])
            self.second_active = False
            self.model.source_removed("second")
        elif action == "add":
            self.second_active = True
            self.model.source_added("second")
        self.agent_yaml()
        if self.agent_up:
            self.last_signal = (signal.SIGHUP, self.current_step, time.monotonic() - self.agent_started_at)
            self.wait_signal_handled(signal.SIGHUP)
            self.last_signal_at = time.monotonic()
            starts = self.agent_starts_logged()
            os.kill(self.agent.pid, signal.SIGHUP)
            if action == "remove":  # the next step's bytes must be written after the removal took effect
                self.wait_reload_applied(starts)
        return desc

    def step_agent_id(self, step, rng):
        self.agent_gen += 1
        self.agent_yaml()
        if self.agent_up:
            self.stop_agent(step["how"])
            self.start_agent(wait_ready=False)
            return f"agent_id -> torture-{self.seed}-id{self.agent_gen}, agent {step['how']} and restarted"
        return f"agent_id -> torture-{self.seed}-id{self.agent_gen} (agent down: config only)"

    def step_spool_fill(self, step, rng):
        rel = step["file"]
        wr = self.writer(rel, rng.getrandbits(32))
        spool = self.cfg["spool_max_bytes"]
        total = min(int(spool * 2.5), 8 << 20)
        self.stop_collector("term")
        chunks = wr.fill_lines(total)
        gen = self.gen_of(rel)
        if gen.partial_tail():
            self.complete_partial(rel, wr)
        for i in range(0, len(chunks), 2000):
            self.write_pieces(rel, [(b"".join(chunks[i:i + 2000]), "fill")])
        deadline = time.monotonic() + 10
        paused = False
        while time.monotonic() < deadline:
            m = self.metrics()
            if m.get("logship_agent_sources_paused") == 1:
                paused = True
                break
            time.sleep(0.2)
        time.sleep(rng.uniform(0, 1))
        m = self.metrics()
        self.start_collector(False)
        return (f"spool fill: collector stopped, {len(chunks)} lines ({total >> 10} KiB) to {rel} "
                f"(spool.max_bytes {fmt_size(spool)}); sources paused: {paused}, spool bytes "
                f"{int(m.get('logship_agent_spool_bytes', -1))}; collector restarted")

    def step_small_frame(self, step, rng):
        rel = step["file"]
        wr = self.writer(rel, rng.getrandbits(32))
        self.stop_collector("term")
        self.start_collector(small=True)
        gen = self.gen_of(rel)
        if gen.partial_tail():
            self.complete_partial(rel, wr)
        chunks = wr.fill_lines(step["kib"] << 10, tag=b"big")
        self.write_pieces(rel, [(b"".join(chunks), "big_batch")])
        time.sleep(1.5)
        return (f"collector restarted with limits.max_frame_bytes 64KiB; {len(chunks)} lines ({step['kib']} KiB) "
                f"to {rel} (batch.max_bytes {fmt_size(self.cfg['batch_max_bytes'])})")

    def exec_step(self, step):
        rng = random.Random(step["seed"])
        k = step["kind"]
        if k == "append":
            return self.step_append(step, rng)
        if k == "create":
            return self.step_create(step, rng)
        if k == "rotate":
            return self.step_rotate(step, rng)
        if k == "copytruncate":
            return self.step_copytruncate(step, rng)
        if k == "delete":
            return self.step_delete(step, rng)
        if k == "agent_kill9":
            return self.step_agent_stop(step, "kill9")
        if k == "agent_term":
            return self.step_agent_stop(step, "term")
        if k == "agent_start":
            if self.agent_up:
                return "agent start: already up"
            self.start_agent(step["wait_ready"])
            return "agent start" + (" (waited for ready)" if step["wait_ready"] else "")
        if k == "collector_kill9":
            return self.step_collector_stop(step, "kill9")
        if k == "collector_term":
            return self.step_collector_stop(step, "term")
        if k == "collector_start":
            if self.collector:
                return "collector start: already up"
            self.start_collector(False)
            return "collector start"
        if k == "pg_restart":
            self.pg.restart()
            return "PostgreSQL restart"
        if k == "reload":
            return self.step_reload(step, rng)
        if k == "agent_id_change":
            return self.step_agent_id(step, rng)
        if k == "spool_fill":
            return self.step_spool_fill(step, rng)
        if k == "small_frame":
            return self.step_small_frame(step, rng)
        if k == "quiesce":
            return f"quiesce: {self.quiesce()}"
        if k == "sleep":
            time.sleep(step["seconds"])
            return f"sleep {step['seconds']}s"
        raise AssertionError(k)
