#!/usr/bin/env python3
"""The .deb and .rpm packages: build, lint, inspect, install into a clean Debian root, purge.

1. cpack builds logship-agent and logship-collector as .deb and .rpm from the build tree.
2. lintian finds no errors in the .debs.
3. dpkg-deb / rpm -qp: the expected files, modes, conffiles, maintainer scripts, and a
   dependency for every shared library the binaries link (shlibdeps / rpm's ELF requires).
4. A clean Debian bookworm root (debootstrap minbase, cached; see debian_base.py) with
   systemd: the packages' dependencies from apt, then `dpkg -i` of both .debs. Checks the
   logship user and its groups, modes and owners, --version, --check-config of the installed
   configuration as user logship, `systemd-analyze verify` and `security` on the installed
   units; a changed conffile survives a reinstall; remove keeps configuration and state,
   purge removes both.

Usage: test_packages.py --bin-dir BUILD_DIR   (the CMake build tree, already built)
Needs root (chroot, unshare), cpack, lintian, rpm, debootstrap, systemd-analyze.
"""

import argparse
import glob
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import debian_base  # noqa: E402

# systemd-analyze security exposure (0 best .. 10 worst) above which the test fails;
# README.md quotes the measured values.
MAX_EXPOSURE = {"logship-agent": 2.0, "logship-collector": 1.5}

COMMON_FILES = ["/etc/logship", "/usr/bin/{bin}", "/usr/lib/systemd/system/{bin}.service",
                "/usr/share/doc/{bin}", "/usr/share/doc/{bin}/LICENSE", "/usr/share/doc/{bin}/README.md",
                "/usr/share/doc/{bin}/changelog.gz", "/usr/share/doc/{bin}/copyright",
                "/usr/share/man/man1/{bin}.1.gz"]
EXPECTED_FILES = {
    "logship-agent": COMMON_FILES + ["/etc/logship/agent.yaml", "/var/lib/logship"],
    "logship-collector": COMMON_FILES + ["/etc/logship/collector.yaml", "/var/lib/logship-collector"],
}
CONFFILE = {"logship-agent": "/etc/logship/agent.yaml",
            "logship-collector": "/etc/logship/collector.yaml"}
# Each program its own system user and state directory; only the agent's reads the logs.
USER = {"logship-agent": "logship", "logship-collector": "logship-collector"}
STATE = {"logship-agent": "/var/lib/logship", "logship-collector": "/var/lib/logship-collector"}

passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed}: {what}", flush=True)


def run(cmd, check=True, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if check and r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}\n"
                             f"--- stdout ---\n{r.stdout[-4000:]}\n--- stderr ---\n{r.stderr[-4000:]}")
    return r


BINARIES = {}   # package -> its binary in the build tree (set in main)


def files_for(pkg):
    return sorted(f.format(bin=pkg) for f in EXPECTED_FILES[pkg])


def needed_sonames(binary):
    out = run(["readelf", "-d", binary]).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def host_package_of(soname):
    """The Debian package that provides soname on this machine (what dpkg-shlibdeps finds)."""
    for line in run(["ldconfig", "-p"]).stdout.splitlines():
        m = re.match(rf"\s*{re.escape(soname)} \(libc6,x86-64[^)]*\) => (\S+)", line)
        if m:
            for path in (m.group(1), os.path.realpath(m.group(1))):
                for candidate in (path, re.sub(r"^/usr/lib/", "/lib/", path)):
                    r = run(["dpkg-query", "-S", candidate], check=False)
                    if r.returncode == 0:
                        return r.stdout.split(":")[0]
    raise AssertionError(f"no installed package provides {soname}")


