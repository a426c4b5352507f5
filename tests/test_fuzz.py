"""Fuzzing the loader with mutated real .nam files: every input ends in a Model or a one-line NamxError.

Seed corpus: every .nam under NAMX_SHARED/models and the bundled example. Each seed's JSON is
parsed once; mutations work on the parsed object (copying only the containers on the path they
change) and go through loader.from_json, or on the file's bytes and go through loader.loads.
A model that loads is also described (`namx info`), which slices every width and sizes it.

Mutations: truncation, flipped and inserted bytes (non-UTF-8 among them), wrong types,
huge/negative/NaN/infinite numbers, missing and extra keys, subtrees swapped, wrong versions and
architectures, deep nesting of condition_dsp and containers, enormous weight lists.

The default run is NAMX_FUZZ_EXAMPLES=10000 mutated inputs, derandomized (the same inputs every
run). A longer, random run:

    NAMX_FUZZ_EXAMPLES=200000 NAMX_FUZZ_RANDOM=1 python -m pytest tests/test_fuzz.py

tests/fuzz_atheris.py is the coverage-guided harness for long runs (atheris); a short run of it
is a test here. Examples are not shrunk (a huge mutant can take longer to shrink than CI allows):
a failure shows the input as drawn.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SHARED
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from namx import bundled
from namx.info import describe
from namx.errors import ModelError, NamxError
from namx.limits import Limits
from namx.loader import from_json, load, loads, weights_needed
from namx.model import Model
from namx.validate import validate

EXAMPLES = int(os.environ.get("NAMX_FUZZ_EXAMPLES", "10000"))
SLOW = 10.0  # seconds: one input taking longer is a hang, not a slow machine


@dataclass(frozen=True)
class Seed:
    name: str
    text: bytes
    obj: object


def _seeds() -> list[Seed]:
    paths = [bundled.path(bundled.EXAMPLE)]
    if SHARED is not None:
        paths += sorted((SHARED / "models").rglob("*.nam"))
    out = []
    for p in paths:
        text = p.read_bytes()
        name = "bundled/" + p.name if p.parent == bundled.HERE else str(p.relative_to(SHARED / "models"))
        out.append(Seed(name, text, json.loads(text)))
    return out


SEEDS = _seeds()
SMALL = [s for s in SEEDS if len(s.text) <= 25_000]  # most examples mutate these: fast to load
# Shares of EXAMPLES: every seed, then the small seeds as objects and as bytes.
PER_SEED = max(10, EXAMPLES // 5 // len(SEEDS))
OBJECTS = max(100, EXAMPLES * 3 // 5)
BYTES = max(100, EXAMPLES - PER_SEED * len(SEEDS) - OBJECTS)


def fuzz_settings(n: int):
    """No shrinking: shrinking a huge mutant can take longer than CI allows; a failure reports the input as drawn."""
    return settings(max_examples=n, deadline=None, derandomize=not os.environ.get("NAMX_FUZZ_RANDOM"),
                    database=None, suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate))


class Hang(Exception):
    """An input that took longer than SLOW: raised inside the loader, so a hang fails instead of hanging."""


def _alarm(signum, frame):
    raise Hang(f"one input took over {SLOW:g} s")


def outcome(build) -> Model | NamxError:
    """Run the loader; a Model or namx's error with a one-line message is fine, anything else fails.

    Each input has SLOW seconds (a timer interrupts it after that; the check after catches a loop
    that swallowed the interrupt)."""
    start = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, SLOW)
    try:
        try:
            result = build()
        except NamxError as e:
            result = e
            message = str(e)
            assert message and "\n" not in message and len(message) < 1000, repr(message)
        else:
            assert isinstance(result, Model)
            describe(result)  # what `namx info` computes: every width sliced and sized
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < SLOW
    return result


# ---- mutations of a parsed object ---------------------------------------------------------------

HUGE_INT = 10**400  # beyond float64 (but printable)
NASTY = [None, True, False, 0, 1, -1, 2, 3, -2**31, 2**31, 2**63, HUGE_INT, -HUGE_INT, 1e308, -1e308, 1e-320,
         math.nan, math.inf, -math.inf, 0.5, -0.0, 1e39, "", "x", "Tanh", "WaveNet", "0.7.0", "\udcff", "\x00",
         [], {}, [1], [[]], [1.0, "a"], {"type": "Tanh"}, {"a": 1}, "9" * 5000]
VERSIONS = ["0.5.0", "0.5.4", "0.6.0", "0.7.0", "0.4.9", "0.8.0", "1.0.0", "99999999999.0.0", "0.7", "0.7.0.1",
            "v0.7.0", "0.7.0-rc1", " 0.7.0", "", "0.07.000", 7, 0.7, None]
ARCHITECTURES = ["WaveNet", "LSTM", "ConvNet", "Linear", "SlimmableContainer", "CatLSTM", "wavenet", ""]
LIST_CAP = 6  # paths into a list: its first few entries and its last


def paths(obj, prefix=()):
    """Every path into obj (a tuple of keys/indices), lists visited only at their ends, 40 levels at most."""
    yield prefix
    if len(prefix) >= 40:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i in sorted({*range(min(len(obj), LIST_CAP)), len(obj) - 1} - {-1}):
            yield from paths(obj[i], prefix + (i,))


def get(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def replace(obj, path, change):
    """A copy of obj with the value at path replaced by change(value); only containers on the path are copied."""
    if not path:
        return change(obj)
    head, rest = path[0], path[1:]
    copy = dict(obj) if isinstance(obj, dict) else list(obj)
    copy[head] = replace(obj[head], rest, change)
    return copy


def _delete(container, key):
    copy = dict(container) if isinstance(container, dict) else list(container)
    del copy[key]
    return copy


def nest_condition_dsp(obj, depth: int):
    """obj as the condition_dsp of itself, `depth` times (only WaveNets have one)."""
    for _ in range(depth):
        obj = {**obj, "architecture": "WaveNet", "config": {**(obj.get("config") or {}), "condition_dsp": obj}} \
            if isinstance(obj, dict) and isinstance(obj.get("config"), dict) else obj
    return obj


def nest_container(obj, depth: int):
    for _ in range(depth):
        obj = {"version": "0.7.0", "architecture": "SlimmableContainer", "weights": [],
               "config": {"submodels": [{"max_value": 1.0, "model": obj}]}}
    return obj


def _times(weights: list, times: int) -> list:
    """weights repeated `times` times; past the weight limit, just over it (the generator's memory is bounded)."""
    cap = Limits().weights + 1
    return weights * times if len(weights) * times <= cap else [0.5] * cap


def deep_list(depth: int):
    out = []
    for _ in range(depth):
        out = [out]
    return out


@st.composite
def mutation(draw, obj):
    """obj with one mutation."""
    all_paths = list(paths(obj))
    path = draw(st.sampled_from(all_paths))
    value = get(obj, path)
    kind = draw(st.sampled_from(["nasty", "delete", "extra", "number", "swap", "list", "version", "architecture",
                                 "nest", "weights", "deep"]))
    if kind == "nasty":
        return replace(obj, path, lambda _: draw(st.sampled_from(NASTY)))
    if kind == "delete" and path:
        return replace(obj, path[:-1], lambda parent: _delete(parent, path[-1]))
    if kind == "extra" and isinstance(value, dict):
        key = draw(st.sampled_from(["condition_dsp", "head", "groups", "bottleneck", "layer1x1", "film", "gating_mode",
                                    "weights", "config", "zzz", ""]))
        return replace(obj, path, lambda d: {**d, key: draw(st.sampled_from(NASTY + [value]))})
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        factor = draw(st.sampled_from([-1, 0, 2, 1000, 2**20, 2**40, 1e300, math.nan]))
        offset = draw(st.sampled_from([0, 1, -1]))
        return replace(obj, path, lambda v: v * factor + offset)
    if kind == "swap":
        other = draw(st.sampled_from(all_paths))
        return replace(obj, path, lambda _: get(obj, other))
    if kind == "list" and isinstance(value, list):
        how = draw(st.sampled_from(["truncate", "double", "empty", "append"]))
        cut = draw(st.integers(0, len(value)))
        return replace(obj, path, lambda v: {"truncate": v[:cut], "double": v + v, "empty": [],
                                             "append": v + [draw(st.sampled_from(NASTY))]}[how])
    if kind == "version":
        return {**obj, "version": draw(st.sampled_from(VERSIONS))} if isinstance(obj, dict) else obj
    if kind == "architecture" and isinstance(value, dict) and "architecture" in value:
        return replace(obj, path, lambda d: {**d, "architecture": draw(st.sampled_from(ARCHITECTURES))})
    if kind == "nest":
        depth = draw(st.integers(1, 12))
        return (nest_condition_dsp if draw(st.booleans()) else nest_container)(obj, depth)
    if kind == "weights" and isinstance(value, dict) and isinstance(value.get("weights"), list):
        times = draw(st.sampled_from([0, 2, 10, 1000]))
        return replace(obj, path, lambda d: {**d, "weights": _times(d["weights"], times)})
    if kind == "deep":
        # (deeper lists break hypothesis's printing of the example: test_deep_nesting_everywhere has them)
        return replace(obj, path, lambda _: deep_list(draw(st.sampled_from([10, 100]))))
    return replace(obj, path, lambda _: draw(st.sampled_from(NASTY)))  # the kind does not apply here


@st.composite
def mutated_object(draw, seeds):
    obj = seeds[draw(st.integers(0, len(seeds) - 1))].obj  # (an index: a short repr)
    for _ in range(draw(st.integers(1, 3))):
        obj = draw(mutation(obj))
    return obj


# ---- mutations of the bytes ---------------------------------------------------------------------

BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\xef\xbb\xbf",
             b"\\ud800", b"\\u0000", b"NaN", b"-Infinity", b"1e99999", b"9" * 5000, b"[" * 100_000, b"{\"a\":" * 5000,
             b"\"", b",", b"]", b"}"]


