"""Fake broker HTTP APIs on 127.0.0.1, for tests that run the real adapters over real sockets.

Alpaca: ``alpaca.py`` (server), ``alpaca_book.py`` + ``alpaca_model.py`` (the account), ``alpaca_serve.py``.
Other venues' fakes in this package document themselves in their own modules.

``FakeAlpaca`` follows Alpaca's documented Trading API v2 shapes (and the two market-data routes the
adapter uses) and keeps one account in memory. API::

    async with FakeAlpaca(key_id="fake-key-id", secret_key="fake-secret-key",
                          prices={"AAPL": "150"}, cash="100000",
                          rate_per_second=None, burst=None,      # the venue's own limit; None = unlimited
                          market_open=True, host="127.0.0.1", port=0) as venue:
        venue.base_url / venue.data_url          # http://127.0.0.1:<port>, for broker.base_url / data_url
        venue.set_price("AAPL", "151")           # market orders fill at the price; resting orders re-match
        venue.script(Route.SUBMIT_ORDER, Fault.HANG, times=1)              # the next call hangs
        venue.script(Route.SUBMIT_ORDER, Fault.SERVER_ERROR, status=503)  # 5xx, nothing done
        venue.script(Route.SUBMIT_ORDER, Fault.RATE_LIMITED, retry_after=0.05)
        venue.script(Route.SUBMIT_ORDER, Fault.COMMIT_THEN_DROP)          # order stored, connection closed
        venue.orders                             # [FakeOrder] entries in placement order (.legs, .status, ...)
        venue.order(client_order_id)             # FakeOrder | None (legs have venue-generated client ids)
        venue.positions; venue.cash              # {"AAPL": Decimal("100")}, Decimal
        venue.requests                           # [RecordedRequest(method, path, route, query, body, at, status)]
        venue.requests_for(Route.SUBMIT_ORDER)
        venue.throttled_count                    # 429s sent by the venue's own rate limit (not scripted ones)
        venue.market_open = False                # what GET /v2/clock says
        venue.book                               # the AlpacaBook itself, for anything else

Faults (``Fault``): SERVER_ERROR (``status``, default 500; 504 too), RATE_LIMITED (429 + ``Retry-After``),
HANG (no answer until the fake closes; nothing done), COMMIT_THEN_HANG, DROP (connection closed, nothing
done), COMMIT_THEN_DROP (the order is stored, then the connection closes without an answer),
COMMIT_THEN_GARBLE (the work is done, then 200 with an HTML body). Scripted faults
apply after the key check and the venue's rate limit, to the next ``times`` calls of that route.

Keys: requests without ``APCA-API-KEY-ID``/``APCA-API-SECRET-KEY`` get 401, wrong ones 403. Matching: an order
fills completely at the current price once marketable; bracket/oto legs are ``held`` until the entry fills,
and one exit filling cancels the other. For a bot in another process: run the fake in the test process and
give the bot ``venue.base_url``, or ``python -m tests.fake_broker.alpaca_serve --help`` (or its ``serve()``).
"""

from __future__ import annotations

from .alpaca import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, Fault, RecordedRequest, Route
from .alpaca_book import AlpacaBook
from .alpaca_model import FakeOrder

__all__ = [
    "DEFAULT_KEY_ID",
    "DEFAULT_SECRET_KEY",
    "AlpacaBook",
    "FakeAlpaca",
    "FakeOrder",
    "Fault",
    "RecordedRequest",
    "Route",
]
