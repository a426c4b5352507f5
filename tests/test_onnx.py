"""ONNX export and the ONNX Runtime streamer (spec §9): fidelity, streaming, widths, files."""
import ast
import re
import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile as sf
from builders import layer_array, wavenet
from conftest import GOLDEN, REPO, assert_matches_golden, golden_id, stream

from namx import load
from namx.bundled import load_model
from namx.converters.onnx import METADATA, OPSET, export, initial_state
from namx.converters.onnx.graph import width_values
from namx.loader import from_json
from namx.metrics import esr_db, max_abs_error
from namx.runtimes import open_streamer
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.runtimes.onnx_runtime import GraphRunner, session
from namx.signals import mix

RANDOM_BLOCKS = list(np.random.default_rng(11).integers(1, 700, 40))
FORMS = {"fixed": "onnxruntime", "dynamic": "onnxruntime-dynamic"}


@functools.lru_cache(maxsize=None)
def _model(path):
    return load(path)


@functools.lru_cache(maxsize=None)
def _streamer(path, form, width):
    return open_streamer(FORMS[form], _model(path), width)


def _fresh(entry, form, shared):
    """The entry's streamer (built once per model, form and width), reset to its initial state."""
    s = _streamer(shared / entry["model"], form, entry["width"])
    s.reset()
    return s


@pytest.mark.slow
@pytest.mark.spec("8.3", "9.1", "7.2")
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_matches_golden(entry, form, shared, golden_input):
    """Both graph forms, fed the entry's width, at block sizes 7, 64, 2048 and a random partition
    (each run from a reset, so reset() is exercised too)."""
    for blocks in ([2048], [64], [7], RANDOM_BLOCKS):
        assert_matches_golden(stream(_fresh(entry, form, shared), golden_input, blocks), entry, shared, "float32")


@pytest.mark.slow
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
def test_block_size_one(entry, shared, golden_input):
    """Blocks of one sample (on the first 0.25 s: silence, the impulse and the start of the sweep)."""
    n = 12000
    ref = np.load(shared / "golden" / entry["output"])[:n]
    for form in FORMS:
        y = stream(_fresh(entry, form, shared), golden_input[:n], [1])
        assert max_abs_error(y, ref) <= entry["tol_max_abs_float32"]
        # as accurate as one whole block: float32 rounding may differ, not grow
        whole = _fresh(entry, form, shared).process(golden_input[:n])
        assert esr_db(y, ref) <= max(entry["tol_esr_db_float32"], esr_db(whole, ref) + 3)


@pytest.mark.spec("7.3", "9.3")
@pytest.mark.parametrize("name", ["example", "sliced", "container"])
def test_width_switching_matches_the_reference(name, shared):
    """Switching width every few blocks: both graph forms equal the NumPy reference doing the same."""
    model = {"example": load_model("example"),
             "sliced": _model(shared / "models/slimmable/wavenet_sliced_c8_w2468.nam"),
             "container": _model(shared / "models/real/NeuralAmpModelerCore/example_models/slimmable_container.nam"),
             }[name]
    labels = [lv.label for lv in model.widths()]
    x = mix()[:20000]
    plan = [labels[i % len(labels)] for i in (0, 0, 1, 1, 1, 0, 2, 2, 1, 1)]
    outs = {}
    for runtime in ("numpy", *FORMS.values()):
        s = open_streamer(runtime, model, plan[0])
        ys = []
        for k, start in enumerate(range(0, x.size, 2000)):
            s.width = plan[k % len(plan)]
            ys.append(s.process(x[start:start + 2000]))
        outs[runtime] = np.concatenate(ys)
    for runtime in FORMS.values():
        assert esr_db(outs[runtime], outs["numpy"]) <= -110, runtime
        assert max_abs_error(outs[runtime], outs["numpy"]) <= 2e-5


