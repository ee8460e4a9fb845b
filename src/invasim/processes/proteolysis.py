"""Proteolysis: cells degrade the matrix at their own position (MT1-MMP) and deposit laminin-5.

Membrane-type MMPs (MT1-MMP, MMP-14) cut the matrix only where the cell touches it; the
secreted MMPs are a diffusing field (the secretion process makes it, ``matrix_degradation``
lets it degrade the matrices). This process is the cell-bound half, and the cells' deposition
of a matrix (laminin-5, which tumour cells at the invasive front lay down).

Contract:
    * Each live cell ``i`` acts on the voxel of its centre, weighted by ``V_i / h³`` (its
      volume over the voxel's, as the secretion process does; ``h³`` in 2-D too), so the rate
      *per cell* does not depend on the voxel size (:mod:`invasim.physics.proteolysis`). Per
      voxel, over a phenotype step ``dt`` with the rates held, exactly:

      - degradation of each matrix ``m`` named in ``matrices`` (susceptibility ``s_m``):
        ``dm/dt = −s_m K m``, ``K = Σ_i k_i V_i / h³``; ``k_i`` is the cell's behaviour
        ``pericellular proteolysis`` (1/min). A cell alone in its voxel:
        ``m(t) = m0 exp(−s_m k V t / h³)``; two such cells: twice the rate. A cell removes
        ``s_m k V m`` (field unit · µm³) per minute, whatever ``h``.
      - a product: ``products = { laminin = { field = "ln5_fragment", stoichiometry = 1 } }``
        adds ``stoichiometry`` × the amount degraded to the product field in the same voxel
        (``matrix + product`` conserved to round-off with stoichiometry 1, as
        :func:`~invasim.agents.fields.cleave`); the product may be a diffusing field (it then
        diffuses and decays on the diffusion clock).
      - an optional resistance per matrix: ``resistance = { ecm = { field = "crosslink",
        strength = r } }`` replaces ``s_m`` by ``s_m (1 − r c_v)`` in each voxel ``v``, ``c``
        the named field clipped to [0, 1] (cross-linked collagen resists MMPs; the
        crosslinking process makes ``c``). Absent: the results are those without it, bit for
        bit.
      - deposition into ``deposit_field``: ``dm/dt = D``, ``D = Σ_i r_i V_i / h³`` (minus
        ``s_m K m`` if it is degraded too, solved together), ``r_i`` the behaviour ``matrix
        deposition`` (the field's unit per min: the rate at which a cell raises the density
        of the matrix within its own volume); a cell adds ``r V`` (field unit · µm³) per
        minute. Deposition stops at the field's ``upper`` (the time the voxel reaches it is
        solved for exactly; degradation goes on).

    * Deterministic and independent of the thread count: the weights are summed per voxel in
      row order by a serial kernel, then each touched voxel is updated once.
    * ``[params.proteolysis]``: ``matrices``, ``products``, ``deposit_field``,
      ``resistance``. Cell type sub-table ``[params.cell_types.<type>.proteolysis]``:
      ``rate_per_min`` and ``deposition_per_min`` (both 0 by default: a type does nothing
      unless told). Rules,
      traits, internal models (a Rac/Rho migration mode) and interventions (an MMP
      inhibitor) set the two behaviours per cell.
    * Metrics: ``proteolysis_degraded_<matrix>`` and ``proteolysis_deposited_<field>``, the
      running totals (field unit · µm³) since the start (checkpointed in the state's
      counters).
    * Clock: phenotype, after the cell-life processes and ``matrix_degradation`` (the cells of
      the step's end act over the step). Dead cells do nothing.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.fields import matrix_field_problems
from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.physics import proteolysis as kern
from invasim.physics.exchange import voxel_of
from invasim.rules.dictionary import register_behaviour

PROTEOLYSIS = "pericellular proteolysis"
DEPOSITION = "matrix deposition"

register_behaviour(
    PROTEOLYSIS, "1/min",
    "rate at which the cell's membrane-type MMPs (MT1-MMP) degrade the matrix at its position",
    ("membrane-type MMP activity", "MT1-MMP activity"), lower=0.0,
)  # fmt: skip
register_behaviour(
    DEPOSITION, "matrix unit/min",
    "rate at which the cell deposits matrix (laminin-5) at its position, per unit of its volume",
    ("laminin deposition",), lower=0.0,
)  # fmt: skip


class Product(BaseModel):
    """What a pericellularly degraded matrix turns into."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="the product field (e.g. ln5_fragment, a diffusing field)")
    stoichiometry: float = Field(
        1.0, ge=0, description="product made per unit of matrix degraded [product unit / "
        "matrix unit]; 1 conserves matrix + product",
    )  # fmt: skip


