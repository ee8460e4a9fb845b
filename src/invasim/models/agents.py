"""The agent engine: off-lattice cells and fields, run as a composition of processes.

Registered as the model ``"agents"``. A scenario lists its processes (``params.processes``,
:mod:`invasim.processes`); this module builds the state, the behaviour matrix and the three
clocks, and runs the processes on them in a fixed, documented order. It knows no mechanism.

Contract — one call of :meth:`AgentModel.step` is one phenotype step ``dt = time.dt_min``:

0. **Interventions** due at the step's start (resection, added cells, a bolus) are applied
   (:mod:`invasim.agents.interventions`).
1. **Behaviours for motion** (:mod:`invasim.agents.behaviours`): the columns read on the
   diffusion and mechanics clocks are filled for every cell from the state at the step's start,
   layer by layer (cell type → traits → internal models → rules → interventions).
2. ``dt / dt_mechanics`` **mechanics steps**, each:

   a. diffusion-clock processes follow the cells (:meth:`~invasim.agents.process.Process.bind`);
   b. ``dt_mechanics / dt_diffusion`` diffusion steps: the diffusion-clock processes in order
      (secretion, then diffusion);
   c. the mechanics-clock processes in order (mechanics overwrites the velocities, motility
      adds to them), then the cells move (``params.mechanics_scheme``, Adams–Bashforth 2).

3. **Phenotype step** (at the step's end): the sensing processes (contacts), then the
   behaviours for cell life are filled (from the state now), then the acting processes in
   order (volume, death, cycle, division, then field reactions such as matrix degradation);
   the rows death marked are removed, and the cells are sorted by cell-list bin (locality; a
   function of the state).
4. **Matrices** (fields of kind ``matrix``) relax towards their target over the step, exactly;
   they never take a diffusion step.

Random numbers are counter-based, keyed by the seed, the cell id and a step counter derived
from the time (phenotype: ``t/dt``; mechanics: ``t/dt_mechanics + k``), so a run is the same on
any number of threads and a resumed run equals an uninterrupted one, bit for bit.

Metrics are registered readouts (:mod:`invasim.analysis.readouts`), functions of a snapshot
that also recompute them from a stored run: ``n_cells`` (live), ``tumor_radius_um`` (95th
percentile of the live cells' distances from the centre of mass of all cells, µm),
``n_apoptotic``, ``n_necrotic``, ``necrotic_fraction`` (necrotic / all cells), ``oxygen_min``
(the oxygen field's minimum, mmHg), then each process's (``pressure_max`` of contacts), then
``n_<type>`` (live) per type.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

import invasim.processes  # noqa: F401  (registers the built-in processes)
from invasim.agents import interventions as iv
from invasim.agents.fields import FieldSet
from invasim.agents.layers import build_behaviours
from invasim.agents.params import (
    DEFAULT_PROCESSES,
    AgentParamsBase,
    behaviour_table,
    check_process_names,
    dictionary,
    params_schema,
)
from invasim.agents.placement import initial_cells
from invasim.agents.process import REGISTRY, SENSE_BEFORE, Process, whole_steps
from invasim.agents.state import AgentState
from invasim.analysis.readouts import compute, find
from invasim.analysis.snapshot import Snapshot
from invasim.biology.clones import PREFIX as CLONES_PREFIX
from invasim.biology.clones import TABLE as CLONES_TABLE
from invasim.biology.clones import Lineage
from invasim.biology.traits import TraitSpec, declare_traits, initial_values, seed_traits
from invasim.core import initial as placement
from invasim.core.cells import Cells, sphere_radius
from invasim.core.mesh import Mesh
from invasim.models.base import FieldSpec, Model, register
from invasim.physics.diffusion import single_thread_if_small
from invasim.physics.mechanics import MechanicsParams, move


def _trait_rule_clashes(p: AgentParamsBase, tname: str, trait: Any, names: set[str]) -> list[str]:
    """A trait on a behaviour that a rule sets in the same cell type: the trait would do nothing.

    A rule starts from the cell type's value of its behaviour (PhysiCell's semantics), not from
    the value the traits and internal models made, so there the trait is silently discarded.
    Refused for a trait that scales the behaviour or mutates (heritable variation); allowed for
    a fixed trait that sets it, which is how an imported PhysiCell distribution behaves under
    PhysiCell's own rules (the rule discards it there too).
    """
    rs = p.rule_set
    if rs is None:
        return []
    types = list(p.cell_types)
    where = [types.index(t) for t in (trait.cell_types or types) if t in types]
    mutates = trait.mutation_rate > 0 and trait.mutation_step > 0
    out = []
    for key in ("scales", "sets") if mutates else ("scales",):
        for b in getattr(trait, key):
            if b not in names:
                continue  # reported above
            col = rs.column(b)
            hit = [types[i] for i in where if rs.governed[i, col]]
            if hit:
                out.append(
                    f"params.traits.{tname}.{key} names {b!r}, which params.rules also set in "
                    f"cell type {hit[0]!r}; a rule starts from the cell type's value, so the "
                    f"trait would have no effect there: drop the rule or the trait's {b!r}, or "
                    f"use the process's own parameter (e.g. cycle.pressure_threshold for "
                    f"contact inhibition)"
                )
    return out


def _by_clock(processes: list[Process], clock: str) -> list[Process]:
    return sorted((p for p in processes if p.clock == clock), key=lambda p: p.order)


def initial_volumes(params: Any, types: np.ndarray, vols: np.ndarray, first_id: int,
                    seed: int) -> np.ndarray:
    """``[n]`` the initial cells' volumes: their type's, or a draw of its ``initial_um3``.

    Draws are counter-based, keyed by (seed, cell id, the type's index), like a trait's.
    """
    out = vols[types].astype(np.float64)
    ids = np.arange(first_id, first_id + len(types), dtype=np.int64)
    for t, ct in enumerate(params.cell_types.values()):
        dist = ct.volume.initial_um3
        rows = np.flatnonzero(types == t)
        if dist is None or not rows.size:
            continue
        spec = TraitSpec(name=f"initial_volume_{t}", initial=dist, lower=0.0)
        out[rows] = initial_values(spec, rows.size, seed, ids[rows])
    return out


def table_columns(params: Any, cells: Cells) -> None:
    """Per-cell initial values from the cells table's extra columns (``initial.columns``).

    The initial cells are the table's rows in order (ids ``0 .. n-1`` of a fresh state); a
    blank entry keeps the cell's default. ``volume`` sets the volume and radius, except in the
    types whose ``volume.initial_um3`` draws it (PhysiCell applies its distributions after
    loading the cells table).
    """
    ini = params.initial
    if ini.geometry != "table" or not ini.columns:
        return
    values = placement.read_columns(ini.path, list(ini.columns))
    n = cells.n
    for label, target in ini.columns.items():
        v = values[label][:n]
        have = np.isfinite(v)
        if target == "volume":
            drawn = [t for t, ct in enumerate(params.cell_types.values())
                     if ct.volume.initial_um3 is not None]  # fmt: skip
            have &= ~np.isin(cells.type[:n], drawn)
            if np.any(v[have] <= 0):
                raise ValueError(f"cell table column {label!r}: volumes must be > 0 µm³")
            cells.volume[:n][have] = v[have]
            cells.radius[:n][have] = sphere_radius(v[have])
        else:
            cells.trait(target)[:n][have] = v[have]


@register
class AgentModel(Model):
    """Off-lattice agents coupled to fields, as a composition of processes."""

    name: ClassVar[str] = "agents"
    title: ClassVar[str] = (
        "Agents: off-lattice cells (mechanics, cycle, death, ...) coupled to fields, "
        "as a composition of processes"
    )
    Params: ClassVar[type[BaseModel]] = params_schema(DEFAULT_PROCESSES)
    metric_names: ClassVar[tuple[str, ...]] = (
        "n_cells", "tumor_radius_um", "n_apoptotic", "n_necrotic", "necrotic_fraction",
        "oxygen_min",
    )  # fmt: skip
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A, Heiland R, Friedman SH, Mumenthaler SM, Macklin P (2018) PhysiCell: "
        "an open source physics-based cell simulator for 3-D multicellular systems. PLoS Comput "
        "Biol 14:e1005991",
        "Ghaffarizadeh A, Friedman SH, Macklin P (2016) BioFVM: an efficient, parallelized "
        "diffusive transport solver for 3-D biological simulations. Bioinformatics 32:1256-1258",
    )

    @classmethod
    def params_schema(cls, raw: dict[str, Any]) -> type[BaseModel]:
        """The ``[params]`` schema for the processes ``raw`` lists."""
        names = raw.get("processes", list(DEFAULT_PROCESSES)) if isinstance(raw, dict) else None
        return params_schema(check_process_names(names))

    def __init__(self, params: AgentParamsBase, mesh: Mesh, dt: float) -> None:
        super().__init__(params, mesh, dt)
        p = params
        if mesh.dim not in (2, 3):
            raise ValueError(f"the agent model needs a 2-D or 3-D mesh, got dim {mesh.dim}")
        self.type_names = list(p.cell_types)
        self.processes = [REGISTRY[name](p) for name in p.processes]
        self.diffusion_clock = _by_clock(self.processes, "diffusion")
        self.mechanics_clock = _by_clock(self.processes, "mechanics")
        phenotype = _by_clock(self.processes, "phenotype")
        self.sensing = [q for q in phenotype if q.order < SENSE_BEFORE]
        self.acting = [q for q in phenotype if q.order >= SENSE_BEFORE]
        # a process that brings cells in (recruitment) runs on an empty window too
        self.adds_cells = any(getattr(q, "adds_cells", False) for q in phenotype)
        self.sets_velocity = "mechanics" in p.processes
        base_metrics = type(self).metric_names
        extra = [k for q in self.processes for k in q.metric_names]
        counts = [f"n_{t}" for t in self.type_names if f"n_{t}" not in base_metrics]
        listed = [k for k in p.readouts if k not in (*base_metrics, *extra, *counts)]
        self.metric_names = (*base_metrics, *extra, *counts, *listed)
        self.listed_readouts = frozenset(listed)
        self.n_mech = whole_steps(dt, p.dt_mechanics_min) or 1
        self.n_diff = whole_steps(p.dt_mechanics_min, p.dt_diffusion_min) or 1
        self.dt_mech = dt / self.n_mech
        self.dt_diff = self.dt_mech / self.n_diff
        self.behaviours = build_behaviours(p, self.processes, self.type_names)
        self.state: AgentState | None = None

    # -- construction --------------------------------------------------------------------------
    def _grid(self) -> Any:
        """The cell list shared by the processes, reaching as far as the widest of them."""
        from invasim.physics.mechanics import Mechanics

        reach = max([1.0, *(type(q).neighbour_reach(self.params) for q in self.processes
                            if hasattr(type(q), "neighbour_reach"))])  # fmt: skip
        t = len(self.type_names)
        mp = MechanicsParams(np.zeros(t), np.zeros((t, t)), np.full(t, reach), np.zeros(t))
        return Mechanics(mp, tuple(float(e) for e in self.mesh.extent),
                         self.params.mechanics_scheme)  # fmt: skip

    def _build_state(self, fields: dict[str, np.ndarray], cells: Cells) -> AgentState:
        p = self.params
        state = AgentState(
            mesh=self.mesh, extent=tuple(float(e) for e in self.mesh.extent), seed=self.seed,
            type_names=self.type_names, dt=self.dt, dt_mech=self.dt_mech, dt_diff=self.dt_diff,
            n_mech=self.n_mech, n_diff=self.n_diff, fields=fields,
            field_units={k: f.unit for k, f in p.fields.items()}, cells=cells,
            neighbours=self._grid(),
        )  # fmt: skip
        state.behaviours = self.behaviours
        rs = p.rule_set
        state.wants = {
            "contacts": rs is not None and any(
                rs.dictionary.signals[int(i)].template.startswith("contact with")
                for i in rs.compiled.used_signals
            )
        }
        return state

    # -- checks --------------------------------------------------------------------------------
    @classmethod
    def check(cls, params: AgentParamsBase, mesh: Mesh, dt: float) -> list[str]:
        """Step ratios, each listed process's checks, initial cells inside the box."""
        p = params
        if mesh.dim not in (2, 3):
            return [f"mesh.dim = {mesh.dim}: the agent model needs a 2-D or 3-D mesh"]
        problems = []
        if whole_steps(dt, p.dt_mechanics_min) is None:
            problems.append(
                f"time.dt_min = {dt:g} must be a whole multiple of params.dt_mechanics_min = "
                f"{p.dt_mechanics_min:g}"
            )
        if whole_steps(p.dt_mechanics_min, p.dt_diffusion_min) is None:
            problems.append(
                f"params.dt_mechanics_min = {p.dt_mechanics_min:g} must be a whole multiple of "
                f"params.dt_diffusion_min = {p.dt_diffusion_min:g}"
            )
        for proc in p.listed():
            problems += proc.check(p, mesh, dt)
        for name, f in p.fields.items():
            problems += [f"params.fields.{name}.initial: {x}" for x in f.initial.check(mesh)]
        names = {e.name for e in behaviour_table(p, dictionary(p))[0]}
        if p.interventions:
            problems += iv.check(p.interventions, p, mesh, dt, names)
        for tname, trait in p.traits.items():
            problems += [
                f"params.traits.{tname}.{key} names {b!r}, which no listed process reads; "
                f"they read: {', '.join(sorted(names))}"
                for key in ("scales", "sets") for b in getattr(trait, key) if b not in names
            ]
            problems += [
                f"params.traits.{tname}.cell_types names {t!r}, which is not a cell type; "
                f"cell types: {', '.join(p.cell_types)}"
                for t in trait.cell_types if t not in p.cell_types
            ]
            problems += _trait_rule_clashes(p, tname, trait, names)
        problems += [
            f"params.initial.columns: column {label!r} targets {target!r}, which is neither "
            f"'volume' nor a trait; traits: {', '.join(p.traits) or 'none'}"
            for label, target in p.initial.columns.items()
            if target != "volume" and target not in p.traits
        ]
        try:
            pos, _ = initial_cells(p, mesh)
            if p.initial.columns:
                cols = placement.read_columns(p.initial.path, list(p.initial.columns))
                problems += [
                    f"params.initial.columns: column {label!r} has {len(v)} rows, the table "
                    f"{len(pos)} cells" for label, v in cols.items() if len(v) != len(pos)
                ]  # fmt: skip
        except ValueError as exc:
            problems.append(f"params.initial: {exc}")
        return problems

    # -- state ---------------------------------------------------------------------------------
    def field_specs(self) -> list[FieldSpec]:
        """One field per ``[params.fields]`` entry."""
        return [
            FieldSpec(s, f.unit, f"{f.kind} field {s}", getattr(f, "diffusion_um2_per_min", 0.0),
                      getattr(f, "decay_per_min", 0.0))  # fmt: skip
            for s, f in self.params.fields.items()
        ]

    def initial_fields(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The fields' initial values; places the initial cells (no random numbers)."""
        pos, types = initial_cells(self.params, self.mesh, self.seed)
        vols = np.array([ct.volume.volume_um3 for ct in self.params.cell_types.values()])
        cells = Cells(self.mesh.dim, capacity=max(1024, 2 * len(types)))
        rows = cells.add(len(types), position=pos, type=types,
                         volume=initial_volumes(self.params, types, vols, cells.next_id,
                                                self.seed))  # fmt: skip
        if self.params.initial.clones == "one" and len(types):
            cells.clone_id[rows] = cells.id[rows.start]
        specs = self.params.trait_specs()
        if specs:  # heritable traits: initial values keyed by (seed, cell id)
            declare_traits(cells, specs)
            seed_traits(cells, specs, self.seed)
        table_columns(self.params, cells)
        self.fieldset = FieldSet(self.mesh, self.params.fields, seed=self.seed)
        fields = dict(self.fieldset.arrays)
        self.state = self._build_state(fields, cells)
        if cells.n:
            self.state.neighbours.sort(cells)
        self.state.pressure = np.zeros(cells.n)
        for q in self.processes:
            q.setup(self.state)
        return fields

    def extra_state(self) -> dict[str, np.ndarray]:
        """The cells' arrays, counters and last pressures, and the clone table if one is kept.

        (:meth:`AgentState.to_arrays`, :meth:`Lineage.to_arrays`.)
        """
        out = self.state.to_arrays()
        lineage = getattr(self.state, "lineage", None)
        if lineage is not None:
            out.update(lineage.to_arrays())
        for q in self.processes:  # what processes keep beyond the state (e.g. event rows)
            out.update(q.checkpoint_arrays())
        return out

    def restore_extra_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Rebuild the cells (and the clone table) from :meth:`extra_state`."""
        arrays = dict(arrays)
        names = {q.name for q in self.processes}
        held = {k: arrays.pop(k) for k in list(arrays)
                if "__" in k and k.split("__")[0] in names}  # fmt: skip
        for q in self.processes:
            q.restore_arrays({k: v for k, v in held.items() if k.startswith(f"{q.name}__")})
        clones = {k: arrays.pop(k) for k in list(arrays) if k.startswith(CLONES_PREFIX)}
        self.state.cells, self.state.pressure = AgentState.cells_from_arrays(arrays)
        self.state.counters = AgentState.counters_from_arrays(arrays)
        if clones:
            self.state.lineage = Lineage.from_arrays(clones)
        elif getattr(self.state, "lineage", None) is not None:  # a checkpoint without one
            self.state.lineage = Lineage(self.state.cells.trait_names)
            self.state.lineage.register_roots(self.state.cells, np.nan)
        self.state.moved()

    def snapshot_tables(self) -> dict[str, pd.DataFrame]:
        """``{"cells": one row per cell}`` (:meth:`Cells.to_frame`, with the pressure).

        With a clone table, also ``"clones"``: one row per clone (:meth:`Lineage.to_frame`);
        and each process's own tables (:meth:`Process.tables`, e.g. the intravasation events).
        """
        frame = self.state.cells.to_frame()
        if self.state.pressure.shape[0] == len(frame):
            frame["pressure"] = self.state.pressure
        out = {"cells": frame}
        lineage = getattr(self.state, "lineage", None)
        if lineage is not None:  # every clone founded so far (new_clone_on_mutation)
            out[CLONES_TABLE] = lineage.to_frame()
        for q in self.processes:
            out.update(q.tables(self.state))
        return out

    @property
    def cells(self) -> Cells:
        """The cells (``state.cells``); setting them replaces the cells in the state."""
        return self.state.cells

    @cells.setter
    def cells(self, cells: Cells) -> None:
        self.state.cells = cells
        self.state.pressure = np.zeros(cells.n)
        self.state.moved()

    @property
    def rule_set(self):
        """The scenario's compiled rules (None: no rules)."""
        return self.params.rule_set

    # -- dynamics ------------------------------------------------------------------------------
    def step(self, fields: dict[str, np.ndarray], t_min: float) -> None:
        """One phenotype step (see the module contract)."""
        s = self.state
        s.fields = fields
        s.t = s.step_start = t_min
        mech0 = int(round(t_min / self.dt_mech))
        s.pheno_step = int(round(t_min / self.dt))
        s.moved()
        if self.params.interventions:
            iv.apply_events(self.params.interventions, s, self.params, t_min)
            s.moved()
        if s.cells.n:
            self.behaviours.fill(s, "motion", t_min)
        for k in range(self.n_mech):
            s.mech_step = mech0 + k
            if s.cells.n:
                for q in self.diffusion_clock:
                    q.bind(s, k == 0 or s.rows_changed)
            s.rows_changed = False
            # small meshes: the diffusion sub-steps on one thread (see single_thread_if_small)
            with single_thread_if_small(self.mesh):
                for j in range(self.n_diff):
                    s.diff_step = j
                    for q in self.diffusion_clock:
                        q.step(s, self.dt_diff)
            if s.cells.n and self.mechanics_clock:
                if not self.sets_velocity:
                    s.cells.velocity[:] = 0.0
                for q in self.mechanics_clock:
                    q.step(s, self.dt_mech)
                move(s.cells, self.dt_mech, self.params.mechanics_scheme)
                s.moved()
        if s.cells.n or self.adds_cells:
            self._phenotype(t_min + self.dt)
        if self.fieldset.matrices():  # static or slowly relaxing: no diffusion solve, ever
            self.fieldset.arrays = fields
            self.fieldset.step_matrices(self.dt, t_min)

    def _phenotype(self, t_end: float) -> None:
        s = self.state
        s.t = t_end
        for q in self.sensing:
            q.step(s, self.dt)
        self.behaviours.fill(s, "life", t_end)
        s.contacts = None  # counted for this fill only: the cells change from here on
        for q in self.acting:
            q.step(s, self.dt)
        c = s.cells
        if s.removing.size:
            mask = np.zeros(c.n, dtype=bool)
            mask[s.removing] = True
            s.remove(mask)
            s.removing = np.zeros(0, dtype=np.int64)
        if c.n:
            s.neighbours.rebuild(c)
            order = s.neighbours.cell_list.order.astype(np.int64)
            c.permute(order)
            if s.pressure.shape[0] == c.n:
                s.pressure = s.pressure[order]
        s.moved()

    # -- readouts ------------------------------------------------------------------------------
    def snapshot(self, fields: dict[str, np.ndarray], t_min: float) -> Snapshot:
        """The live state as a :class:`~invasim.analysis.snapshot.Snapshot` (readouts' input)."""
        frame = self.snapshot_tables()["cells"]
        return Snapshot(t_min, self.mesh, fields, frame, self.type_names, source="live")

    def metrics(self, fields: dict[str, np.ndarray], t_min: float) -> dict[str, float]:
        """The registered readouts (:mod:`invasim.analysis.readouts`) of the live state.

        The same functions recompute them from a stored run (``invasim readouts RUN``).
        """
        snap = self.snapshot(fields, t_min)
        names = [n for n in self.metric_names if find(n) is not None]
        # a readout the scenario lists is NaN where it does not apply (no mode column yet)
        skip = {n for n in names if n in self.listed_readouts and not find(n).applies(snap)}
        out = compute(snap, [n for n in names if n not in skip])
        out.update({n: math.nan for n in skip})
        for q in self.processes:  # a process's own metrics that no readout computes
            out.update({k: v for k, v in q.metrics(self.state).items() if find(k) is None})
        return out
