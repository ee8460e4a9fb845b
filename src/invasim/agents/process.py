"""The process interface and its registry: what one mechanism of the agent engine declares.

Contract:
    * A process is one module under :mod:`invasim.processes` with one :class:`Process`
      subclass, registered with :func:`register_process`. It declares

      - ``name`` (as written in a scenario's ``processes`` list) and ``title``;
      - ``clock``: ``"diffusion"`` (every ``dt_diffusion_min``), ``"mechanics"`` (every
        ``dt_mechanics_min``) or ``"phenotype"`` (every ``time.dt_min``), and ``order``, its
        place on that clock (the engine sorts by it; see :data:`ORDER`);
      - ``Params``: the schema of its scenario table ``[params.<name>]`` (or None), and
        ``CellParams``: the schema of each cell type's sub-table
        ``[params.cell_types.<type>.<name>]`` (or None) — PhysiCell's phenotype split;
      - ``signals``: the rules-dictionary signal templates it computes (with
        :meth:`signal_values`), and ``behaviours``: the behaviour templates it reads from the
        behaviour matrix; :meth:`base_behaviours` gives each cell type's value of those;
      - ``requires``: other processes it needs in the scenario;
      - ``writes``: behaviours it sets from per-cell internal state
        (:meth:`internal_behaviours`, layer 3 of the behaviour matrix);
      - ``references``: the papers behind it.

    * Life cycle: the engine builds it with the validated params (:meth:`__init__`), calls
      :meth:`setup` once the initial cells and fields exist, then :meth:`step` on its clock. A
      process reads and writes the :class:`~invasim.agents.state.AgentState` only; it never
      reaches into another process. State that must survive a checkpoint lives in the state.
    * :meth:`check` (a class method) returns one line per problem that makes the scenario
      unusable (a time step beyond a stability limit ...), before anything runs.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel

from invasim.core.mesh import Mesh

if TYPE_CHECKING:  # pragma: no cover
    from invasim.agents.state import AgentState

CLOCKS = ("diffusion", "mechanics", "phenotype")
#: relative tolerance of :func:`whole_steps`
WHOLE_TOLERANCE = 1e-9


def whole_steps(a: float, b: float) -> int | None:
    """``a / b`` if it is a whole number (>= 1), else None: steps of ``b`` in a step of ``a``."""
    k = a / b
    r = round(k)
    return int(r) if r >= 1 and abs(k - r) <= WHOLE_TOLERANCE * max(1.0, k) else None

#: the documented order of the built-in processes on each clock (lower runs first)
ORDER = {
    "diffusion": {"secretion": 10, "vessels": 14, "tissue_supply": 15, "diffusion": 20},
    "mechanics": {
        "mechanics": 10, "motility": 20, "ecm": 22, "attachments": 25, "basement_membrane": 27,
        "phagocytosis": 30, "attack": 40, "fusion": 50,
    },
    "phenotype": {
        "contacts": 10, "custom_data": 20, "volume": 110, "damage": 115, "cytotoxicity": 117,
        "death": 120, "cycle": 130, "division": 140, "transformation": 150, "recruitment": 160,
        "vessel_recruitment": 161, "intravasation": 170, "body": 175,
        "rho_gtpase": 60,
        "matrix_degradation": 200, "proteolysis": 210, "ecm_remodelling": 220,
        "matrix_displacement": 215, "crosslinking": 225,
        "basement_membrane_breach": 230,
    },  # fmt: skip
}
#: phenotype processes with an order below this run before the behaviour matrix is filled
#: (they sense: pressure, contacts), the others after it (they act on the behaviours)
SENSE_BEFORE = 100


class Process:
    """Base class of a process; subclasses set the class variables and override the hooks."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    clock: ClassVar[str]
    order: ClassVar[float]
    Params: ClassVar[type[BaseModel] | None] = None
    CellParams: ClassVar[type[BaseModel] | None] = None
    signals: ClassVar[tuple[str, ...]] = ()
    behaviours: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[str, ...]] = ()
    metric_names: ClassVar[tuple[str, ...]] = ()
    #: keys of ``CellParams`` that are tables keyed by field names (checked against the fields)
    field_keyed: ClassVar[tuple[str, ...]] = ()
    #: behaviours (canonical names or templates) this process writes in layer 3
    writes: ClassVar[tuple[str, ...]] = ()
    references: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Any) -> None:
        """``params``: the validated scenario params (:class:`~invasim.agents.params.AgentParams`).

        Attributes set: ``self.params`` (the whole scenario params), ``self.table`` (this
        process's own ``[params.<name>]`` table or None) and ``self.cell_tables`` (this
        process's sub-table of every cell type, in type order, or an empty list).
        """
        self.params = params
        self.table = getattr(params, self.name, None) if self.Params is not None else None
        self.cell_tables = (
            [getattr(ct, self.name) for ct in params.cell_types.values()]
            if self.CellParams is not None
            else []
        )

    # -- static ------------------------------------------------------------------------------
    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Problems that make the scenario unusable for this process (one line each)."""
        return []

    @classmethod
    def base_behaviours(cls, cell: BaseModel, params: Any) -> dict[str, float]:
        """The cell type's value of each behaviour this process reads (canonical names).

        ``cell`` is the cell type's whole table (all processes' sub-tables).
        """
        return {}

    # -- dynamics ----------------------------------------------------------------------------
    def setup(self, state: AgentState) -> None:
        """Called once the initial cells and fields exist (and after a restore)."""

    def step(self, state: AgentState, dt: float) -> None:
        """Advance this process by ``dt`` minutes (its clock's step)."""

    def bind(self, state: AgentState, first: bool) -> None:
        """Diffusion-clock processes: follow the cells after they moved.

        Called at the start of every mechanics step, before its diffusion steps; ``first`` on
        the first mechanics step of a phenotype step (volumes and behaviours changed then).
        """

    def internal_behaviours(self, state: AgentState, behaviours: Any) -> None:
        """Write behaviours from this process's per-cell internal state (layer 3).

        E.g. a Rac/Rho network setting ``migration speed``. Declare the behaviours written in
        :attr:`writes`; the engine calls this in every fill whose phase includes one of them.
        """

    def type_behaviours(self, state: AgentState, behaviours: Any) -> None:
        """Write the cell types' environment-dependent values of this process's behaviours.

        Layer 1 of the behaviour matrix (:mod:`invasim.agents.behaviours`), after the types'
        constant values; e.g. PhysiCell's oxygen dependence of cycle entry and necrosis.
        Called only when the phase being filled includes this process's behaviours.
        """

    def signal_values(self, state: AgentState, template: str, target: str | None) -> np.ndarray:
        """``[n]`` values of one of this process's signals.

        ``template`` is the signal's template, expanded for ``target`` (a field or cell type
        name, or None).
        """
        raise NotImplementedError(f"process {self.name} computes no signal {template!r}")

    def metrics(self, state: AgentState) -> dict[str, float]:
        """Scalar readouts this process reports (added to metrics.csv)."""
        return {}

    def tables(self, state: AgentState) -> dict[str, Any]:
        """Tables this process keeps, written with each snapshot beside the cells table.

        ``{name: pandas DataFrame}`` (e.g. an events table); none by default.
        """
        return {}

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        """What this process keeps beyond the state, for a checkpoint (none by default).

        Keys must start with ``<name>__`` (the process's name).
        """
        return {}

    def restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Take back :meth:`checkpoint_arrays` (the keys of this process; may be empty)."""


REGISTRY: dict[str, type[Process]] = {}


def unknown_cell_types(params: Any, cell_type: str, key: str, named) -> list[str]:
    """One line per name in ``named`` that is not a cell type of ``params``.

    ``named`` is what the sub-table entry ``key`` of ``cell_type`` names (a table keyed by
    cell type, e.g. ``"attack.rates_per_min"``); for :meth:`Process.check`.
    """
    types = list(params.cell_types)
    return [
        f"params.cell_types.{cell_type}.{key} names {t!r}, which is not a cell type; cell "
        f"types: {', '.join(types)}"
        for t in named if t not in types
    ]  # fmt: skip


def register_process(cls: type[Process]) -> type[Process]:
    """Class decorator adding a process to :data:`REGISTRY` under ``cls.name``."""
    if cls.clock not in CLOCKS:
        raise ValueError(f"process {cls.name}: clock must be one of {CLOCKS}, got {cls.clock!r}")
    REGISTRY[cls.name] = cls
    return cls


def get_process(name: str) -> type[Process]:
    """A registered process by name; ``KeyError`` with the nearest name and the known ones.

    The built-in processes register when :mod:`invasim.processes` is imported (the agent
    model does that).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        hint = difflib.get_close_matches(name, list(REGISTRY), n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise KeyError(
            f"unknown process {name!r}; {did}known: {', '.join(sorted(REGISTRY))}"
        ) from None

