"""Unit tests of invasim.agents.fields: field schemas, the FieldSet container, reactions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invasim.agents.fields import (
    DiffusingField,
    FieldSet,
    MatrixField,
    cleave,
    degrade,
    parse_fields,
)
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError

MESH2 = Mesh.from_extent([200.0, 100.0], 10.0)
MESH3 = Mesh.from_extent([60.0, 50.0, 40.0], 10.0)
MESHES = [MESH2, MESH3]
GRF = {"kind": "gaussian_random_field", "mean": 0.5, "std": 0.2, "correlation_um": 20.0}
# the exact exponential updates below differ from the closed forms only by round-off: a few ulp
# per step on O(1) values, so 1e-12 relative over <= 1000 steps separates round-off from error
RTOL = 1e-12


def error_of(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_fields(data, "params.fields")
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def specs():
    return parse_fields(
        {
            "oxygen": {},
            "mmp": {"unit": "nM", "diffusion_um2_per_min": 600.0, "decay_per_min": 0.01,
                    "boundary": "no-flux", "initial": 0.0},
            "ecm": {"kind": "matrix", "upper": 1.0, "initial": {**GRF, "lower": 0.0, "upper": 1.0}},
            "laminin": {"kind": "matrix", "unit": "µg/ml", "initial": 2.0,
                        "relaxation_per_min": 0.01},
        }
    )  # fmt: skip


# -- schemas -------------------------------------------------------------------------------------
def _substrate_schema():
    """The agent engine's substrate schema, wherever the refactor has put it today."""
    import importlib

    for module, name in (("invasim.agents.params", "DiffusingField"),
                         ("invasim.models.spheroid", "Substrate")):  # fmt: skip
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    pytest.skip("no substrate schema to compare with")


def test_diffusing_field_mirrors_the_substrate_schema():
    substrate = _substrate_schema()
    theirs = substrate().model_dump(exclude={"kind"})
    ours = DiffusingField().model_dump()
    assert ours.pop("kind") == "diffusing"
    assert ours == theirs  # same keys, defaults (initial written back as the number 38.0)
    # a substrate table carries over unchanged (no kind: diffusing)
    table = {"unit": "mmHg", "diffusion_um2_per_min": 1e5, "decay_per_min": 0.1,
             "boundary": "dirichlet", "boundary_value": 38.0, "initial": 38.0}  # fmt: skip
    field = parse_fields({"oxygen": table})["oxygen"]
    assert isinstance(field, DiffusingField)
    assert field.model_dump(exclude={"kind"}) == substrate(**table).model_dump(exclude={"kind"})


def test_every_schema_field_states_its_meaning():
    for model in (DiffusingField, MatrixField):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name}"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"o2": {"decay_per_min": -1.0}}, "params.fields.o2.decay_per_min = -1.0: Input should "
                                           "be greater than or equal to 0"),  # fmt: skip
        ({"o2": {"initial": -1.0}}, "params.fields.o2.initial: values reach -1"),
        ({"o2": {"initial": GRF}}, "params.fields.o2.initial.lower: unset, so values are "
                                   "unbounded; a substrate must stay >= 0"),  # fmt: skip
        ({"ecm": {"kind": "matrix", "upper": 1.0, "initial": GRF}}, "initial.lower: unset"),
        ({"ecm": {"kind": "matrix", "upper": 1.0, "initial": {**GRF, "lower": 0.0}}},
         "params.fields.ecm.initial.upper: unset"),  # fmt: skip
        ({"ecm": {"kind": "matrix", "upper": 1.0, "initial": 1.5}},
         "params.fields.ecm.initial: values reach 1.5; the matrix's bounds are [0, 1]"),
        ({"ecm": {"kind": "matrix", "lower": 1.0, "upper": 1.0}}, "ecm.upper = 1.0: must exceed"),
        ({"ecm": {"kind": "matrix", "upper": 1.0, "relaxation_target": 2.0}},
         "ecm.relaxation_target = 2.0: must lie in [0, 1]"),  # fmt: skip
        ({"ecm": {"kind": "matrix", "relaxation_target": "start"}}, "ecm.relaxation_target"),
        ({"ecm": {"kind": "matrix", "dt": 6.0}}, "unknown key 'dt' (did you mean 'dt_min'?)"),
        ({"ecm": {"kind": "matrix", "diffusion_um2_per_min": 1.0}}, "unknown key"),
        ({"ecm": {"kind": "matrx"}}, "params.fields.ecm.kind = \"matrx\": known: diffusing"),
        ({"ecm": 3.0}, "params.fields.ecm = 3.0: expected a field table"),
        ({"ecm": {"kind": "matrix", "initial": {"kind": "disk"}}}, "did you mean 'disc'?"),
    ],
)
def test_bad_fields_give_one_line(data, expected):
    msg = error_of(data)
    assert expected in msg, msg


