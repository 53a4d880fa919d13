"""Starting, stopping and watching the agent and the collector (part of Run)."""

import os
import re
import signal
import subprocess
import time
import urllib.request

import harness


class StepFailure(Exception):
    """A step could not be carried out (e.g. a process would not start): the seed fails with it."""


class ProcessControl:
    """The agent's and the collector's processes: starts, stops, readiness and crash checks
    (a mixin of Run)."""

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

    def wait_reload_applied(self, starts_before):
        """Until the agent has restarted its sources with the new configuration (one more
        "agent ID started" line than `starts_before`). A reload is asynchronous: until then the
        old sources still read, so bytes written meanwhile to a removed source's files may ship,
        as they would for an operator who writes while reloading."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.agent.alive():
            if self.agent_starts_logged() > starts_before:
                return
            time.sleep(0.02)
        self.notes.append(f"agent did not log 'started' within 20 s of a reload (step {self.current_step})")

    def agent_starts_logged(self):
        try:
            return len(re.findall(rb"agent \S+ started", self.agent.log_path.read_bytes()))
        except OSError:
            return 0

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
