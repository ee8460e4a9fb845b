"""The body inside a tissue run: the window's intravasation calibrates a patient's shedding.

Contract:
    * ``[params.body]``: any :class:`~invasim.body.BodyParams` field (the patient; defaults as
      there) plus ``t_end_days`` (how long the patient is followed, default 3650: ten years),
      ``calibrate`` (default true: ``shed_per_day``, ``alpha`` and ``cluster_fraction`` come
      from the run's own intravasation events; false: as typed), ``slice_um`` (2-D slice
      thickness; default one tumour-cell diameter), ``front_every_min`` (how often the
      tumour–stroma interface is measured, default 60) and ``patient_seed`` (default: the run
      seed).
    * Phenotype clock, order 175 (``ORDER["phenotype"]["body"]``, after intravasation 170).
      Every ``front_every_min`` it measures the interface of the live cells of the tumour
      types (types with ``intravasation.rate_per_min > 0``;
      :func:`invasim.analysis.tumour_interface.interface_size`) and their mean volume. It
      touches no cell: the tissue runs as without it.
    * At each output (:meth:`metrics`, :meth:`tables`; computed once per time) it calibrates
      the shedding from the events so far and the front samples so far plus the front now
      (:func:`invasim.body.shedding.calibrate_shedding`, the same code as ``invasim shedding``;
      before two samples exist, or with no front: ``shed_per_day`` 0) and simulates one
      patient (:func:`invasim.body.simulate_patient`) from ``primary_cells_initial`` (default
      one cell) at day 0 to death or ``t_end_days``. CHOSEN: the patient starts from one cell
      (Iwata et al.'s convention; the window is a piece of the front of that primary at some
      size, and its rate per unit of front is taken as the same at every size).
    * Events come from the intravasation process, which publishes its event rows on the
      state (``state.intravasation_events``, a list of row dicts; read only here).
    * Metrics: ``body_t_death_days`` (NaN: alive at ``t_end_days``), ``body_n_metastases``
      (colonies at the end), ``body_n_detectable`` (colonies >= ``detect_cells`` at the end),
      ``body_shed_per_day`` (m). Tables: ``body_burden`` (the patient's burden table: cells
      per organ every ``record_every_days``) and ``body_outcome`` (one row: the calibration
      with its interval and provenance, death time and cause, counts).
    * Checkpoint: the front samples (``body__front``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from invasim.agents.process import ORDER, Process, register_process
from invasim.analysis.tumour_interface import interface_size
from invasim.body import BodyParams, simulate_patient
from invasim.body.shedding import calibrate_shedding, cell_diameter, front_exposure
from invasim.core.mesh import Mesh

T_DEATH, N_MET, N_DET, SHED = ("body_t_death_days", "body_n_metastases", "body_n_detectable",
                               "body_shed_per_day")  # fmt: skip
BURDEN_TABLE, OUTCOME_TABLE = "body_burden", "body_outcome"
CHECKPOINT_KEY = "body__front"
#: the state attribute the intravasation process publishes its event rows on
EVENTS_ATTR = "intravasation_events"


class BodyProcessParams(BodyParams):
    """``[params.body]``: the patient (BodyParams) and how the run feeds it."""

    model_config = ConfigDict(extra="forbid")

    t_end_days: float = Field(3650.0, gt=0, description="follow the patient to death or this "
                              "day [days]; 3650: ten years")  # fmt: skip
    calibrate: bool = Field(True, description="shed_per_day, alpha and cluster_fraction from "
                            "the run's intravasation events (false: as typed)")  # fmt: skip
    slice_um: float | None = Field(None, gt=0, description="2-D: slice thickness [µm]; None: "
                                   "one tumour-cell diameter")  # fmt: skip
    front_every_min: float = Field(60.0, gt=0, description="interval of the front "
                                   "measurements [min]")  # fmt: skip
    patient_seed: int | None = Field(None, ge=0, description="seed of the patient; None: the "
                                     "run seed")  # fmt: skip


def _tumour_types(params: Any) -> list[int]:
    out = []
    for k, ct in enumerate(params.cell_types.values()):
        iv = getattr(ct, "intravasation", None)
        if iv is not None and iv.rate_per_min > 0:
            out.append(k)
    return out


@register_process
class Body(Process):
    """A patient whose shedding is calibrated from the window's intravasation, at each output."""

    name: ClassVar[str] = "body"
    title: ClassVar[str] = "the body model, its shedding calibrated from the run's intravasation"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["body"]
    Params: ClassVar[type] = BodyProcessParams
    requires: ClassVar[tuple[str, ...]] = ("intravasation",)
    metric_names: ClassVar[tuple[str, ...]] = (T_DEATH, N_MET, N_DET, SHED)
    references: ClassVar[tuple[str, ...]] = (
        "Iwata K, Kawasaki K, Shigesada N (2000) A dynamical model for the growth and size "
        "distribution of multiple metastatic tumors. J Theor Biol 203:177-186",
        "Butler TP, Gullino PM (1975) Quantitation of cell shedding into efferent blood of "
        "mammary adenocarcinoma. Cancer Res 35:512-516",
    )

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """A tumour type (intravasation rate > 0) exists when calibrating."""
        if params.body.calibrate and not _tumour_types(params):
            return ["params.body.calibrate = true needs a cell type with "
                    "cell_types.<type>.intravasation.rate_per_min > 0 (the tumour)"]
        return []

    def setup(self, state) -> None:
        """The tumour types; the first front sample (kept across a restore)."""
        self.types = _tumour_types(self.params)
        self.body = BodyParams(**{k: v for k, v in self.table.model_dump().items()
                                  if k in BodyParams.model_fields})  # fmt: skip
        self._cache: tuple | None = None
        if not hasattr(self, "samples"):
            self.samples: list[tuple[float, float, float]] = []
        if not self.samples:
            self.samples.append(self._measure(state))

    def _measure(self, state) -> tuple[float, float, float]:
        """``(t, front, mean volume)`` of the live tumour cells now."""
        c = state.cells
        keep = np.isin(c.type[: c.n], self.types) & ~c.dead[: c.n].astype(bool)
        if not keep.any():
            return float(state.t), 0.0, math.nan
        front = interface_size(c.position[: c.n][keep], c.radius[: c.n][keep], c.dim)
        return float(state.t), front, float(c.volume[: c.n][keep].mean())

    def step(self, state, dt: float) -> None:
        """Measure the front when ``front_every_min`` has passed since the last sample."""
        if state.t >= self.samples[-1][0] + self.table.front_every_min - 1e-9:
            self.samples.append(self._measure(state))

    def calibration(self, state):
        """The shedding from the events and fronts so far (None before any exposure)."""
        samples = list(self.samples)
        if state.t > samples[-1][0] + 1e-9:
            samples.append(self._measure(state))
        t = np.array([s[0] for s in samples])
        f = np.array([s[1] for s in samples])
        v = np.array([s[2] for s in samples])
        v = v[np.isfinite(v)]
        if t.size < 2 or not v.size:
            return None
        d = self.table.slice_um if self.table.slice_um is not None else cell_diameter(v.mean())
        if not front_exposure(t, f, state.cells.dim, d)[0] > 0:
            return None
        rows = getattr(state, EVENTS_ATTR, None) or []
        events = pd.DataFrame(rows, columns=None if rows else ["event_time_min", "size"])
        events = events[events["event_time_min"] <= state.t]
        return calibrate_shedding(events, t, f, state.cells.dim, float(v.mean()), d,
                                  run="this run")  # fmt: skip

    def outcome(self, state):
        """``(calibration or None, PatientResult, params)`` at the current time (cached)."""
        n_ev = len(getattr(state, EVENTS_ATTR, None) or [])
        key = (float(state.t), n_ev, len(self.samples))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        cal = self.calibration(state) if self.table.calibrate else None
        body = self.body
        if self.table.calibrate:
            over = cal.body_overrides() if cal is not None else {"shed_per_day": 0.0}
            body = body.model_copy(update=over)
        seed = self.table.patient_seed if self.table.patient_seed is not None else state.seed
        res = simulate_patient(body, int(seed), float(self.table.t_end_days))
        self._cache = (key, (cal, res, body))
        return cal, res, body

    def metrics(self, state) -> dict[str, float]:
        """Death time (NaN alive), metastases, detectable ones, m."""
        _, res, body = self.outcome(state)
        return {T_DEATH: float(res.t_death_days) if res.died else math.nan,
                N_MET: float(res.n_metastases()),
                N_DET: float(np.count_nonzero(res.sizes >= body.detect_cells)),
                SHED: float(body.shed_per_day)}  # fmt: skip

    def tables(self, state) -> dict[str, pd.DataFrame]:
        """``body_burden`` and ``body_outcome`` of the patient at this output."""
        cal, res, body = self.outcome(state)
        row: dict[str, Any] = {
            "window_min": float(state.t), "died": bool(res.died),
            "t_death_days": float(res.t_death_days) if res.died else math.nan,
            "cause": res.cause, "n_metastases": int(res.n_metastases()),
            "n_detectable": int(np.count_nonzero(res.sizes >= body.detect_cells)),
            "ctc_shed": float(res.ctc_shed), "shed_per_day": float(body.shed_per_day),
            "alpha": float(body.alpha), "cluster_fraction": float(body.cluster_fraction),
            "primary_site": body.primary_site, "t_end_days": float(self.table.t_end_days),
            "calibrated": cal is not None, "diagnosis_cells": float(body.diagnosis_cells),
            "t_diagnosis_days": float(res.t_diagnosis_days),
        }
        if cal is not None:
            row.update({f"cal_{k}": v for k, v in cal.as_dict().items() if k != "run"})
        for t_d, k in res.detectable.items():
            row[f"detectable_{t_d:g}d"] = int(k)
        return {BURDEN_TABLE: res.burden.copy(), OUTCOME_TABLE: pd.DataFrame([row])}

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        """The front samples ``[k, 3]`` (t, front, mean volume)."""
        return {CHECKPOINT_KEY: np.asarray(self.samples, dtype=float).reshape(-1, 3)}

    def restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Take back the front samples."""
        if CHECKPOINT_KEY in arrays:
            self.samples = [tuple(map(float, r)) for r in np.asarray(arrays[CHECKPOINT_KEY])]
        self._cache = None
