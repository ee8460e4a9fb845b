"""Interventions: a schedule of drugs, resections, cell injections and substrate boluses.

Contract:
    * ``[[params.interventions]]`` is a list of tables, each with a ``kind``:

      - ``scale`` / ``set``: multiply a behaviour by ``value`` or set it to ``value`` (the
        behaviour's unit), in one cell type or in all (``cell_type`` unset), from ``from_min``
        until ``until_min`` (exclusive; unset: to the end). Layer 5 of the behaviour matrix
        (:mod:`invasim.agents.behaviours`): it acts on whatever the earlier layers set, so a
        drug that halves MMP secretion halves the rules' value too. It is on in the phenotype
        steps that start at ``t`` with ``from_min <= t < until_min`` (both of a step's fills).
      - ``drug``: an inhibitor with an onset (``from_min``), a duration (``duration_min``, or
        ``until_min``; unset: to the end) and an effect size ``effect`` (the fraction of the
        targeted activity it removes, 0..1): each target behaviour is multiplied by
        ``1 - effect`` in layer 5, like a ``scale``. ``drug`` names one of :data:`DRUGS`,
        which gives the default targets (``targets`` replaces them): ``mmp_inhibitor``
        (broad-spectrum hydroxamate such as batimastat/marimastat: membrane-type MMP activity,
        ``pericellular proteolysis``, and the catalytic activity of the secreted-MMP fields
        named in ``enzyme_fields``, default ``["mmp"]``: their degradation reactions run at
        ``1 - effect`` of their rate), ``rock_inhibitor`` (Y-27632: ``rock activity`` and
        ``matrix pushing``, the force-mediated matrix displacement) and
        ``anti_pd1`` (nivolumab, pembrolizumab: ``pd-1 expression``, the free PD-1 of the
        killer cells of the cytotoxicity process). Signal blockers act on what the cells sense
        instead: ``tgfb_blockade`` (default field ``tgfb``) and ``csf1r_inhibitor``
        (``csf1``) make the rules of the cells they act on read ``1 - effect`` of the field's
        value and gradient (``signals`` names other fields; :func:`signal_blockade`); the
        processes' own uses of the field (secretion, chemotaxis) are unchanged.
        ``chemotherapy`` kills cycling cells: their ``apoptosis`` rate rises by
        ``-ln(1 - effect) / 1440`` 1/min (``effect``: the fraction of cycling cells killed per
        day of exposure, the log-kill law), for live cells past cycle entry (phase >= 1 of
        their cycle model) or of a type with the one-phase ``live`` model.
        Targets no listed process reads are refused; the defaults that are not read are
        skipped, and a drug none of whose targets is read and none of whose blocked signals
        is a field is refused.
      - ``field``: set (``mode = "set"``) or scale (``"scale"``) a diffusing field's
        ``diffusion_um2_per_min``, ``decay_per_min`` or ``boundary_value`` over a window
        (hypoxia at the far field, a drug that speeds a substrate's clearance); the diffusion
        process rebuilds that field's solver when the window opens and closes.
      - ``remove``: at ``at_min``, remove the cells (of ``cell_type``, or all) whose centre lies
        in ``region`` (a resection).
      - ``add_cells``: at ``at_min``, add cells of ``cell_type`` packed in ``region`` (a ball or
        a box, at ``spacing_um``), with the type's volume.
      - ``bolus``: at ``at_min``, add ``value`` to (``mode = "add"``) or set to ``value``
        (``"set"``) the field ``field`` in ``region`` (voxel centres inside; every voxel if
        unset).

    * One-off events (``remove``, ``add_cells``, ``bolus``) happen at the start of the phenotype
      step that starts at ``at_min``, which must be a whole number of steps; in list order.
      Everything is a function of time and the scenario, so a resumed or branched run applies
      the same schedule.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from invasim.core import initial as placement
from invasim.core.mesh import Mesh


class Region(BaseModel):
    """A region of the domain: a ball (disc in 2-D) or an axis-aligned box, µm."""

    model_config = ConfigDict(extra="forbid")

    shape: Literal["ball", "box"] = Field(description="ball (disc in 2-D) or box")
    centre_um: list[float] | None = Field(None, description="ball: centre [µm]")
    radius_um: float | None = Field(None, gt=0, description="ball: radius [µm]")
    lo_um: list[float] | None = Field(None, description="box: lower corner [µm]")
    hi_um: list[float] | None = Field(None, description="box: upper corner [µm]")

    @model_validator(mode="after")
    def _complete(self) -> Region:
        if self.shape == "ball" and (self.centre_um is None or self.radius_um is None):
            raise ValueError("a ball region needs centre_um and radius_um")
        if self.shape == "box" and (self.lo_um is None or self.hi_um is None):
            raise ValueError("a box region needs lo_um and hi_um")
        return self

    def contains(self, x: np.ndarray, dim: int) -> np.ndarray:
        """``[n]`` bool: which points ``x`` (``[n, >= dim]``, µm) lie inside."""
        x = np.asarray(x, dtype=np.float64)[:, :dim]
        if self.shape == "ball":
            c = np.asarray(self.centre_um, dtype=np.float64)
            return np.sum((x - c) ** 2, axis=1) <= self.radius_um**2
        lo, hi = np.asarray(self.lo_um), np.asarray(self.hi_um)
        return np.all((x >= lo) & (x <= hi), axis=1)

    def dims(self) -> int | None:
        """How many coordinates the region gives."""
        return len(self.centre_um if self.shape == "ball" else self.lo_um)


class _Timed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", description="a name for plots and the report (e.g. 'MMP inhibitor')")


class _Window:
    """The time window of an intervention with ``from_min`` and ``until_min`` (None: open).

    A mixin: each class declares the two fields itself (their descriptions and their place in
    the table differ; annotations here would make them pydantic fields and move them to the
    front) and calls :meth:`_check_window` in its validator.
    """

    def _check_window(self) -> None:
        if self.until_min is not None and not self.until_min > self.from_min:
            raise ValueError("until_min must exceed from_min")

    def window(self) -> tuple[float, float | None]:
        """``(start, end)`` of the intervention, min (end None: open)."""
        return self.from_min, self.until_min

    def on(self, t_min: float) -> bool:
        """Whether it is on in the phenotype step that starts at ``t_min``."""
        return self.from_min <= t_min and (self.until_min is None or t_min < self.until_min)


class ChangeBehaviour(_Window, _Timed):
    """Scale or set a behaviour over a time window (a drug)."""

    kind: Literal["scale", "set"] = Field(description="multiply by value, or set to value")
    behaviour: str = Field(description="a behaviour the listed processes read (rules name)")
    value: float = Field(description="the factor [1] or the value [the behaviour's unit]")
    cell_type: str | None = Field(None, description="the cell type; unset: every type")
    from_min: float = Field(0.0, ge=0, description="start [min]")
    until_min: float | None = Field(None, description="end [min] (exclusive); unset: never")

    @model_validator(mode="after")
    def _window(self) -> ChangeBehaviour:
        self._check_window()
        if self.kind == "scale" and self.value < 0:
            raise ValueError("a scale factor must be >= 0")
        return self


#: the drugs a ``drug`` intervention may name: default target behaviours, and whether it
#: also inhibits the secreted enzymes' catalytic activity (``enzyme_fields``)
DRUGS: dict[str, dict[str, Any]] = {
    "mmp_inhibitor": {
        "targets": ("pericellular proteolysis",),
        "enzymes": True,
        "signals": (),
        "what": "broad-spectrum MMP inhibitor (batimastat, marimastat): membrane-type and "
        "secreted MMP activity",
    },
    "rock_inhibitor": {
        "targets": ("rock activity", "matrix pushing"),
        "enzymes": False,
        "signals": (),
        "what": "ROCK inhibitor (Y-27632): Rho kinase activity and the actomyosin force that "
        "pushes matrix aside",
    },
    "anti_pd1": {
        "targets": ("pd-1 expression",),
        "enzymes": False,
        "signals": (),
        "what": "anti-PD-1 antibody (nivolumab, pembrolizumab): blocks PD-1 on killer cells, "
        "so PD-L1 engages less of it (less checkpoint inhibition of killing, less exhaustion)",
    },
    "tgfb_blockade": {
        "targets": (),
        "enzymes": False,
        "signals": ("tgfb",),
        "what": "TGF-beta blockade (neutralising antibody such as fresolimumab, or a receptor "
        "kinase inhibitor such as galunisertib): the cells sense 1 - effect of the tgfb field",
    },
    "csf1r_inhibitor": {
        "targets": (),
        "enzymes": False,
        "signals": ("csf1",),
        "what": "CSF-1R inhibitor (pexidartinib/PLX3397, emactuzumab): the cells sense 1 - "
        "effect of the csf1 field (macrophage survival and M2 polarisation that read it fall)",
    },
    "chemotherapy": {
        "targets": ("apoptosis",),
        "enzymes": False,
        "signals": (),
        "cycling_kill": True,
        "what": "cytotoxic chemotherapy: kills cycling cells; effect = the fraction of cycling "
        "cells killed per day of exposure (log-kill, Skipper et al. 1964)",
    },
}
#: a day, min (the chemotherapy's effect is a kill fraction per day)
DAY_MIN = 1440.0


class Drug(_Window, _Timed):
    """An inhibitor: removes a fraction of its targets' activity over a time window."""

    kind: Literal["drug"]
    drug: str = Field(description=f"which drug: {', '.join(DRUGS)}")
    effect: float = Field(
        ge=0, le=1, description="effect size: the fraction of the targeted activity removed [1]"
    )
    from_min: float = Field(0.0, ge=0, description="onset [min]")
    duration_min: float | None = Field(None, gt=0, description="duration [min]; unset: to the end")
    until_min: float | None = Field(None, description="end [min] (exclusive), instead of duration")
    targets: list[str] | None = Field(
        None, description="the behaviours it scales by 1 - effect; unset: the drug's defaults"
    )
    enzyme_fields: list[str] | None = Field(
        None, description="mmp_inhibitor: diffusing MMP fields whose degradation reactions it "
        "slows by 1 - effect; unset: ['mmp'] where that field exists",
    )  # fmt: skip
    signals: list[str] | None = Field(
        None, description="fields whose sensing it blocks: the rules of the cells it acts on "
        "read 1 - effect of their value and gradient; unset: the drug's defaults (tgfb_blockade "
        "['tgfb'], csf1r_inhibitor ['csf1'], where those fields exist)",
    )  # fmt: skip
    cell_type: str | None = Field(None, description="the cell type; unset: every type")

    @model_validator(mode="after")
    def _window(self) -> Drug:
        if self.drug not in DRUGS:
            raise ValueError(f"drug {self.drug!r} is unknown; known: {', '.join(DRUGS)}")
        if self.duration_min is not None and self.until_min is not None:
            raise ValueError("give duration_min or until_min, not both")
        if self.duration_min is not None:
            self.until_min = self.from_min + self.duration_min
            self.duration_min = None
        self._check_window()
        if self.enzyme_fields is not None and not DRUGS[self.drug]["enzymes"]:
            raise ValueError(f"enzyme_fields applies to an enzyme inhibitor, not {self.drug}")
        if self.cycling_kill and self.targets is not None:
            raise ValueError("chemotherapy acts on the apoptosis of cycling cells; it takes no "
                             "targets")
        return self

    @property
    def cycling_kill(self) -> bool:
        """Whether it kills cycling cells (chemotherapy) instead of scaling its targets."""
        return bool(DRUGS[self.drug].get("cycling_kill", False))

    def kill_rate(self) -> float:
        """Chemotherapy: the apoptosis rate it adds to cycling cells, 1/min (``effect`` per day)."""
        return -math.log1p(-min(self.effect, 1.0 - 1e-12)) / DAY_MIN

    def target_behaviours(self, names: set[str]) -> list[str]:
        """The behaviours it scales: ``targets``, or the defaults that ``names`` holds."""
        if self.targets is not None:
            return list(self.targets)
        return [b for b in DRUGS[self.drug]["targets"] if b in names]

    def blocked_signals(self, fields: Any) -> list[str]:
        """The fields whose sensing it blocks: ``signals``, or the defaults that are fields."""
        if self.signals is not None:
            return list(self.signals)
        return [f for f in DRUGS[self.drug]["signals"] if f in fields]

    def enzymes(self, fields: Any) -> list[str]:
        """The diffusing fields whose catalytic activity it inhibits."""
        if not DRUGS[self.drug]["enzymes"]:
            return []
        if self.enzyme_fields is not None:
            return list(self.enzyme_fields)
        return ["mmp"] if "mmp" in fields else []


