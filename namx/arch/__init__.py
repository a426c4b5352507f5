"""The architectures a .nam file can hold: one module each, and the registry that finds them.

Each module owns its IR types, its parse (config + weights -> IR), write (IR -> config + weights),
sizes and, for one that offers several widths, its levels and slicing, all gathered in one
`Architecture` (namx.arch.base). The loader, writer, widths and stats look an architecture up
here, by the file's name (`ARCHITECTURES`) or by IR object (`of`), instead of testing types.

Adding an architecture to the core: a module here with its `ARCH` and one entry below (plus the
spec's sections and the schema's enum); each backend then says how it runs the new IR type.
"""
from __future__ import annotations

from . import container, convnet, linear, lstm, wavenet
from .base import Architecture

# name -> Architecture, in the order the spec and error messages list them
ARCHITECTURES: dict[str, Architecture] = {
    a.name: a for a in (wavenet.ARCH, lstm.ARCH, convnet.ARCH, linear.ARCH, container.ARCH)}
_BY_TYPE = {a.net: a for a in ARCHITECTURES.values()}


def of(net) -> Architecture:
    """The architecture of an IR object (a Model's `net`)."""
    return _BY_TYPE[type(net)]
