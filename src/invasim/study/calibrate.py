"""Calibration of a study's parameters to observed readouts by ABC-SMC (pyabc) on Dask.

Contract:
    * The spec is a study spec (:mod:`invasim.study.spec`); its ``[vary]`` parameters are the
      ones fitted and their ``bounds`` and ``dist`` are the priors: ``uniform`` on the bounds, or
      ``loguniform`` (uniform in log10, the scale on which ABC then perturbs it). A grid
      ``range`` (with ``scale``) is read the same way; a list of ``values`` is refused. The
      design, replicates and ``keep.times`` are not used: one simulation per particle, at the
      observed times.
    * The observed file is a CSV with a ``time_min`` column and one column per metric (a run's
      ``metrics.csv`` is one); ``keep.metrics`` picks columns, otherwise every column is
      fitted. Empty cells are skipped. Each time must be a whole number of the scenario's
      ``time.dt_min`` and at most ``time.end_min``. Every problem is one-line ConfigError.
    * A particle is simulated in memory (no run directory): the base scenario with the
      particle's values set, stepped exactly as :class:`~invasim.simulation.Simulation`
      steps it, its metrics read at the observed times; the run's seed derives from the study
      seed and the particle's values. A particle whose scenario does not validate or whose run
      fails gets infinite distance (rejected). Before anything runs, every corner of the prior
      box is validated, so a prior the model cannot honour fails at once.
    * Distance: pyabc's adaptive p = 2 norm (each readout scaled by its spread in the current
      population, Prangle 2017); ABC-SMC (Toni et al. 2009; Klinger et al. 2018) for
      ``populations`` generations of ``population_size`` particles, simulations distributed by
      pyabc's ``DaskDistributedSampler`` on the cluster :func:`invasim.study.runner.open_client`
      opens (local processes, a scheduler address, or dask-jobqueue). The particles a
      generation accepts depend on the order simulations finish: results are not bit-for-bit
      reproducible on a cluster, only statistically.
    * Output folder: ``study.toml`` (the spec), ``observed.csv`` (the readouts fitted),
      ``abc.db`` (pyabc's history), ``abc_populations.csv`` (per generation: epsilon, particles,
      simulations), ``posterior.csv`` (the last generation: parameter values and normalised
      weights), ``posterior_summary.csv`` (per parameter: weighted mean, sd, median and the
      95 % equal-tailed credible interval), ``posterior_marginals.png``, ``posterior_pairs.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import itertools
import logging
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from invasim.errors import ConfigError, InvasimError, RunDirError
from invasim.extras import require
from invasim.io.atomic import write_atomic, write_text_atomic
from invasim.study.spec import StudySpec, load_plugins, load_study_spec, to_overrides

#: files of a calibration folder
POSTERIOR_CSV = "posterior.csv"
SUMMARY_CSV = "posterior_summary.csv"
POPULATIONS_CSV = "abc_populations.csv"
OBSERVED_CSV = "observed.csv"
ABC_DB = "abc.db"
MARGINALS_PNG = "posterior_marginals.png"
PAIRS_PNG = "posterior_pairs.png"
#: the credible level of the summary's interval
CREDIBLE = 0.95


# -- priors and observations -------------------------------------------------------------------
@dataclass(frozen=True)
class Prior:
    """The prior of one fitted parameter: uniform in its value or in its log10."""

    key: str
    lo: float
    hi: float
    log: bool

    @property
    def name(self) -> str:
        """The parameter's name inside pyabc (no dots)."""
        return ("log10_" if self.log else "") + self.key.replace(".", "__")

    def to_value(self, x: float) -> float:
        """A pyabc parameter value -> the scenario value."""
        return float(10.0**x) if self.log else float(x)

    def bounds(self) -> tuple[float, float]:
        """The support in pyabc's space."""
        return (math.log10(self.lo), math.log10(self.hi)) if self.log else (self.lo, self.hi)


def priors_from_spec(spec: StudySpec) -> list[Prior]:
    """The priors of a spec's ``[vary]`` parameters (see the module docstring)."""
    if spec.arms:
        raise ConfigError(
            f"calibration fits one scenario; this spec has arms ({', '.join(spec.arm_names)}): "
            "remove [arms], putting the arm to fit's overrides in set"
        )
    if not spec.vary:
        raise ConfigError("calibration needs the parameters to fit in [vary], with bounds")
    out = []
    for key, v in spec.vary.items():
        if v.bounds is not None:
            pair, log = v.bounds, v.dist == "loguniform"
        elif v.range is not None:
            pair, log = v.range, v.scale == "log"
        else:
            raise ConfigError(
                f"vary.{key}: calibration needs a continuous prior, bounds = [low, high] with "
                "dist = 'uniform' or 'loguniform'; a list of values is not one"
            )
        out.append(Prior(key, float(pair[0]), float(pair[1]), log))
    return out


