"""The plan of one seed: configuration, setup and steps, a pure function of (seed, steps).

Every decision comes from random.Random streams seeded by the seed, never from timing: the
order of the draws is part of the replay contract (tests/torture/README.md).
"""

import math
import random

MAIN_NAMES = ["app.log", "web.log", "db.log", "worker.log", "cron.log"]
SECOND_NAMES = ["svc.log", "audit.log", "jobs.log"]
START_PATTERNS = [  # (multiline.start_pattern, how a start line begins)
    (r"^\d{4}-\d{2}-\d{2}", "date"),
    (r"^\[\d{4}-", "bracket"),
    (r"^(INFO|WARN|ERROR) ", "level"),
]

KIND_LABELS = ["append", "create", "create_rename_in", "create_empty", "rotate_up", "rotate_down",
               "rotate_post_write", "copytruncate", "delete_up", "delete_down", "recreate_same_name",
               "agent_kill9", "agent_term", "agent_start", "collector_kill9", "collector_term",
               "collector_start", "pg_restart", "reload_add", "reload_remove", "reload_same",
               "agent_id_change", "spool_fill", "small_frame", "quiesce", "sleep"]


def log_uniform(rng, lo, hi):
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


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


class PlanFiles:
    """What a step may act on: the main source's files, every file, and the main files that
    may be rotated now (see step_options)."""

    def __init__(self, main, everything, rot_ok):
        self.main, self.everything, self.rot_ok = main, everything, rot_ok


def step_options(st):
    """[(weight, kind)] of the steps that make sense in the state st, and the files they see."""
    main = st.exists("logs/")
    everything = st.exists()
    rot_ok = []
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
    return opts, PlanFiles(main, everything, rot_ok)


def gen_step(rng, st, cfg, without=()):
    opts, files = step_options(st)
    opts = [(w, k) for w, k in opts if k not in without or k in ("agent_start", "collector_start")]
    kind = rng.choices([k for _, k in opts], weights=[w for w, _ in opts])[0]
    step = {"kind": kind, "seed": rng.getrandbits(32)}
    # Each planner draws from rng in a fixed order: changing one changes every later step of
    # every seed (plans are replayed by seed).
    planner = STEP_PLANNERS.get(kind)
    if planner:
        planner(step, rng, st, cfg, files)
    return step


# ------------------------------------------------------------------ one planner per step kind
# planner(step, rng, st, cfg, files): fills in step's parameters and updates st.


def plan_agent_start(step, rng, st, cfg, files):
    step["wait_ready"] = rng.random() < 0.5
    st.agent_up = True


def plan_collector_start(step, rng, st, cfg, files):
    st.collector_up, st.collector_small = True, False


def plan_append(step, rng, st, cfg, files):
    everything = files.everything
    step["files"] = rng.sample(everything, min(len(everything), rng.choice([1, 1, 1, 2, 3])))
    step["lines"] = rng.choice([rng.randint(1, 10), rng.randint(1, 80), rng.randint(1, 80), rng.randint(200, 900)])


def plan_create(step, rng, st, cfg, files):
    free = st.free("logs", MAIN_NAMES) + (st.free("logs2", SECOND_NAMES) if rng.random() < 0.35 else [])
    if not st.free("logs", MAIN_NAMES):
        free = st.free("logs2", SECOND_NAMES)
    step["file"] = rel = rng.choice(free)
    step["mode"] = rng.choice(["open", "open", "rename_in", "empty"])
    step["header"] = rng.random() < 0.5
    step["lines"] = rng.randint(0, 40)
    st.files[rel] = True


def plan_rotate(step, rng, st, cfg, files):
    step["file"] = rel = rng.choice(files.rot_ok)
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


def plan_copytruncate(step, rng, st, cfg, files):
    step["file"] = rng.choice(files.main)
    step["header"] = rng.random() < 0.7
    step["lines"] = rng.randint(0, 30)
    st.settle()


def plan_delete(step, rng, st, cfg, files):
    step["file"] = rel = rng.choice(files.main)
    step["agent_up"] = st.agent_up
    step["recreate"] = rng.choice(["now", "later", "no"]) if st.agent_up else rng.choice(["now", "no"])
    step["header"] = rng.random() < 0.7
    step["lines"] = rng.randint(0, 20)
    if st.agent_up:
        st.settle()
    st.files[rel] = step["recreate"] != "no"


def plan_agent_stop(step, rng, st, cfg, files):
    step["restart"] = rng.random() < 0.6
    step["wait_ready"] = rng.random() < 0.5
    st.agent_up = step["restart"]


def plan_collector_stop(step, rng, st, cfg, files):
    step["restart"] = rng.random() < 0.5
    st.collector_up = step["restart"]
    st.collector_small = False


def plan_reload(step, rng, st, cfg, files):
    acts = ["same"] + (["remove"] if st.second_active and st.can_quiesce() else []) + \
        (["add", "add"] if not st.second_active else [])
    step["action"] = rng.choice(acts)
    if step["action"] == "remove":
        st.settle()
        st.second_active = False
    elif step["action"] == "add":
        st.second_active = True


def plan_agent_id_change(step, rng, st, cfg, files):
    step["how"] = rng.choice(["term", "kill9"])
    st.agent_ids += 1


def plan_spool_fill(step, rng, st, cfg, files):
    main = files.main
    step["file"] = rng.choice(main) if main and rng.random() < 0.7 else "logs/fill.log"
    st.files[step["file"]] = True
    st.collector_up, st.collector_small = True, False


def plan_small_frame(step, rng, st, cfg, files):
    main = files.main
    step["file"] = rng.choice(main) if main and rng.random() < 0.7 else "logs/big.log"
    st.files[step["file"]] = True
    step["kib"] = rng.randint(150, 400)
    st.collector_up, st.collector_small = True, True


def plan_quiesce(step, rng, st, cfg, files):
    st.settle()


def plan_sleep(step, rng, st, cfg, files):
    step["seconds"] = round(rng.uniform(0.05, 1.5), 2)


STEP_PLANNERS = {  # pg_restart has no parameters
    "agent_start": plan_agent_start,
    "collector_start": plan_collector_start,
    "append": plan_append,
    "create": plan_create,
    "rotate": plan_rotate,
    "copytruncate": plan_copytruncate,
    "delete": plan_delete,
    "agent_kill9": plan_agent_stop,
    "agent_term": plan_agent_stop,
    "collector_kill9": plan_collector_stop,
    "collector_term": plan_collector_stop,
    "reload": plan_reload,
    "agent_id_change": plan_agent_id_change,
    "spool_fill": plan_spool_fill,
    "small_frame": plan_small_frame,
    "quiesce": plan_quiesce,
    "sleep": plan_sleep,
}


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
