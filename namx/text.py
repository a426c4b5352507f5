"""Text a command prints: file names, metadata and messages made safe for a terminal."""
from __future__ import annotations


def printable(value) -> str:
    """str(value) with control characters (terminal escape sequences) and lone surrogates escaped."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def one_line(text: str) -> str:
    """A message on one printable line."""
    return printable(" ".join(text.split()))
