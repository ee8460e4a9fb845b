"""Cross-linking: cells (CAFs: lysyl oxidase, LOX) cross-link the matrix, which stiffens it.

Cancer-associated fibroblasts secrete lysyl oxidase, which cross-links collagen fibres
(Levental et al. 2009; Erler et al. 2006, 2009; Kalluri 2016): the stroma around a carcinoma
becomes stiffer (Paszek et al. 2005) and more resistant to MMPs (Vater et al. 1979). This
process is the cross-linking and the stiffness it gives; the proteolysis and
matrix_degradation processes read the cross-links through their optional ``resistance``.

Contract:
    * Each live cell ``i`` acts on the voxel of its centre, weighted by ``V_i / h³`` as the
      proteolysis process does (:mod:`invasim.physics.proteolysis`: a serial per-voxel sum in
      row order, then one exact update per touched voxel;
      :mod:`invasim.physics.crosslinking`). Per voxel, over a phenotype step ``dt`` with the
      rates held, exactly: ``dc/dt = K (1 − c)``, ``K = Σ_i k_i V_i / h³``, ``k_i`` the
      cell's behaviour ``matrix crosslinking`` (1/min): ``c(t) = 1 − (1 − c0) e^{−K t}``. A
      cell alone in its voxel: ``c(t) = 1 − e^{−k V t / h³}`` from ``c0 = 0``; two cells:
      twice the rate.
    * Optionally a secreted enzyme field (``enzyme``, e.g. a diffusing ``lox`` field that
      CAFs secrete through the secretion process) cross-links every voxel:
      ``dc/dt = k_e e (1 − c)``, ``k_e`` = ``rate_per_unit_per_min``, exact per voxel with
      ``e`` held over the step, applied before the cells' part (the two compose exactly).
      LOX is secreted and acts on the matrix around the cell, not only under it.
    * ``c`` (the field ``[params.crosslinking] field``, a matrix field in [0, 1]) is a
      property of the voxel's matrix: degradation and deposition leave it unchanged (new
      collagen is not diluted in; a degraded voxel keeps its fraction), and it does not
      diffuse. Where there is no matrix it has no effect (the stiffness is 0 there).
    * Stiffness: every phenotype step (and at setup) the process writes the field
      ``stiffness_field`` (kPa) on the whole mesh: ``E = E_ref (ρ/ρ_ref)^n (1 + g c)``,
      ``ρ`` the field ``density_field`` (MacKintosh et al. 1995: ``n = 11/5`` for a
      semiflexible network; ``g``: a fully cross-linked matrix is ``1 + g`` times stiffer,
      Levental et al. 2009). It is derived: nothing else should write it (it must not relax).
    * Signals for rules: ``matrix stiffness`` (kPa, the stiffness field at the cell's voxel)
      and ``matrix crosslinking fraction`` (``c`` there). Behaviour: ``matrix crosslinking``
      (base ``[params.cell_types.<type>.crosslinking] rate_per_min``, 0 by default).
    * Metric: ``crosslinking_added``, the running sum of the increments of ``c`` times ``h³``
      (µm³ of matrix made fully cross-linked) since the start (checkpointed in the counters).
    * Clock: phenotype, order 225 (after ``proteolysis`` 210 and ``ecm_remodelling`` 220,
      so the stiffness written is that of the step's final density). Dead cells do nothing.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.fields import matrix_field_problems
from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.physics import crosslinking as kern
from invasim.physics import proteolysis as pkern
from invasim.physics.exchange import voxel_of
from invasim.rules.dictionary import register_behaviour, register_signal

CROSSLINKING = "matrix crosslinking"
STIFFNESS = "matrix stiffness"
FRACTION = "matrix crosslinking fraction"

register_behaviour(
    CROSSLINKING, "1/min",
    "rate at which the cell cross-links the matrix at its position (lysyl oxidase, LOX): "
    "dc/dt = k (V/h³)(1 − c)",
    ("lox activity", "lysyl oxidase activity"), lower=0.0,
)  # fmt: skip
register_signal(
    STIFFNESS, "kPa", "Young's modulus of the matrix at the cell: E_ref (ρ/ρ_ref)^n (1 + g c)",
    ("ecm stiffness", "substrate stiffness"), lower=0.0,
)  # fmt: skip
register_signal(
    FRACTION, "dimensionless", "cross-linked fraction of the matrix at the cell (0 to 1)",
    ("ecm crosslinking", "crosslink fraction"), lower=0.0, upper=1.0,
)  # fmt: skip

LEVENTAL_2009 = (
    "Levental KR, Yu H, Kass L, Lakins JN, Egeblad M, Erler JT, Fong SFT, Csiszar K, Giaccia A, "
    "Weninger W, Yamauchi M, Gasser DL, Weaver VM (2009) Matrix crosslinking forces tumor "
    "progression by enhancing integrin signaling. Cell 139:891-906"
)
PASZEK_2005 = (
    "Paszek MJ, Zahir N, Johnson KR, Lakins JN, Rozenberg GI, Gefen A, Reinhart-King CA, "
    "Margulies SS, Dembo M, Boettiger D, Hammer DA, Weaver VM (2005) Tensional homeostasis and "
    "the malignant phenotype. Cancer Cell 8:241-254"
)
MACKINTOSH_1995 = (
    "MacKintosh FC, Käs J, Janmey PA (1995) Elasticity of semiflexible biopolymer networks. "
    "Phys Rev Lett 75:4425-4428"
)


class CrosslinkingParams(BaseModel):
    """``[params.crosslinking]``: the fields, and the stiffness law."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        "crosslink", description="the cross-link fraction c, a matrix field [1] in [0, 1]"
    )
    stiffness_field: str = Field(
        "stiffness", description="the derived stiffness E, a matrix field [kPa] written each "
        "phenotype step (no relaxation, no upper bound)",
    )  # fmt: skip
    density_field: str = Field(
        "ecm", description="the matrix density ρ the stiffness depends on (its own unit)"
    )
    reference_stiffness_kpa: float = Field(
        0.167, gt=0, allow_inf_nan=False,
        description="E_ref, the stiffness at the reference density without cross-links [kPa]; "
        "default: normal mouse mammary gland 167 ± 31 Pa (Paszek et al. 2005; tumours "
        "4049 ± 938 Pa)",
    )  # fmt: skip
    reference_density: float = Field(
        1.0, gt=0, allow_inf_nan=False,
        description="ρ_ref, the density at which E = E_ref without cross-links [density "
        "field's unit]; default 1, the reference matrix of the ecm process",
    )  # fmt: skip
    density_exponent: float = Field(
        2.2, ge=0, allow_inf_nan=False,
        description="n in E ∝ ρ^n [1]; default 11/5, the affine semiflexible-network law "
        "(MacKintosh et al. 1995), within the 2.1-2.5 measured for collagen gels",
    )  # fmt: skip
    enzyme: str | None = Field(
        None, description="optional: a diffusing field of secreted lysyl oxidase that "
        "cross-links every voxel at rate_per_unit_per_min × its value; None: only the cells' "
        "pericellular cross-linking",
    )  # fmt: skip
    rate_per_unit_per_min: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="k_e: cross-linking rate per unit of the enzyme field [1/(enzyme unit · "
        "min)]; no default value from the literature (0: off)",
    )  # fmt: skip
    crosslink_gain: float = Field(
        1.5, ge=0, allow_inf_nan=False,
        description="g: a fully cross-linked matrix (c = 1) is 1 + g times stiffer [1]; "
        "default 1.5 (x 2.5): LOX cross-linking stiffens the stroma ~2-3 fold, LOX "
        "inhibition softens it (Levental et al. 2009)",
    )  # fmt: skip


