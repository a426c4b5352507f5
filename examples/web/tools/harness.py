"""Serve examples/web on 127.0.0.1 and drive it in headless Chromium (tools/headless.mjs).

Used by tests/test_web.py and benchmarks/bench_web.py:

    with serve(folder) as base:          # folder/web is examples/web; other files are the folder's
        results = run_pages(base, [{"model": "../m.onnx", "input": "../x.wav", "block": 128}])
"""
from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np

WEB = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing() -> str | None:
    """Why the page cannot be driven here, or None."""
    if not shutil.which("node"):
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (set CHROMIUM)"
    for package in ("onnxruntime-web", "puppeteer-core"):
        if not (WEB / "node_modules" / package).is_dir():
            return f"examples/web/node_modules/{package} is missing (npm ci --ignore-scripts in examples/web)"
    return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """A static server for `folder` (with `folder/web` linked to examples/web); yields its base URL."""
    link = Path(folder) / "web"
    if not link.exists():
        link.symlink_to(WEB, target_is_directory=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def headless(*args, timeout=900) -> list[dict]:
    """Run tools/headless.mjs; its JSON lines."""
    done = subprocess.run(["node", str(WEB / "tools" / "headless.mjs"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=WEB)
    if done.returncode != 0:
        raise RuntimeError(f"headless.mjs failed: {done.stderr[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run_pages(base: str, runs: list[dict]) -> list[dict]:
    """The scriptable mode, one page load per run ({model, input, width | schedule, block}):
    [{url, error, rtf, output: float32 array or None}]."""
    urls = [f"{base}/web/index.html?" + "&".join(f"{k}={v}" for k, v in r.items()) + "&autorun=1" for r in runs]
    results = headless("run", *urls)
    if len(results) != len(runs):
        raise RuntimeError(f"headless.mjs answered {len(results)} of {len(runs)} runs")
    for r in results:
        if r["output"] is not None:
            r["output"] = np.frombuffer(base64.b64decode(r["output"]), "<f4")
    return results
