"""Study files: a TOML spec of many runs of one scenario, validated like a scenario.

A study spec names a base scenario (built-in name or file) with fixed overrides, the parameters
to vary (each by its dotted scenario key), a design, replicates per point, one study seed and
the metrics to keep::

    name = "fisher-sweep"
    scenario = "fisher-kpp"
    seed = 7
    replicates = 2
    set = { "time.end_min" = 40320.0 }

    [design]
    kind = "grid"                 # grid | lhs | sobol | morris

    [vary."params.D_um2_per_min"]
    range = [45.0, 180.0]         # grid: values = [...] or range + steps (+ scale)
    steps = 3
    scale = "log"

    [keep]
    metrics = ["front_um"]        # default: every metric of the model
    times = "last"                # "last", "all" or a list of minutes

Named **arms** compare a few variants of the scenario side by side: each arm is a set of
overrides applied on top of ``set``, in the order written (the first arm is the reference)::

    [arms.control]
    set = {}
    [arms."mmpi+rocki"]
    description = "both inhibitors"
    set = { "params.D_um2_per_min" = 45.0 }

Arms cross the design: every arm runs at every design point (grid or lhs; sobol and morris
designs take no arms) with the same replicates, and replicate ``r`` at point ``p`` has the same
seed in every arm (common random numbers). An arm may not set a key that ``[vary]`` varies.

Sampling designs (``lhs``, ``sobol``, ``morris``) take ``bounds = [lo, hi]`` and
``dist = "uniform" | "loguniform"`` per parameter instead of values or a range.

Contract: every failure raises :class:`~invasim.errors.ConfigError` with one line naming the
key, the value and what is allowed. Every varied key is checked by applying its values to
the base scenario and validating the result, so a typo in a parameter name fails here, before
any run starts: each listed value and both ends of each range are checked the same way (one
parameter at a time, the others at their base values). Each arm is checked by applying all its
overrides to the base scenario and validating the result; when that fails, the first of its keys
that fails on its own is named with its value (otherwise the arm's keys together). Varied values
are checked in every arm.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import math
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from invasim.config.loader import (
    apply_overrides,
    builtin_names,
    builtin_toml_names,
    read_named_toml,
    read_scenario_data,
    toml_key,
    toml_value,
    validate_model,
    validate_scenario,
)
from invasim.config.schema import Scenario
from invasim.errors import ConfigError

#: folder of the built-in study specs, inside the package
STUDIES_FOLDER = "studies"

DesignKind = Literal["grid", "lhs", "sobol", "morris"]
#: which ``[design]`` settings each design takes
_DESIGN_KEYS = {
    "grid": (),
    "lhs": ("samples",),
    "sobol": ("n", "calc_second_order"),
    "morris": ("trajectories", "levels"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Design(_Strict):
    """How the points of the study are chosen."""

    kind: DesignKind = Field("grid", description="grid, lhs, sobol (Saltelli) or morris")
    samples: int | None = Field(None, ge=1, description="lhs: number of points")
    n: int | None = Field(
        None, ge=1, description="sobol: base samples N (a power of 2); N(D+2) or N(2D+2) points"
    )
    calc_second_order: bool | None = Field(
        None, description="sobol: also sample for second-order indices (default true, as SALib)"
    )
    trajectories: int | None = Field(
        None, ge=2, description="morris: number of trajectories r; r(D+1) points"
    )
    levels: int | None = Field(None, ge=2, description="morris: grid levels p (default 4)")


class Vary(_Strict):
    """One varied parameter: values, a range or a distribution."""

    values: list[float | int | str | bool] | None = Field(None, description="grid: the values")
    range: list[float] | None = Field(None, description="grid: [low, high], with steps")
    steps: int | None = Field(None, ge=1, description="grid: number of values in range")
    scale: Literal["linear", "log"] = Field("linear", description="grid: spacing of range")
    bounds: list[float] | None = Field(None, description="lhs/sobol/morris: [low, high]")
    dist: Literal["uniform", "loguniform"] = Field(
        "uniform", description="lhs/sobol/morris: distribution between the bounds"
    )


class Keep(_Strict):
    """Which readouts of each run go into the table."""

    metrics: list[str] | None = Field(None, description="metric names (default: all)")
    times: Literal["last", "all"] | list[float] = Field(
        "last", description="'last', 'all' or a list of output times [min]"
    )


class Arm(_Strict):
    """One named arm: a set of overrides of the base scenario (on top of the study's ``set``)."""

    description: str = Field("", description="what the arm is, one line")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="overrides of this arm: dotted scenario key = value (empty: the base)",
    )


