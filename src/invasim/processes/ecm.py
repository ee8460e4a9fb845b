"""ECM: the matrix as a mechanical medium — pore limit, traction, fibres, haptotaxis.

Contract:
    * Reads the density field named ``[params.ecm] density_field`` (a matrix field,
      dimensionless, 1 = the reference matrix: dense rat-tail collagen I of pore
      cross-section ``pore_area_at_unit_density_um2``) at each cell's voxel and reshapes the
      motile velocity that motility added this mechanics step (``s d``: ``s`` the
      ``migration speed``, ``d`` the stored direction) into ``φ (s d' + χ ∇ρ)``
      (:mod:`invasim.physics.ecm`): ``φ = T(ρ) S(ρ)`` the traction × steric speed factor
      (pores below 10 % of the nuclear cross-section stop the cell, Wolf et al. 2013; the
      per-type ``speed_density`` gives the biphasic dependence), ``d'`` the direction after
      fibre reading (Metzcar et al. 2025), ``χ ∇ρ`` haptotaxis. Passive (mechanical)
      velocities are untouched; immovable cells are pinned again afterwards.
    * Fibres (optional): ``[params.ecm] anisotropy_field`` and ``fibre_fields`` (2 names in
      2-D, 3 in 3-D) name matrix fields declared in ``[params.fields]`` (so they are
      checkpointed). ``fibre_initial = "random"`` fills orientation fields that are all zero at
      the start with random unit vectors keyed by the run seed (rng stream
      :data:`STREAM_FIBRES`); ``"field"`` keeps the fields' initial values. Moving cells write
      the fibres of their voxel per µm travelled (``fibre realignment rate``,
      ``fibre anisotropy rate``), serially after every cell has read.
    * Proteolysis is not special-cased: a process that degrades the density field opens the
      pores, and the cell speeds up.
    * ``bias_from_anisotropy`` (per type; Metzcar's followers): the type's ``migration bias``
      is set to ``fibre following × a`` at the cell (layer 3 of the behaviour matrix), so
      the pull up the chemotactic gradient grows on aligned tracks.
    * Behaviours: ``haptotactic response`` (µm²/min), ``fibre following`` (1),
      ``fibre realignment rate`` and ``fibre anisotropy rate`` (1/µm). Signals:
      ``ecm density``, ``matrix confinement`` (``1 − S``: 0 free, 1 pores at or below the
      nuclear limit), ``ecm anisotropy``. Cell type sub-table ``[params.cell_types.<type>.ecm]``.
    * Clock: mechanics, right after motility (it reshapes motility's velocity). Requires
      motility.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.physics import ecm as kern
from invasim.physics.mechanics import use_parallel
from invasim.physics.motility import DIRECTION_COLUMNS, direction_view
from invasim.processes.mechanics import pin_immovable
from invasim.rules.dictionary import register_behaviour, register_signal

#: rng stream of the random initial fibre orientations
STREAM_FIBRES = 31
WOLF_2013 = (
    "Wolf K et al. (2013) Physical limits of cell migration: control by ECM space and nuclear "
    "deformation and tuning by proteolysis and traction force. J Cell Biol 201:1069-1084"
)
METZCAR_2025 = (
    "Metzcar J, Duggan BS, Fischer B, Murphy M, Heiland R, Macklin P (2025) A simple framework "
    "for agent-based modeling with extracellular matrix. Bull Math Biol 87:43"
)
ZAMAN_2006 = (
    "Zaman MH et al. (2006) Migration of tumor cells in 3D matrices is governed by matrix "
    "stiffness along with cell-matrix adhesion and proteolysis. PNAS 103:10889-10894"
)
ANDERSON_2000 = (
    "Anderson ARA, Chaplain MAJ, Newman EL, Steele RJC, Thompson AM (2000) Mathematical "
    "modelling of tumour invasion and metastasis. J Theor Med 2:129-154"
)

# fmt: off
register_behaviour("haptotactic response", "µm²/min", "haptotactic coefficient χ: the cell "
                   "drifts at χ ∇ρ up the ECM density gradient", ("haptotaxis",))
register_behaviour("fibre following", "dimensionless", "how strongly the cell follows aligned "
                   "matrix fibres (Metzcar's ECM sensitivity; γ = value × anisotropy)",
                   ("ecm sensitivity", "fiber following"), lower=0.0, upper=1.0)
register_behaviour("fibre realignment rate", "1/µm", "rate per µm travelled at which the cell "
                   "turns its voxel's fibres toward its direction (times 1 − anisotropy)",
                   ("fiber realignment rate",), lower=0.0)
register_behaviour("fibre anisotropy rate", "1/µm", "rate per µm travelled at which the cell "
                   "raises its voxel's fibre anisotropy (times 1 − anisotropy)",
                   ("fiber anisotropy rate", "anisotropy increase rate"), lower=0.0)
register_signal("ecm density", "dimensionless", "ECM density at the cell (1 = the reference "
                "matrix)", ("ecm",), lower=0.0)
register_signal("matrix confinement", "dimensionless", "1 − the steric speed factor: 0 pores "
                "at least the nuclear cross-section, 1 pores at or below 10 % of it",
                ("confinement",), lower=0.0, upper=1.0)
register_signal("ecm anisotropy", "dimensionless", "fibre anisotropy of the matrix at the cell "
                "(0 isotropic, 1 aligned)", ("anisotropy",), lower=0.0, upper=1.0)
# fmt: on


class EcmParams(BaseModel):
    """``[params.ecm]``: which fields hold the matrix, and its pore size."""

    model_config = ConfigDict(extra="forbid")

    density_field: str = Field(
        "ecm", description="matrix field holding the ECM density [1; 1 = the reference matrix]"
    )
    pore_area_at_unit_density_um2: float = Field(
        5.0,
        gt=0,
        description="pore cross-section A_1 of the matrix at density 1 [µm²]; the pores scale "
        "as A_1/ρ (mesh size ∝ ρ^-1/2 in a fibre network). Density 1 = dense rat-tail collagen "
        "I (~10 mg/ml), pores of a few µm² (Wolf et al. 2013 measured 3 to >100 µm² over their "
        "lattices, confirm the value per concentration)",
    )
    anisotropy_field: str | None = Field(
        None, description="matrix field holding the fibre anisotropy a [0..1]; None: no fibres"
    )
    fibre_fields: list[str] | None = Field(
        None,
        description="matrix fields holding the fibre orientation (x, y[, z]), one per mesh "
        "axis; with anisotropy_field; None: no fibres",
    )
    fibre_initial: Literal["random", "field"] = Field(
        "random",
        description="random: orientation fields that are all zero at the start get random "
        "unit vectors per voxel (keyed by the seed; Metzcar et al. 2025's random initial "
        "fibres); field: the fields' own initial values (zero: no orientation yet)",
    )


class EcmCell(BaseModel):
    """``[params.cell_types.<type>.ecm]``: how a cell type meets the matrix."""

    model_config = ConfigDict(extra="forbid")

    nuclear_cross_section_um2: float = Field(
        70.0,
        ge=0,
        description="nuclear cross-section A_n [µm²]; migration stops at pores of 0.1 A_n "
        "(Wolf et al. 2013: tumour cells 70 (limit 7), T cells 40 (4), neutrophils 20 (2)); "
        "0: no steric hindrance",
    )
    speed_density: Literal["none", "triangle", "hill"] = Field(
        "none",
        description="traction factor of density (too loose: nothing to pull on): none (1); "
        "triangle: 0 at density_low, 1 at density_optimum, 0 at density_high (Metzcar et al. "
        "2025); hill: ρ^n/(K^n + ρ^n), biphasic with the steric factor (Zaman et al. 2006)",
    )
    density_low: float = Field(0.0, ge=0, description="triangle: density of zero speed "
                               "below the optimum [1] (Metzcar et al. 2025: 0)")
    density_optimum: float = Field(0.5, gt=0, description="triangle: density of full speed [1] "
                                   "(Metzcar et al. 2025: 0.5)")
    density_high: float = Field(1.0, gt=0, description="triangle: density of zero speed above "
                                "the optimum [1] (Metzcar et al. 2025: 1)")
    traction_half_density: float = Field(
        0.05, gt=0, description="hill: K, the density of half traction [1] (illustrative, "
        "to fit; Zaman et al. 2006 show the rise at low ligand density)"
    )
    traction_hill_power: float = Field(2.0, gt=0, description="hill: n [1] (illustrative)")
    haptotactic_response_um2_per_min: float = Field(
        0.0,
        description="χ: drift χ ∇ρ up the density gradient [µm²/min]; Anderson et al. 2000's "
        "γ = 0.005 with L = 1 cm, D = 1e-6 cm²/s is 30 µm²/min (0: none)",
    )
    fibre_following: float = Field(
        0.0, ge=0, le=1,
        description="fibre following σ [1], γ = σ a (Metzcar et al. 2025: followers 1, leaders 0)",
    )
    fibre_realignment_per_um: float = Field(
        0.0, ge=0,
        description="r_f [1/µm]: fibres turn toward the cell's path (Metzcar et al. 2025: "
        "leaders 4.0, followers 0)",
    )
    anisotropy_increase_per_um: float = Field(
        0.0, ge=0,
        description="r_a [1/µm]: anisotropy rises on the cell's path (Metzcar et al. 2025: "
        "leaders 0.004, followers 0)",
    )
    bias_from_anisotropy: bool = Field(
        False,
        description="migration bias = fibre following × anisotropy at the cell (Metzcar et "
        "al. 2025's followers, link_anisotropy_and_bias = 0); false: the motility bias",
    )
    density_target: float = Field(0.5, ge=0, description="density the cell relaxes its voxel "
                                  "to [1] (Metzcar et al. 2025: 0.5)")
    density_remodelling_per_min: float = Field(
        0.0, ge=0, description="rate of that relaxation per minute present [1/min] (Metzcar et "
        "al. 2025: 0)"
    )

    @model_validator(mode="after")
    def _triangle(self) -> EcmCell:
        if not math.isfinite(self.haptotactic_response_um2_per_min):
            raise ValueError("haptotactic_response_um2_per_min must be finite")
        if self.speed_density == "triangle" and not (
            self.density_low < self.density_optimum < self.density_high
        ):
            raise ValueError(
                f"triangle needs density_low < density_optimum < density_high, got "
                f"{self.density_low:g}, {self.density_optimum:g}, {self.density_high:g}"
            )
        return self


def _type_table(params: Any) -> kern.TypeTable:
    cells = [ct.ecm for ct in params.cell_types.values()]
    col = lambda f: [getattr(e, f) for e in cells]  # noqa: E731
    return kern.TypeTable(
        [kern.MODES.index(e.speed_density) for e in cells], col("density_low"),
        col("density_optimum"), col("density_high"), col("traction_half_density"),
        col("traction_hill_power"), col("nuclear_cross_section_um2"), col("density_target"),
        col("density_remodelling_per_min"),
    )  # fmt: skip


@register_process
class EcmProcess(Process):
    """The matrix reshapes the motile velocities; moving cells align its fibres."""

    name: ClassVar[str] = "ecm"
    title: ClassVar[str] = "matrix pores, traction, fibres and haptotaxis shape crawling"
    clock: ClassVar[str] = "mechanics"
    order: ClassVar[float] = ORDER["mechanics"]["ecm"]
    Params: ClassVar[type[BaseModel]] = EcmParams
    CellParams: ClassVar[type[BaseModel]] = EcmCell
    requires: ClassVar[tuple[str, ...]] = ("motility",)
    signals: ClassVar[tuple[str, ...]] = ("ecm density", "matrix confinement", "ecm anisotropy")
    behaviours: ClassVar[tuple[str, ...]] = (
        "haptotactic response", "fibre following", "fibre realignment rate",
        "fibre anisotropy rate",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (WOLF_2013, ZAMAN_2006, METZCAR_2025, ANDERSON_2000)

    def __init__(self, params: Any) -> None:
        """Also declares ``migration bias`` as written where a type couples it to anisotropy."""
        super().__init__(params)
        if any(ct.ecm.bias_from_anisotropy for ct in params.cell_types.values()):
            self.writes = ("migration bias",)

    # -- static ------------------------------------------------------------------------------
    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The named fields exist, are matrices, and fibres are declared where used."""
        e = params.ecm
        problems = []
        kinds = {k: f.kind for k, f in params.fields.items()}
        named = [("density_field", e.density_field)]
        if e.anisotropy_field is not None:
            named.append(("anisotropy_field", e.anisotropy_field))
        for k, name in enumerate(e.fibre_fields or []):
            named.append((f"fibre_fields[{k}]", name))
        for key, name in named:
            if name not in kinds:
                problems.append(f"params.ecm.{key} = {name!r} is not a field; declare it in "
                                f"[params.fields] (kind = 'matrix'); fields: "
                                f"{', '.join(kinds)}")  # fmt: skip
            elif kinds[name] != "matrix":
                problems.append(f"params.ecm.{key} = {name!r} is a {kinds[name]} field; it "
                                f"must be kind = 'matrix'")  # fmt: skip
        fibres = e.fibre_fields is not None
        if fibres != (e.anisotropy_field is not None):
            problems.append("params.ecm: anisotropy_field and fibre_fields go together (give "
                            "both or neither)")  # fmt: skip
        elif fibres and len(e.fibre_fields) != mesh.dim:
            problems.append(f"params.ecm.fibre_fields = {e.fibre_fields}: give {mesh.dim} "
                            f"fields, one per mesh axis")  # fmt: skip
        if not fibres:
            for name, ct in params.cell_types.items():
                c = ct.ecm
                used = [k for k in ("fibre_following", "fibre_realignment_per_um",
                                    "anisotropy_increase_per_um") if getattr(c, k) > 0]  # fmt: skip
                used += ["bias_from_anisotropy"] if c.bias_from_anisotropy else []
                problems += [f"params.cell_types.{name}.ecm.{k} needs fibres: set "
                             f"params.ecm.anisotropy_field and fibre_fields"
                             for k in used]  # fmt: skip
        return problems

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's haptotactic response, fibre following and remodelling rates."""
        e = cell.ecm
        return {"haptotactic response": e.haptotactic_response_um2_per_min,
                "fibre following": e.fibre_following,
                "fibre realignment rate": e.fibre_realignment_per_um,
                "fibre anisotropy rate": e.anisotropy_increase_per_um}  # fmt: skip

    # -- dynamics ----------------------------------------------------------------------------
    def setup(self, state) -> None:
        """Per-type tables, what can happen at all; random initial fibres."""
        e, beh = self.table, state.behaviours
        self.types = _type_table(self.params)
        self.fibred = e.fibre_fields is not None and e.anisotropy_field is not None

        def can(name: str) -> bool:
            return bool(np.any(beh.type_values(name) != 0)) or beh.varies_within_type(name)

        self.moving = can("migration speed")
        self.hapto = can("haptotactic response")
        self.follow = self.fibred and can("fibre following")
        self.realign = self.fibred and can("fibre realignment rate")
        self.anisotropy = self.fibred and can("fibre anisotropy rate")
        t = self.types
        shaping = bool(np.any(t.mode != 0) or np.any(t.nuclear > 0)) or self.hapto or self.follow
        self.remodels = bool(np.any(t.relax > 0)) or self.realign or self.anisotropy
        self.active = self.moving and (shaping or self.remodels)
        self._vm = np.zeros((0, 3))
        self._vox = np.zeros(0, dtype=np.int64)
        self._remodel_scratch = kern.RemodelScratch()
        if self.fibred and e.fibre_initial == "random":
            arrays = [state.fields[n] for n in e.fibre_fields]
            if not any(np.any(a != 0.0) for a in arrays):
                values = kern.random_orientations(state.mesh.array_shape, state.mesh.dim,
                                                  state.seed, STREAM_FIBRES)  # fmt: skip
                for a, v in zip(arrays, values, strict=True):
                    a[...] = v
        if self.active:
            direction_view(state.cells)

    def _fields(self, state):
        e, f = self.table, state.fields
        if not self.fibred:
            return f[e.density_field], None, None
        return f[e.density_field], f[e.anisotropy_field], tuple(f[n] for n in e.fibre_fields)

    def step(self, state, dt: float) -> None:
        """Reshape the motile velocities, then remodel the fibres on the cells' paths."""
        c = state.cells
        if not (self.active and c.n) or c.role_of(DIRECTION_COLUMNS[0]) is None:
            return
        if self._vm.shape[0] < c.n:  # scratch grows geometrically, never per step
            m = max(1024, 2 * c.n)
            self._vm, self._vox = np.zeros((m, 3)), np.zeros(m, dtype=np.int64)
        beh = state.behaviours
        rho, aniso, fibres = self._fields(state)
        kern.ecm_velocity_kernel(
            c.position, c.radius, c.velocity, direction_view(c), c.dead, c.type,
            beh.column("migration speed"),
            beh.column("fibre following") if self.follow else None,
            beh.column("haptotactic response") if self.hapto else None,
            rho, aniso if self.follow else None, fibres if self.follow else None,
            self.types, self.table.pore_area_at_unit_density_um2, state.mesh,
            self._vm, self._vox,
        )  # fmt: skip
        if self.remodels:
            kern.remodel_kernel(
                c.dead, c.type, self._vm, self._vox,
                beh.column("fibre realignment rate") if self.realign else None,
                beh.column("fibre anisotropy rate") if self.anisotropy else None,
                rho, aniso, fibres, self.types, dt, state.mesh.dim,
                parallel=(par := use_parallel(c.n, None)), scratch=self._remodel_scratch,
                bins=state.voxel_bins() if par and rho.shape == state.mesh.array_shape else None,
            )  # fmt: skip
        pin_immovable(state)

    def internal_behaviours(self, state, behaviours) -> None:
        """Metzcar's followers: ``migration bias = fibre following × anisotropy``."""
        on = np.array([ct.ecm.bias_from_anisotropy for ct in self.params.cell_types.values()])
        c = state.cells
        mask = on[c.type]
        if not (mask.any() and self.fibred):
            return
        a = state.field_at_cells(self.table.anisotropy_field)
        bias = behaviours.column("migration bias")
        follow = behaviours.column("fibre following")
        bias[mask] = np.clip(follow[mask] * a[mask], 0.0, 1.0)

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """ECM density, matrix confinement or anisotropy at each cell."""
        e = self.table
        if template == "ecm anisotropy":
            if not self.fibred:
                return np.zeros(state.cells.n)
            return np.clip(state.field_at_cells(e.anisotropy_field), 0.0, 1.0)
        rho = state.field_at_cells(e.density_field)
        if template == "ecm density":
            return rho.copy()
        _, steric = kern.speed_factors(rho, state.cells.type, self.types,
                                       e.pore_area_at_unit_density_um2)  # fmt: skip
        return 1.0 - steric
