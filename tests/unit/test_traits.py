"""Declared heritable traits: schema, counter-based initial values, mutation at division.

The stochastic checks use fixed seeds, so their outcome is fixed; the margins say how unlikely
a failure of a correct implementation would be. Each check allows Z = 4.5 standard errors
(two-sided probability 6.8e-6 for a normal statistic); with the ~40 checks below, the chance
that a correct implementation fails any of them for some choice of seeds is below 3e-4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from invasim.biology.division import divide, reflect_into
from invasim.biology.traits import (
    TraitSpec,
    declare_traits,
    division_arrays,
    initial_values,
    seed_traits,
)
from invasim.core.cells import Cells
from invasim.rules.distributions import sample_per_cell

Z = 4.5
SEEDS = (1, 2, 3, 4, 5)
NORMAL = {"distribution": "normal", "mu": 0.5, "sigma": 0.2, "lower": 0.0, "upper": 1.0}


def test_spec_validation():
    s = TraitSpec(name="resistance", initial=NORMAL, lower=0.0, upper=1.0, mutation_rate=0.1,
                  mutation_step=0.05)  # fmt: skip
    assert s.default() == pytest.approx(0.5) and s.inheritance == "copy"
    assert "unit" in TraitSpec.model_json_schema()["properties"]["mutation_step"]["description"]
    bad = [
        {"name": "r", "mutation_rate": 1.5},
        {"name": "r", "mutation_step": -1.0},
        {"name": "r", "initial": 3.0, "upper": 2.0},
        {"name": "r", "initial": {"distribution": "normal", "mu": 0.5, "sigma": 0.2}, "lower": 0},
        {"name": "r", "lower": 1.0, "upper": 1.0},
        {"name": "r", "inheritance": "split", "initial": 2.0, "lower": 1.0},
        {"name": "r", "inheritance": "halve"},
        {"name": "r", "initial": {"distribution": "normal", "mu": 0.5, "sd": 0.2}},
        {"name": "volume"},
        {"name": "2fast"},
        {"name": "r", "mutation_sd": 0.1},
    ]
    for kw in bad:
        with pytest.raises(ValidationError):
            TraitSpec(**kw)


def test_initial_values_are_keyed_by_id_not_order():
    s = TraitSpec(name="resistance", initial=NORMAL, lower=0.0, upper=1.0)
    ids = np.arange(1000, 1500, dtype=np.int64)
    v = initial_values(s, 500, 7, ids)
    order = np.random.default_rng(0).permutation(500)
    assert np.array_equal(initial_values(s, 500, 7, ids[order]), v[order])
    assert np.array_equal(initial_values(s, 500, 7, ids), v)
    assert not np.any(initial_values(s, 500, 8, ids) == v)
    other = TraitSpec(name="motility_gene", initial=NORMAL, lower=0.0, upper=1.0)
    assert abs(np.corrcoef(initial_values(other, 500, 7, ids), v)[0, 1]) < Z / math.sqrt(500)
    assert np.all((v >= 0.0) & (v <= 1.0))
    # constant, and the order-dependent Generator path of the distribution module
    const = TraitSpec(name="c", initial=2.0)
    assert np.array_equal(initial_values(const, 3, 7, ids[:3]), [2.0] * 3)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(initial_values(s, 9, g1), sample_per_cell(s.initial, g2, 9))
    with pytest.raises(ValueError, match="ids"):
        initial_values(s, 3, 7)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_initial_values_follow_the_distribution(seed):
    n = 40_000
    for table in (NORMAL, {"distribution": "lognormal", "mu": 0.0, "sigma": 0.5}):
        s = TraitSpec(name="level", initial=table, lower=0.0)
        v = initial_values(s, n, seed, np.arange(n))
        mean, var = s.initial.moments()
        assert abs(v.mean() - mean) <= Z * math.sqrt(var / n)
        m4 = np.mean((v - v.mean()) ** 4)
        assert abs(v.var() - var) <= Z * math.sqrt((m4 - var**2) / n)


def test_declare_seed_and_division_arrays():
    specs = [
        TraitSpec(name="resistance", initial=NORMAL, lower=0.0, upper=1.0, mutation_rate=0.2,
                  mutation_step=0.1),  # fmt: skip
        TraitSpec(name="protein", unit="molecules", initial=100.0, lower=0.0,
                  inheritance="split"),  # fmt: skip
    ]
    c = Cells(2, traits=["other"])
    assert declare_traits(c, specs) == [1, 2]
    assert c.division_modes("traits") == ["copy", "copy", "split"]
    c.add(50)
    assert np.all(c.trait("resistance") == pytest.approx(0.5))  # the default: the mean
    seed_traits(c, specs, seed=11)
    assert np.array_equal(c.trait("resistance"), initial_values(specs[0], 50, 11, c.id))
    a = division_arrays(specs, c.trait_names)
    assert np.array_equal(a["trait_sd"], [0.0, 0.1, 0.0])
    assert np.array_equal(a["mutation_rate"], [0.0, 0.2, 0.0])
    assert np.array_equal(a["lower"], [-np.inf, 0.0, 0.0])
    assert np.array_equal(a["upper"], [np.inf, 1.0, np.inf])
    assert np.array_equal(a["conserved"], [False, False, True])
    s = divide(c, np.arange(0, 50, 5), 11, 3, **a)
    assert np.all(c.trait("protein")[s] == 50.0)
    with pytest.raises(KeyError, match="resistance"):
        division_arrays(specs, ["other"])


def test_reflect_into():
    x = np.array([0.3, -0.2, 1.25, 3.1, -2.7, 0.0, 1.0])
    assert np.allclose(reflect_into(x, 0.0, 1.0), [0.3, 0.2, 0.75, 0.9, 0.7, 0.0, 1.0])
    assert reflect_into(x, 0.0, 1.0)[0] == 0.3  # inside: the same bits
    assert np.allclose(reflect_into(x, 0.0, np.inf), np.abs(x))
    assert np.allclose(reflect_into(x, -np.inf, 1.0), [0.3, -0.2, 0.75, -1.1, -2.7, 0.0, 1.0])
    assert np.all(reflect_into(x, 0.5, 0.5) == 0.5)


def _mothers(n: int) -> Cells:
    c = Cells(2, capacity=2 * n)
    declare_traits(c, SPECS)
    c.add(n)
    c.trait("a")[:] = np.linspace(-1.0, 1.0, n)
    c.trait("b")[:] = np.linspace(10.0, 20.0, n)
    c.trait("amount")[:] = np.linspace(1.0, 1000.0, n)
    c.trait("bounded")[:] = 0.0
    return c


SPECS = [
    TraitSpec(name="a", mutation_rate=0.1, mutation_step=0.5),
    TraitSpec(name="b", unit="µM", mutation_rate=0.5, mutation_step=2.0),
    TraitSpec(name="amount", unit="molecules", lower=0.0, inheritance="split"),
    TraitSpec(name="bounded", lower=0.0, upper=10.0, mutation_rate=1.0, mutation_step=1.0),
]


@pytest.mark.parametrize("seed", SEEDS)
def test_mutation_fraction_and_step_sd_over_many_divisions(seed):
    n = 20_000
    c = _mothers(n)
    before = {s.name: c.trait(s.name).copy() for s in SPECS}
    s = divide(c, np.arange(n), seed, 5, **division_arrays(SPECS, c.trait_names))
    k = 2 * n
    for spec in SPECS[:2]:
        mother = np.concatenate([before[spec.name]] * 2)
        step = np.concatenate([c.trait(spec.name)[:n], c.trait(spec.name)[s]]) - mother
        hit = step != 0.0
        p = spec.mutation_rate
        # binomial: the fraction of mutated daughters within Z standard errors of the rate
        assert abs(hit.mean() - p) <= Z * math.sqrt(p * (1 - p) / k), spec.name
        # steps: mean 0 and variance sd^2 (sample variance of m normals: se sd^2 sqrt(2/(m-1)))
        m, sd = int(hit.sum()), spec.mutation_step
        assert abs(step[hit].mean()) <= Z * sd / math.sqrt(m)
        assert abs(step[hit].var(ddof=1) / sd**2 - 1.0) <= Z * math.sqrt(2.0 / (m - 1))
        # the two daughters mutate independently: both with probability p^2
        both = hit[:n] & hit[n:]
        assert abs(both.mean() - p * p) <= Z * math.sqrt(p * p * (1 - p * p) / n)
    # split: the daughters share the mother's amount exactly
    assert np.array_equal(c.trait("amount")[:n] + c.trait("amount")[s], before["amount"])
    # reflection at the lower bound 0: |N(0, 1)| (half-normal), no mass piled on the bound
    v = np.concatenate([c.trait("bounded")[:n], c.trait("bounded")[s]])
    assert np.all((v > 0.0) & (v <= 10.0))
    half_mean, half_sd = math.sqrt(2 / math.pi), math.sqrt(1 - 2 / math.pi)
    assert abs(v.mean() - half_mean) <= Z * half_sd / math.sqrt(k)


def test_split_traits_conserve_the_total_over_generations():
    c = _mothers(200)
    total = math.fsum(c.trait("amount"))
    for step in range(6):
        divide(c, np.arange(0, c.n, 2), 9, step, **division_arrays(SPECS, c.trait_names))
        assert math.fsum(c.trait("amount")) == total
    assert c.n == 2280  # every step half the cells divided (rounded up): 200 × 1.5^6
