"""Every section of the spec that says MUST has a test citing it with @pytest.mark.spec("N.M").

The citations are read from the test sources (not from a pytest run), so the check does not
depend on which tests were selected.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from spec_doc import sections

from namx.spec import DOCUMENT

TESTS = Path(__file__).resolve().parent


def sections_with_must(text: str) -> set[str]:
    return {number for number, body in sections(text).items() if re.search(r"\bMUST\b", body)}


def cited_sections(test_dir: Path = TESTS) -> dict[str, set[str]]:
    """Section -> the test files citing it, from every `pytest.mark.spec(...)` call in tests/."""
    cited: dict[str, set[str]] = {}
    for path in sorted(test_dir.glob("**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "pytest.mark.spec":
                for arg in node.args:
                    assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), \
                        f"{path.name}:{node.lineno}: cite sections as string literals"
                    cited.setdefault(arg.value, set()).add(path.name)
    return cited


def test_sections_are_found():
    found = sections(DOCUMENT.read_text(encoding="utf-8"))
    assert [str(n) for n in range(1, 15)] == [s for s in found if "." not in s], "top-level sections 1-14"
    assert {"3.11", "6.3", "7.3", "8.3", "11.2"} <= set(found)


def test_every_section_with_a_must_has_a_test():
    text = DOCUMENT.read_text(encoding="utf-8")
    missing = sorted(sections_with_must(text) - set(cited_sections()), key=lambda s: [int(p) for p in s.split(".")])
    assert not missing, f"sections with a MUST but no test citing them: {', '.join(missing)}"


def test_tests_cite_only_sections_that_exist():
    existing = set(sections(DOCUMENT.read_text(encoding="utf-8")))
    unknown = {s: files for s, files in cited_sections().items() if s not in existing}
    assert not unknown, f"tests cite sections the spec does not have: {unknown}"


def test_the_check_sees_a_missing_citation(tmp_path):
    """The checker itself: a MUST in an uncited section is reported, a cited one is not."""
    spec = "## 1. A\nx MUST y\n### 1.1 B\nnothing\n### 1.2 C\nz MUST NOT w\n## 2. D\nMUSTARD is not a keyword\n"
    assert sections_with_must(spec) == {"1", "1.2"}
    (tmp_path / "test_x.py").write_text('import pytest\n@pytest.mark.spec("1.2")\ndef test_a(): pass\n')
    assert set(cited_sections(tmp_path)) == {"1.2"}
