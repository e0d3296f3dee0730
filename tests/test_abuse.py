"""The webhook's abuse guard: lists, per-client and global limits, bans, eviction, with a fake clock."""

from __future__ import annotations

import ipaddress

import pytest

from bot.web.abuse import AbuseGuard, AbuseLimits, IPAddress, Verdict, client_key
from bot.web.client_address import client_address, parse_address


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def net(*texts: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(text) for text in texts)


def guard(clock: FakeClock, **overrides: object) -> AbuseGuard:
    values: dict[str, object] = {
        "rate_per_ip_per_minute": 60,
        "burst_per_ip": 3,
        "rate_global_per_minute": 1000,
        "ban_after_violations": 2,
        "ban_base_seconds": 100.0,
        "ban_max_seconds": 300.0,
    }
    values.update(overrides)
    return AbuseGuard(AbuseLimits(**values), clock)  # type: ignore[arg-type]


def test_burst_then_one_request_per_refill() -> None:
    """A client gets its burst at once, then one request per 1/rate seconds, with the wait as Retry-After."""
    clock = FakeClock()
    g = guard(clock, ban_after_violations=100)
    client = ip("198.51.100.1")
    assert [g.admit(client).verdict for _ in range(3)] == [Verdict.ALLOWED] * 3
    refused = g.admit(client)
    assert refused.verdict is Verdict.RATE_LIMITED
    assert refused.retry_after == pytest.approx(1.0)
    clock.now += 0.5
    assert g.admit(client).retry_after == pytest.approx(0.5)
    clock.now += 0.5
    assert g.admit(client).verdict is Verdict.ALLOWED


def test_clients_are_limited_separately() -> None:
    """One client's flood does not use up another's allowance."""
    clock = FakeClock()
    g = guard(clock, ban_after_violations=100)
    for _ in range(5):
        g.admit(ip("198.51.100.1"))
    assert g.admit(ip("198.51.100.2")).allowed


def test_global_limit_spans_clients_and_is_no_violation() -> None:
    """The global bucket holds a minute's worth; past it everyone waits, and nobody is banned for it."""
    clock = FakeClock()
    g = guard(clock, rate_global_per_minute=4, ban_after_violations=1)
    verdicts = [g.admit(ip(f"198.51.100.{n}")).verdict for n in range(1, 6)]
    assert verdicts == [Verdict.ALLOWED] * 4 + [Verdict.GLOBAL_RATE_LIMITED]
    assert g.admit(ip("198.51.100.9")).retry_after == pytest.approx(15.0)
    assert g.snapshot().active_bans == 0
    assert g.rate_limited_global_total == 2


def test_ban_after_violations_doubles_up_to_the_max_and_expires() -> None:
    """The Nth limited request bans for the base time; each later ban doubles, capped at the maximum."""
    clock = FakeClock()
    g = guard(clock)
    client = ip("198.51.100.1")
    durations = []
    for _ in range(3):
        for _ in range(3):
            g.admit(client)
        assert g.admit(client).verdict is Verdict.RATE_LIMITED  # first violation: no ban yet
        banning = g.admit(client)
        assert banning.verdict is Verdict.RATE_LIMITED
        assert banning.ban_seconds is not None
        durations.append(banning.ban_seconds)
        assert banning.retry_after == banning.ban_seconds
        clock.now += banning.ban_seconds - 1
        still = g.admit(client)
        assert still.verdict is Verdict.BANNED
        assert still.retry_after == pytest.approx(1.0)
        clock.now += 1
    assert durations == [100.0, 200.0, 300.0]
    assert g.admit(client).allowed
    assert g.bans_total == 3


def test_a_long_quiet_spell_forgives_earlier_bans() -> None:
    """After a quiet period as long as the longest ban, the next ban starts from the base again."""
    clock = FakeClock()
    g = guard(clock)
    client = ip("198.51.100.1")

    def ban() -> float | None:
        for _ in range(5):
            admission = g.admit(client)
            if admission.ban_seconds is not None:
                return admission.ban_seconds
        return None

    assert ban() == 100.0
    clock.now += 100 + 300
    assert ban() == 100.0


def test_violations_are_forgiven_once_the_bucket_refills() -> None:
    """Limited requests spread out with a full recovery in between never add up to a ban."""
    clock = FakeClock()
    g = guard(clock)
    client = ip("198.51.100.1")
    for _ in range(5):
        verdicts = [g.admit(client).verdict for _ in range(4)]
        assert verdicts[-1] is Verdict.RATE_LIMITED
        clock.now += 10
    assert g.bans_total == 0


