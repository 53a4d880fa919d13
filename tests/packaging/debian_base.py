"""A Debian bookworm minbase root file system, made with debootstrap and cached as a tarball.

No registry can be reached from the test machines, so the packaging tests make their own
"debian:bookworm" instead of pulling it: `debootstrap --variant=minbase` from the Debian
mirror apt is configured with (read from apt itself, never hard-coded), packed as a tar
under /var/cache/logship-test/ and reused while it is younger than MAX_AGE_DAYS. Both the
package test (a chroot) and the Docker test (`docker import`) use it.

Standard library only. Environment: LOGSHIP_TEST_CACHE=dir overrides the cache directory.
"""

import contextlib
import fcntl
import hashlib
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

SUITE = "bookworm"
CACHE_DIR = pathlib.Path(os.environ.get("LOGSHIP_TEST_CACHE", "/var/cache/logship-test"))
MAX_AGE_DAYS = 30
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


class BaseImageError(RuntimeError):
    """The base root file system could not be made (no mirror, debootstrap failed, ...)."""


def apt_repositories():
    """[(uri, suite, component)] of the binary package indexes apt is configured with.

    `apt-get indextargets` reads /etc/apt/sources.list and sources.list.d (both formats,
    honouring Enabled: no), so this is exactly what apt itself uses.
    """
    r = subprocess.run(["apt-get", "indextargets", "--no-release-info",
                        "--format", "$(REPO_URI)\t$(RELEASE)\t$(COMPONENT)\t$(TARGET_OF)\t$(IDENTIFIER)"],
                       capture_output=True, text=True)
    if r.returncode:
        raise BaseImageError(f"apt-get indextargets failed: {r.stderr.strip()}")
    repos = []
    for line in r.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 5:
            continue
        uri, suite, component, target_of, identifier = fields
        if target_of == "deb" and identifier == "Packages" and uri.startswith(("http://", "https://")):
            entry = (uri.rstrip("/"), suite, component)
            if entry not in repos:
                repos.append(entry)
    return repos


def debian_sources(suite=SUITE):
    """(mirror, sources.list text) for `suite`: the mirror apt uses for `suite` main, plus
    the -updates and -security entries apt has, so images built on it get fixes too."""
    repos = apt_repositories()
    mirrors = [uri for uri, s, c in repos if s == suite and c == "main"]
    if not mirrors:
        raise BaseImageError(f"apt has no '{suite} main' repository configured "
                             "(see /etc/apt/sources.list.d); cannot debootstrap")
    lines = []
    for wanted in (suite, f"{suite}-updates", f"{suite}-security"):
        for uri, s, c in repos:
            if s == wanted and c == "main":
                line = f"deb {uri} {s} main"
                if line not in lines:
                    lines.append(line)
    return mirrors[0], "\n".join(lines) + "\n"


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _log(msg):
    print(f"debian-base: {msg}", flush=True)


def unmount_under(path):
    """Lazily unmount whatever is mounted at or below path (deepest first)."""
    prefix = str(pathlib.Path(path).resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    for point in sorted((p for p in points if p == prefix or p.startswith(prefix + "/")),
                        key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def minbase_tarball(suite=SUITE) -> pathlib.Path:
    """Path of a cached tar of a `suite` minbase root; made first when missing or stale."""
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root")
    mirror, sources = debian_sources(suite)
    key = hashlib.sha256(f"{suite}\n{DEB_ARCH}\nminbase\n{sources}".encode()).hexdigest()[:12]
    name = f"debian-{suite}-minbase-{DEB_ARCH}-{key}.tar"
    tarball = CACHE_DIR / name
    with _locked(CACHE_DIR / ".lock"):
        if tarball.exists() and time.time() - tarball.stat().st_mtime < MAX_AGE_DAYS * 86400:
            _log(f"cached {tarball}")
            return tarball
        for old in CACHE_DIR.glob(f"debian-{suite}-minbase-{DEB_ARCH}-*.tar"):
            old.unlink()
        if not shutil.which("debootstrap"):
            raise BaseImageError("debootstrap is not installed (scripts/install-deps.sh installs it)")
        t0 = time.monotonic()
        _log(f"debootstrap --variant=minbase {suite} from {mirror} (cached afterwards in {CACHE_DIR})")
        work = pathlib.Path(tempfile.mkdtemp(prefix="logship-debootstrap-", dir=CACHE_DIR))
        root = work / "root"
        try:
            log = work / "debootstrap.log"
            with open(log, "w") as out:
                r = subprocess.run(["nice", "-n", "19", "debootstrap", "--variant=minbase",
                                    f"--arch={DEB_ARCH}", suite, str(root), mirror],
                                   stdout=out, stderr=subprocess.STDOUT)
            if r.returncode:
                raise BaseImageError(f"debootstrap failed ({r.returncode}):\n"
                                     + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
            (root / "etc/apt/sources.list").write_text(sources)
            for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for p in (root / leftover).glob("*"):
                    if p.is_file():
                        p.unlink()
            (root / "etc/hostname").write_text("localhost\n")
            partial = CACHE_DIR / (name + ".partial")
            subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."],
                           check=True)
            partial.rename(tarball)
        finally:
            unmount_under(work)
            subprocess.run(["rm", "-rf", "--one-file-system", str(work)])
        _log(f"made {tarball} ({tarball.stat().st_size / 2**20:.0f} MiB) "
             f"in {time.monotonic() - t0:.0f} s")
        return tarball


if __name__ == "__main__":
    try:
        print(minbase_tarball())
    except BaseImageError as e:
        sys.exit(f"debian-base: {e}")
