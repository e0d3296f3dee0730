"""Who may call the webhook right now: allow/deny lists, per-client and global rate limits, temporary bans.

Pure bookkeeping with an injected monotonic clock and no I/O. Memory is bounded: a client whose bucket has
refilled and who carries no ban history is forgotten on the next sweep, and at most `max_tracked_clients`
are remembered (the least recently seen goes first), so a flood of distinct addresses cannot grow it
without bound. A banned client that keeps calling stays recently seen, so it is the last to be forgotten.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.settings import ServerSettings

Clock = Callable[[], float]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One IPv6 subscriber usually holds a whole /64: limiting single addresses there would limit nothing.
IPV6_CLIENT_PREFIX = 64
MAX_TRACKED_CLIENTS = 10_000
SWEEP_INTERVAL_SECONDS = 60.0
MAX_LISTED_BANS = 100


@dataclass(frozen=True, slots=True)
class AbuseLimits:
    rate_per_ip_per_minute: int = 60
    burst_per_ip: int = 10
    rate_global_per_minute: int = 1000
    ban_after_violations: int = 5
    ban_base_seconds: float = 900.0
    ban_max_seconds: float = 86400.0
    allowlist: tuple[IPNetwork, ...] = ()
    denylist: tuple[IPNetwork, ...] = ()
    max_tracked_clients: int = MAX_TRACKED_CLIENTS

    @classmethod
    def from_settings(cls, server: ServerSettings) -> AbuseLimits:
        return cls(
            rate_per_ip_per_minute=server.webhook_rate_per_ip_per_minute,
            burst_per_ip=server.webhook_burst_per_ip,
            rate_global_per_minute=server.webhook_rate_global_per_minute,
            ban_after_violations=server.ban_after_violations,
            ban_base_seconds=float(server.ban_base_seconds),
            ban_max_seconds=float(server.ban_max_seconds),
            allowlist=server.ip_allowlist,
            denylist=server.ip_denylist,
        )


class Verdict(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"  # on the deny list
    NOT_ALLOWLISTED = "not_allowlisted"  # an allow list is set and the client is not on it
    BANNED = "banned"
    RATE_LIMITED = "rate_limited"  # this client is over its own limit (a violation)
    GLOBAL_RATE_LIMITED = "global_rate_limited"  # everyone together is over the global limit


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict
    retry_after: float = 0.0
    ban_seconds: float | None = None  # set when this very request earned the client a ban

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


@dataclass(frozen=True, slots=True)
class BanView:
    client: str
    remaining_seconds: float
    bans: int  # bans this client has earned, the current one included


@dataclass(frozen=True, slots=True)
class GuardSnapshot:
    limits: AbuseLimits
    tracked_clients: int
    global_tokens: float
    active_bans: int
    bans: tuple[BanView, ...]  # the longest-running first, at most MAX_LISTED_BANS
    rate_limited_ip_total: int
    rate_limited_global_total: int
    bans_total: int
    forbidden_total: int


class _Bucket:
    """A plain token bucket that refuses when empty (the broker's schedules instead)."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate_per_second: float, burst: float, now: float) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def level(self, now: float) -> float:
        return min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)

    def refill(self, now: float) -> None:
        self.tokens = self.level(now)
        self.updated = max(self.updated, now)

    def wait_for_one(self) -> float:
        """Seconds until one token is there (after `refill`)."""
        return max(0.0, (1.0 - self.tokens) / self.rate)


@dataclass(slots=True)
class _Client:
    bucket: _Bucket
    violations: int = 0
    bans: int = 0
    banned_until: float = 0.0


