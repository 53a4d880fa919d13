#!/usr/bin/python3
"""Seeded, randomized, model-checked torture test of logship: every line written must arrive
in PostgreSQL exactly once (tests/torture/README.md).

    torture.py --bin-dir /tmp/torture-bin --seed 17            # one seed, 40 steps
    torture.py --bin-dir build --seeds 1,2,3 --steps 25
    torture.py --bin-dir build --minutes 30                    # new seeds until time is up
    torture.py --bin-dir build --ci                            # fixed seeds, <= 4 minutes
    torture.py --seed 17 --describe                            # print the plan, run nothing

Every decision comes from random.Random streams seeded by the seed (configuration, steps and
the bytes written each have their own stream), never from timing, so `--seed N --steps K`
replays the same steps and the same file contents, and `--steps K` with a smaller K replays a
prefix of the same run. Exit 0 when every seed passes, 1 otherwise.
"""

import argparse
import collections
import json
import math
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import model as M  # noqa: E402

DEFAULT_STEPS = 40
# --ci: fixed seeds and step count, chosen with --describe so that together they cover every
# step kind (printed per seed); about a minute each on a 2-core machine.
CI_SEEDS = [44, 36, 210, 35]
CI_STEPS = 16

MAIN_NAMES = ["app.log", "web.log", "db.log", "worker.log", "cron.log"]
SECOND_NAMES = ["svc.log", "audit.log", "jobs.log"]
# Constant first lines, the same in every generation of a file (W3C, CSV): file identity
# cannot rely on them.
HEADERS = [b"#Fields: date time s-ip cs-method cs-uri-stem sc-status time-taken",
           b"ts,level,user,msg",
           b"#Version: 1.0"]
SAME_LINES = [b"GET /health 200", b"GET /metrics 200 0.001"]
START_PATTERNS = [  # (multiline.start_pattern, how a start line begins)
    (r"^\d{4}-\d{2}-\d{2}", "date"),
    (r"^\[\d{4}-", "bracket"),
    (r"^(INFO|WARN|ERROR) ", "level"),
]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar "
         "papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
UTF8_WORDS = ["héllo", "wörld", "ünïcode", "✓", "😀", "日本語", "Ελληνικά"]

KIND_LABELS = ["append", "create", "create_rename_in", "create_empty", "rotate_up", "rotate_down",
               "rotate_post_write", "copytruncate", "delete_up", "delete_down", "recreate_same_name",
               "agent_kill9", "agent_term", "agent_start", "collector_kill9", "collector_term",
               "collector_start", "pg_restart", "reload_add", "reload_remove", "reload_same",
               "agent_id_change", "spool_fill", "small_frame", "quiesce", "sleep"]


def log_uniform(rng, lo, hi):
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


# =============================================================================================
# Plan: configuration and steps, a pure function of (seed, steps)


def gen_config(seed):
    rng = random.Random(f"logship-torture:{seed}:config")
    c = {
        "max_records": rng.choice([1, 3, log_uniform(rng, 1, 3000), log_uniform(rng, 1, 3000), 2000]),
        "batch_max_bytes": log_uniform(rng, 1024, 2 << 20),
        "linger_ms": rng.randint(5, 300),
        "spool_max_bytes": log_uniform(rng, 256 << 10, 64 << 20),
        "fsync": rng.choice(["batch", "interval", "never"]),
        "max_in_flight": rng.randint(1, 16),
        "compression": rng.choice([-3, 1, 1, 3, 9]),
        "start_at_explicit": rng.random() < 0.7,
        "sources": {},
    }
    for name in ("main", "second"):
        s = {
            "poll_ms": rng.randint(50, 1000),
            "rotate_wait_ms": rng.choice([0, rng.randint(0, 2000), rng.randint(1000, 2000)]),
            "max_line_bytes": log_uniform(rng, 256, 64 << 10) if rng.random() < 0.75 else None,
            "multiline": None,
        }
        if rng.random() < 0.4:
            pattern, style = rng.choice(START_PATTERNS)
            s["multiline"] = {
                "start_pattern": pattern, "style": style,
                "max_lines": rng.choice([500, rng.randint(2, 20)]),
                "max_bytes": rng.choice([1 << 20, log_uniform(rng, 256, 16 << 10)]),
                "timeout_ms": rng.randint(300, 1500),
            }
        c["sources"][name] = s
    return c


