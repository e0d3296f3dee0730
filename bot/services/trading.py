"""The services behind the trading and admin slash commands, built together by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.admin import AdminGate
from bot.services.control import TradingControl
from bot.services.order_history import OrderHistory
from bot.services.portfolio import PortfolioService
from bot.services.rate_limits import RateLimitService


@dataclass(frozen=True, slots=True)
class TradingServices:
    """`/positions`, `/pnl` (portfolio), `/orders` (orders), `/ratelimits`, and the admin-only commands."""

    portfolio: PortfolioService
    orders: OrderHistory
    rate_limits: RateLimitService
    control: TradingControl
    admins: AdminGate
