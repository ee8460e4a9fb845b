"""Intravasation: tumour cells touching a vessel enter it, alone or as a cluster, and leave.

Contract:
    * A live cell whose behaviour ``intravasation rate`` ``b`` (1/min; the type's
      ``[params.cell_types.<type>.intravasation] rate_per_min``, then traits, rules and
      interventions) is > 0 and whose centre lies within its radius plus the vessel's radius
      of a vessel segment's axis (the ``vessels`` process' segments) enters the vessel in a
      phenotype step ``dt`` with probability ``1 − exp(−λ dt)``,

          λ = b · f_mode · (1 + F_mmp p/(p + K_mmp)) · (1 + F_tam n/(n + K_tam)) · f_kind

      ``f_mode``: ``mode_factors`` of its migration mode (the ``rho_gtpase`` state column
      ``mode``; 1 without that column), ``p`` its ``pericellular proteolysis`` (1/min; 0 when
      no process reads it), ``n`` the live cells of ``helper_type`` (TAMs: the TMEM doorway,
      Harney et al. 2015) within ``helper_distance_um`` of its centre, ``f_kind``
      ``vessel_factors`` of the vessel's kind (the nearest touched vessel). Draws: a uniform
      keyed by (seed, phenotype step, cell id, :data:`STREAM_INTRAVASATION`).
    * Clusters: candidates are walked in ascending id; an entering cell (the leader) takes
      with it, breadth first, live cells with ``b > 0`` within ``contact_factor × (R_i + R_j)``
      of a cluster member (nearest first) until the cluster holds ``max_cluster_cells``
      (:func:`~invasim.physics.intravasation.intravasation_kernel`). Taken cells cannot lead.
    * The cells leave the tissue: their rows join ``state.removing`` (removed at the end of
      the phenotype step, as dead cells are). Each event is a row of the table
      ``intravasation_events`` (time, size, vessel kind and segment, leader id and position,
      the mean of each trait over the cluster) and each cell a row of
      ``intravasated_cells`` (event, id, type, mode, traits): :meth:`Intravasation.tables`
      (cumulative: every event so far; the run directory writes them with each output
      record). :meth:`Intravasation.checkpoint_arrays` / :meth:`~Intravasation.restore_arrays`
      carry the rows through a checkpoint.
      The rows are published on the state (``state.intravasation_events``, read only) at
      each step, for the body process (:mod:`invasim.processes.body`).
    * Metrics: ``intravasated_cells``, ``intravasation_events`` (totals since the start,
      checkpointed as counters).
    * Clock: phenotype, order 170 (``ORDER["phenotype"]["intravasation"]``): after the
      behaviour fill, division and recruitment, so a cell born or recruited this step can
      leave in it.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.process import ORDER, Process, register_process
from invasim.biology.rho_gtpase import MODE_NAMES
from invasim.core.mesh import Mesh
from invasim.physics.intravasation import (
    KIND_CODES,
    KIND_NAMES,
    cell_rates,
    intravasation_kernel,
)
from invasim.processes.vessels import segments
from invasim.rules.dictionary import register_behaviour

#: rng stream of the intravasation draws
STREAM_INTRAVASATION = 58
RATE = "intravasation rate"
PROTEOLYSIS = "pericellular proteolysis"
CELLS, EVENTS = "intravasated_cells", "intravasation_events"
CELLS_TABLE, EVENTS_TABLE = "intravasated_cells", "intravasation_events"
#: checkpoint key of the event rows (:meth:`Intravasation.checkpoint_arrays`)
CHECKPOINT_KEY = "intravasation__events"

register_behaviour(RATE, "1/min", "base rate of entering a vessel the cell touches (before "
                   "the mode, MMP, TAM and vessel-kind factors)", ("intravasation",),
                   lower=0.0)  # fmt: skip


def _modes() -> dict[str, float]:
    return {"epithelial": 0.1, "mesenchymal": 1.0, "amoeboid": 2.0}


class IntravasationCell(BaseModel):
    """``[params.cell_types.<type>.intravasation]``."""

    model_config = ConfigDict(extra="forbid")

    rate_per_min: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="intravasation rate b of a cell touching a vessel [1/min]; 0: never "
        "(default: stromal and immune cells). No measured value: intravital imaging sees "
        "intravasation as rare (Wyckoff et al. 2007 Cancer Res 67:2649); choose per scenario",
    )  # fmt: skip


class IntravasationParams(BaseModel):
    """``[params.intravasation]``: the factors on the rate and the cluster rule."""

    model_config = ConfigDict(extra="forbid")

    mode_factors: dict[str, float] = Field(
        default_factory=_modes,
        description="factor f_mode per migration mode [1]; default epithelial 0.1, "
        "mesenchymal 1, amoeboid 2 (illustrative; direction from Giampieri et al. 2009 Nat "
        "Cell Biol 11:1287: single motile cells enter blood vessels, cohesive ones do not; "
        "amoeboid cells intravasate efficiently, Sahai 2005 Curr Opin Genet Dev 15:87)",
    )  # fmt: skip
    mmp_max_fold: float = Field(
        2.0, ge=0, allow_inf_nan=False,
        description="F_mmp: fold rise of the rate at saturating pericellular proteolysis [1] "
        "(illustrative; MMP activity at the vessel wall aids entry, Deryugina & Quigley 2006 "
        "Cancer Metastasis Rev 25:9)",
    )  # fmt: skip
    mmp_half_max: float = Field(
        0.01, gt=0, allow_inf_nan=False,
        description="K_mmp: pericellular proteolysis at half the rise [1/min] (illustrative: "
        "the order of the carcinoma MT1-MMP rates of the shipped scenarios, 0.005-0.015/min)",
    )  # fmt: skip
    helper_type: str | None = Field(
        None, description="cell type of the helpers (TAMs: perivascular macrophages of the "
        "TMEM doorway, Harney et al. 2015 Cancer Discov 5:932); None: no TAM factor"
    )  # fmt: skip
    helper_distance_um: float = Field(
        25.0, ge=0, allow_inf_nan=False,
        description="helpers count within this distance of the cell centre [µm]; 25: a "
        "macrophage in direct contact (TMEM: tumour cell, macrophage and endothelial cell in "
        "contact, Robinson et al. 2009 Clin Cancer Res 15:2433)",
    )  # fmt: skip
    helper_max_fold: float = Field(
        9.0, ge=0, allow_inf_nan=False,
        description="F_tam: fold rise at saturating helper number [1]; 9, i.e. a tenfold "
        "rate: intravasation happens almost only at TMEM (Harney et al. 2015; Wyckoff et al. "
        "2007 Cancer Res 67:2649; size illustrative)",
    )  # fmt: skip
    helper_half_max: float = Field(
        1.0, gt=0, allow_inf_nan=False,
        description="K_tam: helper number at half the rise [cells] (illustrative: one "
        "macrophage makes a doorway)",
    )  # fmt: skip
    vessel_factors: dict[str, float] = Field(
        default_factory=lambda: {"blood": 1.0, "lymph": 2.0},
        description="factor f_kind per vessel kind [1]; lymph 2 (illustrative; lymphatic "
        "capillaries have discontinuous button junctions and no pericytes, Baluk et al. 2007 "
        "J Exp Med 204:2349)",
    )  # fmt: skip
    contact_factor: float = Field(
        1.05, gt=0, allow_inf_nan=False,
        description="cells within contact_factor × (R_i + R_j) are attached and leave "
        "together [1] (contact at R_i + R_j, 5% slack for the mechanics' overlap)",
    )  # fmt: skip
    max_cluster_cells: int = Field(
        1, ge=1,
        description="largest cluster that leaves at once [cells]; 1: single cells only. "
        "Circulating tumour cell clusters hold 2-50 cells (Aceto et al. 2014 Cell 158:1110)",
    )  # fmt: skip


def mode_factor_array(table: IntravasationParams) -> np.ndarray:
    """``[3]`` the mode factors in :data:`MODE_NAMES` order (unnamed modes: 1)."""
    return np.array([float(table.mode_factors.get(m, 1.0)) for m in MODE_NAMES])


def kind_factor_array(table: IntravasationParams) -> np.ndarray:
    """``[3]`` the vessel factors by kind code (entry 0 unused)."""
    out = np.ones(3)
    for name, code in KIND_CODES.items():
        out[code] = float(table.vessel_factors.get(name, 1.0))
    return out


@register_process
class Intravasation(Process):
    """Tumour cells touching a vessel enter it (singly or in clusters) and leave the tissue."""

    name: ClassVar[str] = "intravasation"
    title: ClassVar[str] = "tumour cells at a vessel enter it (mode, MMP, TAM, vessel kind)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["intravasation"]
    Params: ClassVar[type[BaseModel]] = IntravasationParams
    CellParams: ClassVar[type[BaseModel]] = IntravasationCell
    behaviours: ClassVar[tuple[str, ...]] = (RATE,)
    requires: ClassVar[tuple[str, ...]] = ("vessels",)
    metric_names: ClassVar[tuple[str, ...]] = (CELLS, EVENTS)
    references: ClassVar[tuple[str, ...]] = (
        "Wyckoff JB, Wang Y, Lin EY, ... Condeelis JS (2007) Direct visualization of "
        "macrophage-assisted tumor cell intravasation in mammary tumors. Cancer Res "
        "67:2649-2656",
        "Harney AS, Arwert EN, Entenberg D, ... Condeelis JS (2015) Real-time imaging reveals "
        "local, transient vascular permeability, and tumor cell intravasation stimulated by "
        "TIE2hi macrophage-derived VEGFA. Cancer Discov 5:932-943",
        "Giampieri S, Manning C, Hooper S, Jones L, Hill CS, Sahai E (2009) Localized and "
        "reversible TGFbeta signalling switches breast cancer cells from cohesive to single "
        "cell motility. Nat Cell Biol 11:1287-1296",
        "Aceto N, Bardia A, Miyamoto DT, ... Maheswaran S (2014) Circulating tumor cell "
        "clusters are oligoclonal precursors of breast cancer metastasis. Cell 158:1110-1122",
    )

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """The helper type exists; the factor tables name known modes and kinds, >= 0."""
        t = params.intravasation
        out = []
        if t.helper_type is not None and t.helper_type not in params.cell_types:
            out.append(f"params.intravasation.helper_type = {t.helper_type!r} is not a cell "
                       f"type; cell types: {', '.join(params.cell_types)}")  # fmt: skip
        for key, allowed in (("mode_factors", MODE_NAMES), ("vessel_factors", tuple(KIND_CODES))):
            for k, v in getattr(t, key).items():
                if k not in allowed or not (v >= 0 and math.isfinite(v)):
                    out.append(f"params.intravasation.{key}.{k} = {v}: keys must be one of "
                               f"{', '.join(allowed)}, values finite and >= 0")  # fmt: skip
        return out

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The type's intravasation rate."""
        return {RATE: cell.intravasation.rate_per_min}

    def setup(self, state) -> None:
        """The vessel segments (as the vessels process builds them) and the factor arrays."""
        t = self.table
        vessels = getattr(self.params, "vessels", None)
        self.segs = (segments(vessels, tuple(state.extent), state.seed) if vessels is not None
                     else np.zeros((0, 8)))  # fmt: skip
        self.mode_f = mode_factor_array(t)
        self.kind_f = kind_factor_array(t)
        self.helper = (state.type_names.index(t.helper_type) if t.helper_type is not None
                       else -1)  # fmt: skip
        if not hasattr(self, "event_rows"):
            self.event_rows: list[dict] = []
            self.cell_rows: list[dict] = []

    def _inputs(self, state):
        c = state.cells
        n = c.n
        beh = state.behaviours
        base = np.ascontiguousarray(beh.column(RATE), dtype=np.float64)
        mmp = (np.ascontiguousarray(beh.column(PROTEOLYSIS)) if beh.has(PROTEOLYSIS)
               else np.zeros(n))  # fmt: skip
        mode = np.full(n, -1, dtype=np.int64)
        if "mode" in c.names("state"):  # the rho_gtpase mode; NaN (no state yet): no factor
            m = c.state("mode")
            ok = np.isfinite(m)
            mode[ok] = m[ok].astype(np.int64)
        return base, mode, mmp

    def rates(self, state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``([n] λ (1/min), [n] touched vessel kind code (0: none), [n] segment (-1))``."""
        c = state.cells
        n = c.n
        t = self.table
        base, mode, mmp = self._inputs(state)
        lam = np.zeros(n)
        kind = np.zeros(n, dtype=np.int64)
        seg = np.full(n, -1, dtype=np.int64)
        if n and self.segs.shape[0]:
            cell_rates(
                np.ascontiguousarray(c.position), c.radius, c.dead, c.type, base, mode, mmp,
                self.segs, self.mode_f, float(t.mmp_max_fold), float(t.mmp_half_max),
                float(t.helper_max_fold), float(t.helper_half_max), self.kind_f,
                np.int64(self.helper), float(t.helper_distance_um), lam, kind, seg,
            )  # fmt: skip
        return lam, kind, seg

    def step(self, state, dt: float) -> None:
        """Draw the entries; record the events; mark the cells for removal."""
        state.intravasation_events = self.event_rows  # published, read only (the body process)
        c = state.cells
        n = c.n
        if not n or not self.segs.shape[0]:
            return
        t = self.table
        lam, kind, seg = self.rates(state)
        base, mode, _ = self._inputs(state)
        event = np.empty(n, dtype=np.int64)
        kind_e = np.zeros(n, dtype=np.int64)
        seg_e = np.zeros(n, dtype=np.int64)
        lead = np.zeros(n, dtype=np.int64)
        k = intravasation_kernel(
            np.ascontiguousarray(c.position), c.radius, c.dead, c.id, base, lam, kind, seg,
            float(t.contact_factor), np.int64(t.max_cluster_cells), np.int64(state.seed),
            np.int64(state.pheno_step), np.int64(STREAM_INTRAVASATION), float(dt), event, kind_e,
            seg_e, lead,
        )  # fmt: skip
        if not k:
            return
        self._record(state, event, kind_e[:k], seg_e[:k], lead[:k], mode)
        rows = np.flatnonzero(event >= 0).astype(np.int64)
        state.removing = np.union1d(state.removing.astype(np.int64), rows)
        gone = float(rows.size)
        state.counters[CELLS] = state.counters.get(CELLS, 0.0) + gone
        state.counters[EVENTS] = state.counters.get(EVENTS, 0.0) + k

    def _record(self, state, event, kind, seg, lead, mode) -> None:
        c = state.cells
        names = list(c.trait_names)
        traits = c.traits if names else np.zeros((c.n, 0))
        first = int(state.counters.get(EVENTS, 0.0))
        for e in range(kind.shape[0]):
            rows = np.flatnonzero(event == e)
            leader = int(lead[e])
            row = {"event_time_min": float(state.t), "event": first + e, "size": int(rows.size),
                   "vessel_kind": KIND_NAMES[int(kind[e])], "vessel_segment": int(seg[e]),
                   "leader_id": int(c.id[leader]),
                   **{a: float(c.position[leader, q]) for q, a in enumerate("xyz"[: c.dim])}}
            for q, tname in enumerate(names):
                row[f"mean_{tname}"] = float(traits[rows, q].mean())
            self.event_rows.append(row)
            for r in rows:
                cell = {"event_time_min": float(state.t), "event": first + e, "id": int(c.id[r]),
                        "cell_type": state.type_names[int(c.type[r])],
                        "mode": MODE_NAMES[int(mode[r])] if mode[r] >= 0 else "",
                        "vessel_kind": KIND_NAMES[int(kind[e])]}
                for q, tname in enumerate(names):
                    cell[tname] = float(traits[r, q])
                self.cell_rows.append(cell)

    def tables(self, state) -> dict[str, pd.DataFrame]:
        """``intravasation_events`` (one row per event) and ``intravasated_cells`` (per cell)."""
        ev_cols = ["event_time_min", "event", "size", "vessel_kind", "vessel_segment",
                   "leader_id"]  # fmt: skip
        cell_cols = ["event_time_min", "event", "id", "cell_type", "mode", "vessel_kind"]
        return {
            EVENTS_TABLE: pd.DataFrame(self.event_rows, columns=None if self.event_rows
                                       else ev_cols),
            CELLS_TABLE: pd.DataFrame(self.cell_rows, columns=None if self.cell_rows
                                      else cell_cols),
        }  # fmt: skip

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        """The event rows as arrays for a checkpoint (keys prefixed ``intravasation__``)."""
        return {CHECKPOINT_KEY: np.array(json.dumps([self.event_rows, self.cell_rows]))}

    def restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Take back the event rows of :meth:`checkpoint_arrays` (absent: none)."""
        if CHECKPOINT_KEY in arrays:
            self.event_rows, self.cell_rows = json.loads(str(arrays[CHECKPOINT_KEY]))

    def metrics(self, state) -> dict[str, float]:
        """Cells and events so far."""
        return {CELLS: state.counters.get(CELLS, 0.0), EVENTS: state.counters.get(EVENTS, 0.0)}
