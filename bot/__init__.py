"""Tradecord: trade signals from Discord and webhooks into broker orders, safely and observably."""

from __future__ import annotations

__version__ = "0.1.0"