def test_fields_in_a_pydantic_schema_round_trip():
    from pydantic import BaseModel, Field

    from invasim.agents.fields import FieldTable

    class Params(BaseModel):
        fields: dict[str, FieldTable] = Field(default_factory=dict)

    p = Params.model_validate({"fields": {"o2": {}, "ecm": {"kind": "matrix", "initial": 0.3}}})
    data = p.model_dump(mode="json")
    assert data["fields"]["o2"]["initial"] == 38.0 and data["fields"]["ecm"]["kind"] == "matrix"
    assert Params.model_validate(data).model_dump(mode="json") == data


# -- the container -------------------------------------------------------------------------------
@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_fieldset_partitions_by_kind(mesh):
    fs = FieldSet(mesh, specs(), seed=5)
    assert list(fs) == ["oxygen", "mmp", "ecm", "laminin"] and len(fs) == 4
    assert list(fs.diffusing()) == ["oxygen", "mmp"]
    assert list(fs.matrices()) == ["ecm", "laminin"]
    assert fs.kind("ecm") == "matrix" and fs.unit("laminin") == "µg/ml" and fs.unit("mmp") == "nM"
    for name in fs:
        a = fs[name]
        assert a.shape == mesh.array_shape and a.dtype == np.float64 and a.flags.c_contiguous
        assert fs.diffusing().get(name, fs.matrices().get(name)) is a  # the arrays, no copies
    assert np.all(fs["oxygen"] == 38.0) and np.all(fs["laminin"] == 2.0)
    assert 0.0 <= fs["ecm"].min() < fs["ecm"].max() <= 1.0
    assert np.array_equal(FieldSet(mesh, specs(), seed=5)["ecm"], fs["ecm"])
    meta = fs.metadata()
    assert meta["ecm"]["kind"] == "matrix" and meta["mmp"]["diffusion_um2_per_min"] == 600.0


