"""The ``invasim cohort`` command: run a virtual cohort, or show it without running.

Contract:
    * :func:`add_cohort_parser` ``(sub)`` adds ``cohort SPEC`` to the ``invasim`` subparsers;
      :func:`cmd_cohort` ``(args) -> int`` runs it. ``--show`` prints the arms (what each
      sets) and a summary of the sampled parameters (median and 5–95 % range of the
      patients' actual draws) and runs nothing. The cluster options are those of ``invasim
      study run`` (``--workers``, ``--scheduler``, ``--jobqueue``, ``--jobqueue-opt``);
      ``--force`` writes over the outputs of a non-empty ``--out``.
    * Errors are :class:`~invasim.errors.InvasimError`: the ``invasim`` entry point prints
      one line and exits 2. ``python -m invasim.cohort.cli`` is the same command on its own
      (a shim with the same error handling).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_cohort_parser(sub) -> None:
    """Add ``cohort`` to the ``invasim`` subparsers."""
    c = sub.add_parser("cohort", help="virtual cohorts of the body model: therapy arms, "
                       "Kaplan-Meier survival, hazard ratios")  # fmt: skip
    _add_arguments(c)


def _add_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("spec", help="built-in cohort name or path to a cohort TOML file")
    c.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the spec, e.g. --set patients=40 (repeatable)")
    c.add_argument("--shedding", type=Path, metavar="TOML",
                   help="a tissue run's calibrated shedding (the shedding.toml of invasim "
                   "shedding RUN_DIR): its values replace the spec's (the centre of a sampled "
                   "one), before --set")
    c.add_argument("--show", action="store_true", help="print the arms and the sampled "
                   "parameters without running")  # fmt: skip
    c.add_argument("--out", type=Path, help="output folder (default cohorts/<name>-<time>)")
    c.add_argument("--force", action="store_true",
                   help="write the outputs into a non-empty --out (over earlier outputs)")
    c.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: "
                   "the cores); with --jobqueue, workers to start")  # fmt: skip
    c.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler")
    c.add_argument("--jobqueue", choices=("slurm", "pbs", "sge", "lsf"),
                   help="start workers as batch jobs")
    c.add_argument("--jobqueue-opt", dest="jobqueue_opts", action="append", default=[],
                   metavar="KEY=VALUE", help="dask-jobqueue option, e.g. cores=8 (repeatable)")
    c.add_argument("--chunk", type=int, default=None, metavar="N",
                   help="patients per Dask task, times the arms (default 25)")
    c.add_argument("--quiet", action="store_true", help="no progress bar, print only the folder")


def cmd_cohort(args: argparse.Namespace) -> int:
    """Run ``invasim cohort`` (or ``--show``)."""
    from invasim.cohort.spec import load_cohort_spec

    spec = load_cohort_spec(args.spec, args.overrides, shedding=args.shedding)
    if args.show:
        print(describe(spec))
        return 0
    from invasim.cohort.runner import DEFAULT_CHUNK, run_cohort
    from invasim.cohort.survival import format_survival
    from invasim.errors import InvasimError
    from invasim.study.runner import parse_jobqueue_options

    if args.jobqueue_opts and not args.jobqueue:
        raise InvasimError("--jobqueue-opt needs --jobqueue slurm|pbs|sge|lsf")
    if args.chunk is not None and args.chunk < 1:
        raise InvasimError(f"--chunk {args.chunk}: give at least 1")
    jobqueue = None
    if args.jobqueue:
        jobqueue = {"kind": args.jobqueue, **parse_jobqueue_options(args.jobqueue_opts)}
    out, patients, surv = run_cohort(
        spec, args.out, workers=args.workers, scheduler=args.scheduler, jobqueue=jobqueue,
        force=args.force, progress=not args.quiet, chunk=args.chunk or DEFAULT_CHUNK,
    )  # fmt: skip
    if args.quiet:
        print(out)
        return 0
    print(f"cohort {spec.name}: {spec.patients} patients × {len(spec.arm_names)} arms; "
          f"follow-up {spec.follow_up_days:g} days from diagnosis")  # fmt: skip
    print(format_survival(surv))
    print(f"results in {out}")
    return 0


def describe(spec) -> str:
    """The arms and the sampled parameters of a cohort, as ``--show`` prints them."""
    import numpy as np

    from invasim.cohort.spec import sample_table

    lines = [f"cohort {spec.name!r}: {spec.description}".rstrip(": "),
             f"  {spec.patients} patients per arm, seed {spec.seed}, follow-up "
             f"{spec.follow_up_days:g} days after diagnosis"]  # fmt: skip
    for key, value in spec.body.items():
        lines.append(f"  body.{key} = {value!r}  # {spec.sources.get('body.' + key, '')}")
    lines.append("arms (the first is the reference; every arm has the same patients):")
    for i, (name, arm) in enumerate(spec.arms.items()):
        sets = {k: v for k, v in arm.items() if k not in ("description", "source")}
        what = ", ".join(f"{k} = {v!r}" for k, v in sets.items()) or "the base"
        ref = " (reference)" if i == 0 else ""
        lines.append(f"  {name}{ref}: {what}")
        if arm.get("description"):
            lines.append(f"      {arm['description']}")
    if spec.sample:
        table = sample_table(spec)
        lines.append(f"sampled parameters (over the {spec.patients} patients: median "
                     "[5 %, 95 %]):")  # fmt: skip
        for name, d in spec.sample.items():
            q = np.quantile(table[name].to_numpy(float), [0.5, 0.05, 0.95])
            args = ", ".join(f"{k}={getattr(d, k):g}" for k in
                             ("median", "sigma", "mean", "sd", "low", "high")
                             if getattr(d, k) is not None)  # fmt: skip
            lines.append(f"  {name}: {q[0]:.4g} [{q[1]:.4g}, {q[2]:.4g}]  {d.dist}({args})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m invasim.cohort.cli SPEC ...``: the command on its own (same errors)."""
    from invasim.errors import InvasimError

    parser = argparse.ArgumentParser(prog="invasim cohort")
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_cohort(args)
    except InvasimError as exc:
        sys.stderr.write(f"invasim: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("invasim: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