class StudySpec(_Strict):
    """A validated study spec (see the module docstring for the file format)."""

    name: str = Field(min_length=1, description="study name, used for default folder names")
    description: str = Field("", description="what the study asks, one line")
    scenario: str = Field(min_length=1, description="base scenario: built-in name or file path")
    set: dict[str, Any] = Field(
        default_factory=dict, description="fixed overrides of the base scenario: dotted key = value"
    )
    seed: int = Field(0, ge=0, lt=2**63, description="study seed; every run's seed derives from it")
    replicates: int = Field(1, ge=1, description="runs per design point, each with its own seed")
    common_random_numbers: bool = Field(
        False, description="replicate k uses the same seed at every point (paired comparisons)"
    )
    plugins: list[str] = Field(
        default_factory=list,
        description="modules (dotted names or .py files) imported before the scenario is loaded, "
        "e.g. to register a model",
    )
    design: Design = Field(default_factory=Design)
    vary: dict[str, Vary] = Field(default_factory=dict, description="dotted key -> how it varies")
    keep: Keep = Field(default_factory=Keep)
    arms: dict[str, Arm] = Field(
        default_factory=dict,
        description="named arms, in the order of the file: name -> its overrides (none: no arms)",
    )

    @property
    def varied(self) -> list[str]:
        """The varied dotted keys, in the order of the file."""
        return list(self.vary)

    @property
    def arm_names(self) -> list[str]:
        """The arms' names in the order of the file (the first is the reference); [] if none."""
        return list(self.arms)

    def arm_overrides(self, arm: str | None) -> dict[str, Any]:
        """The dotted overrides of one arm (``{}`` for None: a study without arms)."""
        return {} if arm is None else dict(self.arms[arm].set)

    def base_data(self) -> tuple[dict[str, Any], str | None]:
        """Raw data of the base scenario with the fixed overrides, and its folder (or None)."""
        load_plugins(self.plugins)
        data, origin = read_scenario_data(self.scenario)
        base_dir = None if self.scenario in builtin_names() else str(Path(origin).parent)
        return apply_overrides(data, to_overrides(self.set)), base_dir

    def to_data(self) -> dict[str, Any]:
        """Plain data of the resolved spec (what ``study.toml`` holds)."""
        data = self.model_dump(mode="json", exclude_none=True)
        grid = self.design.kind == "grid"
        for key, v in self.vary.items():  # only the settings the design reads
            used = ("values",) if v.values is not None else ("range", "steps", "scale")
            data["vary"][key] = {
                k: val for k, val in data["vary"][key].items()
                if k in (used if grid else ("bounds", "dist"))
            }
        if not self.arms:  # a study without arms stores no [arms]
            data.pop("arms", None)
        for arm in data.get("arms", {}).values():
            if not arm.get("description"):
                arm.pop("description", None)
        return data


