"""Contacts: each cell's simple pressure and its contacts, counted in one traversal.

Contract:
    * PhysiCell's simple pressure ``p_i = Σ_j (1 − d_ij/R_ij)² / 0.027288`` over the cells
      closer than ``R_ij = r_i + r_j`` (:mod:`invasim.physics.contacts`), dimensionless (≈ 1 in
      a compressed 3-D packing); the same neighbours are the cell's contacts, counted by type,
      live and dead (only when some rule reads them).
    * Signals: ``pressure`` (the value of the last phenotype step, carried by the daughters of
      a division), ``contact with <type>``, ``contact with live cell``,
      ``contact with dead cell`` (counted in this step's traversal when the behaviours are
      filled right after it; from a fresh traversal over the current positions otherwise),
      ``contact with apoptotic cell``, ``contact with necrotic cell`` (one more traversal,
      only when a rule reads them; ``contact with other dead cell`` is always 0: every dead
      cell in invasim is apoptotic or necrotic), ``contact with wall`` (the centre closer to
      a domain wall than the radius; PhysiCell's "contact with BM").
    * ``[params.contacts] contact``: ``"overlap"`` (default: cells closer than ``r_i + r_j``)
      or ``"adhesion"`` (closer than ``s_i r_i + s_j r_j``, PhysiCell's ``state.neighbors``,
      which its contact signals count: the import of a PhysiCell project uses it). Pressure
      always sums the overlapping cells (PhysiCell's simple pressure).
    * Clock: phenotype, first (it senses: the behaviours of the step are filled after it).
    * Metric: ``pressure_max`` (the readout of the ``pressure`` cell column).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.process import ORDER, Process, register_process
from invasim.core.cells import APOPTOTIC, NECROTIC
from invasim.physics.contacts import SIMPLE_PRESSURE_SCALE, contact_kernel
from invasim.processes import _interact
from invasim.rules.dictionary import register_signal

CONTACT_SIGNALS = (
    "contact with {cell_type}", "contact with live cell", "contact with dead cell",
    "contact with apoptotic cell", "contact with necrotic cell", "contact with other dead cell",
    "contact with wall",
)  # fmt: skip

# fmt: off
register_signal("contact with apoptotic cell", "cells",
                "number of apoptotic cells in mechanical contact",
                ("contact with apoptotic cells",), lower=0.0)
register_signal("contact with necrotic cell", "cells",
                "number of necrotic cells in mechanical contact",
                ("contact with necrotic cells",), lower=0.0)
register_signal("contact with other dead cell", "cells",
                "number of dead cells in contact that are neither apoptotic nor necrotic "
                "(always 0 in invasim: every dead cell is one or the other)",
                ("contact with other dead cells",), lower=0.0)
# the domain walls: PhysiCell's "basement membrane" contact (set by its BM functions); invasim's
# basement membrane is a tissue layer of its own, so the walls are "wall", PhysiCell's names
# synonyms (as for "wall adhesion")
register_signal("contact with wall", "0 or 1",
                "1 if the cell touches a domain wall (its centre is closer than its radius)",
                ("contact with basement membrane", "contact with BM"), lower=0.0, upper=1.0)
# fmt: on


def dead_contacts(state) -> np.ndarray:
    """``[n, 3]`` contacts with live, apoptotic and necrotic cells (one more traversal)."""
    c = state.cells
    out = np.zeros((c.n, 5))
    if c.n:
        grid = state.neighbours
        grid.rebuild(c)
        cl = grid.cell_list
        search = min(cl.cutoff, 2.0 * float(c.radius.max()))
        # the death state as the "type": columns 0..2 count live, apoptotic, necrotic contacts
        kind = c.dead.astype(np.int32)
        contact_kernel(c.position, c.radius, kind, c.dead, cl.order, cl.bin_start, cl.nb,
                       cl.w, cl.inv_w, cl.tol, search, True, np.zeros(c.n), out)  # fmt: skip
    return out[:, :3]


def wall_contact(state) -> np.ndarray:
    """``[n]`` 1 where the cell's centre is closer to a domain wall than its radius."""
    c = state.cells
    x = c.position[:, : len(state.extent)]
    gap = np.minimum(x, np.asarray(state.extent) - x).min(axis=1)
    return (gap < c.radius).astype(np.float64)