# ---------------------------------------------------------------------------- build
def build_packages(build_dir, out_dir):
    t0 = time.monotonic()
    # cpack first builds the tree ("preinstall"): a no-op after the build, niced anyway.
    r = run(["nice", "-n", "19", "cpack", "--config", build_dir / "CPackConfig.cmake", "-B", out_dir,
             "-G", "DEB;RPM"])
    pkgs = {}
    for pkg in EXPECTED_FILES:
        debs = glob.glob(str(out_dir / f"{pkg}_*.deb"))
        rpms = glob.glob(str(out_dir / f"{pkg}-*.rpm"))
        assert len(debs) == 1 and len(rpms) == 1, f"{pkg}: expected one .deb and one .rpm\n{r.stdout}"
        pkgs[pkg] = (pathlib.Path(debs[0]), pathlib.Path(rpms[0]))
    ok(f"cpack built 4 packages in {time.monotonic() - t0:.1f} s: "
       + ", ".join(p.name for pair in pkgs.values() for p in pair))
    return pkgs


def project_version(build_dir):
    text = (build_dir / "CPackConfig.cmake").read_text()
    return re.search(r'set\(CPACK_PACKAGE_VERSION "([^"]+)"\)', text).group(1)


# ---------------------------------------------------------------------------- .deb
def check_lintian(debs):
    r = run(["lintian", "--fail-on", "error", "--display-level", ">=warning", *debs], check=False)
    report = "\n".join(line for line in (r.stdout + r.stderr).splitlines()
                       if "running with root privileges" not in line)
    assert r.returncode == 0, f"lintian found errors:\n{report}"
    ok("lintian: no errors" + (f" (warnings:\n{report}\n)" if report.strip() else ", no warnings"))


def check_deb(pkg, deb, version, source_dir):
    fields = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends"]).stdout
    info = dict(line.split(": ", 1) for line in fields.splitlines())
    assert info["Package"] == pkg and info["Version"] == version, info
    listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
    files = sorted("/" + line.split()[-1].lstrip("./").rstrip("/") for line in listing)
    files = [f for f in files if f in files_for(pkg) or not any(
        other.startswith(f + "/") for other in files_for(pkg))]  # drop parents like /usr
    assert files == files_for(pkg), f"{pkg}.deb files:\n{files}\nexpected:\n{files_for(pkg)}"
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="logship-deb-ctrl-"))
    try:
        run(["dpkg-deb", "-e", deb, tmp])
        assert (tmp / "conffiles").read_text().split() == [CONFFILE[pkg]], "conffiles"
        for script in ("postinst", "prerm", "postrm"):
            run(["sh", "-n", tmp / script])
        assert "adduser --system" in (tmp / "postinst").read_text()
    finally:
        shutil.rmtree(tmp)
    depends = [d.strip().split()[0] for d in info["Depends"].split(",")]
    binary = BINARIES[pkg]
    wanted = sorted({host_package_of(s) for s in needed_sonames(binary)} | {"adduser", "procps"})
    missing = [p for p in wanted if p not in depends]
    assert not missing, f"{pkg}.deb Depends lacks {missing}: {info['Depends']}"
    changelog = (source_dir / "packaging/debian/changelog").read_text().splitlines()[0]
    assert f"({version})" in changelog, \
        f"packaging/debian/changelog's newest entry is not {version}: {changelog}"
    ok(f"{deb.name}: files, conffiles, scripts, Depends on {', '.join(wanted)}")


# ---------------------------------------------------------------------------- .rpm
def check_rpm(pkg, rpm, version):
    name, ver = run(["rpm", "-qp", "--qf", "%{NAME} %{VERSION}", rpm]).stdout.split()
    assert (name, ver) == (pkg, version), (name, ver)
    files = sorted(run(["rpm", "-qpl", rpm]).stdout.split())
    assert files == files_for(pkg), f"rpm -qpl {rpm.name}:\n{files}\nexpected:\n{files_for(pkg)}"
    assert run(["rpm", "-qpc", rpm]).stdout.split() == [CONFFILE[pkg]], "rpm -qpc"
    attrs = run(["rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME} "
                 "%{FILEGROUPNAME} %{FILEFLAGS:fflags}\n]", rpm]).stdout
    assert f"{CONFFILE[pkg]} -rw-r----- root {USER[pkg]} cn" in attrs, attrs
    assert f"{STATE[pkg]} drwxr-x--- {USER[pkg]} {USER[pkg]}" in attrs, attrs
    requires = run(["rpm", "-qpR", rpm]).stdout.split("\n")
    for soname in needed_sonames(BINARIES[pkg]):
        assert f"{soname}()(64bit)" in requires, f"rpm -qpR {rpm.name} lacks {soname}:\n{requires}"
    for tool in ("/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/bin/kill"):
        assert tool in requires, f"rpm -qpR {rpm.name} lacks {tool}"
    scripts = run(["rpm", "-qp", "--scripts", rpm]).stdout
    assert "useradd --system" in scripts and "systemctl --no-reload disable --now" in scripts, scripts
    ok(f"{rpm.name}: rpm -qpl, -qpc, -qpR ({len(needed_sonames(BINARIES[pkg]))} "
       "libraries + useradd/groupadd), scriptlets")


