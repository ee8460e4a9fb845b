"""The ``invasim study`` command group: ``show`` and ``run``, and room for more.

A further subcommand lives in its own module, which defines ``add_parser(study_sub)`` (adds its
parser to the ``study`` subparsers) and ``cmd(args) -> int``; listing the module in
:data:`MODULES` is all it takes to add it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

#: subcommand -> module defining ``add_parser(study_sub)`` and ``cmd(args)``; one line each
MODULES: dict[str, str] = {
    "show": "invasim.study.cli",
    "run": "invasim.study.cli",
    "sensitivity": "invasim.study.sensitivity",
    "calibrate": "invasim.study.calibrate",
}


def _add_spec(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="built-in study name or path to a study TOML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value of the study spec, e.g. --set replicates=4 (repeatable)",
    )


def add_parser(study_sub) -> None:
    """Add ``study show`` and ``study run`` to the ``study`` subparsers."""
    s = study_sub.add_parser("show", help="print a study's runs without running them")
    _add_spec(s)
    s.add_argument("--rows", type=int, default=10, metavar="N", help="runs listed (default 10)")

    r = study_sub.add_parser("run", help="run a study on a local Dask cluster or a cluster")
    _add_spec(r)
    r.add_argument("--out", type=Path, help="study folder (default studies/<name>-<time>)")
    r.add_argument(
        "--workers", type=int, metavar="N",
        help="local worker processes (default: the cores); with --jobqueue, workers to start",
    )
    r.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler")
    r.add_argument(
        "--jobqueue", choices=("slurm", "pbs", "sge", "lsf"), help="start workers as batch jobs"
    )
    r.add_argument(
        "--jobqueue-opt", dest="jobqueue_opts", action="append", default=[], metavar="KEY=VALUE",
        help="dask-jobqueue option, e.g. cores=8, memory=16GB, queue=normal (repeatable)",
    )
    r.add_argument("--resume", action="store_true", help="continue the study in --out")
    r.add_argument("--csv", action="store_true", help="also write results.csv")
    r.add_argument("--quiet", action="store_true", help="no progress bar, print only the folder")


def add_study_parser(sub) -> None:
    """Add the ``study`` command group to the ``invasim`` subparsers."""
    st = sub.add_parser("study", help="replicates, sweeps and sampling designs on Dask")
    study_sub = st.add_subparsers(
        dest="study_command", required=True, parser_class=type(st)
    )
    for module in dict.fromkeys(MODULES.values()):
        importlib.import_module(module).add_parser(study_sub)


def cmd_study(args: argparse.Namespace) -> int:
    """Run the ``study`` subcommand named in ``args.study_command``."""
    return importlib.import_module(MODULES[args.study_command]).cmd(args)


def cmd(args: argparse.Namespace) -> int:
    """``study show`` and ``study run``."""
    return {"show": _cmd_show, "run": _cmd_run}[args.study_command](args)


def _cmd_show(args: argparse.Namespace) -> int:
    import pandas as pd

    from invasim.study.design import describe, expand
    from invasim.study.spec import load_study_spec, short_value

    spec = load_study_spec(args.spec, args.overrides)
    design = expand(spec)
    print(describe(spec, design))
    for name, arm in spec.arms.items():  # what each arm changes
        sets = ", ".join(f"{k} = {short_value(v)}" for k, v in arm.set.items()) or "the base"
        print(f"  arm {name!r}: {sets}" + (f"  # {arm.description}" if arm.description else ""))
    n = max(0, args.rows)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        if n and len(design):
            print(design.head(n).to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if len(design) > n:
        print(f"... and {len(design) - n} more runs")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from invasim.errors import InvasimError
    from invasim.study.runner import parse_jobqueue_options, run_study
    from invasim.study.spec import load_study_spec

    if args.jobqueue_opts and not args.jobqueue:
        raise InvasimError("--jobqueue-opt needs --jobqueue slurm|pbs|sge|lsf")
    if args.resume and args.out is None:
        raise InvasimError("--resume needs --out DIR, the study folder to continue")
    jobqueue = None
    if args.jobqueue:
        jobqueue = {"kind": args.jobqueue, **parse_jobqueue_options(args.jobqueue_opts)}
    spec = load_study_spec(args.spec, args.overrides)
    try:
        table = run_study(
            spec, args.out, workers=args.workers, scheduler=args.scheduler, jobqueue=jobqueue,
            resume=args.resume, progress=not args.quiet, csv=args.csv,
        )
    except KeyboardInterrupt:
        where = f" --out {args.out}" if args.out else " --out DIR"
        sys.stderr.write(
            f"invasim: interrupted; continue with: invasim study run {args.spec}{where} --resume\n"
        )
        return 130
    folder = Path(table.attrs.get("folder", args.out or "."))
    runs = table.drop_duplicates("run_id")
    failed = runs[runs["status"] != "completed"]
    analysed = _sensitivity(spec, folder, table, failed, args.quiet)
    if args.quiet:
        print(folder)
        return 0
    print(f"study {spec.name}: {len(runs)} runs, {len(failed)} failed")
    for _, row in failed.head(5).iterrows():
        print(f"  {row['run_id']} failed: {row['error']}", file=sys.stderr)
    for metric, text in analysed:
        print(f"{spec.design.kind} indices of {metric} (sensitivity_{metric}.csv/.png):")
        print(text)
    if spec.arms:
        _print_arm_summary(spec, folder, table)
    print(f"results in {folder}")
    return 0


def _print_arm_summary(spec, folder: Path, table) -> None:
    """The per-arm summary that ``run_study`` wrote (``summary.csv``), as a printed table."""
    from invasim.study.results import arm_summary, format_arm_summary

    summary = arm_summary(table, spec.arm_names, spec.varied)
    if summary.empty:
        return
    times = summary["time_min"].dropna().unique()
    when = f" at t = {times[0]:g} min" if len(times) == 1 else " at each arm's last kept time"
    ref = spec.arm_names[0]
    print(f"per arm{when}: mean, sd and 95 % CI of the mean; diff_*: paired difference from "
          f"{ref!r} (summary.csv):")
    print(format_arm_summary(summary))


def _sensitivity(spec, folder: Path, table, failed, quiet: bool) -> list[tuple[str, str]]:
    """A sobol or morris study's indices of every kept metric, written beside its table.

    Skipped (with a note) when runs failed: the estimators need every design point.
    """
    if spec.design.kind not in ("sobol", "morris"):
        return []
    if len(failed):
        if not quiet:
            print(f"note: {len(failed)} runs failed; no sensitivity indices "
                  f"(rerun them with --resume, then invasim study sensitivity {folder})",
                  file=sys.stderr)  # fmt: skip
        return []
    from invasim.study.sensitivity import format_table, write_sensitivity

    skip = {"run_id", "arm", "point", "replicate", "seed", "time_min", "status", "wall_s",
            "error"}
    varied = set(spec.vary)
    metrics = [c for c in table.columns if c not in skip and c not in varied]
    out = []
    for metric in metrics:
        t, _, _ = write_sensitivity(folder, metric, spec.design.kind)
        out.append((metric, format_table(t)))
    return out