def test_deny_and_allow_lists() -> None:
    """Denied networks are refused; with an allow list only its networks may call; IPv4-mapped IPv6 matches."""
    clock = FakeClock()
    g = guard(clock, denylist=net("203.0.113.0/24"), allowlist=net("203.0.113.0/24", "10.0.0.0/8", "2001:db8::/32"))
    assert g.admit(ip("203.0.113.7")).verdict is Verdict.DENIED
    assert g.admit(ip("::ffff:203.0.113.7")).verdict is Verdict.DENIED
    assert g.admit(ip("198.51.100.1")).verdict is Verdict.NOT_ALLOWLISTED
    assert g.admit(ip("10.1.2.3")).allowed
    assert g.admit(ip("2001:db8::5")).allowed
    assert g.forbidden_total == 3


def test_ipv6_clients_are_limited_per_64() -> None:
    """Addresses of one IPv6 /64 share a bucket: rotating within it gains nothing."""
    clock = FakeClock()
    g = guard(clock, ban_after_violations=100)
    verdicts = [g.admit(ip(f"2001:db8:1:2::{n}")).verdict for n in range(1, 5)]
    assert verdicts[-1] is Verdict.RATE_LIMITED
    assert g.admit(ip("2001:db8:1:3::1")).allowed
    assert client_key(ip("2001:db8:1:2::99")) == "2001:db8:1:2::/64"
    assert client_key(ip("::ffff:198.51.100.1")) == "198.51.100.1"


def test_idle_clients_are_swept_but_ban_history_is_kept() -> None:
    """A sweep forgets clients whose bucket has refilled, but keeps the banned ones and their history."""
    clock = FakeClock()
    g = guard(clock)
    for n in range(50):
        g.admit(ip(f"198.51.100.{n}"))
    offender = ip("203.0.113.1")
    for _ in range(5):
        g.admit(offender)
    assert g.tracked_clients == 51
    clock.now += 5
    assert g.sweep() == 50
    assert g.tracked_clients == 1
    clock.now += 100  # the ban is over, its history is not
    assert g.sweep() == 0
    clock.now += 300
    assert g.sweep() == 1


def test_memory_is_bounded_under_a_flood_of_addresses() -> None:
    """Distinct addresses beyond the cap push out the least recently seen; a banned client calling on stays."""
    clock = FakeClock()
    g = guard(clock, max_tracked_clients=100)
    offender = ip("203.0.113.1")
    for _ in range(5):
        g.admit(offender)
    for n in range(10_000):
        g.admit(ipaddress.IPv4Address(0x0A000000 + n))
        if n % 50 == 0:
            assert g.admit(offender).verdict is Verdict.BANNED
        assert g.tracked_clients <= 100
    assert g.snapshot().active_bans == 1


def test_periodic_sweep_runs_on_its_own() -> None:
    """Admissions sweep idle clients once a minute without anyone calling `sweep`."""
    clock = FakeClock()
    g = guard(clock)
    for n in range(20):
        g.admit(ip(f"198.51.100.{n}"))
    clock.now += 61
    g.admit(ip("198.51.100.200"))
    assert g.tracked_clients == 1


def test_snapshot_lists_bans_longest_first() -> None:
    """The snapshot shows each active ban with its remaining time, longest first, and changes nothing."""
    clock = FakeClock()
    g = guard(clock)
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            g.admit(ip(address))
        clock.now += 10
    snapshot = g.snapshot()
    assert [(b.client, b.remaining_seconds, b.bans) for b in snapshot.bans] == [
        ("203.0.113.2", 90.0, 1),
        ("203.0.113.1", 80.0, 1),
    ]
    assert snapshot.active_bans == 2
    assert snapshot.rate_limited_ip_total == 4
    assert g.snapshot() == snapshot


TRUSTED = net("10.0.0.0/8", "127.0.0.1/32")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.1", ["203.0.113.5"], "198.51.100.1"),  # untrusted peer: its header is ignored
        ("127.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["6.6.6.6, 203.0.113.5, 10.0.0.2"], "203.0.113.5"),  # right-most untrusted hop
        ("127.0.0.1", ["6.6.6.6", "203.0.113.5"], "203.0.113.5"),  # several headers read as one list
        ("127.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # only proxies: the farthest one
        ("127.0.0.1", ["garbage, 10.0.0.2"], "10.0.0.2"),  # unreadable hop: the last proxy we trust
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("127.0.0.1", ["203.0.113.5:4711, "], "203.0.113.5"),
        (None, ["203.0.113.5"], None),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str | None) -> None:
    """X-Forwarded-For is believed only from a trusted peer, and only up to the first untrusted hop."""
    found = client_address(peer, forwarded, TRUSTED)
    assert (None if found is None else str(found)) == expected


def test_parse_address_rejects_junk() -> None:
    """Anything that is not an address reads as None rather than raising."""
    assert parse_address("not-an-ip") is None
    assert parse_address("[::1") is None
    assert parse_address("") is None
