"""Per-cell parameters given as distributions, to seed heterogeneity among cells of one type.

Contract:
    * A per-cell parameter of a cell type is a number (every cell gets it) or a table::

          volume = { distribution = "lognormal", mu = 7.8, sigma = 0.2, lower = 1000.0 }

      with ``distribution`` one of :data:`KINDS`: ``constant`` (``value``), ``uniform``
      (``lower``, ``upper``), ``loguniform`` (``0 < lower < upper``), ``normal`` (``mu``,
      ``sigma`` > 0, optional ``lower``/``upper``), ``lognormal`` (``ln x`` is normal with
      ``mu``, ``sigma``; optional ``0 <= lower < upper``). Bounds truncate the distribution
      (they do not clip it).
    * Bounds must keep at least :data:`MIN_MASS` of the untruncated probability (computed
      exactly from the normal CDF): a tail thinner than that means the bounds, not the
      distribution, decide the values, which is almost always a unit mistake (``mu`` of a
      lognormal is the mean of ``ln x``, not of ``x``).
    * :func:`parse_per_cell` validates a raw value and, given the parameter's allowed interval,
      checks that every value the distribution can produce lies inside it. Every problem is a
      :class:`~invasim.errors.ConfigError` with one line naming the key, value and what is
      allowed.
    * Sampling is by inverse CDF from a NumPy ``Generator``: one uniform draw per cell, so the
      values depend only on the generator's state (deterministic per seed). The truncated normal
      is inverted on the side of the tail its interval lies in, which keeps full precision up
      to the :data:`MIN_MASS` limit.
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from scipy.special import ndtr, ndtri

from invasim.errors import ConfigError

KINDS = ("constant", "uniform", "loguniform", "normal", "lognormal")
#: smallest probability the bounds of a normal or lognormal may keep
MIN_MASS = 1e-3
_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: names people use for our keys, suggested when they write them
_ALIASES = {
    "sd": "sigma",
    "std": "sigma",
    "scale": "sigma",
    "mean": "mu",
    "loc": "mu",
    "min": "lower",
    "low": "lower",
    "max": "upper",
    "high": "upper",
}


def _phi(x: float) -> float:
    return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / _SQRT_2PI


def _xphi(x: float) -> float:
    return 0.0 if math.isinf(x) else x * _phi(x)


def _mass(alpha: float, beta: float) -> float:
    """``Phi(beta) - Phi(alpha)`` without cancellation in the upper tail."""
    if alpha > 0.0:
        return float(ndtr(-alpha) - ndtr(-beta))
    return float(ndtr(beta) - ndtr(alpha))


def _truncated_std_normal(u: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to ``[alpha, beta]`` at ``u`` in (0, 1)."""
    if alpha > 0.0:  # mirror into the lower tail, where ndtr keeps its relative precision
        return -_truncated_std_normal(u, -beta, -alpha)
    lo, hi = ndtr(alpha), ndtr(beta)
    return np.clip(ndtri(lo + u * (hi - lo)), alpha, beta)


def _uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniforms in the open interval (0, 1): ``(k + 1/2) / 2^53``."""
    return (np.floor(rng.random(n) * 2.0**53) + 0.5) / 2.0**53


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a sample can take."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent values, ``[n] float64``."""
        raise NotImplementedError

    def moments(self) -> tuple[float, float]:
        """Exact mean and variance of the (truncated) distribution."""
        raise NotImplementedError


class Constant(_Dist):
    """Every cell gets ``value``."""

    distribution: Literal["constant"]
    value: float = Field(allow_inf_nan=False)

    def support(self) -> tuple[float, float]:  # noqa: D102
        return self.value, self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # noqa: D102
        return np.full(n, self.value)

    def moments(self) -> tuple[float, float]:  # noqa: D102
        return self.value, 0.0


class Uniform(_Dist):
    """Uniform on ``[lower, upper]``."""

    distribution: Literal["uniform"]
    lower: float = Field(allow_inf_nan=False)
    upper: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> Uniform:
        if not self.lower < self.upper:
            raise ValueError(f"need lower < upper, got lower={self.lower}, upper={self.upper}")
        return self

    def support(self) -> tuple[float, float]:  # noqa: D102
        return self.lower, self.upper

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # noqa: D102
        x = self.lower + _uniforms(rng, n) * (self.upper - self.lower)
        return np.clip(x, self.lower, self.upper)

    def moments(self) -> tuple[float, float]:  # noqa: D102
        return 0.5 * (self.lower + self.upper), (self.upper - self.lower) ** 2 / 12.0


