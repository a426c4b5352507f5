"""The TFLite binding's files (spec §10): op subset, alignment, I/O, initial state, naming, C array, CLI."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import GOLDEN, REPO, assert_matches_golden, golden_id

from namx import load
from namx.bundled import load_model
from namx.cli import main
from namx.converters.tflite import binding
from namx.converters.tflite.builder import ALIGNMENT, OPS, S
from namx.converters.tflite.export import export_widths, runtime_model, tensor_state
from namx.loader import from_json
from namx.runtimes.static_blocks import block_sizes


# Under pytest-xdist (--dist loadgroup) this module runs on one worker, so its expensive
# module- and session-scoped fixtures are computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("tflite_binding")

SLICED = "models/slimmable/wavenet_sliced_c8_w2468.nam"
OP_NAMES = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}


def _ops(model_bytes: bytes) -> list[tuple[str, int]]:
    """(builtin op name, version) of every operator in every subgraph."""
    m = S.Model.GetRootAs(model_bytes, 0)
    codes = [m.OperatorCodes(i) for i in range(m.OperatorCodesLength())]
    codes = [(OP_NAMES[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())], c.Version(), c.CustomCode()) for c in codes]
    out = []
    for g in (m.Subgraphs(i) for i in range(m.SubgraphsLength())):
        for op in (g.Operators(j) for j in range(g.OperatorsLength())):
            name, version, custom = codes[op.OpcodeIndex()]
            assert custom is None, f"custom op {custom}"
            out.append((name, version))
    return out


def _constant_offsets(model_bytes: bytes) -> list[int]:
    m = S.Model.GetRootAsModel(model_bytes, 0)
    offsets = []
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.DataLength():
            offsets.append(b._tab.Vector(b._tab.Offset(4)))
    return offsets


def _synthetic_models():
    lstm = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 3, "num_layers": 2}), seed=1)
    acts = ["Fasttanh", "Hardtanh", "Softsign", "SiLU", "Hardswish", "ReLU", "Sigmoid"]
    la = layer_array(channels=2, dilations=[1] * len(acts), activation=acts)
    head = {"channels": 2, "out_channels": 1, "kernel_sizes": [2], "activation": {"type": "LeakyHardtanh"}}
    return {"lstm": from_json(lstm), "convnet": from_json(convnet(batchnorm=True)),
            "activations": from_json(wavenet([la], head=head))}


@pytest.fixture(scope="session")
def exported(shared):
    """Every golden entry's level as a binding file at block 64, plus synthetic models and runtime models."""
    files = {}
    for e in GOLDEN:
        model = load(shared / e["model"])
        level = [lv for lv in model.widths() if lv.index == e["level"]][0]
        files[golden_id(e)] = export_widths(model, [level], 64)[0]
    for name, model in _synthetic_models().items():
        files[name] = export_widths(model, model.widths(), 7)[0]
        files[f"{name} runtime"] = runtime_model(model, model.widths()[-1], block_sizes(48), "variables")[0]
    a2 = load_model("example")
    files["A2 signatures"] = export_widths(a2, a2.widths(), 64)[0]
    files["A2 runtime"] = runtime_model(a2, a2.widths()[0], block_sizes(64), "variables")[0]
    return files


@pytest.mark.spec("10.2")
def test_every_exported_model_uses_only_the_binding_ops(exported):
    used = set()
    for name, data in exported.items():
        for op, version in _ops(data):
            assert op in OPS and version == OPS[op], f"{name}: {op} v{version} is outside the op subset"
            used.add(op)
    assert used == set(OPS), f"ops never exported (drop them from the subset?): {set(OPS) - used}"


@pytest.mark.spec("10.2")
def test_tflite_micro_implements_every_op_of_the_subset():
    """TFLM's interpreter registers each op as Register_<OP>; the subset must stay within them."""
    import tflite_micro
    lib = next(Path(tflite_micro.__file__).parent.rglob("_runtime.so")).read_bytes()
    registered = {m.decode() for m in re.findall(rb"Register_([A-Z0-9_]+)Ev", lib)}
    assert set(OPS) <= registered, f"not in TFLM: {set(OPS) - registered}"


@pytest.mark.spec("10.1")
def test_constant_buffers_are_16_byte_aligned(exported):
    for name, data in exported.items():
        offsets = _constant_offsets(data)
        assert offsets and all(o % ALIGNMENT == 0 for o in offsets), name


