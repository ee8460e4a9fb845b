"""The project around the cell types: initial cells, rules, processes, custom C++, parameters.

Contract:
    * ``<initial_conditions><cell_positions>`` (csv) → ``[params.initial]`` ``table`` (the CSV
      rewritten with invasim's names when needed); without one, the template's
      ``setup_tissue`` (``number_of_cells`` random cells of each type) → ``random``.
    * Enabled ``<cell_rules>`` rulesets → one rules CSV with invasim's names.
    * ``params.processes``: the processes the imported model needs (non-zero rates, rules),
      when invasim has them; the others are named.
    * Custom C++, ``<user_parameters>`` and every element nobody read are named.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from invasim.errors import ConfigError, InvasimError
from invasim.io.physicell.base import (
    PROCESS_ORDER,
    SCHEME,
    SETTINGS,
    Base,
)
from invasim.io.physicell.files import (
    cells_csv,
    identifier,
    read_cells,
    swap_name,
    translate_rules,
)
from invasim.io.physicell.xml import (
    Node,
    as_bool,
    as_double,
    as_int,
    unused,
)


class Project(Base):
    """Project part of the conversion (see the module contract)."""

    def initial_cells(self) -> None:
        """``<initial_conditions>`` or the template's ``setup_tissue`` → ``[params.initial]``."""
        t = "params.initial"
        pos = self.node("initial_conditions", "cell_positions")
        n_random = self.user_int("number_of_cells")
        template = self.code.template_tissue() or not self.code.folder
        self.n_random_used = False
        if pos is not None and as_bool(pos.attr("enabled")):
            pos.use_all()
            kind = pos.attr("type")
            if kind.lower() != "csv":
                self.notes.add(f"<cell_positions type={kind!r}> (line {pos.line}): only csv is "
                               f"read (PhysiCell 1.14 stops on other types)")  # fmt: skip
            else:
                self.cells_table(pos, t)
                if n_random and template:
                    self.notes.add(f"user parameter number_of_cells = {n_random}: the template's "
                                   f"setup_tissue also places that many random cells of each "
                                   f"type besides the CSV; invasim takes one placement (the "
                                   f"CSV)")  # fmt: skip
                    self.n_random_used = True
                return
        elif pos is not None:
            pos.use_all()
        if n_random > 0 and template:
            self.n_random_used = True
            how = ("custom_modules/custom.cpp's setup_tissue is the template's" if self.code.found
                   else "no custom_modules folder found: assuming PhysiCell's template")
            self.doc.table(t, f"reproduces PhysiCell's template setup_tissue ({how}): "
                              f"number_of_cells cells of each type, uniform in the domain")
            self.doc.put(t, "geometry", "random")
            self.doc.put(t, "n_per_type", {self.type[d.name]: n_random for d in self.defs},
                         "user parameter number_of_cells, for each type",
                         f"{SETTINGS} <user_parameters><number_of_cells>")  # fmt: skip
            if self.box != self.extent:  # the domain was extended: PhysiCell's box
                self.doc.put(t, "lo_um", [0.0] * self.dim, "PhysiCell's domain")
                self.doc.put(t, "hi_um", self.box, "PhysiCell's domain, before the extension")
            return
        if n_random > 0:
            self.notes.add(f"user parameter number_of_cells = {n_random}: this project's "
                           f"setup_tissue differs from the template's, so its cells are not "
                           f"imported")  # fmt: skip
        self.doc.table(t, "no initial cells in the XML or CSV (custom setup_tissue: see the list)")
        self.doc.put(t, "geometry", "ball")
        self.doc.put(t, "n_cells", 0)

    def cells_table(self, pos: Node, t: str) -> None:
        """A cells CSV → ``geometry = "table"`` (rewritten with invasim names if needed)."""
        folder, fname = pos.child("folder"), pos.child("filename")
        path = self._resolve(folder.text if folder else "", fname.text if fname else "")
        if path is None:
            raise InvasimError(
                f"{SETTINGS} line {pos.line}: cells file {fname.text if fname else ''!r} in "
                f"{folder.text if folder else ''!r} not found (PhysiCell stops too)"
            )
        table = read_cells(path, self.id_map, [d.name for d in self.defs])
        for n in table.notes:
            self.notes.add(n)
        numeric = [c for c in table.extra if any(c in v for v in table.values)]
        for label, n in table.extra.items():
            if label not in numeric:
                self.notes.add(f"{path.name} column {label!r} ({n} cells): no numbers, not "
                               f"imported")  # fmt: skip
        self.table_columns = (path.name, numeric)  # mapped once the processes are known
        rows, values, outside, lifted = [], [], 0, 0
        for (x, y, z, name), extra in zip(table.rows, table.values or [{}] * len(table.rows),
                                          strict=True):  # fmt: skip
            p = [x, y, z]
            if self.dim == 2 and z != 0:
                lifted += 1
                p[2] = 0.0
            if any(not (self.lo[i] <= p[i] <= self.lo[i] + self.extent[i])
                   for i in range(self.dim)):  # fmt: skip
                outside += 1
                continue
            rows.append((p[0], p[1], p[2], self.type[name]))
            values.append(extra)
        if lifted:
            self.notes.add(f"{path.name}: {lifted} cells with z != 0 in a 2-D domain: placed at "
                           f"z = 0")
        if outside:
            self.notes.add(f"{path.name}: {outside} cells outside the domain: not placed")
        centred = self.centred and self.box == self.extent  # the table's "center" is L/2
        verbatim = (not lifted and not outside and centred and table.version == "v2"
                    and all(self.type[n] == n for *_, n in table.rows)
                    and not table.notes)  # fmt: skip
        if verbatim:
            self.files[self.cells_name] = path
            origin = "center"
        elif centred:
            self.files[self.cells_name] = cells_csv(rows, numeric, values)
            origin = "center"
        else:
            shifted = [(x - self.lo[0], y - self.lo[1], z - (self.lo[2] if self.dim == 3 else 0.0),
                        n) for x, y, z, n in rows]  # fmt: skip
            self.files[self.cells_name] = cells_csv(shifted, numeric, values)
            origin = "corner"
        self.doc.table(t, f"<cell_positions> (line {pos.line}): {path} "
                          f"({len(rows)} cells; "
                          f"{'a copy' if verbatim else 'rewritten with invasim names'})")
        self.doc.put(t, "geometry", "table")
        self.doc.put(t, "path", self.cells_name, f"{path.name}, next to this file",
                     f"{SETTINGS} line {pos.line} <cell_positions>: {path.name}")
        self.doc.put(t, "origin", origin, "PhysiCell's coordinates are centred on 0"
                     if origin == "center" else "shifted by -x_min, -y_min, -z_min")

    def _resolve(self, folder: str, name: str) -> Path | None:
        """A file named in the XML: PhysiCell opens ``folder/name`` from the project folder."""
        if not name:
            return None
        for base in (self.project, self.xml.parent, self.xml.parent.parent):
            cand = (base / folder / name) if folder else base / name
            if cand.is_file():
                return cand
        cand = self.xml.parent / name
        return cand if cand.is_file() else None

    def user_int(self, name: str) -> int:
        """An integer user parameter (0 if absent)."""
        node = self.node("user_parameters", name)
        return as_int(node.text) if node is not None else 0

    # -- rules --------------------------------------------------------------------------------
    def rules_file(self) -> None:
        """The enabled rulesets → one rules CSV with invasim names."""
        cr = self.node("cell_rules")
        if cr is None:
            return
        cr.use_all()
        texts, sources = [], []
        sets = cr.child("rulesets")
        for rs in sets.all("ruleset") if sets is not None else ():
            if not as_bool(rs.attr("enabled")):
                continue
            folder, fname = rs.child("folder"), rs.child("filename")
            path = self._resolve(folder.text if folder else "", fname.text if fname else "")
            version = as_double(rs.attr("version"))
            if rs.attr("format").lower() != "csv" or rs.attr("protocol") != "CBHG":
                self.notes.add(f"<ruleset format={rs.attr('format')!r} protocol="
                               f"{rs.attr('protocol')!r}> (line {rs.line}): only CBHG csv "
                               f"rulesets are read (PhysiCell 1.14 too)")  # fmt: skip
                continue
            if path is None:
                self.notes.add(f"<ruleset> (line {rs.line}): rules file "
                               f"{(fname.text if fname else '')!r} not found (PhysiCell warns "
                               f"and runs without it)")  # fmt: skip
                continue
            if version < 3.0 - 1e-10:
                self.notes.add(f"<ruleset version={rs.attr('version')!r}> (line {rs.line}): "
                               f"PhysiCell 1.14 refuses rules versions below 3; read as v3 "
                               f"(8 fields per line)")  # fmt: skip
            try:
                texts.append(path.read_text("utf-8-sig"))
            except (OSError, UnicodeDecodeError) as exc:
                raise InvasimError(f"cannot read rules file {path}: {exc}") from None
            sources.append(path)
        if not texts:
            return
        self.rules_sources = sources
        text = "\n".join(texts)
        subs = {**self.custom, **self.sub}
        ids = {i: self.type[n] for i, n in self.id_map.items()}
        self.rules = translate_rules(text, sources[0].name, self.type, subs, ids)
        for n, reason in self.rules.dropped.items():
            self.notes.add(f"{self.rule_where(n)}: {reason}")

    def rule_where(self, n: int) -> str:
        """``rule <file> line N (<the line>)`` for messages."""
        names = ", ".join(p.name for p in self.rules_sources)
        line = self.rules.original[n - 1] if self.rules else ""
        return f"rule {names} line {n} ({line.strip()[:90]})"

    # -- initial parameter distributions --------------------------------------------------------
    def distribution_traits(self) -> None:
        """``<initial_parameter_distributions>`` → per-type traits that set the behaviour.

        PhysiCell draws the behaviour of each initial cell of the type once
        (``set_parameters_from_distributions``) and daughters copy it: a trait with ``sets``,
        ``cell_types`` and no mutation. ``volume`` becomes ``volume.initial_um3``.
        """
        if not any(cd.distributions for cd in self.defs):
            return
        found = self._behaviours("<initial_parameter_distributions>: not imported")
        if found is None:
            return
        d, read = found
        for cd in self.defs:
            tname = self.type[cd.name]
            for node in cd.distributions:
                beh = node.child("behavior")
                where = f"<distribution> (line {node.line}) of {cd.name!r}"
                if beh is None or not beh.text.strip():
                    raise InvasimError(f"{SETTINGS} {where}: no <behavior>")
                name = " ".join(beh.text.split())
                dist = _distribution(node, where)
                if name.lower() == "volume":
                    _check_base(node, where, cd.get("volume.total"), dist)
                    self.doc.put(f"params.cell_types.{tname}.volume", "initial_um3", dist,
                                 f"{where}: {node.attr('type')} volume of the initial cells",
                                 f"{SETTINGS} line {node.line}")  # fmt: skip
                    continue
                try:
                    entry = d.behaviour(self._invasim_name(name))
                except Exception as exc:  # noqa: BLE001  (an unknown name: PhysiCell stops)
                    raise InvasimError(f"{SETTINGS} {where}: behavior {name!r}: "
                                       f"{str(exc).splitlines()[0]}") from None  # fmt: skip
                if entry.template not in read:
                    self.notes.add(f"{where}: {name} ~ {node.attr('type')}: no listed process "
                                   f"reads {entry.name!r}, not imported", cd.name)  # fmt: skip
                    continue
                self._setting_trait(
                    identifier(f"{tname}_{entry.name}", "trait"), entry,
                    f"{where}: PhysiCell draws {name!r} of each initial {cd.name!r} cell; "
                    f"daughters copy it", dist, f"{node.attr('type')}",
                    f"{SETTINGS} line {node.line}", [tname],
                )  # fmt: skip

    def _behaviours(self, what: str):
        """``(dictionary, templates read)`` of the imported scenario.

        Its rules dictionary and the behaviour templates its listed processes read; None on a
        name clash (the validation renames later), noted as ``what (the clash)``.
        """
        from invasim.agents.process import REGISTRY
        from invasim.rules import RuleDictionary

        units = {self.sub[k]: self.doc.get(f"params.fields.{self.sub[k]}", "unit", "1")
                 for k in self.sub}  # fmt: skip
        custom = self.doc.get("params.custom_data", "variables") or {}
        try:
            d = RuleDictionary(units, [self.type[cd.name] for cd in self.defs],
                               {v: custom.get(v, "dimensionless") for v in self.custom.values()})
        except ConfigError as exc:
            self.notes.add(f"{what} ({exc})")
            return None
        return d, {t for p in self.process_list for t in REGISTRY[p].behaviours}

    def _invasim_name(self, physicell_name: str) -> str:
        """A PhysiCell behaviour name with invasim's substrate, type and custom names."""
        return swap_name(physicell_name, {**self.sub, **self.type, **self.custom})

    def _setting_trait(self, trait: str, entry, head: str, initial, comment: str,
                       source: str = "", cell_types: list[str] | None = None) -> None:
        """``[params.traits.<trait>]`` that sets the behaviour ``entry`` (per cell)."""
        t = f"params.traits.{trait}"
        self.doc.table(t, head)
        self.doc.put(t, "unit", entry.unit)
        self.doc.put(t, "initial", initial, comment, source)
        self.doc.put(t, "sets", [entry.name])
        if cell_types:
            self.doc.put(t, "cell_types", cell_types)

    def column_traits(self) -> None:
        """The cells CSV's extra columns (v2) → per-cell initial values.

        PhysiCell sets each named behaviour (or the volume) of the cell on its row; blank
        entries keep the cell definition's value. Here: ``initial.columns`` maps ``volume``
        to the volume and each behaviour column to a trait that sets it (``initial = nan``:
        no value where the entry is blank).
        """
        name, labels = getattr(self, "table_columns", ("", []))
        if not labels:
            return
        found = self._behaviours(f"{name}: extra columns not imported")
        if found is None:
            return
        d, read = found
        columns: dict[str, str] = {}
        for label in labels:
            if label.strip().lower() == "volume":
                columns[label] = "volume"
                continue
            try:
                entry = d.behaviour(self._invasim_name(label))
            except Exception:  # noqa: BLE001  (PhysiCell skips an unknown column too)
                self.notes.add(f"{name} column {label!r}: not a behaviour PhysiCell knows; "
                               f"skipped (PhysiCell skips it too)")  # fmt: skip
                continue
            if entry.template not in read:
                self.notes.add(f"{name} column {label!r}: no listed process reads "
                               f"{entry.name!r}; not imported")  # fmt: skip
                continue
            trait = identifier(f"cells_{entry.name}", "trait")
            self._setting_trait(
                trait, entry, f"{name} column {label!r}: each cell's {entry.name} where its row "
                f"has one", math.nan, "no value: the cell type's, where blank",
            )  # fmt: skip
            columns[label] = trait
        if columns:
            self.doc.put("params.initial", "columns", columns,
                         f"per-cell values from {self.cells_name}")  # fmt: skip

    # -- processes and time steps -------------------------------------------------------------
    def processes(self) -> None:
        """``params.processes`` and every table that depends on it."""
        from invasim.agents.process import REGISTRY

        need = {"mechanics", "volume"}
        if self.variables:
            need.add("diffusion")
        for cd in self.defs:
            if any(v.value for k, v in self._items(cd, "secretion.")
                   if k.endswith(("secretion_rate", "uptake_rate"))):  # fmt: skip
                need.add("secretion")
            if cd.get("motility.enabled") and cd.get("motility.speed") > 0:
                need.add("motility")
            if cd.get("death.100.rate") > 0 or cd.get("death.101.rate") > 0:
                need.add("death")
            if any(v.value > 0 for _, v in self._items(cd, "cycle.rate.")):
                need |= {"cycle", "division"}
            if any(v.value for _, v in self._items(cd, "transformation.")):
                need.add("transformation")
            if cd.get("mechanics.attachment_rate", 0.0) > 0:
                need.add("attachments")
        if self.code.o2_phenotype and self.o2:
            need.add("death")
        for fields in self.rules.rules() if self.rules else ():
            need |= _rule_processes(fields)
        need |= set(self.wanted)
        if "attack" in need:  # PhysiCell holds an attacker to its target with a spring
            need.add("attachments")
        missing = sorted(p for p in need if p not in REGISTRY)
        for proc in missing:
            why = "; ".join(self.wanted.get(proc, ["rules that need it"]))
            self.notes.add(f"invasim has no {proc!r} process yet: PhysiCell's {proc} ({why}) is "
                           f"not imported")  # fmt: skip
        need -= set(missing)
        for proc in list(need):
            need |= set(REGISTRY[proc].requires)
        self.process_list = [p for p in PROCESS_ORDER if p in need] + sorted(
            need - set(PROCESS_ORDER))  # fmt: skip
        p = "params"
        self.doc.table(p, "from <overall> and the cell definitions; processes: what the "
                          "imported model uses")
        self.doc.put(p, "processes", self.process_list)
        self.definition_tables(set(self.process_list))
        self.column_traits()  # before the distributions: PhysiCell applies those last
        self.distribution_traits()
        self.write_interactions(self.process_list)
        if "diffusion" in self.process_list:
            self.doc.table("params.diffusion", "BioFVM's solver: LOD backward Euler")
            self.doc.put("params.diffusion", "scheme", SCHEME)
            self.doc.put("params.diffusion", "accuracy_check", False,
                         "PhysiCell's dt_diffusion, beyond lod-be's accuracy limit where D is "
                         "large: PhysiCell's numbers, not the exact solution; set true (and a "
                         "smaller dt_diffusion_min) for accuracy")  # fmt: skip
        if "contacts" in self.process_list:
            self.doc.table("params.contacts", "PhysiCell's contact signals count state.neighbors")
            self.doc.put("params.contacts", "contact", "adhesion",
                         "neighbours within s_i r_i + s_j r_j (relative maximum adhesion "
                         "distance), as PhysiCell's contact signals")  # fmt: skip
        if "motility" in self.process_list:
            self.doc.table("params.motility", "PhysiCell's normalize() of the bias direction")
            self.doc.put("params.motility", "bias_normalisation", "physicell",
                         "BioFVM_vector.cpp normalize: a gradient far below 1e-16 /um gives "
                         "almost no chemotactic bias")  # fmt: skip
        if "secretion" in self.process_list:
            self.doc.table("params.secretion", "BioFVM's per-voxel update")
            self.doc.put("params.secretion", "scheme", "implicit")
            self.doc.put("params.secretion", "after_diffusion", True,
                         "PhysiCell's order: BioFVM diffuses, then the cells secrete and take "
                         "up (update_all_cells)")  # fmt: skip
        if self.rules is not None:
            self.doc.put(p, "rules", self.rules_name, "the enabled rulesets, with invasim names",
                         f"{SETTINGS} <cell_rules>: "
                         f"{', '.join(x.name for x in self.rules_sources)}")  # fmt: skip

    def custom_code(self) -> None:
        """Name the custom C++ that differs from the template."""
        c = self.code
        if c.folder and not c.found:
            self.notes.add("custom_modules has no custom.cpp: its C++ (listed) is not imported, "
                           "and the template's setup_tissue is not assumed")  # fmt: skip
        elif not c.found:
            self.notes.add(f"no custom_modules/custom.cpp next to {self.xml.name}: custom C++ not "
                           f"checked (give the project folder to check it)")  # fmt: skip
        for name in c.extra:
            self.notes.add(f"custom_modules/custom.cpp function {name}(): custom C++ is not "
                           f"imported")  # fmt: skip
        absent = [n for n in c.differs if n not in c.defined]
        if absent:
            names = ", ".join(f"{n}()" for n in absent)
            self.notes.add(f"custom_modules/custom.cpp has no {names} "
                           f"(PhysiCell's template has them): what replaces them is not "
                           f"imported")  # fmt: skip
        for name in [n for n in c.differs if n in c.defined]:
            why = {"my_coloring_function": " (plotting only)",
                   "create_cell_types": " (custom cell functions and settings)",
                   "setup_tissue": " (custom initial cells)",
                   "setup_microenvironment": " (custom substrate set-up)"}.get(name, "")
            self.notes.add(f"custom_modules/custom.cpp {name}() differs from PhysiCell's "
                           f"template{why}: not imported")  # fmt: skip
        if c.o2_phenotype:
            self.notes.add("custom_modules/custom.cpp sets update_phenotype = "
                           "update_cell_and_death_parameters_O2_based: imported as invasim's "
                           "oxygen-dependent cycle entry and necrosis with PhysiCell's default "
                           "o2 thresholds (5/160 and 5/2.5 mmHg) and max_necrosis_rate 1/360")
        for f in c.other_files:
            self.notes.add(f"custom_modules/{f}: custom C++ is not imported")

    def user_parameters(self) -> None:
        """List ``<user_parameters>`` (custom C++ reads them, invasim cannot)."""
        up = self.node("user_parameters")
        self.user_lines: list[str] = []
        if up is None:
            return
        up.use_all()
        skipped = []
        for c in up.children:
            desc = c.attr("description")
            self.user_lines.append(
                f"  {c.tag} = {c.text!r} ({c.attr('type') or 'double'}, "
                f"{c.attr('units') or 'no unit'}; line {c.line})" + (f": {desc}" if desc else "")
            )
            if c.tag in ("number_of_cells", "random_seed"):  # used, or named on their own
                continue
            skipped.append(c.tag)
        if skipped:
            self.notes.add(f"<user_parameters> {', '.join(skipped)}: read by custom C++ only (the "
                           f"rules cannot name them); listed at the top of the TOML")  # fmt: skip

    def leftovers(self) -> None:
        """Name the output settings and every element nobody read."""
        output = []
        for tag in ("save", "parallel"):
            n = self.node(tag)
            if n is not None:
                n.use_all()
                output.append(f"<{tag}>")
        if output:
            self.notes.add(f"{', '.join(output)} other than <full_data><interval>: output and "
                           f"thread settings, not part of a scenario")  # fmt: skip
        groups: dict[str, list[str]] = {}
        for node in unused(self.root):
            key = re.sub(r' name="[^"]*"', "", node.path())
            groups.setdefault(key, []).append(str(node.line))
        for path, lines in groups.items():
            more = f" and {len(lines) - 3} more" if len(lines) > 3 else ""
            self.notes.add(f"{path} (line {', '.join(lines[:3])}{more}): not read (not a "
                           f"PhysiCell 1.14 setting the import knows)")  # fmt: skip

    # -- assembling ------------------------------------------------------------------------------
    def header(self, version: str) -> list[str]:
        """The comment block at the top of the TOML."""
        from invasim.version import __version__

        head = [
            f"Imported from PhysiCell by `invasim import physicell` (invasim {__version__}):",
            f"  {self.xml.resolve()}" + (f" (PhysiCell {version})" if version else ""),
            "Each value's comment names its XML element and line; [sources] at the end cites "
            "them too.",
        ]
        renamed = [f"{k!r} -> {v}" for k, v in {**self.type, **self.sub}.items() if k != v]
        if renamed:
            head += ["", "Names (invasim names are letters, digits and _):"]
            head += [f"  {r}" for r in renamed]
        lines = self.notes.lines()
        head += ["", f"Not imported or changed ({len(lines)}):"]
        head += [f"  - {x}" for x in lines] if lines else ["  (nothing)"]
        if self.user_lines:
            head += ["", "User parameters (<user_parameters>):", *self.user_lines]
        return head