# -- plug-ins ----------------------------------------------------------------------------------
def load_plugins(plugins: list[str]) -> None:
    """Import each plug-in once: a dotted module name, or the path of a ``.py`` file."""
    for item in plugins:
        try:
            if item.endswith(".py"):
                path = Path(item).resolve()
                name = "invasim_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
                if name in sys.modules:
                    continue
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None or not path.is_file():
                    raise ImportError(f"no such file {path}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]
                    raise
            else:
                importlib.import_module(item)
        except Exception as exc:
            line = str(exc).splitlines()[0] if str(exc) else ""
            raise ConfigError(
                f"plugin {item!r} cannot be imported: {type(exc).__name__}: {line}"
            ) from None


# -- reading -----------------------------------------------------------------------------------
def builtin_study_names() -> list[str]:
    """Names of the study specs shipped inside the package."""
    return builtin_toml_names(STUDIES_FOLDER)


def _read_spec_data(name_or_path: str | Path) -> tuple[dict[str, Any], str, Path | None]:
    """Raw data of a study spec, its origin for messages, and its folder (None: built-in)."""
    return read_named_toml(name_or_path, STUDIES_FOLDER, "study", "studies")


def _flatten(table: Any, prefix: str = "", leaf_tables: bool = False) -> Any:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``.

    With ``leaf_tables``, a table that holds any value other than a table is a leaf (the
    settings of one ``[vary]`` key) and only tables of tables are flattened.
    """
    if not isinstance(table, dict):
        return table
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        nested = isinstance(value, dict) and value
        if nested and leaf_tables:
            nested = all(isinstance(v, dict) for v in value.values())
        if nested:
            out.update(_flatten(value, dotted, leaf_tables))
        else:
            out[dotted] = value
    return out


def to_overrides(values: dict[str, Any]) -> list[str]:
    """``{"time.end_min": 10.0}`` -> ``["time.end_min=10.0"]`` (TOML-typed, as ``--set``)."""
    return [f"{key}={toml_value(value)}" for key, value in values.items()]


def load_study_spec(
    name_or_path: str | Path | dict[str, Any], overrides: list[str] | None = None
) -> StudySpec:
    """Load and validate a study spec: a built-in name, a TOML file, or raw data.

    Args:
        name_or_path: built-in study name, path to a TOML file, or a dict of the same content.
        overrides: ``"key=value"`` strings applied to the spec (e.g. ``"replicates=4"``,
            ``"design.n=64"``), typed like ``--set``.

    Returns:
        The validated :class:`StudySpec`, with relative scenario and plug-in paths made absolute.

    Raises:
        ConfigError: one line naming what is wrong and what is allowed.
    """
    if isinstance(name_or_path, dict):
        data, origin, folder = dict(name_or_path), "study", Path.cwd()
    else:
        data, origin, folder = _read_spec_data(name_or_path)
        data.setdefault("name", Path(str(name_or_path)).stem)
    if overrides:
        data = apply_overrides(data, overrides)
        origin = f"{origin} with --set overrides"
    return validate_study_data(data, origin, folder)


def _resolve_path(value: str, folder: Path | None) -> str:
    path = Path(value)
    if folder is None or path.is_absolute():
        return value
    return str((folder / path).resolve())


def validate_study_data(
    data: dict[str, Any], origin: str, folder: Path | None, check: bool = True
) -> StudySpec:
    """Validate raw spec data; ``folder`` is where relative paths in it are taken from.

    ``check=False`` skips loading the base scenario (for a stored, already checked spec).
    """
    data = dict(data)
    if isinstance(data.get("set"), dict):
        data["set"] = _flatten(data["set"])
    raw_vary = data.pop("vary", {})
    raw_arms = data.pop("arms", None)
    if not isinstance(raw_vary, dict):
        raise ConfigError(f"{origin}: vary must be a table of dotted keys, got {raw_vary!r}")
    spec = validate_model(StudySpec, data, origin)
    assert isinstance(spec, StudySpec)
    vary: dict[str, Vary] = {}
    for key, table in _flatten(raw_vary, leaf_tables=True).items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{origin}: vary.{key} = {table!r}: expected a table with values, range + steps,"
                " or bounds"
            )
        item = validate_model(Vary, table, origin, f"vary.{key}")
        assert isinstance(item, Vary)
        vary[key] = item
    spec.vary = vary
    spec.arms = _validate_arms(raw_arms, origin)
    if spec.scenario not in builtin_names() and folder is not None:
        spec.scenario = _resolve_path(spec.scenario, folder)
    spec.plugins = [
        _resolve_path(p, folder) if p.endswith(".py") else p for p in spec.plugins
    ]
    _check_design(spec, origin)
    if check:
        _check_keys(spec, origin)
    return spec


#: characters an arm name may not hold (it is printed in one-line messages and table cells)
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


def _validate_arms(raw: Any, origin: str) -> dict[str, Arm]:
    """The ``[arms.NAME]`` tables, in the order written, each with its ``set`` flattened."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{origin}: arms must be a table of named arms, [arms.NAME] with set = {{...}}; "
            f"got {raw!r}"
        )
    if not raw:
        raise ConfigError(f"{origin}: arms is empty; give at least one [arms.NAME] table")
    arms: dict[str, Arm] = {}
    for name, table in raw.items():
        where = f"arms.{toml_key(str(name))}"
        if not str(name).strip() or _BAD_NAME.search(str(name)):
            raise ConfigError(
                f"{origin}: arm name {name!r} is not allowed: give a non-empty name without "
                "control characters, e.g. [arms.control] or [arms.\"mmpi+rocki\"]"
            )
        if not isinstance(table, dict):
            raise ConfigError(
                f"{origin}: {where} = {table!r}: expected a table, e.g. [{where}] with "
                "set = { \"params.key\" = value } (set = {} for the base scenario)"
            )
        table = dict(table)
        if isinstance(table.get("set"), dict):
            table["set"] = _flatten(table["set"])
        arm = validate_model(Arm, table, origin, where)
        assert isinstance(arm, Arm)
        arms[str(name)] = arm
    return arms