@pytest.mark.spec("10.4", "10.5")
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
def test_metadata_carries_the_reference_initial_state_and_io_order(entry, shared, exported):
    data = exported[golden_id(entry)]
    meta, (b,) = binding.read(data)
    assert set(meta) == set(binding.METADATA_FIELDS)
    assert set(meta["graphs"][0]) == set(binding.GRAPH_FIELDS)
    model = load(shared / entry["model"])
    plain = model.at([lv for lv in model.widths() if lv.index == entry["level"]][0])
    state = tensor_state(plain)
    assert b.state_names == list(state) and b.width == entry["width_label"] and b.block_size == 64
    for name, value in state.items():
        assert np.array_equal(b.initial_state[name], value), name
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_content=data)
    ins, outs = it.get_input_details(), it.get_output_details()
    assert [d["name"] for d in ins] == [binding.AUDIO, *b.state_names]
    assert [d["name"] for d in outs] == [binding.AUDIO_OUT, *(n + binding.NEXT_SUFFIX for n in b.state_names)]
    assert [tuple(d["shape"]) for d in ins] == [(1, 64), *b.state_shapes] == [tuple(d["shape"]) for d in outs]


@pytest.mark.spec("10.3", "10.5")
def test_state_layout_is_history_rows_oldest_first():
    """A Linear model's state is its last R-1 input samples, [1, R-1, 1, 1], oldest first."""
    model = from_json(with_weights(nam("Linear", {"receptive_field": 4, "bias": False}), seed=3))
    data, (b,) = export_widths(model, model.widths(), 2)
    from tflite_micro import runtime
    tm = runtime.Interpreter.from_bytes(data)
    tm.set_input(np.array([[5.0, 7.0]], np.float32), 0)
    tm.set_input(np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 3, 1, 1), 1)
    tm.invoke()
    assert b.state_shapes == [(1, 3, 1, 1)]
    assert tm.get_output(1).reshape(-1).tolist() == [3.0, 5.0, 7.0]
    taps = model.net.taps  # taps[0] multiplies the current sample
    assert np.allclose(tm.get_output(0).reshape(-1), [taps @ [5, 3, 2, 1], taps @ [7, 5, 3, 2]], rtol=1e-6)


def test_signatures_file_has_one_signature_per_width_matching_the_single_files():
    from ai_edge_litert.interpreter import Interpreter
    a2 = load_model("example")
    data, bindings = export_widths(a2, a2.widths(), 32)
    it = Interpreter(model_content=data)
    assert sorted(it.get_signature_list()) == ["width_3", "width_8"]
    x = np.linspace(-0.5, 0.5, 32, dtype=np.float32).reshape(1, 32)
    for b, lv in zip(bindings, a2.widths()):
        out = it.get_signature_runner(b.signature)(audio=x, **b.initial_state)
        single, (sb,) = export_widths(a2, [lv], 32)
        one = Interpreter(model_content=single)
        alone = one.get_signature_runner(sb.signature)(audio=x, **sb.initial_state)
        assert np.array_equal(out["audio"], alone["audio"])


# ---- the command line -----------------------------------------------------------------------

def _run(args, cwd, capsys, monkeypatch):
    monkeypatch.chdir(cwd)
    code = main(args)
    return code, capsys.readouterr()


def test_convert_width_6_verbatim_runs_in_tflm_and_matches_golden(shared, tmp_path, capsys, monkeypatch):
    code, out = _run(["convert", str(shared / SLICED), "--to", "tflite", "--width", "6"], tmp_path, capsys,
                     monkeypatch)
    assert code == 0, out.err
    assert out.out.split() == ["wavenet_sliced_c8_w2468.w6.tflite"]  # written in the current folder
    path = tmp_path / "wavenet_sliced_c8_w2468.w6.tflite"
    from namx.runtimes.tflm import FileRunner
    data = path.read_bytes()
    _, (b,) = binding.read(data)
    runner = FileRunner(data, b)
    x = np.load(shared / "golden/inputs/mix_2s.npy")
    y = np.concatenate([runner.process(x[i:i + 64]) for i in range(0, x.size, 64)])
    entry = next(e for e in GOLDEN if e["model"] == SLICED and e["width_label"] == "6")
    assert_matches_golden(y, entry, shared, "float32")


def test_a_width_the_model_lacks_is_one_line_listing_the_offered_widths(tmp_path, capsys, monkeypatch):
    code, out = _run(["convert", "example", "--to", "tflite", "--width", "6"], tmp_path, capsys, monkeypatch)
    assert code == 2
    assert out.err.count("\n") == 1 and "width 6 is not offered" in out.err and "offers 3, 8" in out.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.spec("10.1")
def test_without_width_one_file_per_width_plus_signatures_and_c_arrays(tmp_path, capsys, monkeypatch):
    code, out = _run(["convert", "example", "--to", "tflite", "--signatures", "--c-array", "--block-size", "16"],
                     tmp_path, capsys, monkeypatch)
    assert code == 0, out.err
    names = ["A2.w3.tflite", "A2.w3.h", "A2.w3.cc", "A2.w8.tflite", "A2.w8.h", "A2.w8.cc", "A2.widths.tflite"]
    assert out.out.split() == names  # in the current folder, named as given
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for n in ("A2.w3.tflite", "A2.w8.tflite"):
        assert binding.read_file(tmp_path / n)[1][0].block_size == 16


