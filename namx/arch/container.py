"""SlimmableContainer: its IR, parse, write and widths (one level per submodel).

Submodel i serves slim values [max_value[i-1], max_value[i]) (the first from 0, the last up to and
including 1). A container has no sizes of its own: they are its submodels', per width.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from ..limits import count
from .base import Architecture, Slimming, Span, first_label
from .reading import Reader, Weights, join, rate_text, show

if TYPE_CHECKING:  # (annotations only)
    from ..model import Model
    from ..widths import WidthLevel


@dataclass(frozen=True, eq=False)
class Container:
    """SlimmableContainer: submodel i is active for slim values in [max_value[i-1], max_value[i])."""

    submodels: tuple[tuple[float, Model], ...]

    @property
    def in_channels(self) -> int:
        return 1

    @property
    def out_channels(self) -> int:
        return 1


def parse(r: Reader, c: dict, path: str, w: Weights, rate: float | None, depth: int) -> Container:
    spath = join(path, "submodels")
    entries = r.list_(r.get(c, "submodels", path), spath)
    if len(entries) > r.limits.widths:
        r.fail(spath, r.limits.exceeded("widths", f"the container offers {count(len(entries))} widths"))
    subs = []
    for i, e in enumerate(entries):
        epath = f"{spath}[{i}]"
        e = r.obj(e, epath)
        max_value = r.num(r.get(e, "max_value", epath), join(epath, "max_value"))
        if max_value < 0:
            r.problem(join(epath, "max_value"), f"must be >= 0, a slim value (got {show(max_value)})")
        if subs and max_value <= subs[-1][0]:
            r.problem(join(epath, "max_value"), f"must be greater than the previous max_value {subs[-1][0]}")
        sub = r.model(r.get(e, "model", epath), join(epath, "model"), depth + 1)
        inner_rate = e["model"].get("sample_rate")
        if rate is not None and inner_rate is not None and inner_rate != rate:
            r.problem(join(epath, "model.sample_rate"),
                      f"is {rate_text(inner_rate)} but the container's is {rate_text(rate)}")
        if sub.in_channels != 1 or sub.out_channels != 1:
            r.problem(join(epath, "model"), "a container submodel must have one input and one output channel")
        subs.append((max_value, sub))
    if subs[-1][0] < 1.0:
        r.problem(f"{spath}[{len(subs) - 1}].max_value", f"the last max_value must be >= 1 (got {subs[-1][0]})")
    return Container(tuple(subs))


def write(net: Container, to_json: Callable[[Model], dict]) -> tuple[dict, list[float]]:
    return {"submodels": [{"max_value": mv, "model": to_json(sub)} for mv, sub in net.submodels]}, []


def _spans(net: Container) -> list[Span]:
    """One level per submodel, with the channels (and label) of the submodel's widest level."""
    spans, lo = [], 0.0
    for i, (max_value, sub) in enumerate(net.submodels):
        hi = max(max_value, 1.0) if i == len(net.submodels) - 1 else max_value
        channels = sub.widths()[-1].channels
        spans.append(Span(lo, hi, channels, first_label(channels)))
        lo = max_value
    return spans


def _at(model: Model, level: WidthLevel) -> Model:
    """The level's submodel (at its widest), carrying the container's metadata, name and rate."""
    sub = model.net.submodels[level.index][1].at()
    rate = model.sample_rate if sub.sample_rate_assumed else sub.sample_rate
    return replace(sub, metadata={**model.metadata, **sub.metadata}, source=model.source, notes=model.notes,
                   sample_rate=rate, sample_rate_assumed=sub.sample_rate_assumed and model.sample_rate_assumed)


ARCH = Architecture(
    name="SlimmableContainer", net=Container, parse=parse, write=write, sizes=None, channels=None,
    slimming=Slimming(slimmable=lambda net: True, count=lambda net: len(net.submodels), spans=_spans, at=_at),
    source_form=False,
)