def _rule_processes(fields: list[str]) -> set[str]:
    """The processes a rule line's signal and behaviour need (by PhysiCell's names)."""
    sig = " ".join(fields[1].lower().split())
    beh = " ".join(fields[3].lower().split())
    need: set[str] = set()
    if beh in ("cell attachment rate", "cell detachment rate",
               "maximum number of cell attachments", "cell-cell adhesion elastic constant"):
        need.add("attachments")
    if sig.startswith("custom:") or beh.startswith("custom:"):
        need.add("custom_data")
    if sig.startswith(("intracellular ", "internalized ")):
        need.add("secretion")
    if sig in ("pressure", "simple pressure") or sig.startswith("contact with"):
        need.add("contacts")
    if sig == "damage" or beh in ("damage rate", "damage repair rate"):
        need.add("damage")
    if sig in ("total attack time", "attacking") or beh.startswith(("attack ", "immunogenicity")):
        need.add("attack")
    if beh.startswith("phagocytose"):
        need.add("phagocytosis")
    if beh.startswith(("fuse to", "fusion")):
        need.add("fusion")
    if beh.startswith(("transform to", "transition to", "transformation rate")):
        need.add("transformation")
    if beh.startswith(("cycle entry", "exit from cycle phase")):
        need |= {"cycle", "division"}
    if beh in ("apoptosis", "necrosis", "apoptosis rate", "necrosis rate"):
        need.add("death")
    if beh.startswith(("migration", "motility", "chemotactic", "speed", "persistence")):
        need.add("motility")
    if "secretion" in beh or beh.endswith(("uptake", "uptake rate", "export", "export rate")):
        need.add("secretion")
    return need




