"""The `/health` probe of a remote broker: reachable, rate limited, refusing our keys, or down.

It reads how the adapter's most recent request went and only sends a request of its own (one bucket
token) when nothing was heard from the venue for `fresh_seconds`, so frequent /health calls cost nothing
while the bot is trading, and a quiet bot still notices a venue that went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Protocol

from bot.errors import BrokerError
from bot.execution.alpaca_http import ContactState, VenueContact
from bot.services.health import ComponentHealth, Probe, Status

DEFAULT_FRESH_SECONDS = 30.0

_STATUS = {
    ContactState.ANSWERED: Status.OK,
    ContactState.RATE_LIMITED: Status.WARNING,
    ContactState.CREDENTIALS_REFUSED: Status.CRITICAL,
    ContactState.SERVER_ERROR: Status.CRITICAL,
    ContactState.UNREACHABLE: Status.CRITICAL,
}


class RemoteVenue(Protocol):
    name: str

    @property
    def last_contact(self) -> VenueContact | None: ...

    async def market_open(self) -> bool: ...


def venue_probe(
    venue: RemoteVenue, *, fresh_seconds: float = DEFAULT_FRESH_SECONDS, clock: Callable[[], float] = time.monotonic
) -> Probe:
    lock = asyncio.Lock()  # concurrent /health calls share one check instead of each spending a token

    async def probe() -> ComponentHealth:
        async with lock:
            contact = venue.last_contact
            market = ""
            if contact is None or clock() - contact.at > fresh_seconds:
                with contextlib.suppress(BrokerError):  # the adapter records how it failed in last_contact
                    market = ", market open" if await venue.market_open() else ", market closed"
                contact = venue.last_contact
        if contact is None:
            return ComponentHealth(Status.CRITICAL, f"{venue.name}: no request has completed yet")
        status = _STATUS[contact.state]
        if status is Status.OK:
            detail = f"{venue.name} reachable ({contact.seconds * 1000:.0f} ms){market}"
        else:
            detail = f"{venue.name} {contact.state.value.replace('_', ' ')}: {contact.detail}"
        return ComponentHealth(status, detail, contact.seconds)

    return probe