class Resistance(BaseModel):
    """A field that makes a matrix resist degradation (cross-linked collagen resists MMPs)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="the resisting field c, in [0, 1] (e.g. 'crosslink', the "
                       "cross-link fraction of the crosslinking process)")
    strength: float = Field(
        ge=0, le=1, allow_inf_nan=False,
        description="r [1]: the susceptibility is multiplied by 1 − r c (c clipped to [0, 1]); "
        "1: a fully cross-linked matrix is not degraded. Cross-linked collagen fibrils resist "
        "collagenase (Vater et al. 1979 Biochem J 181:639); no default: state it",
    )  # fmt: skip


def resistance_problems(params: Any, key: str, res: Resistance) -> list[str]:
    """The resisting field exists (any kind)."""
    if res.field not in params.fields:
        return [f"{key}.field = {res.field!r} is not a field; fields: "
                f"{', '.join(params.fields)}"]  # fmt: skip
    return []


class ProteolysisParams(BaseModel):
    """``[params.proteolysis]``: what the cells degrade and deposit."""

    model_config = ConfigDict(extra="forbid")

    matrices: dict[str, float] = Field(
        default_factory=dict,
        description="matrix fields the cells degrade, with their relative susceptibility [1] "
        "(multiplies 'pericellular proteolysis'; e.g. { ecm = 1.0, basement_membrane = 0.5, "
        "laminin = 1.0 })",
    )
    products: dict[str, Product] = Field(
        default_factory=dict,
        description="per degraded matrix, the field receiving what is degraded (e.g. "
        "{ laminin = { field = 'ln5_fragment' } }: MT1-MMP cleaves the laminin-5 gamma2 chain, "
        "Koshikawa et al. 2000)",
    )
    deposit_field: str | None = Field(
        None, description="the matrix field the cells deposit into ('matrix deposition'); "
        "None: no deposition",
    )  # fmt: skip
    resistance: dict[str, Resistance] = Field(
        default_factory=dict,
        description="per degraded matrix, an optional resistance: { ecm = { field = "
        "'crosslink', strength = 0.5 } } multiplies the matrix's susceptibility by "
        "1 − strength × crosslink in each voxel; absent: unchanged",
    )  # fmt: skip

    @model_validator(mode="after")
    def _finite(self) -> ProteolysisParams:
        bad = {k: v for k, v in self.matrices.items() if not (v >= 0 and math.isfinite(v))}
        if bad:
            raise ValueError(f"matrices: susceptibilities must be finite and >= 0, got {bad}")
        return self


class ProteolysisCell(BaseModel):
    """``[params.cell_types.<type>.proteolysis]``: the type's base rates."""

    model_config = ConfigDict(extra="forbid")

    rate_per_min: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="pericellular (MT1-MMP) degradation rate k [1/min]: a cell alone in a "
        "voxel of side h degrades it at k V / h³; 0 by default (a type that expresses no "
        "MT1-MMP). An estimate for mesenchymal tumour cells: ~0.01 (docs/proteolysis)",
    )  # fmt: skip
    deposition_per_min: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="matrix deposition rate r [deposit field's unit/min]: a cell alone in a "
        "voxel raises it at r V / h³; 0 by default",
    )  # fmt: skip


