"""The catalogue of hostile inputs (tests/integration/test_catalogue.py): one module per kind
of input. Importing the package registers every case in CASES; the order of the imports
below is the order of README's table and of the run."""

from catalogue.registry import CASES, REPO, slug
from catalogue import configuration, agent_files, spool, wire, sinks, hostile  # noqa: E402  (order matters)
from catalogue.environment import Env  # noqa: E402

__all__ = ["CASES", "REPO", "Env", "slug", "configuration", "agent_files", "spool", "wire", "sinks", "hostile"]