# -- cross-field checks ------------------------------------------------------------------------
def _check_arms(spec: StudySpec, origin: str) -> None:
    if not spec.arms:
        return
    if spec.design.kind in ("sobol", "morris"):
        raise ConfigError(
            f"{origin}: arms go with grid and lhs designs, not {spec.design.kind}: its indices "
            "need one value per design point; write one study per arm (its overrides in set)"
        )
    for name, arm in spec.arms.items():
        for key in arm.set:
            if key in spec.vary:
                raise ConfigError(
                    f"{origin}: arms.{toml_key(name)}.set names {key!r}, which [vary] varies; "
                    "an arm may set only keys the design does not vary (drop it from the arm or "
                    "from vary)"
                )


def _check_design(spec: StudySpec, origin: str) -> None:
    _check_arms(spec, origin)
    d = spec.design
    for kind, keys in _DESIGN_KEYS.items():
        for key in keys:
            if kind != d.kind and getattr(d, key) is not None:
                raise ConfigError(
                    f"{origin}: design.{key} applies to a {kind} design, not {d.kind}"
                    + (f"; a {d.kind} design takes {', '.join(_DESIGN_KEYS[d.kind])}"
                       if _DESIGN_KEYS[d.kind] else "")
                )
    if d.kind == "lhs" and d.samples is None:
        raise ConfigError(f"{origin}: an lhs design needs design.samples (the number of points)")
    if d.kind == "sobol":
        if d.n is None:
            raise ConfigError(f"{origin}: a sobol design needs design.n (base samples, 2^k)")
        if d.n & (d.n - 1):
            lo = 1 << (d.n.bit_length() - 1)
            raise ConfigError(
                f"{origin}: design.n = {d.n} must be a power of 2 (Saltelli's scheme on a Sobol' "
                f"sequence); use {lo} or {2 * lo}"
            )
    if d.kind == "morris":
        if d.trajectories is None:
            raise ConfigError(f"{origin}: a morris design needs design.trajectories (r >= 2)")
        if d.levels is not None and d.levels % 2:
            raise ConfigError(f"{origin}: design.levels = {d.levels} must be even (SALib)")
    if d.kind != "grid" and not spec.vary:
        raise ConfigError(f"{origin}: a {d.kind} design needs at least one parameter in [vary]")
    if d.kind == "sobol" and len(spec.vary) < 2:
        raise ConfigError(f"{origin}: a sobol design needs at least two parameters in [vary]")
    for key, v in spec.vary.items():
        where = f"{origin}: vary.{key}"
        if d.kind == "grid":
            if v.bounds is not None or v.dist != "uniform":
                raise ConfigError(
                    f"{where}: bounds and dist are for lhs, sobol and morris designs; a grid "
                    "takes values = [...] or range = [low, high] with steps"
                )
            if (v.values is None) == (v.range is None):
                raise ConfigError(
                    f"{where}: give either values = [...] or range = [low, high] with steps"
                )
            if v.values is not None:
                if not v.values:
                    raise ConfigError(f"{where}.values is empty; give at least one value")
                if v.steps is not None or v.scale != "linear":
                    raise ConfigError(f"{where}: steps and scale go with range, not values")
            else:
                _check_interval(v.range, f"{where}.range", v.scale == "log")
                if v.steps is None:
                    raise ConfigError(f"{where}: range needs steps (the number of values)")
        else:
            if v.values is not None or v.range is not None or v.steps is not None or (
                v.scale != "linear"
            ):
                raise ConfigError(
                    f"{where}: a {d.kind} design samples between bounds = [low, high] (dist = "
                    "'uniform' or 'loguniform'); values, range and steps are for grids"
                )
            if v.bounds is None:
                raise ConfigError(f"{where}: give bounds = [low, high]")
            _check_interval(v.bounds, f"{where}.bounds", v.dist == "loguniform")


def _check_interval(pair: list[float] | None, where: str, log: bool) -> None:
    assert pair is not None
    if len(pair) != 2:
        raise ConfigError(f"{where} = {pair}: give two numbers, [low, high]")
    lo, hi = pair
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"{where} = {pair}: both ends must be finite")
    if not lo < hi:
        raise ConfigError(f"{where} = {pair} is empty: low must be less than high")
    if log and lo <= 0:
        raise ConfigError(f"{where} = {pair}: a log scale needs low > 0")