def _distribution(node, where: str) -> dict | float:
    """A PhysiCell ``<distribution>`` as an invasim distribution table.

    PhysiCell's rejection-sampled truncation is invasim's truncated distribution.
    """
    kind = (node.attr("type") or "").lower()

    def num(tag: str, default: float | None = None) -> float:
        c = node.child(tag)
        if c is None:
            if default is None:
                raise InvasimError(f"{SETTINGS} {where}: a {node.attr('type')} distribution "
                                   f"needs <{tag}>")  # fmt: skip
            return default
        try:
            return float(c.text)
        except ValueError:
            raise InvasimError(f"{SETTINGS} {where} <{tag}> (line {c.line}): {c.text!r} is not "
                               f"a number") from None  # fmt: skip

    if kind in ("uniform", "loguniform"):
        lo, hi = num("min"), num("max")
        if hi < lo or (kind == "loguniform" and lo <= 0):
            raise InvasimError(f"{SETTINGS} {where}: need {'0 < ' if kind != 'uniform' else ''}"
                               f"min <= max, got min {lo:g}, max {hi:g} (PhysiCell stops)")
        if lo == hi:
            return lo
        return {"distribution": kind, "lower": lo, "upper": hi}
    if kind in ("normal", "lognormal", "log10normal"):
        mu, sigma = num("mu"), num("sigma")
        lb = num("lower_bound", 0.0 if kind != "normal" else -math.inf)
        ub = num("upper_bound", math.inf)
        if lb > ub or (kind != "normal" and lb < 0):
            raise InvasimError(f"{SETTINGS} {where}: bounds {lb:g} > {ub:g} or negative "
                               f"(PhysiCell stops)")  # fmt: skip
        scale = math.log(10.0) if kind == "log10normal" else 1.0
        out = {"distribution": "normal" if kind == "normal" else "lognormal",
               "mu": mu * scale, "sigma": sigma * scale}  # fmt: skip
        if math.isfinite(lb) and not (kind != "normal" and lb == 0):
            out["lower"] = lb
        if math.isfinite(ub):
            out["upper"] = ub
        return out
    raise InvasimError(f"{SETTINGS} {where}: distribution type {node.attr('type')!r}; PhysiCell "
                       f"knows Uniform, LogUniform, Normal, LogNormal, Log10Normal")


def _check_base(node, where: str, base: float | None, dist) -> None:
    """PhysiCell stops when ``check_base`` (default true) and the base value lies outside."""
    if base is None or not as_bool(node.attr("check_base", "true")):
        return
    lo, hi = (dist, dist) if isinstance(dist, float) else (
        dist.get("lower", -math.inf), dist.get("upper", math.inf))
    if not lo <= base <= hi:
        raise InvasimError(f"{SETTINGS} {where}: the base value {base:g} lies outside "
                           f"[{lo:g}, {hi:g}] and check_base is true: PhysiCell stops (set "
                           f"check_base=\"false\" to allow it)")
