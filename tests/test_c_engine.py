"""The generated C engine (`namx convert --to c`, runtime `c`; spec §14): the golden corpus at many
block sizes, every activation and architecture against the reference, the width-change rule in the
runtime and in the generated multi-width wrapper, strict compiles on gcc, clang and Cortex-M7.

Needs a C compiler: skipped without one locally, a failure under CI (clang and gcc-arm-none-eabi
are installed by .ci/run). Each model is compiled once per session (the runtime caches by hash).
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import GOLDEN, assert_matches_golden, golden_id, stream

from namx import load, loads
from namx.activations import ACTIVATIONS
from namx.bundled import load_model
from namx.converters import convert
from namx.converters.c.build import M7, STRICT
from namx.runtimes import open_streamer
from namx.signals import mix

X = mix(48000.0)[28000:31000]
EXCERPT = 14400


def need(tool: str) -> str:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed (CI must install it: see .ci/run)")
        pytest.skip(f"{tool} is not installed")
    return tool


@pytest.fixture(scope="session", autouse=True)
def cache(private_namx_cache):
    """One compile per model per session, in a folder of this session's own."""
    need("cc")


def random_partition(n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(v) for v in rng.integers(1, 3000, size=n // 1000 + 2)]


@pytest.mark.spec("14.4")
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
def test_c_matches_golden_at_every_block_size(entry, shared, golden_input):
    s = open_streamer("c", load(shared / entry["model"]), entry["width"])
    for i, blocks in enumerate([[64], [7], [2048], random_partition(golden_input.size, 0)]):
        s.reset()
        assert_matches_golden(stream(s, golden_input, blocks), entry, shared, "float32"), blocks
    s.reset()
    y = stream(s, golden_input[:EXCERPT], [1])
    ref = np.load(shared / "golden" / entry["output"]).astype(np.float64)[:EXCERPT]
    assert np.max(np.abs(y - ref)) <= entry["tol_max_abs_float32"]


def _close(model, width=None, x=X, tol=2e-5):
    y = stream(open_streamer("c", model, width), x, [100, 1, 37])
    ref = open_streamer("numpy", model, width).process(x)
    assert np.max(np.abs(y - ref)) <= tol * max(1.0, np.max(np.abs(ref)))


@pytest.mark.spec("14.3")
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_matches_the_reference(activation):
    act = {"type": "PReLU", "negative_slopes": [0.1, -0.2, 0.3]} if activation == "PReLU" else activation
    _close(loads(json.dumps(wavenet([layer_array(activation=act)]))))


@pytest.mark.parametrize("batchnorm", [False, True])
def test_convnet_matches_the_reference(batchnorm):
    _close(loads(json.dumps(convnet(batchnorm=batchnorm))))


def test_two_layer_arrays_and_a_kernel_2_head_match_the_reference():
    arrays = [layer_array(channels=4, head_size=3, kernel=2, dilations=(1, 8)),
              layer_array(channels=3, input_size=4, head_size=1, kernel=3, dilations=(2, 64),
                          head={"out_channels": 1, "kernel_size": 2, "bias": True})]
    arrays[0]["head"] = {"out_channels": 3, "kernel_size": 1, "bias": False}
    _close(loads(json.dumps(wavenet(arrays))))


@pytest.mark.spec("14.2")
def test_a_width_change_starts_the_new_width_from_its_initial_state():
    model = load_model("example")
    s = open_streamer("c", model, "8")
    y = [stream(s, X[:1000], [100])]
    s.width = "3"
    y.append(stream(s, X[1000:2000], [100]))
    s.width = "8"
    y.append(stream(s, X[2000:], [100]))
    fresh = [stream(open_streamer("c", model, w), x, [100]) for w, x in (("8", X[:1000]), ("3", X[1000:2000]),
                                                                        ("8", X[2000:]))]
    assert all(np.array_equal(a, b) for a, b in zip(y, fresh))
    s.reset()
    assert np.array_equal(stream(s, X[2000:], [100]), fresh[2])


def _compile(cc, files, out, extra=()):
    r = subprocess.run([cc, *STRICT, "-O2", *extra, *map(str, files), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.spec("14.1", "14.2")
def test_the_wrapper_switches_widths_like_the_reference(tmp_path):
    model = load_model("example")
    paths = convert("c", model, output=str(tmp_path / "a2"))
    assert sorted(p.name for p in paths) == ["a2.c", "a2.h", "a2.w3.c", "a2.w3.h", "a2.w8.c", "a2.w8.h"]
    lib = tmp_path / "a2.so"
    _compile("cc", [p for p in paths if p.suffix == ".c"], lib, ["-shared", "-fPIC", "-lm"])
    c = ctypes.CDLL(str(lib))
    c.namx_a2_state_bytes.restype = ctypes.c_size_t
    c.namx_a2_width_label.restype = ctypes.c_char_p
    state = ctypes.create_string_buffer(c.namx_a2_state_bytes())
    c.namx_a2_init(state)
    assert c.namx_a2_width(state) == 1 and c.namx_a2_width_label(0) == b"3"

    def run(x):
        x = np.ascontiguousarray(x, np.float32)
        y = np.empty_like(x)
        ptr = ctypes.POINTER(ctypes.c_float)
        c.namx_a2_process(state, x.ctypes.data_as(ptr), y.ctypes.data_as(ptr), ctypes.c_size_t(x.size))
        return y

    ref = open_streamer("numpy", model, "8")
    got, want = [run(X[:1000])], [ref.process(X[:1000])]
    assert c.namx_a2_set_width(state, 0) == 0
    ref.width = "3"
    got.append(run(X[1000:2000]))
    want.append(ref.process(X[1000:2000]))
    assert c.namx_a2_set_width(state, 0) == 0 and c.namx_a2_set_width(state, 2) == -1
    got.append(run(X[2000:]))  # setting the active width changed nothing
    want.append(ref.process(X[2000:]))
    assert np.max(np.abs(np.concatenate(got) - np.concatenate(want))) <= 2e-5


STRICT_MODELS = [
    "real/NeuralAmpModelerCore/example_models/A2.nam",
    "real/NeuralAmpModelerCore/example_models/lstm.nam",
    "real/NeuralAmpModelerCore/example_models/slimmable_container.nam",
    "real/NeuralAmpModelerCore/example_models/wavenet_condition_dsp.nam",
    "real/neural-amp-modeler/tests/resources/models/identity/linear_10.nam",
    *(f"synthetic/nam-rs/{n}.nam" for n in ("a2_film", "a2_gated", "a2_blended", "a2_grouped", "a2_head1x1",
                                            "post_stack_head")),
]


@pytest.fixture(scope="module")
def sources(shared, tmp_path_factory):
    """Generated sources for every architecture and feature: corpus models plus a ConvNet."""
    out = tmp_path_factory.mktemp("c-sources")
    (out / "convnet.nam").write_text(json.dumps(convnet(batchnorm=True)))
    models = [shared / "models" / m for m in STRICT_MODELS] + [out / "convnet.nam"]
    files = []
    for i, m in enumerate(models):
        files += [p for p in convert("c", load(m), output=str(out / f"m{i}")) if p.suffix == ".c"]
    return files


@pytest.mark.spec("14.1")
@pytest.mark.parametrize("cc", ["gcc", "clang", "cortex-m7"])
def test_generated_sources_compile_warning_free(cc, sources, tmp_path):
    cmd = M7 if cc == "cortex-m7" else [cc]
    need(cmd[0])
    for f in sources:
        r = subprocess.run([*cmd, *STRICT, "-O2", "-c", str(f), "-o", str(tmp_path / "x.o")],
                           capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr, (f, r.stderr)


def namx(*args, env=None):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_convert_reports_flash_and_ram_per_width(tmp_path):
    model = tmp_path / "w.nam"
    model.write_text(json.dumps(wavenet()))
    r = namx("convert", model, "--to", "c", "-o", tmp_path / "w.c")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(tmp_path / "w.h"), str(tmp_path / "w.c")]
    assert "flash" in r.stderr and "RAM" in r.stderr
    again = namx("convert", model, "--to", "c", "-o", tmp_path / "w.c")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_no_compiler_is_a_one_line_error(tmp_path):
    model = tmp_path / "w.nam"
    model.write_text(json.dumps(with_weights(nam("Linear", {"receptive_field": 3, "bias": True}))))
    np.save(tmp_path / "in.npy", np.zeros(10, np.float32))
    r = namx("run", model, tmp_path / "in.npy", tmp_path / "out.npy", "--runtime", "c",
             env={"CC": str(tmp_path / "no-such-cc")})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("namx: ") and "C compiler" in r.stderr
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize("build", ["scalar", "clang"])
def test_the_plain_c_path_and_clang_builds_match_the_reference(build, monkeypatch):
    """The register tiles are GNU C vectors; NAMX_VECTORS=0 is the plain C99 path for other compilers."""
    if build == "clang":
        monkeypatch.setenv("CC", need("clang"))
    flags = ["-O2", "-DNAMX_VECTORS=0"] if build == "scalar" else None
    model = load_model("example")
    for width in ("3", "8"):
        y = stream(open_streamer("c", model, width, cflags=flags), X, [100, 1, 37])
        assert np.max(np.abs(y - open_streamer("numpy", model, width).process(X))) <= 2e-5


def test_without_a_compiler_conformance_lists_c_as_not_installed(monkeypatch, tmp_path):
    from namx.conformance import installed_runtimes
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    names, missing = installed_runtimes()
    assert "c" not in names and "C compiler" in missing["c"]


@pytest.mark.spec("14.3")
def test_the_engines_tanh_is_within_1_5_ulp(tmp_path):
    from namx.converters.c.generate import HELPERS
    src = tmp_path / "t.c"
    src.write_text("#include <math.h>\n#include <stdint.h>\n#include <string.h>\n#include <stddef.h>\n#define INLINE static\n"
                   + HELPERS["tanh32"] + "\nvoid run(const float *x, float *y, size_t n)"
                   " { size_t i; for (i = 0; i < n; i++) y[i] = tanh32(x[i]); }\n")
    _compile("cc", [src], tmp_path / "t.so", ["-shared", "-fPIC", "-lm"])
    lib = ctypes.CDLL(str(tmp_path / "t.so"))
    x = np.concatenate([np.linspace(-12, 12, 400001), np.linspace(-0.6, 0.6, 200001), np.logspace(-30, 1, 20001),
                        -np.logspace(-30, 1, 20001), [1e30, -1e30, np.inf, -np.inf, np.nan]]).astype(np.float32)
    y = np.empty_like(x)
    ptr = ctypes.POINTER(ctypes.c_float)
    lib.run(x.ctypes.data_as(ptr), y.ctypes.data_as(ptr), ctypes.c_size_t(x.size))
    exact = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(y - exact)[:-1] / ulp[:-1]) <= 1.5 and np.isnan(y[-1])


@pytest.mark.spec("14.1")
def test_instances_are_independent_and_process_works_in_place(tmp_path):
    model = load_model("example")
    paths = convert("c", model, width="3", output=str(tmp_path / "a.c"))
    _compile("cc", [tmp_path / "a.c"], tmp_path / "a.so", ["-shared", "-fPIC", "-lm"])
    c = ctypes.CDLL(str(tmp_path / "a.so"))
    assert sorted(p.name for p in paths) == ["a.c", "a.h"]
    c.namx_a_w3_state_bytes.restype = ctypes.c_size_t
    one, two = (ctypes.create_string_buffer(c.namx_a_w3_state_bytes()) for _ in range(2))
    c.namx_a_w3_init(one)
    c.namx_a_w3_init(two)
    x = np.ascontiguousarray(X, np.float32)
    ptr = ctypes.POINTER(ctypes.c_float)
    y1, y2 = np.empty_like(x), x.copy()
    for i in range(0, x.size, 500):  # interleaved calls; the second instance writes over its input
        n = ctypes.c_size_t(min(500, x.size - i))
        c.namx_a_w3_process(one, x[i:].ctypes.data_as(ptr), y1[i:].ctypes.data_as(ptr), n)
        c.namx_a_w3_process(two, y2[i:].ctypes.data_as(ptr), y2[i:].ctypes.data_as(ptr), n)
    assert np.array_equal(y1, y2)
    assert np.max(np.abs(y1 - open_streamer("numpy", model, "3").process(X))) <= 2e-5
