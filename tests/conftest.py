"""Shared fixtures: a real database in a temporary directory, a paper-broker pipeline around it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from storage.database import Database
from tests.support import EnvelopeFactory, Pipeline, build_pipeline, envelope_factory

pytest_plugins = ["tests.fake_discord.fixtures"]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "tradecord.db") as database:
        yield database


@pytest.fixture
async def pipeline(db: Database) -> Pipeline:
    return await build_pipeline(db)


@pytest.fixture
def make_envelope() -> EnvelopeFactory:
    return envelope_factory()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Leave the root logger, the routed loggers and structlog as they were before the test."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    discord_logger = logging.getLogger("discord")
    saved_discord = (list(discord_logger.handlers), discord_logger.level, discord_logger.propagate)
    yield
    structlog.reset_defaults()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    discord_logger.handlers[:] = saved_discord[0]
    discord_logger.setLevel(saved_discord[1])
    discord_logger.propagate = saved_discord[2]
