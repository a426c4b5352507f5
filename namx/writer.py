"""Write a Model as .nam JSON: the inverse of loader.py.

`to_json(model)` builds the .nam object (config keys the core reads, weights in the core's
consumption order, metadata and sample rate kept), `dumps` makes the text and `save` writes a
file atomically. Loading what this writes gives a model with bit-identical float32 weights:
weights are written as the exact decimal of each float32 (`repr` of the float64 it widens to).

A model loaded from a file and not changed since is written in its source's form: its config
and weights exactly as the file had them (`Model.raw`), each submodel of a container in its own
form. That matters beyond tidiness: NeuralAmpModelerCore recognises A2-shaped WaveNets by their
config's form (e.g. a per-layer `activation` list) and runs those on a fast path (spec §3.12).
"Unchanged" is checked, not assumed: the source form is used only when regenerating it gives
the same config and weights as regenerating the model. Otherwise the config is regenerated from
the typed model, so spellings the loader accepts but the typed model does not keep (legacy
`gated`/`head_size` keys, a Linear's `implementation` hint, a config `head_scale` that differs
from the last weight) come out in their current form.
"""
from __future__ import annotations

import json
from pathlib import Path

from .arch import of
from .errors import NamxError
from .loader import from_json
from .model import Model
from .outputs import atomic_output, check_output_path
from .widths import slimmable

SLIMMABLE_VERSION = "0.7.0"  # the first file version with slimmable WaveNets and SlimmableContainer


def to_json(model: Model) -> dict:
    """The .nam object for a model (a dict ready for json.dumps)."""
    config, weights = _source_form(model) or _generated(model)
    obj = {"version": _version(model), "metadata": model.metadata, "architecture": model.architecture,
           "config": config, "weights": weights}
    if not model.sample_rate_assumed:  # (as the source spelled it, e.g. 48000 rather than 48000.0)
        source_rate = (model.raw or {}).get("sample_rate")
        obj["sample_rate"] = source_rate if source_rate == model.sample_rate else model.sample_rate
    return obj


def dumps(model: Model) -> str:
    return json.dumps(to_json(model))


def save(model: Model, path: str | Path, *, force: bool = False) -> Path:
    """Write the model as a .nam file (atomically; an existing file only with force)."""
    path = check_output_path(path, force, suffixes=(".nam",))
    text = dumps(model)
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return path


def _generated(model: Model) -> tuple[dict, list[float]]:
    """(config, weights) regenerated from the typed model (by its architecture, namx.arch)."""
    return of(model.net).write(model.net, to_json)


def _source_form(model: Model) -> tuple[dict, list] | None:
    """(config, weights) in the source file's form: as the file had them if the model is still
    what was loaded from it; for a model derived from it (a channel-sliced width), the source's
    config with only the values the derivation changed replaced; None if neither describes it."""
    raw = model.raw
    if raw is None or not of(model.net).source_form:  # (a container's submodels keep their own forms)
        return None
    source, wanted = _generated(from_json(raw, model.source)), _generated(model)
    if source == wanted:
        return raw["config"], raw["weights"]
    config = _merge(raw["config"], source[0], wanted[0])
    try:
        if _generated(from_json({**raw, "config": config, "weights": wanted[1]}, model.source)) != wanted:
            return None
    except NamxError:
        return None
    return config, wanted[1]


def _merge(raw, source, wanted):
    """`raw` with each value where the generated forms differ (`source`: of the raw model,
    `wanted`: of the model to write) taken from `wanted`; a per-layer list stays a list."""
    if isinstance(raw, dict) and isinstance(source, dict) and isinstance(wanted, dict):
        out = dict(raw)
        for key in [*source, *(k for k in wanted if k not in source)]:  # (an order that does not vary)
            if source.get(key) == wanted.get(key):
                continue
            if key not in wanted:
                if key in raw:  # an option the written model does not use: NAM's trainer writes it as null
                    out[key] = None
            elif key in raw and key in source:
                out[key] = _merge(raw[key], source[key], wanted[key])
            else:
                out[key] = wanted[key]
        return out
    if all(isinstance(v, list) for v in (raw, source, wanted)) and len(raw) == len(source) == len(wanted):
        return [_merge(r, s, w) for r, s, w in zip(raw, source, wanted)]
    if isinstance(raw, list) and not isinstance(source, list) and not isinstance(wanted, list):
        return [_merge(r, source, wanted) for r in raw]  # one value for every layer, spelled per layer
    return wanted


def _version(model: Model) -> str:
    as_tuple = tuple(int(p) for p in model.version.split("."))
    if slimmable(model.net) and as_tuple < (0, 7, 0):
        return SLIMMABLE_VERSION
    return model.version
