"""Nothing namx reads can run code (issue 8): no pickle, no eval, checkpoints only with
weights_only=True, external commands without a shell unless the user writes `shell:`."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("namx", "converters", "runtimes", "conformance") for p in sorted((ROOT / d).rglob("*.py"))]


def _code(path):
    """The file without comments and docstring-ish lines (so prose may name pickle)."""
    lines = []
    for line in path.read_text().splitlines():
        stripped = line.split("#", 1)[0]
        if stripped.strip().startswith(('"""', "'''")) or not stripped.strip():
            continue
        lines.append(stripped)
    return "\n".join(lines)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_has_no_code_execution_from_inputs(path):
    code = _code(path)
    assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|marshal|shelve)\b", code, re.M)
    assert "allow_pickle=True" not in code
    assert not re.search(r"(?<![\w.])(eval|exec)\(", code)
    for call in re.findall(r"np\.load\([^)]*\)", code):
        assert "allow_pickle=False" in call, call
    for call in re.findall(r"(?<![\w.])torch\.load\([^)]*\)", code):
        assert "weights_only=True" in call, call
    for call in re.findall(r"subprocess\.\w+\((?:[^()]|\([^()]*\))*\)", code, re.S):
        assert "shell=True" not in call, call


def test_npy_input_with_objects_is_refused_not_unpickled(tmp_path):
    import numpy as np
    bad = tmp_path / "objects.npy"
    np.save(bad, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    r = subprocess.run([sys.executable, "-m", "namx", "run", "example", str(bad), str(tmp_path / "out.wav")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "objects.npy" in r.stderr, r.stderr
    assert not (tmp_path / "out.wav").exists()


def test_external_commands_run_without_a_shell_by_default():
    from namx.conformance.adapters import CommandRuntime
    assert CommandRuntime(f"{sys.executable} -c pass {{input}} {{output}}").shell is False
    assert CommandRuntime("true {input} {output}", shell=True).shell is True
