"""namx.torch: the nn.Module equals the NumPy reference at every width, and round-trips to .nam."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from builders import convnet, layer_array, nam, wavenet, with_weights  # noqa: E402
from conftest import GOLDEN, assert_matches_golden, golden_id, shared_models  # noqa: E402
from test_writer import assert_same_weights  # noqa: E402

import namx.torch  # noqa: E402
from namx import NamxError, load  # noqa: E402
from namx.activations import ACTIVATIONS  # noqa: E402
from namx.loader import from_json  # noqa: E402
from namx.runtimes.numpy_ref import NumpyStreamer  # noqa: E402
from namx.stats import receptive_field  # noqa: E402
from namx.torch.train import init_weights, train  # noqa: E402
from namx.writer import to_json  # noqa: E402

X = np.random.default_rng(7).uniform(-0.8, 0.8, 3000)
SLICED = {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2, 4]}}


def torch_out(model, x, width=None, **kw):
    module = namx.torch.from_model(model).double()
    with torch.no_grad():
        return module(torch.tensor(np.asarray(x, np.float64)), width=width, **kw).numpy()


def reference(model, x, width=None):
    return NumpyStreamer(model, width).process(np.asarray(x, np.float64))


@pytest.mark.parametrize("path", shared_models(), ids=lambda p: p.stem)
def test_nam_to_torch_to_nam_is_weight_identical(path):
    original = json.loads(path.read_text())
    model = namx.torch.to_model(namx.torch.from_model(load(path)))
    written = to_json(model)
    assert_same_weights(original, written)
    assert written["version"] == original["version"] and written["metadata"] == (original.get("metadata") or {})
    assert written["config"] == to_json(load(path))["config"]


@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
def test_forward_float64_matches_golden(entry, shared, golden_input):
    y = torch_out(load(shared / entry["model"]), golden_input, entry["width"])
    assert_matches_golden(y, entry, shared, "float64")


def _case(name):
    cases = {
        "convnet": convnet(channels=3, dilations=(1, 2, 4)),
        "convnet-batchnorm": convnet(channels=3, dilations=(1, 2, 4), batchnorm=True),
        "linear": with_weights(nam("Linear", {"receptive_field": 7, "bias": True}), seed=2),
        "linear-multichannel": with_weights(nam("Linear", {"receptive_field": 4, "bias": False, "in_channels": 2,
                                                           "out_channels": 3}), seed=3),
        "lstm-2-layers": with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 4, "num_layers": 2},
                                          sample_rate=8000), seed=4),
        "wavenet-sliced-gated-film": wavenet([layer_array(
            channels=4, kernel=3, dilations=(1, 2), gating_mode=["gated", "blended"], bottleneck=4,
            conv_post_film={"active": True, "shift": True, "groups": 1}, layer1x1_post_film={"active": True},
            activation_post_film={"active": True, "shift": False, "groups": 1}, slimmable=SLICED)], seed=5),
        "wavenet-two-arrays-sliced": wavenet([
            layer_array(channels=4, head_size=3, slimmable=SLICED),
            layer_array(channels=3, input_size=4, head_size=1,
                        slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 3]}})],
            seed=6),
    }
    return from_json(cases[name])


CASES = ["convnet", "convnet-batchnorm", "linear", "linear-multichannel", "lstm-2-layers",
         "wavenet-sliced-gated-film", "wavenet-two-arrays-sliced"]


@pytest.mark.parametrize("name", CASES)
def test_architectures_beyond_the_golden_corpus_match_the_reference(name):
    model = _case(name)
    x = X if model.in_channels == 1 else np.stack([X, -X])
    for level in model.widths():
        if model.in_channels == 1:
            expected = reference(model, X, level.label)
            got = torch_out(model, X, level.label)
        else:  # the streamer is mono-only: run the plain net directly
            from namx.runtimes.numpy_ref import ModelRunner
            runner = ModelRunner(model)
            runner.reset()
            expected = runner.net.process(x)
            got = torch_out(model, x[None])[0]
        assert got.shape == expected.shape
        assert np.max(np.abs(got - expected)) <= 1e-10 * max(1.0, np.max(np.abs(expected))), level.label


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_matches_the_reference(activation):
    act = {"type": "PReLU", "negative_slopes": [0.1, -0.2, 0.3]} if activation == "PReLU" else activation
    model = from_json(wavenet([layer_array(channels=3, activation=act)], seed=8))
    assert np.max(np.abs(torch_out(model, 3 * X) - reference(model, 3 * X))) < 1e-10


def test_prewarm_false_returns_the_outputs_whose_receptive_field_is_inside_the_input():
    model = _case("wavenet-sliced-gated-film")
    rf = receptive_field(model.at())
    full = torch_out(model, X)
    valid = torch_out(model, X, prewarm=False)
    assert valid.shape == (X.size - rf + 1,)
    assert np.max(np.abs(valid - full[rf - 1:])) < 1e-12
    lstm = _case("lstm-2-layers")  # an LSTM without prewarm starts from the stored (h0, c0)
    assert not np.allclose(torch_out(lstm, X, prewarm=False), torch_out(lstm, X))


def test_input_shapes_and_batches():
    model = _case("wavenet-sliced-gated-film")
    module = namx.torch.from_model(model).double()
    x = torch.tensor(np.stack([X, X[::-1].copy()]))
    with torch.no_grad():
        batch = module(x, width="2")
        assert batch.shape == (2, X.size)
        assert torch.equal(module(x[:, None], width="2")[:, 0], batch)
        assert torch.allclose(module(x[1], width="2"), batch[1], atol=1e-13)
    with pytest.raises(NamxError, match="offers 1, 2, 4"):
        module(x, width="3")


def test_a_narrow_width_trains_only_the_leading_slice_of_the_full_weights():
    module = namx.torch.from_model(_case("wavenet-sliced-gated-film"))
    module(torch.tensor(X[:500], dtype=torch.float32), width="2").square().sum().backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    conv = grads["arrays/0/layers/0/conv/weight"]  # (2B=8, C=4, K): width 2 uses the first 2B'=4 rows, 2 columns
    assert conv[:4, :2].abs().sum() > 0 and conv[4:].abs().sum() == 0 and conv[:, 2:].abs().sum() == 0
    rechannel = grads["arrays/0/rechannel/weight"]
    assert rechannel[:2].abs().sum() > 0 and rechannel[2:].abs().sum() == 0


def test_to_model_carries_trained_weights_and_metadata():
    model = from_json({**wavenet([layer_array(channels=4, slimmable=SLICED)]), "metadata": {"name": "x", "loudness": -20.0}})
    module = namx.torch.from_model(model)
    with torch.no_grad():
        module.get_parameter("arrays/0/rechannel/weight").mul_(2)
    out = namx.torch.to_model(module)
    assert out.metadata == {"name": "x", "loudness": -20.0} and out.version == model.version
    assert np.array_equal(out.net.arrays[0].rechannel.weight, 2 * model.net.arrays[0].rechannel.weight)
    assert out.net.arrays[0].allowed_channels == (1, 2, 4)
    assert np.allclose(reference(out, X, "2"), torch_out(out, X, "2"), atol=1e-10)


def test_checkpoints_load_with_weights_only_and_convert(tmp_path):
    import subprocess
    import sys
    module = namx.torch.from_model(_case("wavenet-sliced-gated-film"))
    with torch.no_grad():
        module.get_parameter("arrays/0/head/bias").add_(1.0)
    path = namx.torch.save(module, tmp_path / "m.pt")
    assert isinstance(torch.load(path, weights_only=True), dict)
    back = namx.torch.load(path)
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), module.state_dict().values()))
    r = subprocess.run([sys.executable, "-m", "namx", "convert", path, "--to", "nam", "--width", "2"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    written = load(tmp_path / "m.w2.nam")
    r = subprocess.run([sys.executable, "-m", "namx", "convert", path, "--to", "onnx"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "m.onnx").stat().st_size > 0, r.stderr
    assert np.array_equal(written.net.arrays[0].head.bias, module.get_parameter("arrays/0/head/bias").detach().numpy())
    torch.save(module.state_dict(), tmp_path / "sd.pt")
    r = subprocess.run([sys.executable, "-m", "namx", "info", tmp_path / "sd.pt"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("namx: ") and "not a namx checkpoint" in r.stderr


def test_converter_api_takes_a_module():
    from namx.converters.pytorch import from_module
    model = _case("convnet-batchnorm")
    assert_same_weights(to_json(from_module(namx.torch.from_model(model))), to_json(model))
    with pytest.raises(NamxError, match="cannot convert a Conv1d"):
        from_module(torch.nn.Conv1d(1, 1, 3))


def test_init_weights_follows_pytorch_defaults():
    model = init_weights(_case("wavenet-two-arrays-sliced"), seed=1)
    conv = model.net.arrays[0].layers[0].conv
    bound = 1 / np.sqrt(conv.weight.shape[1] * conv.weight.shape[2])
    assert np.abs(conv.weight).max() <= bound and np.abs(conv.weight).max() > 0.5 * bound
    assert model.net.head_scale == _case("wavenet-two-arrays-sliced").net.head_scale
    bn = init_weights(_case("convnet-batchnorm")).net.batchnorms[0]
    assert (bn.var == 1).all() and (bn.mean == 0).all()


def test_slimmable_training_improves_every_width():
    """The paper's loop: a random width per batch, gradients into the full weights."""
    torch.manual_seed(0)
    teacher = from_json(wavenet([layer_array(channels=3, dilations=(1, 2))], seed=11, head_scale=0.5))
    x = np.random.default_rng(3).uniform(-0.5, 0.5, 4000).astype(np.float32)
    y = reference(teacher, x).astype(np.float32)
    student = init_weights(from_json(wavenet([layer_array(channels=4, dilations=(1, 2), slimmable=SLICED)],
                                             head_scale=0.5)), seed=2)
    module = namx.torch.from_model(student)
    before = {lv.label: _esr(reference(student, x, lv.label), y) for lv in student.widths()}
    history = train(module, x, y, steps=120, batch_size=4, segment=256, lr=1e-2, progress=False)
    assert {w for w, _ in history} == {"1", "2", "4"}
    trained = namx.torch.to_model(module)
    after = {lv.label: _esr(reference(trained, x, lv.label), y) for lv in student.widths()}
    assert all(after[w] < before[w] - 1 for w in before) and after["4"] < -30, (before, after)


def _esr(y, ref):
    from namx.metrics import esr_db
    return esr_db(y, ref)
