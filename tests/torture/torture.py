#!/usr/bin/python3
"""Seeded, randomized, model-checked torture test of logship: every line written must arrive
in PostgreSQL exactly once (tests/torture/README.md).

    torture.py --bin-dir /tmp/torture-bin --seed 17            # one seed, 40 steps
    torture.py --bin-dir build --seeds 1,2,3 --steps 25
    torture.py --bin-dir build --minutes 30                    # new seeds until time is up
    torture.py --bin-dir build --ci                            # fixed seeds, <= 4 minutes
    torture.py --seed 17 --describe                            # print the plan, run nothing
    torture.py --bin-dir build --minutes 30 --with-opensearch  # also check a real OpenSearch index

Every decision comes from random.Random streams seeded by the seed (configuration, steps and
the bytes written each have their own stream), never from timing, so `--seed N --steps K`
replays the same steps and the same file contents, and `--steps K` with a smaller K replays a
prefix of the same run. Exit 0 when every seed passes, 1 otherwise.
"""

import argparse
import json
import pathlib
import random
import signal
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from plan import KIND_LABELS, make_plan, plan_coverage  # noqa: E402
from seed_run import Run  # noqa: E402

DEFAULT_STEPS = 40
# --ci: fixed seeds and step count, chosen with --describe so that together they cover every
# step kind (printed per seed); about a minute each on a 2-core machine.
CI_SEEDS = [44, 36, 210, 35]
CI_STEPS = 16
# What --without accepts: the kinds gen_step plans (agent_start and collector_start are always
# kept: a process left down must come back).
STEP_KINDS = {"append", "create", "rotate", "copytruncate", "delete", "agent_kill9", "agent_term",
              "collector_kill9", "collector_term", "pg_restart", "reload", "agent_id_change",
              "spool_fill", "small_frame", "quiesce", "sleep"}


def ensure_pg(pg):
    if not (pg.datadir / "postmaster.pid").exists():
        pg.start_server()


def parse_args():
    """(parser, args); args.without is a frozenset of step kinds."""
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
    ap.add_argument("--with-opensearch", action="store_true",
                    help="add a required elasticsearch sink on a real OpenSearch node (tests/engines), one "
                         "index per seed, and check it line for line like PostgreSQL")
    args = ap.parse_args()
    args.search_node = None
    args.without = frozenset(k for k in args.without.split(",") if k)
    unknown = args.without - STEP_KINDS
    if unknown:
        ap.error(f"--without: unknown step kinds {sorted(unknown)}")
    return ap, args


def seeds_of(args):
    """The seeds to run: --ci's, --seeds', or consecutive from --seed (else random)."""
    if args.ci:
        return list(CI_SEEDS)
    if args.seeds:
        return [int(s) for s in args.seeds.split(",") if s.strip()]
    base = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1 << 31)
    n = args.count if args.count else (1 << 30 if args.minutes else 1)
    return (base + i for i in range(n))


def describe(args, seeds, steps):
    """--describe: print each seed's plan and what it covers; run nothing."""
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


def run_seeds(args, seeds, steps, bins, t_start):
    """Runs each seed (until --minutes is up), printing its report; (results, step kinds covered)."""
    results = []
    covered_all = set()
    pg = harness.PostgresServer().start()
    node = None
    if args.with_opensearch:
        sys.path.insert(0, str(REPO / "tests" / "engines"))
        import engines  # noqa: E402  (only with --with-opensearch: it needs Java)
        node = args.search_node = engines.OpenSearchNode().start()
        print(f"opensearch {node.version} at {node.url}", flush=True)
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
        if node:
            node.stop()
    return results, covered_all


def print_summary(args, results, covered_all, t_start):
    """The last lines (the very last is always `seeds: …`, tests/torture/README.md); the exit code."""
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


def main():
    # SIGTERM (a CI timeout, kill): unwind, so PostgreSQL and any search node are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap, args = parse_args()
    steps = args.steps or (CI_STEPS if args.ci else DEFAULT_STEPS)
    seeds = seeds_of(args)
    if args.describe:
        return describe(args, seeds, steps)

    if not args.bin_dir:
        ap.error("--bin-dir is required")
    sys.argv[1:] = ["--bin-dir", args.bin_dir]
    bins = harness.binaries_from_argv()

    t_start = time.monotonic()
    results, covered_all = run_seeds(args, seeds, steps, bins, t_start)
    return print_summary(args, results, covered_all, t_start)


if __name__ == "__main__":
    sys.exit(main())
