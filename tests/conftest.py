"""Shared fixtures: a real database in a temporary directory, a paper-broker pipeline around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
