"""Finding, reading, overriding and validating scenarios; writing them back as TOML.

Every failure raises :class:`~invasim.errors.ConfigError` with one line that names the key, the
value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import tomllib
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from invasim.config.schema import Scenario
from invasim.errors import ConfigError

_SCENARIO_PACKAGE = "invasim.config.scenarios"


# -- built-in scenarios ------------------------------------------------------------------------
def builtin_names() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    root = resources.files(_SCENARIO_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _builtin_text(name: str) -> str:
    return resources.files(_SCENARIO_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def read_scenario_data(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario's raw TOML data; returns ``(data, origin)``.

    ``name_or_path`` is a built-in name or a path to a TOML file.
    """
    text_name = str(name_or_path)
    if text_name in builtin_names():
        return _parse_toml(_builtin_text(text_name), f"built-in scenario {text_name!r}"), text_name
    path = Path(text_name)
    looks_like_path = path.suffix == ".toml" or "/" in text_name or path.exists()
    if not looks_like_path:
        hint = difflib.get_close_matches(text_name, builtin_names(), n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise ConfigError(
            f"unknown scenario {text_name!r}: {did}built-in scenarios are "
            f"{', '.join(builtin_names())}, or give the path of a .toml file"
        )
    if not path.is_file():
        raise ConfigError(f"scenario file {text_name!r} does not exist or is not a file")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read scenario file {text_name!r}: {_reason(exc)}") from None
    return _parse_toml(text, f"scenario file {text_name!r}"), str(path)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None


# -- overrides ---------------------------------------------------------------------------------
def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``section.key=value`` into a key path and a TOML-typed value.

    The value is read as a TOML value (``1`` int, ``1.0`` float, ``true``, ``[1, 2]``,
    ``"text"``); anything that is not valid TOML is taken as a bare string.
    """
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    key, raw = text.split("=", 1)
    path = [p.strip() for p in key.strip().split(".")]
    if not all(path):
        raise ConfigError(f"--set {text!r}: empty part in key {key!r}")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``section.key=value`` override set."""
    data = copy.deepcopy(data)
    for text in overrides or []:
        path, value = parse_override(text)
        node = data
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(path[: i + 1])
                raise ConfigError(f"--set {text!r}: {where} is a value, not a table")
            node = child
        node[path[-1]] = value
        dotted = ".".join(path)
        sources = data.get("sources")
        if isinstance(sources, dict) and dotted in sources:
            # the paper's citation no longer describes this value: say where it came from
            sources[dotted] = f"set with --set {dotted}={value!r} (default from: {sources[dotted]})"
    return data


# -- validation --------------------------------------------------------------------------------
_UNION_TAGS = {"float", "int", "str", "bool", "list[float]", "list[int]"}


def _is_union_tag(part: Any) -> bool:
    """Pydantic adds the member's type to the location of a union member's error."""
    return isinstance(part, str) and (
        part in _UNION_TAGS or part.startswith(("literal[", "function-"))
    )


def _describe(err: dict[str, Any], prefix: str, allowed: list[str] | None) -> str:
    parts = [p for p in err["loc"] if not _is_union_tag(p)]
    loc = ".".join(str(p) for p in (*([prefix] if prefix else []), *parts))
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = loc.rsplit(".", 1)[0] if "." in loc else "the top level"
        key = loc.rsplit(".", 1)[-1]
        hint = difflib.get_close_matches(key, allowed or [], n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc!r} in {parent}{did}{listing}"
    if kind == "missing":
        return f"missing required key {loc!r}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" = {json.dumps(value, default=str)}"
    return f"{loc}{shown}: {msg}"


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Keys allowed in the table at ``loc`` (one level above an unknown key)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, _MappingOf):  # a table of named entries: skip the name
            members = _models_of(current.value)
            current = members[0] if len(members) == 1 else None
            if current is None:
                return []
            continue
        current = _sub_schema(current, str(part))
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def validate_model(
    schema: type[BaseModel],
    data: Any,
    origin: str,
    prefix: str = "",
    context: dict[str, Any] | None = None,
) -> BaseModel:
    """``schema`` validated strictly from ``data``; the first problem as one-line ConfigError.

    The line reads ``<origin>: <prefix><key path>: <what is wrong and what is allowed>``.
    """
    try:
        return schema.model_validate(data, strict=True, context=context)
    except ConfigError as exc:  # raised by a validator (e.g. behaviour rules), already one line
        raise ConfigError(f"{origin}: {exc}") from None
    except ValidationError as exc:
        errors = exc.errors()
        err = dict(errors[0])
        first = tuple(p for p in err["loc"] if not _is_union_tag(p))
        same = [e for e in errors if tuple(p for p in e["loc"] if not _is_union_tag(p)) == first]
        if len(same) > 1:  # a union: say every form the value could take
            err["msg"] = " or ".join(dict.fromkeys(e["msg"] for e in same))
        allowed = _allowed_keys(schema, err["loc"]) if err["type"] == "extra_forbidden" else None
        # a value that fits no member of a union fails once per member: count places, not tries
        places = {tuple(p for p in e["loc"] if not _is_union_tag(p)) for e in exc.errors()}
        more = f" (and {len(places) - 1} more problems)" if len(places) > 1 else ""
        raise ConfigError(f"{origin}: {_describe(err, prefix, allowed)}{more}") from None


