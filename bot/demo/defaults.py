"""The demo's defaults, apart from the heavy modules so that `python -m bot --help` stays quick."""

from __future__ import annotations

DEMO_HOST = "127.0.0.1"  # the demo is for this machine only
DEFAULT_PORT = 8080
DEFAULT_SEED = 7
DEFAULT_SPEED = 1.0
