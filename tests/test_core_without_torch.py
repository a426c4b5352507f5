"""The core never imports torch: loading, running and converting a .nam stay torch-free."""
import subprocess
import sys

SCRIPT = r"""
import sys
import namx
from namx.cli import main
model = namx.load(sys.argv[1])
assert main(["signal", "mix", sys.argv[2] + "/mix.wav"]) == 0
assert main(["run", sys.argv[1], sys.argv[2] + "/mix.wav", sys.argv[2] + "/out.wav", "--width", "3"]) == 0
assert main(["convert", sys.argv[1], "--to", "nam", "--width", "3", "-o", sys.argv[2] + "/w3.nam"]) == 0
assert main(["info", sys.argv[2] + "/w3.nam"]) == 0
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.", "namx.torch")))
print("TORCH-MODULES:", loaded)
"""


def test_loading_running_and_converting_a_nam_does_not_import_torch(tmp_path):
    from namx.bundled import path
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(path("A2")), str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "TORCH-MODULES: []" in r.stdout, r.stdout