def enzyme_activity(interventions: list, field: str, t_min: float) -> float:
    """The fraction of ``field``'s catalytic activity left by the drugs on at ``t_min``.

    The product of ``1 - effect`` over the ``drug`` interventions that inhibit ``field`` (an
    MMP inhibitor's ``enzyme_fields``) and are on in the phenotype step starting at ``t_min``;
    the matrix-degradation reactions of that enzyme run at this fraction of their rate.
    """
    out = 1.0
    for x in interventions:
        if isinstance(x, Drug) and x.on(t_min) and field in x.enzymes([field]):
            out *= 1.0 - x.effect
    return out


class ChangeField(_Window, _Timed):
    """Set or scale a diffusing field's parameter over a time window."""

    kind: Literal["field"]
    field: str = Field(description="a diffusing field")
    parameter: Literal["diffusion_um2_per_min", "decay_per_min", "boundary_value"] = Field(
        description="which parameter [its unit: µm²/min, 1/min, the field's unit]"
    )
    mode: Literal["set", "scale"] = Field("set", description="set to value, or multiply by it")
    value: float = Field(ge=0, description="the value, or the factor")
    from_min: float = Field(0.0, ge=0, description="start [min]")
    until_min: float | None = Field(None, description="end [min] (exclusive); unset: never")

    @model_validator(mode="after")
    def _window(self) -> ChangeField:
        self._check_window()
        return self