@register_process
class Proteolysis(Process):
    """Cells degrade the matrices at their position and deposit one."""

    name: ClassVar[str] = "proteolysis"
    title: ClassVar[str] = "cells degrade matrix at their position (MT1-MMP) and deposit laminin"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["proteolysis"]
    Params: ClassVar[type[BaseModel]] = ProteolysisParams
    CellParams: ClassVar[type[BaseModel]] = ProteolysisCell
    behaviours: ClassVar[tuple[str, ...]] = (PROTEOLYSIS, DEPOSITION)
    references: ClassVar[tuple[str, ...]] = (
        "Sabeh F, Ota I, Holmbeck K, ... Weiss SJ (2004) Tumor cell traffic through the "
        "extracellular matrix is controlled by the membrane-anchored collagenase MT1-MMP. "
        "J Cell Biol 167:769-781",
        "Koshikawa N, Giannelli G, Cirulli V, Miyazaki K, Quaranta V (2000) Role of cell "
        "surface metalloprotease MT1-MMP in epithelial cell migration over laminin-5. "
        "J Cell Biol 148:615-624",
        "Giannelli G, Falk-Marzillier J, Schiraldi O, Stetler-Stevenson WG, Quaranta V (1997) "
        "Induction of cell migration by matrix metalloprotease-2 cleavage of laminin-5. "
        "Science 277:225-228",
    )

    def __init__(self, params: Any) -> None:
        """The reactions in a fixed order: each degraded matrix, then the deposit field."""
        super().__init__(params)
        t = self.table
        order = list(t.matrices)
        if t.deposit_field is not None and t.deposit_field not in order:
            order.append(t.deposit_field)
        self.targets = order
        self.metric_names = (*(f"proteolysis_degraded_{m}" for m in t.matrices),
                             *(() if t.deposit_field is None
                               else (f"proteolysis_deposited_{t.deposit_field}",)))  # fmt: skip
        self._acc: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Every named field exists; the degraded and deposited ones are matrices."""
        t = params.proteolysis
        key = "params.proteolysis"
        out = []
        for m in t.matrices:
            problems = matrix_field_problems(params, f"{key}.matrices", m)
            if not problems and params.fields[m].lower > 0:
                problems = [f"{key}.matrices names {m!r}, whose lower = "
                            f"{params.fields[m].lower:g} > 0; degradation tends to 0, so a "
                            "degraded matrix needs lower <= 0"]  # fmt: skip
            out += problems
        for m, prod in t.products.items():
            if m not in t.matrices:
                out.append(f"{key}.products names {m!r}, which is not in {key}.matrices "
                           f"({', '.join(t.matrices) or 'none'})")  # fmt: skip
            if prod.field not in params.fields:
                out.append(f"{key}.products.{m}.field = {prod.field!r} is not a field; fields: "
                           f"{', '.join(params.fields)}")  # fmt: skip
            elif prod.field in t.matrices or prod.field == m:
                out.append(f"{key}.products.{m}.field = {prod.field!r} is itself degraded; a "
                           "product must be another field")  # fmt: skip
        if t.deposit_field is not None:
            out += matrix_field_problems(params, f"{key}.deposit_field", t.deposit_field)
        for m, res in t.resistance.items():
            if m not in t.matrices:
                out.append(f"{key}.resistance names {m!r}, which is not in {key}.matrices "
                           f"({', '.join(t.matrices) or 'none'})")  # fmt: skip
            out += resistance_problems(params, f"{key}.resistance.{m}", res)
        return out

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's degradation and deposition rates."""
        p = cell.proteolysis
        return {PROTEOLYSIS: p.rate_per_min, DEPOSITION: p.deposition_per_min}

    def step(self, state, dt: float) -> None:
        """Degrade, cleave and deposit at the live cells' voxels over the phenotype step."""
        c = state.cells
        t = self.table
        if not c.n or not self.targets:
            return
        mesh = state.mesh
        if self._acc is None or self._acc[0].shape[0] != mesh.n_voxels:
            self._acc = (np.zeros(mesh.n_voxels), np.zeros(mesh.n_voxels))
        acc_k, acc_d = self._acc
        beh = state.behaviours
        k = np.ascontiguousarray(beh.column(PROTEOLYSIS)) if t.matrices else kern.empty()
        r = (np.ascontiguousarray(beh.column(DEPOSITION)) if t.deposit_field is not None
             else kern.empty())  # fmt: skip
        touched = np.empty(c.n, dtype=np.int64)
        nt = kern.accumulate(voxel_of(c.position, mesh), c.dead == 0, c.volume, k, r,
                             1.0 / mesh.h**3, acc_k, acc_d, touched)  # fmt: skip
        if nt == 0:
            return
        h3 = mesh.h**3
        fields = state.fields
        counters = state.counters
        for name in self.targets:
            prod = t.products.get(name)
            p = fields[prod.field].reshape(-1) if prod is not None else kern.empty()
            deposit = name == t.deposit_field
            upper = self.params.fields[name].upper
            args = (fields[name].reshape(-1), p, acc_k, acc_d, touched, nt,
                    float(t.matrices.get(name, 0.0)), deposit, float(dt),
                    math.inf if upper is None else float(upper),
                    1.0 if prod is None else float(prod.stoichiometry))  # fmt: skip
            res = t.resistance.get(name)
            if res is None:
                degraded, deposited = kern.react(*args)
            else:
                resist = np.ascontiguousarray(fields[res.field]).reshape(-1)
                degraded, deposited = kern.react_resisted(*args, resist, float(res.strength))
            if name in t.matrices:
                key = f"proteolysis_degraded_{name}"
                counters[key] = counters.get(key, 0.0) + degraded * h3
            if deposit:
                key = f"proteolysis_deposited_{name}"
                counters[key] = counters.get(key, 0.0) + deposited * h3
        kern.reset(acc_k, acc_d, touched, nt)

    def metrics(self, state) -> dict[str, float]:
        """Running totals degraded and deposited, field unit · µm³."""
        return {k: float(state.counters.get(k, 0.0)) for k in self.metric_names}
