"""Reading the spec document (spec/a2/<version>/A2.md): its numbered sections and tables."""
from __future__ import annotations

import re

from namx.spec import DOCUMENT

HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", re.M)


def text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def sections(doc: str | None = None) -> dict[str, str]:
    """Section number -> its own text (up to the next heading of any level)."""
    doc = text() if doc is None else doc
    marks = list(HEADING.finditer(doc))
    return {m.group(1): doc[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(doc)]
            for i, m in enumerate(marks)}


def tables(body: str) -> list[list[list[str]]]:
    """The Markdown tables in a section: rows of cells (header and separator rows dropped)."""
    out, current = [], []
    for line in body.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif current:
            out.append([row for row in current[2:]])
            current = []
    return out


def table(section: str) -> list[list[str]]:
    """The one table of a section."""
    found = tables(sections()[section])
    assert len(found) == 1, f"section {section} has {len(found)} tables"
    return found[0]