def field_parameters(interventions: list, name: str, spec: Any, t_min: float) -> dict:
    """The diffusing field ``name``'s ``D``, decay and boundary value in the step at ``t_min``.

    ``spec``: its :class:`~invasim.agents.fields.DiffusingField`; the interventions of kind
    ``field`` that are on apply in list order.
    """
    out = {k: float(getattr(spec, k))
           for k in ("diffusion_um2_per_min", "decay_per_min", "boundary_value")}  # fmt: skip
    for iv in interventions:
        if isinstance(iv, ChangeField) and iv.field == name and iv.on(t_min):
            out[iv.parameter] = iv.value if iv.mode == "set" else out[iv.parameter] * iv.value
    return out


class _Event(_Timed):
    at_min: float = Field(ge=0, description="when [min]: the start of a phenotype step")

    def window(self) -> tuple[float, float | None]:
        """``(at, at)``: an instant."""
        return self.at_min, self.at_min


class RemoveCells(_Event):
    """Remove the cells in a region (a resection)."""

    kind: Literal["remove"]
    region: Region = Field(description="where")
    cell_type: str | None = Field(None, description="only this type; unset: every type")


class AddCells(_Event):
    """Add packed cells of one type in a region."""

    kind: Literal["add_cells"]
    region: Region = Field(description="where (ball or box)")
    cell_type: str = Field(description="their type")
    spacing_um: float = Field(16.0, gt=0, description="lattice spacing [µm]")