class LogUniform(_Dist):
    """``ln x`` uniform on ``[ln lower, ln upper]``, ``0 < lower < upper``."""

    distribution: Literal["loguniform"]
    lower: float = Field(gt=0.0, allow_inf_nan=False)
    upper: float = Field(gt=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> LogUniform:
        if not self.lower < self.upper:
            raise ValueError(f"need lower < upper, got lower={self.lower}, upper={self.upper}")
        return self

    def support(self) -> tuple[float, float]:  # noqa: D102
        return self.lower, self.upper

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # noqa: D102
        a, b = math.log(self.lower), math.log(self.upper)
        return np.clip(np.exp(a + _uniforms(rng, n) * (b - a)), self.lower, self.upper)

    def moments(self) -> tuple[float, float]:  # noqa: D102
        a, b = self.lower, self.upper
        width = math.log(b) - math.log(a)
        mean = (b - a) / width
        return mean, (b * b - a * a) / (2.0 * width) - mean * mean


class _Gaussian(_Dist):
    """Shared part of the (log)normal: ``y`` normal with ``mu``, ``sigma`` on ``[ya, yb]``."""

    mu: float = Field(allow_inf_nan=False)
    sigma: float = Field(gt=0.0, allow_inf_nan=False)

    def _y_bounds(self) -> tuple[float, float]:
        raise NotImplementedError

    def _standard(self) -> tuple[float, float]:
        ya, yb = self._y_bounds()
        return (ya - self.mu) / self.sigma, (yb - self.mu) / self.sigma

    def mass(self) -> float:
        """Probability of the untruncated distribution that the bounds keep."""
        return _mass(*self._standard())

    def _check(self) -> None:
        if not self.lower < self.upper:  # type: ignore[attr-defined]
            raise ValueError(
                f"need lower < upper, got lower={self.lower}, upper={self.upper}"  # type: ignore[attr-defined]
            )
        mass = self.mass()
        if not mass >= MIN_MASS:
            raise ValueError(
                f"the bounds keep {mass:.2g} of the probability, at least {MIN_MASS:g} is "
                f"required (mu and sigma {self._scale_hint()})"
            )

    def _scale_hint(self) -> str:
        return "are in the parameter's unit"

    def _y_samples(self, rng: np.random.Generator, n: int) -> np.ndarray:
        alpha, beta = self._standard()
        return self.mu + self.sigma * _truncated_std_normal(_uniforms(rng, n), alpha, beta)


class Normal(_Gaussian):
    """Normal with mean ``mu`` and standard deviation ``sigma``, truncated to the bounds."""

    distribution: Literal["normal"]
    lower: float = -math.inf
    upper: float = math.inf

    @model_validator(mode="after")
    def _valid(self) -> Normal:
        self._check()
        return self

    def _y_bounds(self) -> tuple[float, float]:
        return self.lower, self.upper

    def support(self) -> tuple[float, float]:  # noqa: D102
        return self.lower, self.upper

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # noqa: D102
        return np.clip(self._y_samples(rng, n), self.lower, self.upper)

    def moments(self) -> tuple[float, float]:  # noqa: D102
        alpha, beta = self._standard()
        z = self.mass()
        d = (_phi(alpha) - _phi(beta)) / z
        var = self.sigma**2 * (1.0 + (_xphi(alpha) - _xphi(beta)) / z - d * d)
        return self.mu + self.sigma * d, var


class LogNormal(_Gaussian):
    """``ln x`` normal with mean ``mu`` and sd ``sigma``; ``x`` truncated to the bounds."""

    distribution: Literal["lognormal"]
    lower: float = Field(0.0, ge=0.0)
    upper: float = math.inf

    @model_validator(mode="after")
    def _valid(self) -> LogNormal:
        self._check()
        return self

    def _scale_hint(self) -> str:
        return f"describe ln(x): the median is exp(mu) = {math.exp(min(self.mu, 700.0)):.4g}"

    def _y_bounds(self) -> tuple[float, float]:
        ya = math.log(self.lower) if self.lower > 0.0 else -math.inf
        return ya, math.log(self.upper)

    def support(self) -> tuple[float, float]:  # noqa: D102
        return self.lower, self.upper

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # noqa: D102
        return np.clip(np.exp(self._y_samples(rng, n)), self.lower, self.upper)

    def raw_moment(self, k: int) -> float:
        """``E[x^k]`` of the truncated distribution."""
        alpha, beta = self._standard()
        s = k * self.sigma
        part = _mass(alpha - s, beta - s) / self.mass()
        return math.exp(k * self.mu + 0.5 * s * s) * part

    def moments(self) -> tuple[float, float]:  # noqa: D102
        m1 = self.raw_moment(1)
        return m1, self.raw_moment(2) - m1 * m1


Distribution = Annotated[
    Constant | Uniform | LogUniform | Normal | LogNormal, Field(discriminator="distribution")
]
_MODELS: dict[str, type[_Dist]] = {
    "constant": Constant,
    "uniform": Uniform,
    "loguniform": LogUniform,
    "normal": Normal,
    "lognormal": LogNormal,
}


class _Problem(Exception):
    """A bad per-cell value: ``where`` (``""``, ``" = v"`` or ``".sigma = v"``) and ``what``."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(what)
        self.where, self.what = where, what


def _problem(exc: ValidationError, data: dict[str, Any], model: type) -> _Problem:
    errors = exc.errors()
    # an unknown key (a misspelt "sigma") explains the missing one: report it first
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = sorted(model.model_fields)
        hint = difflib.get_close_matches(loc, allowed, n=1)
        if not hint and _ALIASES.get(loc) in allowed:
            hint = [_ALIASES[loc]]
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        return _Problem("", f"unknown key {loc!r}{did}; allowed: {', '.join(allowed)}")
    if err["type"] == "missing":
        return _Problem("", f"{data['distribution']} needs {loc!r}")
    msg = err["msg"].removeprefix("Value error, ")
    return _Problem(f".{loc} = {err['input']!r}" if loc else "", msg)


def _parse(
    value: Any, minimum: float | None, maximum: float | None, exclusive_minimum: bool
) -> float | _Dist:
    if isinstance(value, int | float) and not isinstance(value, bool):
        lo = hi = float(value)
        result: float | _Dist = float(value)
        if not math.isfinite(lo):
            raise _Problem(f" = {value!r}", "expected a finite number")
    elif isinstance(value, _Dist):
        result = value
        lo, hi = value.support()
    elif isinstance(value, dict):
        kind = value.get("distribution")
        if kind is None:
            raise _Problem("", f"a distribution table needs distribution = one of {KINDS}")
        if kind not in _MODELS:
            hint = difflib.get_close_matches(str(kind), KINDS, n=1)
            did = f"did you mean {hint[0]!r}? " if hint else ""
            raise _Problem(f".distribution = {kind!r}", f"{did}known: {', '.join(KINDS)}")
        model = _MODELS[str(kind)]
        try:
            result = model.model_validate(value)
        except ValidationError as exc:
            raise _problem(exc, value, model) from None
        lo, hi = result.support()
    else:
        raise _Problem(f" = {value!r}", "expected a number or a distribution table")
    if minimum is not None and (lo < minimum or (exclusive_minimum and lo <= minimum)):
        op = ">" if exclusive_minimum else ">="
        extra = "" if isinstance(result, float) else f" (samples reach down to {lo:g}; set lower)"
        raise _Problem(f" = {value!r}", f"must be {op} {minimum:g}{extra}")
    if maximum is not None and hi > maximum:
        extra = "" if isinstance(result, float) else f" (samples reach up to {hi:g}; set upper)"
        raise _Problem(f" = {value!r}", f"must be <= {maximum:g}{extra}")
    return result


def parse_per_cell(
    value: Any,
    key: str,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float | _Dist:
    """Validate a per-cell parameter: a number, or a distribution table.

    Args:
        value: the raw value (number or dict with ``distribution``).
        key: its dotted key, quoted in errors (e.g. ``"cell_types.tumour.volume"``).
        minimum: smallest value the parameter allows (every sample must respect it).
        maximum: largest value the parameter allows.
        exclusive_minimum: the parameter must be strictly above ``minimum``.

    Returns:
        A float, or one of :class:`Constant`, :class:`Uniform`, :class:`LogUniform`,
        :class:`Normal`, :class:`LogNormal`.

    Raises:
        ConfigError: one line naming the key, the value and what is allowed.
    """
    try:
        return _parse(value, minimum, maximum, exclusive_minimum)
    except _Problem as p:
        raise ConfigError(f"{key}{p.where}: {p.what}") from None


def _validate_field(value: Any) -> float | _Dist:
    # pydantic (and invasim's loader) already name the key and show scalar inputs
    try:
        return _parse(value, None, None, False)
    except _Problem as p:
        raise ValueError(
            f"{p.where[1:]}: {p.what}" if p.where.startswith(".") else p.what
        ) from None


#: a per-cell parameter in a pydantic schema: a number or a distribution table, validated by
#: :func:`parse_per_cell`'s rules with one-line messages (range checks stay with the schema)
def _serialize_field(value: Any) -> Any:
    # a number, a parsed distribution, or (in a scenario's raw params) its table as written
    return value.model_dump() if isinstance(value, BaseModel) else value


PerCellValue = Annotated[
    float | Distribution,
    PlainValidator(_validate_field),
    PlainSerializer(_serialize_field, return_type=Any),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "object"}]}),
]


def sample_per_cell(value: float | _Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` values of a parsed per-cell parameter (a float gives ``n`` copies)."""
    if isinstance(value, _Dist):
        return value.sample(rng, n)
    return np.full(n, float(value))
