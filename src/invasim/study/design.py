"""Expanding a study spec into its runs: design points × replicates, each with its own seed.

Contract:
    * :func:`expand` returns one row per run, sorted by ``run_id`` (``p0003-r01``: point 3,
      replicate 1), with the columns ``run_id``, ``point``, ``replicate``, ``seed`` and one column
      per varied parameter, named by its dotted key.
    * A study with arms runs every arm at every point: run ids ``a01-p0003-r01`` (arm 1, in the
      order of the file), and an ``arm`` column after ``run_id`` (a pandas categorical whose
      categories are the arm names in that order). The seed does not depend on the arm:
      replicate ``r`` at point ``p`` has the same seed in every arm (common random numbers, so
      that a difference between arms is not a difference between seeds).
    * The design depends only on the spec: sampling designs draw from a generator seeded from
      the study seed, and each run's seed is ``SeedSequence(study seed, spawn_key=(0, point,
      replicate))`` (``(1, replicate)`` with ``common_random_numbers``), so a study expands the
      same way on any machine and any number of workers.
    * Point ``i`` is row ``i`` of SALib's sample matrix for ``sobol`` and ``morris`` designs, as
      SALib's analysers expect; :func:`salib_problem` gives the matching ``problem`` dict, with
      log-uniform parameters sampled (and described) in log10 space.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from invasim.config.loader import validate_scenario
from invasim.config.schema import Scenario
from invasim.extras import require
from invasim.study.spec import StudySpec, Vary, coerce

#: spawn keys of the study seed's streams
_RUN_STREAM, _COMMON_STREAM, _DESIGN_STREAM = 0, 1, 2


def run_seed(study_seed: int, point: int, replicate: int, common: bool = False) -> int:
    """The seed of one run, in ``[0, 2**63)``, derived from the study seed."""
    key = (_COMMON_STREAM, replicate) if common else (_RUN_STREAM, point, replicate)
    a, b = np.random.SeedSequence(study_seed, spawn_key=key).generate_state(2, np.uint32)
    return ((int(a) << 32) | int(b)) & (2**63 - 1)


def _design_seed(spec: StudySpec) -> int:
    """A 32-bit seed for the design's own sampling (SALib takes an int)."""
    ss = np.random.SeedSequence(spec.seed, spawn_key=(_DESIGN_STREAM,))
    return int(ss.generate_state(1, np.uint32)[0])


def _is_log(v: Vary) -> bool:
    return v.scale == "log" if v.range is not None else v.dist == "loguniform"


def salib_problem(spec: StudySpec) -> dict[str, Any]:
    """SALib's ``problem`` dict of a sampling design (``lhs``, ``sobol``, ``morris``).

    ``names`` are the dotted keys; a log-uniform parameter has ``log10`` true and its
    ``bounds`` in log10 units, so SALib samples it uniformly in its logarithm.
    """
    if spec.design.kind == "grid":
        raise ValueError("a grid design has no SALib problem")
    bounds, logs = [], []
    for v in spec.vary.values():
        lo, hi = v.bounds  # type: ignore[misc]
        log = v.dist == "loguniform"
        bounds.append([float(np.log10(lo)), float(np.log10(hi))] if log else [lo, hi])
        logs.append(log)
    n = len(bounds)
    return {
        "num_vars": n,
        "names": list(spec.vary),
        "bounds": bounds,
        "dists": ["unif"] * n,
        "log10": logs,
    }


def problem_matrix(spec: StudySpec, design: pd.DataFrame) -> np.ndarray:
    """The design's points in the space of :func:`salib_problem` (one row per point)."""
    problem = salib_problem(spec)
    first = design.sort_values("point").drop_duplicates("point")
    x = first[problem["names"]].to_numpy(dtype=float)
    for j, log in enumerate(problem["log10"]):
        if log:
            x[:, j] = np.log10(x[:, j])
    return x


def _grid_values(v: Vary) -> list[Any]:
    if v.values is not None:
        return list(v.values)
    lo, hi = v.range  # type: ignore[misc]
    steps = int(v.steps)  # type: ignore[arg-type]
    if steps == 1:
        return [float(f"{np.sqrt(lo * hi) if _is_log(v) else 0.5 * (lo + hi):.12g}")]
    vals = np.geomspace(lo, hi, steps) if _is_log(v) else np.linspace(lo, hi, steps)
    return [float(f"{x:.12g}") for x in vals]  # 90.0, not 89.99999999999997


def _unit_points(spec: StudySpec) -> np.ndarray:
    """Sampling designs: points in SALib's problem space, one row per point."""
    d = spec.design
    seed = _design_seed(spec)
    problem = salib_problem(spec)
    if d.kind == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=problem["num_vars"], rng=np.random.default_rng(seed)).random(
            int(d.samples)  # type: ignore[arg-type]
        )
        b = np.asarray(problem["bounds"], dtype=float)
        return b[:, 0] + u * (b[:, 1] - b[:, 0])
    if d.kind == "sobol":
        sobol = require("studies", "SALib.sample.sobol", "a sobol study design")
        second = True if d.calc_second_order is None else d.calc_second_order
        return sobol.sample(problem, int(d.n), calc_second_order=second, seed=seed)  # type: ignore[arg-type]
    morris = require("studies", "SALib.sample.morris", "a morris study design")
    return morris.sample(
        problem, int(d.trajectories), num_levels=d.levels or 4, seed=seed  # type: ignore[arg-type]
    )


