"""Validate .nam files against the A2 spec: the JSON Schema plus the loader's semantic checks.

    result = validate_file("amp.nam")
    result.valid                             # no problems
    for p in result.problems: print(p)       # amp.nam: config.layers[0].dilations[3]: must be ...

The schema (spec/a2/<version>/nam.schema.json) states the structure: keys, types, ranges, names.
The rules between values (weight count, channel chains, groups, ascending max_value, PReLU slope
counts, ...) are the loader's own checks (`namx.loader.check`), so they are written once.
Every problem is a ModelError (file, JSON path, message), the same type the loader raises.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import loader
from .arch.reading import show
from .errors import ModelError
from .limits import current as current_limits

MAX_PROBLEMS = 50  # per file; more are summarised in one line
THIN_FROM = 100_000  # weights; the largest real model has under 50,000
CONFIG_VALUES = 100_000  # values a .nam file may hold besides its weights, far above any real config


@dataclass(frozen=True)
class Result:
    problems: list[ModelError]
    notes: tuple[str, ...] = ()  # for a valid file: what a user should know (e.g. partial version support)

    @property
    def valid(self) -> bool:
        return not self.problems


@cache
def schema() -> dict:
    from .spec import SCHEMA
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


@cache
def _validator():
    import jsonschema
    return jsonschema.Draft202012Validator(schema())


def validate_file(path: str | Path, source: str | None = None) -> Result:
    """Every problem with one .nam file, as ModelErrors naming `source` (default: the path)."""
    source = str(path) if source is None else source
    limits = current_limits()
    try:
        obj = loader.parse_json(loader.read_file(path, source, limits), source, limits)
    except ModelError as e:
        return Result([e])
    return validate(obj, source)


def validate(obj: Any, source: str = "<json>") -> Result:
    """Schema problems first (in file order), then the loader's, each path reported once.

    The loader's checks between values run in its reading order and stop at a value it cannot
    read, so a rule broken after such a value shows once the structure is fixed.
    """
    limits = current_limits()
    cap = limits.weights + CONFIG_VALUES
    if _count_values(obj, cap) > cap:  # the schema would visit every value: a hostile object could hold billions
        return Result([ModelError(source, limits.exceeded("weights", f"holds more than {cap} values"), "(top level)")])
    found = schema_problems(obj, source)
    check = loader.check(obj, source, limits)
    semantic = check.problems
    if not check.complete and any(_related(semantic[-1].path, p.path) for p in found):
        # The loader stopped at a value it cannot read, which the schema has reported already in
        # its own words (at the same place, or at a key inside or around it).
        semantic = semantic[:-1]
    seen = {p.path for p in found}
    found += [p for p in semantic if p.path not in seen]
    if len(found) > MAX_PROBLEMS:
        found = found[:MAX_PROBLEMS] + [ModelError(source, f"... and {len(found) - MAX_PROBLEMS} more problems")]
    return Result(found, check.notes)


def _count_values(obj: Any, cap: int) -> int:
    """How many JSON values obj holds, counting stops once past cap (so at most about cap are visited)."""
    count, stack = 0, [obj]
    while stack and count <= cap:
        value = stack.pop()
        if isinstance(value, (list, dict)):
            items = value.values() if isinstance(value, dict) else value
            count += len(items)
            if count <= cap:
                stack.extend(v for v in items if isinstance(v, (list, dict)))
    return count


def _thin_weights(obj: Any) -> Any:
    """obj with every long all-number `weights` list cut to one entry: the schema would check millions of
    numbers one by one in Python, where one C-level type check over the list says the same. (Real models'
    lists are far shorter than THIN_FROM and reach the schema whole.)"""
    if isinstance(obj, list):
        return [_thin_weights(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: _thin_weights(v) for k, v in obj.items() if k != "weights"}
    if "weights" in obj:
        w = obj["weights"]
        long_numbers = isinstance(w, list) and len(w) > THIN_FROM and set(map(type, w)) <= {int, float}
        out["weights"] = w[:1] if long_numbers else _thin_weights(w)
    return {k: out[k] for k in obj}  # (the file's key order: problems are reported in it)


def schema_problems(obj: Any, source: str = "<json>") -> list[ModelError]:
    """What the JSON Schema alone finds, in document order, one message per problem."""
    try:
        errors = list(_validator().iter_errors(_thin_weights(obj)))
    except RecursionError:
        return [ModelError(source, "nested too deeply to validate", "(top level)")]
    except ValueError:  # jsonschema prints an integer too long for Python to print (only from objects, not files)
        return [ModelError(source, f"holds an integer of more than {sys.get_int_max_str_digits()} digits",
                           "(top level)")]
    out: list[ModelError] = []
    for error in sorted(errors, key=lambda e: _position(obj, e.absolute_path)):
        for path, message in _describe(error):
            if not any(p.path == path and p.problem == message for p in out):
                out.append(ModelError(source, message, path))
    return out


# ---- turning jsonschema errors into one-line problems ---------------------------------------------

def _related(a: str, b: str) -> bool:
    """Whether one JSON path is the other or inside it."""
    def inside(x, y):
        return x == y or y == "(top level)" or x.startswith((y + ".", y + "["))
    return inside(a, b) or inside(b, a)


def _position(obj, path) -> list[int]:
    """Where a JSON path points in the document, for listing problems in file order."""
    out = []
    for part in path:
        if isinstance(obj, dict) and part in obj:
            out.append(list(obj).index(part))
        elif isinstance(obj, list) and isinstance(part, int) and part < len(obj):
            out.append(part)
        else:  # a missing key: after what is there
            out.append(len(obj) if isinstance(obj, (dict, list)) else 0)
            obj = None
            continue
        obj = obj[part]
    return out


def _describe(error) -> list[tuple[str, str]]:
    path = _path(error.absolute_path)
    custom = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    if custom:
        return [(path, custom + ("" if isinstance(error.instance, dict) else _got(error.instance)))]
    v, value, instance = error.validator, error.validator_value, error.instance
    if v == "required":
        return [(_join(path, key), "required key is missing") for key in value if key not in instance]
    if v in ("anyOf", "oneOf"):
        return _describe_alternatives(error, path)
    if v == "type":
        message = "must be " + " or ".join(_TYPE_NAMES[t] for t in ([value] if isinstance(value, str) else value))
    elif v == "minimum":
        message = f"must be {_number_kind(error.schema)} >= {_num(value)}"
    elif v == "exclusiveMinimum":
        message = "must be positive" if value == 0 else f"must be > {_num(value)}"
    elif v == "maximum":
        message = "is too large"
    elif v == "enum":
        message = "must be one of " + ", ".join(map(str, value))
    elif v == "const":
        message = f"must be {json.dumps(value)}"
    elif v == "minItems" and value == 1:
        message = "must not be empty"
    elif v == "minItems":
        message = f"must have at least {value} entries"
    elif v == "maxItems":
        message = f"must have at most {value} entries"
    else:
        return [(path, error.message)]
    return [(path, message + _got(instance))]


def _describe_alternatives(error, path: str) -> list[tuple[str, str]]:
    """anyOf: if the value has the type of one alternative, its problems; else the types expected."""
    by_branch: dict[int, list] = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    for subs in by_branch.values():
        if not any(s.validator == "type" and not s.relative_path for s in subs):
            return [d for s in subs for d in _describe(s)]
    types = [s.validator_value for subs in by_branch.values() for s in subs
             if s.validator == "type" and not s.relative_path]
    names = [_TYPE_NAMES[t] for v in types for t in ([v] if isinstance(v, str) else v)]
    return [(path, "must be " + " or ".join(dict.fromkeys(names)) + _got(error.instance))]


_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
               "object": "an object", "array": "a list", "null": "null"}


def _number_kind(subschema) -> str:
    return "an integer" if isinstance(subschema, dict) and subschema.get("type") == "integer" else "a number"


def _num(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _got(value) -> str:
    if isinstance(value, list):
        return f" (got a list of {len(value)})"
    if isinstance(value, dict):
        return " (got an object)"
    return f" (got {show(value)})"


def _path(parts) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out or "(top level)"


def _join(path: str, key: str) -> str:
    return key if path in ("", "(top level)") else f"{path}.{key}"


def render(results: list[tuple[str, Result]], spec_version: str, as_json: bool = False) -> str:
    """`namx validate`'s output for (file name, result) pairs: JSON, or one line per problem
    (`file: json.path: problem`), per valid file and per note."""
    from .text import one_line
    if as_json:
        return json.dumps({"spec_version": spec_version, "valid": all(r.valid for _, r in results), "files": [
            {"file": name, "valid": r.valid, "problems": [{"path": p.path, "message": p.problem} for p in r.problems],
             "notes": list(r.notes)} for name, r in results]}, indent=2)
    lines = []
    for name, r in results:
        lines += [one_line(str(p)) for p in r.problems]
        if r.valid:
            lines.append(f"{name}: valid (A2 spec {spec_version})")
        lines += [f"{name}: note: {note}" for note in r.notes]
    return "\n".join(lines)
