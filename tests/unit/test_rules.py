"""Unit tests of invasim.rules: dictionary, table parsing and conflicts, the Numba kernel."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numba
import numpy as np
import pytest

from invasim.errors import ConfigError
from invasim.rules import (
    RuleDictionary,
    compile_rules,
    describe,
    evaluate_rules,
    hill,
    load_rules,
    load_rules_csv,
    make_rule,
    parse_rules,
    parse_rules_csv,
    plot_response,
    register_signal,
)
from invasim.rules import dictionary as dictionary_module
from invasim.rules.table import make_table

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "physicell_cell_rules.csv"


@pytest.fixture(scope="module")
def d() -> RuleDictionary:
    return RuleDictionary({"oxygen": "mmHg", "TGFb": "ng/mL"}, ["tumor", "fibroblast"])


def one_line(exc: pytest.ExceptionInfo, *needles: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def csv(d, *lines: str):
    return parse_rules_csv("\n".join(lines), d, origin="rules.csv")


# -- dictionary --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Oxygen", "oxygen"),
        ("  oxygen   GRADIENT ", "oxygen gradient"),
        ("grad(TGFb)", "TGFb gradient"),
        ("gradient of oxygen", "oxygen gradient"),
        ("contact with cell type 1", "contact with fibroblast"),
        ("contact with live cells", "contact with live cell"),
        ("is_apoptotic", "apoptotic"),
        ("current time", "time"),
    ],
)
def test_signal_synonyms_resolve_to_canonical(d, spelling, canonical):
    assert d.signal(spelling).name == canonical


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("exit from cycle phase 0", "cycle entry"),
        ("Cycle  Entry", "cycle entry"),
        ("chemotactic sensitivity to oxygen", "chemotactic response to oxygen"),
        ("oxygen secretion saturation density", "oxygen secretion target"),
        ("adhesive affinity to cell type 0", "adhesive affinity to tumor"),
        ("cell-membrane repulsion", "wall repulsion"),
        ("cell-BM repulsion", "wall repulsion"),
    ],
)
def test_behaviour_synonyms_resolve_to_canonical(d, spelling, canonical):
    assert d.behaviour(spelling).name == canonical


def test_dictionary_entries_have_units_and_dense_indices(d):
    for entries in (d.signals, d.behaviours):
        assert [e.index for e in entries] == list(range(len(entries)))
        assert all(e.unit and e.description for e in entries)
    assert d.signal("oxygen").unit == "mmHg"
    assert d.signal("TGFb gradient").unit == "ng/mL/µm"
    assert d.behaviour("necrosis").unit == "1/min"
    assert d.behaviour("migration speed").unit == "µm/min"
    assert (d.behaviour("migration bias").lower, d.behaviour("migration bias").upper) == (0, 1)


def test_unknown_names_suggest_the_nearest(d):
    with pytest.raises(ConfigError) as exc:
        d.signal("oxygne")
    one_line(exc, "'oxygne'", "did you mean 'oxygen'?", "docs/rules.md")
    with pytest.raises(ConfigError) as exc:
        d.behaviour("necrosys")
    one_line(exc, "did you mean 'necrosis'?")
    with pytest.raises(ConfigError) as exc:
        d.behaviour("cycle entri")
    one_line(exc, "did you mean 'cycle entry'?")
    with pytest.raises(ConfigError) as exc:
        d.cell_type("tumour")
    one_line(exc, "did you mean 'tumor'?", "'fibroblast'")


def test_names_that_clash_are_errors():
    with pytest.raises(ConfigError) as exc:
        RuleDictionary(["pressure"], ["a"])
    one_line(exc, "'pressure'")
    with pytest.raises(ConfigError) as exc:
        RuleDictionary(["oxygen"], ["A", "a"])
    one_line(exc, "listed twice")


def test_every_name_is_documented():
    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text("utf-8")
    for t in dictionary_module.signal_templates() + dictionary_module.behaviour_templates():
        assert f"| `{t.name}` | {t.unit} |" in text, t.name
        for synonym in t.synonyms:
            assert f"`{synonym}`" in text, synonym


def test_register_signal_adds_an_entry(monkeypatch):
    monkeypatch.setattr(dictionary_module, "_SIGNALS", list(dictionary_module._SIGNALS))
    register_signal("{cell_type} marker", "dimensionless", "a test state", over="cell_type")
    with pytest.raises(ValueError):
        register_signal("pressure", "x", "duplicate")
    d = RuleDictionary(["oxygen"], ["a", "b"])
    assert d.signal("B marker").name == "b marker"
    assert d.signal("b marker").index == d.n_signals - 1


# -- the table ---------------------------------------------------------------------------------
def test_physicell_csv_loads(d):
    table = load_rules_csv(SAMPLE, d)
    assert len(table) == 10
    first = table.rules[0]
    assert (first.cell_type, first.signal, first.direction, first.behaviour) == (
        "tumor",
        "oxygen",
        "decreases",
        "necrosis",
    )
    assert (first.saturation, first.half_max, first.hill_power) == (0.0, 3.75, 8.0)
    assert first.origin == "physicell_cell_rules.csv line 4"
    tabbed = table.rules[6]  # the tab-separated line
    assert (tabbed.cell_type, tabbed.behaviour, tabbed.hill_power) == (
        "fibroblast",
        "TGFb secretion",
        3,
    )
    assert table.rules[7].signal == "TGFb gradient"
    assert table.rules[7].behaviour == "chemotactic response to TGFb"
    assert table.rules[9].behaviour == "cycle entry" and table.rules[9].applies_to_dead


def test_older_csv_forms_and_header(d):
    table = csv(
        d,
        "cell type,signal,direction,behaviour,saturation,half-max,Hill power,dead",
        "tumor,oxygen,decreases,necrosis,0.0028,0,3.75,8,0",  # v1: base value first
        "tumor,cycle entry,0,0.001,0.004,oxygen,increases,21.5,4,false",  # v0
    )
    v1, v0 = table.rules
    assert (v1.base_value, v1.saturation, v1.half_max) == (0.0028, 0.0, 3.75)
    assert (v0.base_value, v0.saturation, v0.behaviour, v0.signal) == (
        0.001,
        0.004,
        "cycle entry",
        "oxygen",
    )


def test_toml_tables(d, tmp_path):
    entries = [
        {
            "cell_type": "tumor",
            "signal": "oxygen",
            "direction": "decreases",
            "behaviour": "necrosis",
            "saturation": 0.0,
            "half_max": 3.75,
            "hill_power": 8,
        }
    ]
    table = parse_rules(entries, d)
    assert table.rules[0].origin == "rules[0]" and not table.rules[0].applies_to_dead
    with pytest.raises(ConfigError) as exc:
        parse_rules([{**entries[0], "halfmax": 1.0}], d)
    one_line(exc, "rules[0]", "'halfmax'", "did you mean 'half_max'?")
    with pytest.raises(ConfigError) as exc:
        parse_rules([{k: v for k, v in entries[0].items() if k != "hill_power"}], d)
    one_line(exc, "missing required key 'hill_power'")
    (tmp_path / "r.csv").write_text(SAMPLE.read_text())
    assert len(load_rules("r.csv", d, base_dir=tmp_path)) == 10
    assert len(load_rules(entries, d)) == 1


@pytest.mark.parametrize(
    ("line", "needles"),
    [
        ("tumour,oxygen,decreases,necrosis,0,3.75,8,0", ["unknown cell type", "'tumor'"]),
        ("tumor,oxigen,decreases,necrosis,0,3.75,8,0", ["unknown signal", "'oxygen'"]),
        ("tumor,oxygen,decreases,necrossis,0,3.75,8,0", ["unknown behaviour", "'necrosis'"]),
        ("tumor,oxygen,decreases,necrosis,0,0,8,0", ["half_max = '0'", "> 0"]),
        ("tumor,oxygen,decreases,necrosis,0,-1,8,0", ["half_max"]),
        ("tumor,oxygen,decreases,necrosis,0,3.75,0,0", ["hill_power = '0'", "> 0"]),
        ("tumor,oxygen,lowers,necrosis,0,3.75,8,0", ["direction = 'lowers'", "'increases'"]),
        ("tumor,oxygen,decreases,necrosis,-1,3.75,8,0", ["saturation = '-1'", "[0, inf]"]),
        ("tumor,oxygen,increases,migration bias,2,3.75,8,0", ["[0, 1]"]),
        ("tumor,oxygen,decreases,necrosis,zero,3.75,8,0", ["saturation = 'zero'", "number"]),
        ("tumor,oxygen,decreases,necrosis,0,3.75,8,maybe", ["applies_to_dead = 'maybe'"]),
        ("tumor,oxygen,decreases,necrosis,0,3.75,8,", ["empty field"]),
        # PhysiCell's own rules_sample has lines like this one; PhysiCell skips them silently
        ("tumor,oxygen,decreases migration speed,0.01,0.1,10,0", ["7 fields", "8"]),
    ],
)
def test_bad_lines_fail_with_one_line_naming_the_line(d, line, needles):
    with pytest.raises(ConfigError) as exc:
        csv(d, "// a comment", line)
    one_line(exc, "rules.csv line 2", *needles)


def test_conflicts_name_both_lines(d):
    base = "tumor,oxygen,decreases,necrosis,0,3.75,8,0"
    with pytest.raises(ConfigError) as exc:
        csv(d, base, "tumor,Oxygen,decreases,necrosis rate,0,5,4,0")
    one_line(exc, "rules.csv line 2", "conflicts with rules.csv line 1", "again")
    with pytest.raises(ConfigError) as exc:
        csv(d, base, "tumor,oxygen,increases,necrosis,0.1,5,4,0")
    one_line(exc, "line 2", "line 1", "other direction")
    with pytest.raises(ConfigError) as exc:
        csv(d, base, "tumor,pressure,decreases,necrosis,0.0001,1,4,0")
    one_line(exc, "line 2", "line 1", "saturate at 0.0001 and 0", "smallest")


def test_allowed_combinations(d):
    table = csv(
        d,
        "tumor,oxygen,decreases,necrosis,0,3.75,8,0",
        "tumor,pressure,decreases,necrosis,0,1,4,0",  # same direction, same saturation
        "tumor,TGFb,increases,necrosis,0.01,1,4,0",  # other direction
        "fibroblast,oxygen,decreases,necrosis,0,3.75,8,0",  # other cell type
        "tumor,dead,increases,apoptosis,0.1,0.5,4,0",  # never fires: a note
    )
    assert len(table) == 5
    assert len(table.notes) == 1 and "never changes 'apoptosis'" in table.notes[0]


def test_compile_checks_against_base_values(d):
    base = np.zeros((2, d.n_behaviours))
    nec = d.behaviour("necrosis").index
    base[0, nec] = 0.0028
    table = csv(d, "tumor,oxygen,decreases,necrosis,0.003,0,3.75,8,0")  # v1 with base 0.003
    with pytest.raises(ConfigError) as exc:
        compile_rules(table, base)
    one_line(exc, "line 1", "base value 0.003", "0.0028")
    alone = csv(d, "tumor,oxygen,decreases,necrosis,0.01,3.75,8,0")  # far side, alone: a note
    assert "moves up" in compile_rules(alone, base).notes[0]
    mixed = csv(
        d, "tumor,oxygen,decreases,necrosis,0.01,3.75,8,0", "tumor,TGFb,increases,necrosis,1,1,1,0"
    )
    with pytest.raises(ConfigError) as exc:
        compile_rules(mixed, base)
    one_line(exc, "line 1", "clamps")


# -- evaluation --------------------------------------------------------------------------------
def physicell_reference(rules, d, signals, base, cell_type, dead, out):
    """PhysiCell's algorithm as written (rules.cpp v2 parser + Hypothesis_Rule::evaluate)."""
    rulesets = {}  # (type, behaviour) -> dict in PhysiCell's shape
    for r in rules:  # parse_csv_rule_v2, in written order
        t, b = d.cell_type(r.cell_type), d.behaviour(r.behaviour).index
        hr = rulesets.setdefault((t, b), {"min": 9e99, "max": -9e99, "sig": []})
        b0 = base[t, b]
        hr["sig"].append(
            (d.signal(r.signal).index, r.up, r.half_max, r.hill_power, r.applies_to_dead)
        )
        if r.up:
            hr["min"] = min(hr["min"], b0)
            hr["max"] = max(hr["max"], r.saturation)
        else:
            hr["min"] = min(hr["min"], r.saturation)
            hr["max"] = max(hr["max"], b0)
    for i in range(len(cell_type)):
        t = cell_type[i]
        for (tt, b), hr in rulesets.items():
            if tt != t:
                continue
            up, down, applies = [], [], False
            for sig, is_up, h, n, for_dead in hr["sig"]:
                value = signals[i, sig] if (for_dead or not dead[i]) else 0.0
                applies |= bool(for_dead or not dead[i])
                (up if is_up else down).append((max(value, 0.0) / h) ** n)
            if not applies:
                continue
            su, sd = sum(up), sum(down)
            b0 = base[t, b]
            u = b0 + (hr["max"] - b0) * (su / (1 + su))
            out[i, b] = u + (hr["min"] - u) * (sd / (1 + sd))
    return out


