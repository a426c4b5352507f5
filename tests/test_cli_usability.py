"""What a newcomer meets on the command line: help that says where files go and lists choices,
errors naming what was typed, multichannel input, NaN input, the runtimes installed here."""
import json

import numpy as np
import pytest
import soundfile as sf

from namx.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from namx.converters import TARGETS
from namx.runtimes import RUNTIMES


def _help(command: str) -> str:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return " ".join(sub.format_help().split())


def test_convert_help_says_files_go_to_the_current_folder_and_lists_targets():
    text = _help("convert")
    assert "in the current folder" in text and "beside MODEL" not in text
    assert f"target format: {', '.join(TARGETS)}" in text


def test_run_help_lists_the_runtimes_and_an_unknown_one_is_refused(capsys):
    assert ",".join(RUNTIMES) in _help("run").replace(" ", "")  # (help wraps at hyphens)
    with pytest.raises(SystemExit) as e:
        main(["run", "A2", "in.wav", "out.wav", "--runtime", "nope"])
    assert e.value.code == EXIT_USAGE and "invalid choice: 'nope'" in capsys.readouterr().err


def test_errors_about_a_bundled_model_name_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "A2", "--to", "nam", "--width", "5"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err == "namx: A2: width 5 is not offered; this model offers 3, 8" and "site-packages" not in err
    assert main(["info", "slim8"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[0] == "slim8"


@pytest.fixture
def stereo(tmp_path):
    x = np.random.default_rng(0).uniform(-0.1, 0.1, (2400, 2)).astype(np.float32)
    x[:, 1] = 0
    sf.write(tmp_path / "st.wav", x, 48000, subtype="FLOAT")
    return tmp_path / "st.wav"


def test_stereo_input_says_how_to_fix_it_and_channel_picks_one(stereo, tmp_path, capsys):
    out = tmp_path / "o.npy"
    assert main(["run", "A2", str(stereo), str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("namx: ") and "2 channels" in err and "mix it down" in err and "--channel N" in err
    assert not out.exists()
    assert main(["run", "A2", str(stereo), str(out), "--channel", "1", "--width", "3"]) == EXIT_OK
    silent = np.load(out)
    assert main(["run", "A2", str(stereo), str(out), "--channel", "0", "--width", "3", "--force"]) == EXIT_OK
    assert not np.array_equal(np.load(out), silent)  # channel 0 is the noise, channel 1 silence
    assert main(["run", "A2", str(stereo), str(out), "--channel", "2", "--force"]) == EXIT_USAGE
    assert "has no channel 2" in capsys.readouterr().err


def test_nan_in_the_input_is_reported_with_its_count(tmp_path, capsys):
    x = np.zeros(256, np.float32)
    x[[10, 20, 30]] = np.nan
    np.save(tmp_path / "x.npy", x)
    assert main(["run", "A2", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--width", "3"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "namx: warning: " in err and "3 NaN samples in the input" in err
    np.save(tmp_path / "x.npy", np.zeros(256, np.float32))
    assert main(["run", "A2", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--width", "3", "--force"]) == EXIT_OK
    assert "NaN" not in capsys.readouterr().err


def test_info_runtimes_lists_every_runtime(capsys):
    assert main(["info", "--runtimes"]) == EXIT_OK
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(names) == sorted(RUNTIMES)
    assert main(["info", "--runtimes", "--json"]) == EXIT_OK
    status = json.loads(capsys.readouterr().out)
    assert status["numpy"] == {"installed": True, "reason": None}
    assert main(["info"]) == EXIT_USAGE


def test_conform_prints_a_progress_line_per_model_and_runtime_when_not_on_a_terminal(tmp_path):
    import re
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "namx", "conform", "--quick", "--widths", "3", "--block-sizes", "64",
                        "--repeats", "0", "--runtime", "numpy", "--runtime", "onnxruntime", "--report",
                        str(tmp_path / "rep")], capture_output=True, text=True, timeout=600)
    assert r.returncode == EXIT_OK, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("namx: example x ")]
    assert [line.split()[3].rstrip(":") for line in lines] == ["numpy", "onnxruntime"]
    assert all(re.search(r": 1 stream, 0 failed, [0-9.]+ s \(run: [0-9.]+ s\)$", line) for line in lines), lines
