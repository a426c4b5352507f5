"""The browser example (examples/web): onnxruntime-web in headless Chromium, against the reference.

The page is served from 127.0.0.1 by a static file server; examples/web/tools/headless.mjs drives
Chromium through puppeteer-core. Needs node, Debian's chromium and `npm ci` in examples/web
(.ci/run installs them); without them these tests skip locally and fail in CI.
"""
from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile as sf
from conftest import GOLDEN, REPO, assert_matches_golden

from namx import load
from namx.bundled import load_model
from namx.info import describe
from namx.converters.onnx import export
from namx.metrics import esr_db, max_abs_error
from namx.runtimes import open_streamer
from namx.signals import SIGNALS, mix

sys.path.insert(0, str(REPO / "examples" / "web" / "tools"))
from harness import WEB, headless, missing, run_pages, serve  # noqa: E402

SWITCH_SCHEDULE = "0:{a},4800:{b},30000:{a},60001:{b}"  # sample positions, as `namx run --schedule`


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(folder, base URL): examples/web served on 127.0.0.1 as /web/, beside the files tests write."""
    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(why)
    root = tmp_path_factory.mktemp("site")
    with serve(root) as base:
        yield root, base


def _golden_models():
    """model path -> its golden entries (one per width)."""
    models = defaultdict(list)
    for entry in GOLDEN:
        models[entry["model"]].append(entry)
    return models


def test_scriptable_mode_matches_the_golden_corpus(site, shared):
    """Every golden model as an all-widths graph, every width, blocks 128 (the worklet's) and 1024;
    and fixed-width graphs of the multi-width models."""
    root, base = site
    sf.write(root / "mix.wav", np.load(shared / "golden" / "inputs" / "mix_2s.npy"), 48000, subtype="FLOAT")
    runs, entries = [], []
    for i, (model_path, model_entries) in enumerate(sorted(_golden_models().items())):
        model = load(shared / model_path)
        onnx.save(export(model), root / f"m{i}.onnx")
        for entry in model_entries:
            label = model.widths()[entry["level"]].label
            for block in (128, 1024):
                runs.append({"model": f"../m{i}.onnx", "input": "../mix.wav", "width": label, "block": block})
                entries.append(entry)
            if len(model_entries) > 1:
                onnx.save(export(model, label), root / f"m{i}.w{label}.onnx")
                runs.append({"model": f"../m{i}.w{label}.onnx", "input": "../mix.wav", "block": 128})
                entries.append(entry)
    for run, result, entry in zip(runs, run_pages(base, runs), entries):
        assert result["error"] is None, (run, result["error"])
        assert_matches_golden(result["output"], entry, shared, "float32")


@pytest.mark.parametrize("name", ["A2", "slim8"])
def test_scriptable_mode_switches_width_like_the_reference(site, name):
    """A schedule of width switches (mid-block positions included) equals the NumPy reference
    switching at the same samples."""
    root, base = site
    model = load_model(name)
    labels = [lv.label for lv in model.widths()]
    a, b = labels[0], labels[-1]
    x = mix()
    sf.write(root / "mix48.wav", x, 48000, subtype="FLOAT")
    onnx.save(export(model), root / f"{name}.onnx")
    schedule = SWITCH_SCHEDULE.format(a=a, b=b)
    switches = [(int(at), w) for at, w in (item.split(":") for item in schedule.split(","))]
    results = run_pages(base, [{"model": f"../{name}.onnx", "input": "../mix48.wav", "schedule": schedule,
                                "block": block} for block in (128, 1024)])
    for block, result in zip((128, 1024), results):
        assert result["error"] is None, result["error"]
        reference = _switching_reference(model, x, block, switches)
        assert esr_db(result["output"], reference) <= -110, block
        assert max_abs_error(result["output"], reference) <= 2e-5, block


def _switching_reference(model, x, block, switches):
    """The NumPy reference in blocks of `block`, split at each switch so it lands on a boundary."""
    s = open_streamer("numpy", model, switches[0][1])
    out, start, pending = [], 0, list(switches)
    while start < len(x):
        while pending and pending[0][0] <= start:
            s.width = pending.pop(0)[1]
        stop = min(len(x), start + block, pending[0][0] if pending else len(x))
        out.append(s.process(x[start:stop]))
        start = stop
    return np.concatenate(out)


def test_scriptable_mode_reports_errors(site):
    root, base = site
    model = load_model("A2")
    onnx.save(export(model), root / "A2e.onnx")
    sf.write(root / "stereo.wav", np.zeros((480, 2), np.float32), 48000)
    sf.write(root / "rate.wav", np.zeros(441, np.float32), 44100)
    sf.write(root / "ok.wav", np.zeros(480, np.float32), 48000)
    cases = [
        ({"model": "../A2e.onnx", "input": "../stereo.wav"}, "2 channels"),
        ({"model": "../A2e.onnx", "input": "../rate.wav"}, "44100 Hz"),
        ({"model": "../A2e.onnx", "input": "../ok.wav", "width": "5"}, "width 5 is not offered"),
        ({"model": "../A2e.onnx", "input": "../ok.wav", "schedule": "0:3,x"}, "SAMPLE:WIDTH"),
        ({"model": "../A2e.onnx", "input": "../ok.wav", "block": "0"}, "block=0"),
        ({"model": "../nothing.onnx", "input": "../ok.wav"}, "HTTP 404"),
        ({"model": "../ok.wav", "input": "../ok.wav"}, "ok.wav"),
    ]
    for (run, expected), result in zip(cases, run_pages(base, [c[0] for c in cases])):
        assert result["output"] is None
        assert result["error"] and expected in result["error"], (run, result["error"])


def test_interactive_page_plays_in_the_worklet_with_a_width_slider(site, tmp_path):
    """The live page: play slim8, move the slider through widths; the AudioWorklet (not the page)
    runs the model at each width, the meters move, and a screenshot is kept."""
    root, base = site
    onnx.save(export(load_model("slim8")), root / "slim8.onnx")
    labels = ["8", "4", "1", "6"]
    shot = Path(os.environ.get("NAMX_ARTIFACTS", tmp_path)) / "web-player.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    [result] = headless("live", f"{base}/web/index.html?model=../slim8.onnx", str(shot), *labels)
    assert result["error"] is None, result
    assert [s["label"] for s in result["seen"]] == labels
    final = result["seen"][-1]["stats"]
    # The worklet counted every render quantum and ran the model at each width it was moved to.
    assert final["blocks"] >= 4 * 200
    for label in labels:  # slim8's width values are its labels (channel counts)
        assert final["perWidth"][label]["runs"] > 100, label
    assert any(s["stats"]["outPeak"] > 0 for s in result["seen"])
    # the width table: weights and multiply-adds from the file, a block time for each width played
    stats = {w["width"]: w for w in describe(load_model("slim8"))["widths"]}
    for label, weights, macs, block_ms, rtf in result["table"]:
        assert (weights, macs) == (f"{stats[label]['weights']:,}", f"{stats[label]['macs_per_sample']:,}")
        assert (block_ms != "–") == (label in labels), label
    assert shot.stat().st_size > 10_000


def test_bundled_di_clip_is_namx_signal_di():
    """examples/web/di.wav is `namx signal di` (so anyone can regenerate it)."""
    x, rate = sf.read(WEB / "di.wav", dtype="float32")
    assert rate == 48000
    np.testing.assert_array_equal(x, SIGNALS["di"](48000.0))