@st.composite
def mutated_bytes(draw, seeds):
    data = seeds[draw(st.integers(0, len(seeds) - 1))].text
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["truncate", "insert", "overwrite", "flip", "drop"]))
        if how == "truncate":
            data = data[:at]
        elif how in ("insert", "overwrite"):
            piece = draw(st.sampled_from(BAD_BYTES) | st.binary(min_size=1, max_size=8))
            data = data[:at] + piece + data[at + (len(piece) if how == "overwrite" else 0):]
        elif how == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
        else:
            data = data[:at] + data[at + draw(st.integers(1, 64)):]
    return data


# ---- structure-aware: valid-looking configs with extreme sizes and counts ---------------------------

EXTREME = st.sampled_from([1, 2, 3, 7, 64, 1000, 2**16, 2**20, 2**24, 2**31 - 1])
COUNT = st.sampled_from([1, 2, 10, 100, 1000, 10_000, 100_000])
RATE = st.sampled_from([None, 8000, 44100, 48000, 96000, 384000, 7999, 384001, 2_000_000, 1e-3, 1e12])
WEIGHTS_CAP = 200_000  # exact weight lists up to this long; bigger configs get a short list (a count error)


@st.composite
def wavenet_config(draw):
    n = draw(COUNT)
    channels, kernel = draw(st.sampled_from([1, 2, 16, 256, 4096])), draw(st.sampled_from([1, 2, 3, 64]))
    dilations = [draw(st.sampled_from([1, 2, 512, 2**16, 2**20]))] * n
    layer = {"input_size": 1, "condition_size": 1, "channels": channels, "dilations": dilations,
             "kernel_size": kernel, "activation": draw(st.sampled_from(["Tanh", "ReLU", {"type": "LeakyHardtanh"}])),
             "head": {"out_channels": 1, "kernel_size": draw(st.sampled_from([1, 2, 1000])), "bias": True}}
    if draw(st.booleans()):
        layer["gating_mode"] = draw(st.sampled_from(["gated", "blended", "none"]))
    if draw(st.booleans()):
        layer["slimmable"] = {"method": "slice_channels_uniform",
                              "kwargs": {"allowed_channels": list(range(1, min(channels, draw(COUNT)) + 1))}}
        layer["slimmable"]["kwargs"]["allowed_channels"][-1:] = [channels]
    return "WaveNet", {"layers": [layer] * draw(st.sampled_from([1, 2, 50])), "head": None, "head_scale": 1.0}


