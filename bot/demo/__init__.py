"""`python -m bot demo`: the whole product on one machine, with no Discord account and no network.

One process runs the Discord emulator (`bot.discord_emulator`) on loopback, the real bot connected to it
through `discord.api_base_url`/`gateway_url`, the paper broker, a throwaway SQLite database and the side
server, plus a scripted community (`feed.py`) whose quotes move (`market.py`). The side server gains a
`/demo` page (`page.py`) that shows the emulated channel and lets a visitor post and run slash commands.
`session.py` composes all of this; `command.py` is the CLI around it.
"""
