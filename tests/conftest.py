"""Suite-wide settings: on CI, hypothesis draws the same examples every run (no flaky reds)."""

from __future__ import annotations

import os

from hypothesis import settings

# Every ONNX model a test lowers is lowered twice, by the pure-Python fast path and through
# onnx, and the two graphs must be equal (flopcount.frontends.onnx.FAST_ENV).
os.environ.setdefault("FLOPCOUNT_ONNX_FAST", "check")

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
