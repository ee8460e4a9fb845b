"""Matrix degradation: an enzyme field degrades a matrix field; the lost amount may reappear.

The worked example of docs/agents.md ("Writing a process"): one module, one scenario entry.

Contract:
    * Per voxel, ``∂m/∂t = −k e m``: the matrix ``m`` (e.g. ECM density) is degraded by the
      enzyme ``e`` (e.g. an MMP field secreted by the cells) at ``k`` per enzyme unit per
      minute. Over a phenotype step ``dt`` the enzyme is held fixed and the update is exact,
      ``m ← m exp(−k e dt)``: never negative, whatever ``dt``.
    * With a ``product`` (e.g. laminin-5 fragments), ``p ← p + s (m_before − m_after)``:
      stoichiometry ``s = 1`` conserves ``m + p`` voxel by voxel.
    * ``[params.matrix_degradation]``: ``reactions``, a list of tables ``{matrix, enzyme,
      rate_per_unit_per_min, product, stoichiometry, source}`` applied in order (``source``:
      where the rate comes from, kept with the scenario).
    * An MMP inhibitor (``[[params.interventions]] kind = "drug"``, ``mmp_inhibitor``) that
      names the enzyme (its ``enzyme_fields``, default ``["mmp"]``) multiplies ``k`` by
      ``1 − effect`` in the phenotype steps it is on
      (:func:`~invasim.agents.interventions.enzyme_activity`); no drug: ``k`` unchanged.
    * An optional ``resistance = { field = "crosslink", strength = r }`` on a reaction makes
      the matrix resist it voxel by voxel: ``k → k (1 − r c_v)``, ``c`` the named field
      clipped to [0, 1] (cross-linked collagen resists MMPs; the crosslinking process makes
      ``c``). Absent: the results are those without it, bit for bit.
    * Clock: phenotype, after the cell-life processes (the enzyme is that of the step's end).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.agents.fields import cleave, degrade
from invasim.agents.interventions import enzyme_activity
from invasim.agents.process import ORDER, Process, register_process
from invasim.core.mesh import Mesh
from invasim.processes.proteolysis import Resistance, resistance_problems


class Reaction(BaseModel):
    """One degradation reaction."""

    model_config = ConfigDict(extra="forbid")

    matrix: str = Field(description="the degraded field (a matrix or diffusing field)")
    enzyme: str = Field(description="the field that degrades it")
    rate_per_unit_per_min: float = Field(
        ge=0, description="k: degradation rate per unit of enzyme [1/(enzyme unit · min)]"
    )
    product: str | None = Field(None, description="field receiving the lost amount; None: none")
    stoichiometry: float = Field(
        1.0, ge=0, description="product made per unit of matrix lost [product unit / matrix unit]"
    )
    source: str = Field(
        "", description="where the rate comes from (a paper, a derivation); documentation only"
    )
    resistance: Resistance | None = Field(
        None, description="optional: { field = 'crosslink', strength = r } multiplies k by "
        "1 − r c in each voxel (c the field, clipped to [0, 1]); None: unchanged",
    )  # fmt: skip


class MatrixDegradationParams(BaseModel):
    """``[params.matrix_degradation]``."""

    model_config = ConfigDict(extra="forbid")

    reactions: list[Reaction] = Field(default_factory=list, description="reactions, in order")


@register_process
class MatrixDegradation(Process):
    """An enzyme field degrades a matrix field."""

    name: ClassVar[str] = "matrix_degradation"
    title: ClassVar[str] = "enzymes degrade matrix fields (exact per voxel)"
    clock: ClassVar[str] = "phenotype"
    order: ClassVar[float] = ORDER["phenotype"]["matrix_degradation"]
    Params: ClassVar[type[BaseModel]] = MatrixDegradationParams

    @classmethod
    def check(cls, params: Any, mesh: Mesh, dt: float) -> list[str]:
        """Every field a reaction names exists."""
        problems = []
        for i, r in enumerate(params.matrix_degradation.reactions):
            for key in ("matrix", "enzyme", "product"):
                name = getattr(r, key)
                if name is not None and name not in params.fields:
                    problems.append(
                        f"params.matrix_degradation.reactions[{i}].{key} = {name!r} is not a "
                        f"field; fields: {', '.join(params.fields)}"
                    )
            if r.resistance is not None:
                problems += resistance_problems(
                    params, f"params.matrix_degradation.reactions[{i}].resistance", r.resistance
                )
        return problems

    def step(self, state, dt: float) -> None:
        """Each reaction over the phenotype step, in order."""
        f = state.fields
        drugs = self.params.interventions
        for r in self.table.reactions:
            k = r.rate_per_unit_per_min
            if drugs:
                k *= enzyme_activity(drugs, r.enzyme, state.step_start)
            enzyme = f[r.enzyme]
            if r.resistance is not None:  # the effective enzyme e (1 − r c), per voxel
                c = np.clip(f[r.resistance.field], 0.0, 1.0)
                enzyme = enzyme * (1.0 - r.resistance.strength * c)
            if r.product is None:
                degrade(f[r.matrix], enzyme, k, dt)
            else:
                cleave(f[r.matrix], enzyme, f[r.product], k, dt, r.stoichiometry)