# ---------------------------------------------------------------------------- chroot
class Root:
    """A throwaway Debian root. Commands run in a private mount namespace (unshare), so the
    /proc and apt cache mounts they need vanish with them and can never leak."""

    def __init__(self, tarball):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="logship-pkgroot-"))
        self.apt_cache = debian_base.CACHE_DIR / "chroot-apt"
        run(["tar", "--numeric-owner", "-xf", tarball, "-C", self.dir])
        shutil.copy("/etc/resolv.conf", self.dir / "etc/resolv.conf")
        policy = self.dir / "usr/sbin/policy-rc.d"   # never start services in the root
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)

    def run(self, *cmd, userspec=None, check=True, apt_cache=False):
        mounts = 'mount -t proc proc "$R/proc"'
        if apt_cache:
            for sub in ("archives/partial", "lists/partial"):
                (self.apt_cache / sub).mkdir(parents=True, exist_ok=True)
            mounts += (f' && mount --bind {self.apt_cache}/archives "$R/var/cache/apt/archives"'
                       f' && mount --bind {self.apt_cache}/lists "$R/var/lib/apt/lists"')
        chroot = ["chroot"] + ([f"--userspec={userspec}"] if userspec else [])
        script = f'R="$1"; shift; {mounts} && exec {" ".join(chroot)} "$R" "$@"'
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        return run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script,
                    "sh", self.dir, *cmd], check=check, env=env)

    def path(self, p):
        return self.dir / p.lstrip("/")

    def remove(self):
        debian_base.unmount_under(self.dir)  # nothing should be mounted; belt and braces
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.dir)])


def stat_of(root, path):
    """(mode, uid, gid); ids are the root's own (see id_of), not this machine's names."""
    st = root.path(path).stat()
    return st.st_mode & 0o7777, st.st_uid, st.st_gid


def id_of(root, name, db):
    for line in root.path(f"/etc/{db}").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def install_packages(root, pkgs, version):
    """A clean bookworm root with systemd and the packages' dependencies, then dpkg -i of both;
    the .deb paths inside the root."""
    t0 = time.monotonic()
    depends = [run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip() for deb, _ in pkgs.values()]
    with_lock = debian_base._locked(debian_base.CACHE_DIR / ".chroot-apt.lock")
    with with_lock:
        root.run("apt-get", "-q", "update", apt_cache=True)
        root.run("apt-get", "-q", "satisfy", "-y", "--no-install-recommends", "systemd", *depends,
                 apt_cache=True)
        root.run("apt-get", "-q", "autoclean", apt_cache=True)  # keeps the cache bounded
    ok(f"clean bookworm root with systemd and the packages' dependencies in {time.monotonic() - t0:.0f} s")

    (root.path("/tmp/pkgs")).mkdir()
    for deb, _ in pkgs.values():
        shutil.copy(deb, root.path(f"/tmp/pkgs/{deb.name}"))
    debs = [f"/tmp/pkgs/{deb.name}" for deb, _ in pkgs.values()]
    root.run("dpkg", "-i", *debs)
    for pkg in pkgs:
        status = root.run("dpkg-query", "-W", "-f", "${Status} ${Version}", pkg).stdout
        assert status == f"install ok installed {version}", status
    ok("dpkg -i logship-agent logship-collector")
    return debs


