"""`python -m bot`: see `bot.cli` for the commands and `bot.app` for the composition root."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
