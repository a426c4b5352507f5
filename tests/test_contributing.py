"""CONTRIBUTING.md's map stays true to the code: every path it names exists, every `path::NAME`
is defined in that file, every spec section it cites exists, and the lists of backend tables
name every module that defines such a table."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "CONTRIBUTING.md").read_text()
SPEC = (ROOT / "spec/a2/1.0/A2.md").read_text()
BACKENDS = ["converters", "runtimes", "namx/torch"]


def _named() -> list[str]:
    """Every backticked repository path (optionally `::NAME`) the map names."""
    return [t for t in re.findall(r"`([\w./<>-]+(?:::\w+)?)`", TEXT) if "/" in t or "::" in t]


def _defines(path: Path, name: str) -> bool:
    return re.search(rf"^(?:class |def )?{re.escape(name)}\b\s*(?:[:=(]|$)", path.read_text(), re.M) is not None


@pytest.mark.parametrize("ref", _named())
def test_every_named_place_exists(ref):
    path, _, name = ref.partition("::")
    if "<" in path:  # a pattern such as namx/arch/<name>.py: its folder must exist
        path = path[:path.index("<")]
    assert (ROOT / path).exists(), f"CONTRIBUTING.md names {path}, which does not exist"
    if name:
        assert _defines(ROOT / path, name), f"CONTRIBUTING.md names {ref}: {path} defines no {name}"


def test_every_cited_spec_section_exists():
    cited = set(re.findall(r"§(\d+(?:\.\d+)?)", TEXT))
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", SPEC, re.M))
    assert cited and cited <= headings, f"sections cited but not in the spec: {sorted(cited - headings)}"


@pytest.mark.parametrize("table", ["ACTIVATIONS", "ARCHITECTURES"])
def test_every_backend_table_is_listed(table):
    """A backend that grows an ACTIVATIONS or ARCHITECTURES table must appear in the map."""
    defining = {str(p.relative_to(ROOT)) for folder in BACKENDS for p in (ROOT / folder).rglob("*.py")
                if _defines(p, table)}
    listed = {ref.partition("::")[0] for ref in _named() if ref.endswith(f"::{table}")}
    assert defining, f"no backend defines {table}: the test looks in the wrong places"
    assert defining <= listed, f"backend tables missing from CONTRIBUTING.md: {sorted(defining - listed)}"


def test_the_self_check_sees_a_missing_name(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("ACTIVATIONS = {}\ndef find(x):\n    pass\n")
    assert _defines(f, "ACTIVATIONS") and _defines(f, "find") and not _defines(f, "RUNNERS")