def source_model_config(name, s):
    ml = None
    if s["multiline"]:
        m = s["multiline"]
        ml = M.MultilineConfig(m["start_pattern"], m["max_lines"], m["max_bytes"], m["timeout_ms"])
    return M.SourceConfig(name, s["max_line_bytes"] or (1 << 20), ml)


class PlanState:
    """What the plan generator knows: process states and which files exist. No timing."""

    def __init__(self):
        self.agent_up = True
        self.collector_up = True
        self.collector_small = False
        self.second_active = False
        self.files = {}          # rel path -> exists
        self.slots = {}          # (rel, k) -> settled: rotated file rel.k exists
        self.agent_ids = 0

    def exists(self, prefix=""):
        return sorted(f for f, e in self.files.items() if e and f.startswith(prefix))

    def free(self, prefix, names):
        return [f"{prefix}/{n}" for n in names if not self.files.get(f"{prefix}/{n}")]

    def can_quiesce(self):
        return self.agent_up and self.collector_up and not self.collector_small

    def settle(self):
        if self.can_quiesce():
            for k in self.slots:
                self.slots[k] = True


def gen_setup(rng, st):
    """Files that exist before the agent's first start (their content is history)."""
    steps = []
    for rel in rng.sample([f"logs/{n}" for n in MAIN_NAMES], rng.randint(1, 3)):
        steps.append({"kind": "create", "file": rel, "mode": rng.choice(["open", "open", "empty"]),
                      "header": rng.random() < 0.5, "lines": rng.randint(0, 30), "seed": rng.getrandbits(32),
                      "setup": True})
        st.files[rel] = True
    for rel in rng.sample([f"logs2/{n}" for n in SECOND_NAMES], rng.randint(0, 2)):
        steps.append({"kind": "create", "file": rel, "mode": "open", "header": rng.random() < 0.5,
                      "lines": rng.randint(1, 20), "seed": rng.getrandbits(32), "setup": True})
        st.files[rel] = True
    return steps


