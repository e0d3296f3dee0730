"""What an edit of a traded signal may change: its stop and targets, nothing that would need a new order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain import AssetClass, CloseSignal, OpenSignal, Side, UpdateSignal
from bot.services.edits import revision_id, stop_and_target_changes

TRADED = OpenSignal(
    Side.BUY, "AAPL", AssetClass.EQUITY, stop_loss=Decimal(145), take_profits=(Decimal(160),), quantity=Decimal(10)
)
EXITS = (Decimal(145), (Decimal(160),))


def test_a_new_stop_or_target_becomes_an_update() -> None:
    edited = replace(TRADED, stop_loss=Decimal(148), take_profits=(Decimal(170),))
    assert stop_and_target_changes(TRADED, EXITS, edited) == UpdateSignal(
        "AAPL", stop_loss=Decimal(148), take_profits=(Decimal(170),)
    )


def test_the_comparison_is_with_the_exits_the_legs_have_now() -> None:
    """After an earlier edit moved the stop to 148, re-sending 148 changes nothing."""
    moved = (Decimal(148), (Decimal(160),))
    assert stop_and_target_changes(TRADED, moved, replace(TRADED, stop_loss=Decimal(148))) is None


def test_size_symbol_side_and_kind_cannot_change_after_trading() -> None:
    assert "only its stop loss and targets" in str(
        stop_and_target_changes(TRADED, EXITS, replace(TRADED, quantity=Decimal(50)))
    )
    assert "symbol and side" in str(stop_and_target_changes(TRADED, EXITS, replace(TRADED, symbol="MSFT")))
    assert "symbol and side" in str(stop_and_target_changes(TRADED, EXITS, replace(TRADED, side=Side.SELL)))
    assert "into a close" in str(stop_and_target_changes(TRADED, EXITS, CloseSignal("AAPL")))


def test_an_unchanged_edit_is_nothing() -> None:
    assert stop_and_target_changes(TRADED, EXITS, TRADED) is None


def test_revision_ids_are_stable_per_edit() -> None:
    at = datetime(2026, 11, 21, 12, 0, 0, 123000, tzinfo=UTC)
    assert revision_id("42", at) == revision_id("42", at) == "42@1795262400123"
    assert revision_id("42", at.replace(microsecond=124000)) != revision_id("42", at)
