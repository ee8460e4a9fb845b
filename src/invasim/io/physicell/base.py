"""The converter's shared state and helpers, and its constants.

Contract:
    * :class:`Base` reads the XML (:func:`~invasim.io.physicell.xml.parse_xml`), checks its
      root, and holds what every part of the conversion writes to: the document
      (:class:`~invasim.io.physicell.document.Doc`), the notes, the companion files. The parts
      (:mod:`~invasim.io.physicell.environment`, :mod:`~invasim.io.physicell.phenotype`,
      :mod:`~invasim.io.physicell.project`) are mixins of it.
    * :meth:`Base.put` writes a value with its source: the comment names the element and its
      line, the ``[sources]`` entry ``PhysiCell_settings.xml line N <element>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invasim.errors import InvasimError
from invasim.io.physicell.document import Doc, Notes
from invasim.io.physicell.files import CustomCode, RulesFile, scan_custom_code
from invasim.io.physicell.xml import Node, V, is_number, parse_xml

SETTINGS = "PhysiCell_settings.xml"
#: processes in the order a scenario lists them
PROCESS_ORDER = (
    "secretion", "diffusion", "mechanics", "motility", "attachments", "contacts", "volume",
    "death", "cycle", "division", "transformation", "phagocytosis", "attack", "fusion", "damage",
    "custom_data",
)  # fmt: skip
#: cell-type sub-tables in the order of PhysiCell's <phenotype>
PHENOTYPE_ORDER = (
    "volume", "cycle", "death", "mechanics", "attachments", "motility", "secretion",
    "transformation", "phagocytosis", "attack", "fusion", "damage", "custom_data",
)  # fmt: skip
#: the PhysiCell model invasim's diffusion scheme reproduces (BioFVM: LOD backward Euler)
SCHEME = "lod-be"


class Base:
    """The state of one conversion and the helpers every part uses."""

    def __init__(
        self, xml: Path, project: Path, out_name: str, avoid: frozenset[str] = frozenset()
    ) -> None:
        self.xml, self.project, self.out_name = xml, project, out_name
        self.avoid = avoid  # names that clash with the rules dictionary (lower case)
        self.root = parse_xml(xml)
        if self.root.tag != "PhysiCell_settings":
            raise InvasimError(
                f"{xml.name} line {self.root.line}: the root element is <{self.root.tag}>, "
                f"not <PhysiCell_settings>: not a PhysiCell settings file"
            )
        self.root.use()
        self.doc = Doc()
        self.notes = Notes()
        self.files: dict[str, str | Path] = {}
        self.rules: RulesFile | None = None
        self.rules_name = f"{out_name}_cell_rules.csv"
        self.cells_name = f"{out_name}_cells.csv"
        self.code: CustomCode = scan_custom_code(project)

    # where a value comes from, for comments and [sources]
    def src(self, where: str, element: str = "") -> tuple[str, str]:
        """``(comment, source)`` of a value read at ``where`` from ``element``."""
        comment = f"{element}, {where}" if element else where
        tag = element if element.startswith("<") else f"<{element}>"
        if where.startswith("line"):
            return comment, f"{SETTINGS} {where} {tag}" if element else f"{SETTINGS} {where}"
        return comment, f"{SETTINGS}: {where}" + (f" ({tag})" if element else "")

    def put(self, table: str, key: str, v: V | Any, element: str = "", extra: str = "") -> None:
        """Write ``key`` of ``table`` from a value with provenance (or a plain value)."""
        value, where = (v.value, v.where) if isinstance(v, V) else (v, "")
        comment, source = self.src(where, element) if where else (extra, "")
        if extra and where:
            comment = f"{comment}; {extra}"
        self.doc.put(table, key, value, comment, source)

    def node(self, *path: str) -> Node | None:
        """The element at ``path`` below the root (None if any step is missing)."""
        node: Node | None = self.root
        for tag in path:
            node = node.child(tag) if node is not None else None
        return node

    def value(self, *path: str, default: float = 0.0) -> V:
        """The number at ``path`` as PhysiCell reads it (``default`` if absent)."""
        node = self.node(*path)
        if node is None:
            return V(default, f"element absent: {'/'.join(path)} reads {default:g}")
        if node.text and not is_number(node.text):
            self.notes.add(f"<{'><'.join(path)}> (line {node.line}): {node.text!r} is not a "
                           f"number; PhysiCell reads {node.double():g}")  # fmt: skip
        return V(node.double(), node.where())
