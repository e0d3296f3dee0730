"""The one exception root of Tradecord.

Each class's docstring says how the bot reacts when it is raised.
"""

from __future__ import annotations

from typing import Literal


class TradecordError(Exception):
    """Root of every error Tradecord raises on purpose; anything else is a bug and is logged with a trace."""


class ConfigError(TradecordError):
    """The configuration is invalid: the CLI prints one line per problem and exits 2; the bot does not start."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


ParseErrorCode = Literal["not_a_signal", "invalid_signal"]


class SignalParseError(TradecordError):
    """A message could not be read as a signal: recorded with its code and reason, nothing is traded."""

    code: ParseErrorCode

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotASignal(SignalParseError):
    """Chatter, results posts, questions: counted as `not_a_signal`, never answered, never traded."""

    code: ParseErrorCode = "not_a_signal"


class InvalidSignal(SignalParseError):
    """Looks like a signal but is inconsistent: recorded as `invalid` and the author gets the reason."""

    code: ParseErrorCode = "invalid_signal"


class BrokerError(TradecordError):
    """Base of the errors a broker adapter translates vendor failures into."""


class OrderRejected(BrokerError):
    """The venue definitely refused the order (4xx other than 429): final, never retried."""


class ExitsClosed(OrderRejected):
    """A leg's stop loss or take profit already closed it (or the position was closed): there is nothing left
    on that leg to move. A stop move skips such legs and applies to the others."""


class TemporaryBrokerError(BrokerError):
    """The venue did not accept anything (429, 5xx before acceptance): retried with the same client id."""

    def __init__(self, message: str, *, retry_after: float | None = None, kind: str = "temporary") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.kind = kind


class AmbiguousOrderOutcome(BrokerError):
    """We cannot know whether the venue accepted the order (timeout, dropped connection, 504).

    The executor looks the order up by client id; only a confirmed absence allows a re-send.
    """


class BrokerRequestRefused(BrokerError):
    """The venue refused a request that places nothing (a read with bad credentials, a 4xx on a look-up).

    Not retried: it usually means the configuration (keys, base URL) is wrong; the caller reports it as is.
    """


class InsufficientQuote(OrderRejected):
    """The paper broker has no price for a market order: the signal is rejected with that reason."""


class SecretStoreError(TradecordError):
    """The encrypted secret store cannot do what was asked (wrong master key, tampered row, bad name or value).

    The message names the secret and never contains its value: the `secrets` CLI prints it and exits 2; at
    start-up it becomes a ConfigError, so the bot does not start with credentials it could not read.
    """


class InvalidOption(TradecordError):
    """A slash-command option the bot cannot use: the user is told privately what is accepted; nothing runs."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option

    @classmethod
    def not_one_of(cls, option: str, value: str, valid: tuple[str, ...]) -> InvalidOption:
        return cls(option, f"{value!r} is not one of {', '.join(valid)}")