def gen_step(rng, st, cfg, without=()):
    main = st.exists("logs/")
    everything = st.exists()
    opts = []
    if not st.agent_up:
        opts.append((30, "agent_start"))
    if not st.collector_up:
        opts.append((25, "collector_start"))
    if everything:
        opts.append((30, "append"))
    if st.free("logs", MAIN_NAMES) or st.free("logs2", SECOND_NAMES):
        opts.append((6, "create"))
    if main:
        rot_ok = [f for f in main if st.agent_up and (st.can_quiesce() or st.slots.get((f, 2), True))
                  or not st.agent_up and st.slots.get((f, 1), True) and st.slots.get((f, 2), True)]
        if rot_ok:
            opts.append((7, "rotate"))
        if st.can_quiesce():
            opts.append((3, "copytruncate"))
        if st.can_quiesce() or not st.agent_up:
            opts.append((3, "delete"))
    if st.agent_up:
        opts += [(5, "agent_kill9"), (4, "agent_term"), (4, "reload"), (2, "spool_fill")]
    opts.append((2, "agent_id_change"))
    if st.collector_up:
        opts += [(4, "collector_kill9"), (3, "collector_term")]
    opts += [(3, "pg_restart"), (2, "small_frame"), (3, "sleep")]
    if st.can_quiesce():
        opts.append((3, "quiesce"))
    opts = [(w, k) for w, k in opts if k not in without or k in ("agent_start", "collector_start")]
    kind = rng.choices([k for _, k in opts], weights=[w for w, _ in opts])[0]
    step = {"kind": kind, "seed": rng.getrandbits(32)}

    if kind == "agent_start":
        step["wait_ready"] = rng.random() < 0.5
        st.agent_up = True
    elif kind == "collector_start":
        st.collector_up, st.collector_small = True, False
    elif kind == "append":
        step["files"] = rng.sample(everything, min(len(everything), rng.choice([1, 1, 1, 2, 3])))
        step["lines"] = rng.choice([rng.randint(1, 10), rng.randint(1, 80), rng.randint(1, 80), rng.randint(200, 900)])
    elif kind == "create":
        free = st.free("logs", MAIN_NAMES) + (st.free("logs2", SECOND_NAMES) if rng.random() < 0.35 else [])
        if not st.free("logs", MAIN_NAMES):
            free = st.free("logs2", SECOND_NAMES)
        step["file"] = rel = rng.choice(free)
        step["mode"] = rng.choice(["open", "open", "rename_in", "empty"])
        step["header"] = rng.random() < 0.5
        step["lines"] = rng.randint(0, 40)
        st.files[rel] = True
    elif kind == "rotate":
        step["file"] = rel = rng.choice(rot_ok)
        step["agent_up"] = st.agent_up
        step["quiesce_first"] = st.agent_up and not st.slots.get((rel, 2), True)
        step["recreate"] = rng.random() < 0.85
        step["header"] = rng.random() < 0.5
        step["lines"] = rng.randint(0, 30)
        rw = cfg["sources"]["main"]["rotate_wait_ms"]
        step["post_write"] = rng.randint(1, 8) if (st.agent_up and rw >= 1000 and rng.random() < 0.4) else 0
        if step["quiesce_first"]:
            st.settle()
        if (rel, 1) in st.slots:
            st.slots[(rel, 2)] = st.slots[(rel, 1)]
        st.slots[(rel, 1)] = False
        st.files[rel] = step["recreate"]
    elif kind == "copytruncate":
        step["file"] = rng.choice(main)
        step["header"] = rng.random() < 0.7
        step["lines"] = rng.randint(0, 30)
        st.settle()
    elif kind == "delete":
        step["file"] = rel = rng.choice(main)
        step["agent_up"] = st.agent_up
        step["recreate"] = rng.choice(["now", "later", "no"]) if st.agent_up else rng.choice(["now", "no"])
        step["header"] = rng.random() < 0.7
        step["lines"] = rng.randint(0, 20)
        if st.agent_up:
            st.settle()
        st.files[rel] = step["recreate"] != "no"
    elif kind in ("agent_kill9", "agent_term"):
        step["restart"] = rng.random() < 0.6
        step["wait_ready"] = rng.random() < 0.5
        st.agent_up = step["restart"]
    elif kind in ("collector_kill9", "collector_term"):
        step["restart"] = rng.random() < 0.5
        st.collector_up = step["restart"]
        st.collector_small = False
    elif kind == "reload":
        acts = ["same"] + (["remove"] if st.second_active and st.can_quiesce() else []) + \
            (["add", "add"] if not st.second_active else [])
        step["action"] = rng.choice(acts)
        if step["action"] == "remove":
            st.settle()
            st.second_active = False
        elif step["action"] == "add":
            st.second_active = True
    elif kind == "agent_id_change":
        step["how"] = rng.choice(["term", "kill9"])
        st.agent_ids += 1
    elif kind == "spool_fill":
        step["file"] = rng.choice(main) if main and rng.random() < 0.7 else "logs/fill.log"
        st.files[step["file"]] = True
        st.collector_up, st.collector_small = True, False
    elif kind == "small_frame":
        step["file"] = rng.choice(main) if main and rng.random() < 0.7 else "logs/big.log"
        st.files[step["file"]] = True
        step["kib"] = rng.randint(150, 400)
        st.collector_up, st.collector_small = True, True
    elif kind == "quiesce":
        st.settle()
    elif kind == "sleep":
        step["seconds"] = round(rng.uniform(0.05, 1.5), 2)
    return step


def step_labels(step):
    """Coverage labels of one planned step."""
    k = step["kind"]
    if k == "create":
        return {"create_empty" if step["mode"] == "empty" else "create_rename_in" if step["mode"] == "rename_in" else "create"}
    if k == "rotate":
        out = {"rotate_up" if step["agent_up"] else "rotate_down"}
        if step["post_write"]:
            out.add("rotate_post_write")
        return out
    if k == "delete":
        out = {"delete_up" if step["agent_up"] else "delete_down"}
        if step["recreate"] != "no":
            out.add("recreate_same_name")
        return out
    if k == "reload":
        return {f"reload_{step['action']}"}
    if k in ("agent_kill9", "agent_term") and step["restart"]:
        return {k, "agent_start"}
    if k in ("collector_kill9", "collector_term") and step["restart"]:
        return {k, "collector_start"}
    return {k}


def make_plan(seed, steps, without=()):
    cfg = gen_config(seed)
    st = PlanState()
    setup = gen_setup(random.Random(f"logship-torture:{seed}:setup"), st)
    rng = random.Random(f"logship-torture:{seed}:steps")
    plan = [gen_step(rng, st, cfg, without) for _ in range(steps)]
    frng = random.Random(f"logship-torture:{seed}:final:{steps}")
    final = {"complete_partials": frng.random() < 0.5, "seed": frng.getrandbits(32)}
    return cfg, setup, plan, final


