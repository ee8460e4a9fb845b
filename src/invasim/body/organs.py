"""The organ table of the body model and the routing of circulating tumour cells between organs.

Contract:
    * An :class:`Organ` is one capillary bed: its share of the cardiac output (arterial flow),
      the bed its venous blood drains to (``drains_to``), the probability that a circulating
      tumour cell (CTC) passing through it arrests there, whether it is vital and the tumour
      burden at which it fails, and the colonisation constants of its "soil" (extravasation,
      fates of extravasated cells, growth factor: Paget's seed and soil).
    * Routing rules (ICRP Publication 89 circulation, model reference §8):

      - ``drains_to = "arterial"`` (the lungs): the blood leaving the bed is arterial and goes
        to every organ ``j`` with probability ``flow_share_j / Σ flow_share`` (the shares of
        the cardiac output; the lungs have share 0 because they receive ALL the venous
        return, not a share of the arterial flow);
      - ``drains_to = "<organ>"``: the blood goes to that organ's bed next: the gut (with
        spleen, pancreas and stomach) drains through the portal vein to the liver; every
        other organ, and the lymph nodes (thoracic duct → subclavian vein), drain to the
        venous return, i.e. the lungs;
      - a CTC is shed into the outflow of the organ that holds its source: a primary or a
        colony in the gut enters the liver first (portal), one in the breast or any other
        systemic organ enters the lungs first, one in the lungs enters the arterial blood;
        with :attr:`~invasim.body.patient.BodyParams.lymph_fraction` a CTC of the primary
        goes to the regional lymph node first (then on to the venous blood).
    * :func:`route_matrix` gives ``R[i, j]``, the probability that blood leaving bed ``i``
      enters bed ``j`` next (each row sums to 1); :func:`entry_vector` the first bed of a CTC
      shed by a source in a given organ (the row of its outflow).
    * :func:`default_organs` is the table of the model reference (cardiac-output shares ICRP
      89: liver 6.5 % hepatic artery + the portal 19 % through the gut, kidneys 19 %, brain
      12 %, muscle 17 %, bone 5 %, skin 5 %, adipose 5 %, heart 4 %; "other" holds the
      remaining 7.5 % so the shares sum to 1; breast and lymph node have share 0: they are
      entered only by their own drainage). Failure burdens and per-pass arrest
      probabilities are stated-illustrative values (see each field).
    * :func:`one_organ` is the collapsed body of the Iwata limit: one bed that drains to the
      arterial blood, share 1, so a CTC returns to it until it arrests.
    * Pure functions of the table; no state.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from invasim.errors import ConfigError

#: the drainage keyword of a bed whose outflow is arterial blood (the lungs)
ARTERIAL = "arterial"
_ICRP = ("ICRP Publication 89 (2002) cardiac-output shares, as in public PBPK models (model "
         "reference §8)")  # fmt: skip
_ILL = "stated-illustrative value (no source fits a generic human tumour)"
#: Luzzi et al. 1998 (Am J Pathol 153:865): ~83 % of cells injected into the mesenteric vein
#: had extravasated into the mouse liver by day 3 (Koop et al. 1995, Cancer Res 55:2520: > 80 %)
EXTRAVASATION_LUZZI = 0.83


class Organ(BaseModel):
    """One capillary bed of the body: flow, drainage, arrest, failure and soil."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="organ name (unique in the table)")
    flow_share: float = Field(
        ge=0, le=1, description="share of the cardiac output reaching this bed by arterial blood "
        f"[1]; 0 for the lungs (all the venous return) and organs entered only by drainage; {_ICRP}"
    )  # fmt: skip
    drains_to: str = Field(
        description="where the bed's outflow goes: 'arterial' (the lungs) or the name of the "
        "next bed ('liver' for the gut: portal vein; 'lungs' for the venous return)"
    )
    arrest_prob: float = Field(
        0.05, ge=0, le=1, description="probability that a single CTC passing through the bed "
        "arrests there (size restriction in capillaries, adhesion) [1/pass]; " + _ILL + ": with "
        "a 0.5 min transit and a 1.5 h half-life, 0.05 lets ~90 % of CTCs arrest before dying"
    )  # fmt: skip
    vital: bool = Field(False, description="its failure kills (organ failure)")
    failure_cells: float = Field(
        float("inf"), gt=0, description="tumour burden in the organ at which a vital organ fails "
        "[cells]; inf: never; " + _ILL
    )  # fmt: skip
    soil_factor: float = Field(
        1.0, gt=0, description="seed-soil growth factor [1]: scales the Gompertz rate a of "
        "colonies in this organ (Paget 1889); 1 is neutral; " + _ILL
    )  # fmt: skip
    extravasation_prob: float = Field(
        EXTRAVASATION_LUZZI, ge=0, le=1, description="probability that an arrested cell "
        "extravasates (else it dies in the vessel) [1]; Luzzi et al. 1998 Am J Pathol 153:865 "
        "(~83 % by day 3, mouse liver), Koop et al. 1995 (> 80 %)"
    )  # fmt: skip
    dormant_prob: float = Field(
        0.43, ge=0, le=1, description="probability that an extravasated cell becomes a "
        "solitary dormant cell [1]; Luzzi et al. 1998: 36 % of injected cells (43 % of the "
        "83 % extravasated) remained solitary and dormant at day 13"
    )  # fmt: skip
    start_prob: float = Field(
        0.029, ge=0, le=1, description="probability that an extravasated cell starts dividing "
        "(a colony) [1]; Luzzi et al. 1998: ~2 % of injected cells (2.4 % of the extravasated) "
        "formed micrometastases; the rest of the extravasated cells die"
    )  # fmt: skip