def random_table(d, rng, n_rules):
    """Random conflict-free rules (far-side saturations included: the kernel must match)."""
    rules, used, sats = [], set(), {}
    while len(rules) < n_rules:
        t = d.cell_types[rng.integers(len(d.cell_types))]
        s = d.signals[rng.integers(d.n_signals)].name
        b = d.behaviours[rng.integers(d.n_behaviours)]
        up = bool(rng.integers(2))
        if (t, s, b.name) in used:
            continue
        used.add((t, s, b.name))
        sat = sats.setdefault((t, b.name, up), float(rng.uniform(0.0, 2.0)))
        sat = min(sat, b.upper)
        sats[(t, b.name, up)] = sat
        rules.append(
            make_rule(
                d, t, s, "increases" if up else "decreases", b.name, sat,
                rng.uniform(0.1, 3.0), rng.choice([1.0, 2.0, 4.0, 0.5, 8.0]),
                bool(rng.integers(2)), origin=f"r{len(rules)}",
            )
        )  # fmt: skip
    return make_table(rules, d)


@pytest.mark.parametrize("seed", range(5))
def test_kernel_equals_physicell_reference(d, seed):
    rng = np.random.default_rng(seed)
    table = random_table(d, rng, 40)
    n = 300
    base = rng.uniform(0.0, 1.0, (2, d.n_behaviours))
    signals = rng.uniform(0.0, 6.0, (n, d.n_signals)) * (rng.random((n, d.n_signals)) < 0.8)
    cell_type = rng.integers(0, 2, n)
    dead = rng.random(n) < 0.3
    start = rng.normal(size=(n, d.n_behaviours))  # what "out" held before
    got = evaluate_rules(compile_rules(table), signals, base, cell_type, dead, out=start.copy())
    want = physicell_reference(table.rules, d, signals, base, cell_type, dead, start.copy())
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_hill_response_shape(d):
    h, n = 3.75, 8.0
    assert hill(h, h, n) == pytest.approx(0.5, rel=1e-15)
    assert hill(1e3 * h, h, n) == pytest.approx(1.0, abs=1e-15)
    assert hill(0.0, h, n) == 0.0 and hill(-1.0, h, n) == 0.0
    assert hill(1e300, h, n) == 1.0  # overflow: saturated, not NaN