@st.composite
def other_config(draw):
    arch = draw(st.sampled_from(["LSTM", "ConvNet", "Linear"]))
    if arch == "LSTM":
        return arch, {"input_size": 1, "hidden_size": draw(EXTREME), "num_layers": draw(COUNT)}
    if arch == "ConvNet":
        return arch, {"channels": draw(st.sampled_from([1, 8, 512])), "batchnorm": False, "activation": "Tanh",
                      "dilations": [draw(st.sampled_from([1, 1000, 2**20]))] * draw(COUNT)}
    return arch, {"receptive_field": draw(EXTREME), "bias": draw(st.booleans())}


@st.composite
def extreme_model(draw, depth=0):
    """A .nam object whose structure is right but whose sizes and counts are extreme."""
    if depth < 2 and draw(st.integers(0, 9)) == 0:  # a container of many submodels
        sub = draw(extreme_model(depth + 1))
        n = draw(COUNT)
        return {"version": "0.7.0", "architecture": "SlimmableContainer", "weights": [],
                "config": {"submodels": [{"max_value": (i + 1) / n, "model": sub} for i in range(n)]}}
    arch, config = draw(st.one_of(wavenet_config(), other_config()))
    obj = {"version": "0.7.0", "architecture": arch, "config": config, "weights": []}
    rate = draw(RATE)
    if rate is not None:
        obj["sample_rate"] = rate
    try:
        needed = weights_needed(obj)
    except NamxError:  # over a limit already: the loader must say so just as fast
        needed = 0
    obj["weights"] = [0.01] * (needed if needed <= WEIGHTS_CAP else 3)
    return obj