def pressure_and_contacts(state, counts: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Simple pressure ``[n]`` and, if ``counts``, contacts ``[n, T + 2]`` (float64).

    Contact columns: ``0..T-1`` neighbours in contact of each type (dead or alive), ``T``
    alive, ``T + 1`` dead.
    """
    c = state.cells
    out = np.zeros(c.n)
    contacts = np.zeros((c.n, state.n_types + 2)) if counts else np.zeros((1, 2))
    if c.n:
        grid = state.neighbours
        grid.rebuild(c)
        cl = grid.cell_list
        # overlap needs d < r_i + r_j <= 2 r_max: search no further than that (the grid may be
        # coarser); the sums are bit-identical, only empty candidates are skipped
        search = min(cl.cutoff, 2.0 * float(c.radius.max()))
        contact_kernel(c.position, c.radius, c.type, c.dead, cl.order, cl.bin_start, cl.nb,
                       cl.w, cl.inv_w, cl.tol, search, counts, out, contacts)  # fmt: skip
    return out / SIMPLE_PRESSURE_SCALE, contacts if counts else None


class ContactsParams(BaseModel):
    """``[params.contacts]``: which neighbours count as contacts."""

    model_config = ConfigDict(extra="forbid")

    contact: Literal["overlap", "adhesion"] = Field(
        "overlap",
        description="overlap: cells closer than r_i + r_j (they push each other); adhesion: "
        "closer than s_i r_i + s_j r_j, s the relative maximum adhesion distance "
        "(PhysiCell's state.neighbors, which its contact signals count)",
    )


def adhesion_contacts(state, reach_t: np.ndarray) -> np.ndarray:
    """``[n, T + 4]`` neighbours within adhesion reach.

    Columns: per type, live, dead, apoptotic, necrotic.
    """
    c = state.cells
    t = state.n_types
    out = np.zeros((c.n, t + 4))
    if not c.n:
        return out
    ptr, nbr = _interact.neighbours(state, reach_t)
    rows = np.repeat(np.arange(c.n), np.diff(ptr))
    np.add.at(out, (rows, c.type[nbr]), 1.0)
    dead = c.dead[nbr]
    np.add.at(out, (rows, np.where(dead == 0, t, t + 1)), 1.0)
    kind = np.where(dead == APOPTOTIC, t + 2, np.where(dead == NECROTIC, t + 3, -1))
    keep = kind >= 0
    np.add.at(out, (rows[keep], kind[keep]), 1.0)
    return out


@register_process
class ContactsProcess(Process):
    """Simple pressure and contact counts."""

    name: ClassVar[str] = "contacts"
    title: ClassVar[str] = "simple pressure and contacts of every cell"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["contacts"]
    signals: ClassVar[tuple[str, ...]] = ("pressure", *CONTACT_SIGNALS)
    metric_names: ClassVar[tuple[str, ...]] = ("pressure_max",)
    Params: ClassVar[type[BaseModel]] = ContactsParams
    references: ClassVar[tuple[str, ...]] = (
        "Ghaffarizadeh A et al. (2018) PhysiCell. PLoS Comput Biol 14:e1005991",
    )

    @classmethod
    def neighbour_reach(cls, params: Any) -> float:
        """Adhesion contacts: the interaction reach (the cell list covers it)."""
        return _interact.neighbour_reach(params) if params.contacts.contact == "adhesion" else 1.0

    def setup(self, state) -> None:
        """Count contacts only if some rule reads them (set by the engine)."""
        self.count = getattr(state, "wants", {}).get("contacts", False)
        self.adhesion = self.table.contact == "adhesion"
        self.reach = _interact.type_reach(self.params)

    def step(self, state, dt: float) -> None:
        """Pressure (and contacts) from the current positions."""
        state.pressure, state.contacts = pressure_and_contacts(
            state, self.count and not self.adhesion
        )
        if self.count and self.adhesion:
            state.contacts = adhesion_contacts(state, self.reach)

    def signal_values(self, state, template: str, target: str | None) -> np.ndarray:
        """Pressure, or contact counts (see the module contract)."""
        n = state.cells.n
        if template == "pressure":
            p = state.pressure
            return p if p.shape[0] == n else np.zeros(n)
        if template == "contact with wall":
            return wall_contact(state)
        if template == "contact with other dead cell":
            return np.zeros(n)
        if self.adhesion:
            if state.contacts is None or state.contacts.shape[0] != n:
                state.contacts = adhesion_contacts(state, self.reach)
            if template in ("contact with apoptotic cell", "contact with necrotic cell"):
                return state.contacts[:, state.n_types + (2 if "apoptotic" in template else 3)]
        elif template in ("contact with apoptotic cell", "contact with necrotic cell"):
            return dead_contacts(state)[:, 1 if "apoptotic" in template else 2]
        if state.contacts is None or state.contacts.shape[0] != n:
            state.contacts = pressure_and_contacts(state, True)[1]
        contacts = state.contacts
        if template == "contact with {cell_type}":
            return contacts[:, state.type_names.index(target)]
        if template == "contact with live cell":
            return contacts[:, state.n_types]
        return contacts[:, state.n_types + 1]
