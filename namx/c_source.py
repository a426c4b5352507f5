"""Pieces of generated C source shared by the C array (converters/tflite/c_array.py) and the C
bench's vectors header (conformance/c_vectors.py)."""
from __future__ import annotations


def string_literal(text: str) -> str:
    """A C string literal: printable ASCII as is (with \\, " and ? escaped: no trigraphs), every
    other byte of its UTF-8 as an octal escape."""
    out = []
    for byte in text.encode():
        ch = chr(byte)
        out.append("\\" + ch if ch in '\\"?' else ch if 32 <= byte < 127 else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def initializer(items: list[str], per_line: int = 8) -> str:
    """A brace-enclosed initializer list, `per_line` items per line."""
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "{\n    " + ",\n    ".join(lines) + "\n}"


def comment_text(text: str) -> str:
    """Text safe inside a /* */ comment: printable ASCII, no comment end."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text).replace("*/", "* /")