def read_observed(path: str | Path, spec: StudySpec, scenario: Any) -> pd.DataFrame:
    """The observed readouts: ``time_min`` and the fitted metric columns, checked.

    Raises:
        ConfigError: unreadable file, no ``time_min``, a column that is not a metric of the
            model, a time the scenario does not reach or that is not a whole step, no value.
    """
    from invasim.models import REGISTRY

    path = Path(path)
    where = f"--observed {path}"
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{where}: cannot read it as CSV: {line}") from None
    if "time_min" not in frame.columns:
        raise ConfigError(f"{where}: needs a time_min column; it has {', '.join(frame.columns)}")
    names = list(REGISTRY[scenario.model].metric_names)
    wanted = spec.keep.metrics or [c for c in frame.columns if c != "time_min"]
    for m in wanted:
        if m not in names:
            raise ConfigError(
                f"{where}: column {m!r} is not a metric of model {scenario.model}; its "
                f"metrics: {', '.join(names)}"
            )
        if m not in frame.columns:
            raise ConfigError(f"{where}: keep.metrics names {m!r}, which the file lacks")
    if not wanted:
        raise ConfigError(f"{where}: no metric column besides time_min")
    frame = frame[["time_min", *wanted]]
    try:
        frame = frame.astype("float64")
    except ValueError as exc:
        raise ConfigError(f"{where}: a value is not a number: {str(exc).splitlines()[0]}") from None
    tc = scenario.time
    for t in frame["time_min"]:
        k = t / tc.dt_min
        if not (math.isfinite(t) and 0 <= t <= tc.end_min + 0.5 * tc.dt_min) or abs(
            k - round(k)
        ) > 1e-6 * max(1.0, k):
            raise ConfigError(
                f"{where}: time_min = {t:g} is not a whole step of time.dt_min = {tc.dt_min:g} "
                f"within time.end_min = {tc.end_min:g}; change the times or the spec's set"
            )
    if not np.isfinite(frame[wanted].to_numpy()).any():
        raise ConfigError(f"{where}: no finite value to fit")
    return frame.reset_index(drop=True)


def summary_key(metric: str, t: float) -> str:
    """The name of one readout: ``front_um@43800``."""
    return f"{metric}@{t:g}"


def observed_stats(frame: pd.DataFrame) -> dict[str, float]:
    """The observed readouts as pyabc's summary-statistics dict (empty cells left out)."""
    out = {}
    for _, row in frame.iterrows():
        for m in frame.columns[1:]:
            if math.isfinite(row[m]):
                out[summary_key(m, row["time_min"])] = float(row[m])
    return out


# -- the simulation of one particle ------------------------------------------------------------
def simulate_readouts(
    config: Any, seed: int, times: list[float], metrics: list[str]
) -> dict[str, float]:
    """Run a scenario in memory to the last of ``times``; its metrics at each of them.

    The steps are those :meth:`Simulation.run <invasim.simulation.Simulation.run>` takes
    (time = step × dt), so the readouts equal the run directory's ``metrics.csv`` rows.
    """
    from invasim.simulation import Simulation

    sim = Simulation(config, seed=seed)
    dt = config.time.dt_min
    wanted = sorted({int(round(t / dt)): t for t in times}.items())
    out: dict[str, float] = {}
    for step, t in wanted:
        while sim.step_index < step:
            sim.model.step(sim.fields, sim.time_min)
            sim.step_index += 1
        m = sim.metrics()
        if not all(np.isfinite(a).all() for a in sim.fields.values()):
            raise InvasimError(f"a field became non-finite by t = {sim.time_min:g} min")
        for name in metrics:
            out[summary_key(name, t)] = float(m[name])
    return out


def particle_seed(study_seed: int, values: dict[str, float]) -> int:
    """A run seed from the study seed and the particle's values (same values, same seed)."""
    text = repr((study_seed, sorted(values.items())))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & (2**63 - 1)