def default_organs() -> list[Organ]:
    """The organ table of the model reference (§8): ICRP 89 flows, illustrative thresholds.

    Failure burdens: half the organ's volume replaced at ~1e8 cells/cm³ (Del Monte 2009) —
    liver ~1.5 L → 7.5e10, lungs ~1 L of parenchyma → 5e10, kidneys 300 cm³ → 1.5e10, heart
    300 cm³ → 1.5e10; brain 1e9 (≈ 10 cm³ of mass in the closed skull). All illustrative.
    """
    return [
        Organ(name="lungs", flow_share=0.0, drains_to=ARTERIAL, vital=True, failure_cells=5e10),
        Organ(name="liver", flow_share=0.065, drains_to="lungs", vital=True, failure_cells=7.5e10),
        Organ(name="gut", flow_share=0.19, drains_to="liver"),
        Organ(name="kidneys", flow_share=0.19, drains_to="lungs", vital=True, failure_cells=1.5e10),
        Organ(name="brain", flow_share=0.12, drains_to="lungs", vital=True, failure_cells=1e9),
        Organ(name="muscle", flow_share=0.17, drains_to="lungs", soil_factor=0.3),
        Organ(name="bone", flow_share=0.05, drains_to="lungs"),
        Organ(name="skin", flow_share=0.05, drains_to="lungs", soil_factor=0.5),
        Organ(name="adipose", flow_share=0.05, drains_to="lungs"),
        Organ(name="heart", flow_share=0.04, drains_to="lungs", vital=True, failure_cells=1.5e10),
        Organ(name="other", flow_share=0.075, drains_to="lungs"),
        Organ(name="breast", flow_share=0.0, drains_to="lungs"),
        Organ(name="lymph_node", flow_share=0.0, drains_to="lungs", arrest_prob=0.5),
    ]


def one_organ(**changes) -> list[Organ]:
    """The collapsed body (Iwata limit): one bed, share 1, draining to itself via the arteries.

    Defaults: arrest 1, extravasation 1, no dormancy, every extravasated cell starts a colony,
    failure never; ``changes`` override any field.
    """
    fields = dict(name="body", flow_share=1.0, drains_to=ARTERIAL, arrest_prob=1.0,
                  extravasation_prob=1.0, dormant_prob=0.0, start_prob=1.0)  # fmt: skip
    fields.update(changes)
    return [Organ(**fields)]


def check_organs(organs: list[Organ]) -> None:
    """Raise :class:`ConfigError` (one line) for an inconsistent table."""
    names = [o.name for o in organs]
    if not organs:
        raise ConfigError("organs = []: allowed a list of at least one organ")
    if len(set(names)) != len(names):
        raise ConfigError(f"organs: duplicate names in {names}; allowed unique names")
    for o in organs:
        if o.drains_to != ARTERIAL and o.drains_to not in names:
            raise ConfigError(f"organs.{o.name}.drains_to = {o.drains_to!r}; allowed "
                              f"'{ARTERIAL}' or one of {names}")  # fmt: skip
        if o.dormant_prob + o.start_prob > 1.0 + 1e-12:
            raise ConfigError(f"organs.{o.name}: dormant_prob + start_prob = "
                              f"{o.dormant_prob + o.start_prob:g}; allowed at most 1")  # fmt: skip
    total = sum(o.flow_share for o in organs)
    if any(o.drains_to == ARTERIAL for o in organs) and not total > 0:
        raise ConfigError("organs: flow_share sums to 0; allowed a positive sum (the arterial "
                          "blood must go somewhere)")  # fmt: skip


def organ_index(organs: list[Organ], name: str) -> int:
    """The row of organ ``name`` (ConfigError naming the known ones if absent)."""
    for i, o in enumerate(organs):
        if o.name == name:
            return i
    raise ConfigError(f"organ {name!r} not in the table; allowed {[o.name for o in organs]}")


def arterial_shares(organs: list[Organ]) -> np.ndarray:
    """``flow_share / Σ flow_share`` [1]: where arterial blood goes (sums to 1)."""
    s = np.array([o.flow_share for o in organs], dtype=np.float64)
    return s / s.sum()


def route_matrix(organs: list[Organ]) -> np.ndarray:
    """``R[i, j]``: probability that blood leaving bed ``i`` enters bed ``j`` next [n, n]."""
    check_organs(organs)
    n = len(organs)
    r = np.zeros((n, n))
    art = arterial_shares(organs) if any(o.drains_to == ARTERIAL for o in organs) else None
    for i, o in enumerate(organs):
        if o.drains_to == ARTERIAL:
            r[i] = art
        else:
            r[i, organ_index(organs, o.drains_to)] = 1.0
    return r


def entry_vector(organs: list[Organ], source: str, lymph_fraction: float = 0.0,
                 lymph_node: str = "lymph_node") -> np.ndarray:  # fmt: skip
    """The first bed of a CTC shed by a source in organ ``source`` [n] (sums to 1).

    The outflow row of ``source``; with ``lymph_fraction > 0`` that fraction goes to the bed
    ``lymph_node`` first instead (lymphatic spread of the primary).
    """
    r = route_matrix(organs)
    e = r[organ_index(organs, source)].copy()
    if lymph_fraction > 0.0:
        e *= 1.0 - lymph_fraction
        e[organ_index(organs, lymph_node)] += lymph_fraction
    return e
