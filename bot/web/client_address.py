"""The address a webhook request really comes from, believing `X-Forwarded-For` only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bot.web.abuse import IPAddress, IPNetwork


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it: `203.0.113.5`, `203.0.113.5:4711`, `2001:db8::1`, `[2001:db8::1]:4711`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPAddress, proxies: tuple[IPNetwork, ...]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == proxy.version and address in proxy for proxy in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: tuple[IPNetwork, ...]
) -> IPAddress | None:
    """The TCP peer, unless it is a trusted proxy: then the right-most `X-Forwarded-For` hop that is not one.

    Hops are read right to left because only the right end was written by proxies we trust; anything to the
    left of the first untrusted hop may be forged by the client. None when the peer is not an IP address.
    """
    address = None if peer is None else parse_address(peer)
    if address is None or not _trusted(address, trusted_proxies):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        forwarded = parse_address(hop)
        if forwarded is None:
            break  # a hop we cannot read: the last proxy we trust is the best we know
        address = forwarded
        if not _trusted(forwarded, trusted_proxies):
            break
    return address
