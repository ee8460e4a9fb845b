"""Tissue supply: a matrix field (standing for the vasculature) supplies a diffusing field.

In Anderson's hybrid model (Anderson 2005 Math Med Biol 22:163; Anderson et al. 2006 Cell
127:905) oxygen is produced by the tissue in proportion to the ECM density, a proxy for the
vessels: ``∂c/∂t = d_c ∇²c + ν f − ω n − φ c``. A cell that climbs the ECM gradient reaches
oxygen; a tumour that degrades the matrix behind its front starves inside.

Contract:
    * Per voxel and per step of the field, ``dc/dt = ν m (c_s − c)``: the field ``c`` relaxes
      towards the supply value ``c_s`` at ``ν`` per unit of matrix ``m`` per minute. The
      matrix is held over the step and the update is exact,
      ``c ← c_s + (c − c_s) exp(−ν m dt)``: bounded between ``c`` and ``c_s``, never
      negative, whatever ``dt``; ``m <= 0`` (no tissue) leaves the voxel unchanged.
      Anderson's linear production ``ν f`` with decay ``φ c`` has the same steady value
      ``c_s = ν / φ`` where ``f = 1``; the field's own decay (``decay_per_min``, solved by
      the diffusion process) still applies on top.
    * ``[params.tissue_supply]``: ``sources``, a list of tables ``{field, matrix,
      rate_per_min, value, source}`` applied in order; ``occupied_blocks = true``: no supply
      in a voxel that holds a cell centre (the cells displace the tissue; dead cells count).
    * Clock: diffusion, order 15: after the cells' secretion and uptake (10), before the
      diffusion solve (20). A field with its own ``dt_min`` (``k`` diffusion steps, see
      :func:`~invasim.processes.diffusion.field_substeps`) gets its supply over ``k dt`` at
      the last of each group of ``k`` diffusion steps, as the diffusion and secretion
      processes step it.
    * :meth:`TissueSupply.check`: ``field`` must be a diffusing field and ``matrix`` a matrix
      field (one line naming the key, the value and what is allowed).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.processes.diffusion import due, field_substeps

#: place on the diffusion clock: after secretion (10), before diffusion (20)
TISSUE_SUPPLY_ORDER = ORDER["diffusion"]["tissue_supply"]


class Supply(BaseModel):
    """One supply: a matrix field relaxes a diffusing field towards a value."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="the supplied field (a diffusing field, e.g. oxygen)")
    matrix: str = Field(
        description="the matrix field whose density weights the supply (e.g. ecm, a proxy "
        "for the vessels, as in Anderson 2005 Math Med Biol 22:163)"
    )
    rate_per_min: float = Field(
        ge=0, allow_inf_nan=False,
        description="ν: supply rate per unit of matrix [1/(matrix unit · min)]; no default "
        "(Anderson 2005 gives ν = 0.5 in units of its diffusion time scale, which has no fixed "
        "value in minutes)",
    )  # fmt: skip
    value: float = Field(
        ge=0, allow_inf_nan=False,
        description="c_s: the value the supply drives the field towards [the field's unit], "
        "e.g. the oxygen tension of well-vascularised tissue; no default",
    )  # fmt: skip
    source: str = Field(
        "", description="where the rate and value come from (a paper, a derivation); "
        "documentation only"
    )


class TissueSupplyParams(BaseModel):
    """``[params.tissue_supply]``."""

    model_config = ConfigDict(extra="forbid")

    sources: list[Supply] = Field(default_factory=list, description="supplies, in order")
    occupied_blocks: bool = Field(
        False,
        description="no supply in voxels that hold a cell centre (cells displace the tissue "
        "and its vessels); false: the matrix alone decides, as in Anderson 2005 Math Med "
        "Biol 22:163 (production ν f, f the ECM density)",
    )


@njit(cache=True)
def _supply(c, m, blocked, value, x):  # pragma: no cover - compiled
    use_blocked = blocked.size == c.size
    for i in range(c.size):
        mi = m[i]
        if mi <= 0.0:
            continue
        if use_blocked and blocked[i]:
            continue
        c[i] = value + (c[i] - value) * math.exp(-x * mi)


@njit(cache=True)
def _mark(blocked, voxels):  # pragma: no cover - compiled
    blocked[:] = False
    for k in range(voxels.size):
        v = voxels[k]
        if 0 <= v < blocked.size:
            blocked[v] = True


