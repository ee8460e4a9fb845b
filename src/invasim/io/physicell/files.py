"""The files around a PhysiCell project's XML: names, rules CSV, cells CSV, custom C++.

Contract:
    * :func:`identifier` turns a PhysiCell name (``"M0 macrophage"``, ``"pro-inflammatory
      factor"``) into an invasim name (a letter, then letters, digits, ``_``);
      :func:`name_map` does it for a list, keeping the names distinct.
    * :func:`translate_rules` rewrites a ``cell_rules.csv`` (v3, PhysiCell 1.14's only form)
      with invasim's names; lines PhysiCell itself skips (a wrong number of fields, an empty
      field) become comments with the reason. :class:`RulesFile` can comment out further
      lines (the converter does so for rules invasim refuses) and keeps the input's line
      numbers for messages.
    * :func:`translate_cells` reads a ``cells.csv`` as PhysiCell 1.14 does (``load_cells_csv``:
      v2 with a header whose first character is ``x``, else v1: ``x,y,z,typeID``) and returns
      the table invasim's ``geometry = "table"`` reads, or None when the file can be used as
      it is; extra columns (``volume``, behaviours, ``custom:...``) are named in the notes.
    * :func:`scan_custom_code` compares a project's ``custom_modules/custom.cpp`` with the
      PhysiCell 1.14 template, function by function (comments, white space, printing and the
      template's optional random-seed and distribution calls aside), and lists what differs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from invasim.errors import InvasimError
from invasim.io.physicell.xml import as_double, is_number

_BAD = re.compile(r"[^A-Za-z0-9_]+")


def identifier(name: str, prefix: str) -> str:
    """An invasim name for PhysiCell's ``name``: runs of other characters become ``_``."""
    out = _BAD.sub("_", name.strip()).strip("_")
    if not out or not out[0].isalpha():
        out = f"{prefix}_{out}" if out else prefix
    return out


