"""A private Docker daemon for one test: data under a temp dir, host networking only.

dockerd runs with its data root, exec root, socket and config under a fresh temp dir,
`--bridge=none --iptables=false --ip-forward=false --ip-masq=false`, so it creates no
bridge and touches no firewall rule or sysctl; containers use `--network host` (or none).
It runs at nice 19, and so does everything it starts (builds included). stop() removes
every container, stops the daemon and deletes its files (and the empty `docker` cgroups it
made); network_state() lets a test check that the machine's network settings are as they were.

Base images cannot be pulled here: import_base_images() `docker import`s the cached
debootstrap tarball (debian_base.py) under the names a Dockerfile's FROM lines use.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

import debian_base  # noqa: E402

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"   # Debian's client, the daemon's own version (not /usr/local/bin)


class DockerError(RuntimeError):
    pass


def network_state():
    """Links, addresses, routes, forwarding and firewall rules: must be the same after."""
    state = {}
    for name, cmd in {"links": ["ip", "-o", "link", "show"], "addrs": ["ip", "-o", "addr", "show"],
                      "routes": ["ip", "route", "show", "table", "all"],
                      "iptables": ["iptables-save"], "nft": ["nft", "list", "ruleset"]}.items():
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            out = r.stdout if r.returncode == 0 else f"(exit {r.returncode})"
        except (OSError, subprocess.TimeoutExpired) as e:
            out = f"({e.__class__.__name__})"
        # counters and generated comments change by themselves
        out = re.sub(r"\[\d+:\d+\]", "", out)
        out = "\n".join(line for line in out.splitlines() if not line.startswith("#"))
        state[name] = out
    for key in ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
                "net/bridge/bridge-nf-call-iptables"):
        try:
            state[key] = pathlib.Path("/proc/sys", key).read_text().strip()
        except OSError:
            state[key] = "(absent)"
    return state


class DockerDaemon:
    def __init__(self, name="logship-dockerd"):
        for tool in (DOCKERD, DOCKER):
            if not os.access(tool, os.X_OK):
                raise DockerError(f"{tool} not found (Debian's docker.io; scripts/install-deps.sh)")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-", dir="/tmp"))
        self.sock = self.dir / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.sock}",
                    "DOCKER_CONFIG": str(self.dir / "cli"), "DOCKER_BUILDKIT": "0"}
        self.proc = None
        self.new_cgroups = []

    def start(self, timeout=60):
        (self.dir / "daemon.json").write_text("{}\n")
        self.new_cgroups = [h for h in pathlib.Path("/sys/fs/cgroup").iterdir()
                            if h.is_dir() and not (h / "docker").exists()]
        self.proc = harness.Proc(
            ["nice", "-n", "19", DOCKERD,
             f"--data-root={self.dir / 'data'}", f"--exec-root={self.dir / 'exec'}",
             f"--pidfile={self.dir / 'docker.pid'}", f"--host=unix://{self.sock}",
             f"--config-file={self.dir / 'daemon.json'}",
             "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
             "--log-level=warn"],
            self.dir, name="dockerd")
        deadline = time.monotonic() + timeout
        while True:
            r = self.docker("version", "--format", "{{.Server.Version}}", check=False)
            if r.returncode == 0:
                self.version = r.stdout.strip()
                return self
            if not self.proc.alive() or time.monotonic() > deadline:
                raise DockerError(f"dockerd did not come up:\n{self.proc.log_tail(40)}")
            time.sleep(0.3)

    def docker(self, *args, check=True, timeout=None, log=None):
        cmd = [DOCKER, *map(str, args)]
        if log:
            with open(log, "ab") as out:
                r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                   timeout=timeout)
            r.stdout = ""
        else:
            r = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and r.returncode:
            detail = r.stdout + (r.stderr or "") if not log else _tail(log, 40)
            raise DockerError(f"docker {' '.join(map(str, args))} exited {r.returncode}:\n{detail}")
        return r

    def inspect(self, what):
        return json.loads(self.docker("inspect", what).stdout)[0]

    def import_base_images(self, dockerfile):
        """docker import the cached bookworm minbase tarball under every FROM name in
        dockerfile (build stages excluded); returns the names."""
        text = pathlib.Path(dockerfile).read_text()
        args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
        stages, names = set(), []
        for image, stage in re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I):
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), image)
            if image not in stages and image not in names:
                names.append(image)
            if stage:
                stages.add(stage)
        for name in names:
            if not re.fullmatch(r"debian:bookworm(-slim)?", name):
                raise DockerError(f"no local way to make base image {name}")
        tarball = debian_base.minbase_tarball()
        self.docker("import", "--change", 'CMD ["bash"]', tarball, names[0])
        for name in names[1:]:
            self.docker("tag", names[0], name)
        return names

    def check_exec(self, image):
        """`docker exec` (and so every HEALTHCHECK) must start inside the container. It does
        not where dockerd runs in a chroot that is not its mount namespace's root: runc's
        pivot_root then puts the container's root where the chroot's was, while setns(2)
        starts an exec'd process at the namespace's root, the host's / (README, "Fresh
        Debian 12"). Raises DockerError there, naming the cause."""
        cid = self.docker("run", "-d", "--network", "none", "--entrypoint", "sleep", image,
                          "300").stdout.strip()
        try:
            want = self.inspect(cid)["Config"]["Hostname"]
            r = self.docker("exec", cid, "cat", "/etc/hostname", check=False)
            got = r.stdout.strip() if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()}"
            if got != want:
                raise DockerError(
                    f"docker exec does not start inside the container (its /etc/hostname: {got!r}, "
                    f"the container's: {want!r}): dockerd runs in a chroot, not at the root of its "
                    "mount namespace, so health checks would run the host's files. Enter the root "
                    "with pivot_root, as scripts/check-fresh-debian.sh does.")
        finally:
            self.docker("rm", "-f", cid, check=False)

    def stop(self):
        """Remove all containers, stop the daemon, delete its files. Safe to call twice."""
        if self.proc is None:
            return
        try:
            if self.proc.alive():
                ids = self.docker("ps", "-aq", check=False).stdout.split()
                if ids:
                    self.docker("rm", "-f", *ids, check=False, timeout=60)
                self.proc.popen.send_signal(signal.SIGTERM)
                try:
                    self.proc.popen.wait(60)
                except subprocess.TimeoutExpired:
                    self.proc.kill9()
            self._kill_leftovers()
        finally:
            self.proc = None
            debian_base.unmount_under(self.dir)
            subprocess.run(["rm", "-rf", "--one-file-system", str(self.dir)])
            # the (empty) "docker" cgroups dockerd made, where there were none before
            for hierarchy in self.new_cgroups:
                subprocess.run(["find", str(hierarchy / "docker"), "-depth", "-type", "d",
                                "-exec", "rmdir", "{}", ";"], capture_output=True)

    def _kill_leftovers(self):
        """containerd and its shims run in sessions of their own: end any that still name
        this daemon's directory on their command line (only ours do)."""
        marker = str(self.dir).encode()
        for pid_dir in pathlib.Path("/proc").glob("[0-9]*"):
            try:
                if marker in (pid_dir / "cmdline").read_bytes():
                    os.kill(int(pid_dir.name), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def _tail(path, n):
    try:
        return "\n".join(pathlib.Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""
