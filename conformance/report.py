"""Reports of a conformance run: JSON (report.schema.json), Markdown, and PNG plots.

    write(report, folder, force=False) -> [paths]   # report.json, report.md, error.png, rtf.png

matplotlib is imported only here, when plots are drawn.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from namx.outputs import atomic_output, check_output_folder, output_set

SCHEMA = Path(__file__).with_name("report.schema.json")
FILES = ("report.json", "report.md", "error.png", "rtf.png")


def check_folder(folder: str | Path, force: bool) -> Path:
    """Fail before any work if the report cannot or must not be written."""
    return check_output_folder(folder, force, FILES)


def validate(report: dict) -> None:
    """Raise jsonschema.ValidationError unless `report` follows report.schema.json."""
    import jsonschema
    jsonschema.validate(report, json.loads(SCHEMA.read_text(encoding="utf-8")))


def write(report: dict, folder: str | Path, force: bool = False) -> list[Path]:
    folder = check_folder(folder, force)
    validate(report)
    outputs = {"report.json": json.dumps(report, indent=2, allow_nan=False) + "\n",
               "report.md": markdown(report)}
    outputs.update(plots(report))
    paths = []
    with output_set():  # the report's files appear together (and its folder with them), or none of them
        for name, data in outputs.items():
            path = folder / name
            with atomic_output(path) as tmp:
                (tmp.write_bytes if isinstance(data, bytes) else tmp.write_text)(data)
            paths.append(path)
    return paths


# ---- the command line's summary --------------------------------------------------------------

def summary(r: dict, paths) -> str:
    """What `namx conform` prints: a line per runtime, one per failing stream, the verdict."""
    lines = [f"{'pass' if rt['passed'] else 'FAIL'}  {rt['name']}  ({rt['precision']}, level {rt['level']}: "
             f"{rt['level_name']}; blocks {', '.join(rt['block_sizes']) or '-'})" for rt in r["runtimes"]]
    for c in r["cases"] + r["switches"]:
        if not c["passed"]:
            what = f"width {c['width']}" if "width" in c else "width switching"
            why = c["error"] or "non-finite output" if not c["finite"] else (
                f"ESR {c['esr_db']:.1f} dB (bound {c['bound_esr_db']:.1f}), "
                f"max |err| {c['max_abs']:.2e} (bound {c['bound_max_abs']:.2e})")
            lines.append(f"  failed: {c['model']} {what} {c['runtime']} blocks {c['blocks']}: {why}")
    s = r["summary"]
    lines.append(f"{'PASS' if r['passed'] else 'FAIL'}: {s['cases']} streams, {s['switches']} width switches, "
                 f"{s['failed']} failed, {s['skipped']} not run; report: {', '.join(str(p) for p in paths)}")
    return "\n".join(lines)


# ---- Markdown -----------------------------------------------------------------------------------

def _db(v) -> str:
    return "—" if v is None else f"{v:.1f}"


def _abs(v) -> str:
    return "—" if v is None else f"{v:.2e}"


def _rtf(v) -> str:
    return f"{v:.3g}"


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def markdown(r: dict) -> str:
    env = r["environment"]
    lines = [
        "# namx conformance report", "",
        f"**{'PASS' if r['passed'] else 'FAIL'}** — A2 spec {r['spec_version']}, namx {r['namx_version']}, "
        f"{r['created']} ({r['duration_seconds']:.0f} s). "
        f"{r['summary']['cases']} streams, {r['summary']['switches']} width-switch streams, "
        f"{r['summary']['failed']} failed, {r['summary']['skipped']} not run.", "",
        f"Reference: {r['reference']['implementation']} (reproduces {r['reference']['reproduces']}). "
        f"Bounds: spec §8.3 for the runtime's precision class, floor = {r['reference']['floor']}. "
        "ESR in dB (lower is better); a stream passes when it is finite, within both bounds and, for "
        "every partition after the first, block-size invariant (within the same bounds of the first "
        "partition's output). After the first partition the runtime is reset and replays the start "
        "of the program, which must match its first output (`reset: ok`).", "",
        "## Runtimes", "",
    ]
    lines += _table(["runtime", "kind", "version", "precision class", "block sizes", "level (spec §11.1)", "result"],
                    [(f"`{rt['name']}`", rt["kind"], rt["version"], rt["precision"],
                      ", ".join(rt["block_sizes"]) or "—",
                      f"{rt['level']}: {rt['level_name']}", _verdict(rt["passed"])) for rt in r["runtimes"]])
    for ni in r["not_installed"]:
        lines.append(f"\nNot installed: `{ni['name']}` ({ni['reason']}).")
    lines += ["", "## Streams (model × width × runtime × block partition)", ""]
    lines += _table(["model", "width", "runtime", "blocks", "ESR dB", "bound", "max abs err", "bound", "finite",
                     "block-size invariant", "result"],
                    [(c["model"], c["width"], f"`{c['runtime']}`", c["blocks"], _db(c["esr_db"]),
                      _db(c["bound_esr_db"]),
                      _abs(c["max_abs"]), _abs(c["bound_max_abs"]), "yes" if c["finite"] else "**no**",
                      _invariance(c), _verdict(c["passed"]) + (f" ({c['error']})" if c["error"] else ""))
                     for c in r["cases"]])
    if r["switches"]:
        lines += ["", "## Width switches (spec §7.3)", "",
                  "Widths change between blocks at the samples shown (`3@4032` = width 3 from sample 4032); the "
                  "expected output is each newly selected width's fresh output from its switch on. Re-requesting "
                  "the active width must change nothing.", ""]
        lines += _table(["model", "runtime", "blocks", "schedule", "ESR dB", "bound", "max abs err", "bound", "finite",
                         "result"],
                        [(s["model"], f"`{s['runtime']}`", s["blocks"],
                          " → ".join(f"{e['width']}@{e['sample']}" for e in s["schedule"]), _db(s["esr_db"]),
                          _db(s["bound_esr_db"]), _abs(s["max_abs"]), _abs(s["bound_max_abs"]),
                          "yes" if s["finite"] else "**no**",
                          _verdict(s["passed"]) + (f" ({s['error']})" if s["error"] else ""))
                         for s in r["switches"]])
    failing = [c for c in r["cases"] if not c["passed"] and c["segments"]]
    if failing:
        lines += ["", "## Where failing streams go wrong (per program segment)", ""]
        rows = []
        for c in failing:
            worst = max(c["segments"], key=lambda s: math.inf if s["max_abs"] is None else s["max_abs"])
            bad = [s["name"] for s in c["segments"] if not s["finite"]]
            rows.append((c["model"], c["width"], f"`{c['runtime']}`", c["blocks"], worst["name"],
                         _abs(worst["max_abs"]),
                         ", ".join(bad) or "—"))
        lines += _table(["model", "width", "runtime", "blocks", "worst segment", "its max abs err", "non-finite in"],
                        rows)
    if r["speed"]:
        lines += ["", "## Speed", "",
                  "RTF = audio duration / processing time (higher is faster; above 1 is faster than real time): "
                  "median of the repeats after warm-up, one thread, on the `chords` signal. The spread is the "
                  "fastest and slowest repeat; the load average (1, 5, 15 min) was read before each measurement. "
                  "Other processes on the machine add noise.", ""]
        lines += _table(["model", "width", "runtime", "block", "RTF (median)", "spread (min–max)",
                         "repeats", "load average"],
                        [(s["model"], s["width"], f"`{s['runtime']}`", s["block_size"], _rtf(s["rtf_median"]),
                          f"{_rtf(s['rtf_min'])}–{_rtf(s['rtf_max'])}",
                          s["repeats"], ", ".join(map(str, s["load_average"] or [])) or "—")
                         + (("(includes starting the process)",) if s["includes_process_start"] else ())
                         for s in r["speed"]])
    if r["skipped"]:
        lines += ["", "## Not run", ""]
        lines += _table(["model", "width", "runtime", "blocks", "test", "reason"],
                        [(s["model"], s.get("width") or "—", f"`{s['runtime']}`", s["blocks"], s["test"], s["reason"])
                         for s in r["skipped"]])
    lines += ["", "## Models and input", ""]
    for m in r["models"]:
        inp = m["input"]
        lines += [f"- **{m['name']}** (`{m['file']}`, SHA-256 `{m['sha256']}`): {m['architecture']}, "
                  f"{m['sample_rate']:g} Hz, widths {', '.join(m['widths'])} "
                  f"(tested: {', '.join(m['tested_widths'])}). Input: {inp['samples']} samples at "
                  f"{inp['sample_rate']:g} Hz, SHA-256 (float32 LE) `{inp['sha256']}`; "
                  "segments: " + ", ".join(f"{s['name']} [{s['start']}, {s['stop']})" for s in inp["segments"]) + "."]
    load = env["load_average_before"], env["load_average_after"]
    lines += ["", "## Machine", "",
              f"{env['cpu']} ({env['cpu_count']} logical CPUs), {env['platform']}, Python {env['python']}; "
              + ", ".join(f"{k} {v}" for k, v in env["packages"].items())
              + f". Load average before {load[0]}, after {load[1]}.", ""]
    return "\n".join(lines)


def _invariance(c) -> str:
    inv, reset = c["invariance"], c.get("reset")
    if inv is None:
        text = "(first partition)" if c["error"] is None else "—"
    else:
        text = f"{'yes' if inv['passed'] else '**no**'} (vs {inv['versus']}: {_abs(inv['max_abs'])})"
    if reset is not None:
        text += "; reset: " + ("ok" if reset["passed"] else "**wrong state**")
    return text


# ---- plots --------------------------------------------------------------------------------------

def plots(r: dict) -> dict[str, bytes]:
    """error.png: worst ESR per width and runtime; rtf.png: RTF per width and runtime."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def bars(ax, values: dict, widths: list[str], runtimes: list[str], errs=None):
        step = 0.8 / max(1, len(runtimes))
        for i, rt in enumerate(runtimes):
            xs = [k + (i - (len(runtimes) - 1) / 2) * step for k in range(len(widths))]
            ys = [values.get((w, rt), math.nan) for w in widths]
            yerr = None
            if errs is not None:
                yerr = [[max(0.0, y - errs.get((w, rt), (y, y))[0]) for w, y in zip(widths, ys)],
                        [max(0.0, errs.get((w, rt), (y, y))[1] - y) for w, y in zip(widths, ys)]]
            ax.bar(xs, ys, width=step, label=rt, yerr=yerr, capsize=3 if yerr else 0)
        ax.set_xticks(range(len(widths)), [f"width {w}" for w in widths])

    runtimes = [rt["name"] for rt in r["runtimes"]]
    models = [m["name"] for m in r["models"]]
    out = {}

    fig, axes = plt.subplots(len(models), 1, figsize=(8, 4 * len(models)), squeeze=False)
    for ax, m in zip(axes[:, 0], models):
        widths = next(x["tested_widths"] for x in r["models"] if x["name"] == m)
        worst, bound = {}, {}
        for c in r["cases"]:
            if c["model"] == m:
                v = 0.0 if c["esr_db"] is None else c["esr_db"]  # non-finite or no output: drawn at 0 dB
                key = (c["width"], c["runtime"])
                worst[key] = max(worst.get(key, -math.inf), max(v, -200.0))
                bound[key] = c["bound_esr_db"]
        bars(ax, worst, widths, runtimes)
        if bound:
            ax.axhline(max(bound.values()), color="k", linestyle="--", linewidth=1, label="pass bound (loosest)")
        ax.set_ylabel("worst ESR over block partitions (dB)")
        ax.set_title(f"{m}: error vs the float64 reference (lower is better; below -200 dB drawn at -200)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    out["error.png"] = _png(fig, plt)

    fig, axes = plt.subplots(len(models), 1, figsize=(8, 4 * len(models)), squeeze=False)
    for ax, m in zip(axes[:, 0], models):
        widths = next(x["tested_widths"] for x in r["models"] if x["name"] == m)
        med, spread = {}, {}
        for s in r["speed"]:
            if s["model"] == m:
                key = (s["width"], s["runtime"])
                if key not in med or s["rtf_median"] > med[key]:  # several block sizes: the fastest
                    med[key], spread[key] = s["rtf_median"], (s["rtf_min"], s["rtf_max"])
        bars(ax, med, widths, runtimes, spread)
        ax.axhline(1.0, color="k", linestyle="--", linewidth=1, label="real time")
        if med:
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no speed measured", ha="center", transform=ax.transAxes)
        ax.set_ylabel("real-time factor (median; bars: min–max)")
        ax.set_title(f"{m}: real-time factor per width (higher is faster)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    out["rtf.png"] = _png(fig, plt)
    return out


def _png(fig, plt) -> bytes:
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
