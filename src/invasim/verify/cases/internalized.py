"""Internalised substrates (PhysiCell's ``track_internalized_substrates_in_each_agent``).

What is checked, with the tolerance and why:

* Conservation: in a closed box (no-flux walls, no decay) the field integral ``Σ u h³`` plus
  the cells' amounts is constant while the cells take up, secrete, export, move and divide.
  Each diffusion step moves amounts between a voxel and its cells with a few float operations
  per cell (relative round-off ~1e-16 each); over the 3000 diffusion steps below the drift,
  relative to the amounts in play, is measured at 4e-14 to 3e-13. 1e-11 leaves a factor 40 for
  round-off; a missing net-export term (tried: 2e-3), a wrong sign or a voxel volume off by
  h^dim/h³ moves amounts at the 1e-3 level or more.
* One cell in a one-voxel domain (well mixed: no diffusion can matter): the voxel obeys
  ``du/dt = r (σ (T − u) − λ u) + e / V_v``, ``r = V_c / V_v``, and the cell holds
  ``I = V_v (u0 − u)``. The ``exact`` scheme integrates it exactly, so ``I(t)`` equals the
  closed form to round-off (1e-12 relative); the ``implicit`` scheme (PhysiCell's) equals its
  own discrete solution ``u_k = u* + (u0 − u*) (1 + r (σ + λ) dt)^(−k)`` to round-off and the
  closed form within its first-order error (checked below the analytic bound).

Contract:
    * Cases (quick and full forms are the same, under a second each):
      ``internalized substrates field plus cells conserved``, ``internalized substrates one
      cell in a mixed voxel follows the closed form``.
"""

from __future__ import annotations

import math

from invasim.config import load_scenario
from invasim.core.cells import Cells
from invasim.simulation import Simulation
from invasim.verify import Checks, Result, case

MECHANISM = "internalized"
SOURCE = "PhysiCell 1.14 internalized substrates; exact: closed box, closed form"
H = 20.0
PHENO = 6.0


def scenario_data(types, processes, dim=2, extent=200.0, h=H, fields=None, scheme="implicit",
                  **params) -> dict:  # fmt: skip
    """An agent scenario tracking internalised oxygen and a signal, no initial cells."""
    fields = fields or {
        "oxygen": {"kind": "diffusing", "unit": "mmHg", "diffusion_um2_per_min": 2000.0,
                   "decay_per_min": 0.0, "initial": 38.0, "boundary": "no-flux"},
        "signal": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 500.0,
                   "decay_per_min": 0.0, "initial": 0.2, "boundary": "no-flux"},
    }  # fmt: skip
    if "diffusion" in processes:
        params["diffusion"] = {"accuracy_check": False}
    return {
        "name": "internalized-test", "model": "agents",
        "mesh": {"dim": dim, "extent_um": [extent] * dim, "voxel_um": h},
        "time": {"end_min": 60.0, "dt_min": PHENO, "output_interval_min": 6.0,
                 "checkpoint_interval_min": 60.0},
        "params": {"processes": processes, "fields": fields, "cell_types": types,
                   "secretion": {"track_internalized": True, "scheme": scheme},
                   "initial": {"geometry": "ball", "n_cells": 0}, **params},
    }  # fmt: skip


def sim(*args, seed=1, **kw) -> Simulation:
    """A Simulation of :func:`scenario_data`."""
    return Simulation(load_scenario(scenario_data(*args, **kw)), seed=seed)


def advance(s: Simulation, steps: int) -> None:
    """``steps`` phenotype steps."""
    for _ in range(steps):
        s.model.step(s.fields, s.time_min)
        s.step_index += 1


def amount(s: Simulation, field: str):
    """The cells' internalised amounts of ``field``."""
    return s.model.cells.internal(f"internalized:{field}")


def integral(s: Simulation, field: str) -> float:
    """The field's integral (V_v = h³ in every dimension, as the exchange counts it)."""
    return float(s.fields[field].sum()) * H**3


@case("internalized substrates field plus cells conserved", MECHANISM, SOURCE)
def conserved(quick: bool) -> Result:
    """Closed box: the field integral plus the internal amounts is constant.

    Through uptake, secretion, export, motion and division; 2-D and 3-D, both schemes.
    """
    types = {"tumor": {
        "secretion": {"uptake_per_min": {"oxygen": 1.0, "signal": 0.5},
                      "secretion_per_min": {"signal": 2.0}, "secretion_target": {"signal": 1.0},
                      "net_export": {"signal": 3.0, "oxygen": -50.0}},
        "cycle": {"model": "live", "rate_per_min": 0.02, "oxygen_dependent": False},
        "motility": {"speed_um_per_min": 1.0, "persistence_time_min": 5.0},
        "death": {"apoptosis_rate_per_min": 0.0}}}  # fmt: skip
    processes = ["secretion", "diffusion", "mechanics", "motility", "volume", "cycle",
                 "division", "death"]  # fmt: skip
    chk, worst = Checks(), (0.0, "")
    for dim in (2, 3):
        for scheme in ("implicit", "exact"):
            extent = 200.0 if dim == 2 else 120.0
            data = scenario_data(types, processes, dim=dim, extent=extent, scheme=scheme)
            data["params"]["initial"] = {"geometry": "ball", "n_cells": 30}
            s = Simulation(load_scenario(data), seed=4)
            n0 = s.model.cells.n
            before = {f: integral(s, f) + amount(s, f).sum() for f in ("oxygen", "signal")}
            advance(s, 5)  # 5 phenotype steps = 3000 diffusion steps
            where = f"{dim}-D {scheme}"
            chk.bound(f"cells after / before, {where}", s.model.cells.n / n0, ">", 1.0)
            for f in ("oxygen", "signal"):
                moved = float(abs(amount(s, f)).sum())
                # the cells do hold a share
                chk.bound(f"{f} held / in the field, {where}", moved / abs(integral(s, f)), ">",
                          1e-3)  # fmt: skip
                after = integral(s, f) + amount(s, f).sum()
                scale = abs(integral(s, f)) + moved
                drift = abs(after - before[f]) / scale
                chk.near(f"{f} relative drift, {where}", drift, 0.0, 1e-11)
                worst = max(worst, (drift, f"{f}, {where}"))
    return chk.result(0.0, worst[0], 1e-11, "relative",
                      f"largest |drift| / amounts in play after 3000 diffusion steps "
                      f"({worst[1]}); bound: round-off")  # fmt: skip


