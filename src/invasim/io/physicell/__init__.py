"""Import a PhysiCell 1.14 project (settings XML, rules CSV, cells CSV) as an invasim scenario.

Contract:
    * :func:`import_physicell` reads ``PhysiCell_settings.xml`` (a folder holding it, or
      holding ``config/PhysiCell_settings.xml``, or the file itself), its enabled rules and
      cells CSVs and, when the project folder has one, ``custom_modules/custom.cpp``, and
      returns an :class:`Imported` agent scenario (``model = "agents"``) that reproduces
      PhysiCell's reading of the file (:mod:`invasim.io.physicell_xml`). Nothing is written.
    * Every value is written with its unit (in the key) and its source: a comment naming the
      XML line, and a ``[sources]`` entry ``PhysiCell_settings.xml line N <element>``.
      PhysiCell's names become invasim names (``"M0 macrophage"`` → ``M0_macrophage``); the
      rules and cells CSVs are rewritten with them (kept as they are when nothing changes).
    * What cannot be imported is named, never dropped: :attr:`Imported.notes` lists every
      element, column, rule line and piece of custom C++ that is not reproduced, with the
      reason (the converter prints it once and writes it at the top of the TOML).
    * The scenario is validated by invasim's own loader before it is returned; rule lines
      invasim refuses are commented out in the rules copy, each with the reason, and listed.
    * Time steps: diffusion uses ``lod-be`` (BioFVM's LOD backward Euler) at PhysiCell's own
      ``dt_diffusion`` with invasim's accuracy check off (``accuracy_check = false``: the
      scheme is stable at any step; the imported model keeps PhysiCell's numerics).
      ``dt_mechanics`` is checked against the mechanics stability limit (else a divisor of
      ``dt_phenotype`` that meets it, listed).
    * :func:`write_imported` writes the files whole (:mod:`invasim.io.atomic`), the TOML last.
    * Parts: :mod:`.xml` (the file as PhysiCell reads it), :mod:`.definitions` (cell
      definitions and inheritance), :mod:`.files` (names, rules and cells CSVs, custom C++),
      :mod:`.document` (the TOML), :mod:`.environment`, :mod:`.phenotype`, :mod:`.project`
      (the conversion, as mixins of :class:`~invasim.io.physicell.base.Base`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invasim.errors import ConfigError, InvasimError
from invasim.io.physicell.base import PHENOTYPE_ORDER, SETTINGS
from invasim.io.physicell.document import Doc
from invasim.io.physicell.environment import Environment
from invasim.io.physicell.files import identifier
from invasim.io.physicell.phenotype import Phenotype
from invasim.io.physicell.project import Project
from invasim.io.physicell.xml import Node

__all__ = ["Imported", "default_out", "find_settings", "import_physicell", "write_imported"]


@dataclass
class Imported:
    """An imported scenario, not yet written.

    Attributes:
        name: the project's name (default file stem).
        text: the scenario TOML, with the header comment block.
        data: the scenario as data (what was validated).
        files: the companion files by name: text to write, or a path to copy.
        notes: what was not imported, one sentence each (also in ``text``).
        xml: the settings file read.
    """

    name: str
    text: str
    data: dict[str, Any]
    files: dict[str, str | Path]
    notes: list[str]
    xml: Path


def find_settings(path: str | Path) -> tuple[Path, Path]:
    """``(settings XML, project folder)`` of a folder or XML path.

    Raises:
        InvasimError: nothing there, or a folder without ``PhysiCell_settings.xml``.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        for cand in (p / SETTINGS, p / "config" / SETTINGS):
            if cand.is_file():
                return cand, _project_root(cand)
        xmls = sorted(x.name for x in p.glob("*.xml"))
        also = f" (XML files there: {', '.join(xmls)}; give one of them)" if xmls else ""
        raise InvasimError(f"{p} holds no {SETTINGS} nor config/{SETTINGS}{also}")
    if p.is_file():
        return p, _project_root(p)
    raise InvasimError(f"{p} does not exist (give a PhysiCell project folder or its {SETTINGS})")


def _project_root(xml: Path) -> Path:
    """The folder PhysiCell runs in: the XML's, or its parent for ``config/``."""
    folder = xml.resolve().parent
    for cand in (folder, folder.parent):
        if (cand / "custom_modules").is_dir():
            return cand
    return folder.parent if folder.name == "config" else folder


