"""The HTML report of a run, and its compact summary in a notebook.

Contract:
    * :func:`write_report` writes ONE self-contained HTML5 file (default ``RUN_DIR/report.html``)
      that opens offline: CSS inline, no scripts, every image a base64 ``data:`` URI, the movie
      a base64 MP4 ``<video>`` source (or GIF ``<img>``), except a movie larger than
      :data:`MAX_EMBED_BYTES`, which is linked by its path relative to the report (and the
      report says so). Nothing refers to the network. The file is written whole.
    * Sections, in order: the scenario in words (name, description, model, mesh, times, fields,
      cell types, references) and as a parameter table (dotted key, value, unit, description,
      source: the run's resolved scenario from ``run.json`` read through the scenario schema,
      as ``invasim show`` does); the key readouts (:mod:`invasim.viz.readouts`, whatever is
      registered); the metrics over time; snapshots at the chosen times (default
      :data:`N_SNAPSHOTS` evenly spaced, first and last included; agent runs coloured by
      state); the movie (``RUN_DIR/movie.mp4`` or ``movie.gif``, made with
      :func:`~invasim.viz.movie.write_movie` at a small size when there is none); provenance
      (invasim version, seed, status, start and end, wall time, platform, command).
    * It reads the run directory only, so finished, running and killed runs all have reports.
    * :func:`notebook_html` (``Run._repr_html_``) is a compact block for Jupyter: scenario,
      status, time, seed, the last metrics row and the run's summary figure (``summary.png``
      if present, else a small snapshot drawn on the spot); a part that cannot be read is
      replaced by a note, never an exception.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
import shlex
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from invasim.errors import ConfigError, InvasimError, RunDirError
from invasim.io.atomic import write_text_atomic
from invasim.io.run import Run
from invasim.viz import readouts as ro

#: snapshots shown by default (evenly spaced, first and last included)
N_SNAPSHOTS = 4
#: the largest movie embedded in the report; a larger one is linked
MAX_EMBED_BYTES = 20 * 1024 * 1024
#: resolution of the report's figures and of the movie it makes, dots per inch
FIGURE_DPI = 110
MOVIE_DPI = 80
#: top-level scenario keys told in words rather than listed in the table
_IN_WORDS = ("description", "references", "sources")
#: units a parameter's name carries, longest suffix first
_SUFFIX_UNITS = (
    ("_um2_per_min", "µm²/min"), ("_um_per_min", "µm/min"), ("_per_min", "1/min"),
    ("_um3", "µm³"), ("_um", "µm"), ("_min", "min"), ("_mmHg", "mmHg"),
)  # fmt: skip

_CSS = """
:root { color-scheme: light; --ink: #1d2125; --muted: #5b6470; --rule: #d9dee4;
        --band: #f4f6f8; --accent: #0072b2; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1.5rem; }
header { padding-top: 2rem; border-bottom: 1px solid var(--rule); padding-bottom: 1rem; }
h1 { font-size: 2rem; margin: 0 0 .25rem; letter-spacing: -.01em; }
h2 { font-size: 1.45rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem;
     border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p { max-width: 48rem; }
.lead { font-size: 1.15rem; color: var(--ink); margin: .25rem 0 .5rem; }
.meta, .note, figcaption, footer { color: var(--muted); font-size: .92rem; }
nav ol { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; list-style: none; padding: 0;
         margin: .75rem 0 0; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .75rem .3rem 0;
         border-bottom: 1px solid var(--rule); }
th { font-weight: 600; border-bottom: 2px solid var(--ink); }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
code, td.key { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
               font-size: .86rem; }
table.params { width: 100%; table-layout: fixed; }
table.params td { overflow-wrap: anywhere; }
table.params col.key { width: 25%; } table.params col.val { width: 14%; }
table.params col.unit { width: 8%; } table.params col.desc { width: 27%; }
table.params col.src { width: 26%; }
table.params td.src { color: var(--muted); }
table.kv th { font-weight: 600; border-bottom: 1px solid var(--rule); padding-right: 1rem; }
table.kv td { overflow-wrap: anywhere; }
.readouts { display: flex; flex-wrap: wrap; gap: 0 2.5rem; }
.readouts section { min-width: 16rem; }
figure { margin: 1rem 0; }
figure img, video { max-width: 100%; height: auto; border: 1px solid var(--rule);
                    background: #fff; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr));
        gap: 1rem 1.5rem; }
.grid figure { margin: 0; }
footer { border-top: 1px solid var(--rule); margin-top: 3rem; padding-bottom: 2rem; }
@media print { nav { display: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# -- images ------------------------------------------------------------------------------------
def figure_png(fig, dpi: int = FIGURE_DPI) -> bytes:
    """A figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    """A base64 ``data:`` URI."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of PNG bytes, from the IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _img(data: bytes, alt: str, mime: str = "image/png") -> str:
    size = ""
    if mime == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n":
        w, h = _png_size(data)
        size = f' width="{w}" height="{h}"'
    return f'<img src="{data_uri(data, mime)}" alt="{_e(alt)}"{size} loading="eager">'


# -- the scenario ------------------------------------------------------------------------------
def _resolve(ann: Any) -> tuple[type | None, type | None]:
    """The pydantic model an annotation names, or the model of its mapping's values."""
    from pydantic import BaseModel

    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, None
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (dict, Mapping) and len(args) == 2:
        return None, _resolve(args[1])[0]
    for a in args:  # Optional[...] and other unions
        model, mapped = _resolve(a)
        if model or mapped:
            return model, mapped
    return None, None


def _unit(key: str, doc: str) -> tuple[str, str]:
    """The unit (from ``[unit]`` in the description, else the key's suffix) and the rest."""
    import re

    # a unit is a bracketed word after a space: "voxel side [µm]", not "x[, y[, z]]"
    found = list(re.finditer(r"(?<=\s)\[([^\[\]]+)\]", doc))
    if found:
        m = found[-1]
        return m.group(1), " ".join((doc[: m.start()] + doc[m.end():]).split())
    for suffix, unit in _SUFFIX_UNITS:
        if key.endswith(suffix):
            return unit, doc
    return "", doc


def _value_text(value: Any) -> str:
    from invasim.config.loader import toml_value

    if isinstance(value, str):
        return value
    try:
        return toml_value(value)
    except TypeError:
        return str(value)


def parameter_rows(run: Run) -> list[dict[str, str]]:
    """The run's resolved scenario as rows ``key, value, unit, description, source``.

    Read through the scenario schema and the model's parameter schema (as ``invasim show``
    does), so every default is filled in and described; a scenario that no longer validates
    is listed as stored, without descriptions. Empty for a run without a stored scenario.
    """
    from invasim.config.loader import field_doc

    raw = run.meta.get("scenario")
    if not isinstance(raw, Mapping):
        return []
    schemas: dict[str, Any] = {}
    try:
        from invasim.config.schema import Scenario
        from invasim.models import REGISTRY

        sc = run.config
        data = sc.to_data()
        schemas = {"": Scenario, "mesh": type(sc.mesh), "time": type(sc.time),
                   "params": REGISTRY[sc.model].Params}
    except (InvasimError, KeyError, TypeError, ValueError):
        data = dict(raw)
    sources = data.get("sources") or raw.get("sources") or {}
    rows: list[dict[str, str]] = []

    def row(dotted: str, value: Any, doc: str, table: Mapping[str, Any]) -> None:
        unit, desc = _unit(dotted, doc)
        if unit == "unit":  # "[unit]": the unit of the table's own quantity (a substrate)
            unit = str(table.get("unit", ""))
        rows.append({"key": dotted, "value": _value_text(value), "unit": unit,
                     "description": desc, "source": str(sources.get(dotted, ""))})

    def walk(table: Mapping[str, Any], path: str, schema: Any, mapped: Any) -> None:
        for key, value in table.items():
            if not path and key in _IN_WORDS:
                continue
            dotted = f"{path}.{key}" if path else key
            if value is None:
                continue
            if mapped is not None:  # entries keyed by a user's name (a cell type, a substrate)
                if isinstance(value, Mapping):
                    walk(value, dotted, mapped, None)
                else:
                    row(dotted, value, "", table)
                continue
            doc = field_doc(schema, key) if schema is not None else ""
            if isinstance(value, Mapping) and value:
                field = getattr(schema, "model_fields", {}).get(key) if schema else None
                model, inner = _resolve(field.annotation) if field is not None else (None, None)
                model = schemas.get(dotted, model)
                if model is not None or inner is not None or schema is None:
                    walk(value, dotted, model, inner)
                    continue
            row(dotted, value, doc, table)

    walk(data, "", schemas.get(""), None)
    return rows


def _words(run: Run) -> str:
    """The scenario in a few sentences."""
    meta = run.meta
    sc = meta.get("scenario") if isinstance(meta.get("scenario"), Mapping) else {}
    mesh = meta.get("mesh", {})
    dim = mesh.get("dim", "?")
    ext = " × ".join(f"{float(e):g}" for e in mesh.get("extent_um", []))
    n = " × ".join(str(k) for k in mesh.get("n", []))
    kind = "agent-based" if meta.get("model") == "agents" else "continuum"
    out = [f"A {dim}-D {kind} run of the model <code>{_e(meta.get('model', '?'))}</code>"
           f" on a domain of {_e(ext)} µm in voxels of {_e(mesh.get('voxel_um', '?'))} µm"
           f" ({_e(n)} voxels)."]
    t = sc.get("time", {}) if isinstance(sc, Mapping) else {}
    if t:
        end = ro.time_text(float(t.get("end_min", 0.0)))
        every = ro.time_text(float(t.get("output_interval_min", 0.0)))
        out.append(f"The scenario runs to {_e(end)} in steps of {float(t.get('dt_min', 0.0)):g}"
                   f" min, with a snapshot every {_e(every)}.")
    fields = meta.get("fields") or []
    if fields:
        listed = "; ".join(f"<code>{_e(f['name'])}</code> ({_e(f.get('description', ''))}, "
                           f"{_e(f.get('unit', ''))})" for f in fields)
        out.append(f"Fields: {listed}.")
    from invasim.viz.cells import type_names

    names = type_names(meta)
    if names:
        out.append("Cell types: " + ", ".join(f"<code>{_e(x)}</code>" for x in names) + ".")
    seed = meta.get("seed")
    reached = meta.get("time_min")
    status = f"The run is <strong>{_e(run.status)}</strong>"
    if reached is not None:
        status += f" at t = {_e(ro.time_text(float(reached)))}"
    out.append(status + (f", seed {_e(seed)}." if seed is not None else "."))
    return " ".join(out)


def _scenario_section(run: Run) -> str:
    meta = run.meta
    sc = meta.get("scenario") if isinstance(meta.get("scenario"), Mapping) else {}
    parts = ['<section id="scenario">', "<h2>Scenario</h2>", f"<p>{_words(run)}</p>"]
    refs = meta.get("references") or sc.get("references") or []
    if refs:
        parts.append("<h3>References</h3><ol>" + "".join(f"<li>{_e(r)}</li>" for r in refs)
                     + "</ol>")
    rows = parameter_rows(run)
    parts.append("<h3>Parameters</h3>")
    if rows:
        cols = "".join(f'<col class="{c}">' for c in ("key", "val", "unit", "desc", "src"))
        parts.append(f'<table class="params"><colgroup>{cols}</colgroup><thead><tr><th>key</th>'
                     "<th>value</th><th>unit</th><th>description</th><th>source</th></tr></thead>"
                     "<tbody>")
        for r in rows:
            parts.append(f'<tr><td class="key">{_e(r["key"])}</td>'
                         f'<td class="val num">{_e(r["value"])}</td><td>{_e(r["unit"])}</td>'
                         f'<td>{_e(r["description"])}</td><td class="src">{_e(r["source"])}</td>'
                         "</tr>")
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="note">This run directory stores no scenario.</p>')
    parts.append("</section>")
    return "\n".join(parts)


# -- readouts, figures, movie, provenance --------------------------------------------------
def _kv_table(items: Sequence[tuple[str, str, str]]) -> str:
    body = "".join(f'<tr><th scope="row">{_e(k)}</th><td class="num">{_e(v)}</td>'
                   f'<td class="note">{_e(n)}</td></tr>' for k, v, n in items)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def _readouts_section(run: Run) -> str:
    parts = ['<section id="readouts">', "<h2>Key readouts</h2>", '<div class="readouts">']
    for entry, readings in ro.collect(run):
        parts.append(f"<section><h3>{_e(entry.title)}</h3>")
        parts.append(_kv_table([(k, r.text(), r.note) for k, r in readings.items()]))
        parts.append("</section>")
    parts.append("</div></section>")
    return "\n".join(parts)


def _metrics_section(run: Run) -> str:
    from invasim.viz.plot import plot_metrics

    fig = plot_metrics(run, dpi=FIGURE_DPI)
    body = ('<p class="note">No metrics recorded yet.</p>' if fig is None else
            f"<figure>{_img(figure_png(fig), 'metrics over time')}<figcaption>Every metric "
            "over time; lengths share the first panel.</figcaption></figure>")
    return f'<section id="metrics">\n<h2>Metrics over time</h2>\n{body}\n</section>'


def select_times(run: Run, times: Sequence[float] | None) -> list[float]:
    """The snapshot times shown: ``times`` checked against the run, or evenly spaced ones."""
    from invasim.viz.common import pick

    have = run.times
    if len(have) == 0:
        return []
    if times is None:
        return [float(have[k]) for k in pick(len(have), N_SNAPSHOTS)]
    return [float(have[run.time_index(float(t))]) for t in times]


def _snapshots_section(run: Run, times: list[float]) -> str:
    from invasim.viz.cells import has_cells
    from invasim.viz.plot import plan, plot_snapshot

    parts = ['<section id="snapshots">', "<h2>Snapshots</h2>"]
    if not times:
        parts.append('<p class="note">No snapshots recorded yet.</p></section>')
        return "\n".join(parts)
    agent = has_cells(run)
    p = plan(run, "state" if agent else None, None, FIGURE_DPI)
    what = ("the cells to scale, live cells by type, apoptotic and necrotic apart, over "
            f"<code>{_e(p.field)}</code>" if agent else f"<code>{_e(p.field)}</code>")
    if run.mesh.dim == 3:
        what += ", in the central z slice"
    parts.append(f"<p>{what}; colour limits over all snapshots.</p>")
    parts.append('<div class="grid">')
    for t in times:
        fig = plot_snapshot(run, t, metrics=False, dpi=FIGURE_DPI, frame_plan=p)
        when = ro.time_text(t)
        parts.append(f"<figure>{_img(figure_png(fig), f'snapshot at t = {t:g} min')}"
                     f"<figcaption>t = {_e(when)}</figcaption></figure>")
    parts.append("</div></section>")
    return "\n".join(parts)


def find_or_make_movie(run: Run, progress: bool = False) -> tuple[Path | None, str]:
    """The run's movie (``movie.mp4``, else ``movie.gif``), made small if absent; and a note."""
    for name in ("movie.mp4", "movie.gif"):
        path = run.path / name
        if path.is_file() and path.stat().st_size > 0:
            return path, ""
    import warnings

    from invasim.viz.movie import MovieFallbackWarning, write_movie

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MovieFallbackWarning)
            path = write_movie(run, run.path / "movie.mp4", progress=progress, dpi=MOVIE_DPI)
    except InvasimError as exc:
        return None, f"No movie: {exc}"
    note = "; ".join(str(w.message) for w in caught
                     if issubclass(w.category, MovieFallbackWarning))
    return path, note


def _movie_section(run: Run, out: Path, movie: bool, progress: bool) -> str:
    parts = ['<section id="movie">', "<h2>Movie</h2>"]
    path, note = find_or_make_movie(run, progress) if movie else (None, "Left out (--no-movie).")
    if path is not None:
        size = path.stat().st_size
        mime = "video/mp4" if path.suffix == ".mp4" else "image/gif"
        if size > MAX_EMBED_BYTES:
            rel = Path(os.path.relpath(path.resolve(), out.resolve().parent)).as_posix()
            parts.append(f'<p>The movie <a href="{_e(rel)}">{_e(rel)}</a> is '
                         f"{size / 2**20:.1f} MB, too large to embed (over "
                         f"{MAX_EMBED_BYTES / 2**20:.0f} MB); it is linked by its path "
                         "relative to this report, so keep the two together.</p>")
        elif mime == "video/mp4":
            parts.append('<video controls loop muted playsinline preload="auto">'
                         f'<source src="{data_uri(path.read_bytes(), mime)}" type="{mime}">'
                         "This browser cannot play H.264 MP4 video.</video>")
        else:
            parts.append(f"<figure>{_img(path.read_bytes(), 'movie of the run', mime)}</figure>")
        parts.append(f'<p class="note">One frame per snapshot, from <code>{_e(path.name)}</code>'
                     " in the run directory.</p>")
    if note:
        parts.append(f'<p class="note">{_e(note)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _provenance_section(run: Run) -> str:
    from invasim.version import __version__

    meta = run.meta
    items: list[tuple[str, str, str]] = [
        ("invasim version", str(meta.get("invasim_version", "?")), "of the run"),
        ("seed", str(meta.get("seed", "?")), ""),
        ("status", run.status, ""),
        ("started", str(meta.get("started_at", "")), ""),
        ("ended", str(meta.get("ended_at", "")), ""),
    ]
    if meta.get("wall_s") is not None:
        items.append(("wall time", f"{float(meta['wall_s']):.1f} s", ""))
    for key in ("branched_from", "resumed_at_min", "error"):
        if meta.get(key) is not None:
            items.append((key.replace("_", " "), str(meta[key]), ""))
    plat = meta.get("platform") or {}
    if isinstance(plat, Mapping):
        items += [(f"platform: {k}", str(v), "") for k, v in plat.items()]
    cmd = meta.get("command")
    if cmd:
        items.append(("command", shlex.join(map(str, cmd)) if isinstance(cmd, list) else
                      str(cmd), ""))
    items.append(("run directory", str(run.path.resolve()), ""))
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    items.append(("report", f"invasim {__version__}", f"written {now}"))
    return ('<section id="provenance">\n<h2>Provenance</h2>\n' + _kv_table(items)
            + "\n</section>")


# -- the report --------------------------------------------------------------------------------
_SECTIONS = (("scenario", "Scenario"), ("readouts", "Key readouts"),
             ("metrics", "Metrics"), ("snapshots", "Snapshots"), ("movie", "Movie"),
             ("provenance", "Provenance"))


def report_html(run: Run, times: Sequence[float] | None = None, *, out: Path | None = None,
                movie: bool = True, progress: bool = False) -> str:
    """The report of ``run`` as one HTML5 document (see the module contract).

    Args:
        run: an opened run.
        times: snapshot times to show, min (default: :data:`N_SNAPSHOTS` evenly spaced).
        out: where the report will be written (a linked movie's path is relative to it).
        movie: include the movie (made when the run has none).
        progress: a progress bar while a movie is made.

    Raises:
        RunDirError: a time that is not a snapshot, or a run that cannot be read.
    """
    from invasim.version import __version__

    out = Path(out) if out is not None else run.path / "report.html"
    shown = select_times(run, times)  # checks the times before any slow work
    meta = run.meta
    name = meta.get("scenario_name", run.path.name)
    sc = meta.get("scenario") if isinstance(meta.get("scenario"), Mapping) else {}
    desc = sc.get("description", "")
    mesh = meta.get("mesh", {})
    head = (f"model <code>{_e(meta.get('model', '?'))}</code> · {_e(mesh.get('dim', '?'))}-D · "
            f"{_e(run.status)} · seed {_e(meta.get('seed', '?'))} · "
            f"<code>{_e(run.path.name)}</code>")
    nav = "".join(f'<li><a href="#{k}">{_e(v)}</a></li>' for k, v in _SECTIONS)
    body = [
        _scenario_section(run), _readouts_section(run), _metrics_section(run),
        _snapshots_section(run, shown), _movie_section(run, out, movie, progress),
        _provenance_section(run),
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="invasim {_e(__version__)}">',
        f"<title>invasim report: {_e(name)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{_e(name)}</h1>",
        f'<p class="lead">{_e(desc)}</p>' if desc else "",
        f'<p class="meta">{head}</p>',
        f'<nav aria-label="sections"><ol>{nav}</ol></nav></header>',
        "<main>",
        *body,
        "</main>",
        f"<footer>Written by invasim {_e(__version__)} from <code>{_e(run.path)}</code>. "
        "Self-contained: it needs no network.</footer>",
        "</body>",
        "</html>",
        "",
    ])


def write_report(run: Run, out: str | Path | None = None, times: Sequence[float] | None = None,
                 *, movie: bool = True, progress: bool = False) -> Path:
    """Write the report of ``run`` (default ``RUN_DIR/report.html``) whole; returns its path.

    Args:
        run: an opened run.
        out: the HTML file.
        times: snapshot times to show, min (default: evenly spaced ones).
        movie: include the movie (made in the run directory when it has none).
        progress: a progress bar while a movie is made.

    Raises:
        ConfigError: an ``out`` that is not an ``.html`` file.
        RunDirError: a time that is not a snapshot, a run that cannot be read, or a report
            that cannot be written.
    """
    path = Path(out) if out is not None else run.path / "report.html"
    if path.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"the report file must end in .html, got {path}")
    if not path.parent.is_dir():
        raise RunDirError(f"cannot write {path}: folder {path.parent} does not exist")
    text = report_html(run, times, out=path, movie=movie, progress=progress)
    write_text_atomic(path, text)
    return path


def parse_times(text: str) -> list[float]:
    """``"0,360,720"`` → ``[0.0, 360.0, 720.0]``; a one-line error for anything else."""
    try:
        out = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        out = []
    if not out:
        raise ConfigError(f"--times takes snapshot times in minutes separated by commas, "
                          f"e.g. 0,360,720; got {text!r}")
    return out


# -- the notebook ------------------------------------------------------------------------------
_NB_CELL = "padding:2px 10px 2px 0;border-bottom:1px solid #e3e6ea;text-align:left"


def _notebook_figure(run: Run) -> str:
    summary = run.path / "summary.png"
    try:
        if summary.is_file() and summary.stat().st_size > 0:
            data, alt = summary.read_bytes(), "summary.png"
        else:
            from invasim.viz.plot import plot_snapshot

            data, alt = figure_png(plot_snapshot(run, metrics=False, dpi=72), 72), "last snapshot"
    except Exception as exc:  # a run being written or killed: a note, never a traceback
        return f'<p style="color:#5b6470">(no figure: {_e(exc)})</p>'
    return (f'<img src="{data_uri(data, "image/png")}" alt="{_e(alt)}" '
            'style="max-width:640px;width:100%;height:auto;border:1px solid #e3e6ea">')


def notebook_html(run: Run) -> str:
    """A compact HTML summary of ``run`` for Jupyter; never raises for a readable run.json."""
    meta = run.meta
    name = meta.get("scenario_name", run.path.name)
    rows = [("status", run.status), ("time", ro.time_text(float(meta.get("time_min", 0.0)))
                                     if meta.get("time_min") is not None else "?"),
            ("seed", meta.get("seed", "?")), ("model", meta.get("model", "?")),
            ("path", str(run.path))]
    metrics = ro.metrics_readout(run)
    if metrics:
        rows += [(k, r.text()) for k, r in metrics.items() if k != "time_min"]
    else:
        rows.append(("metrics", "none recorded yet"))
    table = "".join(f'<tr><th style="{_NB_CELL};font-weight:600">{_e(k)}</th>'
                    f'<td style="{_NB_CELL};font-variant-numeric:tabular-nums">{_e(v)}</td></tr>'
                    for k, v in rows)
    return (
        '<div class="invasim-run" style="font-family:system-ui,sans-serif;font-size:13px">'
        f'<div style="font-size:15px;margin-bottom:6px"><b>{_e(name)}</b> '
        f'<span style="color:#5b6470">· invasim run · {_e(run.status)}</span></div>'
        '<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">'
        f'<table style="border-collapse:collapse">{table}</table>'
        f"<div>{_notebook_figure(run)}</div></div></div>"
    )


__all__ = [
    "MAX_EMBED_BYTES",
    "N_SNAPSHOTS",
    "notebook_html",
    "parameter_rows",
    "parse_times",
    "report_html",
    "write_report",
]
