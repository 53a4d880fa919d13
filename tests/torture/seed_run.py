"""Running one seed: the environment, the step loop and the result (tests/torture/README.md).

Run is assembled from one mixin per concern, each in its own module: configs (the config
files), processes (agent and collector), file_writes (log files and the model), waiting
(quiesce), steps (one method per step kind), final_check (final phase and comparison) and
report. They share the state that Run.__init__ sets up.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import traceback
import urllib.request

import harness
import model as M
from configs import ConfigFiles
from file_writes import FileWrites
from final_check import FinalCheck
from plan import make_plan
from processes import ProcessControl, StepFailure
from report import Report
from steps import Steps
from waiting import Waiting


def source_model_config(name, s):
    ml = None
    if s["multiline"]:
        m = s["multiline"]
        ml = M.MultilineConfig(m["start_pattern"], m["max_lines"], m["max_bytes"], m["timeout_ms"])
    return M.SourceConfig(name, s["max_line_bytes"] or (1 << 20), ml)


class Run(ConfigFiles, ProcessControl, FileWrites, Waiting, Steps, FinalCheck, Report):
    """One seed against the real binaries: run() executes the plan and returns the result,
    report() describes it, cleanup() removes what a passing seed left."""

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
        self.es_index = f"torture-{seed}"

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
            if self.args.search_node:
                self.args.search_node.request("DELETE", f"/{self.es_index}-*")
            self.psql_admin(f"DROP DATABASE IF EXISTS {self.db}")
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.work, ignore_errors=True)