def _client(proto):
    """What a client that reads no metadata does: feed audio (and width) and the state, feed back
    next_state.*; to start or reset, feed state.level = -1 and zeros of the declared shapes
    (unknown dimensions 0). Returns run(plan, state=None) -> (output, final state)."""
    sess = session(proto)
    outputs = [o.name for o in sess.get_outputs()]
    start = {i.name: np.full([d if isinstance(d, int) else 0 for d in i.shape], -1 if i.name == "state.level" else 0,
                             np.float32) for i in sess.get_inputs() if i.name.startswith("state.")}

    def run(plan, state=None):
        state, ys = dict(state or start), []
        for (w, lo, hi) in plan:
            feeds = {"audio": X6[lo:hi], **state}
            if w is not None:
                feeds["width"] = np.array(w, np.int64)
            out, *nxt = sess.run(outputs, feeds)
            ys.append(out)
            state = {o.replace("next_state.", "state.", 1): v for o, v in zip(outputs[1:], nxt)}
        return np.concatenate(ys), state
    return run


X6 = mix()[:6000]


@pytest.mark.spec("7.3", "9.2", "9.3")
@pytest.mark.parametrize("name", ["A2", "slim8"])
def test_graphs_start_reset_and_switch_width_without_metadata(name):
    """Fed state.level = -1 to start, both forms equal the reference, and the all-widths graph
    restarts a newly selected width itself: no metadata needed."""
    model = load_model(name)
    levels = model.widths()
    values = width_values(levels)
    ref = {lv.label: NumpyStreamer(model, lv.label).process(X6) for lv in levels}
    dynamic = _client(export(model))
    for lv, v in zip(levels, values):
        fixed = _client(export(model, lv.label))
        y, state = fixed([(None, 0, 2500), (None, 2500, 6000)])
        assert max_abs_error(y, ref[lv.label]) < 2e-5
        again, _ = fixed([(None, 0, 3000)], {**state, "state.level": np.full((1, 1, 1), -1, np.float32)})  # reset
        assert np.array_equal(again[:2500], y[:2500])
        y, _ = dynamic([(v, 0, 2500), (v, 2500, 6000)])
        assert max_abs_error(y, ref[lv.label]) < 2e-5
    first, last = levels[0], levels[-1]
    switched, _ = dynamic([(values[-1], 0, 3000), (values[0], 3000, 4000), (values[0], 4000, 6000)])
    fresh = NumpyStreamer(model, first.label).process(X6[3000:])
    assert max_abs_error(switched[:3000], ref[last.label][:3000]) < 2e-5
    assert max_abs_error(switched[3000:], fresh) < 2e-5
    # a width that is not offered selects the largest offered width below it, else the narrowest
    below, _ = dynamic([(values[0] - 1, 0, 3000)])
    assert np.array_equal(below, dynamic([(values[0], 0, 3000)])[0])


def test_graph_without_reset_only_continues_the_state_fed_in():
    """fixed_model(reset=False), what benchmarks/bench_onnx_reset.py measures the start/reset
    mechanism against: fed the initial state it equals namx's fixed graph; fed state.level = -1
    and zeros it does not start from the initial state (the mechanism is really left out)."""
    from namx.converters.onnx.graph import fixed_model, to_proto
    model = load_model("A2")
    level = model.widths()[0]
    proto = export(model, level.label)
    bare = to_proto(fixed_model(model, level, reset=False).model)
    start = initial_state(proto)
    with_reset, _ = _client(proto)([(None, 0, 3000)], start)
    without, _ = _client(bare)([(None, 0, 3000)], start)
    assert np.array_equal(without, with_reset)
    zeros, _ = _client(bare)([(None, 0, 3000)])
    assert max_abs_error(zeros, with_reset) > 1e-3


@pytest.mark.spec("9.2", "9.3")
def test_state_traffic_does_not_grow_with_the_levels(shared):
    """An all-widths graph carries one level's state (plus state.level), however many levels."""
    for model in (load_model("A2"), load_model("slim8"),
                  _model(shared / "models/real/NeuralAmpModelerCore/example_models/slimmable_container.nam")):
        meta = {p.key: p.value for p in export(model).metadata_props}
        most = max(len(export(model, lv.label).graph.output) - 1 for lv in model.widths())  # level included
        assert len(meta["namx.state_inputs"].split(",")) == most
        def shapes(text):
            return np.array([[int(d) for d in s.split("x")] for s in text.split(",")])
        per_level = np.stack([shapes(lv) for lv in meta["namx.level_state_shapes"].split(";")])
        assert len(per_level) == len(model.widths())
        assert np.array_equal(shapes(meta["namx.state_max_shapes"]), per_level.max(axis=0))


