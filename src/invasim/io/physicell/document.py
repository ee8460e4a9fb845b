"""The imported scenario as a commented TOML document, and the list of what is not imported.

Contract:
    * :class:`Doc` holds tables of ``key = value  # comment`` rows in order; each row may carry
      a source, written to ``[sources]`` (``invasim show`` prints them beside the values).
      :meth:`Doc.data` is the scenario as data (what is validated), :meth:`Doc.render` the text.
    * :class:`Notes` collects what is not imported, one sentence each, with the cell types it
      concerns (the same sentence for several types is one line).
"""

from __future__ import annotations

from typing import Any


class Doc:
    """Tables of ``key = value  # comment`` rows, in order, with a ``[sources]`` entry each."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[str, Any, str, str | None]]] = {"": []}
        self.heads: dict[str, str] = {}

    def table(self, name: str, head: str = "") -> None:
        """Start table ``name`` (``[name]``), with a comment line above it."""
        self.rows.setdefault(name, [])
        if head:
            self.heads[name] = head

    def put(self, table: str, key: str, value: Any, comment: str = "", source: str = "") -> None:
        """Add ``key = value`` to ``table``; ``source`` goes to ``[sources]``."""
        self.rows.setdefault(table, []).append((key, value, comment, source or None))

    def get(self, table: str, key: str, default: Any = None) -> Any:
        """A value already put."""
        return next((v for k, v, _, _ in self.rows.get(table, []) if k == key), default)

    def drop_table(self, name: str) -> None:
        """Remove a table (and the tables below it)."""
        for t in [t for t in self.rows if t == name or t.startswith(name + ".")]:
            del self.rows[t]
            self.heads.pop(t, None)

    def data(self) -> dict[str, Any]:
        """The nested data."""
        out: dict[str, Any] = {}
        for table, rows in self.rows.items():
            node = out
            for part in table.split(".") if table else ():
                node = node.setdefault(part, {})
            for key, value, _, _ in rows:
                node[key] = value
        sources = {
            f"{t}.{k}" if t else k: s for t, rows in self.rows.items() for k, _, _, s in rows if s
        }
        if sources:
            out["sources"] = sources
        return out

    def render(self, header: list[str]) -> str:
        """The TOML text: ``header`` comment lines, the tables, ``[sources]``."""
        from invasim.config.loader import toml_key, toml_value  # config is a lower layer

        lines = [f"# {h}".rstrip() for h in header] + [""]
        for table, rows in self.rows.items():
            if table:
                if table in self.heads:
                    lines.append(f"# {self.heads[table]}")
                lines.append(f"[{table}]")
            for key, value, comment, _ in rows:
                text = f"{toml_key(key)} = {toml_value(value)}"
                lines.append(f"{text}  # {comment}" if comment else text)
            lines.append("")
        sources = self.data().get("sources", {})
        if sources:
            lines.append("# where each value comes from (`invasim show` prints them)")
            lines.append("[sources]")
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in sources.items()]
            lines.append("")
        return "\n".join(lines)


# -- notes -------------------------------------------------------------------------------------
class Notes:
    """What is not imported, grouped: one sentence, the cell types it concerns."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, text: str, cell_type: str | None = None) -> None:
        """Record ``text`` (for ``cell_type``)."""
        types = self.items.setdefault(text, [])
        if cell_type is not None and cell_type not in types:
            types.append(cell_type)

    def lines(self) -> list[str]:
        """One line per item, with its cell types."""
        out = []
        for text, types in self.items.items():
            if types:
                text += f" [cell type{'s' if len(types) > 1 else ''}: {', '.join(types)}]"
            out.append(text)
        return out


def fmt(x: float) -> str:
    """A number for a sentence (6 significant digits)."""
    return f"{x:.6g}"