def check_values(v: Vary) -> list[Any]:
    """The values a varied key is checked with: each listed value, or both ends of its range."""
    if v.values is not None:
        return list(dict.fromkeys(v.values))
    return list(v.range if v.range is not None else v.bounds)  # type: ignore[arg-type]


def _check_keys(spec: StudySpec, origin: str) -> None:
    """Validate the base scenario, then each varied key with its values applied."""
    try:
        load_plugins(spec.plugins)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    base, base_dir = spec.base_data()
    scenario = validate_scenario(
        base, f"{origin}: scenario {spec.scenario!r}" + (" with set" if spec.set else ""), base_dir
    )
    arm_bases: list[tuple[str, dict[str, Any]]] = [("", base)]
    if spec.arms:
        arm_bases = [(n, _check_arm(spec, n, base, base_dir, origin)) for n in spec.arms]
    for key, v in spec.vary.items():
        for value in check_values(v):
            value = coerce(value, key, scenario)
            for name, data in arm_bases:
                data = apply_overrides(data, to_overrides({key: value}))
                where = f" in arm {name!r}" if name else ""
                validate_scenario(data, f"{origin}: vary {key!r} = {value!r}{where}", base_dir)
    _check_keep(spec, scenario, origin)


def short_value(value: Any, width: int = 60) -> str:
    """A value as TOML, cut to ``width`` characters (an arm's list of tables can be long)."""
    text = toml_value(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _check_arm(
    spec: StudySpec, name: str, base: dict[str, Any], base_dir: str | None, origin: str
) -> dict[str, Any]:
    """The base scenario with the arm's overrides, validated; returns its raw data.

    A failure names the first key of the arm that fails alone on the base scenario, with its
    value (when the scenario's own message does not already name it); if each key passes
    alone, the arm's keys together.
    """
    overrides = spec.arm_overrides(name)
    try:
        data = apply_overrides(base, to_overrides(overrides))
        validate_scenario(data, "", base_dir)
        return data
    except ConfigError as exc:
        together = str(exc).removeprefix(": ")
    for key, value in overrides.items():
        try:
            validate_scenario(apply_overrides(base, to_overrides({key: value})), "", base_dir)
        except ConfigError as exc:
            line = str(exc).removeprefix(": ")
            # name the key and value, unless the scenario's message starts with them
            said = line.startswith(f"{key} = ")
            what = "" if said else f"set {key!r} = {short_value(value)}: "
            raise ConfigError(f"{origin}: arm {name!r}: {what}{line}") from None
    keys = ", ".join(repr(k) for k in overrides)
    raise ConfigError(f"{origin}: arm {name!r} (its keys {keys} together): {together}") from None


def coerce(value: Any, key: str, scenario: Scenario) -> Any:
    """Round a sampled number to an int where the base scenario's value is an int."""
    node: Any = scenario.to_data()
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, int) and not isinstance(node, bool) and isinstance(value, float):
        return int(round(value))
    return value


def _check_keep(spec: StudySpec, scenario: Scenario, origin: str) -> None:
    from invasim.models import REGISTRY

    names = list(REGISTRY[scenario.model].metric_names)
    if scenario.model == "agents":  # and what its processes and listed readouts report
        from invasim.agents.process import REGISTRY as PROCESSES

        p = scenario.model_params
        extra = [n for q in p.processes for n in PROCESSES[q](p).metric_names]  # per instance
        extra += [f"n_{t}" for t in p.cell_types] + list(p.readouts)
        names += [n for n in dict.fromkeys(extra) if n not in names]
    for m in spec.keep.metrics or []:
        if m not in names:
            hint = difflib.get_close_matches(m, names, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(
                f"{origin}: keep.metrics names {m!r}, which model {scenario.model} does not "
                f"report{did}; its metrics: {', '.join(names)}"
            )
    if isinstance(spec.keep.times, list):
        tc = scenario.time
        if not spec.keep.times:
            raise ConfigError(f"{origin}: keep.times is empty; give 'last', 'all' or minutes")
        for t in spec.keep.times:
            k = t / tc.output_interval_min
            end_ok = abs(t - tc.end_min) <= 0.5 * tc.dt_min
            if not (0 <= t <= tc.end_min + 0.5 * tc.dt_min) or (
                abs(k - round(k)) > 1e-6 * max(k, 1.0) and not end_ok
            ):
                raise ConfigError(
                    f"{origin}: keep.times has {t:g} min, which is not an output time of the "
                    f"base scenario (every {tc.output_interval_min:g} min up to "
                    f"{tc.end_min:g} min)"
                )