@fuzz_settings(max(30, EXAMPLES // 50))
@given(extreme_model())
def test_extreme_sizes_and_counts(obj):
    """Each ends in a model or a one-line error within SLOW seconds (hours before the work limits)."""
    outcome(lambda: from_json(obj, "extreme.nam"))


# ---- the tests ----------------------------------------------------------------------------------

def test_the_seed_corpus_is_every_shared_model():
    assert SEEDS[0].name == "bundled/A2.nam"
    if SHARED is not None:
        assert len(SEEDS) - 1 == len(list((SHARED / "models").rglob("*.nam"))) > 0
    for seed in SEEDS:  # the seeds themselves load
        assert isinstance(outcome(lambda: loads(seed.text, seed.name)), Model)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_every_seed_mutated(seed):
    @fuzz_settings(PER_SEED)
    @given(st.one_of(mutated_object([seed]), mutated_bytes([seed]).map(lambda b: ("bytes", b))))
    def check(mutant):
        if isinstance(mutant, tuple):
            outcome(lambda: loads(mutant[1], seed.name))
        else:
            outcome(lambda: from_json(mutant, seed.name))
    check()


@pytest.mark.slow
@fuzz_settings(OBJECTS)
@given(mutated_object(SMALL))
def test_mutated_objects(obj):
    outcome(lambda: from_json(obj, "fuzz.nam"))


@pytest.mark.slow
@fuzz_settings(BYTES)
@given(mutated_bytes(SMALL))
def test_mutated_bytes(data):
    outcome(lambda: loads(data, "fuzz.nam"))


@pytest.mark.slow
@fuzz_settings(max(50, EXAMPLES // 20))
@given(mutated_object(SMALL))
def test_mutated_objects_validate(obj):
    """`namx validate` (schema, then the loader's collecting check): problems are one-line ModelErrors."""
    start = time.perf_counter()
    result = validate(obj, "fuzz.nam")
    assert all(isinstance(p, ModelError) and "\n" not in str(p) for p in result.problems)
    assert result.valid == isinstance(outcome(lambda: from_json(obj, "fuzz.nam")), Model)
    assert time.perf_counter() - start < SLOW


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_everywhere(depth):
    """A list nested `depth` deep at every path of a small seed: loading and validating end in one-line errors."""
    seed = min(SMALL, key=lambda s: len(s.text))
    deep = deep_list(depth)
    for path in paths(seed.obj):
        obj = replace(seed.obj, path, lambda _: deep)
        assert isinstance(outcome(lambda: from_json(obj, "deep.nam")), NamxError)
        problems = validate(obj, "deep.nam").problems
        assert problems and all("\n" not in str(p) for p in problems)
    text = b"[" * depth + b"]" * depth
    assert isinstance(outcome(lambda: loads(text, "deep.nam")), NamxError)


def test_the_default_run_is_at_least_10000_inputs():
    assert EXAMPLES < 10_000 or PER_SEED * len(SEEDS) + OBJECTS + BYTES >= 10_000


def test_enormous_weight_list():
    """Over the weight limit: refused by its length, before any conversion."""
    seed = min(SEEDS, key=lambda s: len(s.text))
    e = outcome(lambda: from_json({**seed.obj, "weights": [0.25] * (Limits().weights + 1)}, "big.nam"))
    assert "set NAMX_MAX_WEIGHTS to allow more" in str(e)


def test_enormous_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.nam"
    with open(path, "wb") as f:
        f.truncate(2**40)  # a sparse terabyte
    e = outcome(lambda: load(path))
    assert "the file has 1099511627776 bytes" in str(e)


def test_fuzzing_with_tight_limits():
    """Small limits make more of the mutations hit them: still a model or a one-line error."""
    tight = Limits(file_bytes=5000, weights=300, receptive_field=64, state=200, block_size=64)

    @fuzz_settings(max(50, EXAMPLES // 50))
    @given(mutated_object(SMALL))
    def check(obj):
        outcome(lambda: from_json(obj, "tight.nam", tight))
    check()


def test_path_helpers():
    obj = {"a": [1, {"b": 2}], "c": 3}
    assert list(paths(obj)) == [(), ("a",), ("a", 0), ("a", 1), ("a", 1, "b"), ("c",)]
    new = replace(obj, ("a", 1, "b"), lambda v: v + 1)
    assert new == {"a": [1, {"b": 3}], "c": 3} and obj["a"][1]["b"] == 2 and new["a"] is not obj["a"]


@pytest.mark.slow
def test_the_atheris_harness_runs_clean(tmp_path):
    """A short coverage-guided run (2,000 inputs from the small seeds): no crash, hang or leak."""
    pytest.importorskip("atheris")
    for i, seed in enumerate(SMALL):
        (tmp_path / f"{i}.nam").write_bytes(seed.text)
    harness = Path(__file__).with_name("fuzz_atheris.py")
    r = subprocess.run([sys.executable, str(harness), str(tmp_path), "-atheris_runs=2000", "-timeout=10",
                        "-rss_limit_mb=4096", "-seed=1"], capture_output=True, text=True, timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Done 2000" in r.stderr
