"""The package's layers point one way, with no import cycles: the CI check of the architecture.

* The import-linter contracts of pyproject.toml (``[tool.importlinter]``): the layers, lowest
  last, no cycles between the modules of a package, private modules kept private. The same
  check runs as ``lint-imports`` from the repository root.
* Only the command line imports the package's facade (``invasim/__init__.py``, which imports
  the whole public API): ``from invasim import __version__`` from a lower layer is a cycle.
* No module imports another module's private (``_underscore``) name: what modules share is
  public, in a module of its own (e.g. :mod:`invasim.viz.common`).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
#: modules allowed to import the facade ``invasim`` itself
FACADE_USERS = {"invasim.cli", "invasim.__main__"}
#: packages above every layer the facade imports, so they may use it too: the validation
#: cases run scenarios as a user does (``invasim.Simulation``)
FACADE_PACKAGES = ("invasim.verify",)


def test_import_linter_contracts_are_kept(capsys):
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(REPO)  # the configuration is found beside it
    try:
        status = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True,
                              no_logo=True)
    finally:
        os.chdir(cwd)
    report = capsys.readouterr().out
    assert status == 0, f"import-linter contracts broken (pyproject.toml):\n{report}"
    assert "BROKEN" not in report


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("invasim", exclude_type_checking_imports=True, cache_dir=None)


def test_only_the_command_line_imports_the_facade(graph):
    users = {u for u in graph.find_modules_that_directly_import("invasim")
             if not u.startswith(FACADE_PACKAGES)}  # fmt: skip
    assert users <= FACADE_USERS, (
        f"{sorted(users - FACADE_USERS)} import the package facade 'invasim' (which imports "
        "every layer); import the module that defines the name instead (e.g. invasim.version)"
    )


def _modules():
    for path in sorted((SRC / "invasim").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        yield name, is_package, path


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_a_private_name_of_another():
    modules = {name for name, _, _ in _modules()}
    found = []
    for name, is_package, path in _modules():
        tree = ast.parse(path.read_text("utf-8"))
        package = name if is_package else name.rpartition(".")[0]
        aliases: dict[str, str] = {}  # local name -> invasim module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == "invasim" or node.module.startswith("invasim.")
            ):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in modules:  # a module: private ones are checked by import-linter
                        aliases[a.asname or a.name] = full
                    elif _private(a.name):
                        found.append(f"{name}: from {node.module} import {a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("invasim.") and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and _private(node.attr)
                    and aliases[node.value.id].rpartition(".")[0] != package):
                found.append(f"{name}: {node.value.id}.{node.attr} ({aliases[node.value.id]})")
    assert found == [], "private names used across modules:\n" + "\n".join(found)
