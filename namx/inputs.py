"""Opening user files for reading: regular files only, and never more than a limit's bytes.

A named pipe given as a model or audio file would block open() until a writer appears, a device
(/dev/zero) never ends: namx opens every file it reads with O_NONBLOCK (so a pipe cannot block)
and refuses anything that is not a regular file before reading a byte. A symlink to a regular
file is fine.
"""
from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import NamxError


class NotReadable(NamxError):
    """A file namx cannot read: `source: problem`."""

    def __init__(self, source: str, problem: str):
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {problem}")


def open_regular(path: str | Path, what: str = "file", source: str | None = None) -> BinaryIO:
    """`path` opened for binary reading; a NamxError (`source: problem`) unless it is a regular file."""
    source = str(path) if source is None else source
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise NotReadable(source, "no such file") from None
    except IsADirectoryError:
        raise NotReadable(source, f"is a directory, not a {what}") from None
    except OSError as e:
        raise NotReadable(source, f"cannot read: {e.strerror or e}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise NotReadable(source, f"is a directory, not a {what}")
        if not stat.S_ISREG(mode):
            raise NotReadable(source, f"is not a regular file ({_kind(mode)}); namx reads a {what} only from a "
                                      "regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | Path, limit: int, what: str = "file", source: str | None = None) -> bytes:
    """A regular file's bytes; a NamxError naming its size if it has more than `limit`."""
    source = str(path) if source is None else source
    with open_regular(path, what, source) as f:
        size = os.fstat(f.fileno()).st_size
        data = b"" if size > limit else f.read(limit + 1)  # +1: a file growing while read
    if max(size, len(data)) > limit:
        raise NotReadable(source, f"has {max(size, len(data))} bytes, more than the {limit} a {what} may have")
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"
