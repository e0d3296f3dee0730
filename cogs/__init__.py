"""Thin Discord adapters: they translate events and commands into service calls and format the answers."""
