"""Real journal files for tests: entries in journal export format → systemd-journal-remote."""

import pathlib
import struct
import subprocess
import time
import uuid

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT_ID = uuid.uuid4().hex
_monotonic = [1_000_000]


def _field(name: str, value: bytes) -> bytes:
    if b"\n" in value or any(b < 0x20 and b != 0x09 for b in value) or not _is_utf8(value):
        return name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
    return name.encode() + b"=" + value + b"\n"


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def message_for(seq: int) -> bytes:
    """The MESSAGE of entry `seq`: mostly one line; every 1000th multi-line, every 1000th+1 binary."""
    if seq % 1000 == 0:
        return f"seq={seq:08d} Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom".encode()
    if seq % 1000 == 1:
        return f"seq={seq:08d} binary ".encode() + b"\xff\xfe\x00end"
    return f"seq={seq:08d} GET /api/orders 200 12ms".encode()


def write_journal(path: pathlib.Path, first: int, count: int, realtime_base_us=None):
    """Writes entries first..first+count-1 into a new journal file at `path`; entry `seq` is
    dated realtime_base_us + seq (default: an hour ago)."""
    now_us = realtime_base_us if realtime_base_us is not None else int(time.time() * 1_000_000) - 3600 * 1_000_000
    chunks = []
    for seq in range(first, first + count):
        _monotonic[0] += 1
        unit = "web.service" if seq % 2 else "worker.service"
        chunks.append(b"".join([
            _field("__REALTIME_TIMESTAMP", str(now_us + seq).encode()),
            _field("__MONOTONIC_TIMESTAMP", str(_monotonic[0]).encode()),
            _field("_BOOT_ID", BOOT_ID.encode()),
            _field("_HOSTNAME", b"testhost"),
            _field("_PID", str(1000 + seq % 7).encode()),
            _field("_COMM", b"app"),
            _field("_SYSTEMD_UNIT", unit.encode()),
            _field("PRIORITY", str(seq % 8).encode()),
            _field("MESSAGE", message_for(seq)),
            b"\n",
        ]))
    r = subprocess.run([JOURNAL_REMOTE, f"--output={path}", "-"], input=b"".join(chunks),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError(f"systemd-journal-remote failed: {r.stdout.decode(errors='replace')}")