class CrosslinkingCell(BaseModel):
    """``[params.cell_types.<type>.crosslinking]``: the type's base LOX rate."""

    model_config = ConfigDict(extra="forbid")

    rate_per_min: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="cross-linking rate k [1/min]: a cell alone in a voxel of side h raises "
        "its cross-link fraction as dc/dt = k V/h³ (1 − c); 0 by default (a type that makes "
        "no lysyl oxidase; CAFs do: Levental et al. 2009, Kalluri 2016)",
    )  # fmt: skip


@register_process
class Crosslinking(Process):
    """Cells cross-link the matrix at their position; the process writes its stiffness."""

    name: ClassVar[str] = "crosslinking"
    title: ClassVar[str] = "cells cross-link the matrix (LOX); the matrix stiffness field"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["crosslinking"]
    Params: ClassVar[type[BaseModel]] = CrosslinkingParams
    CellParams: ClassVar[type[BaseModel]] = CrosslinkingCell
    behaviours: ClassVar[tuple[str, ...]] = (CROSSLINKING,)
    signals: ClassVar[tuple[str, ...]] = (STIFFNESS, FRACTION)
    metric_names: ClassVar[tuple[str, ...]] = ("crosslinking_added",)
    references: ClassVar[tuple[str, ...]] = (
        LEVENTAL_2009,
        "Erler JT, Bennewith KL, Nicolau M, ... Giaccia AJ (2006) Lysyl oxidase is essential "
        "for hypoxia-induced metastasis. Nature 440:1222-1226",
        "Erler JT, Bennewith KL, Cox TR, ... Giaccia AJ (2009) Hypoxia-induced lysyl oxidase "
        "is a critical mediator of bone marrow cell recruitment to form the premetastatic "
        "niche. Cancer Cell 15:35-44",
        "Kalluri R (2016) The biology and function of fibroblasts in cancer. Nat Rev Cancer "
        "16:582-598",
        PASZEK_2005,
        MACKINTOSH_1995,
        "Vater CA, Harris ED Jr, Siegel RC (1979) Native cross-links in collagen fibrils "
        "induce resistance to human synovial collagenase. Biochem J 181:639-645",
    )

    def __init__(self, params: Any) -> None:
        """Scratch accumulators are made on the first step (they follow the mesh)."""
        super().__init__(params)
        self._acc: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The three fields exist and are matrices; c lies in [0, 1]; E is not relaxed."""
        t = params.crosslinking
        key = "params.crosslinking"
        out = matrix_field_problems(params, f"{key}.field", t.field)
        if not out:
            f = params.fields[t.field]
            lo, hi = f.allowed()
            if lo < 0.0 or hi > 1.0:
                out.append(f"{key}.field = {t.field!r} has bounds [{lo:g}, {hi:g}]; a "
                           "cross-link fraction needs lower >= 0 and upper <= 1 (set "
                           "upper = 1.0)")  # fmt: skip
        sk = matrix_field_problems(params, f"{key}.stiffness_field", t.stiffness_field)
        if not sk:
            f = params.fields[t.stiffness_field]
            if f.relaxation_per_min != 0.0:
                sk.append(f"{key}.stiffness_field = {t.stiffness_field!r} has "
                          f"relaxation_per_min = {f.relaxation_per_min:g}; a derived field "
                          "must not relax (set 0)")  # fmt: skip
            if f.upper is not None or f.lower > 0.0:
                sk.append(f"{key}.stiffness_field = {t.stiffness_field!r} has bounds "
                          f"[{f.lower:g}, {f.upper}]; the stiffness is unbounded above and "
                          "0 without matrix: leave upper unset and lower <= 0")  # fmt: skip
        out += sk
        out += matrix_field_problems(params, f"{key}.density_field", t.density_field)
        if t.enzyme is not None and t.enzyme not in params.fields:
            out.append(f"{key}.enzyme = {t.enzyme!r} is not a field; fields: "
                       f"{', '.join(params.fields)}")  # fmt: skip
        names = {t.field, t.stiffness_field, t.density_field}
        if len(names) < 3:
            out.append(f"{key}: field, stiffness_field and density_field must be three "
                       f"different fields, got {t.field!r}, {t.stiffness_field!r}, "
                       f"{t.density_field!r}")  # fmt: skip
        return out

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's LOX rate."""
        return {CROSSLINKING: cell.crosslinking.rate_per_min}

    def setup(self, state) -> None:
        """Write the stiffness of the initial matrix (the first rules read it)."""
        self._write_stiffness(state)

    def _write_stiffness(self, state) -> None:
        t = self.table
        f = state.fields
        out = f[t.stiffness_field].reshape(-1)
        kern.stiffness(
            np.ascontiguousarray(f[t.density_field]).reshape(-1),
            np.ascontiguousarray(f[t.field]).reshape(-1),
            float(t.reference_stiffness_kpa), 1.0 / float(t.reference_density),
            float(t.density_exponent), float(t.crosslink_gain), out,
        )  # fmt: skip

    def step(self, state, dt: float) -> None:
        """Cross-link at the live cells' voxels over the phenotype step, then write E."""
        c = state.cells
        t = self.table
        upper = self.params.fields[t.field].upper
        upper = 1.0 if upper is None else float(upper)
        counters = state.counters
        if t.enzyme is not None and t.rate_per_unit_per_min > 0.0:
            added = kern.crosslink_by_field(
                state.fields[t.field].reshape(-1),
                np.ascontiguousarray(state.fields[t.enzyme]).reshape(-1),
                float(t.rate_per_unit_per_min) * float(dt), upper,
            )  # fmt: skip
            counters["crosslinking_added"] = (counters.get("crosslinking_added", 0.0)
                                              + added * state.mesh.h**3)  # fmt: skip
        if c.n:
            mesh = state.mesh
            if self._acc is None or self._acc[0].shape[0] != mesh.n_voxels:
                self._acc = (np.zeros(mesh.n_voxels), np.zeros(mesh.n_voxels))
            acc_k, acc_d = self._acc
            k = np.ascontiguousarray(state.behaviours.column(CROSSLINKING))
            touched = np.empty(c.n, dtype=np.int64)
            nt = pkern.accumulate(voxel_of(c.position, mesh), c.dead == 0, c.volume, k,
                                  pkern.empty(), 1.0 / mesh.h**3, acc_k, acc_d,
                                  touched)  # fmt: skip
            if nt:
                added = kern.crosslink(state.fields[t.field].reshape(-1), acc_k, touched, nt,
                                       float(dt), upper)
                counters["crosslinking_added"] = (counters.get("crosslinking_added", 0.0)
                                                  + added * mesh.h**3)  # fmt: skip
                pkern.reset(acc_k, acc_d, touched, nt)
        self._write_stiffness(state)

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """The stiffness or the cross-link fraction at each cell's voxel."""
        t = self.table
        if template == STIFFNESS:
            return state.field_at_cells(t.stiffness_field).copy()
        return np.clip(state.field_at_cells(t.field), 0.0, 1.0)

    def metrics(self, state) -> dict[str, float]:
        """Running sum of the cross-linking done, µm³ of fully cross-linked matrix."""
        return {"crosslinking_added": float(state.counters.get("crosslinking_added", 0.0))}


def stiffness_of(rho: float, c: float, table: CrosslinkingParams) -> float:
    """``E_ref (ρ/ρ_ref)^n (1 + g c)`` for one (ρ, c), kPa (the law in plain Python)."""
    r = max(rho, 0.0) / table.reference_density
    if r == 0.0:
        return 0.0
    return (table.reference_stiffness_kpa * math.pow(r, table.density_exponent)
            * (1.0 + table.crosslink_gain * min(max(c, 0.0), 1.0)))  # fmt: skip
