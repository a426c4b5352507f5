"""namx's resource limits (namx.limits): each ends in a one-line error naming the limit and its setting."""
from __future__ import annotations

import json

import numpy as np
import pytest

from builders import layer_array, nam, wavenet, with_weights
from namx import limits
from namx.cli import main
from namx.errors import ModelError, NamxError
from namx.limits import Limits
from namx.loader import MAX_NESTING, from_json, load, loads
from namx.runtimes import open_streamer
from namx.validate import validate_file


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "\n" not in text
    return text


def test_defaults_and_environment(monkeypatch):
    assert limits.current() == Limits()
    monkeypatch.setenv("NAMX_MAX_WEIGHTS", "123")
    monkeypatch.setenv("NAMX_MAX_BLOCK_SIZE", " ")  # blank: the default
    assert limits.current() == Limits(weights=123)
    for bad in ("abc", "0", "-5", "1.5"):
        monkeypatch.setenv("NAMX_MAX_WEIGHTS", bad)
        with pytest.raises(NamxError, match=f"NAMX_MAX_WEIGHTS must be a whole number >= 1 \\(got '{bad}'\\)"):
            limits.current()


def test_file_size(tmp_path, monkeypatch):
    path = tmp_path / "m.nam"
    path.write_text(json.dumps(wavenet()))
    size = path.stat().st_size
    assert load(path, Limits(file_bytes=size))
    with pytest.raises(ModelError) as e:
        load(path, Limits(file_bytes=size - 1))
    assert one_line(e) == (f"{path}: the file has {size} bytes, more than namx's limit of {size - 1} "
                           "(set NAMX_MAX_FILE_BYTES to allow more)")
    with pytest.raises(ModelError, match="the text has"):
        loads(path.read_bytes(), "m.nam", Limits(file_bytes=10))
    monkeypatch.setenv("NAMX_MAX_FILE_BYTES", "10")  # the CLI and the validator read the environment
    assert "NAMX_MAX_FILE_BYTES" in str(validate_file(path).problems[0])


def test_weight_count():
    obj = wavenet()
    n = len(obj["weights"])
    assert from_json(obj, limits=Limits(weights=n))
    with pytest.raises(ModelError, match=f"weights: has {n} weights, more than namx's limit of {n - 1} "
                                         r"\(set NAMX_MAX_WEIGHTS"):
        from_json(obj, limits=Limits(weights=n - 1))


def test_a_config_needing_too_many_weights_fails_before_allocating():
    # 2**30 channels would need ~1e18 weights: refused from the config alone, with no weights given
    obj = nam("WaveNet", {"layers": [layer_array(channels=2**30)], "head": None, "head_scale": 1.0})
    with pytest.raises(ModelError) as e:
        from_json(obj)
    assert "config: the config needs at least" in one_line(e)
    assert "more than namx's limit of 8388608 (set NAMX_MAX_WEIGHTS" in one_line(e)


def test_grouped_convolutions_count_dense():
    arrays = [layer_array(channels=64, dilations=(1,), kernel=3, groups_input=64)]
    obj = wavenet(arrays)
    stored = len(obj["weights"])
    with pytest.raises(ModelError, match="with grouped convolutions expanded"):
        from_json(obj, limits=Limits(weights=stored + 64 * 64))


def test_nesting_depth():
    obj = wavenet()
    for _ in range(MAX_NESTING + 1):
        obj = nam("SlimmableContainer", {"submodels": [{"max_value": 1.0, "model": obj}]})
    with pytest.raises(ModelError) as e:
        from_json(obj)
    assert f"models nested more than {MAX_NESTING} deep" in one_line(e)


def test_receptive_field(monkeypatch):
    monkeypatch.setenv("NAMX_MAX_RECEPTIVE_FIELD", str(2**22))  # to build it
    obj = wavenet([layer_array(channels=1, dilations=(2**21,), kernel=2)])
    monkeypatch.delenv("NAMX_MAX_RECEPTIVE_FIELD")
    with pytest.raises(ModelError) as e:
        from_json(obj)
    assert "config: the receptive field is" in one_line(e)
    assert "(set NAMX_MAX_RECEPTIVE_FIELD to allow more)" in one_line(e)
    assert from_json(obj, limits=Limits(receptive_field=2**22))


def test_lstm_prewarm_follows_the_sample_rate():
    obj = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 1}))
    obj["sample_rate"] = 384000
    with pytest.raises(ModelError, match=r"sample_rate: the prewarm is 192000 samples, more than namx's limit"):
        from_json(obj, limits=Limits(receptive_field=10**5))


def test_state():
    obj = wavenet([layer_array(channels=4, dilations=(1000,), kernel=2)])
    with pytest.raises(ModelError, match=r"the streaming state is \d+ floats, more than namx's limit of 100 "
                                         r"\(set NAMX_MAX_STATE"):
        from_json(obj, limits=Limits(state=100))


def test_block_size_limit_splits_long_blocks(monkeypatch):
    model = from_json(wavenet())
    x = np.random.default_rng(1).standard_normal(1000) * 0.3
    whole = open_streamer("numpy", model).process(x)
    monkeypatch.setenv("NAMX_MAX_BLOCK_SIZE", "64")
    s = open_streamer("numpy", model)
    calls = []
    runner_process = s._runner.process
    monkeypatch.setattr(s._runner, "process", lambda b: calls.append(b.size) or runner_process(b))
    np.testing.assert_allclose(s.process(x), whole, rtol=0, atol=1e-12)
    assert calls == [64] * 15 + [40]


def test_block_size_options_are_checked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NAMX_MAX_BLOCK_SIZE", "256")
    with pytest.raises(NamxError, match="block_size is 257 samples, more than namx's limit of 256"):
        limits.check_block_size(257)
    with pytest.raises(NamxError, match="block_size must be a whole number >= 1"):
        limits.check_block_size(True)
    assert main(["run", "example", "in.wav", str(tmp_path / "o.wav"), "--block-size", "300"]) == 2
    assert main(["convert", "example", "--to", "tflite", "--block-size", "300", "-o", str(tmp_path / "o.tflite")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["namx: --block-size is 300 samples, more than namx's limit of 256 "
                   "(set NAMX_MAX_BLOCK_SIZE to allow more)"] * 2
    assert not list(tmp_path.iterdir())


def test_cli_reports_a_bad_setting_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("NAMX_MAX_STATE", "lots")
    assert main(["info", "example"]) == 2
    assert capsys.readouterr().err == "namx: NAMX_MAX_STATE must be a whole number >= 1 (got 'lots')\n"