def one_cell(scheme, sec, tgt, upt, exp):
    """One cell alone in a one-voxel domain (40 µm), substrate s at 2."""
    h = 40.0
    types = {"a": {"secretion": {"uptake_per_min": {"s": upt}, "secretion_per_min": {"s": sec},
                                 "secretion_target": {"s": tgt}, "net_export": {"s": exp}}}}
    fields = {"s": {"kind": "diffusing", "unit": "1", "diffusion_um2_per_min": 0.0,
                    "decay_per_min": 0.0, "initial": 2.0, "boundary": "no-flux"}}  # fmt: skip
    data = scenario_data(types, ["secretion"], extent=h, h=h, fields=fields, scheme=scheme)
    data["params"]["dt_diffusion_min"] = 0.05
    data["params"]["dt_mechanics_min"] = 0.5
    s = Simulation(load_scenario(data), seed=1)
    c = Cells(2, capacity=4)
    c.add(1, position=[[h / 2, h / 2, 0.0]], type=[0], volume=[2494.0])
    s.model.cells = c
    for q in s.model.processes:
        q.setup(s.model.state)
    return s, h**3, 2494.0


@case("internalized substrates one cell in a mixed voxel follows the closed form", MECHANISM,
      "closed form of the well-mixed voxel; PhysiCell's implicit step")
def one_cell_closed_form(quick: bool) -> Result:
    """One cell in a well-mixed voxel: the exact scheme is the closed form to round-off.

    Uptake; secretion and uptake; uptake and export. The implicit scheme equals its own
    discrete solution and is within its first-order error bound of the closed form.
    """
    steps = 10  # 60 min, 1200 diffusion steps of 0.05 min
    chk, worst = Checks(), (0.0, "")
    for label, (sec, tgt, upt, exp) in (("uptake", (0.0, 0.0, 0.7, 0.0)),
                                        ("secretion+uptake", (1.5, 5.0, 0.7, 0.0)),
                                        ("uptake+export", (0.0, 0.0, 0.7, 2000.0))):
        s, vv, vc = one_cell("exact", sec, tgt, upt, exp)
        r, u0 = vc / vv, 2.0
        k = r * (sec + upt)
        u_inf = (r * sec * tgt + exp / vv) / k
        for step in range(1, steps + 1):
            advance(s, 1)
            t = step * PHENO
            u = u_inf + (u0 - u_inf) * math.exp(-k * t)
            expected = vv * (u0 - u)
            got = float(amount(s, "s")[0])
            # pytest.approx(rel=1e-12, abs=1e-9 vv): the larger of the two
            chk.near(f"exact scheme amount at {t:g} min, {label}", got, expected,
                     max(1e-12 * abs(expected), 1e-9 * vv))  # fmt: skip
            chk.rel(f"exact scheme voxel at {t:g} min, {label}", float(s.fields["s"][0, 0, 0]),
                    u, 1e-12)  # fmt: skip
            worst = max(worst, (abs(got - expected) / vv, label))
        # PhysiCell's implicit step: its own discrete solution to round-off, the closed form
        # within its first-order error |(1 + x)^-n - e^-nx| <= n x² / 2 (x = k dt)
        s, vv, vc = one_cell("implicit", sec, tgt, upt, exp)
        dt, n = 0.05, int(round(steps * PHENO / 0.05))
        advance(s, steps)
        got = float(amount(s, "s")[0])
        u_disc = u_inf + (u0 - u_inf) * (1.0 + k * dt) ** (-n)
        chk.rel(f"implicit scheme vs its discrete solution, {label}", got, vv * (u0 - u_disc),
                1e-11)  # fmt: skip
        u_exact = u_inf + (u0 - u_inf) * math.exp(-k * n * dt)
        bound = vv * abs(u0 - u_inf) * n * (k * dt) ** 2 / 2
        chk.bound(f"implicit scheme error vs its bound, {label}", abs(got - vv * (u0 - u_exact)),
                  "<=", bound)  # fmt: skip
        # the two schemes do differ
        chk.bound(f"implicit vs exact difference, {label}", abs(got - vv * (u0 - u_exact)),
                  ">", 0.0)  # fmt: skip
    return chk.result(0.0, worst[0], 1e-9, "substrate (per voxel volume)",
                      f"exact scheme: largest |amount - closed form| / V_v over 10 steps "
                      f"({worst[1]}); the checks hold the relative bounds")  # fmt: skip
