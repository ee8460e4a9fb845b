"""Cohort specs: a virtual cohort of patients of the body model, its sampled parameters and arms.

A cohort spec is a TOML file (built-ins in ``invasim/config/cohorts/NAME.toml``)::

    name = "resection-timing"
    description = "one line"
    references = ["Author et al. Journal Year; vol:page", ...]
    patients = 200                # per arm
    seed = 1
    follow_up_days = 3650.0       # after diagnosis

    [body]                        # overrides of invasim.body.BodyParams (every patient)
    diagnosis_cells = 1e9
    [sources]                     # one source per [body] value: "body.<field>" = "..."
    "body.diagnosis_cells" = "Del Monte 2009 ..."

    [sample.shed_per_day]         # per-patient distribution of a numeric BodyParams field
    dist = "lognormal"            # lognormal | normal | truncnormal | uniform | loguniform
    median = 3.2
    sigma = 0.5
    source = "..."

    [arms.untreated]              # arms in the order written; the first is the reference
    description = "no therapy"
    [arms.resect-early]
    description = "..."
    source = "..."                # required when the arm sets anything
    resection = { at_primary_cells = 1e9 }
    treatments = [{ name = "chemo", start = "resection", kill_per_day = 0.02 }]
    scale = { shed_per_day = 3.0 }  # multiplies the (sampled) value
    dt_days = 1.0                 # any other BodyParams field, set outright

Distributions (each with ``source``): ``lognormal`` (``median``, ``sigma`` of the log),
``normal`` (``mean``, ``sd``; optional ``low``/``high`` truncate it), ``truncnormal`` (the
same, at least one bound required), ``uniform`` and ``loguniform`` (``low``, ``high``).

Contract:
    * :func:`load_cohort_spec` ``(name_or_path | dict, overrides) -> CohortSpec``: every
      failure is one :class:`~invasim.errors.ConfigError` line naming the key, the value and
      what is allowed (unknown key, field, distribution or arm; a missing source; a sampled
      field that is not a number; an arm that sets a sampled field outright). Each arm is
      checked by building its BodyParams at the samples' medians.
    * :func:`sample_table` ``(spec, n) -> DataFrame``: one row per patient (``patient``,
      ``seed``, one column per sampled field). Drawn by inversion of a uniform stream per
      field (``numpy`` PCG64 seeded by ``(seed, crc32(field))``), so patient ``i``'s values do
      not depend on the number of patients, the other fields or the chunking; the patient's
      simulation seed is drawn the same way. The table is the same in every arm: common random
      numbers (a paired design).
    * :func:`patient_params` ``(spec, arm, row) -> BodyParams``: base ``[body]``, then the
      sample, then the arm's fields and ``scale`` multipliers.
"""

from __future__ import annotations

import difflib
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from invasim.body.patient import BodyParams
from invasim.config.loader import (
    apply_overrides,
    builtin_toml_names,
    read_named_toml,
    validate_model,
)
from invasim.errors import ConfigError

#: folder of the built-in cohort specs, inside the package
COHORTS_FOLDER = "cohorts"
#: the parameters of each distribution (required, optional)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lognormal": (("median", "sigma"), ()),
    "normal": (("mean", "sd"), ("low", "high")),
    "truncnormal": (("mean", "sd"), ("low", "high")),
    "uniform": (("low", "high"), ()),
    "loguniform": (("low", "high"), ()),
}
#: keys of an arm table besides BodyParams fields
ARM_KEYS = ("description", "source", "scale")
#: BodyParams fields an arm or a sample may not touch (the cohort sets them)
_RESERVED = ("detect_times_days",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Dist(_Strict):
    """One per-patient distribution of a BodyParams field."""

    dist: str = Field(description="lognormal, normal, truncnormal, uniform or loguniform")
    source: str = Field(min_length=1, description="where the spread comes from")
    median: float | None = None
    sigma: float | None = Field(None, ge=0)
    mean: float | None = None
    sd: float | None = Field(None, ge=0)
    low: float | None = None
    high: float | None = None


class CohortSpec(_Strict):
    """A validated cohort spec (see the module docstring)."""

    name: str
    description: str = ""
    references: list[str] = Field(default_factory=list)
    patients: int = Field(100, ge=1, description="patients per arm")
    seed: int = Field(0, ge=0)
    follow_up_days: float = Field(3650.0, gt=0, allow_inf_nan=False,
                                  description="follow-up after diagnosis [days]")
    body: dict[str, Any] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)
    sample: dict[str, Dist] = Field(default_factory=dict)
    arms: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def arm_names(self) -> list[str]:
        """Arms in the order written (the first is the reference)."""
        return list(self.arms)

    def to_data(self) -> dict[str, Any]:
        """The spec as plain data (TOML/JSON-able)."""
        return self.model_dump(mode="json", exclude_none=True)


