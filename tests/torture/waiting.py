"""Waiting until PostgreSQL holds what the model expects (part of Run)."""

import time


class Waiting:
    """Quiesce: waits for the rows the model expects, or for nothing to move (a mixin of Run)."""

    def expected_total(self):
        req, opt, _ = self.model.expected()
        return sum(req.values()), sum(opt.values())

    def quiesce(self, final=False, strict=False):
        """Waits until PostgreSQL holds what the model expects so far, or until nothing moves.

        Rows that never arrived (a bug) would make every later wait run into its timeout, so a
        plain quiesce counts the shortfall of the last stall as permanent (`deficit`). A strict
        one, used before the driver destroys data (copytruncate, unlink, removing a source),
        never takes that shortcut: it returns once every row is there, or once the row count has
        not changed for a while AND the agent has no unacknowledged batch and no paused source
        (so it has read all it is going to read)."""
        self.quiesce_ok = False
        if not (self.agent_up and self.collector):
            return "skipped (a process is down)"
        req, opt = self.expected_total()
        srcs = self.cfg["sources"].values()
        slowest = max(max(s["rotate_wait_ms"] for s in srcs), max((s["multiline"] or {}).get("timeout_ms", 0) for s in srcs),
                      self.cfg["linger_ms"]) / 1000
        if final:
            stable_needed = max(12.0, 10 * max(s["poll_ms"] for s in srcs) / 1000 + 3, slowest + 5)
            timeout = 120.0
            target = req
        else:
            stable_needed = max(4.0, slowest + 2.5)
            timeout = 45.0
            target = req if strict else req - self.deficit
        t0 = time.monotonic()
        last, last_change = None, t0
        compared = None
        while True:
            n = self.row_count()
            now = time.monotonic()
            if n != last:
                last, last_change = n, now
            if final and n is not None and n >= target and now - last_change >= 3.0 and compared != last_change:
                # the count alone can mislead (a duplicate hides a missing row): compare exactly
                compared = last_change
                if not self.compare_now()[0]:
                    self.quiesce_ok = True
                    return f"reached {n}/{req} rows in {now - t0:.1f}s"
            elif not final and n is not None and n >= target and (not strict or not self.compare_now()[0]):
                # Before a destructive step (strict) the count is not enough: rows that may be
                # lost (optional) can make up for required ones still on their way (a pending
                # multi-line event), so nothing required may be missing.
                time.sleep(min(0.5, slowest) + 0.1)
                self.quiesce_ok = True
                return f"reached {n}/{req} rows in {now - t0:.1f}s"
            if n is not None and now - last_change >= stable_needed:
                m = self.metrics()
                frames = m.get("logship_agent_spool_frames")
                idle = frames in (0, None) and not m.get("logship_agent_sources_paused")
                if idle or (not strict and now - last_change >= stable_needed * 2):
                    self.deficit = max(0, req - n)
                    self.quiesce_ok = idle
                    return (f"STALLED at {n}/{req} rows (no change for {now - last_change:.0f}s, "
                            f"agent spool frames {frames})")
            if now - t0 > timeout:
                self.deficit = max(0, req - (n or 0))
                return f"TIMEOUT at {n}/{req} rows after {timeout:.0f}s"
            time.sleep(0.25)

    def unsure(self, what, segments):
        """A wait before destroying data failed (the agent may not have read everything): what it
        had not read is lost by the driver's own action, so those records become optional, and
        the report says so. Files and steps stay exactly as planned (determinism)."""
        for seg in segments:
            seg.may_lose = True
        self.notes.append(f"step {self.current_step}: {what} after a wait that did not complete: its records "
                          f"are treated as allowed loss (the run has a stall; see the step list)")
