"""Reading a PhysiCell 1.14 ``PhysiCell_settings.xml`` as PhysiCell reads it.

Contract:
    * :func:`parse_xml` builds a small element tree that remembers each element's line; a
      malformed file raises :class:`~invasim.errors.InvasimError` with one line naming the
      file, the line and the element left open (no traceback, nothing written).
    * Values are read with pugixml's conversions, as PhysiCell reads them
      (``modules/PhysiCell_pugixml.cpp``): a number is the longest numeric prefix of the text
      (``strtod``; no number reads 0), a flag is true when its text starts with ``1``, ``t`` or
      ``y`` (either case). Reading an element marks it *used*; :func:`unused` lists the
      elements nobody read, so the converter can name them instead of dropping them.
    * :func:`read_cell_definitions` reproduces ``initialize_cell_definition_from_pugixml``
      (``core/PhysiCell_cell.cpp``): the definition named ``default`` or with ``ID="0"`` is
      PhysiCell's ``cell_defaults`` (PhysiCell's built-in defaults below it), every other one
      starts as a copy of its ``parent_type`` or of ``cell_defaults`` (with the April 2022
      fix that zeroes motility, secretion, interactions and transformations of an implicit
      copy), then its own elements override. Cycle phase ``fixed_duration`` flags and the
      death models' phase durations belong to PhysiCell's shared model objects, so the last
      definition that writes one sets it for every type (:class:`SharedModels`).
    * Every value carries where it came from (:class:`V`): ``"line N"``, ``"inherited from
      'X'"`` or ``"PhysiCell default"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from invasim.errors import InvasimError

_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE
)
_INT = re.compile(r"\s*[+-]?\d+")


def as_double(text: str) -> float:
    """Pugixml's ``as_double``: the numeric prefix of ``text`` (``strtod``), else 0."""
    m = _NUMBER.match(text or "")
    return float(m.group(0)) if m else 0.0


def as_int(text: str) -> int:
    """Pugixml's ``as_int``: the integer prefix of ``text``, else 0."""
    m = _INT.match(text or "")
    return int(m.group(0)) if m else 0


def as_bool(text: str) -> bool:
    """Pugixml's ``as_bool``: true when the text starts with 1, t, T, y or Y."""
    return (text or "").strip()[:1] in ("1", "t", "T", "y", "Y")


def is_number(text: str) -> bool:
    """Whether ``text`` is a whole number (pugixml would read all of it)."""
    m = _NUMBER.match(text or "")
    return bool(m) and not (text or "")[m.end() :].strip()


@dataclass(eq=False)
class Node:
    """One XML element: tag, attributes, text, children, the line it starts on."""

    tag: str
    attrib: dict[str, str]
    line: int
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    used: bool = False

    @property
    def text(self) -> str:
        """The element's own text, stripped."""
        return "".join(self.parts).strip()

    def child(self, tag: str) -> Node | None:
        """The first child element called ``tag`` (pugixml's ``child``), or None."""
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[Node]:
        """Every child element called ``tag``, in order."""
        return [c for c in self.children if c.tag == tag]

    def use(self) -> Node:
        """Mark this element and its ancestors as read."""
        node: Node | None = self
        while node is not None and not node.used:
            node.used = True
            node = node.parent
        return self

    def use_all(self) -> Node:
        """Mark this element, its ancestors and everything below it as read."""
        self.use()
        stack = list(self.children)
        while stack:
            n = stack.pop()
            n.used = True
            stack.extend(n.children)
        return self

    def double(self) -> float:
        """The element's text as PhysiCell reads a number."""
        return as_double(self.use().text)

    def flag(self) -> bool:
        """The element's text as PhysiCell reads a flag."""
        return as_bool(self.use().text)

    def attr(self, name: str, default: str = "") -> str:
        """An attribute's value (``default`` if absent)."""
        return self.attrib.get(name, default)

    def where(self) -> str:
        """``"line N"``."""
        return f"line {self.line}"

    def path(self) -> str:
        """``<a><b name="x"><c>`` from the root's child down to this element."""
        parts = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            name = node.attrib.get("name")
            parts.append(f'<{node.tag} name="{name}">' if name else f"<{node.tag}>")
            node = node.parent
        return "".join(reversed(parts))


def parse_xml(path: Path) -> Node:
    """The element tree of ``path``; one-line :class:`InvasimError` if it is not well formed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvasimError(f"cannot read {path}: {exc.strerror or exc}") from None
    parser = expat.ParserCreate()
    stack: list[Node] = []
    roots: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, dict(attrs), parser.CurrentLineNumber, stack[-1] if stack else None)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise InvasimError(_xml_error(path, data, exc, stack)) from None
    return roots[0]


def _xml_error(path: Path, data: bytes, exc: expat.ExpatError, stack: list[Node]) -> str:
    """One line: file, line, what is wrong and which element is open."""
    line = exc.lineno
    what = expat.errors.messages[exc.code]
    opened = f"<{stack[-1].tag}> (opened at line {stack[-1].line})" if stack else None
    if what == expat.errors.XML_ERROR_TAG_MISMATCH and stack:
        text = data.decode("utf-8", "replace").splitlines()
        src = text[line - 1] if 0 < line <= len(text) else ""
        at = src.rfind("</", 0, exc.offset + 2)
        m = re.match(r"</\s*([^\s>]+)", src[at:]) if at >= 0 else None
        closing = f"</{m.group(1)}>" if m else "a closing tag"
        return f"{path.name} line {line}: mismatched tag: {closing} closes {opened}"
    if what == expat.errors.XML_ERROR_NO_ELEMENTS and stack:
        return f"{path.name} line {line}: the file ends inside {opened}"
    inside = f" inside {opened}" if opened else ""
    return f"{path.name} line {line}, column {exc.offset + 1}: {what}{inside}"


def unused(root: Node) -> list[Node]:
    """The highest elements nobody read (their parent was read, or they are the root's)."""
    out = []
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if not node.used:
            out.append(node)
        else:
            stack.extend(reversed(node.children))
    return out


# -- values with provenance --------------------------------------------------------------------
@dataclass(frozen=True)
class V:
    """A value and where it came from (``"line 12"``, ``"PhysiCell default"``, ...)."""

    value: Any
    where: str = "PhysiCell default"


def num(node: Node) -> V:
    """The node's number with its line."""
    return V(node.double(), node.where())
