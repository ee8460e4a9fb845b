"""Declared heritable traits: schema, initial values and what division needs to mutate them.

Contract:
    * A trait is a named float column of role ``traits`` of :class:`~invasim.core.cells.Cells`
      (drug resistance, a gene's expression, an amount of protein), declared by a
      :class:`TraitSpec`: unit, initial value (a number or a distribution table of
      :mod:`invasim.rules.distributions`), bounds, mutation rate and step, inheritance.
    * Initial values (:func:`initial_values`) are deterministic per seed and independent of
      cell order and thread count: cell ``i`` gets the inverse CDF of the initial distribution
      at ``uniform(seed, step, ids[i], STREAM_TRAIT_INIT, trait_key(name))``
      (:mod:`invasim.core.rng`); the key word is a CRC-32 of the trait's name, so adding or
      reordering other traits does not change a trait's values. (A NumPy ``Generator`` may be
      given instead: then values follow the generator's state and the cells' order.)
    * Mutation (:func:`~invasim.biology.division.divide`, with :func:`division_arrays`): each
      daughter's trait mutates with probability ``mutation_rate`` per division, by a Gaussian
      step of standard deviation ``mutation_step`` in the trait's unit (absolute, not
      relative); values leaving ``[lower, upper]`` are *reflected* back in (not clipped).
    * Inheritance: ``copy`` (both daughters get the mother's value) or ``split`` (half each, so
      the sum over daughters equals the mother's value: amounts). A split trait needs
      ``lower <= 0 <= upper`` so halving never leaves the bounds.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invasim.core.cells import RESERVED, Cells
from invasim.core.rng import uniforms
from invasim.rules.distributions import PerCellValue, sample_per_cell

#: rng stream of the initial trait values
STREAM_TRAIT_INIT = 17


class TraitSpec(BaseModel):
    """One heritable per-cell trait (a ``traits`` column of the cells)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="column name in the cells table (an identifier, unique over all columns)",
    )
    unit: str = Field("1", description="unit of the trait's values, e.g. '1', 'µM', '1/min'")
    description: str = Field("", description="what the trait stands for")
    initial: PerCellValue = Field(
        0.0,
        description="value of the initial cells, in `unit`: a number or a distribution table "
        "(distribution = constant | uniform | loguniform | normal | lognormal); nan: no value "
        "(a trait that sets a behaviour leaves it alone; for per-cell values from the cells "
        "table, initial.columns)",
    )
    lower: float = Field(-math.inf, description="lower bound, in `unit` (reflecting)")
    upper: float = Field(math.inf, description="upper bound, in `unit` (reflecting)")
    mutation_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="probability per daughter per division that the "
        "trait mutates (1)",
    )  # fmt: skip
    mutation_step: float = Field(
        0.0, ge=0.0, allow_inf_nan=False,
        description="standard deviation of the Gaussian mutation step, in `unit` (absolute)",
    )  # fmt: skip
    inheritance: Literal["copy", "split"] = Field(
        "copy", description="copy: both daughters inherit the value; split: half each"
    )

    @field_validator("initial", mode="wrap")
    @classmethod
    def _no_value(cls, value, handler):
        if isinstance(value, float) and math.isnan(value):
            return value  # no value (see the field)
        return handler(value)

    @model_validator(mode="after")
    def _consistent(self) -> TraitSpec:
        if self.name in RESERVED:
            raise ValueError(f"name {self.name!r} is reserved for a cell field")
        if not self.lower < self.upper or math.isnan(self.lower) or math.isnan(self.upper):
            raise ValueError(f"need lower < upper, got lower={self.lower}, upper={self.upper}")
        lo, hi = value_support(self.initial)
        if lo < self.lower or hi > self.upper:
            raise ValueError(
                f"initial values reach [{lo:g}, {hi:g}], outside the bounds "
                f"[{self.lower:g}, {self.upper:g}] (bound the distribution with lower/upper)"
            )
        if self.inheritance == "split" and not self.lower <= 0.0 <= self.upper:
            raise ValueError(
                f"a split trait needs lower <= 0 <= upper, got [{self.lower:g}, {self.upper:g}]"
            )
        return self

    def default(self) -> float:
        """Value of cells added without one: ``initial`` or its distribution's mean."""
        if isinstance(self.initial, float):
            return self.initial
        return float(self.initial.moments()[0])


def value_support(value) -> tuple[float, float]:
    """Smallest and largest value a per-cell value (number or distribution) can take."""
    return (value, value) if isinstance(value, float) else value.support()