def validate_scenario(
    data: dict[str, Any], origin: str = "scenario", base_dir: str | Path | None = None
) -> Scenario:
    """Validate raw scenario data, the model's ``[params]`` and its numerical checks.

    ``base_dir`` is the folder that relative file paths in ``[params]`` (e.g. a rules CSV)
    are taken from: the scenario file's folder; the current directory if None.
    """
    from invasim.models import REGISTRY

    scenario = validate_model(Scenario, data, origin)
    assert isinstance(scenario, Scenario)
    if scenario.model not in REGISTRY:
        hint = difflib.get_close_matches(scenario.model, list(REGISTRY), n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise ConfigError(
            f"{origin}: model = {scenario.model!r} is unknown; {did}"
            f"known models: {', '.join(sorted(REGISTRY))}"
        )
    model_cls = REGISTRY[scenario.model]
    context = {"base_dir": None if base_dir is None else str(base_dir)}
    try:
        schema = model_cls.params_schema(scenario.params)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    params = validate_model(schema, scenario.params, origin, "params", context)
    scenario._model_params = params
    for key in scenario.sources:
        if _lookup(scenario.to_data(), key) is _MISSING:
            raise ConfigError(f"{origin}: sources names {key!r}, which is not a scenario key")
    problems = model_cls.check(params, scenario.build_mesh(), scenario.time.dt_min)
    if problems:
        raise ConfigError(f"{origin}: {problems[0]}")
    return scenario


_MISSING = object()


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def load_scenario(
    name_or_path: str | Path | dict[str, Any], overrides: list[str] | None = None
) -> Scenario:
    """Load a built-in scenario by name, a TOML file by path, or raw data; apply overrides.

    Args:
        name_or_path: built-in name (see ``invasim scenarios``), path to a TOML file, or a dict.
        overrides: ``"section.key=value"`` strings, typed and validated exactly like the file.

    Returns:
        The validated :class:`~invasim.config.schema.Scenario`.

    Raises:
        ConfigError: with one line naming what is wrong and what is allowed.
    """
    base_dir: Path | None = None
    if isinstance(name_or_path, dict):
        data, origin = name_or_path, "scenario"
    else:
        data, origin = read_scenario_data(name_or_path)
        if str(name_or_path) in builtin_names():
            base_dir = Path(str(resources.files(_SCENARIO_PACKAGE)))
        else:
            base_dir = Path(origin).parent
    if overrides:
        data = apply_overrides(data, overrides)
        origin = f"{origin} with --set overrides"
    return validate_scenario(data, origin, base_dir)


# -- writing TOML ------------------------------------------------------------------------------
def toml_value(value: Any) -> str:
    """``value`` written as a TOML value (inline tables and arrays, floats that read back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()
                          if v is not None)  # TOML has no null: an unset option is left out
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_key(key: str) -> str:
    """``key`` as a TOML key: bare when it can be, quoted otherwise."""
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def field_doc(schema: Any, key: str) -> str:
    """The description of field ``key`` of pydantic model ``schema`` ("" if none)."""
    fields = getattr(schema, "model_fields", {})
    field = fields.get(key)
    return (field.description or "") if field is not None else ""


class _MappingOf:
    """The schema of a table of named entries (``dict[str, Model]``): each entry a ``value``."""

    def __init__(self, value: type[BaseModel]) -> None:
        self.value = value


def _models_of(ann: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation stands for (one, a union's members, or none)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    if typing.get_origin(ann) is typing.Annotated:
        return _models_of(typing.get_args(ann)[0])
    return [m for a in typing.get_args(ann) for m in _models_of(a)] if typing.get_args(ann) else []


def _sub_schema(schema: Any, key: str, value: Any = None) -> Any:
    """The schema of sub-table ``key`` of ``schema``: a model, a :class:`_MappingOf` or None.

    A union of tables (e.g. the kinds of a field) is resolved by the table's ``kind``.
    """
    if isinstance(schema, _MappingOf):
        members = _models_of(schema.value)
        if len(members) > 1 and isinstance(value, dict):
            for m in members:
                kind = m.model_fields.get("kind")
                if kind is not None and kind.default == value.get("kind"):
                    return m
        return members[0] if members else None
    field = getattr(schema, "model_fields", {}).get(key)
    ann = field.annotation if field is not None else None
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if typing.get_origin(ann) is dict:
        value_ann = typing.get_args(ann)[1]
        if _models_of(value_ann):
            return _MappingOf(value_ann)
    return None


def dump_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML, each value commented with its unit and source."""
    from invasim.models import REGISTRY

    data = scenario.to_data()
    sources = data.pop("sources", {})
    lines: list[str] = [f"# invasim scenario {scenario.name!r}, fully resolved", ""]
    schemas: dict[str, Any] = {
        "": Scenario,
        "mesh": type(scenario.mesh),
        "time": type(scenario.time),
        "params": REGISTRY[scenario.model].params_schema(data.get("params", {})),
    }

    def emit(table: dict[str, Any], path: str, schema: Any) -> None:
        # TOML has no null: a None (an unset optional value) is left out, which reads back as None
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if path:
            lines.append(f"[{path}]")
        for key, value in scalars.items():
            dotted = f"{path}.{key}" if path else key
            doc = field_doc(schema, key)
            src = sources.get(dotted)
            note = " — ".join(s for s in (doc, f"source: {src}" if src else "") if s)
            text = f"{toml_key(key)} = {toml_value(value)}"
            lines.append(f"{text}  # {note}" if note else text)
        if path or scalars:
            lines.append("")
        for key, value in tables.items():
            dotted = f"{path}.{key}" if path else key
            sub = schemas.get(dotted) or _sub_schema(schema, key, value)
            emit(value, dotted, sub)

    emit(data, "", Scenario)
    if sources:
        lines.append("[sources]")
        for key, value in sources.items():
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


# -- named TOML specs shipped in the package (studies, cohorts) --------------------------------
def builtin_toml_names(folder: str) -> list[str]:
    """Names of the ``.toml`` specs shipped in ``invasim/config/<folder>``."""
    root = resources.files("invasim.config").joinpath(folder)
    if not root.is_dir():
        return []
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def read_named_toml(name_or_path: str | Path, folder: str, kind: str,
                    kinds: str) -> tuple[dict[str, Any], str, Path | None]:  # fmt: skip
    """Raw data of a spec (a built-in name in ``invasim/config/<folder>`` or a TOML file).

    Returns the data, its origin for messages (``built-in <kind> 'name'`` or ``<kind> file
    'path'``) and the file's folder (None: built-in). ``kinds`` is the plural for messages.
    Raises ConfigError with one line: an unknown name (with the closest built-in), a missing or
    unreadable file, invalid TOML.
    """
    text_name = str(name_or_path)
    names = builtin_toml_names(folder)
    if text_name in names:
        root = resources.files("invasim.config").joinpath(folder)
        text, where = root.joinpath(f"{text_name}.toml").read_text("utf-8"), None
        origin = f"built-in {kind} {text_name!r}"
    else:
        path = Path(text_name)
        if not (path.suffix == ".toml" or "/" in text_name or path.exists()):
            hint = difflib.get_close_matches(text_name, names, n=1)
            did = f"did you mean {hint[0]!r}? " if hint else ""
            raise ConfigError(f"unknown {kind} {text_name!r}: {did}built-in {kinds} are "
                              f"{', '.join(names)}, or give the path of a .toml file")  # fmt: skip
        if not path.is_file():
            raise ConfigError(f"{kind} file {text_name!r} does not exist or is not a file")
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise ConfigError(f"cannot read {kind} file {text_name!r}: {reason}") from None
        origin, where = f"{kind} file {text_name!r}", path.resolve().parent
    try:
        return tomllib.loads(text), origin, where
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None
