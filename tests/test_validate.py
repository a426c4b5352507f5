"""`namx validate`: the JSON Schema plus the loader's checks (spec §3.11), on real and broken files."""
import copy
import json
import subprocess
import sys

import pytest
from bad_corpus import CASES
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import shared_models
from hypothesis import given, settings
from hypothesis import strategies as st

from namx import ModelError
from namx.loader import from_json
from namx.validate import MAX_PROBLEMS, schema_problems, validate, validate_file


def namx(*args):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True)


@pytest.mark.spec("3.11")
@pytest.mark.parametrize("path", shared_models(), ids=lambda p: str(p).split("models/")[-1])
def test_every_shared_model_is_valid(path):
    """Every model NeuralAmpModelerCore renders in the golden corpus passes schema and checks."""
    obj = json.loads(path.read_text())
    assert schema_problems(obj, path.name) == []
    result = validate_file(path)
    assert result.valid, [str(p) for p in result.problems]


@pytest.mark.spec("3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.10", "3.11", "6.3")
@pytest.mark.parametrize("name", CASES)
def test_bad_file_is_rejected_with_its_json_path(name):
    case = CASES[name]
    obj = case.make()
    problems = validate(obj, "bad.nam").problems
    lines = [str(p) for p in problems]
    assert any(p.path == case.path and case.message in p.problem for p in problems), lines
    assert all(line.startswith("bad.nam: ") and "\n" not in line for line in lines)
    # the schema alone catches structural problems, and only those
    assert bool(schema_problems(obj, "bad.nam")) == (case.found_by == "schema"), lines
    # the loader rejects every file validate rejects
    with pytest.raises(ModelError):
        from_json(obj, "bad.nam")


@pytest.mark.spec("3.11")
def test_schema_and_semantic_problems_are_reported_together():
    obj = wavenet([layer_array(channels=3, dilations=(1, 2), head_size=2), layer_array(channels=2, input_size=3)])
    obj["version"] = "0.8.0"                                        # schema
    obj["metadata"] = {"name": "amp", "loudness": "loud"}           # schema
    obj["config"]["layers"][1]["input_size"] = 2                    # chain (semantic)
    obj["config"]["layers"][0]["activation"] = {"type": "PReLU", "negative_slopes": [0.1, 0.2]}  # slope count
    lines = [str(p) for p in validate(obj, "m.nam").problems]
    assert lines == [
        'm.nam: version: must be a supported file version MAJOR.MINOR.PATCH, 0.5.0 to 0.7.x (got "0.8.0")',
        'm.nam: metadata.loudness: must be a number or null (got "loud")',
        "m.nam: config.layers[0].activation.negative_slopes: has 2 slopes but is applied to 3 channels",
        "m.nam: config.layers[1].input_size: is 2 but the previous array's channels is 3",
    ]


@pytest.mark.spec("3.11")
def test_a_problem_that_stops_the_loader_is_kept_when_the_schema_saw_something_else():
    obj = wavenet([layer_array(channels=3, dilations=(1, 2))])
    obj["metadata"] = {"loudness": "loud"}                                  # schema
    obj["config"]["layers"][0]["activation"] = ["Tanh", "Tanh", "Tanh"]     # 3 entries, 2 layers
    assert [str(p) for p in validate(obj, "m.nam").problems] == [
        'm.nam: metadata.loudness: must be a number or null (got "loud")',
        "m.nam: config.layers[0].activation: has 3 entries but the array has 2 layers (dilations)",
    ]


def test_schema_problems_are_listed_in_file_order():
    obj = wavenet([layer_array(channels=3, dilations=list(range(1, 13)))])
    obj["sample_rate"] = "44.1k"
    for i in (11, 2, 10):
        obj["config"]["layers"][0]["dilations"][i] = 0
    paths = [p.path for p in validate(obj).problems]
    assert paths == ["config.layers[0].dilations[2]", "config.layers[0].dilations[10]",
                     "config.layers[0].dilations[11]", "sample_rate"]


def test_many_problems_are_capped_in_one_line():
    obj = wavenet()
    obj["weights"] = ["x"] * (MAX_PROBLEMS + 7)
    problems = validate(obj, "m.nam").problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert str(problems[-1]) == "m.nam: ... and 7 more problems"


def test_files_that_are_not_json_objects(tmp_path):
    cases = {"missing.nam": None, "text.nam": b"{not json", "latin1.nam": b'{"version": "\xff"}',
             "list.nam": b"[1, 2]", "deep.nam": b"[" * 100000 + b"]" * 100000}
    for name, body in cases.items():
        if body is not None:
            (tmp_path / name).write_bytes(body)
    messages = {name: [str(p) for p in validate_file(tmp_path / name, name).problems] for name in cases}
    assert messages["missing.nam"] == ["missing.nam: no such file"]
    assert messages["text.nam"][0].startswith("text.nam: invalid JSON at line 1 column 2")
    assert messages["latin1.nam"][0].startswith("latin1.nam: not UTF-8 text")
    assert messages["list.nam"][0] == "list.nam: (top level): must be an object (got a list of 2)"
    assert messages["deep.nam"][0] == "deep.nam: invalid JSON: nested too deeply"


@pytest.mark.spec("3.2")
def test_a_newer_patch_is_valid_with_a_note():
    obj = wavenet()
    obj["version"] = "0.7.9"
    result = validate(obj)
    assert result.valid and any("partial support" in n for n in result.notes)


# ---- validate and the loader agree -------------------------------------------------------------------