def _version(root: Node, xml: Path) -> str:
    """PhysiCell's version: the nearest ``VERSION.txt``, else the XML's ``version`` attribute."""
    folder = xml.resolve().parent
    for cand in (folder, *list(folder.parents)[:3]):
        f = cand / "VERSION.txt"
        if f.is_file():
            try:
                text = f.read_text("utf-8", "replace").strip().split()
            except OSError:
                continue
            if text:
                return text[0]
    v = root.attr("version")
    return v if re.match(r"^\d+(\.\d+)*", v) else ""


class _Importer(Environment, Phenotype, Project):
    """One conversion: the parts in order."""

    def run(self) -> None:
        self.domain()
        self.substrates()
        self.definitions()
        self.time()
        self.options()
        self.interaction_tables()
        self.initial_cells()
        self.rules_file()
        self.processes()
        self.time_steps()
        self.custom_code()
        self.user_parameters()
        self.leftovers()


def import_physicell(path: str | Path, out_name: str | None = None) -> Imported:
    """Convert a PhysiCell project (see the module contract); nothing is written.

    Args:
        path: a project folder, its ``config`` folder, or the settings XML.
        out_name: the scenario file's stem (companion files are ``<stem>_cell_rules.csv`` and
            ``<stem>_cells.csv``); default the project folder's name.

    Raises:
        InvasimError: one line: no settings file, malformed XML (file, line, open element), a
            model PhysiCell itself refuses, or a missing cells file.
    """
    import invasim.processes  # noqa: F401  (registers the processes)

    xml, project = find_settings(path)
    name = identifier(project.name, "physicell")
    stem = out_name or name
    clashes: dict[str, str] = {}
    for _ in range(8):  # a name that clashes with the rules dictionary gets a suffix; retry
        try:
            return _convert(xml, project, name, stem, clashes)
        except _Clash as clash:
            clashes[clash.name] = clash.spelling
    raise InvasimError(f"{xml.name}: names clash with the rules dictionary; rename them")


class _Clash(Exception):
    """A cell type or substrate name that is also a rules-dictionary name."""

    def __init__(self, name: str, spelling: str) -> None:
        super().__init__(name)
        self.name, self.spelling = name, spelling


def _convert(
    xml: Path, project: Path, name: str, stem: str, clashes: dict[str, str]
) -> Imported:
    imp = _Importer(xml, project, stem, frozenset(clashes))
    for old, spelling in clashes.items():
        imp.notes.add(f"the name {old!r} makes {spelling!r} ambiguous in invasim's rules "
                      f"dictionary (PhysiCell gives it the built-in meaning): renamed with a "
                      f"suffix (see Names)")  # fmt: skip
    imp.run()
    version = _version(imp.root, xml)
    doc = imp.doc
    doc.rows[""] = [
        ("name", name, "", None),
        ("description", f"PhysiCell project {project.name!r} imported: {len(imp.defs)} cell "
         f"types ({', '.join(imp.type.values())}), {len(imp.sub)} substrates"
         f"{' (' + ', '.join(imp.sub.values()) + ')' if imp.sub else ''}", "", None),
        ("model", "agents", "", None),
        ("seed", imp.seed, f"<options><random_seed>, {imp.seed_where}", None),
        ("references", [f"imported from {SETTINGS} (PhysiCell{' ' + version if version else ''})"],
         "", None),
    ]  # fmt: skip
    _order(doc)
    data = _validate(imp, doc)
    if imp.rules is not None:
        imp.files[imp.rules_name] = imp.rules.text(
            [f"imported from {', '.join(str(p) for p in imp.rules_sources)} by invasim, with "
             f"invasim's names; lines invasim cannot run are commented out with the reason"])
    text = doc.render(imp.header(version))
    return Imported(stem, text, data, imp.files, imp.notes.lines(), xml)


def _order(doc: Doc) -> None:
    """Tables in reading order: top, mesh, time, params, its tables, initial."""
    keys = list(doc.rows)
    first = ["", "mesh", "time", "params", "params.diffusion", "params.secretion"]
    fields = [k for k in keys if k.startswith("params.fields.")]
    names = list(dict.fromkeys(k.split(".")[2] for k in keys if k.startswith("params.cell_types.")))
    rank = {p: i for i, p in enumerate(PHENOTYPE_ORDER)}
    types = sorted((k for k in keys if k.startswith("params.cell_types.")),
                   key=lambda k: (names.index(k.split(".")[2]), rank.get(k.split(".")[3], 99)))
    rest = [k for k in keys if k not in first and k not in fields and k not in types]
    order = [k for k in first if k in doc.rows] + fields + types + rest
    doc.rows = {k: doc.rows[k] for k in order}


