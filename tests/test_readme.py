"""The README's main command works (its namx part, run here against the installed package)."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _command(marker: str) -> str:
    block = README.split(f"<!-- {marker} -->", 1)[1]
    return re.search(r"```sh\n(.*?)\n```", block, re.S).group(1)


def test_main_command_runs(tmp_path):
    steps = [s.strip() for s in _command("main-command").split("&&")]
    namx_steps = [s for s in steps if s.startswith("namx ")]
    assert len(namx_steps) >= 3 and steps[:3] == ["python3 -m venv .venv", ". .venv/bin/activate", "pip install ."]
    for step in namx_steps:
        r = subprocess.run([sys.executable, "-m", "namx", *shlex.split(step)[1:]], cwd=tmp_path,
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{step}: {r.stderr}"
    assert (tmp_path / "out.wav").stat().st_size > 96000 * 4
    for made in ("slim8.w6.onnx", "slim8.w6.tflite", "conform-report/report.json"):
        assert (tmp_path / made).stat().st_size > 0, made


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in ci and "pytest" in _command("test-command")