def _flat(name: str, a: np.ndarray, size: int | None = None) -> np.ndarray:
    if a.dtype != np.float64 or not a.flags.c_contiguous:
        raise ValueError(f"{name} must be a float64 C-contiguous array, got {a.dtype}")
    if size is not None and a.size != size:
        raise ValueError(f"{name} has {a.size} values, expected {size}")
    return a.reshape(-1)


def supply(
    field: np.ndarray,
    matrix: np.ndarray,
    rate: float,
    value: float,
    dt: float,
    blocked: np.ndarray | None = None,
) -> None:
    """Relax ``field`` towards ``value`` at ``rate × matrix`` over ``dt``, in place.

    The exact solution of ``dc/dt = ν m (c_s − c)`` with ``m`` held over the step:
    ``c ← c_s + (c − c_s) exp(−ν m dt)``; voxels with ``m <= 0`` or ``blocked`` are unchanged.

    Args:
        field: ``c``, float64 C-contiguous, writeable, any shape (its unit); changed in place.
        matrix: ``m``, float64 C-contiguous, as many values as ``field`` (matrix unit).
        rate: ``ν`` >= 0, 1/(matrix unit · min).
        value: ``c_s`` >= 0, the field's unit.
        dt: time step >= 0, min.
        blocked: optional bool array, as many values as ``field``: voxels left unchanged.
    """
    if not (rate >= 0 and value >= 0 and dt >= 0):
        raise ValueError(f"need rate, value, dt >= 0, got {rate}, {value}, {dt}")
    if not field.flags.writeable:
        raise ValueError("field must be writeable")
    c = _flat("field", field)
    m = _flat("matrix", matrix, c.size)
    b = np.zeros(0, dtype=np.bool_) if blocked is None else np.ascontiguousarray(blocked).ravel()
    if b.size not in (0, c.size):
        raise ValueError(f"blocked has {b.size} values, expected {c.size}")
    _supply(c, m, b.astype(np.bool_, copy=False), float(value), float(rate) * float(dt))


@register_process
class TissueSupply(Process):
    """A matrix field (the tissue, standing for its vessels) supplies a diffusing field."""

    name: ClassVar[str] = "tissue_supply"
    title: ClassVar[str] = "the tissue (a matrix field) supplies a diffusing field (exact)"
    clock: ClassVar[str] = "diffusion"
    order: ClassVar[float] = ORDER["diffusion"]["tissue_supply"]
    Params: ClassVar[type[BaseModel]] = TissueSupplyParams
    references: ClassVar[tuple[str, ...]] = (
        "Anderson ARA (2005) A hybrid mathematical model of solid tumour invasion: the "
        "importance of cell adhesion. Math Med Biol 22:163-186",
        "Anderson ARA, Weaver AM, Cummings PT, Quaranta V (2006) Tumor morphology and "
        "phenotypic evolution driven by selective pressure from the microenvironment. Cell "
        "127:905-915",
    )

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """``field`` names a diffusing field, ``matrix`` a matrix field."""
        problems = []
        fields = params.fields
        for i, s in enumerate(params.tissue_supply.sources):
            for key, kind in (("field", "diffusing"), ("matrix", "matrix")):
                name = getattr(s, key)
                if name in fields and fields[name].kind == kind:
                    continue
                allowed = [n for n, f in fields.items() if f.kind == kind]
                what = "is not a field" if name not in fields else f"is a {fields[name].kind} field"
                problems.append(
                    f"params.tissue_supply.sources[{i}].{key} = {name!r} {what}; it must be "
                    f"a {kind} field: {', '.join(allowed) or 'none'}"
                )
        return problems

    def setup(self, state) -> None:
        """Each supplied field's clock (diffusion steps per step of the field)."""
        self.every = [
            field_substeps(self.params.fields[s.field], state.dt_diff)
            for s in self.table.sources
        ]
        self.blocked = (
            np.zeros(state.mesh.n_voxels, dtype=np.bool_) if self.table.occupied_blocks else None
        )

    def bind(self, state, first: bool) -> None:
        """``occupied_blocks``: mark the voxels holding a cell centre (after the cells moved)."""
        if self.blocked is not None:
            _mark(self.blocked, state.voxels())

    def step(self, state, dt: float) -> None:
        """Each supply over the field's step, in order (a field on its own clock when due)."""
        f = state.fields
        blocked = self.blocked
        if blocked is not None and not state.cells.n:
            blocked[:] = False  # bind is not called without cells
        for s, k in zip(self.table.sources, self.every, strict=True):
            if due(k, state.diff_step):
                supply(f[s.field], f[s.matrix], s.rate_per_min, s.value, dt * k, blocked)
