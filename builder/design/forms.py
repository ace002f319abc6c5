"""Form descriptions generated from a node type's params model, independent of Streamlit."""

from __future__ import annotations

import enum
import types
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo

from runtime.errors import SpecError
from runtime.spec import load_yaml_value

FieldKind = Literal["text", "textarea", "number", "integer", "bool", "select", "list", "json"]

# Key of errors that belong to the whole form rather than to one field.
FORM_ERROR = "_form"
# Plain strings longer than this are edited in a text area.
_LONG_TEXT = 200


class FieldSpec(BaseModel):
    """How one parameter is edited: the widget kind, its label, help, bounds and choices."""

    name: str = Field(description="The parameter's name in the params model.")
    label: str = Field(description="Label shown next to the widget.")
    help: str = Field("", description="The parameter's description: the widget's help text.")
    kind: FieldKind = Field(description="Which widget edits it.")
    required: bool = Field(False, description="The params model has no default for it.")
    default: Any = Field(None, description="The default value (None when required).")
    min: int | float | None = Field(None, description="Lower bound (from ge/gt constraints).")
    max: int | float | None = Field(None, description="Upper bound (from le/lt constraints).")
    options: list[Any] | None = Field(None, description="Choices of a select field.")
    is_template: bool = Field(False, description="String values are Jinja2 templates.")
    is_expression: bool = Field(False, description="The value is a condition expression.")
    is_node_ref: bool = Field(False, description="The value names another node.")
    nullable: bool = Field(False, description="None is an allowed value.")


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` as (X, True); anything else as (annotation, False)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) < len(get_args(annotation)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return annotation, False


def _choices(annotation: Any) -> list[Any] | None:
    """The options of a Literal or Enum annotation, else None."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [m.value for m in annotation]
    return None


def _kind(annotation: Any, flags: dict[str, Any]) -> tuple[FieldKind, list[Any] | None]:
    if (options := _choices(annotation)) is not None:
        return "select", options
    if annotation is bool:
        return "bool", None
    if annotation is int:
        return "integer", None
    if annotation is float:
        return "number", None
    if annotation is str:
        long = flags.get("template") or flags.get("expression")
        return ("textarea" if long else "text"), None
    if get_origin(annotation) is list and get_args(annotation) in ((str,), ()):
        return "list", None
    return "json", None


def _bounds(finfo: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for meta in finfo.metadata:
        for attr in ("ge", "gt"):
            if getattr(meta, attr, None) is not None:
                low = getattr(meta, attr)
        for attr in ("le", "lt"):
            if getattr(meta, attr, None) is not None:
                high = getattr(meta, attr)
    return low, high


def _flags(finfo: FieldInfo) -> dict[str, Any]:
    extra = finfo.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _default(finfo: FieldInfo) -> Any:
    if finfo.is_required():
        return None
    return finfo.get_default(call_default_factory=True)


def form_fields(params_model: type[BaseModel]) -> list[FieldSpec]:
    """Describe the form that edits ``params_model``, one field per parameter.

    Args:
        params_model: a node type's ``Params`` class.

    Returns:
        The fields in declaration order.
    """
    out = []
    for name, finfo in params_model.model_fields.items():
        annotation, nullable = _strip_optional(finfo.annotation)
        flags = _flags(finfo)
        kind, options = _kind(annotation, flags)
        default = _default(finfo)
        max_length = max((getattr(m, "max_length", 0) or 0 for m in finfo.metadata), default=0)
        if kind == "text" and max_length > _LONG_TEXT:
            kind = "textarea"
        low, high = _bounds(finfo)
        out.append(
            FieldSpec(
                name=name,
                label=finfo.title or name.replace("_", " ").capitalize(),
                help=finfo.description or "",
                kind=kind,
                required=finfo.is_required(),
                default=default,
                min=low,
                max=high,
                options=options,
                is_template=bool(flags.get("template")),
                is_expression=bool(flags.get("expression")),
                is_node_ref=bool(flags.get("node_ref")),
                nullable=nullable,
            )
        )
    return out


def _to_plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def dump_json_text(value: Any) -> str:
    """A value as the YAML text a ``json`` field shows (empty for None)."""
    if value is None:
        return ""
    return yaml.safe_dump(_to_plain(value), sort_keys=False, allow_unicode=True).strip()


def initial_values(params_model: type[BaseModel], params: dict[str, Any]) -> dict[str, Any]:
    """Widget values for a node's current params: the inverse of :func:`coerce_form_values`.

    Lists become one entry per line and ``json`` fields YAML text; missing parameters show
    their default. Required parameters with no value show an empty widget.

    Args:
        params_model: a node type's ``Params`` class.
        params: the node's params as stored in the spec (may be incomplete or invalid).
    """
    values: dict[str, Any] = {}
    for spec in form_fields(params_model):
        value = params.get(spec.name, spec.default)
        if spec.kind == "list":
            values[spec.name] = (
                "\n".join(map(str, value or []))
                if isinstance(value, list)
                else ("" if value is None else str(value))
            )
        elif spec.kind == "json":
            values[spec.name] = dump_json_text(value)
        elif spec.kind in ("text", "textarea"):
            values[spec.name] = "" if value is None else str(value)
        else:
            values[spec.name] = value
    return values


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse(spec: FieldSpec, value: Any) -> Any:
    """One widget value converted to the parameter's Python value.

    Raises:
        ValueError: with a message for the field.
    """
    if spec.kind == "list":
        if isinstance(value, list | tuple):
            return [str(v).strip() for v in value if str(v).strip()]
        return [line.strip() for line in str(value).splitlines() if line.strip()]
    if spec.kind == "json":
        if not isinstance(value, str):
            return value
        try:
            return load_yaml_value(value)  # bounded: no alias bombs, no duplicate keys
        except SpecError as exc:
            raise ValueError(str(exc)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            what = getattr(exc, "problem", None) or exc
            raise ValueError(f"not valid YAML or JSON{where}: {what}") from None
    if spec.kind in ("number", "integer"):
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            number = float(value) if isinstance(value, str) else value
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if spec.kind == "integer":
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        return number
    if spec.kind == "bool" and isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{value!r} is not yes or no")
    if spec.kind == "select" and spec.options and value not in spec.options:
        match = [o for o in spec.options if str(o) == str(value)]
        return match[0] if match else value  # the model reports a value that fits no option
    return value


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "required"
    elif err["type"] == "extra_forbidden":
        msg = "unknown parameter"
    rest = ".".join(str(x) for x in err["loc"][1:])
    return f"{rest}: {msg}" if rest else msg


def coerce_form_values(
    params_model: type[BaseModel], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn widget values back into params and validate them with the params model.

    Empty optional values are left out (so the default applies); list text gives one entry per
    line; ``json`` text is parsed as YAML (JSON is valid YAML); numbers are parsed.

    Args:
        params_model: a node type's ``Params`` class.
        raw: widget values by field name (strings, numbers, bools, lists, or parsed data).

    Returns:
        ``(params, errors)``. Without errors, ``params`` is the validated model dumped without
        its defaults (ready for ``NodeSpec.params``). With errors, ``params`` holds what could be
        parsed and ``errors`` maps a field name (or ``FORM_ERROR``) to one message.
    """
    specs = {s.name: s for s in form_fields(params_model)}
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None:
            errors[name] = f"unknown parameter; known: {', '.join(specs)}"
            continue
        if _is_empty(value):
            if spec.required:
                errors[name] = "required"
            continue
        try:
            params[name] = _parse(spec, value)
        except ValueError as exc:
            errors[name] = str(exc)
    for name, spec in specs.items():
        if spec.required and name not in raw:
            errors[name] = "required"
    try:
        model = params_model.model_validate(params)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else FORM_ERROR
            errors.setdefault(field, _message(err))
        return params, errors
    if errors:
        return params, errors
    return model.model_dump(mode="json", exclude_defaults=True), {}