def points(spec: StudySpec, scenario: Scenario | None = None) -> pd.DataFrame:
    """One row per design point, one column per varied parameter (values as the runs get them).

    ``scenario`` is the base scenario (loaded from the spec if None); a sampled number is rounded
    where the base scenario's value is an integer.
    """
    keys = spec.varied
    if scenario is None:
        base, base_dir = spec.base_data()
        scenario = validate_scenario(base, "base scenario", base_dir)
    if spec.design.kind == "grid":
        rows = list(itertools.product(*(_grid_values(spec.vary[k]) for k in keys)))
    else:
        x = _unit_points(spec)
        for j, log in enumerate(salib_problem(spec)["log10"]):
            if log:
                x[:, j] = 10.0 ** x[:, j]
        rows = [tuple(float(a) for a in row) for row in x]
    rows = [tuple(coerce(v, k, scenario) for v, k in zip(row, keys, strict=True)) for row in rows]
    frame = pd.DataFrame(rows, columns=keys) if keys else pd.DataFrame(index=range(len(rows)))
    return frame


def run_id(
    point: int, replicate: int, n_points: int, n_replicates: int,
    arm: int | None = None, n_arms: int = 0,
) -> str:
    """``p0003-r01`` (``a01-p0003-r01`` with arms): zero-padded so the ids sort as the numbers."""
    wp = max(4, len(str(n_points - 1)))
    wr = max(2, len(str(n_replicates - 1)))
    head = "" if arm is None else f"a{arm:0{max(2, len(str(n_arms - 1)))}d}-"
    return f"{head}p{point:0{wp}d}-r{replicate:0{wr}d}"


def expand(spec: StudySpec, scenario: Scenario | None = None) -> pd.DataFrame:
    """The study's runs: one row per (point, replicate), sorted by ``run_id``.

    Args:
        spec: a validated study spec (:func:`~invasim.study.load_study_spec`).
        scenario: the base scenario, if already loaded.

    Returns:
        DataFrame with ``run_id`` (str), ``point`` (int), ``replicate`` (int), ``seed`` (int) and
        one column per varied parameter (dotted key).
    """
    pts = points(spec, scenario)
    n_points, reps = len(pts), spec.replicates
    arms: list[str | None] = list(spec.arm_names) or [None]
    records = []
    for a, arm in enumerate(arms):
        index = None if arm is None else a
        for p in range(n_points):
            values = pts.iloc[p].to_dict() if spec.varied else {}
            for r in range(reps):
                records.append(
                    {
                        "run_id": run_id(p, r, n_points, reps, index, len(arms)),
                        "arm": arm,
                        "point": p,
                        "replicate": r,
                        # not the arm: replicate r has one seed in every arm
                        "seed": run_seed(spec.seed, p, r, spec.common_random_numbers),
                        **values,
                    }
                )
    frame = pd.DataFrame.from_records(records, columns=design_columns(spec))
    for col in ("point", "replicate", "seed"):
        frame[col] = frame[col].astype("int64")
    if spec.arms:
        frame["arm"] = arm_categorical(frame["arm"], spec.arm_names)
    for key in spec.varied:  # keep each parameter's own type (int, float, str, bool)
        frame[key] = frame[key].infer_objects()
    return frame.sort_values("run_id", ignore_index=True)


def design_columns(spec: StudySpec) -> list[str]:
    """The columns of :func:`expand`: ``arm`` only in a study with arms."""
    return ["run_id", *(["arm"] if spec.arms else []), "point", "replicate", "seed", *spec.varied]


def arm_categorical(values: pd.Series, names: list[str]) -> pd.Series:
    """``values`` as an ordered categorical of the arm names, in the order of the spec."""
    return pd.Series(
        pd.Categorical(values.astype(str), categories=list(names), ordered=True),
        index=values.index, name="arm",
    )


def describe(spec: StudySpec, design: pd.DataFrame) -> str:
    """One line: the design, its size and the base scenario."""
    n_points = design["point"].nunique() if len(design) else 0
    d = spec.design
    what = {
        "grid": "full-factorial grid",
        "lhs": f"Latin hypercube of {d.samples} points",
        "sobol": f"Sobol'/Saltelli design, N = {d.n}",
        "morris": f"Morris design, r = {d.trajectories}, {d.levels or 4} levels",
    }[d.kind]
    def n(k: int, word: str) -> str:
        return f"{k} {word}{'' if k == 1 else 's'}"

    reps = n(spec.replicates, "replicate")
    arms = ""
    if spec.arms:
        arms = f"{n(len(spec.arms), 'arm')} ({', '.join(spec.arm_names)}) × "
    if spec.varied:
        size = (f"{what} over {n(len(spec.varied), 'parameter')}, {arms}{n(n_points, 'point')} "
                f"× {reps}")
    else:
        size = f"no varied parameters, {arms}{reps}"
    return (
        f"{spec.name}: {size} = {n(len(design), 'run')}; base scenario {spec.scenario}; "
        f"study seed {spec.seed}"
    )