def one_cell(d, table, behaviour, base_value, **signals):
    b = d.behaviour(behaviour).index
    base = np.zeros((2, d.n_behaviours))
    base[0, b] = base_value
    sig = np.zeros((1, d.n_signals))
    for name, value in signals.items():
        sig[0, d.signal(name.replace("_", " ")).index] = value
    out = evaluate_rules(compile_rules(table), sig, base, np.array([0]), np.array([False]))
    return out[0, b]


def test_direction_half_max_and_saturation(d):
    dec = csv(d, "tumor,oxygen,decreases,necrosis,0.0,3.75,8,0")
    assert one_cell(d, dec, "necrosis", 0.004, oxygen=0.0) == 0.004
    assert one_cell(d, dec, "necrosis", 0.004, oxygen=3.75) == pytest.approx(0.002, rel=1e-14)
    assert one_cell(d, dec, "necrosis", 0.004, oxygen=100.0) == pytest.approx(0.0, abs=1e-12)
    inc = csv(d, "tumor,TGFb,increases,migration speed,0.5,0.2,2,0")
    assert one_cell(d, inc, "migration speed", 0.1, TGFb=0.0) == 0.1
    assert one_cell(d, inc, "migration speed", 0.1, TGFb=0.2) == pytest.approx(0.3, rel=1e-14)
    assert one_cell(d, inc, "migration speed", 0.1, TGFb=1e4) == pytest.approx(0.5, rel=1e-8)