# -- loading -----------------------------------------------------------------------------------
def builtin_cohort_names() -> list[str]:
    """Names of the cohort specs shipped inside the package."""
    return builtin_toml_names(COHORTS_FOLDER)


def read_cohort_data(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    """Raw data of a cohort spec (built-in name or TOML file) and its origin for messages."""
    data, origin, _ = read_named_toml(name_or_path, COHORTS_FOLDER, "cohort", "cohorts")
    return data, origin


def load_cohort_spec(name_or_path: str | Path | dict[str, Any],
                     overrides: list[str] | None = None,
                     shedding: str | Path | None = None) -> CohortSpec:  # fmt: skip
    """Load and validate a cohort spec: a built-in name, a TOML file, or raw data.

    Args:
        name_or_path: built-in cohort name, path to a TOML file, or a dict of the same content.
        overrides: ``"key=value"`` strings (``"patients=40"``, ``"body.dt_days=2.0"``,
            ``"arms.resect-late.resection.at_primary_cells=1e11"``), typed like ``--set``;
            applied last.
        shedding: a ``shedding.toml`` of ``invasim shedding`` (a tissue run's calibration):
            applied before the overrides (:func:`apply_shedding`).

    Raises:
        ConfigError: one line naming what is wrong and what is allowed.
    """
    if isinstance(name_or_path, dict):
        data, origin = dict(name_or_path), "cohort"
    else:
        data, origin = read_cohort_data(name_or_path)
        data.setdefault("name", Path(str(name_or_path)).stem)
    if shedding is not None:
        data = apply_shedding(data, shedding)
        origin = f"{origin} with --shedding {shedding}"
    if overrides:
        data = apply_overrides(data, overrides)
        origin = f"{origin} with --set overrides"
    return validate_cohort_data(data, origin)


#: the centre of each distribution, set by a calibration (uniform ones have none)
_CENTRE = {"lognormal": "median", "normal": "mean", "truncnormal": "mean"}


def apply_shedding(data: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Cohort data with the ``[body]`` values of a ``shedding.toml`` (``invasim shedding``).

    Each calibrated value (``shed_per_day``, ``alpha``, ``cluster_fraction``) becomes the
    ``[body]`` value with the calibration's source, or, where the spec samples that field, the
    centre of its distribution (``median`` of a lognormal, ``mean`` of a normal; the spread
    kept), its source prefixed with the calibration's. Raises ConfigError for an unreadable
    file, a file without ``[body]``, or a sampled field with a uniform distribution (no centre
    to set).
    """
    import copy
    import tomllib

    path = Path(path)
    try:
        cal = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--shedding {path}: cannot read it ({exc.strerror or exc}); give "
                          "the shedding.toml that invasim shedding RUN_DIR writes") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--shedding {path}: not valid TOML ({exc})") from None
    body = cal.get("body")
    if not isinstance(body, dict) or not body:
        raise ConfigError(f"--shedding {path}: no [body] table; give the shedding.toml that "
                          "invasim shedding RUN_DIR writes")  # fmt: skip
    sources = cal.get("sources", {}) if isinstance(cal.get("sources"), dict) else {}
    out = copy.deepcopy(data)
    out.setdefault("body", {})
    out.setdefault("sources", {})
    sample = out.get("sample", {})
    for key, value in body.items():
        src = sources.get(f"body.{key}", f"calibrated ({path})")
        if key in sample and isinstance(sample[key], dict):
            dist = sample[key].get("dist")
            centre = _CENTRE.get(dist)
            if centre is None:
                raise ConfigError(f"--shedding {path}: the spec samples {key} from a {dist} "
                                  "distribution, which has no centre to set; allowed: a "
                                  "lognormal or normal sample of it, or none")  # fmt: skip
            sample[key] = {**sample[key], centre: value,
                           "source": f"{centre}: {src}; spread: {sample[key].get('source', '')}"}
        else:
            out["body"][key] = value
            out["sources"][f"body.{key}"] = src
    return out


def validate_cohort_data(data: dict[str, Any], origin: str = "cohort") -> CohortSpec:
    """Validate raw cohort data (see :func:`load_cohort_spec`)."""
    data = dict(data)
    for key in ("sample", "arms"):  # TOML tables of tables; check their shape first
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(f"{origin}: {key} = {data[key]!r}: allowed a table")
    for name, d in data.get("sample", {}).items():
        if not isinstance(d, dict):
            raise ConfigError(f"{origin}: sample.{name} = {d!r}: allowed a table with dist, "
                              "its parameters and source")  # fmt: skip
    for name, arm in data.get("arms", {}).items():
        if not isinstance(arm, dict):
            raise ConfigError(f"{origin}: arms.{name} = {arm!r}: allowed a table")
    spec = validate_model(CohortSpec, data, origin)
    assert isinstance(spec, CohortSpec)
    fields = BodyParams.model_fields
    # [body] and its sources
    validate_model(BodyParams, spec.body, origin, "body")
    for key in spec.body:
        if key in _RESERVED:
            raise ConfigError(f"{origin}: body.{key} is set by the cohort (1 year after "
                              "diagnosis); allowed: leave it out")  # fmt: skip
        if f"body.{key}" not in spec.sources:
            raise ConfigError(f"{origin}: body.{key} has no source; allowed: a line "
                              f'"body.{key}" = "<citation or stated-illustrative: why>" in '
                              "[sources]")  # fmt: skip
    for key in spec.sources:
        if not key.startswith("body.") or key[5:] not in spec.body:
            raise ConfigError(f"{origin}: sources names {key!r}, which is not a [body] value; "
                              f"allowed: {', '.join('body.' + k for k in spec.body) or 'none'}")
    for name, d in spec.sample.items():
        _check_dist(name, d, origin, fields)
    if not spec.arms:
        raise ConfigError(f"{origin}: no arms; allowed: at least one [arms.NAME] table")
    for name, arm in spec.arms.items():
        _check_arm(spec, name, arm, origin, fields)
    return spec


def _numeric_fields(fields) -> list[str]:
    return sorted(k for k, f in fields.items() if f.annotation in (float, int)
                  and k not in _RESERVED and k != "max_colonies")  # fmt: skip


def _check_dist(name: str, d: Dist, origin: str, fields) -> None:
    where = f"{origin}: sample.{name}"
    numeric = _numeric_fields(fields)
    if name not in numeric:
        hint = difflib.get_close_matches(name, numeric, n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(f"{where}: not a numeric BodyParams field{did}; allowed: "
                          f"{', '.join(numeric)}")  # fmt: skip
    if d.dist not in DISTRIBUTIONS:
        raise ConfigError(f"{where}.dist = {d.dist!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    required, optional = DISTRIBUTIONS[d.dist]
    given = {k for k in ("median", "sigma", "mean", "sd", "low", "high")
             if getattr(d, k) is not None}  # fmt: skip
    for k in required:
        if k not in given:
            raise ConfigError(f"{where}: dist {d.dist!r} needs {k!r}; allowed keys: "
                              f"{', '.join((*required, *optional))}, source")  # fmt: skip
    extra = sorted(given - set(required) - set(optional))
    if extra:
        raise ConfigError(f"{where}: {extra[0]!r} is not a parameter of dist {d.dist!r}; "
                          f"allowed: {', '.join((*required, *optional))}, source")  # fmt: skip
    if d.dist == "truncnormal" and d.low is None and d.high is None:
        raise ConfigError(f"{where}: dist 'truncnormal' needs 'low' or 'high' (or both)")
    if d.low is not None and d.high is not None and not d.low < d.high:
        raise ConfigError(f"{where}: low = {d.low:g}, high = {d.high:g}; allowed low < high")
    if d.dist == "loguniform" and not d.low > 0:
        raise ConfigError(f"{where}: loguniform low = {d.low:g}; allowed low > 0")
    if d.dist == "lognormal" and not d.median > 0:
        raise ConfigError(f"{where}: lognormal median = {d.median:g}; allowed median > 0")
    if d.dist in ("normal", "truncnormal") and d.sd == 0 and d.low is not None:
        if not d.low <= d.mean <= (d.high if d.high is not None else math.inf):
            raise ConfigError(f"{where}: sd 0 with mean outside [low, high]")
    lo, hi = quantiles(d, np.array([1e-9, 1 - 1e-9]))
    for q, v in (("low end", lo), ("high end", hi)):  # both tails must make a valid patient
        try:
            BodyParams.model_validate({name: float(v)})
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"]
            raise ConfigError(f"{where}: the distribution's {q} {v:.4g} is invalid ({msg}); "
                              "allowed: a distribution within the field's range (truncate "
                              "it with low/high, or use uniform/loguniform)") from None


def _check_arm(spec: CohortSpec, name: str, arm: dict[str, Any], origin: str, fields) -> None:
    where = f"{origin}: arms.{name}"
    allowed = [*ARM_KEYS, *sorted(k for k in fields if k not in _RESERVED)]
    for key in arm:
        if key in ARM_KEYS:
            continue
        if key not in fields or key in _RESERVED:
            hint = difflib.get_close_matches(key, allowed, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}: unknown key {key!r}{did}; allowed: "
                              f"{', '.join(allowed)}")  # fmt: skip
        if key in spec.sample:
            raise ConfigError(f"{where}.{key}: a sampled field; allowed: scale = "
                              f"{{ {key} = <factor> }} (an arm may not replace a sample)")
    for key in ("description", "source"):
        if key in arm and not isinstance(arm[key], str):
            raise ConfigError(f"{where}.{key} = {arm[key]!r}: allowed a string")
    scale = arm.get("scale", {})
    if not isinstance(scale, dict):
        raise ConfigError(f"{where}.scale = {scale!r}: allowed a table field = factor")
    numeric = _numeric_fields(fields)
    for key, f in scale.items():
        if key not in numeric:
            hint = difflib.get_close_matches(key, numeric, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}.scale.{key}: not a numeric BodyParams field{did}; "
                              f"allowed: {', '.join(numeric)}")  # fmt: skip
        if isinstance(f, bool) or not isinstance(f, int | float) or not f >= 0:
            raise ConfigError(f"{where}.scale.{key} = {f!r}: allowed a number >= 0")
        if key in arm:
            raise ConfigError(f"{where}: sets {key} and scales it; allowed one of the two")
    sets = [k for k in arm if k not in ("description", "source")]
    if sets and not str(arm.get("source", "")).strip():
        raise ConfigError(f"{where}: sets {', '.join(sets)} without a source; allowed: "
                          'source = "<citation or stated-illustrative: why>"')  # fmt: skip
    medians = {k: float(quantiles(d, np.array([0.5]))[0]) for k, d in spec.sample.items()}
    data = arm_data(spec, name, medians)
    validate_model(BodyParams, data, f"{where} (at the samples' medians)")


# -- sampling ----------------------------------------------------------------------------------
def quantiles(d: Dist, u: np.ndarray) -> np.ndarray:
    """The distribution's values at the probabilities ``u`` (inverse CDF)."""
    from scipy import stats

    if d.dist == "lognormal":
        return d.median * np.exp(d.sigma * stats.norm.ppf(u))
    if d.dist == "uniform":
        return d.low + (d.high - d.low) * u
    if d.dist == "loguniform":
        return np.exp(math.log(d.low) + (math.log(d.high) - math.log(d.low)) * u)
    lo = -math.inf if d.low is None else d.low
    hi = math.inf if d.high is None else d.high
    if d.sd == 0:
        return np.full(np.shape(u), min(max(d.mean, lo), hi), dtype=float)
    a, b = (lo - d.mean) / d.sd, (hi - d.mean) / d.sd
    return stats.truncnorm.ppf(u, a, b, loc=d.mean, scale=d.sd)


def _stream(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])


def sample_table(spec: CohortSpec, n: int | None = None) -> pd.DataFrame:
    """One row per patient: ``patient``, ``seed`` and each sampled field (see the contract)."""
    n = spec.patients if n is None else n
    out: dict[str, Any] = {"patient": np.arange(n, dtype=np.int64)}
    seeds = _stream(spec.seed, "patient seed").integers(0, 2**62, size=n, dtype=np.int64)
    out["seed"] = seeds
    for name, d in spec.sample.items():
        u = _stream(spec.seed, f"sample {name}").random(n)
        u = np.clip(u, 1e-12, 1 - 1e-12)
        v = quantiles(d, u)
        out[name] = v.astype(int) if BodyParams.model_fields[name].annotation is int else v
    return pd.DataFrame(out)


def arm_data(spec: CohortSpec, arm: str, sample: dict[str, Any]) -> dict[str, Any]:
    """Raw BodyParams data of one patient in ``arm``: base, sample, arm fields, scale."""
    a = spec.arms[arm]
    data = {**spec.body, **sample}
    data.update({k: v for k, v in a.items() if k not in ARM_KEYS})
    for key, f in a.get("scale", {}).items():
        base = data.get(key, BodyParams.model_fields[key].default)
        data[key] = base * f
    return data


def patient_params(spec: CohortSpec, arm: str, sample: dict[str, Any],
                   detect_day: float | None = None) -> BodyParams:  # fmt: skip
    """The BodyParams of one patient in ``arm`` (``detect_day``: when to count detectable)."""
    data = arm_data(spec, arm, sample)
    if detect_day is not None:
        data["detect_times_days"] = [float(detect_day)]
    data.setdefault("record_every_days", 365.0)
    return BodyParams.model_validate(data)