class Bolus(_Event):
    """Add to or set a field in a region."""

    kind: Literal["bolus"]
    field: str = Field(description="the field")
    value: float = Field(description="amount added, or the value set [the field's unit]")
    mode: Literal["add", "set"] = Field("add", description="add value, or set to value")
    region: Region | None = Field(None, description="where; unset: the whole domain")


Intervention = Annotated[
    ChangeBehaviour | Drug | ChangeField | RemoveCells | AddCells | Bolus,
    Field(discriminator="kind"),
]


def check(interventions: list, params: Any, mesh: Mesh, dt: float, names: set[str]) -> list[str]:
    """Problems of a schedule: unknown types, fields or behaviours, off-step times, regions.

    ``names``: canonical names of the behaviours the listed processes read.
    """
    problems = []
    types = list(params.cell_types)
    for i, iv in enumerate(interventions):
        key = f"params.interventions[{i}]"
        ct = getattr(iv, "cell_type", None)
        if ct is not None and ct not in types:
            problems.append(f"{key}.cell_type = {ct!r} is not a cell type; known: {types}")
        if isinstance(iv, ChangeBehaviour) and iv.behaviour not in names:
            problems.append(
                f"{key}.behaviour = {iv.behaviour!r} is not read by the listed processes; "
                f"they read: {', '.join(sorted(names))}"
            )
        if isinstance(iv, Drug):
            problems += _check_drug(iv, key, params, names)
        if isinstance(iv, ChangeField):
            spec = params.fields.get(iv.field)
            if spec is None or spec.kind != "diffusing":
                diffusing = [k for k, f in params.fields.items() if f.kind == "diffusing"]
                problems.append(
                    f"{key}.field = {iv.field!r} is not a diffusing field; diffusing fields: "
                    f"{', '.join(diffusing)}"
                )
        if isinstance(iv, Bolus) and iv.field not in params.fields:
            problems.append(
                f"{key}.field = {iv.field!r} is not a field; fields: {', '.join(params.fields)}"
            )
        if isinstance(iv, _Event):
            k = iv.at_min / dt
            if abs(k - round(k)) > 1e-9 * max(1.0, k):
                problems.append(
                    f"{key}.at_min = {iv.at_min:g} is not a whole number of phenotype steps "
                    f"(time.dt_min = {dt:g})"
                )
        region = getattr(iv, "region", None)
        if region is not None and region.dims() != mesh.dim:
            problems.append(f"{key}.region needs {mesh.dim} coordinates per point")
    return problems


