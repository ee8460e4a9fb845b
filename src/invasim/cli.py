"""The command line: parses arguments, calls the public API, prints.

Every error a user can cause is one line on standard error and exit status 2; an interrupted
run exits with 130 and says how to resume it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from invasim.cohort.cli import add_cohort_parser, cmd_cohort
from invasim.errors import InvasimError
from invasim.io.shedding import add_parser as add_shedding_parser
from invasim.io.shedding import cmd as cmd_shedding
from invasim.study.cli import add_study_parser, cmd_study


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"invasim: error: {self.prog.split()[-1]}: {message}\n")
        raise SystemExit(2)


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. --set params.gamma=0.01 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``invasim`` argument parser."""
    from invasim import __version__

    p = _Parser(prog="invasim", description="Simulate tumour invasion and metastasis.")
    p.add_argument("--version", action="version", version=f"invasim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("scenarios", help="list the built-in scenarios, one line each")

    s = sub.add_parser("show", help="print a scenario fully resolved, as TOML")
    s.add_argument("scenario", help="built-in scenario name or path to a TOML file")
    _add_set(s)

    v = sub.add_parser("validate", help="check a scenario file and exit 0 if it is valid")
    v.add_argument("scenario", help="built-in scenario name or path to a TOML file")
    _add_set(v)

    r = sub.add_parser("run", help="run a scenario, resume a run, or branch one")
    r.add_argument("scenario", nargs="?", help="built-in scenario name or path to a TOML file")
    r.add_argument("--out", type=Path, help="run directory (default runs/<scenario>-<time>)")
    r.add_argument("--seed", type=int, help="random seed (default: the scenario's, or fresh)")
    _add_set(r)
    r.add_argument("--until", type=float, metavar="MINUTES", help="simulated end time, min")
    r.add_argument("--quiet", action="store_true", help="no progress bar, print only the path")
    r.add_argument("--overwrite", action="store_true", help="clear a non-empty --out first")
    r.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR")
    r.add_argument(
        "--from",
        dest="branch_from",
        type=Path,
        metavar="DIR",
        help="branch a new run from the checkpoint of DIR at --at",
    )
    r.add_argument("--at", type=float, metavar="MINUTES", help="checkpoint time to branch from")

    ru = sub.add_parser("rules", help="print a scenario's behaviour rules in words")
    ru.add_argument("scenario", help="built-in scenario name or path to a TOML file")
    _add_set(ru)
    ru.add_argument(
        "--plot", type=Path, metavar="DIR", help="write each rule's response curve as a PNG in DIR"
    )

    mv = sub.add_parser("movie", help="write a movie of a run: MP4 (H.264), or an animated GIF")
    mv.add_argument("run_dir", type=Path, help="a run directory")
    mv.add_argument(
        "--color-by",
        metavar="WHAT",
        help="agent runs: type (default), state, phase, clone, mode (migration mode), or a "
        "numeric cell column",
    )
    mv.add_argument("--field", help="the field drawn (default: the run's first field)")
    mv.add_argument("--fps", type=int, default=8, metavar="N", help="frames per second (8)")
    mv.add_argument("--no-bm", dest="bm", action="store_false",
                    help="agent runs: leave out the basement membrane (drawn by default)")
    mv.add_argument("--section", choices=("auto", "xy", "xz"), default="auto",
                    help="3-D agent runs: the plane through the middle drawn (auto: x-z when "
                    "the run has a basement membrane, else x-y)")
    mv.add_argument(
        "--format", dest="fmt", choices=("mp4", "gif"), help="default: from --out, else mp4"
    )
    mv.add_argument("--out", type=Path, help="output file (default RUN_DIR/movie.mp4)")
    mv.add_argument(
        "--workers", type=int, metavar="N", help="processes drawing frames (default: the cores)"
    )
    mv.add_argument("--quiet", action="store_true", help="no progress bar, print only the path")

    ex = sub.add_parser(
        "export", help="write a run for ParaView (vtk), scanpy (anndata), CSV or pcdl (physicell)"
    )
    ex.add_argument("run_dir", type=Path, help="a run directory")
    ex.add_argument(
        "--format",
        required=True,
        choices=("vtk", "anndata", "csv", "physicell"),
        help="vtk (ParaView), anndata (.h5ad, scanpy), csv (plain tables) or physicell "
        "(PhysiCell's output folder, for pcdl)",
    )
    ex.add_argument(
        "--out",
        type=Path,
        help="output folder (anndata: a .h5ad file or a folder); default RUN_DIR/export/FORMAT/",
    )
    ex.add_argument(
        "--time",
        dest="times",
        type=float,
        action="append",
        metavar="MINUTES",
        help="export only this snapshot time (repeatable; default all)",
    )
    ex.add_argument(
        "--field",
        dest="fields",
        action="append",
        metavar="NAME",
        help="export only this field (repeatable; default all; vtk, csv and physicell)",
    )
    ex.add_argument("--overwrite", action="store_true", help="replace an earlier export")

    add_study_parser(sub)
    add_shedding_parser(sub)
    add_cohort_parser(sub)
    pl = sub.add_parser(
        "plot", help="redraw a run's summary figure, or a 300 dpi figure of one snapshot"
    )
    pl.add_argument("run_dir", type=Path, help="a run directory")
    pl.add_argument(
        "--time",
        type=float,
        metavar="MINUTES",
        help="a figure of the snapshot at this time (default with --color-by/--field: the last)",
    )
    pl.add_argument(
        "--color-by",
        metavar="WHAT",
        help="agent runs: type (default), state, phase, clone, mode (migration mode), or a "
        "numeric cell column",
    )
    pl.add_argument("--field", help="the field drawn (default: the run's first field)")
    pl.add_argument(
        "--out",
        type=Path,
        help="output image (default RUN_DIR/summary.png; a snapshot: RUN_DIR/figure-tTmin.png)",
    )
    pl.add_argument("--dpi", type=int, metavar="N", help="snapshot figure resolution (300)")
    pl.add_argument("--no-bm", dest="bm", action="store_false",
                    help="agent runs: leave out the basement membrane (drawn by default)")
    pl.add_argument("--section", choices=("auto", "xy", "xz"), default="auto",
                    help="3-D agent runs: the plane through the middle drawn (auto: x-z when "
                    "the run has a basement membrane, else x-y)")
    pl.add_argument(
        "--muller",
        action="store_true",
        help="agent runs: the Muller plot of clone frequencies over time (default "
        "RUN_DIR/muller.png)",
    )
    pl.add_argument("--top", type=int, metavar="N", help="with --muller: clones drawn apart (10)")

    rp = sub.add_parser("report", help="write a self-contained HTML report of a run")
    rp.add_argument("run_dir", type=Path, help="a run directory")
    rp.add_argument("--out", type=Path, help="the HTML file (default RUN_DIR/report.html)")
    rp.add_argument(
        "--times",
        metavar="T,...",
        help="snapshot times to show, min, comma-separated (default: 4 evenly spaced)",
    )
    rp.add_argument("--no-movie", action="store_true", help="leave the movie out")
    rp.add_argument("--quiet", action="store_true", help="no progress bar, print only the path")

    cm = sub.add_parser("compare", help="overlay the metrics of several runs (arms, replicates)")
    cm.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="run directories")
    cm.add_argument("--metric", action="append", default=[], metavar="NAME",
                    help="a metric to compare (repeatable; default: all the runs share)")
    cm.add_argument("--out", type=Path, default=Path("comparison"),
                    help="output folder for comparison.csv and comparison.png "
                         "(default ./comparison)")  # fmt: skip

    rd = sub.add_parser("readouts", help="recompute a run's readouts from its stored snapshots")
    rd.add_argument("run_dir", type=Path, nargs="?", help="a run directory")
    rd.add_argument("--name", dest="names", action="append", metavar="NAME",
                    help="a readout (repeatable; default: all that apply; see --list)")
    rd.add_argument("--time", dest="times", type=float, action="append", metavar="MINUTES",
                    help="only the snapshot at this time (repeatable; default: all)")
    rd.add_argument("--out", type=Path, help="also write the table to FILE.csv or FILE.parquet")
    rd.add_argument("--list", action="store_true",
                    help="list the readouts (of RUN_DIR's last snapshot if given) and exit")

    im = sub.add_parser("import", help="convert another simulator's project into a scenario")
    ims = im.add_subparsers(dest="source", required=True, parser_class=_Parser)
    ph = ims.add_parser(
        "physicell",
        help="a PhysiCell 1.14 project (settings XML, rules CSV, cells CSV) as an agent scenario",
        description="Convert a PhysiCell 1.14 project into an invasim agent scenario. What "
        "cannot be imported is listed on standard error and at the top of the TOML.",
    )
    ph.add_argument("project", type=Path, metavar="CONFIG_DIR_OR_XML",
                    help="the project folder, its config folder, or PhysiCell_settings.xml")
    ph.add_argument("--out", type=Path, metavar="FILE.toml",
                    help="the scenario (default ./<project name>.toml); the rules and cells "
                         "CSVs go next to it as <name>_cell_rules.csv, <name>_cells.csv")
    ph.add_argument("--overwrite", action="store_true", help="replace existing output files")
    vf = sub.add_parser(
        "verify",
        help="run the validation cases (quick forms): a check of this install or of a change",
        description="Run the validation cases of every mechanism against their theory or "
        "published values: case, measured, expected ± tolerance, pass/fail. Exit status 0 "
        "when all pass, 1 when any fails.",
    )
    vf.add_argument("-k", dest="patterns", action="append", metavar="PATTERN",
                    help="only the cases whose name or mechanism contains PATTERN (or matches "
                         "it, with * ? [ ]); repeatable")
    vf.add_argument("--list", action="store_true", help="list the cases (no run) and exit")
    vf.add_argument("--json", action="store_true", help="one JSON object per case and line")
    vf.add_argument("--full", action="store_true",
                    help="the full forms (what the validation tests run; minutes)")  # fmt: skip
    return p


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from invasim.config import builtin_names, load_scenario

    for name in builtin_names():
        sc = load_scenario(name)
        print(f"{name:<20} {sc.mesh.dim}D  {sc.model:<18} {sc.description}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from invasim.config import dump_toml, load_scenario

    sys.stdout.write(dump_toml(load_scenario(args.scenario, args.overrides)))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from invasim.config import load_scenario

    sc = load_scenario(args.scenario, args.overrides)
    mesh = sc.build_mesh()
    print(
        f"{args.scenario}: valid ({sc.model}, {mesh.dim}D, {mesh.n_voxels} voxels, "
        f"{sc.time.steps(sc.time.end_min)} steps of {sc.time.dt_min:g} min)"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from invasim import Simulation, load_scenario

    progress = not args.quiet
    if args.resume is not None:
        extra = args.scenario or args.branch_from or args.overrides or args.out or args.at
        if extra or args.seed is not None or args.overwrite:
            raise InvasimError("--resume DIR takes only --until and --quiet")
        run = Simulation.resume(args.resume, until=args.until, progress=progress)
    elif args.branch_from is not None:
        if args.at is None or args.out is None or args.scenario:
            raise InvasimError("--from DIR needs --at MINUTES and --out NEW, and no scenario")
        sim = Simulation.branch(args.branch_from, args.at, args.overrides, seed=args.seed)
        run = sim.run(until=args.until, out=args.out, progress=progress, overwrite=args.overwrite)
    else:
        if not args.scenario:
            raise InvasimError("run needs a scenario (see `invasim scenarios`), --resume or --from")
        if args.at is not None:
            raise InvasimError("--at is used with --from DIR")
        sim = Simulation(load_scenario(args.scenario, args.overrides), seed=args.seed)
        run = sim.run(until=args.until, out=args.out, progress=progress, overwrite=args.overwrite)
    if args.quiet:
        print(run.path)
        return 0
    last = run.metrics.iloc[-1]
    readout = ", ".join(f"{k} = {last[k]:.5g}" for k in run.metrics.columns)
    print(f"run {run.meta['status']} in {run.meta['wall_s']:.1f} s: {readout}")
    print(f"results in {run.path}")
    return 0


def _cmd_rules(args: argparse.Namespace) -> int:
    import re

    from invasim.config import load_scenario
    from invasim.errors import RunDirError
    from invasim.io.atomic import os_error_line, write_atomic
    from invasim.rules import describe, plot_response

    sc = load_scenario(args.scenario, args.overrides)
    rule_set = getattr(sc.model_params, "rule_set", None)
    if rule_set is None:
        print("no rules")
        return 0
    table, base, d = rule_set.table, rule_set.base, rule_set.dictionary
    for line in describe(table, base):
        print(line)
    for note in rule_set.compiled.notes:
        print(f"note: {note}")
    if args.plot is not None:
        try:
            args.plot.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(os_error_line(exc, args.plot)) from None
        for i, rule in enumerate(table.rules, start=1):
            b0 = float(base[d.cell_type(rule.cell_type), d.behaviour(rule.behaviour).index])
            fig = plot_response(rule, b0, d)
            words = f"{rule.cell_type} {rule.signal} {rule.direction} {rule.behaviour}"
            slug = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")
            path = args.plot / f"rule{i:02d}_{slug}.png"
            write_atomic(path, lambda f, fig=fig: fig.savefig(f, format="png", dpi=100))
            print(f"wrote {path}")
    return 0


def _cmd_movie(args: argparse.Namespace) -> int:
    import warnings

    from invasim import load_run
    from invasim.errors import ConfigError
    from invasim.viz.cells import has_cells
    from invasim.viz.movie import MovieFallbackWarning, write_movie

    run = load_run(args.run_dir)
    if args.color_by is not None and not has_cells(run):
        raise ConfigError(f"--color-by applies to agent runs; {run.path} has no cells to colour")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MovieFallbackWarning)
        out = write_movie(run, args.out, field=args.field, color_by=args.color_by or "type",
                          fps=args.fps, fmt=args.fmt or "auto", workers=args.workers,
                          progress=not args.quiet, bm=args.bm, section=args.section)
    for w in caught:
        if issubclass(w.category, MovieFallbackWarning):
            sys.stderr.write(f"invasim: note: {w.message}\n")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    print(out)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from invasim import load_run
    from invasim.viz.summary import write_summary

    run = load_run(args.run_dir)
    if args.muller:
        if args.time is not None or args.color_by is not None or args.field is not None:
            raise InvasimError("--muller draws every snapshot; drop --time, --color-by, --field")
        from invasim.viz.common import DPI as SCREEN_DPI
        from invasim.viz.muller import TOP, muller_plot

        print(muller_plot(run, args.out, top=TOP if args.top is None else args.top,
                          dpi=SCREEN_DPI if args.dpi is None else args.dpi))  # fmt: skip
        return 0
    if args.top is not None:
        raise InvasimError("--top goes with --muller")
    snapshot = (args.time, args.color_by, args.field) != (None, None, None)
    if not snapshot and (not args.bm or args.section != "auto"):
        raise InvasimError("--no-bm and --section shape the snapshot figure; add --time, "
                           "--color-by or --field")
    if not snapshot:
        if args.dpi is not None:
            raise InvasimError("--dpi sets the snapshot figure's resolution; add --time, "
                               "--color-by or --field (the summary is drawn at 150 dpi)")
        print(write_summary(run, args.out))
        if args.out is None:  # a run with the body process also gets its body figure
            from invasim.viz.body import write_body_if_any

            body = write_body_if_any(run)
            if body is not None:
                print(body)
        return 0
    from invasim.viz.plot import DPI, write_plot

    dpi = DPI if args.dpi is None else args.dpi
    print(write_plot(run, args.out, args.time, args.color_by, args.field, dpi=dpi, bm=args.bm,
                     section=args.section))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from invasim import load_run
    from invasim.viz.report import parse_times, write_report

    run = load_run(args.run_dir)
    times = parse_times(args.times) if args.times is not None else None
    out = write_report(run, args.out, times, movie=not args.no_movie, progress=not args.quiet)
    print(out)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from invasim import load_run
    from invasim.io.export import export

    paths = export(
        load_run(args.run_dir), args.format, args.out, args.times, args.fields, args.overwrite
    )
    per_snapshot = (".vti", ".vtp") if args.format == "vtk" else (".mat", ".txt", ".xml")
    data = [p for p in paths if p.suffix in per_snapshot]
    if args.format == "physicell" and data:  # a folder of PhysiCell outputs: open the folder
        print(f"{len(data)} PhysiCell output files in {data[0].parent} (pcdl.TimeSeries)")
        return 0
    for p in paths:  # the files to open; the per-snapshot VTK files are counted
        if p not in data:
            print(p)
    if data:
        print(f"and {len(data)} VTK files in {data[0].parent}")
    return 0


def _cmd_readouts(args: argparse.Namespace) -> int:
    from invasim import load_run
    from invasim.analysis import readouts as rd

    if args.list:
        snap = rd.Snapshot.from_run(load_run(args.run_dir)) if args.run_dir else None
        print("\n".join(rd.describe(snap)))
        return 0
    if args.run_dir is None:
        raise InvasimError("readouts needs a run directory (or --list)")
    out = rd.check_table_path(args.out) if args.out is not None else None
    table = rd.table(load_run(args.run_dir), args.names, args.times)
    if out is not None:
        from invasim.io.atomic import write_atomic

        data = rd.table_bytes(table, out)
        write_atomic(out, lambda f: f.write(data))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.10g}"))
    if out is not None:
        print(f"wrote {out}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from invasim.io.physicell import default_out, import_physicell, write_imported

    out = args.out if args.out is not None else default_out(args.project)
    if out.suffix != ".toml":
        raise InvasimError(f"--out {out}: the scenario file must end in .toml")
    imported = import_physicell(args.project, out.stem)
    paths = write_imported(imported, out, args.overwrite)
    if imported.notes:
        items = "".join(f"\n  - {n}" for n in imported.notes)
        sys.stderr.write(f"invasim: not imported from {imported.xml} ({len(imported.notes)}; "
                         f"also at the top of {out}):{items}\n")  # fmt: skip
    for path in paths:
        print(f"wrote {path}")
    print(f"next: invasim validate {out} && invasim run {out}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from invasim.viz.compare import compare_runs

    table, csv_path, png_path = compare_runs(args.run_dirs, args.metric, args.out)
    arms = table.drop_duplicates("arm")
    for _, row in arms.iterrows():
        n = len(str(row["runs"]).split(";"))
        print(f"arm {row['arm']}: {row['label']} ({n} run{'s' if n > 1 else ''})")
    print(f"wrote {csv_path}")
    print(f"wrote {png_path}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    import json
    import time

    from invasim import verify

    selected = verify.select(args.patterns)
    if not selected:
        shown = " ".join(f"-k {p!r}" for p in args.patterns)
        raise InvasimError(f"verify {shown} selects no case; see invasim verify --list")
    if args.list:
        width = max(len(c.name) for c in selected)
        for c in selected:
            line = {"name": c.name, "mechanism": c.mechanism, "source": c.source}
            print(json.dumps(line, ensure_ascii=False) if args.json
                  else f"{c.name:<{width}}  {c.mechanism:<18} {c.source}")  # fmt: skip
        return 0
    quick = not args.full
    width = max(len(c.name) for c in selected)
    if not args.json:
        print(verify.table_header(width), flush=True)
    t0, outcomes = time.perf_counter(), []
    for o in verify.run_all(selected, quick):
        outcomes.append(o)
        print(json.dumps(o.to_dict(), ensure_ascii=False) if args.json
              else verify.table_row(o, width), flush=True)  # fmt: skip
    summary = verify.summary_line(outcomes, time.perf_counter() - t0, quick)
    print(summary, file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0 if all(o.passed for o in outcomes) else 1


_COMMANDS = {
    "scenarios": _cmd_scenarios,
    "show": _cmd_show,
    "validate": _cmd_validate,
    "run": _cmd_run,
    "rules": _cmd_rules,
    "plot": _cmd_plot,
    "compare": _cmd_compare,
    "study": cmd_study,
    "shedding": cmd_shedding,
    "cohort": cmd_cohort,
    "export": _cmd_export,
    "movie": _cmd_movie,
    "report": _cmd_report,
    "readouts": _cmd_readouts,
    "import": _cmd_import,
    "verify": _cmd_verify,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``invasim`` command."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except InvasimError as exc:
        sys.stderr.write(f"invasim: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        hint = ""
        if args.command == "run":
            hint = "; continue with: invasim run --resume RUN_DIR"
        sys.stderr.write(f"invasim: interrupted{hint}\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
