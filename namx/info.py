"""`namx info MODEL`: what a model offers, per width level (channels, sizes, costs), as data and text."""
from __future__ import annotations

import json

from . import bundled
from .text import printable


def describe(model) -> dict:
    """What `namx info` reports, as plain data."""
    from .stats import macs_per_sample, num_weights, prewarm_samples, receptive_field
    levels = []
    widest = model.widths()[-1]
    for lv in model.widths():
        plain = model.at(lv)
        levels.append({
            "width": lv.label, "level": lv.index, "slim_interval": [lv.slim_lo, lv.slim_hi],
            "channels": list(lv.channels), "architecture": plain.architecture,
            "weights": num_weights(plain), "macs_per_sample": macs_per_sample(plain),
            "receptive_field": receptive_field(plain), "prewarm_samples": prewarm_samples(plain),
            "default": lv.index == widest.index,
        })
    return {
        "file": model.source, "architecture": model.architecture, "version": model.version,
        "sample_rate": model.sample_rate, "sample_rate_assumed": model.sample_rate_assumed,
        "widths": levels, "metadata": model.metadata, "notes": list(model.notes),
    }


def render(info: dict, as_json: bool = False) -> str:
    """describe()'s data as `namx info` prints it: JSON, or a header and a table of width levels."""
    if as_json:
        return json.dumps(info, indent=2)
    rate = f"{info['sample_rate']:g} Hz" + (" (assumed: the file has none)" if info["sample_rate_assumed"] else "")
    n = len(info["widths"])
    lines = [printable(bundled.shorten(info["file"])),
             f"  architecture     {info['architecture']} (file version {info['version']})",
             f"  sample rate      {rate}",
             f"  widths           {n} level{'s' if n > 1 else ''}: {', '.join(w['width'] for w in info['widths'])}"]
    header = ("width", "slim values", "channels", "weights", "MACs/sample", "receptive field", "architecture")
    rows = []
    for w in info["widths"]:
        lo, hi = w["slim_interval"]
        span = f"[{lo:.3g}, {hi:.3g}{']' if w is info['widths'][-1] else ')'}"
        rf = w["receptive_field"]
        rows.append((w["width"] + (" *" if w["default"] else ""), span, "/".join(map(str, w["channels"])) or "-",
                     str(w["weights"]), str(w["macs_per_sample"]), "unbounded" if rf is None else f"{rf} samples",
                     w["architecture"]))
    if info["architecture"] != "SlimmableContainer":  # the architecture column says something only there
        header, rows = header[:-1], [r[:-1] for r in rows]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines += ["    " + "  ".join(c.ljust(wd) for c, wd in zip(r, widths)).rstrip() for r in (header, *rows)]
    lines.append("    (* = default width)")
    meta = {k: v for k, v in info["metadata"].items() if not isinstance(v, (dict, list))}
    if meta:
        lines.append("  metadata")
        lines += [f"    {printable(k):<17}{printable(v)}" for k, v in meta.items()]
    return "\n".join(lines)