def trait_key(name: str) -> int:
    """The rng key word of a trait's initial values: CRC-32 of its UTF-8 name."""
    return zlib.crc32(name.encode())


class _KeyedUniforms:
    """Stands in for a ``numpy.random.Generator`` in :mod:`invasim.rules.distributions`.

    Its samplers draw all their uniforms with one ``random(n)`` call and map them by inverse
    CDF; here those uniforms are counter-based (already on the 53-bit grid the distribution
    module rounds to, so they pass through it unchanged).
    """

    def __init__(self, u: np.ndarray) -> None:
        self._u = u

    def random(self, n: int) -> np.ndarray:
        if self._u is None or n != self._u.shape[0]:
            raise RuntimeError("a distribution drew uniforms more than once or of another size")
        u, self._u = self._u, None
        return u


def initial_values(
    spec: TraitSpec,
    n: int,
    rng_or_seed: int | np.random.Generator,
    ids: np.ndarray | None = None,
    step: int = 0,
) -> np.ndarray:
    """Initial values of ``spec`` for ``n`` cells.

    Args:
        spec: the trait.
        n: number of cells.
        rng_or_seed: the run seed (counter-based, keyed by ``ids``: independent of order
            and threads), or a NumPy ``Generator`` (values follow its state and cell order).
        ids: ``[n]`` int64 cell ids, required with a seed.
        step: rng step word (0 for the initial cells; the step of a later injection).

    Returns:
        ``[n]`` float64 values in ``[spec.lower, spec.upper]``, in the trait's unit.
    """
    if isinstance(rng_or_seed, np.random.Generator):
        return sample_per_cell(spec.initial, rng_or_seed, n)
    if ids is None:
        raise ValueError("counter-based initial values need the cells' ids")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.shape != (n,):
        raise ValueError(f"ids must have shape ({n},), got {ids.shape}")
    if isinstance(spec.initial, float) or n == 0:
        return np.full(n, spec.default())
    u = uniforms(int(rng_or_seed), int(step), ids, STREAM_TRAIT_INIT, trait_key(spec.name))
    return sample_per_cell(spec.initial, _KeyedUniforms(u), n)  # type: ignore[arg-type]


def declare_traits(cells: Cells, specs: Sequence[TraitSpec]) -> list[int]:
    """Add a ``traits`` column per spec (default :meth:`TraitSpec.default`, its inheritance).

    Returns:
        the specs' columns in ``cells.traits``.
    """
    return [cells.add_trait(s.name, s.default(), s.inheritance) for s in specs]


def seed_traits(
    cells: Cells, specs: Sequence[TraitSpec], seed: int, rows=None, step: int = 0
) -> None:
    """Set the declared traits of ``rows`` (default: all live cells) to their initial values.

    Keyed by the cells' ids (:func:`initial_values`), so the result does not depend on the
    rows' order or on which other cells exist.
    """
    rows = np.arange(cells.n) if rows is None else np.asarray(rows)
    ids = cells.id[rows]
    for s in specs:
        cells.trait(s.name)[rows] = initial_values(s, ids.shape[0], seed, ids, step)


def division_arrays(specs: Sequence[TraitSpec], trait_names: Sequence[str]) -> dict:
    """Keyword arrays of :func:`~invasim.biology.division.divide` for the declared traits.

    Columns of ``trait_names`` without a spec are copied unchanged (no mutation, unbounded).

    Args:
        specs: the declared traits.
        trait_names: ``cells.trait_names``.

    Returns:
        ``{"trait_sd", "mutation_rate", "lower", "upper", "conserved"}``, each
        ``[n_traits]`` (float64; ``conserved`` bool).

    Raises:
        KeyError: a spec whose trait is not a column.
    """
    k = len(trait_names)
    out = {
        "trait_sd": np.zeros(k),
        "mutation_rate": np.zeros(k),
        "lower": np.full(k, -np.inf),
        "upper": np.full(k, np.inf),
        "conserved": np.zeros(k, dtype=bool),
    }
    index = {t: i for i, t in enumerate(trait_names)}
    for s in specs:
        if s.name not in index:
            raise KeyError(f"trait {s.name!r} is not a column; traits are {list(trait_names)}")
        c = index[s.name]
        out["trait_sd"][c] = s.mutation_step
        out["mutation_rate"][c] = s.mutation_rate
        out["lower"][c], out["upper"][c] = s.lower, s.upper
        out["conserved"][c] = s.inheritance == "split"
    return out
