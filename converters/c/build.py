"""Compiling generated C: the host shared library the `c` runtime loads, and Cortex-M7 object sizes.

Shared libraries are cached by content hash (sources, compiler, flags) in the user's cache folder
($NAMX_CACHE, else $XDG_CACHE_HOME/namx/c, else ~/.cache/namx/c; a temporary folder when none is
writable). A library is built under a temporary name and renamed into place, so parallel test
workers and processes never load a half-written file.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from namx.errors import NamxError

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
PORTABLE = ["-O2"]  # the default build: runs on any machine of the compiler's target
M7 = ["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-mthumb"]
COMPILE_TIMEOUT = 600


def compiler() -> str:
    """$CC, else cc, gcc or clang on PATH."""
    cc = os.environ.get("CC") or next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
    if not cc or not shutil.which(cc.split()[0]):
        raise NamxError("runtime c needs a C compiler and none was found (install gcc or clang, or set CC)")
    return cc


def cache_dir() -> Path:
    base = os.environ.get("NAMX_CACHE")
    if base:
        folder = Path(base) / "c"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = Path(xdg) / "namx" / "c"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    folder = Path(tempfile.gettempdir()) / f"namx-c-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(exist_ok=True)
    return folder


def shared_library(sources: dict[str, str], flags: list[str] | None = None) -> Path:
    """Compile {file name: text} (every .c in it) into a shared library; return its cached path."""
    cc, flags = compiler(), list(PORTABLE if flags is None else flags)
    key = hashlib.sha256(repr((cc, flags, sorted(sources.items()))).encode()).hexdigest()[:24]
    lib = cache_dir() / f"{key}.so"
    if lib.exists():
        return lib
    with tempfile.TemporaryDirectory(dir=lib.parent) as tmp:
        for name, text in sources.items():
            (Path(tmp) / name).write_text(text)
        out = Path(tmp) / "lib.so"
        cfiles = [str(Path(tmp) / n) for n in sources if n.endswith(".c")]
        run([*cc.split(), *STRICT, *flags, "-shared", "-fPIC", *cfiles, "-o", str(out), "-lm"])
        os.replace(out, lib)
    return lib


def m7_sizes(source: str, header_name: str, header: str) -> dict | None:
    """text/data/bss bytes of one generated .c (and the .h it includes) built for a Cortex-M7 (-O2),
    or None without the toolchain. Built from the text: the files may not be in place yet (namx.outputs)."""
    if not (shutil.which(M7[0]) and shutil.which("arm-none-eabi-size")):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        c_file, obj = Path(tmp) / "engine.c", Path(tmp) / "engine.o"
        c_file.write_text(source)
        (Path(tmp) / header_name).write_text(header)
        run([*M7, *STRICT, "-O2", "-c", str(c_file), "-I", tmp, "-o", str(obj)])
        out = run(["arm-none-eabi-size", str(obj)])
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def run(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NamxError(f"{cmd[0]}: {e}") from None
    if r.returncode != 0:
        lines = (r.stderr or r.stdout).strip().splitlines()
        raise NamxError(f"{cmd[0]} failed: {lines[0] if lines else f'exit {r.returncode}'}")
    return r.stdout