def plan_coverage(cfg, plan):
    labels = set()
    for s in plan:
        labels |= step_labels(s)
    for name, s in cfg["sources"].items():
        if s["multiline"]:
            labels.add(f"multiline({name})")
    return labels


# =============================================================================================
# Content: the bytes of one write, a pure function of its seed and the file's state


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
        import base64
        chunks, size = [], 0
        while size < total_bytes:
            line = self.start_prefix() + tag + b" seq=%d " % self.next_seq() + \
                base64.b64encode(self.rng.randbytes(self.rng.randint(90, 180)))
            if self.s["max_line_bytes"]:
                line = line[:self.s["max_line_bytes"]]
            chunks.append(line + b"\n")
            size += len(line) + 1
        return chunks


# =============================================================================================
# Running one seed


class StepFailure(Exception):
    pass


def fmt_size(n):
    for unit, k in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k and n % k == 0:
            return f"{n // k}{unit}"
    return f"{n}B"


class Run:
    def __init__(self, args, seed, steps, pg, bins):
        self.args = args
        self.seed = seed
        self.nsteps = steps
        self.pg = pg
        self.agent_bin, self.collector_bin = bins
        self.cfg, self.setup_steps, self.plan, self.final_plan = make_plan(seed, steps, args.without)
        self.model = M.Model({n: source_model_config(n, s) for n, s in self.cfg["sources"].items()})
        self.model.active["second"] = False
        if args.start_at == "beginning":
            self.model.first_start_done = True  # nothing is history: every byte ships
        self.seq = [0]
        self.executed = []        # (index, description, seconds)
        self.problems = []        # process crashes, unclean exits, timeouts: each a failure
        self.notes = []           # informational
        self.agent = None
        self.collector = None
        self.collector_small = False
        self.second_active = False
        self.seen_by_agent = set()  # (dev, inode) of files the agent was seen holding open
        self.agent_gen = 0
        self.n_agent = 0
        self.n_collector = 0
        self.deficit = 0
        self.current_step = -1
        self.ct_count = 0
        self.last_signal = None
        self.last_signal_at = 0.0
        self.agent_started_at = 0.0
        self.quiesce_ok = False

    # ---------------------------------------------------------------- environment

    def log(self, msg):
        if self.args.verbose:
            print(f"  [{time.monotonic() - self.t0:6.1f}s] {msg}", flush=True)

    def setup_env(self):
        root = pathlib.Path(self.args.work_root) if self.args.work_root else None
        self.work = pathlib.Path(tempfile.mkdtemp(prefix=f"logship-torture-{self.seed}-", dir=root))
        for d in ("logs", "logs2", "run"):
            (self.work / d).mkdir()
        self.rundir = self.work / "run"
        self.data_dir = self.work / "agent-data"
        self.db = f"torture_{self.seed}_{os.getpid()}_{int(time.time() * 1000) % 100000}"
        self.psql_admin(f"CREATE DATABASE {self.db} OWNER logship")
        self.collector_port = harness.free_port()
        self.agent_http = harness.free_port()
        (self.work / "plan.json").write_text(json.dumps(
            {"seed": self.seed, "steps": self.nsteps, "config": self.cfg, "setup": self.setup_steps,
             "plan": self.plan, "final": self.final_plan}, indent=1))

    def psql(self, sql, db=None, user="logship", timeout=60):
        r = subprocess.run([harness.PSQL, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                            "-p", str(self.pg.port), "-U", user, "-d", db or self.db, "-c", sql],
                           capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        if r.returncode:
            raise harness.HarnessError(r.stderr.strip())
        return [tuple(line.split("\t")) for line in r.stdout.splitlines()]

    def psql_admin(self, sql):
        return self.psql(sql, db="postgres", user="postgres")

    def row_count(self):
        try:
            return int(self.psql("SELECT count(*) FROM logs", timeout=20)[0][0])
        except (harness.HarnessError, subprocess.TimeoutExpired, IndexError, ValueError):
            return None

    def metrics(self):
        if not self.agent or not self.agent.alive():
            return {}
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.agent_http}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            m = re.match(r"^(logship_agent_[a-z_]+)(\{[^}]*\})? (\S+)$", line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out

    # ---------------------------------------------------------------- configs and processes

    def agent_yaml(self):
        c = self.cfg
        lines = [f"agent_id: torture-{self.seed}" + (f"-id{self.agent_gen}" if self.agent_gen else ""),
                 f"data_dir: {self.data_dir}", "sources:"]
        for name, active in (("main", True), ("second", self.second_active)):
            if not active:
                continue
            s = c["sources"][name]
            d = "logs" if name == "main" else "logs2"
            lines += ["  - type: file", f"    name: {name}", f"    include: [\"{self.work / d}/*.log\"]"]
            if self.args.start_at == "beginning":
                lines.append("    start_at: beginning")
            elif c["start_at_explicit"]:
                lines.append("    start_at: end")
            if s["max_line_bytes"]:
                lines.append(f"    max_line_bytes: {fmt_size(s['max_line_bytes'])}")
            lines += [f"    poll_interval: {s['poll_ms']}ms", f"    rotate_wait: {s['rotate_wait_ms']}ms"]
            if s["multiline"]:
                ml = s["multiline"]
                lines.append(f"    multiline: {{start_pattern: '{ml['start_pattern']}', max_lines: {ml['max_lines']}, "
                             f"max_bytes: {fmt_size(ml['max_bytes'])}, timeout: {ml['timeout_ms']}ms}}")
            lines.append(f"    attributes: {{torture: \"{name}\"}}")
        lines += [
            f"batch: {{max_records: {c['max_records']}, max_bytes: {fmt_size(c['batch_max_bytes'])}, "
            f"linger: {c['linger_ms']}ms}}",
            f"compression: {{level: {c['compression']}}}",
            f"spool: {{max_bytes: {fmt_size(c['spool_max_bytes'])}, fsync: {c['fsync']}}}",
            "collector:",
            f"  endpoints: [\"127.0.0.1:{self.collector_port}\"]",
            f"  max_in_flight: {c['max_in_flight']}",
            "  backoff_min: 20ms",
            "  backoff_max: 500ms",
            f"http: {{listen: \"127.0.0.1:{self.agent_http}\"}}",
        ]
        path = self.work / "agent.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def collector_yaml(self, small):
        text = (f"listen: 127.0.0.1:{self.collector_port}\n"
                "http: {listen: \"\"}\n" +
                ("limits: {max_frame_bytes: 64KiB}\n" if small else "") +
                "sinks:\n  postgres:\n"
                f"    dsn: \"host=127.0.0.1 port={self.pg.port} dbname={self.db} user=logship\"\n"
                "    table: logs\n")
        path = self.work / ("collector-small.yaml" if small else "collector.yaml")
        path.write_text(text)
        return path

    def check_processes(self):
        """A process that died on its own is a crash: a failure; it is restarted."""
        if self.agent and not self.agent.alive():
            rc = self.agent.popen.returncode
            why = ""
            if rc < 0 and self.last_signal and self.last_signal[0] == -rc:
                sig, step, age = self.last_signal
                why = (f": killed by {signal.Signals(sig).name}, which the driver sent at step {step}, "
                       f"{age * 1000:.0f} ms after starting the agent{self.since_reload()} (default action: "
                       f"no handler was installed at that moment)")
            self.problems.append(f"agent exited by itself with code {rc} (before step {self.current_step}){why}; "
                                 f"log {self.agent.log_path}")
            self.agent = None
            self.start_agent(wait_ready=False, restart_reason="after crash")
        if self.collector and not self.collector.alive():
            rc = self.collector.popen.returncode
            self.problems.append(f"collector exited by itself with code {rc} (before step {self.current_step}); "
                                 f"log {self.collector.log_path}")
            self.collector = None
            self.start_collector(self.collector_small)

    def start_agent(self, wait_ready, restart_reason=""):
        assert self.agent is None
        first = not self.model.first_start_done
        if first:
            self.model.agent_first_start()
        cfgp = self.agent_yaml()
        self.agent = harness.Proc([self.agent_bin, "--config", cfgp], self.rundir, name=f"agent-{self.n_agent}")
        self.agent_started_at = time.monotonic()
        self.n_agent += 1
        if first or wait_ready:
            self.wait_agent_ready(first)

    def healthz(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.agent_http}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_agent_ready(self, first):
        """Until the agent logs "agent ID started" (its sources have made their first scan: what
        the files hold now is what start_at applies to). Should that wording change, an agent
        whose /healthz answers is given 3 s more, and the report says so."""
        t0 = time.monotonic()
        healthy_since = None
        while time.monotonic() - t0 < 20:
            try:
                text = self.agent.log_path.read_bytes()
            except OSError:
                text = b""
            if re.search(rb"agent \S+ started", text):
                return
            if not self.agent.alive():
                raise StepFailure(f"agent exited at start (code {self.agent.popen.returncode}); log {self.agent.log_path}")
            if healthy_since is None and time.monotonic() - t0 > 2 and self.healthz():
                healthy_since = time.monotonic()
            if healthy_since is not None and time.monotonic() - healthy_since > 3:
                self.notes.append(f"agent never logged 'agent … started'; assumed ready 3 s after /healthz answered "
                                  f"(step {self.current_step})")
                return
            time.sleep(0.05)
        msg = f"agent did not log 'started' within 20 s; log {self.agent.log_path}"
        if first:
            raise StepFailure(msg)
        self.notes.append(msg)

    def wait_signal_handled(self, sig):
        """Until the agent blocks or catches sig (its main does so first thing). A signal sent in
        the first milliseconds after exec, while the loader runs, takes its default action in any
        program; an operator's init system does not do that, so the driver does not either."""
        deadline = time.monotonic() + 2
        bit = 1 << (int(sig) - 1)
        while time.monotonic() < deadline and self.agent.alive():
            try:
                with open(f"/proc/{self.agent.pid}/status") as f:
                    masks = {k: int(v, 16) for k, v in (line.split(":", 1) for line in f)
                             if k in ("SigBlk", "SigCgt")}
            except (OSError, ValueError):
                return
            if any(m & bit for m in masks.values()):
                return
            time.sleep(0.002)

    def wait_agent_saw_files(self):
        """Until the running agent holds open every file its globs match now, and has had
        0.2 s to checkpoint a file it opened since the last call (it saves within 0.1 s). A
        file renamed away, or an agent killed, microseconds after the file was created is not
        one any shipper can know of; real files live for seconds at least. The agent opens
        every new file it finds, also while its spool is full: not doing so within 10 s is
        reported."""
        if not self.agent_up:
            return
        paths = list((self.work / "logs").glob("*.log"))
        if self.second_active:
            paths += list((self.work / "logs2").glob("*.log"))
        want = {}
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in self.seen_by_agent:
                want[(st.st_dev, st.st_ino)] = path
        if not want:
            return
        fd_dir = f"/proc/{self.agent.pid}/fd"
        deadline = time.monotonic() + 10
        while want and time.monotonic() < deadline and self.agent.alive():
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                return
            for fd in fds:
                try:
                    o = os.stat(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if want.pop((o.st_dev, o.st_ino), None) is not None:
                    self.seen_by_agent.add((o.st_dev, o.st_ino))
            if want:
                time.sleep(0.01)
        if want and self.agent.alive():
            self.problems.append(f"step {self.current_step}: the agent had not opened "
                                 f"{', '.join(str(p.relative_to(self.work)) for p in want.values())} 10 s after "
                                 f"it appeared (log {self.agent.log_path})")
        time.sleep(0.2)

    def stop_agent(self, how):
        if self.agent is None:
            return
        self.wait_agent_saw_files()
        if how == "kill9":
            self.agent.kill9()
        else:
            self.wait_signal_handled(signal.SIGTERM)
            t = time.monotonic()
            age = t - self.agent_started_at
            after_reload = self.since_reload()
            rc = self.agent.terminate(timeout=20)
            if rc != 0:
                self.problems.append(f"agent SIGTERM at step {self.current_step}, {age * 1000:.0f} ms after its start"
                                     f"{after_reload}: "
                                     f"exit code {rc} after {time.monotonic() - t:.1f}s (README: stops cleanly, exit 0)"
                                     f"{' = killed by the signal: no handler installed at that moment' if rc == -15 else ''}"
                                     f"{' = did not stop within 20 s, SIGKILLed (the SIGTERM was lost?)' if rc == -9 else ''}; "
                                     f"log {self.agent.log_path}")
        self.agent = None

    def start_collector(self, small=False):
        assert self.collector is None
        cfgp = self.collector_yaml(small)
        self.collector = harness.Proc([self.collector_bin, "--config", cfgp], self.rundir,
                                      name=f"collector-{self.n_collector}")
        self.n_collector += 1
        self.collector_small = small
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = subprocess.run([str(self.collector_bin), "healthcheck", "--address",
                                f"127.0.0.1:{self.collector_port}", "--timeout-ms", "1000"], capture_output=True)
            if r.returncode == 0:
                return
            if not self.collector.alive():
                break
            time.sleep(0.2)
        raise StepFailure(f"collector not SERVING within 30 s (alive={self.collector.alive()}); "
                          f"log {self.collector.log_path}")

    def stop_collector(self, how):
        if self.collector is None:
            return
        if how == "kill9":
            self.collector.kill9()
        else:
            rc = self.collector.terminate(timeout=20)
            if rc != 0:
                self.problems.append(f"collector SIGTERM at step {self.current_step}: exit code {rc} "
                                     f"(README: exit 0); log {self.collector.log_path}")
        self.collector = None

    def since_reload(self):
        if self.last_signal and self.last_signal[0] == signal.SIGHUP and self.agent_started_at <= self.last_signal_at:
            return f", {(time.monotonic() - self.last_signal_at) * 1000:.0f} ms after the last SIGHUP (reload)"
        return ""

    @property
    def agent_up(self):
        return self.agent is not None

    # ---------------------------------------------------------------- files

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

    # ---------------------------------------------------------------- waiting

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
            elif not final and n is not None and n >= target:
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

    # ---------------------------------------------------------------- steps

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
        os.rename(p, p + ".1")
        self.model.rename(p, p + ".1")
        self.model.rotated_away(gen, self.current_step, self.agent_up)
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
            os.kill(self.agent.pid, signal.SIGHUP)
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

    # ---------------------------------------------------------------- the run

    def run(self):
        self.t0 = time.monotonic()
        self.setup_env()
        self.result = {"seed": self.seed, "steps": self.nsteps, "work": str(self.work), "lost": 0, "duplicated": 0,
                       "unexpected": 0, "passed": False, "error": None}
        try:
            for step in self.setup_steps:
                self.executed.append(("setup", self.do_setup_create(step), 0.0))
            self.start_collector(False)
            self.start_agent(wait_ready=True)
            self.executed.append(("start", "collector started, agent's first start (empty data_dir)", 0.0))
            for i, step in enumerate(self.plan, 1):
                self.current_step = i
                self.check_processes()
                t = time.monotonic()
                desc = self.exec_step(step)
                self.executed.append((i, desc, time.monotonic() - t))
                self.log(f"step {i:2d} {desc}")
            self.current_step = len(self.plan) + 1
            self.check_processes()
            self.final_phase()
        except StepFailure as e:
            self.result["error"] = f"step {self.current_step}: {e}"
        except Exception as e:  # a bug in the driver or the harness
            self.result["error"] = f"step {self.current_step}: driver error: {e!r}\n{traceback.format_exc()}"
        finally:
            self.shutdown()
        self.result["seconds"] = time.monotonic() - self.t0
        self.result["passed"] = (not self.result["error"] and not self.problems and self.result["lost"] == 0
                                 and self.result["duplicated"] == 0 and not self.result.get("dead_letters"))
        return self.result

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

    def shutdown(self):
        try:
            if self.agent:
                self.stop_agent("term")
            if self.collector:
                self.stop_collector("term")
        except Exception as e:  # noqa: BLE001
            self.notes.append(f"shutdown: {e!r}")

    def cleanup(self, keep):
        if keep:
            return
        try:
            self.psql_admin(f"DROP DATABASE IF EXISTS {self.db}")
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.work, ignore_errors=True)

    # ---------------------------------------------------------------- report

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
                   f"duplicated {r['duplicated']} (of which {r['unexpected']} not in the model)")
        if r["passed"] and not self.args.verbose:
            return "\n".join(out)
        without = f" --without {','.join(sorted(self.args.without))}" if self.args.without else ""
        if self.args.start_at != "end":
            without += f" --start-at {self.args.start_at}"
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


