"""The C array is a firmware kit (spec §10.6): what its header says is what TFLM needs, and its
compact initial state is the metadata's state bit for bit. Per exported model: the op list against
the flatbuffer (read by LiteRT), the arena against TFLM's allocator, the state through the
compiled load_state, a TFLM run from that state, and the flash saved.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from namx.bundled import load_model
from namx.converters import convert
from namx.converters.tflite import binding
from namx.converters.tflite.builder import OPS
from namx.converters.tflite.c_array import resolver_name
from namx.metrics import esr_db
from namx.runtimes import open_streamer

pytest.importorskip("tflite_micro")

MODELS = [("example", "3"), ("slim8", "6")]
BLOCK = 64
FLAGS = ["-Wall", "-Wextra", "-Werror"]


def need(*tools: str) -> None:
    """Skip without a compiler here; in CI (.ci/run installs them) that is a failure."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"not installed: {', '.join(missing)}")


def compile_and_run(folder, sources: dict[str, str], commands: list[list[str]]) -> str:
    for name, text in sources.items():
        (folder / name).write_text(text)
    for cmd in commands:
        r = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)}:\n{r.stderr}"
    return subprocess.run(["./check"], cwd=folder, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module", params=MODELS, ids=lambda m: f"{m[0]}-w{m[1]}")
def exported(request, tmp_path_factory):
    """(folder, header, .tflite bytes, model bytes and expanded state as the compiled C array gives them,
    model name)."""
    name, width = request.param
    need("gcc", "g++", "nm")
    folder = tmp_path_factory.mktemp(f"{name}{width}")
    convert("tflite", load_model(name), output=str(folder / "m.tflite"), width=width, block_size=BLOCK,
            c_array=True)
    main = """
#include <stdio.h>
#include <stdlib.h>
#include "m.h"
int main(void) {
    FILE *f = fopen("model.bin", "wb");
    fwrite(namx_m_model, 1, namx_m_model_len, f);
    fclose(f);
    f = fopen("state.bin", "wb");
    for (unsigned int k = 0; k < NAMX_M_NUM_STATES; ++k) {
        float *buf = (float *)malloc(namx_m_state_bytes[k]);
        namx_m_load_state(k, buf);
        fwrite(buf, 1, namx_m_state_bytes[k], f);
        free(buf);
    }
    fclose(f);
    return 0;
}
"""
    out = compile_and_run(folder, {"main.c": main}, [
        ["g++", "-std=c++11", *FLAGS, "-c", "m.cc", "-o", "m.o"],
        ["gcc", "-std=c99", "-pedantic", *FLAGS, "-c", "main.c", "-o", "main.o"],
        ["g++", "main.o", "m.o", "-o", "check"]])
    header = (folder / "m.h").read_text()
    sizes = {}  # the flash each array takes in the object file
    for line in subprocess.run(["nm", "-S", "--defined-only", "m.o"], cwd=folder, capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    assert _macro(header, "INITIAL_STATE_BYTES") == sizes["namx_m_initial_state"]
    assert _macro(header, "MODEL_BYTES") == sizes["namx_m_model"]
    return folder, header, (folder / "m.tflite").read_bytes(), (folder / "model.bin").read_bytes(), \
        (folder / "state.bin").read_bytes(), name


def _macro(header: str, name: str):
    m = re.search(rf"^#define NAMX_M_{name}(\(X\))? (.*?)(  /\*|$)", header, re.M)
    assert m, f"no macro {name}"
    value = m.group(2)
    return int(value) if re.fullmatch(r"-?\d+", value) else value


@pytest.mark.spec("10.6")
def test_op_list_is_the_flatbuffers_ops(exported):
    from ai_edge_litert.interpreter import Interpreter
    _, header, _, model, *_ = exported
    ops = {d["op_name"] for d in Interpreter(model_content=model)._get_ops_details()}
    listed = re.findall(r"X\((\w+)\)", str(_macro(header, "OPS")))
    assert sorted(listed) == sorted(resolver_name(op) for op in ops) and len(listed) == len(ops)
    assert _macro(header, "NUM_OPS") == len(ops)
    registered = re.findall(r"resolver\.Add(\w+)\(\)", header)
    assert registered == listed


@pytest.mark.spec("10.6.1")
def test_arena_is_exactly_what_tflm_needs(exported):
    from tflite_micro import runtime
    _, header, _, model, *_ = exported
    arena = _macro(header, "ARENA_SIZE")
    it = runtime.Interpreter.from_bytes(model, arena_size=arena)
    it.invoke()
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(model, arena_size=int(arena * 0.99))


@pytest.mark.spec("10.6", "10.6.2")
def test_expanded_state_is_the_metadatas_bit_for_bit_and_runs_in_tflm(exported):
    from namx.runtimes.tflm import FileRunner
    folder, header, full, model, state, name = exported
    _, (b_full,) = binding.read(full)
    assert state == b_full.initial_state_bytes()
    meta, (b,) = binding.read(model)  # the embedded model: same graph, no state in its metadata
    assert b.initial_state == {} and b.initial_state_buffer is None and meta["graphs"][0]["initial_state"] is None
    flat, at = np.frombuffer(state, np.float32), 0
    for state_name, shape in zip(b.state_names, b.state_shapes):
        size = int(np.prod(shape))
        b.initial_state[state_name] = flat[at:at + size].reshape(shape)
        at += size
    x = np.random.default_rng(16).uniform(-0.8, 0.8, 20 * BLOCK).astype(np.float32)
    run = [FileRunner(data, bb) for data, bb in ((model, b), (full, b_full))]
    y_c, y_full = (np.concatenate([r.process(x[i:i + BLOCK]) for i in range(0, x.size, BLOCK)]) for r in run)
    assert np.array_equal(y_c, y_full)
    ref = open_streamer("numpy", load_model(name),
                        _macro(header, "WIDTH").strip('"')).process(x.astype(np.float64))
    assert esr_db(y_c, ref) < -90


def test_flash_is_at_least_40_percent_smaller(exported):
    """Before, the .cc held the whole .tflite (state in its metadata) and the full state again."""
    _, header, full, model, *_ = exported
    before = len(full) + 4 * _macro(header, "STATE_FLOATS")
    after = _macro(header, "MODEL_BYTES") + _macro(header, "INITIAL_STATE_BYTES")
    assert after <= 0.6 * before, (after, before)


def test_register_ops_calls_every_listed_op_on_a_resolver(exported):
    """The C++ helper compiles against any resolver with TFLM's Add<Op>() methods and adds each op once."""
    folder, header, *_ = exported
    methods = "\n".join(f'  int Add{resolver_name(op)}() {{ std::printf("{resolver_name(op)}\\n"); return 0; }}'
                        for op in OPS)
    main = f"""
#include <cstdio>
#include "m.h"
struct Resolver {{
{methods}
}};
int main() {{
  Resolver r;
  return namx_m_register_ops(r) ? 0 : 1;
}}
"""
    out = compile_and_run(folder, {"ops.cc": main}, [["g++", "-std=c++11", *FLAGS, "ops.cc", "-o", "check"]])
    assert out.split() == re.findall(r"X\((\w+)\)", str(_macro(header, "OPS")))


def test_calibration_macros_where_the_metadata_has_them(exported):
    _, header, *_, name = exported
    model = load_model(name)
    for macro, key in (("LOUDNESS", "loudness"), ("GAIN", "gain"), ("INPUT_LEVEL_DBU", "input_level_dbu"),
                       ("OUTPUT_LEVEL_DBU", "output_level_dbu")):
        if key in model.metadata:
            assert float(_macro(header, macro).rstrip("f")) == float(np.float32(model.metadata[key]))
        else:
            assert f"#define NAMX_M_{macro} " not in header
    assert (_macro(header, "NAME") == f'"{model.metadata["name"]}"') if "name" in model.metadata \
        else "#define NAMX_M_NAME " not in header


def test_without_tflite_micro_the_arena_is_left_undefined(tmp_path, monkeypatch, capsys):
    """A header never guesses the arena: unmeasured, the macro is absent (a build using it fails)."""
    import namx.converters.tflite
    monkeypatch.setattr(namx.converters.tflite, "measured_arena", lambda model: None)
    convert("tflite", load_model("example"), output=str(tmp_path / "m.tflite"), width="3", c_array=True)
    header = (tmp_path / "m.h").read_text()
    assert "/* NAMX_M_ARENA_SIZE: not measured (tflite-micro was not installed) */" in header
    assert "#define NAMX_M_ARENA_SIZE" not in header
    assert "arena not measured" in capsys.readouterr().err
