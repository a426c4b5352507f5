"""Spec §10 (TFLite binding) states what the code defines: its tables are read and compared."""
from conftest import REPO

from namx.converters.tflite import binding, c_array
from namx.converters.tflite.builder import ALIGNMENT, MAX_CONCAT_INPUTS, OPS
from namx.converters.tflite.export import MAX_UNROLLED_BLOCK, SPEC

SPEC_TEXT = (REPO / "spec/a2/1.0/A2.md").read_text()
SECTION = SPEC_TEXT[SPEC_TEXT.index("## 10. TFLite binding"):SPEC_TEXT.index("## 11.")]


def _subsection(title: str) -> str:
    start = SECTION.index(f"### {title}")
    end = SECTION.find("\n### ", start + 1)
    return SECTION[start:end if end > 0 else None]


def _tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in text, as rows of cells (header and rule dropped)."""
    tables, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            tables.append([r for r in rows[1:] if not set("".join(r)) <= set("-: ")])
            rows = []
    return tables


def test_operator_table_is_the_op_subset():
    (table,) = _tables(_subsection("10.2"))
    assert {op: int(version) for op, version, _ in table} == OPS
    assert f"at most {MAX_CONCAT_INPUTS} inputs" in _subsection("10.2")


def test_layout_table():
    (table,) = _tables(_subsection("10.3"))
    assert dict(table) == binding.LAYOUTS


def test_metadata_tables():
    top, graph = _tables(_subsection("10.5"))
    assert dict(top) == binding.METADATA_FIELDS
    assert dict(graph) == binding.GRAPH_FIELDS
    assert f"`{binding.METADATA}`" in SECTION and f"`{binding.INITIAL_STATE}.<signature>`" in SECTION
    assert f'"{binding.FORMAT}"' in SECTION and f'"{SPEC}"' in SECTION


def test_c_array_tables():
    symbols, macros = _tables(_subsection("10.6"))
    assert [(s, d.strip("`"), m) for s, d, m in symbols] == \
        [(s, d.format(p="namx_<id>_"), m) for s, d, m in c_array.SYMBOLS]
    assert [tuple(r) for r in macros] == list(c_array.MACROS)


def test_names_and_numbers_in_the_text():
    assert f"`{binding.file_name('<stem>', '<label>')}`" in SECTION
    assert f"`{binding.signatures_name('<stem>')}`" in SECTION
    assert f"`{binding.signature_key('<label>')}`" in SECTION
    assert f"`{binding.AUDIO}`" in SECTION and f"`{binding.AUDIO_OUT}`" in SECTION
    assert f"`<state>{binding.NEXT_SUFFIX}`" in SECTION
    assert f"{ALIGNMENT}-byte boundary" in SECTION
    assert f"*N* = {binding.DEFAULT_BLOCK_SIZE}" in SECTION
    assert f"main block at {MAX_UNROLLED_BLOCK} samples" in SECTION
    assert all(f"`{binding.file_name('A2', w)}`" in SECTION for w in ("3", "8"))