def check_users_and_files(root):
    """System users and groups, state directories, conffiles' owners and modes, the fleet token."""
    ids = {}
    for pkg, name in USER.items():
        user = id_of(root, name, "passwd")
        group = id_of(root, name, "group")
        assert user and group, f"no {name} user/group"
        uid, gid = int(user[2]), int(group[2])
        ids[pkg] = (uid, gid)
        assert uid < 1000 and user[5] == STATE[pkg] and user[6] == "/usr/sbin/nologin", user
        assert stat_of(root, STATE[pkg]) == (0o750, uid, gid), stat_of(root, STATE[pkg])
        assert stat_of(root, CONFFILE[pkg]) == (0o640, 0, gid), (CONFFILE[pkg], stat_of(root, CONFFILE[pkg]))
        conffiles = root.run("dpkg-query", "-W", "-f", "${Conffiles}", pkg).stdout.split()
        assert CONFFILE[pkg] in conffiles, f"{pkg}: {CONFFILE[pkg]} not a conffile: {conffiles}"
    for extra in ("adm", "systemd-journal"):
        members = id_of(root, extra, "group")[3].split(",")
        assert "logship" in members, f"logship not in group {extra}: {members}"
        assert "logship-collector" not in members, f"the collector's user is in {extra}: {members}"
    # The collector refuses unauthenticated agents: the install made it a fleet token.
    token = "/etc/logship/tokens/fleet"
    assert stat_of(root, token) == (0o640, 0, ids["logship-collector"][1]), stat_of(root, token)
    assert len(root.path(token).read_text().strip()) == 64
    ok("system users logship (in adm, systemd-journal) and logship-collector (in neither), their "
       "state directories 0750; conffiles 0640 root:<user>; a fleet token 0640 root:logship-collector")


def check_enablement(root):
    """The install enables no unit; systemctl enable does. The wants directory."""
    wants = root.path("/etc/systemd/system/multi-user.target.wants")
    enabled = sorted(p.name for p in wants.glob("logship-*")) if wants.exists() else []
    assert not enabled, f"units enabled by the install itself: {enabled}"
    root.run("systemctl", "enable", "logship-agent.service")   # as an operator would (offline)
    assert (wants / "logship-agent.service").is_symlink(), "systemctl enable made no symlink"
    ok("units not enabled by the install; systemctl enable works")
    return wants


def check_installed_binaries(root, version):
    """--version, and --check-config as each package's user."""
    for pkg, conf in CONFFILE.items():
        out = root.run(f"/usr/bin/{pkg}", "--version").stdout
        assert version in out, out
        r = root.run(f"/usr/bin/{pkg}", "--check-config", "--config", conf,
                     userspec=f"{USER[pkg]}:{USER[pkg]}", check=False)
        assert r.returncode == 0, f"{pkg} --check-config {conf}: {r.returncode}\n{r.stdout}{r.stderr}"
    ok("--version and --check-config (as each package's user) on the installed configuration")


def check_reinstall(root, debs, wants):
    # A changed conffile is kept when the package is installed again (same as an upgrade
    # that doesn't touch it); so are its owner and mode.
    conf = root.path(CONFFILE["logship-agent"])
    conf.write_text(conf.read_text() + "# changed by the operator\n")
    root.run("dpkg", "-i", *debs)
    assert conf.read_text().endswith("# changed by the operator\n"), "conffile overwritten on reinstall"
    assert stat_of(root, CONFFILE["logship-agent"])[0] == 0o640
    assert (wants / "logship-agent.service").is_symlink(), "reinstall disabled the agent"
    assert not (wants / "logship-collector.service").is_symlink(), "reinstall enabled the collector"
    ok("a reinstall keeps a changed conffile, its mode, and the enabled/disabled state")
    return conf


