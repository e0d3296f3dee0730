"""Who may run the admin commands (`/pause`, `/resume`, `/close`): checked on every call, refusals recorded."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from storage.writer import BatchWriter

log = structlog.get_logger(__name__)

REFUSED_COUNTER = "admin.refused"


class AdminGate:
    """Configured admin users and roles; Discord's command permissions are only a hint in the client UI."""

    def __init__(self, *, user_ids: Iterable[int], role_ids: Iterable[int], writer: BatchWriter) -> None:
        self._users = frozenset(user_ids)
        self._roles = frozenset(role_ids)
        self._writer = writer

    def refusal(self, user_id: int, role_ids: Iterable[int]) -> str | None:
        """None when this member is an admin, else the reason they are not."""
        if not self._users and not self._roles:
            return "no admins are configured (set discord.admin_user_ids or discord.admin_role_ids)"
        if user_id in self._users or not self._roles.isdisjoint(role_ids):
            return None
        return "admin commands are limited to discord.admin_user_ids and members of discord.admin_role_ids"

    def check(self, command: str, user_id: int, role_ids: Iterable[int], *, source: str = "discord") -> str | None:
        """`refusal`, with a refusal logged (who, which command, why) and counted in the activity table."""
        roles = frozenset(role_ids)
        reason = self.refusal(user_id, roles)
        if reason is not None:
            log.warning("admin.refused", command=command, user_id=user_id, role_ids=sorted(roles), reason=reason)
            self._writer.count(source, REFUSED_COUNTER)
        return reason