def _check_drug(iv: Drug, key: str, params: Any, names: set[str]) -> list[str]:
    """Problems of one drug: targets no listed process reads, enzymes that are not fields."""
    out = []
    if iv.targets is not None:
        out += [f"{key}.targets names {b!r}, which the listed processes do not read; they "
                f"read: {', '.join(sorted(names))}" for b in iv.targets if b not in names]
    enzymes = iv.enzymes(params.fields)
    diffusing = [k for k, f in params.fields.items() if f.kind == "diffusing"]
    out += [f"{key}.enzyme_fields names {f!r}, which is not a diffusing field; diffusing "
            f"fields: {', '.join(diffusing)}" for f in enzymes if f not in diffusing]
    blocked = iv.blocked_signals(params.fields)
    out += [f"{key}.signals names {f!r}, which is not a field; fields: "
            f"{', '.join(params.fields) or 'none'}" for f in blocked if f not in params.fields]
    if not out and not iv.target_behaviours(names) and not enzymes and not blocked:
        d = DRUGS[iv.drug]
        wanted = ", ".join((*d["targets"], *(f"the {f} field" for f in d["signals"])))
        out.append(f"{key}: {iv.drug} acts on {wanted}, which no listed process reads (nor a "
                   "field of the scenario); add the process or field, or name its targets or "
                   "signals")
    return out  # fmt: skip


def changes_behaviours(interventions: list) -> bool:
    """Whether some intervention acts on behaviours (so layer 5 is needed)."""
    return any(isinstance(x, (ChangeBehaviour, Drug)) for x in interventions)


def changed_behaviours(interventions: list, names: set[str]) -> set[str]:
    """The behaviours some intervention may change (``names``: those the processes read)."""
    out = {x.behaviour for x in interventions if isinstance(x, ChangeBehaviour)}
    for x in interventions:
        if isinstance(x, Drug):
            out |= set(x.target_behaviours(names))
    return out


