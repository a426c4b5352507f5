"""Writing outputs: every file atomically, and every file of one command as a set, all or nothing.

    with output_set():                      # the files below appear together or not at all
        with atomic_output(Path("a.tflite")) as tmp:
            tmp.write_bytes(data)           # write the content to `tmp`, never to the final path
        with atomic_output(Path("w3/a.h")) as tmp:
            tmp.write_text(text)

`atomic_output(path)` yields a temporary path to write; when its block ends without an exception
the file is done. Outside an `output_set` it is moved into place at once (a set of one file).
Inside one, it waits in a staging folder beside its destination (`.namx-XXXXXXXX.tmp`, in the
nearest folder that exists) until the set's block ends; then every file is moved into place (a
file it replaces is kept aside until all moves succeeded, and missing folders are created). If
the block raises, or a move fails, nothing of the set remains: staged files, moved files and
created folders are removed and replaced files restored. Ctrl-C and SIGTERM (the CLI turns it
into SystemExit) unwind the same way. Sets nest: an inner `output_set()` joins the outer one, so
a converter that writes its files with atomic_output inside `output_set()` is all-or-nothing on
its own and part of a larger set when its caller opens one.

Every OSError while staging, writing or moving becomes a NamxError `PATH: cannot write: reason`
naming the final path. `staged(path)` is where a file written in the current set is now (to read
back what was written before the set ends).
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from contextvars import ContextVar
from pathlib import Path

from .errors import NamxError

_current: ContextVar[_OutputSet | None] = ContextVar("namx_output_set", default=None)


def check_output_path(path: str | Path, force: bool, suffixes: tuple[str, ...] | None = None) -> Path:
    """Fail early (before any work) if `path` cannot or must not be written (`suffixes`: allowed endings)."""
    try:
        return _check_output_path(Path(path), force, suffixes)
    except OSError as e:  # e.g. a name too long to look up
        raise write_error(path, e) from None


def _check_output_path(p: Path, force: bool, suffixes: tuple[str, ...] | None) -> Path:
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise NamxError(f"{p}: output must end in {' or '.join(suffixes)}")
    outputs = _current.get()
    if outputs is not None and outputs.creates(p.parent):  # a folder the current set makes
        return p
    if not p.parent.is_dir():
        raise NamxError(f"{p}: folder {p.parent} does not exist")
    if p.is_dir():
        raise NamxError(f"{p}: is a directory")
    if p.exists() and not force:
        raise NamxError(f"{p}: already exists (use --force to overwrite)")
    if not os.access(p.parent, os.W_OK | os.X_OK):
        raise NamxError(f"{p}: cannot write: folder {p.parent} is not writable")
    return p


def check_output_folder(folder: str | Path, force: bool, names: tuple[str, ...] | None = None) -> Path:
    """Fail early if `folder` (made when missing) cannot take a command's files: an existing file
    of `names` (with names None: anything in it) needs `force`."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise NamxError(f"{p}: is not a folder")
    if not p.parent.is_dir():
        raise NamxError(f"{p}: folder {p.parent} does not exist")
    if p.is_dir() and not force:
        if names is None and any(p.iterdir()):
            raise NamxError(f"{p}: is not empty (use --force to write into it)")
        existing = [n for n in names or () if (p / n).exists()]
        if existing:
            raise NamxError(f"{p / existing[0]}: already exists (use --force to overwrite)")
    return p


def write_error(path: str | Path, e: OSError) -> NamxError:
    """The one-line error for a failed write of `path`."""
    return NamxError(f"{path}: cannot write: {e.strerror or e}")


@contextlib.contextmanager
def output_set():
    """A scope whose atomic_output files are moved into place together when it ends without error."""
    if _current.get() is not None:  # nested: part of the outer set
        yield _current.get()
        return
    outputs = _OutputSet()
    token = _current.set(outputs)
    try:
        yield outputs
        _current.reset(token)
        token = None
        outputs.commit()
    finally:
        if token is not None:
            _current.reset(token)
        outputs.discard()


@contextlib.contextmanager
def atomic_output(path: str | Path):
    """Yield a temporary path to write `path`'s content to; it becomes `path` only if the block succeeds."""
    with output_set() as outputs:
        tmp = outputs.stage(Path(path))
        try:
            yield tmp
        except BaseException as e:
            outputs.files.pop(Path(path), None)  # a caller catching this must not commit a partial file
            if isinstance(e, OSError):
                raise write_error(path, e) from None
            raise


def staged(path: str | Path) -> Path:
    """Where a file written in the current output set is now (its final path outside a set)."""
    outputs = _current.get()
    return Path(path) if outputs is None else outputs.location(Path(path))


class _OutputSet:
    def __init__(self):
        self.files: dict[Path, Path] = {}     # final path -> staged path
        self.staging: dict[Path, Path] = {}   # folder the staging folder is in -> staging folder
        self.moved: list[tuple[Path, Path | None]] = []  # (final path, where the file it replaced is kept)
        self.created: list[Path] = []         # folders made at commit

    @property
    def paths(self) -> list[Path]:
        """The final paths of the set, in the order they were first written."""
        return list(self.files)

    def creates(self, folder: Path) -> bool:
        """Whether a file of the set goes into `folder`, which does not exist yet."""
        return not folder.is_dir() and any(folder in final.parents for final in self.files)

    def location(self, path: Path) -> Path:
        return self.files.get(path, path)

    def stage(self, path: Path) -> Path:
        """A fresh temporary file for `path` inside the staging folder (a second write of `path` replaces the first)."""
        base = _existing_ancestor(path.parent)
        try:
            if base not in self.staging:
                self.staging[base] = None  # registered before it exists: discard() removes it if mkdtemp returned
                self.staging[base] = Path(tempfile.mkdtemp(prefix=".namx-", suffix=".tmp", dir=base))
            tmp = self.staging[base] / f"{len(self.files)}.part"
            tmp.touch()  # (the usual permissions: 0666 less the umask)
        except OSError as e:
            raise write_error(path, e) from None
        self.files.pop(path, None)
        self.files[path] = tmp
        return tmp

    def commit(self) -> None:
        try:
            for final, tmp in self.files.items():
                self._make_folders(final.parent)
                kept = None
                if final.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "is a directory")
                if final.exists():
                    kept = tmp.with_suffix(".old")
                    os.replace(final, kept)
                self.moved.append((final, kept))
                os.replace(tmp, final)
        except OSError as e:
            self.rollback()
            raise write_error(final, e) from None
        except BaseException:
            self.rollback()
            raise
        self.moved.clear()
        self.created.clear()

    def rollback(self) -> None:
        """Undo the moves made so far: remove moved files, restore the ones they replaced, remove made folders."""
        for final, kept in reversed(self.moved):
            with contextlib.suppress(OSError):
                if kept is not None and kept.exists():
                    os.replace(kept, final)
                else:
                    os.unlink(final)
        self.moved.clear()
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.created.clear()

    def discard(self) -> None:
        """Remove the staging folders (after a commit they hold only replaced files)."""
        for folder in self.staging.values():
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self.staging.clear()

    def _make_folders(self, folder: Path) -> None:
        missing = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for f in reversed(missing):
            f.mkdir()
            self.created.append(f)


def _existing_ancestor(folder: Path) -> Path:
    folder = folder if str(folder) else Path(".")
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder
