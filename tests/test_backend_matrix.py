"""Every backend × every feature, against the NumPy reference in float64; no golden corpus needed.

CASES are small .nam objects built here: every activation, every WaveNet feature (gating,
each FiLM slot, bottleneck, groups, head1x1, layer1x1 off, post-stack head, head dilation,
condition_dsp as a WaveNet and as an LSTM), LSTM, ConvNet with and without batchnorm, Linear,
a channel-sliced WaveNet and a SlimmableContainer. BACKENDS run each at every width it offers
(streaming in mixed block sizes where the backend streams) and are judged by the spec's float32
class (§8.3), whose floor -- what an exact evaluation reaches against a float32 one -- is taken
against the NumPy reference run in float32.

The tables every backend dispatches through (namx.backends: ARCHITECTURES by IR type,
ACTIVATIONS by name) are checked for completeness here too. A backend whose package or compiler
is missing is skipped locally and fails under CI.
"""
from __future__ import annotations

import functools
import importlib
import json
import os
import typing

import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import stream

from namx import activations, loads
from namx.backends import Unsupported
from namx.errors import NamxError
from namx.metrics import esr_db, max_abs_error, tolerance
from namx.model import FILM_SLOTS, Container, Net
from namx.runtimes import open_streamer
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.signals import mix

_MIX = mix(48000.0)
X = np.concatenate([_MIX[4790:4850], _MIX[28800:29300], _MIX[72000:72200]])  # impulse, noise, full-scale square
BLOCKS = [64, 13, 1, 200]
LSTM_RATE = 8000  # an LSTM prewarms half a second: a low rate keeps that short


def _need(why: str | None):
    """Skip when a backend cannot run here; under CI that is a failure (CI installs every backend)."""
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI must install it: see .ci/run)")
        pytest.skip(why)


# ---- the tables: one per backend and kind --------------------------------------------------------

# backend -> (module with ARCHITECTURES, module with ACTIVATIONS)
TABLE_MODULES = {
    "onnx": ("namx.converters.onnx.graph", "namx.converters.onnx.activations"),
    "tflite": ("namx.converters.tflite.export", "namx.converters.tflite.activations"),
    "torch": ("namx.torch.module", "namx.torch.module"),
    "c": ("namx.converters.c.generate", "namx.converters.c.generate"),
}


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as e:  # torch is an optional extra
        _need(f"{name} cannot be imported: {e}")


def _table(backend: str, kind: str) -> dict:
    return getattr(_import(TABLE_MODULES[backend][["ARCHITECTURES", "ACTIVATIONS"].index(kind)]), kind)


def test_the_reference_defines_every_activation_it_lists():
    assert set(activations._FUNCTIONS) == set(activations.ACTIVATIONS)


@pytest.mark.parametrize("backend", TABLE_MODULES)
def test_every_activation_has_an_entry(backend):
    table = _table(backend, "ACTIVATIONS")
    assert set(table) == set(activations.ACTIVATIONS)
    assert all(callable(f) for f in table.values())


@pytest.mark.parametrize("backend", TABLE_MODULES)
def test_every_architecture_has_an_entry(backend):
    """Every IR type has an entry: a builder, or an explicit Unsupported (containers, built per width)."""
    table = _table(backend, "ARCHITECTURES")
    assert set(table) == set(typing.get_args(Net))
    for cls, entry in table.items():
        assert isinstance(entry, Unsupported) == (cls is Container), cls.__name__
        assert isinstance(entry, Unsupported) or callable(entry), cls.__name__


def test_an_unsupported_entry_is_a_one_line_error_naming_the_file():
    from namx.converters.c.generate import Engine, Source
    model = loads(json.dumps(_container()), "box.nam")
    with pytest.raises(NamxError, match=r"^box\.nam: a SlimmableContainer runs one width at a time"):
        Engine(model, "e", Source())


# ---- the cases ---------------------------------------------------------------------------------

def _film(shift: bool) -> dict:
    return {"active": True, "shift": shift, "groups": 1}


def _layer_case(seed: int = 2, **extra) -> dict:
    return wavenet([layer_array(**{"channels": 3, "dilations": (1, 3), "kernel": 3, **extra})], seed=seed)


def _lstm(layers: int = 1, hidden: int = 3, seed: int = 6) -> dict:
    return with_weights(nam("LSTM", {"input_size": 1, "hidden_size": hidden, "num_layers": layers},
                            sample_rate=LSTM_RATE), seed=seed, scale=0.5)


def _container() -> dict:
    return nam("SlimmableContainer", {"submodels": [
        {"max_value": 0.5, "model": wavenet([layer_array(channels=2)], seed=1)},
        {"max_value": 1.0, "model": with_weights(nam("ConvNet", {"channels": 2, "dilations": [1, 2],
                                                                  "batchnorm": False, "activation": "Tanh"}), 2)},
    ]})


ACTIVATION_CONFIGS = {name: name for name in activations.ACTIVATIONS}
ACTIVATION_CONFIGS["PReLU"] = {"type": "PReLU", "negative_slopes": [0.1, -0.2, 0.3]}
ACTIVATION_CONFIGS["PReLU scalar"] = {"type": "PReLU", "negative_slope": 0.2}
ACTIVATION_CONFIGS["LeakyHardtanh"] = {"type": "LeakyHardtanh", "min_val": -0.5, "max_val": 0.7,
                                       "min_slope": 0.1, "max_slope": 0.2}

CASES = {f"activation {name}": functools.partial(_layer_case, seed=1, activation=config)
         for name, config in ACTIVATION_CONFIGS.items()}
