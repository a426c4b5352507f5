"""Repository hygiene: what is tracked must be source, not merge leftovers or build artefacts."""
import subprocess

import pytest
from conftest import REPO

MAX_FILE_BYTES = 1_000_000  # the bundled models are the largest files we keep (A2.nam: 666 kB)


def _tracked():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / p for p in out.decode().split("\0") if p]


def test_no_merge_conflict_markers():
    bad = []
    for path in _tracked():
        if path.suffix in (".py", ".md", ".toml", ".json", ".txt", ".cfg", ".yml", ".yaml", "") and path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======" for line in lines):
                bad.append(path.relative_to(REPO))
    assert not bad, f"conflict markers in {bad}"


def test_no_large_or_binary_build_artefacts():
    bad = [p.relative_to(REPO) for p in _tracked() if p.is_file() and (
        p.stat().st_size > MAX_FILE_BYTES or p.suffix in (".whl", ".so", ".pyc", ".onnx", ".tflite"))]
    assert not bad, f"artefacts tracked: {bad}"