def test_existing_outputs_are_kept_without_force(tmp_path, capsys, monkeypatch):
    (tmp_path / "A2.w8.tflite").write_bytes(b"keep")
    code, out = _run(["convert", "example", "--to", "tflite"], tmp_path, capsys, monkeypatch)
    assert code == 2 and "A2.w8.tflite: already exists (use --force to overwrite)" in out.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A2.w8.tflite"]  # nothing else written first
    assert _run(["convert", "example", "--to", "tflite", "--force"], tmp_path, capsys, monkeypatch)[0] == 0
    assert binding.read_file(tmp_path / "A2.w8.tflite")[1][0].width == "8"


def test_output_names_the_file_or_gives_the_stem(tmp_path, capsys, monkeypatch):
    assert _run(["convert", "example", "--to", "tflite", "--width", "3", "-o", "amp.tflite"],
                tmp_path, capsys, monkeypatch)[0] == 0
    assert (tmp_path / "amp.tflite").exists()
    assert _run(["convert", "example", "--to", "tflite", "-o", "sub.tflite"], tmp_path, capsys, monkeypatch)[0] == 0
    assert (tmp_path / "sub.w3.tflite").exists() and (tmp_path / "sub.w8.tflite").exists()
    code, out = _run(["convert", "example", "--to", "tflite", "--width", "3", "-o", "amp.bin"],
                     tmp_path, capsys, monkeypatch)
    assert code == 2 and "must end in .tflite" in out.err


@pytest.mark.spec("10.6")
def test_c_array_compiles_and_holds_the_model_and_initial_state(tmp_path, capsys, monkeypatch):
    """The .cc compiles as C++ and links into a C program that reads every symbol back."""
    if not (shutil.which("gcc") and shutil.which("g++")):
        pytest.skip("gcc/g++ not installed")
    code, _ = _run(["convert", "example", "--to", "tflite", "--width", "3", "--c-array", "--block-size", "48"],
                   tmp_path, capsys, monkeypatch)
    assert code == 0
    (tmp_path / "main.c").write_text("""
#include <stdint.h>
#include <stdio.h>
#include "A2.w3.h"
int main(void) {
    FILE *f = fopen("model.bin", "wb");
    fwrite(namx_A2_w3_model, 1, namx_A2_w3_model_len, f);
    fclose(f);
    static float state[NAMX_A2_W3_STATE_FLOATS];
    unsigned int at = 0;
    for (unsigned int k = 0; k < NAMX_A2_W3_NUM_STATES; ++k) {
        namx_A2_w3_load_state(k, state + at);
        at += namx_A2_w3_state_bytes[k] / sizeof(float);
    }
    f = fopen("state.bin", "wb");
    fwrite(state, sizeof(float), NAMX_A2_W3_STATE_FLOATS, f);
    fclose(f);
    printf("%d %d %d %u %s %g\\n", (int)((uintptr_t)namx_A2_w3_model % 16), NAMX_A2_W3_BLOCK_SIZE,
           NAMX_A2_W3_NUM_STATES, at, namx_A2_w3_width, (double)NAMX_A2_W3_SAMPLE_RATE);
    printf("%s %s\\n", namx_A2_w3_state_name[0], namx_A2_w3_state_name[NAMX_A2_W3_NUM_STATES - 1]);
    return 0;
}
""")
    flags = ["-Wall", "-Wextra", "-Werror"]
    for cmd in (["g++", "-std=c++11", *flags, "-c", "A2.w3.cc", "-o", "model.o"],
                ["gcc", "-std=c99", *flags, "-c", "main.c", "-o", "main.o"],
                ["g++", "main.o", "model.o", "-o", "check"]):
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    r = subprocess.run(["./check"], cwd=tmp_path, capture_output=True, text=True, check=True)
    data = (tmp_path / "A2.w3.tflite").read_bytes()
    _, (b,) = binding.read(data)
    floats = sum(int(np.prod(s)) for s in b.state_shapes)
    assert r.stdout.split() == ["0", "48", str(len(b.state_names)), str(floats), "3", "48000",
                                b.state_names[0], b.state_names[-1]]
    model = load_model("example")
    lean, _ = export_widths(model, [model.widths()[0]], 48, embed_state=False)  # the state is left out
    assert (tmp_path / "model.bin").read_bytes() == lean
    assert (tmp_path / "state.bin").read_bytes() == b.initial_state_bytes()


def test_convert_never_imports_torch(tmp_path):
    code = ("import sys; from namx.cli import main; "
            f"main(['convert', 'example', '--to', 'tflite', '--width', '3', '-o', r'{tmp_path / 'a.tflite'}']); "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