def name_map(
    names: list[str], prefix: str, avoid: frozenset[str] = frozenset()
) -> dict[str, str]:
    """``{PhysiCell name: invasim name}``, distinct (a repeat gets ``_2``, ``_3``, ...).

    ``avoid``: invasim names (lower case) that clash with the rules dictionary; they get
    ``_<prefix>`` appended.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = identifier(name, prefix)
        if base.lower() in avoid:
            base = f"{base}_{prefix}"
        new, k = base, 2
        while new.lower() in taken:
            new, k = f"{base}_{k}", k + 1
        taken.add(new.lower())
        out[name] = new
    return out


# -- rules -------------------------------------------------------------------------------------
@dataclass
class RulesFile:
    """A translated rules CSV: one output line per input line (same numbers).

    Attributes:
        source: the input file's name (for messages).
        lines: the output lines.
        original: the input lines.
        dropped: ``{line number: reason}`` of the rule lines turned into comments.
    """

    source: str
    lines: list[str]
    original: list[str]
    dropped: dict[int, str] = field(default_factory=dict)

    def drop(self, number: int, reason: str) -> None:
        """Comment out rule line ``number`` (1-based), saying why."""
        self.lines[number - 1] = f"// not imported ({reason}): {self.lines[number - 1]}"
        self.dropped[number] = reason

    def set_saturation(self, numbers: tuple[int, ...], value: float) -> None:
        """Give rule lines ``numbers`` (1-based) the saturation ``value`` (5th field)."""
        for number in numbers:
            f = self.lines[number - 1].split(",")
            f[4] = repr(float(value))
            self.lines[number - 1] = ",".join(f)

    def rules(self) -> list[list[str]]:
        """The rule lines still active, split into fields."""
        return [ln.split(",") for ln in self.lines if ln.strip() and not ln.startswith("//")]

    def text(self, header: list[str]) -> str:
        """The file: ``header`` comment lines appended at the end (line numbers kept)."""
        return "\n".join([*self.lines, *(f"// {h}" for h in header)]) + "\n"


def swap_name(field_text: str, names: dict[str, str]) -> str:
    """``field_text`` with the one PhysiCell name it contains replaced by its invasim name."""
    s = " ".join(field_text.split())
    low = s.lower()
    for old in sorted(names, key=len, reverse=True):
        new, o = names[old], " ".join(old.split()).lower()
        if low == o:
            return new
        if low.endswith(" " + o) or low.endswith("(" + o + ")"):
            cut = len(o) + (1 if low.endswith(")") else 0)
            return s[: len(s) - cut] + new + (")" if low.endswith(")") else "")
        if low.startswith(o + " "):
            return new + s[len(o) :]
        if low.startswith("custom:") and low[7:].strip() == o:
            return "custom:" + new
    return s


def translate_rules(
    text: str,
    source: str,
    types: dict[str, str],
    subs: dict[str, str],
    ids: dict[int, str] | None = None,
) -> RulesFile:
    """``cell_rules.csv`` text with invasim's names (see the module contract).

    ``ids``: ``{PhysiCell ID: invasim name}``, for PhysiCell's ``... cell type <ID>`` names (the
    ID attribute, which need not be invasim's index).
    """
    lines = []
    dropped: dict[int, str] = {}
    both = {**subs, **types}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        fields = line.split(",")
        if len(fields) != 8 and len(line.split("\t")) == 8:
            fields = line.split("\t")
        if not line.strip() or line.startswith("//"):
            lines.append(line)
            continue
        if len(fields) != 8 or any(not f.strip() for f in fields):
            why = (f"{len(fields)} fields, not 8" if len(fields) != 8 else "an empty field")
            lines.append(f"// not imported (PhysiCell 1.14 skips it too: {why}): {line}")
            dropped[number] = f"PhysiCell 1.14 skips it too: {why}"
            continue
        f = [x.strip() for x in fields]
        f[0] = types.get(f[0], swap_name(f[0], types))
        for k in (1, 3):
            m = re.search(r"\bcell type (\d+)$", " ".join(f[k].split()))
            if ids and m and int(m.group(1)) in ids:
                f[k] = " ".join(f[k].split())[: m.start()] + ids[int(m.group(1))]
            else:
                f[k] = swap_name(f[k], both)
        lines.append(",".join(f))
    return RulesFile(source, lines, text.splitlines(), dropped)


# -- cells -------------------------------------------------------------------------------------
@dataclass
class CellsTable:
    """A cells CSV read as PhysiCell reads it.

    Attributes:
        rows: ``(x, y, z, PhysiCell type name)`` per cell PhysiCell would create.
        version: ``"v1"`` or ``"v2"``.
        extra: ``{column label: number of cells with a value}`` of the v2 extra columns.
        notes: what PhysiCell skips (unknown types) and similar remarks.
        values: per row, ``{column label: value}`` of the v2 extra columns that hold a number
            (PhysiCell sets those per cell; blank entries are absent).
    """

    rows: list[tuple[float, float, float, str]]
    version: str
    extra: dict[str, int]
    notes: list[str]
    values: list[dict[str, float]] = field(default_factory=list)


def read_cells(path: Path, names_by_id: dict[int, str], names: list[str]) -> CellsTable:
    """The cells PhysiCell would create from ``path`` (``load_cells_csv``).

    Raises:
        InvasimError: unreadable file, or a v1 row that is not 4 numbers (PhysiCell stops).
    """
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InvasimError(f"cannot read cells file {path}: {reason}") from None
    lines = text.splitlines()
    rows: list[tuple[float, float, float, str]] = []
    notes: list[str] = []
    extra: dict[str, int] = {}
    values: list[dict[str, float]] = []
    if lines and lines[0][:1] in ("x", "X"):
        labels = next(csv.reader([lines[0]]))
        unknown: dict[str, int] = {}
        for line in lines[1:]:
            tok = line.split(",")
            if len(tok) < 4:
                if line.strip():
                    notes.append(f"{path.name}: row {line!r} has fewer than 4 fields (skipped)")
                continue
            name = tok[3]
            if name not in names:
                unknown[name] = unknown.get(name, 0) + 1
                continue
            rows.append((as_double(tok[0]), as_double(tok[1]), as_double(tok[2]), name))
            row: dict[str, float] = {}
            for k in range(4, min(len(tok), len(labels))):
                if tok[k] and tok[k][:1] not in ("s", "S"):
                    extra[labels[k]] = extra.get(labels[k], 0) + 1
                    if is_number(tok[k]):
                        row[labels[k]] = as_double(tok[k])
            values.append(row)
        for name, n in unknown.items():
            notes.append(f"{path.name}: {n} cell(s) of unknown type {name!r} (PhysiCell skips "
                         f"them too)")  # fmt: skip
        return CellsTable(rows, "v2", extra, notes, values)
    for number, line in enumerate(lines, start=1):
        tok = [t for t in line.split(",")]
        if not line.strip():
            continue
        if len(tok) != 4 or not all(is_number(t) for t in tok):
            raise InvasimError(
                f"{path.name} line {number}: PhysiCell reads a cells file without an x,y,z,type "
                f"header as rows of 4 numbers x,y,z,typeID; got {line!r} (PhysiCell stops too)"
            )
        tid = int(as_double(tok[3]))
        if tid not in names_by_id:
            notes.append(f"{path.name} line {number}: no cell definition has ID {tid} "
                         f"(PhysiCell skips the cell too)")  # fmt: skip
            continue
        rows.append((as_double(tok[0]), as_double(tok[1]), as_double(tok[2]), names_by_id[tid]))
    return CellsTable(rows, "v1", extra, notes)


def cells_csv(
    rows: list[tuple[float, float, float, str]],
    columns: list[str] | None = None,
    values: list[dict[str, float]] | None = None,
) -> str:
    """``x,y,z,type`` CSV text (``repr`` floats: exact), plus ``columns`` from ``values``.

    ``values``: per row, ``{column: number}``; a column a row lacks is left blank.
    """
    columns = columns or []
    buf = io.StringIO()
    buf.write(",".join(["x", "y", "z", "type", *columns]) + "\n")
    for k, (x, y, z, t) in enumerate(rows):
        more = [repr(values[k][c]) if values and c in values[k] else "" for c in columns]
        buf.write(",".join([repr(x), repr(y), repr(z), t, *more]) + "\n")
    return buf.getvalue()


# -- custom C++ --------------------------------------------------------------------------------
#: the PhysiCell 1.14 template's custom.cpp functions: sha256 (first 16 hex digits) of each
#: body with comments, strings, white space, printing and the optional calls removed
TEMPLATE_FUNCTIONS = {
    "create_cell_types": "82a6da4f1ecaa7ae",
    "setup_microenvironment": "ea29827ffabaeb61",
    "setup_tissue": "e68032665d04c410",
    "my_coloring_function": "408be5d896bd91db",
    "phenotype_function": "8beaabe25ab7e0a8",
    "custom_function": "8beaabe25ab7e0a8",
    "contact_function": "8beaabe25ab7e0a8",
}
#: PhysiCell's standard oxygen-dependent phenotype function
O2_PHENOTYPE = "update_cell_and_death_parameters_O2_based"
_OPTIONAL = (
    'if(parameters.ints.find_index("")!=-1){SeedRandom(parameters.ints(""));}',
    "set_parameters_from_distributions();",
)


@dataclass
class CustomCode:
    """What a project's custom C++ holds beyond the template.

    Attributes:
        found: whether ``custom_modules/custom.cpp`` exists.
        folder: whether ``custom_modules`` exists.
        differs: template functions whose body differs or that are missing.
        defined: the functions custom.cpp defines.
        extra: functions the template does not have.
        other_files: other C++ files in ``custom_modules``.
        o2_phenotype: ``update_phenotype`` is PhysiCell's oxygen-based standard model.
    """

    found: bool = False
    folder: bool = False
    differs: list[str] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    o2_phenotype: bool = False

    def template_tissue(self) -> bool:
        """Whether ``setup_tissue`` is the template's (random cells of every type)."""
        return self.found and "setup_tissue" not in self.differs


