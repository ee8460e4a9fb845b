"""Every signal and behaviour name of PhysiCell 1.14's rules dictionary loads in invasim.

The names below are PhysiCell's (``setup_signal_behavior_dictionaries`` in
``core/PhysiCell_signal_behavior.cpp``, version 1.14.2), spelled out for a model with one
substrate ``oxygen``, cell types ``tumor`` (index 0) and ``T cell`` (index 1) and one custom
variable ``sample`` (index 0): canonical names and synonyms alike.
"""

from __future__ import annotations

import pytest

import invasim.processes  # noqa: F401  (registers the processes' names)
from invasim.errors import ConfigError
from invasim.rules import RuleDictionary

SIGNALS = [
    "oxygen", "intracellular oxygen", "internalized oxygen", "oxygen gradient", "grad(oxygen)",
    "gradient of oxygen", "pressure", "volume", "contact with tumor", "contact with cell type 0",
    "contact with T cell", "contact with cell type 1", "contact with live cell",
    "contact with live cells", "contact with dead cell", "contact with dead cells",
    "contact with apoptotic cell", "contact with apoptotic cells", "contact with necrotic cell",
    "contact with necrotic cells", "contact with other dead cell", "contact with other dead cells",
    "contact with basement membrane", "contact with BM", "damage", "damage delivered",
    "total damage delivered", "attacking", "is attacking", "dead", "is dead",
    "total attack time", "time", "current time", "global time", "custom:sample",
    "custom: sample", "custom 0", "apoptotic", "is_apoptotic", "necrotic", "is_necrotic",
]  # fmt: skip

BEHAVIOURS = [
    "oxygen secretion", "oxygen secretion target", "oxygen secretion saturation density",
    "oxygen uptake", "oxygen export", "cycle entry", "exit from cycle phase 0",
    *(f"exit from cycle phase {k}" for k in range(1, 6)), "apoptosis", "necrosis",
    "migration speed", "migration bias", "migration persistence time",
    "chemotactic response to oxygen", "chemotactic sensitivity to oxygen", "cell-cell adhesion",
    "cell-cell adhesion elastic constant", "adhesive affinity to tumor",
    "adhesive affinity to cell type 1", "relative maximum adhesion distance",
    "cell-cell repulsion", "cell-BM adhesion", "cell-membrane adhesion", "cell-BM repulsion",
    "cell-membrane repulsion", "phagocytose apoptotic cell", "phagocytosis of apoptotic cell",
    "phagocytosis of apoptotic cells", "phagocytose necrotic cell",
    "phagocytosis of necrotic cell", "phagocytosis of necrotic cells",
    "phagocytose other dead cell", "phagocytosis of other dead cell",
    "phagocytosis of other dead cells", "phagocytose tumor", "phagocytose cell type 0",
    "phagocytosis of 0", "phagocytose T cell", "attack tumor", "attack cell type 0",
    "fuse to tumor", "fuse to cell type 1", "transition to tumor", "transform to cell type 0",
    "transform to T cell", "transition to cell type 1", "asymmetric division to tumor",
    "custom:sample", "custom: sample", "custom 0", "is_movable", "movable", "is movable",
    "immunogenicity to T cell", "immunogenicity to cell type 1", "cell attachment rate",
    "cell detachment rate", "maximum number of cell attachments", "attack damage rate",
    "attack duration", "damage rate", "damage repair rate",
]  # fmt: skip


@pytest.fixture(scope="module")
def dictionary():
    return RuleDictionary({"oxygen": "mmHg"}, ["tumor", "T cell"], {"sample": "AU"})


@pytest.mark.parametrize("name", SIGNALS)
def test_every_physicell_signal_loads(dictionary, name):
    assert dictionary.signal(name).name


@pytest.mark.parametrize("name", BEHAVIOURS)
def test_every_physicell_behaviour_loads(dictionary, name):
    assert dictionary.behaviour(name).name


def test_targets_resolve_to_the_named_type(dictionary):
    assert dictionary.behaviour("attack cell type 1").target == "T cell"
    assert dictionary.behaviour("transform to cell type 0").name == "transform to tumor"
    assert dictionary.signal("contact with BM").name == "contact with wall"
    assert dictionary.signal("custom 0").name == "custom:sample"


def test_an_unknown_name_still_fails_with_a_suggestion(dictionary):
    with pytest.raises(ConfigError, match="did you mean 'attack tumor'"):
        dictionary.behaviour("atack tumor")
    with pytest.raises(ConfigError, match="unknown signal"):
        dictionary.signal("damaged")
