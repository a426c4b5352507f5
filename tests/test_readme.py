"""The README's main command works (its namx part, run here against the installed package)."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _command(marker: str) -> str:
    block = README.split(f"<!-- {marker} -->", 1)[1]
    return re.search(r"```sh\n(.*?)\n```", block, re.S).group(1)


@pytest.mark.slow
def test_main_command_runs(tmp_path):
    steps = [s.strip() for s in _command("main-command").split("&&")]
    namx_steps = [s for s in steps if s.startswith("namx ")]
    assert len(namx_steps) >= 3 and steps[:3] == ["python3 -m venv .venv", ". .venv/bin/activate",
                                                  'pip install ".[all]"']
    for step in namx_steps:
        r = subprocess.run([sys.executable, "-m", "namx", *shlex.split(step)[1:]], cwd=tmp_path,
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{step}: {r.stderr}"
    assert (tmp_path / "out.wav").stat().st_size > 96000 * 4
    for made in ("slim8.w6.onnx", "slim8.w6.tflite", "conform-report/report.json"):
        assert (tmp_path / made).stat().st_size > 0, made
    ignored = (REPO / ".gitignore").read_text().split()
    assert {"/mix.wav", "/out.wav", "/slim8.w6.onnx", "/slim8.w6.tflite", "/conform-report/"} <= set(ignored)

    # the follow-ups, in the same folder, laid out like the checkout's root (its namx/ folder too)
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / "namx").symlink_to(REPO / "namx")
    line = _command("onnx-stream-command")
    assert line.startswith("python examples/onnx_stream.py ")
    r = subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out-app.wav").stat().st_size > 96000 * 4
    snippet = re.search(r"<!-- python-snippet -->\n```python\n(.*?)\n```", README, re.S).group(1)
    r = subprocess.run([sys.executable, "-P", "-c", snippet], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['3', '8']"


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in ci and "pytest" in _command("test-command")
