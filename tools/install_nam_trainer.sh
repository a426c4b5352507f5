#!/usr/bin/env bash
# Install the NAM trainer (neural-amp-modeler) next to namx[torch], for the tests that convert
# its modules (tests/test_torch_nam_trainer.py; they are skipped without it).
# Its declared dependencies include an unpinned torch (which would pull a multi-GB CUDA build)
# and packages its model code never imports (transformers, tensorboard, sounddevice), so it is
# installed without dependencies, plus exactly what `import nam.models` imports: nam/__init__
# also imports nam.data (librosa, wavio) and nam.train (pytorch_lightning, pydantic, matplotlib).
# The packages that depend on torch are installed with --no-deps; torch itself is namx[torch]'s pin.
set -euo pipefail
pip install "torch==2.13.0"
pip install librosa pydantic wavio scipy matplotlib lightning-utilities pyyaml fsspec packaging
pip install --no-deps "neural-amp-modeler==0.13.0" "pytorch_lightning==2.6.1" "torchmetrics==1.9.0"