def behaviour_layer(interventions: list, type_names: list[str], live_types=()):
    """Layer 5 of the behaviour matrix: the scheduled ``scale``/``set`` changes and drugs.

    ``live_types``: indices of the cell types whose cycle model is ``live`` (one phase: every
    live cell cycles), for the chemotherapy's cycling cells.
    """
    changes = [iv for iv in interventions if isinstance(iv, ChangeBehaviour | Drug)]
    live = np.asarray(list(live_types), dtype=np.int64)

    def layer(state, beh, columns, t_min: float) -> None:
        wanted = {beh.names[k] for k in columns}
        start = state.step_start  # the window is judged at the step's start, for both fills
        for iv in changes:
            if not iv.on(start):
                continue
            if iv.kind == "drug" and iv.cycling_kill:
                todo = [("apoptosis", "cycling", iv.kill_rate())] if "apoptosis" in wanted else []
            elif iv.kind == "drug":
                todo = [(b, "scale", 1.0 - iv.effect) for b in iv.target_behaviours(wanted)
                        if b in wanted]  # fmt: skip
            elif iv.behaviour in wanted:
                todo = [(iv.behaviour, iv.kind, iv.value)]
            else:
                continue
            if iv.cell_type is None:
                sel = slice(None)
            else:
                sel = state.cells.type == type_names.index(iv.cell_type)
            for name, kind, value in todo:
                col = beh.column(name)
                if kind == "scale":
                    col[sel] *= value
                elif kind == "cycling":  # past cycle entry (phase >= 1), or a live-model cell
                    c = state.cells
                    cycling = (c.phase >= 1) | np.isin(c.type, live)
                    mask = cycling & (c.dead == 0)
                    if iv.cell_type is not None:
                        mask &= sel
                    col[mask] += value
                else:
                    col[sel] = value

    return layer


def blocks_signals(interventions: list, fields: Any) -> bool:
    """Whether some drug blocks the sensing of a field (the rules layer then applies it)."""
    return any(isinstance(x, Drug) and x.blocked_signals(fields) for x in interventions)


def signal_blockade(interventions: list, fields: Any, type_names: list[str]):
    """``blockade(state, field) -> [n] factor or None``: what the drugs on leave of a signal.

    The product of ``1 - effect`` over the drugs on at the step's start that block ``field``,
    in the cells of their ``cell_type`` (1 elsewhere); None when none blocks it.
    """
    drugs = [(iv, set(iv.blocked_signals(fields))) for iv in interventions
             if isinstance(iv, Drug) and iv.blocked_signals(fields)]  # fmt: skip

    def blockade(state, field: str):
        out = None
        for iv, blocked in drugs:
            if field not in blocked or not iv.on(state.step_start):
                continue
            if out is None:
                out = np.ones(state.cells.n)
            if iv.cell_type is None:
                out *= 1.0 - iv.effect
            else:
                out[state.cells.type == type_names.index(iv.cell_type)] *= 1.0 - iv.effect
        return out

    return blockade


def apply_events(interventions: list, state: Any, params: Any, t_min: float) -> bool:
    """Apply the one-off events due at ``t_min`` (a step start); True if cells changed."""
    changed = False
    dim = state.mesh.dim
    for iv in interventions:
        if not isinstance(iv, _Event) or abs(iv.at_min - t_min) > 1e-9 * max(1.0, t_min):
            continue
        c = state.cells
        if isinstance(iv, RemoveCells):
            mask = iv.region.contains(c.position, dim)
            if iv.cell_type is not None:
                mask &= c.type == state.type_names.index(iv.cell_type)
            if mask.any():
                state.remove(mask)
                changed = True
        elif isinstance(iv, AddCells):
            r = iv.region
            if r.shape == "ball":
                pos = placement.ball(dim, iv.spacing_um, r.centre_um, radius=r.radius_um)
            else:
                pos = placement.layer(dim, iv.spacing_um, r.lo_um, r.hi_um)
            inside = np.all((pos[:, :dim] >= 0) & (pos[:, :dim] <= state.extent), axis=1)
            pos = pos[inside]
            state.add_cells(pos, state.type_names.index(iv.cell_type),
                            params.cell_types[iv.cell_type].volume.volume_um3,
                            params.trait_specs())  # fmt: skip
            changed = changed or pos.shape[0] > 0
        elif isinstance(iv, Bolus):
            u = state.fields[iv.field]
            if iv.region is None:
                where = np.ones(u.shape, dtype=bool)
            else:
                x, y, z = state.mesh.grids()
                pts = np.stack([np.broadcast_to(a, u.shape).ravel() for a in (x, y, z)], axis=1)
                where = iv.region.contains(pts, dim).reshape(u.shape)
            if iv.mode == "add":
                u[where] += iv.value
            else:
                u[where] = iv.value
    return changed