class ParticleModel:
    """The pyabc model: particle parameters -> readouts (picklable, runs on a Dask worker)."""

    def __init__(self, spec: StudySpec, priors: list[Prior], observed: pd.DataFrame,
                 threads: int | None = None) -> None:
        self.base, self.base_dir = spec.base_data()
        self.plugins = list(spec.plugins)
        self.seed = spec.seed
        self.priors = priors
        self.times = [float(t) for t in observed["time_min"]]
        self.metrics = list(observed.columns[1:])
        self.keys = [summary_key(m, t) for t in self.times for m in self.metrics]
        self.threads = threads

    def config(self, values: dict[str, float]) -> Any:
        """The validated scenario of a particle (raises ConfigError)."""
        from invasim.config.loader import apply_overrides, validate_scenario

        load_plugins(self.plugins)
        data = apply_overrides(self.base, to_overrides(values))
        shown = ", ".join(f"{k} = {v:.6g}" for k, v in values.items())
        return validate_scenario(data, f"particle {shown}", self.base_dir)

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        """Readouts of one particle; all infinite when its scenario or run fails."""
        if self.threads:
            import numba

            numba.set_num_threads(max(1, min(self.threads, numba.config.NUMBA_NUM_THREADS)))
        values = {p.key: p.to_value(pars[p.name]) for p in self.priors}
        try:
            config = self.config(values)
            return simulate_readouts(
                config, particle_seed(self.seed, values), self.times, self.metrics
            )
        except InvasimError:
            return dict.fromkeys(self.keys, math.inf)


def check_prior_corners(model: ParticleModel) -> None:
    """Validate the scenario at every corner of the prior box (at most 2^10 of them)."""
    priors = model.priors
    if len(priors) > 10:
        return
    for corner in itertools.product(*[(p.lo, p.hi) for p in priors]):
        values = {p.key: v for p, v in zip(priors, corner, strict=True)}
        try:
            model.config(values)
        except ConfigError as exc:
            raise ConfigError(
                f"the prior reaches a scenario that does not validate: {exc}"
            ) from None


# -- the posterior -----------------------------------------------------------------------------
def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantiles of weighted samples: the weighted empirical CDF, linear between midpoints."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, x)