def _scrub(src: str) -> str:
    """C++ source without comments and with empty string and character literals."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def cpp_functions(src: str) -> dict[str, str]:
    """``{name: body}`` of the top-level function definitions of C++ source ``src``."""
    s = _scrub(src)
    funcs: dict[str, str] = {}
    i, last = 0, 0
    while i < len(s):
        c = s[i]
        if c == "{":
            sig = s[last:i]
            j, depth = i, 0
            while j < len(s):
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                if depth == 0:
                    break
                j += 1
            m = re.search(r"(\w+)\s*\([^()]*\)\s*(?:const\s*)?$", sig)
            if m and not re.match(r"\s*(namespace|struct|class|enum|union)\b", sig):
                funcs[m.group(1)] = s[i + 1 : j]
                i = last = j + 1
                continue
            i = last = i + 1  # a namespace or similar: look inside
            continue
        if c in ";}":
            last = i + 1
        i += 1
    return funcs


def _fingerprint(body: str) -> str:
    body = re.sub(r"std::cout[^;]*;", "", body)
    body = re.sub(r"\s+", "", body)
    for optional in _OPTIONAL:
        body = body.replace(optional, "")
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def scan_custom_code(root: Path | None) -> CustomCode:
    """Compare ``root/custom_modules`` with the PhysiCell 1.14 template (module contract)."""
    out = CustomCode()
    folder = root / "custom_modules" if root is not None else None
    if folder is None or not folder.is_dir():
        return out
    out.folder = True
    main = folder / "custom.cpp"
    for p in sorted(folder.iterdir()):
        if p.suffix in (".cpp", ".cc", ".cxx", ".c") and p.name != "custom.cpp":
            out.other_files.append(p.name)
    if not main.is_file():
        return out
    out.found = True
    try:
        funcs = cpp_functions(main.read_text("utf-8", "replace"))
        out.defined = list(funcs)
    except OSError:  # pragma: no cover - listed as unreadable by the caller
        out.found = False
        return out
    for name, body in funcs.items():
        if name not in TEMPLATE_FUNCTIONS:
            out.extra.append(name)
        elif _fingerprint(body) != TEMPLATE_FUNCTIONS[name]:
            out.differs.append(name)
        if name == "create_cell_types":  # the last assignment wins
            found = re.findall(r"update_phenotype\s*=\s*(\w+)\s*;", body)
            out.o2_phenotype = bool(found) and found[-1] == O2_PHENOTYPE
    out.differs += [n for n in TEMPLATE_FUNCTIONS if n not in funcs]
    return out
