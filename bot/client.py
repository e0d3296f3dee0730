"""The discord.py bot class and its command tree with the one app-command error handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidOption
from bot.execution.kill_switch import KillSwitch
from bot.metrics import Metrics
from bot.services.alerting import AlertMonitor
from bot.services.authority import SignalAuthority
from bot.services.edits import EditHandler
from bot.services.health import HealthService, Readiness
from bot.services.intake import SignalIntake
from bot.services.records import RecordsService
from bot.services.stats import StatsService
from bot.services.trading import TradingServices
from storage.state import StateRepository
from storage.writer import BatchWriter

log = structlog.get_logger(__name__)

EXTENSIONS = (
    "cogs.signals",
    "cogs.stats",
    "cogs.health",
    "cogs.signal_tools",
    "cogs.alerts",
    "cogs.trading",
    "cogs.admin",
    "cogs.trace",
)


@dataclass(frozen=True, slots=True)
class BotServices:
    """Everything the cogs use, built by the composition root."""

    intake: SignalIntake
    edits: EditHandler
    stats: StatsService
    health: HealthService
    alerts: AlertMonitor  # health alerts; cogs/alerts.py attaches the Discord sender
    readiness: Readiness
    metrics: Metrics
    authority: SignalAuthority
    kill_switch: KillSwitch
    state: StateRepository
    writer: BatchWriter
    trading: TradingServices
    records: RecordsService  # /trace
    max_catch_up_age_seconds: float | None
    guild_ids: tuple[int, ...]


async def respond(
    interaction: discord.Interaction[Any],
    *,
    embed: discord.Embed | None = None,
    content: str | None = None,
    ephemeral: bool = False,
) -> None:
    """Reply correctly whether the interaction is fresh, already deferred/answered, or expired."""
    kwargs: dict[str, Any] = {"ephemeral": ephemeral}
    if embed is not None:
        kwargs["embed"] = embed
    if content is not None:
        kwargs["content"] = content
    try:
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)
    except discord.NotFound:
        log.warning("interaction.expired", command=interaction.command.name if interaction.command else None)


class TradecordTree(app_commands.CommandTree["TradecordBot"]):
    async def on_error(
        self, interaction: discord.Interaction[TradecordBot], error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.name if interaction.command else None
        if isinstance(error, app_commands.CheckFailure):
            await respond(interaction, content=f"⛔ {error}", ephemeral=True)
            return
        if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, InvalidOption):
            await respond(interaction, content=f"⚠️ {error.original}", ephemeral=True)
            return
        log.error("command.failed", command=name, exc_info=error)
        await respond(interaction, content="Something went wrong; it has been logged.", ephemeral=True)


class TradecordBot(commands.Bot):
    def __init__(self, services: BotServices, **client_options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        # Events nothing here listens to would still be parsed and dropped: a busy server sends more typing
        # events than messages, and every reaction the bot adds would come back to it as an event.
        intents.typing = intents.reactions = intents.dm_messages = False
        client_options.setdefault("max_messages", 1000)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=TradecordTree,
            help_command=None,
            **client_options,
        )
        self.services = services

    async def on_message(self, message: discord.Message, /) -> None:
        """Every command is a slash command: no message needs the command context that `commands.Bot` would
        build for each one to look for a text command (the signal listener reads messages on its own)."""

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # Guild sync is instant and scoped; global sync on every start would hit Discord's rate limits.
        for guild_id in self.services.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("commands.synced", guild_id=guild_id, count=len(synced))

    async def on_ready(self) -> None:
        self.services.readiness.discord_connected = True
        self.services.metrics.discord_connected.set(1)
        log.info("discord.ready", user=str(self.user), guilds=len(self.guilds))

    async def on_resumed(self) -> None:
        self.services.readiness.discord_connected = True
        self.services.metrics.discord_connected.set(1)
        log.info("discord.resumed")

    async def on_disconnect(self) -> None:
        self.services.readiness.discord_connected = False
        self.services.metrics.discord_connected.set(0)
        log.warning("discord.disconnected")