def check_remove_purge(root, pkgs, conf):
    # remove: binaries go, configuration and state stay; purge: everything goes.
    spool = root.path("/var/lib/logship/spool-0001")
    spool.write_text("spooled\n")
    root.run("dpkg", "--remove", *pkgs)
    for pkg in pkgs:
        assert not root.path(f"/usr/bin/{pkg}").exists() and \
            not root.path(f"/usr/lib/systemd/system/{pkg}.service").exists(), pkg
    assert conf.exists() and spool.exists(), "remove deleted configuration or state"
    ok("dpkg --remove: binaries and units gone, configuration and state kept")
    root.run("dpkg", "--purge", *pkgs)
    for pkg in pkgs:
        r = root.run("dpkg-query", "-W", "-f", "${Status}", pkg, check=False)
        assert r.returncode != 0 or "not-installed" in r.stdout, r.stdout
    for gone in ("/etc/logship", "/var/lib/logship", "/var/lib/logship-collector", "/usr/share/doc/logship-agent",
                 "/etc/systemd/system/multi-user.target.wants/logship-agent.service"):
        assert not os.path.lexists(root.path(gone)), f"{gone} left after purge"
    ok("dpkg --purge: /etc/logship (tokens too), the state directories and the enablement removed (users stay)")


def check_installed(root, pkgs, version):
    """Install, check, reinstall, remove and purge both packages in a clean root."""
    debs = install_packages(root, pkgs, version)
    check_users_and_files(root)
    wants = check_enablement(root)
    check_installed_binaries(root, version)
    check_units(root)
    conf = check_reinstall(root, debs, wants)
    check_remove_purge(root, pkgs, conf)


def check_units(root):
    env = {**os.environ, "MANPATH": str(root.path("/usr/share/man")), "SYSTEMD_LOG_COLOR": "0"}
    units = [f"{pkg}.service" for pkg in CONFFILE]
    r = run(["systemd-analyze", f"--root={root.dir}", "verify", *units], check=False, env=env)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        f"systemd-analyze verify:\n{r.stdout}{r.stderr}"
    scores = []
    for pkg in CONFFILE:
        r = run(["systemd-analyze", "security", "--offline=yes", f"--root={root.dir}",
                 "--no-pager",
                 f"{pkg}.service"], check=False, env=env)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", r.stdout)
        assert m, f"systemd-analyze security {pkg}:\n{r.stdout}{r.stderr}"
        score = float(m.group(1))
        assert score <= MAX_EXPOSURE[pkg], \
            f"{pkg}.service exposure {score} > {MAX_EXPOSURE[pkg]}:\n{r.stdout}"
        scores.append(f"{pkg} {score} {m.group(2)}")
    ok("systemd-analyze verify: clean; security exposure: " + ", ".join(scores))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    build_dir = args.bin_dir.resolve()
    source_dir = pathlib.Path(__file__).resolve().parents[2]
    if os.geteuid() != 0:
        sys.exit("test_packages: needs root (chroot, unshare, dpkg in a root)")
    for tool in ("cpack", "lintian", "rpm", "rpmbuild", "dpkg-shlibdeps", "debootstrap",
                 "systemd-analyze", "unshare", "readelf"):
        if not shutil.which(tool):
            sys.exit(f"test_packages: {tool} not found (scripts/install-deps.sh installs it)")
    BINARIES["logship-agent"] = build_dir / "agent/logship-agent"
    BINARIES["logship-collector"] = build_dir / "collector/logship-collector"
    version = project_version(build_dir)

    t0 = time.monotonic()
    out_dir = pathlib.Path(tempfile.mkdtemp(prefix="logship-packages-"))
    root = None
    try:
        pkgs = build_packages(build_dir, out_dir)
        check_lintian([deb for deb, _ in pkgs.values()])
        for pkg, (deb, rpm) in pkgs.items():
            check_deb(pkg, deb, version, source_dir)
            check_rpm(pkg, rpm, version)
        tarball = debian_base.minbase_tarball()
        root = Root(tarball)
        check_installed(root, pkgs, version)
    finally:
        if root:
            root.remove()
        shutil.rmtree(out_dir, ignore_errors=True)
    print(f"packages: {passed} passed, 0 failed ({time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