# =============================================================================================
# Main


def ensure_pg(pg):
    if not (pg.datadir / "postmaster.pid").exists():
        pg.start_server()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="directory with agent/logship-agent and collector/logship-collector")
    ap.add_argument("--seed", type=int, help="one seed (with --count/--minutes: the first of consecutive seeds)")
    ap.add_argument("--seeds", help="comma-separated seeds")
    ap.add_argument("--count", type=int, help="run this many seeds (consecutive from --seed, else random)")
    ap.add_argument("--steps", type=int, default=None, help=f"steps per seed (default {DEFAULT_STEPS})")
    ap.add_argument("--minutes", type=float, help="keep running new seeds until this much time has passed")
    ap.add_argument("--ci", action="store_true", help=f"fixed seeds {CI_SEEDS}, {CI_STEPS} steps each")
    ap.add_argument("--keep", action="store_true", help="keep every work dir (failed seeds' are always kept)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--describe", action="store_true", help="print the plan of each seed and exit")
    ap.add_argument("--work-root", help="where work dirs go (default: the temp dir)")
    ap.add_argument("--without", default="", help="comma-separated step kinds never to plan (e.g. small_frame, "
                    "to look past a known failure); part of the replay command")
    ap.add_argument("--start-at", choices=["end", "beginning"], default="end",
                    help="diagnostic: run the agent with start_at: beginning (then every byte, history "
                         "included, must ship), to look past start_at: end failures; default end")
    args = ap.parse_args()
    args.without = frozenset(k for k in args.without.split(",") if k)
    unknown = args.without - {"append", "create", "rotate", "copytruncate", "delete", "agent_kill9", "agent_term",
                              "collector_kill9", "collector_term", "pg_restart", "reload", "agent_id_change",
                              "spool_fill", "small_frame", "quiesce", "sleep"}
    if unknown:
        ap.error(f"--without: unknown step kinds {sorted(unknown)}")

    steps = args.steps or (CI_STEPS if args.ci else DEFAULT_STEPS)
    if args.ci:
        seeds = list(CI_SEEDS)
    elif args.seeds:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    else:
        base = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1 << 31)
        n = args.count if args.count else (1 << 30 if args.minutes else 1)
        seeds = (base + i for i in range(n))

    if args.describe:
        for seed in seeds:
            cfg, setup, plan, final = make_plan(seed, steps, args.without)
            cov = plan_coverage(cfg, plan)
            print(f"seed {seed}: config {json.dumps(cfg, sort_keys=True)}")
            for s in setup:
                print(f"   setup {json.dumps(s, sort_keys=True)}")
            for i, s in enumerate(plan, 1):
                print(f"  {i:4d} {json.dumps(s, sort_keys=True)}")
            print(f"   final {json.dumps(final)}")
            print(f"  covers: {', '.join(sorted(cov))}")
            print(f"  misses: {', '.join(k for k in KIND_LABELS if k not in cov)}")
            if args.count is None and args.seeds is None and not args.ci and args.minutes is None:
                break
        return 0

    if not args.bin_dir:
        ap.error("--bin-dir is required")
    sys.argv[1:] = ["--bin-dir", args.bin_dir]
    bins = harness.binaries_from_argv()

    t_start = time.monotonic()
    results = []
    covered_all = set()
    pg = harness.PostgresServer().start()
    try:
        for seed in seeds:
            if args.minutes and results and time.monotonic() - t_start > args.minutes * 60:
                break
            ensure_pg(pg)
            run = Run(args, seed, steps, pg, bins)
            if args.ci or args.verbose:
                cov = plan_coverage(run.cfg, run.plan)
                covered_all |= cov
                print(f"seed {seed}: covers {', '.join(sorted(cov))}", flush=True)
            res = run.run()
            results.append(res)
            text = run.report()
            print(text, flush=True)
            try:
                (run.work / "report.txt").write_text(text + "\n")
            except OSError:
                pass
            run.cleanup(keep=args.keep or not res["passed"])
            if args.minutes and time.monotonic() - t_start > args.minutes * 60:
                break
    finally:
        pg.stop()
    if args.ci:
        print(f"ci: step kinds not covered by the CI seeds: "
              f"{', '.join(k for k in KIND_LABELS if k not in covered_all) or 'none'}")
    passed = sum(1 for r in results if r["passed"])
    hours = (time.monotonic() - t_start) / 3600
    print(f"seeds: {len(results)}, passed: {passed}, failed: {len(results) - passed}, hours: {hours:.2f}, "
          f"lost lines: {sum(r['lost'] for r in results)}, duplicated lines: {sum(r['duplicated'] for r in results)}")
    if len(results) > 1:
        failed = [str(r["seed"]) for r in results if not r["passed"]]
        if failed:
            print(f"failed seeds: {','.join(failed)}")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