HEAD1X1 = {"active": True, "out_channels": 2, "groups": 1}
CASES.update({f"film {slot}": functools.partial(_layer_case, gating_mode="blended", secondary_activation="Sigmoid",
                                                head1x1=HEAD1X1, **{slot: _film(shift=i % 2 == 0)})
              for i, slot in enumerate(FILM_SLOTS)})
CASES.update({
    "gated": functools.partial(_layer_case, gating_mode="gated", secondary_activation="Sigmoid"),
    "blended": functools.partial(_layer_case, gating_mode="blended", secondary_activation="Hardswish"),
    "every film, shift flipped, gated": functools.partial(
        _layer_case, gating_mode="gated", secondary_activation="Softsign", head1x1=HEAD1X1,
        **{slot: _film(shift=i % 2 == 1) for i, slot in enumerate(FILM_SLOTS)}),
    "bottleneck and groups": functools.partial(_layer_case, channels=4, bottleneck=2, groups_input=2,
                                               layer1x1={"active": True, "groups": 2}),
    "head1x1": functools.partial(_layer_case, head1x1=HEAD1X1),
    "layer1x1 off": functools.partial(_layer_case, layer1x1={"active": False, "groups": 1}),
    "head kernel and dilation": functools.partial(
        _layer_case, head={"out_channels": 1, "kernel_size": 3, "bias": True, "head_dilation": 5}),
    "two arrays and a post-stack head": lambda: wavenet(
        [layer_array(channels=3, dilations=(1, 2), head_size=2), layer_array(channels=2, input_size=3, dilations=(4,))],
        seed=3, head={"channels": 3, "out_channels": 1, "kernel_sizes": [3, 1], "activation": "ReLU"}),
    "condition_dsp WaveNet": lambda: wavenet([layer_array(channels=3)], seed=4,
                                             condition_dsp=wavenet([layer_array(channels=2)], seed=5)),
    "condition_dsp LSTM": lambda: with_weights(nam("WaveNet", {
        "layers": [layer_array(channels=2, dilations=(1, 2))], "head": None, "head_scale": 0.5,
        "condition_dsp": _lstm(hidden=2, seed=5)}, sample_rate=LSTM_RATE), seed=4),
    "LSTM": _lstm,
    "LSTM 2 layers": functools.partial(_lstm, layers=2, hidden=2),
    "ConvNet": functools.partial(convnet, channels=3, dilations=(1, 2, 8), activation="LeakyReLU"),
    "ConvNet batchnorm": functools.partial(convnet, channels=3, dilations=(1, 2, 8), batchnorm=True),
    "Linear": lambda: with_weights(nam("Linear", {"receptive_field": 5, "bias": True}), seed=7),
    "channel-sliced WaveNet": lambda: wavenet([layer_array(channels=4, slimmable={
        "method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}})], seed=8),
    "SlimmableContainer": _container,
})


@functools.lru_cache(maxsize=None)
def _model(case: str):
    return loads(json.dumps(CASES[case]()), f"{case}.nam")


@functools.lru_cache(maxsize=None)
def _reference(case: str, label: str, precision: str) -> np.ndarray:
    return NumpyStreamer(_model(case), label, precision=precision).process(X)


# ---- the backends: (model, width label) -> output for X --------------------------------------------

def _streamer(runtime: str, **options):
    def run(model, label):
        from namx.runtimes import missing
        _need(missing(runtime))
        if runtime == "c":
            from namx.runtimes.c import unavailable
            _need(unavailable())
        return stream(open_streamer(runtime, model, label, **options), X, BLOCKS)
    return run


def _torch(model, label):
    module = _import("namx.torch.module").NamxModule(model)
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # these tiny ops are far slower with threads that compete for a loaded CPU
    try:
        with torch.no_grad():
            return module(torch.tensor(X, dtype=torch.float32), width=label).numpy()
    finally:
        torch.set_num_threads(threads)


BACKENDS = {
    "numpy-float64": _streamer("numpy"),
    "numpy-float32": _streamer("numpy", precision="float32"),
    "onnx-fixed": _streamer("onnxruntime"),
    "onnx-all-widths": _streamer("onnxruntime-dynamic"),
    "litert": _streamer("litert"),
    "tflm": _streamer("tflm"),
    "torch": _torch,
    "c": _streamer("c"),
}


@pytest.mark.usefixtures("private_namx_cache")  # one compile per model for runtime c
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_backend_matches_the_reference(case, backend):
    model = _model(case)
    for level in model.widths():
        ref = _reference(case, level.label, "float64")
        y = np.asarray(BACKENDS[backend](model, level.label), np.float64)
        assert y.shape == ref.shape and np.isfinite(y).all()
        if backend == "numpy-float32":  # it defines the floor: held to the class with no floor
            bound_esr, bound_abs = tolerance(-np.inf, 0.0, float(np.max(np.abs(ref))), "float32")
        elif backend == "numpy-float64":
            bound_esr, bound_abs = tolerance(-np.inf, 0.0, float(np.max(np.abs(ref))), "float64")
        else:
            floor = _reference(case, level.label, "float32")
            bound_esr, bound_abs = tolerance(esr_db(floor, ref), max_abs_error(floor, ref),
                                             float(np.max(np.abs(ref))), "float32")
        esr, mx = esr_db(y, ref), max_abs_error(y, ref)
        assert esr <= bound_esr and mx <= bound_abs, \
            f"width {level.label}: ESR {esr:.1f} dB (bound {bound_esr:.1f}), max|err| {mx:.2e} (bound {bound_abs:.1e})"
