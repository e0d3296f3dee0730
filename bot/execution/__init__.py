"""Turning signals into orders: broker protocol and adapters, token bucket, risk, the executor."""