def _validate(imp: _Importer, doc: Doc) -> dict[str, Any]:
    """Validate with invasim's loader in a staging folder; drop the rule lines it refuses."""
    from invasim.config.loader import validate_scenario

    origin = "imported scenario"
    pattern = re.compile(r"params\.rules \(([^)]*)\) line (\d+): (.*)$")
    with tempfile.TemporaryDirectory(prefix="invasim-import-") as tmp:
        stage = Path(tmp)
        for name, content in imp.files.items():
            if isinstance(content, Path):
                shutil.copyfile(content, stage / name)
            else:
                (stage / name).write_text(content, "utf-8")
        limit = len(imp.rules.lines) + 2 if imp.rules is not None else 1
        for _ in range(limit):
            if imp.rules is not None:
                (stage / imp.rules_name).write_text(imp.rules.text([]), "utf-8")
            data = doc.data()
            try:
                validate_scenario(data, origin, base_dir=stage)
            except ConfigError as exc:
                clash = re.search(r"name '([^']*)' means both", str(exc))
                if clash is not None:  # e.g. a type 'BM': 'contact with BM' is the wall's
                    spelled = " ".join(clash.group(1).lower().split())
                    for new in [*imp.type.values(), *imp.sub.values()]:
                        n = new.lower()
                        if spelled == n or spelled.endswith(" " + n) or spelled.startswith(n + " "):
                            raise _Clash(n, clash.group(1)) from None
                m = pattern.search(str(exc))
                if imp.rules is None or m is None or m.group(1) != imp.rules_name:
                    raise InvasimError(
                        f"the imported scenario does not validate (please report this): {exc}"
                    ) from None
                n = int(m.group(2))
                reason = re.sub(r"params\.rules \([^)]*\) ", "", m.group(3))
                reason = re.split(r"; they (?:compute|read) ", reason)[0]
                shared = _SHARED_SATURATION.search(reason)
                if shared is not None:  # PhysiCell keeps one saturation: the extreme one
                    a, b = float(shared.group(3)), float(shared.group(4))
                    value = max(a, b) if shared.group(2) == "increase" else min(a, b)
                    imp.rules.set_saturation((int(shared.group(1)), n), value)
                    imp.notes.add(f"{imp.rule_where(n)} and line {shared.group(1)} both "
                                  f"{shared.group(2)} one behaviour with saturations {a:g} and "
                                  f"{b:g}: PhysiCell keeps one, the "
                                  f"{'largest' if value == max(a, b) else 'smallest'} ({value:g}); "
                                  f"so does the import, for both rules")  # fmt: skip
                    continue
                imp.rules.drop(n, reason)
                imp.notes.add(f"{imp.rule_where(n)}: {reason}")
                continue
            return data
    raise InvasimError("the imported scenario does not validate (please report this)")


#: invasim's error for two rules that push one behaviour the same way with two saturations
_SHARED_SATURATION = re.compile(
    r"conflicts with line (\d+): both (increase|decrease) .* saturate at (\S+) and (\S+);"
)


def default_out(path: str | Path) -> Path:
    """``<project name>.toml`` in the current directory."""
    _, project = find_settings(path)
    return Path(f"{identifier(project.name, 'physicell')}.toml")


def write_imported(imported: Imported, out: Path, overwrite: bool = False) -> list[Path]:
    """Write the companion files, then the TOML (each whole); returns the paths written.

    Raises:
        InvasimError: a file exists (without ``overwrite``) or cannot be written.
    """
    from invasim.io.atomic import write_atomic, write_text_atomic

    folder = out.parent
    targets = [folder / n for n in imported.files] + [out]
    if not overwrite:
        there = [str(p) for p in targets if p.exists()]
        if there:
            raise InvasimError(f"{', '.join(there)} exist(s); use --overwrite to replace")
    if not folder.is_dir():
        raise InvasimError(f"cannot write {out}: folder {folder} does not exist")
    written = []
    for name, content in imported.files.items():
        path = folder / name
        if isinstance(content, Path):
            data = content.read_bytes()
            write_atomic(path, lambda f, d=data: f.write(d))
        else:
            write_text_atomic(path, content)
        written.append(path)
    write_text_atomic(out, imported.text)
    return [*written, out]