@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_matrices_get_no_solver_and_are_untouched_by_diffusion(mesh):
    fs = FieldSet(mesh, specs(), seed=5)
    solvers = fs.diffusion_solvers(0.01, "lod-be")
    # structural: a matrix has no solver, so it costs nothing on the diffusion clock
    assert list(solvers) == list(fs.diffusing()) == ["oxygen", "mmp"]
    before = {n: a.copy() for n, a in fs.matrices().items()}
    fs["oxygen"][...] = 0.0  # something for the solver to do
    fs["mmp"].flat[mesh.n_voxels // 2] = 100.0
    for _ in range(20):
        for name, u in fs.diffusing().items():
            solvers[name].step(u)
    assert fs["oxygen"].max() > 0.0 and fs["mmp"].max() < 100.0
    for name, a in fs.matrices().items():
        assert np.array_equal(a, before[name])


def test_relaxation_exact_static_untouched_and_own_clock():
    table = {
        "decay": {"kind": "matrix", "initial": 2.0, "relaxation_per_min": 0.05},
        "recover": {"kind": "matrix", "upper": 1.0, "initial": {**GRF, "lower": 0.0, "upper": 1.0},
                    "relaxation_per_min": 0.02, "relaxation_target": "initial"},
        "slow": {"kind": "matrix", "initial": 1.0, "relaxation_per_min": 0.1,
                 "relaxation_target": 0.25, "dt_min": 5.0},
        "static": {"kind": "matrix", "initial": {**GRF, "lower": 0.0}},
    }  # fmt: skip
    fs = FieldSet(MESH2, parse_fields(table), seed=1)
    start = {n: a.copy() for n, a in fs.arrays.items()}
    fs["recover"][...] *= 0.5  # degraded, then left to recover towards its initial values
    damaged = fs["recover"].copy()
    slow_seen = []
    for k in range(30):  # 30 phenotype steps of 1 min
        fs.step_matrices(1.0, t_min=float(k))
        slow_seen.append(float(fs["slow"][0, 0, 0]))
    f = math.exp(-0.05 * 30)
    assert np.allclose(fs["decay"], 2.0 * f, rtol=RTOL, atol=0)
    g = math.exp(-0.02 * 30)
    expected = start["recover"] + (damaged - start["recover"]) * g
    assert np.allclose(fs["recover"], expected, rtol=RTOL, atol=1e-15)
    assert np.array_equal(fs["static"], start["static"])
    # own clock: moves only when t crosses a multiple of 5 min, each time by exactly 5 min
    changes = [k for k in range(1, 30) if slow_seen[k] != slow_seen[k - 1]]
    assert changes == [4, 9, 14, 19, 24, 29]  # the steps ending at t = 5, 10, ... 30
    assert slow_seen[3] == 1.0
    assert math.isclose(slow_seen[-1], 0.25 + 0.75 * math.exp(-0.1 * 30), rel_tol=RTOL)


def test_resume_from_arrays_regenerates_relaxation_targets():
    table = {"ecm": {"kind": "matrix", "upper": 1.0, "relaxation_per_min": 0.1,
                     "relaxation_target": "initial", "initial": {**GRF, "lower": 0.0,
                                                                 "upper": 1.0}}}  # fmt: skip
    one = FieldSet(MESH3, parse_fields(table), seed=9)
    one["ecm"][...] = 0.0
    one.step_matrices(3.0)
    resumed = FieldSet(MESH3, parse_fields(table), seed=9, arrays=one.arrays)
    assert resumed["ecm"] is not one["ecm"]  # copied
    one.step_matrices(4.0, t_min=3.0)
    resumed.step_matrices(4.0, t_min=3.0)
    assert np.array_equal(one["ecm"], resumed["ecm"])
    with pytest.raises(ValueError, match="must match the fields"):
        FieldSet(MESH3, parse_fields(table), arrays={})
    with pytest.raises(ValueError, match="has shape"):
        FieldSet(MESH3, parse_fields(table), arrays={"ecm": np.zeros((2, 2))})


def test_initial_values_outside_the_kind_are_one_line(tmp_path):
    np.save(tmp_path / "neg.npy", np.full(MESH2.shape, -1.0))
    fields = parse_fields({"o2": {"initial": {"kind": "file", "path": str(tmp_path / "neg.npy")}}})
    with pytest.raises(ConfigError) as info:
        FieldSet(MESH2, fields)
    msg = str(info.value)
    assert msg == "field 'o2': initial values span [-1, -1], outside the allowed [0, inf] of a " \
                  "diffusing field"  # fmt: skip


# -- reactions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_degrade_is_the_exact_solution(mesh):
    rng = np.random.default_rng(2)
    m0 = rng.random(mesh.array_shape)
    e = rng.random(mesh.array_shape) * 3.0
    k, t = 0.2, 10.0
    exact = m0 * np.exp(-k * e * t)
    for n_steps in (1, 10, 1000):  # exact per step, so independent of the step
        m = m0.copy()
        for _ in range(n_steps):
            degrade(m, e, k, t / n_steps)
        assert np.allclose(m, exact, rtol=RTOL * n_steps, atol=0)
    m = m0.copy()
    degrade(m, e, 1e6, 1e6)  # a huge step: no negative values, no NaN
    assert np.all(m == 0.0)
    m = m0.copy()
    degrade(m, -e, k, t)  # negative enzyme (solver round-off) counts as none
    assert np.array_equal(m, m0)


@pytest.mark.parametrize("mesh", MESHES, ids=["2d", "3d"])
def test_cleave_conserves_mass_and_matches_the_solution(mesh):
    rng = np.random.default_rng(3)
    m0, p0 = rng.random(mesh.array_shape), rng.random(mesh.array_shape)
    e = rng.random(mesh.array_shape)
    m, p = m0.copy(), p0.copy()
    for _ in range(100):
        cleave(m, e, p, 0.5, 0.1)
    exact = m0 * np.exp(-0.5 * e * 10.0)
    assert np.allclose(m, exact, rtol=1e-10, atol=0) and np.all(m >= 0)
    assert np.allclose(m + p, m0 + p0, rtol=RTOL, atol=0)  # voxel by voxel
    assert math.isclose((m + p).sum(), (m0 + p0).sum(), rel_tol=RTOL)
    m2, p2 = m0.copy(), p0.copy()
    cleave(m2, e, p2, 0.5, 10.0, stoichiometry=2.0)
    assert np.allclose(p2 - p0, 2.0 * (m0 - m2), rtol=RTOL, atol=1e-15)


def test_reaction_inputs_are_checked():
    m = np.ones((1, 2, 3))
    with pytest.raises(ValueError, match="float64"):
        degrade(m.astype(np.float32), m, 1.0, 1.0)
    with pytest.raises(ValueError, match="enzyme has shape"):
        degrade(m, np.ones((1, 3, 2)), 1.0, 1.0)
    with pytest.raises(ValueError, match="rate >= 0"):
        degrade(m, m, -1.0, 1.0)
    with pytest.raises(ValueError, match="product"):
        cleave(m, m, np.ones(6), 1.0, 1.0)