def posterior_summary(posterior: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per parameter: weighted mean, sd, median and the equal-tailed credible interval."""
    w = posterior["weight"].to_numpy(float)
    w = w / w.sum()
    rows = {}
    lo_q, hi_q = (1 - CREDIBLE) / 2, 1 - (1 - CREDIBLE) / 2
    for key in keys:
        x = posterior[key].to_numpy(float)
        mean = float(np.sum(w * x))
        lo, med, hi = weighted_quantile(x, w, [lo_q, 0.5, hi_q])
        rows[key] = {
            "mean": mean,
            "sd": float(np.sqrt(np.sum(w * (x - mean) ** 2))),
            "median": float(med),
            "ci95_low": float(lo),
            "ci95_high": float(hi),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "parameter"
    return frame


@dataclass
class Calibration:
    """What :func:`calibrate` returns: the posterior, its summary, the ABC history."""

    folder: Path
    posterior: pd.DataFrame
    summary: pd.DataFrame
    populations: pd.DataFrame
    #: simulations run in all, the prior sample that calibrates the distance included
    simulations: int


@contextlib.contextmanager
def _pyabc_news(progress: bool) -> Iterator[None]:
    """Show pyabc's one-line news of each generation on standard error (when wanted).

    pyabc logs to the ``ABC`` logger with its own handler (and timing lines); while a
    calibration runs, that handler is replaced by one that keeps ``t:``, ``Accepted:`` and
    ``Stop:`` lines, and warnings.
    """
    logger = logging.getLogger("ABC")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("abc: %(message)s"))
    handler.addFilter(
        lambda r: r.levelno >= logging.WARNING
        or r.getMessage().startswith(("t:", "Accepted:", "Stop:"))
    )
    logger.handlers = [handler]
    logger.setLevel(logging.INFO if progress else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers, logger.level, logger.propagate = saved[0], saved[1], saved[2]


def _prepare_folder(out: Path, spec: StudySpec, observed: pd.DataFrame) -> None:
    import tomli_w

    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunDirError(f"--out {out} is not empty; choose another folder")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"cannot create {out}: {exc.strerror or exc}") from None
    text = f"# invasim calibration {spec.name!r}, resolved spec\n" + tomli_w.dumps(spec.to_data())
    write_text_atomic(out / "study.toml", text)
    write_text_atomic(out / OBSERVED_CSV, observed.to_csv(index=False))


def calibrate(
    spec: StudySpec | str | Path,
    observed: str | Path,
    out_dir: str | Path | None = None,
    populations: int = 10,
    population_size: int = 100,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
) -> Calibration:
    """Fit the spec's ``[vary]`` parameters to observed readouts by ABC-SMC on Dask.

    Args:
        spec: a study spec, a built-in study name or a spec file.
        observed: CSV of ``time_min`` and metric columns (see the module docstring).
        out_dir: the output folder (default ``studies/<name>-calibration-<time>``); must be
            empty.
        populations: ABC-SMC generations (pyabc's ``max_nr_populations``).
        population_size: accepted particles per generation.
        workers: local cluster worker processes (default: the cores).
        scheduler: address of a running Dask scheduler to use instead.
        progress: print pyabc's line per generation on standard error.

    Returns:
        The :class:`Calibration` (also written to the folder).
    """
    pyabc = require("studies", "pyabc", "invasim study calibrate")
    sampler = require("studies", "pyabc.sampler", "invasim study calibrate")
    require("studies", "distributed", "invasim study calibrate")
    from invasim.config.loader import validate_scenario
    from invasim.study.runner import default_study_dir, open_client

    if populations < 1 or population_size < 2:
        raise ConfigError("--populations must be >= 1 and --population-size >= 2")
    if not isinstance(spec, StudySpec):
        spec = load_study_spec(spec)
    base, base_dir = spec.base_data()
    scenario = validate_scenario(base, "base scenario", base_dir)
    priors = priors_from_spec(spec)
    obs = read_observed(observed, spec, scenario)
    out = Path(out_dir) if out_dir is not None else default_study_dir(f"{spec.name}-calibration")
    out = out.resolve()
    check_prior_corners(ParticleModel(spec, priors, obs))
    _prepare_folder(out, spec, obs)
    prior = pyabc.Distribution(
        **{p.name: pyabc.RV("uniform", p.bounds()[0], p.bounds()[1] - p.bounds()[0])
           for p in priors}
    )
    with _pyabc_news(progress), open_client(
        workers, scheduler, None, n_tasks=population_size
    ) as (client, threads):
        model = ParticleModel(spec, priors, obs, threads)
        abc = pyabc.ABCSMC(
            model,
            prior,
            pyabc.AdaptivePNormDistance(p=2),
            population_size=population_size,
            # default_pickle=True: pyabc 0.13's closure path (False) fails to pickle its
            # sampler (KeyError 'client') and the run hangs
            sampler=sampler.DaskDistributedSampler(client, default_pickle=True),
        )
        abc.new("sqlite:///" + str(out / ABC_DB), observed_stats(obs))
        history = abc.run(max_nr_populations=populations)
    return _write_results(out, history, priors)


def _write_results(out: Path, history: Any, priors: list[Prior]) -> Calibration:
    frame, w = history.get_distribution(m=0, t=history.max_t)
    post = pd.DataFrame({p.key: [p.to_value(x) for x in frame[p.name]] for p in priors})
    post["weight"] = np.asarray(w, dtype=float) / np.sum(w)
    keys = [p.key for p in priors]
    summary = posterior_summary(post, keys)
    pops = history.get_all_populations()[["t", "epsilon", "particles", "samples"]]
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    for name, table, index in (
        (POSTERIOR_CSV, post, False),
        (SUMMARY_CSV, summary, True),
        (POPULATIONS_CSV, pops, False),
    ):
        buf = io.StringIO()
        table.to_csv(buf, index=index, float_format="%.8g")
        write_text_atomic(out / name, buf.getvalue())
    for name, fig in ((MARGINALS_PNG, plot_marginals(post, priors, summary)),
                      (PAIRS_PNG, plot_pairs(post, priors))):
        write_atomic(out / name, lambda f, fig=fig: fig.savefig(f, format="png", dpi=150))
    return Calibration(out, post, summary, pops, int(history.total_nr_simulations))


# -- figures -----------------------------------------------------------------------------------
def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _edges(p: Prior, bins: int = 30) -> np.ndarray:
    return np.logspace(*p.bounds(), bins + 1) if p.log else np.linspace(p.lo, p.hi, bins + 1)


def _density(ax: Any, p: Prior, x: pd.Series, w: np.ndarray, **kw: Any) -> None:
    """Weighted histogram as a density on the prior's scale (per log10 unit for log priors)."""
    edges = _edges(p)
    counts = np.histogram(x.to_numpy(float), bins=edges, weights=w)[0]
    widths = np.diff(np.log10(edges)) if p.log else np.diff(edges)
    ax.stairs(counts / (w.sum() * widths), edges, fill=True, **kw)


def _axis(ax: Any, p: Prior, which: str) -> None:
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xlim if which == "x" else ax.set_ylim)(p.lo, p.hi)
    if p.log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(StrMethodFormatter("{x:.3g}"))
        axis.set_minor_formatter(NullFormatter())


def plot_marginals(posterior: pd.DataFrame, priors: list[Prior], summary: pd.DataFrame) -> Any:
    """Posterior marginals, one panel per parameter.

    Each panel: the weighted posterior histogram over the prior's support, the prior's density
    (dashed; flat on the prior's scale: per unit, or per log10 unit for a log-uniform prior),
    the median and the 95 % credible interval.
    """
    n = len(priors)
    fig = _figure(3.2 * n, 2.8)
    w = posterior["weight"].to_numpy(float)
    for i, p in enumerate(priors):
        ax = fig.add_subplot(1, n, i + 1)
        _density(ax, p, posterior[p.key], w, color="C0", alpha=0.75, label="posterior")
        lo, hi = p.bounds()
        ax.plot([p.lo, p.hi], [1 / (hi - lo)] * 2, "k--", lw=1, label="prior")
        row = summary.loc[p.key]
        ax.axvline(row["median"], color="C3", lw=1.2, label="median")
        ax.axvspan(row["ci95_low"], row["ci95_high"], color="C3", alpha=0.12, label="95 % CI")
        _axis(ax, p, "x")
        ax.set_xlabel(p.key)
        ax.set_ylabel("density per log10 unit" if p.log else "density", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle("posterior marginals (last ABC-SMC generation)", fontsize=9)
    return fig


def plot_pairs(posterior: pd.DataFrame, priors: list[Prior]) -> Any:
    """Pairs plot: weighted histograms on the diagonal, particles below it (darker = heavier)."""
    n = len(priors)
    fig = _figure(2.4 * n + 0.6, 2.4 * n + 0.3)
    w = posterior["weight"].to_numpy(float)
    shade = 0.15 + 0.85 * w / w.max()
    for i, pi in enumerate(priors):
        for j, pj in enumerate(priors[: i + 1]):
            ax = fig.add_subplot(n, n, i * n + j + 1)
            if i == j:
                _density(ax, pi, posterior[pi.key], w, color="C0", alpha=0.8)
                ax.set_yticks([])
            else:
                ax.scatter(posterior[pj.key], posterior[pi.key], s=6, c="C0", alpha=shade,
                           linewidths=0)
                _axis(ax, pi, "y")
                if j == 0:
                    ax.set_ylabel(pi.key, fontsize=8)
            _axis(ax, pj, "x")
            if i == n - 1:
                ax.set_xlabel(pj.key, fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle("posterior pairs (last ABC-SMC generation)", fontsize=9)
    return fig


# -- command line ------------------------------------------------------------------------------
def add_parser(study_sub: Any) -> argparse.ArgumentParser:
    """Add ``invasim study calibrate`` to the ``study`` command's sub-parsers."""
    p = study_sub.add_parser(
        "calibrate",
        help="fit the spec's varied parameters to observed readouts (ABC-SMC, pyabc, Dask)",
        description="Approximate Bayesian computation (pyabc's ABC-SMC) of the parameters in "
        "the spec's [vary], with their bounds and dist as priors, against observed readouts "
        "(a CSV of time_min and metric columns); simulations run on a Dask cluster.",
    )
    p.add_argument("spec", help="built-in study name or path to a study TOML file")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a value of the study spec (repeatable)",
    )
    p.add_argument("--observed", required=True, type=Path, metavar="FILE",
                   help="CSV: time_min and one column per fitted metric")
    p.add_argument("--out", type=Path, help="output folder (default studies/<name>-calibration-…)")
    p.add_argument("--populations", type=int, default=10, metavar="N",
                   help="ABC-SMC generations (default 10)")
    p.add_argument("--population-size", type=int, default=100, metavar="N",
                   help="accepted particles per generation (default 100)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def cmd(args: argparse.Namespace) -> int:
    """Run ``invasim study calibrate``; returns the exit status."""
    spec = load_study_spec(args.spec, args.overrides)
    result = calibrate(
        spec, args.observed, args.out, populations=args.populations,
        population_size=args.population_size, workers=args.workers, scheduler=args.scheduler,
        progress=not args.quiet,
    )
    print(result.summary.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"{result.simulations} simulations; posterior in {result.folder}")
    return 0


__all__ = [
    "Calibration",
    "ParticleModel",
    "Prior",
    "add_parser",
    "calibrate",
    "cmd",
    "plot_marginals",
    "plot_pairs",
    "posterior_summary",
    "priors_from_spec",
    "read_observed",
    "simulate_readouts",
    "weighted_quantile",
]