@pytest.mark.spec("9.1", "9.2", "9.4")
@pytest.mark.parametrize("width", [None, "3", "8"])
def test_graphs_are_valid_and_self_describing(width):
    model = load_model("example")
    proto = export(model, width)
    onnx.checker.check_model(proto, full_check=True)
    onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    assert proto.opset_import[0].version == OPSET
    meta = {p.key: p.value for p in proto.metadata_props}
    required = set(METADATA) - {"namx.width", "nam.input_level_dbu", "nam.output_level_dbu", "nam.name"}
    assert required <= set(meta), required - set(meta)
    assert meta["namx.widths"] == "3,8" and meta["namx.width_values"] == "3,8"
    assert meta["namx.sample_rate"] == "48000" and float(meta["nam.loudness"]) == pytest.approx(-26.38389969)
    assert meta["namx.graph"] == ("dynamic" if width is None else "fixed")
    inputs = [i.name for i in proto.graph.input]
    outputs = [o.name for o in proto.graph.output]
    states = meta["namx.state_inputs"].split(",")
    assert inputs == ["audio", *(["width"] if width is None else []), *states]
    assert outputs == ["audio_out", *meta["namx.state_outputs"].split(",")]
    assert [o.removeprefix("next_state.") for o in outputs[1:]] == [s.removeprefix("state.") for s in states]
    init = initial_state(meta)
    assert list(init) == states
    assert states[0] == "state.level" and init["state.level"].item() == (0 if width == "3" else 1)
    assert not any(i.name in inputs for i in proto.graph.initializer)  # no defaults: web/node cannot feed them
    if width is not None:
        assert meta["namx.width"] == width and meta["namx.receptive_field"] == "6347"


@pytest.mark.spec("9.3")
def test_fixed_graph_has_no_weight_slicing_and_dynamic_graph_slices_one_copy(shared):
    model = _model(shared / "models/slimmable/wavenet_sliced_c8_w2468.nam")

    def sliced_initializers(graph, inits):
        found = [n for n in graph.node if n.op_type == "Slice" and n.input[0] in inits]
        for node in graph.node:
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    found += sliced_initializers(a.g, inits)
        return found

    def weight_floats(proto):  # the root graph's constants, level tables aside
        return sum(int(np.prod(i.dims)) for i in proto.graph.initializer
                   if i.data_type == onnx.TensorProto.FLOAT and not i.name.startswith("level"))
    fixed = export(model, "4")
    assert not sliced_initializers(fixed.graph, {i.name for i in fixed.graph.initializer})
    dynamic = export(model)
    assert len(sliced_initializers(dynamic.graph, {i.name for i in dynamic.graph.initializer})) > 20
    # one copy of the weights in the file: as many as one branch of the widest fixed graph holds
    widest = export(model, "8")
    leaf = next(n for n in widest.graph.node if n.op_type == "If")
    keep = next(a.g for a in leaf.attribute if a.name == "then_branch")
    assert weight_floats(dynamic) == sum(int(np.prod(i.dims)) for i in keep.initializer
                                         if i.data_type == onnx.TensorProto.FLOAT) > 10000


@pytest.mark.spec("7.1", "9.2")
def test_initial_state_is_the_prewarmed_reference_state():
    model = from_json(wavenet([layer_array(channels=4, dilations=(1, 2, 4, 8), activation="LeakyReLU")]))
    runner = GraphRunner(export(model, "4"))
    runner.reset()
    y = runner.process(np.zeros(256, np.float32))
    ref = NumpyStreamer(model).process(np.zeros(256))
    assert np.ptp(y) < 1e-7 and max_abs_error(y, ref) < 1e-6