def test_physicell_combination(d):
    # two up-signals at their half-max: S = 1 + 1, U = S / (1 + S) = 2/3 (not 1/2, not 3/4)
    two_up = csv(
        d,
        "tumor,oxygen,increases,cycle entry,0.004,21.5,4,0",
        "tumor,TGFb,increases,cycle entry,0.004,1,2,0",
    )
    got = one_cell(d, two_up, "cycle entry", 0.001, oxygen=21.5, TGFb=1.0)
    assert got == pytest.approx(0.001 + 0.003 * 2 / 3, rel=1e-14)
    # up then down: b = b0 + (bmax - b0) U, then b + (bmin - b) D
    up_down = csv(
        d,
        "tumor,oxygen,increases,cycle entry,0.004,21.5,4,0",
        "tumor,pressure,decreases,cycle entry,0,1,4,0",
    )
    got = one_cell(d, up_down, "cycle entry", 0.001, oxygen=21.5, pressure=1.0)
    assert got == pytest.approx((0.001 + 0.003 * 0.5) * 0.5, rel=1e-14)


def test_dead_cells(d):
    table = csv(
        d,
        "tumor,oxygen,decreases,necrosis,0,3.75,8,0",
        "tumor,apoptotic,increases,TGFb secretion,0.01,0.1,10,1",
    )
    nec, sec = d.behaviour("necrosis").index, d.behaviour("TGFb secretion").index
    base = np.zeros((2, d.n_behaviours))
    base[0, nec] = 0.004
    sig = np.zeros((2, d.n_signals))
    sig[:, d.signal("oxygen").index] = 100.0
    sig[:, d.signal("apoptotic").index] = 1.0
    out = np.full((2, d.n_behaviours), -7.0)
    evaluate_rules(compile_rules(table), sig, base, np.array([0, 0]), np.array([False, True]), out)
    assert out[0, nec] == pytest.approx(0.0, abs=1e-12)
    assert out[1, nec] == -7.0  # no rule applies to the dead cell: left as it was
    assert out[0, sec] == out[1, sec] == pytest.approx(0.01, rel=1e-9)
    assert (np.delete(out, [nec, sec], axis=1) == -7.0).all()  # ungoverned: untouched


