"""The A2 specification that this namx implements, shipped inside the package as `namx.spec`.

    from namx.spec import DOCUMENT, SCHEMA   # spec/a2/<version>/A2.md and nam.schema.json

`namx spec` prints these paths and the version, so a vendor running the conformance suite can see
which spec they are tested against. SPEC_VERSION is defined here, once; namx.SPEC_VERSION is this.
"""
from __future__ import annotations

from pathlib import Path

SPEC_VERSION = "1.0"  # the spec this namx implements (spec/a2/<version>/); CHANGELOG.md lists the versions

HERE = Path(__file__).parent
DIR = HERE / "a2" / SPEC_VERSION
DOCUMENT = DIR / "A2.md"
SCHEMA = DIR / "nam.schema.json"
CHANGELOG = HERE / "CHANGELOG.md"

__all__ = ["SPEC_VERSION", "DIR", "DOCUMENT", "SCHEMA", "CHANGELOG"]
