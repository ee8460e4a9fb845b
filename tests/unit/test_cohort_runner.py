"""Patients on the survival clock, chunking, and the written outputs (in process, no Dask)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from invasim.cohort import load_cohort_spec, simulate_cohort
from invasim.cohort.runner import _check_out, write_outputs
from invasim.errors import RunDirError


def spec(**changes):
    data = {
        "name": "tiny",
        "patients": 6,
        "seed": 11,
        "follow_up_days": 400.0,
        "sample": {"shed_per_day": {"dist": "lognormal", "median": 3.2, "sigma": 1.0,
                                    "source": "s"}},  # fmt: skip
        "arms": {"untreated": {}, "early": {"resection": {"at_primary_cells": 1e9},
                                            "source": "s"}},  # fmt: skip
    }
    data.update(changes)
    return load_cohort_spec(data)


def test_chunks_change_nothing_and_arms_are_paired():
    s = spec()
    a = simulate_cohort(s, chunk=1)
    b = simulate_cohort(s, chunk=4)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["arm"]) == ["untreated"] * 6 + ["early"] * 6
    assert list(a["patient"]) == list(range(6)) * 2
    u, e = a.iloc[:6].reset_index(drop=True), a.iloc[6:].reset_index(drop=True)
    np.testing.assert_array_equal(u["seed"], e["seed"])
    np.testing.assert_array_equal(u["shed_per_day"], e["shed_per_day"])
    # same primary until diagnosis: same diagnosis time; the early arm resects right then
    np.testing.assert_allclose(u["t_diagnosis_days"], e["t_diagnosis_days"], rtol=1e-12)
    np.testing.assert_allclose(e["t_resection_days"], e["t_diagnosis_days"], rtol=1e-9)
    assert u["t_resection_days"].isna().all()


def test_survival_clock_and_censoring():
    t = simulate_cohort(spec())
    d = t[t["status"] == "diagnosed"]
    assert len(d) == len(t)
    alive = d[~d["died"]]
    dead = d[d["died"]]
    assert (alive["survival_days"] == 400.0).all() and (alive["cause"] == "alive").all()
    np.testing.assert_allclose(dead["survival_days"],
                               dead["t_death_days"] - dead["t_diagnosis_days"])  # fmt: skip
    assert (dead["survival_days"] <= 400.0).all()
    # detectable metastases counted one year after diagnosis (follow-up 400 days > 365)
    assert t["n_detectable_1y"].notna().all() or (t["died"] & (t["survival_days"] < 365)).any()


def test_death_before_diagnosis_and_no_diagnosis_are_counted_not_analysed():
    # diagnosis near the plateau (7e10 of 7.3e10): the metastases kill first
    s = spec(body={"diagnosis_cells": 7.2e10}, sources={"body.diagnosis_cells": "test"},
             arms={"untreated": {}}, patients=3)  # fmt: skip
    t = simulate_cohort(s)
    assert (t["status"] == "died before diagnosis").all()
    assert t["survival_days"].isna().all() and not t["died"].any()
    assert t["cause"].str.endswith(("failure", "burden")).all()
    # a plateau below the diagnosis size: never diagnosed (alive at the horizon)
    s = spec(body={"b_cells": 5e8, "diagnosis_cells": 1e9},
             sources={"body.b_cells": "test", "body.diagnosis_cells": "test"},
             arms={"untreated": {}}, patients=2, follow_up_days=30.0)  # fmt: skip
    t = simulate_cohort(s)
    assert (t["status"] == "not diagnosed").all() and t["t_diagnosis_days"].isna().all()


def test_outputs_and_the_out_folder_rule(tmp_path):
    s = spec(patients=4)
    t = simulate_cohort(s)
    surv = write_outputs(tmp_path, s, t, {"wall_s": 1.0})
    for name in ("patients.csv", "survival.csv", "km.png", "cohort.json"):
        assert (tmp_path / name).is_file()
    assert list(surv["arm"]) == ["untreated", "early"]
    rec = json.loads((tmp_path / "cohort.json").read_text())
    assert rec["spec"]["name"] == "tiny" and rec["wall_s"] == 1.0
    assert all(v is None or not (isinstance(v, float) and math.isnan(v))
               for r in rec["survival"] for v in r.values())  # fmt: skip
    with pytest.raises(RunDirError, match="--force"):
        _check_out(tmp_path, force=False)
    _check_out(tmp_path, force=True)
    _check_out(tmp_path / "new", force=False)