def test_bit_identical_across_threads(d):
    rng = np.random.default_rng(7)
    table = random_table(d, rng, 30)
    compiled = compile_rules(table)
    n = 20_000
    base = rng.uniform(0.0, 1.0, (2, d.n_behaviours))
    signals = rng.uniform(0.0, 6.0, (n, d.n_signals))
    cell_type, dead = rng.integers(0, 2, n), rng.random(n) < 0.2
    results = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        results.append(evaluate_rules(compiled, signals, base, cell_type, dead))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert all(np.array_equal(results[0], r) for r in results)


def test_compiled_layout(d):
    table = load_rules_csv(SAMPLE, d)
    c = compile_rules(table)
    assert c.type_ptr.tolist()[0] == 0 and c.type_ptr[-1] == len(c.group_behaviour)
    assert c.group_ptr[-1] == len(table)
    assert (np.diff(c.rule_type) >= 0).all()
    for g in range(len(c.group_behaviour)):
        assert (c.rule_behaviour[c.group_ptr[g] : c.group_ptr[g + 1]] == c.group_behaviour[g]).all()
    assert set(c.used_signals) == {d.signal(r.signal).index for r in table.rules}


# -- in words and pictures ---------------------------------------------------------------------
def test_describe(d):
    table = load_rules_csv(SAMPLE, d)
    base = np.zeros((2, d.n_behaviours))
    base[0, d.behaviour("necrosis").index] = 0.0028
    lines = describe(table, base)
    assert len(lines) == len(table)
    assert lines[0] == (
        "In tumor cells, oxygen decreases necrosis from 0.0028 towards 0 1/min "
        "with half-max 3.75 mmHg and Hill power 8."
    )
    assert lines[5].endswith("Applies to dead cells too.")
    assert "from its base value" in describe(table)[0]
    assert describe(table, {"tumor": {"necrosis": 0.5}})[0].startswith(
        "In tumor cells, oxygen decreases necrosis from 0.5"
    )


def test_plot_response(d):
    from matplotlib.figure import Figure

    rule = load_rules_csv(SAMPLE, d).rules[0]
    fig = plot_response(rule, 0.0028, d)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    x, y = ax.lines[0].get_data()
    assert y[0] == pytest.approx(0.0028) and y[-1] < 0.0028 * 0.05
    assert "mmHg" in ax.get_xlabel() and "1/min" in ax.get_ylabel()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    assert not math.isnan(float(y.sum()))
