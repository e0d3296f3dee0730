"""The catch-up mark never passes a message still being handled."""

from __future__ import annotations

from bot.services.progress import ProgressMarks


def test_mark_follows_messages_finished_in_order() -> None:
    marks = ProgressMarks()
    marks.begin("c", 10)
    assert marks.finish("c", 10) == 10
    marks.begin("c", 11)
    assert marks.finish("c", 11) == 11


def test_mark_waits_below_a_slower_earlier_message() -> None:
    marks = ProgressMarks()
    for message in (10, 11, 12):
        marks.begin("c", message)
    assert marks.finish("c", 12) == 9  # 10 and 11 are still in flight: a restart must read them again
    assert marks.finish("c", 10) == 10
    assert marks.finish("c", 11) == 12


def test_channels_are_independent() -> None:
    marks = ProgressMarks()
    marks.begin("a", 5)
    marks.begin("b", 7)
    assert marks.finish("b", 7) == 7
    assert marks.finish("a", 5) == 5


def test_a_message_handled_on_arrival_moves_the_mark_but_never_past_one_in_flight() -> None:
    """Chatter, handled the moment it arrives, moves the mark to itself unless an earlier message is in flight."""
    marks = ProgressMarks()
    assert marks.handled("c", 10) == 10
    marks.begin("c", 11)
    assert marks.handled("c", 12) == 10  # 11 is still being handled
    assert marks.finish("c", 11) == 12