def client_key(address: IPAddress) -> str:
    """The unit that is limited and banned: an IPv4 address, or the /64 an IPv6 address belongs to."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def _listed(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in networks)


class AbuseGuard:
    def __init__(self, limits: AbuseLimits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._per_ip_rate = limits.rate_per_ip_per_minute / 60.0
        # The global bucket holds one minute's worth: the configured figure is a per-minute budget.
        self._global = _Bucket(limits.rate_global_per_minute / 60.0, float(limits.rate_global_per_minute), clock())
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._next_sweep = clock() + SWEEP_INTERVAL_SECONDS
        self.rate_limited_ip_total = 0
        self.rate_limited_global_total = 0
        self.bans_total = 0
        self.forbidden_total = 0

    def admit(self, address: IPAddress) -> Admission:
        """Whether one request from `address` may go on; every call counts against the limits."""
        if _listed(address, self.limits.denylist):
            self.forbidden_total += 1
            return Admission(Verdict.DENIED)
        if self.limits.allowlist and not _listed(address, self.limits.allowlist):
            self.forbidden_total += 1
            return Admission(Verdict.NOT_ALLOWLISTED)
        now = self._clock()
        if now >= self._next_sweep:
            self.sweep(now)
        client = self._client(client_key(address), now)
        if client.banned_until > now:
            return Admission(Verdict.BANNED, retry_after=client.banned_until - now)
        client.bucket.refill(now)
        if client.bucket.tokens >= client.bucket.burst:
            client.violations = 0  # a client that let its bucket fill again starts with a clean slate
        if client.bucket.tokens < 1.0:
            return self._violation(client, now)
        self._global.refill(now)
        if self._global.tokens < 1.0:
            self.rate_limited_global_total += 1
            return Admission(Verdict.GLOBAL_RATE_LIMITED, retry_after=self._global.wait_for_one())
        client.bucket.tokens -= 1.0
        self._global.tokens -= 1.0
        return Admission(Verdict.ALLOWED)

    def _client(self, key: str, now: float) -> _Client:
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        while len(self._clients) >= self.limits.max_tracked_clients:
            self._clients.popitem(last=False)
        burst = float(self.limits.burst_per_ip)
        client = self._clients[key] = _Client(_Bucket(self._per_ip_rate, burst, now))
        return client

    def _violation(self, client: _Client, now: float) -> Admission:
        self.rate_limited_ip_total += 1
        client.violations += 1
        if client.violations < self.limits.ban_after_violations:
            return Admission(Verdict.RATE_LIMITED, retry_after=client.bucket.wait_for_one())
        if client.bans and now - client.banned_until >= self.limits.ban_max_seconds:
            client.bans = 0  # a quiet spell as long as the longest ban forgives earlier bans
        seconds = min(self.limits.ban_base_seconds * 2**client.bans, self.limits.ban_max_seconds)
        client.bans += 1
        client.violations = 0
        client.banned_until = now + seconds
        self.bans_total += 1
        return Admission(Verdict.RATE_LIMITED, retry_after=seconds, ban_seconds=seconds)

    def sweep(self, now: float | None = None) -> int:
        """Forget clients with a full bucket and no ban history worth keeping; returns how many."""
        now = self._clock() if now is None else now
        self._next_sweep = now + SWEEP_INTERVAL_SECONDS
        forgettable = [key for key, client in self._clients.items() if self._forgettable(client, now)]
        for key in forgettable:
            del self._clients[key]
        return len(forgettable)

    def _forgettable(self, client: _Client, now: float) -> bool:
        if client.banned_until > now or client.bucket.level(now) < client.bucket.burst:
            return False
        return client.bans == 0 or now - client.banned_until >= self.limits.ban_max_seconds

    @property
    def tracked_clients(self) -> int:
        return len(self._clients)

    def active_bans(self) -> int:
        now = self._clock()
        return sum(1 for client in self._clients.values() if client.banned_until > now)

    def snapshot(self) -> GuardSnapshot:
        """The state `/api/rate-limits` shows; reading it changes nothing."""
        now = self._clock()
        banned = sorted(
            (BanView(key, c.banned_until - now, c.bans) for key, c in self._clients.items() if c.banned_until > now),
            key=lambda ban: ban.remaining_seconds,
            reverse=True,
        )
        return GuardSnapshot(
            limits=self.limits,
            tracked_clients=len(self._clients),
            global_tokens=self._global.level(now),
            active_bans=len(banned),
            bans=tuple(banned[:MAX_LISTED_BANS]),
            rate_limited_ip_total=self.rate_limited_ip_total,
            rate_limited_global_total=self.rate_limited_global_total,
            bans_total=self.bans_total,
            forbidden_total=self.forbidden_total,
        )
