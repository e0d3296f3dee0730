"""The demo community inside the Discord emulator: one guild, a #signals channel and the people in it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.discord_emulator import FakeDiscord


class Role(StrEnum):
    """How the bot sees an author (the page colours authors by it)."""

    PROVIDER = "provider"  # has the trusted role: their signals trade
    MEMBER = "member"  # chats; a signal from them would be refused
    UNTRUSTED = "untrusted"  # the member who tries to post a signal anyway
    VISITOR = "visitor"  # whoever posts through the /demo page (trusted, like a provider)
    BOT = "bot"


PROVIDERS = ("maya", "kenji", "lena")  # stocks, crypto, forex
MEMBERS = ("sam", "priya")
UNTRUSTED = "mallory"
VISITOR = "you"


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """Ids of everything the feed, the page and the bot's configuration refer to."""

    guild_id: int
    channel_id: int
    provider_role_id: int
    bot_user_id: int
    user_ids: dict[str, int]
    roles: dict[int, Role]
    names: dict[int, str]

    def user_id(self, name: str) -> int:
        return self.user_ids[name]

    def role_of(self, user_id: int) -> Role:
        return self.roles.get(user_id, Role.MEMBER)

    def name_of(self, user_id: int) -> str:
        return self.names.get(user_id, "unknown")


def build_world(fake: FakeDiscord) -> DemoWorld:
    """Create the guild before the bot connects, so it arrives in the bot's first GUILD_CREATE."""
    guild_id = fake.add_guild("Tradecord Demo")
    channel_id = fake.add_channel(guild_id, "signals", topic="Trade signals from our providers")
    provider_role_id = fake.add_role(guild_id, "Signal provider")
    people: list[tuple[str, Role]] = [
        *((name, Role.PROVIDER) for name in PROVIDERS),
        *((name, Role.MEMBER) for name in MEMBERS),
        (UNTRUSTED, Role.UNTRUSTED),
        (VISITOR, Role.VISITOR),
    ]
    user_ids: dict[str, int] = {}
    roles: dict[int, Role] = {fake.bot_user_id: Role.BOT}
    for name, role in people:
        user_id = fake.add_user(name)
        trusted = role in (Role.PROVIDER, Role.VISITOR)
        fake.add_member(guild_id, user_id, roles=[provider_role_id] if trusted else [])
        user_ids[name] = user_id
        roles[user_id] = role
    names = {user_id: name for name, user_id in user_ids.items()}
    names[fake.bot_user_id] = "Tradecord"
    return DemoWorld(guild_id, channel_id, provider_role_id, fake.bot_user_id, user_ids, roles, names)
