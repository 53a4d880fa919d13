"""The catalogue's registry: each case is a function under @case(name, given, outcome), kept in
CASES in the order its module is imported (catalogue/__init__.py), which is the order of
README's "What happens when..." table and of the run."""

import os
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[3]
ROOT = os.geteuid() == 0  # tmpfs mounts (disk full, read-only), setpriv (an unreadable file)
CASES = []


class Case:
    def __init__(self, name, given, outcome, fn):
        self.name, self.given, self.outcome, self.fn = name, given, outcome, fn


def case(name, given, outcome):
    def register(fn):
        CASES.append(Case(name, given, outcome, fn))
        return fn
    return register


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