def _bases():
    film = {"active": True, "shift": False, "groups": 1}
    featured = layer_array(channels=4, dilations=(1, 2), bottleneck=2, gating_mode=["gated", "blended"],
                           secondary_activation=["Sigmoid", {"type": "LeakyHardtanh", "min_val": -2}],
                           head1x1={"active": True, "out_channels": 2, "groups": 2}, conv_pre_film=film,
                           layer1x1_post_film=film, activation={"type": "PReLU", "negative_slopes": [0.1, 0.2]},
                           head_size=2)
    sliced = layer_array(channels=4, dilations=(1,), input_size=2,
                         slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}})
    legacy = {"input_size": 1, "condition_size": 1, "channels": 2, "dilations": [1, 2], "kernel_size": 2,
              "activation": "Tanh", "gated": True, "head_size": 1, "head_bias": False}
    return [
        wavenet([featured, layer_array(channels=2, dilations=(1,), input_size=4)],
                head={"channels": 2, "out_channels": 1, "kernel_sizes": [2], "activation": "ReLU"}),
        wavenet([layer_array(channels=2, head_size=4), sliced]),
        nam("SlimmableContainer", {"submodels": [{"max_value": 0.5, "model": wavenet([legacy])},
                                                 {"max_value": 1.0, "model": wavenet(condition_dsp=wavenet())}]}),
        with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 2})),
        convnet(batchnorm=True, dilations=(1, 2)),
        with_weights(nam("Linear", {"receptive_field": 3, "bias": True}, metadata={"loudness": -20.0})),
    ]


BASES = _bases()
VALUES = [-1, 0, 1, 2, 2.5, 1e39, "x", "Tanh", "gated", True, False, None, [], {}, [1], [0.5, 2],
          {"type": "ReLU"}, {"active": True}, float("nan")]
KEYS = ["head_size", "head_bias", "gated", "gating_mode", "secondary_activation", "kernel_size", "kernel_sizes",
        "bottleneck", "groups_input", "head", "in_channels", "condition_dsp", "layer1x1", "head1x1",
        "conv_post_film", "slimmable", "negative_slopes", "negative_slope", "max_val", "implementation",
        "head_dilation", "shift", "groups", "active", "type", "sample_rate", "metadata", "loudness", "max_value"]


def _places(obj, path=()):
    """Every place in a .nam object (weights lists as one place)."""
    yield path
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from [path + (key,)] if key == "weights" else _places(value, path + (key,))


def _mutate(obj, rnd):
    """Delete a key, replace a value, or add a known key, once or twice, anywhere."""
    obj = copy.deepcopy(obj)
    for _ in range(rnd.choice((1, 1, 2))):
        *parent_path, key = rnd.choice(list(_places(obj))[1:])
        parent = obj
        for k in parent_path:
            parent = parent[k]
        action = rnd.random()
        if action < 0.25 and isinstance(parent, dict):
            del parent[key]
        elif action < 0.55 or not isinstance(parent[key], dict):
            parent[key] = copy.deepcopy(rnd.choice(VALUES))
        else:
            parent[key][rnd.choice(KEYS)] = copy.deepcopy(rnd.choice(VALUES))
    return obj


@pytest.mark.spec("3.11")
@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(BASES))), st.randoms(use_true_random=False))
def test_validate_accepts_exactly_what_the_loader_loads(base, rnd):
    """namx validate and namx's loader never disagree (and neither raises anything else)."""
    obj = _mutate(BASES[base], rnd)
    result = validate(obj, "m.nam")
    try:
        from_json(obj, "m.nam")
        loads = True
    except ModelError:
        loads = False
    assert result.valid == loads, [str(p) for p in result.problems]


def test_the_mutation_bases_are_valid():
    assert all(validate(b).valid for b in BASES)


# ---- the command line ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from bad_corpus import write
    return write(tmp_path_factory.mktemp("bad"))


@pytest.mark.spec("3.11", "13.1")
def test_cli_one_line_per_problem_and_exit_2(corpus, shared):
    good = shared / "models/real/NeuralAmpModelerCore/example_models/A2.nam"
    r = namx("validate", good, *corpus)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{good}: valid (A2 spec 1.0)"
    for path in corpus:
        case = CASES[path.stem]
        assert f"{path}: {case.path}: " in r.stdout, path.stem
    assert all(any(line.startswith(f"{p}: ") for p in [good, *corpus]) for line in lines)
    assert len(lines) >= 1 + len(corpus)


@pytest.mark.spec("3.11")
def test_cli_exit_0_when_all_files_are_valid(shared):
    r = namx("validate", "example", shared / "models/real/NeuralAmpModelerCore/example_models/lstm.nam")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == "example: valid (A2 spec 1.0)"


def test_cli_json_for_machines(corpus):
    bad = next(p for p in corpus if p.stem == "dilation-negative")
    r = namx("validate", "--json", "example", bad)
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert out["spec_version"] == "1.0" and out["valid"] is False
    assert [f["valid"] for f in out["files"]] == [True, False]
    assert out["files"][1]["problems"] == [{"path": "config.layers[0].dilations[2]",
                                            "message": "must be an integer >= 1 (got -2)"}]
    assert json.loads(namx("validate", "--json", "example").stdout)["valid"] is True


def test_cli_usage_errors():
    r = namx("validate")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.mark.spec("11.2", "13.1")
def test_cli_spec_prints_the_version_and_where_the_spec_is():
    from namx.spec import DOCUMENT, SCHEMA
    r = namx("spec")
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "A2 spec 1.0"
    assert str(DOCUMENT) in r.stdout and str(SCHEMA) in r.stdout
    assert namx("spec", "--path").stdout.strip() == str(DOCUMENT)
    assert namx("spec", "--schema").stdout.strip() == str(SCHEMA)
    assert DOCUMENT.is_file() and SCHEMA.is_file()