def _namx(*args, cwd):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_convert_command(tmp_path):
    r = _namx("convert", "example", "--to", "onnx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "A2.onnx" and onnx.load(tmp_path / "A2.onnx").graph.input[1].name == "width"
    r = _namx("convert", "example", "--to", "onnx", "--width", "3", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "A2.w3.onnx").exists()
    for args, message in [(["--width", "6"], "width 6 is not offered; this model offers 3, 8"),
                          ([], "A2.onnx: already exists (use --force to overwrite)"),
                          (["--block-size", "64"], "--block-size does not apply to ONNX"),
                          (["-o", "x.tflite"], "output must end in .onnx"),
                          (["-o", "nowhere/x.onnx"], "folder nowhere does not exist")]:
        r = _namx("convert", "example", "--to", "onnx", *args, cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert _namx("convert", "example", "--to", "onnx", "--force", cwd=tmp_path).returncode == 0
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.spec("9.1", "9.2")
def test_example_app_needs_only_onnxruntime_numpy_soundfile(tmp_path, shared, golden_input):
    """examples/onnx_stream.py (no namx import) reproduces the golden output."""
    script = REPO / "examples" / "onnx_stream.py"
    imports = {a.name.split(".")[0] for node in ast.walk(ast.parse(script.read_text()))
               if isinstance(node, (ast.Import, ast.ImportFrom)) for a in getattr(node, "names", [])}
    imports |= {node.module.split(".")[0] for node in ast.walk(ast.parse(script.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert imports <= {"argparse", "base64", "binascii", "sys", "numpy", "onnxruntime", "soundfile"}, imports
    model = tmp_path / "a2.onnx"
    model.write_bytes(export(load_model("example")).SerializeToString())
    sf.write(tmp_path / "in.wav", golden_input, 48000, subtype="FLOAT")
    argv = [str(script), str(model), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--width", "3",
            "--block-size", "100"]
    blocked = ("import sys, runpy; sys.modules['namx'] = None; "  # any `import namx` would now fail
               f"sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    entry = next(e for e in GOLDEN if e["model"].endswith("example_models/A2.nam") and e["width_label"] == "3")
    assert_matches_golden(sf.read(tmp_path / "out.wav", dtype="float32")[0], entry, shared, "float32")


@pytest.mark.spec("9.2", "9.4")
@pytest.mark.parametrize("key, value, message", [
    ("namx.spec_version", "2.0", "namx.spec_version '2.0' is not one this program knows (1.0)"),
    ("namx.initial_state", "AAAAAA==", "malformed state metadata (namx.state_inputs, namx.state_shapes and"),
    ("namx.initial_state", "not base64!", "malformed state metadata"),
    ("namx.state_shapes", "1x4", "malformed state metadata"),
    ("namx.state_shapes", "1xAx5", "malformed state metadata"),
    ("namx.state_inputs", None, "metadata has no namx.state_inputs"),
])
def test_example_app_refuses_unknown_versions_and_malformed_state_metadata(tmp_path, key, value, message):
    proto = export(load_model("example"), "3")
    meta = {p.key: p.value for p in proto.metadata_props}
    if value is None:
        del meta[key]
    else:
        meta[key] = value
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, meta)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    sf.write(tmp_path / "in.wav", np.zeros(100, np.float32), 48000, subtype="FLOAT")
    r = subprocess.run([sys.executable, str(REPO / "examples" / "onnx_stream.py"), str(tmp_path / "m.onnx"),
                        str(tmp_path / "in.wav"), str(tmp_path / "out.wav")], capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out.wav").exists()


def test_width_values_label_i_levels_by_index(shared):
    model = _model(shared / "models/real/NeuralAmpModelerCore/example_models/slimmable_container.nam")
    assert width_values(model.widths()) == [0, 1, 2]
    assert width_values(load_model("example").widths()) == [3, 8]


@pytest.mark.spec("9.1", "9.4")
def test_spec_onnx_binding_matches_the_exporter():
    """Spec §9's tables are the exporter's own definitions."""
    from namx.converters.onnx.builder import STATE_IN, STATE_OUT
    from namx.converters.onnx.graph import AUDIO_IN, AUDIO_OUT, IR_VERSION, LEVEL_STATE, WIDTH_IN
    spec = (REPO / "spec" / "a2" / "1.0" / "A2.md").read_text()
    section = spec.split("## 9. ONNX binding")[1].split("\n## 10.")[0]
    meta_rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", section.split("### 9.4")[1], re.M)
    assert dict(meta_rows) == METADATA and len(meta_rows) == len(METADATA)
    io_rows = re.findall(r"^\| `([^`]+)` \| ", section.split("### 9.1")[1].split("### 9.2")[0], re.M)
    assert io_rows == [AUDIO_IN, WIDTH_IN, STATE_IN + LEVEL_STATE, f"{STATE_IN}<name>", AUDIO_OUT, f"{STATE_OUT}<name>"]
    assert f"opset {OPSET} (IR version {IR_VERSION})" in section
