"""Settings: environment variables declared once, read once when an app starts, into frozen objects.

Each module that reads the environment declares its variables as `Setting`s (name, default,
meaning) and exposes them in a `SETTINGS` tuple; an app builds its own frozen dataclass from them
with a `from_env(environ)` classmethod, called from a start hook (`FunctionApp.on_start`), never at
import. A value that cannot be used raises `SettingsError` naming the variable, the value and what
is allowed; `FunctionApp.run` turns it into an exit with that message before the port opens.
docs/architecture.md ("Settings") lists every declaration; tests/unit/test_settings.py keeps the
table, the code and the Bicep in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bindings.errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Setting", "SettingsError"]


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (None: none) and what it means."""

    name: str
    default: str | None
    meaning: str
    optional: bool = False  # without a default: unset is allowed (`meaning` says what it does)
    unless: str = ""  # without a default: not needed when this other setting is set

    @property
    def required(self) -> bool:
        """Whether a deployment must set it (no default, not optional)."""
        return self.default is None and not self.optional

    def text(self, environ: Mapping[str, str]) -> str | None:
        """The raw value: the environment's (even empty), else the default."""
        return environ.get(self.name, self.default)

    def string(self, environ: Mapping[str, str]) -> str:
        """The value as text; a required setting left unset is an error."""
        value = self.text(environ)
        if value is None:
            raise SettingsError(f"{self.name} is not set; {self.meaning}")
        return value

    def number(self, environ: Mapping[str, str]) -> float:
        """The value as a number."""
        value = self.string(environ)
        try:
            return float(value)
        except ValueError:
            raise self.refused(value, "a number") from None

    def integer(self, environ: Mapping[str, str]) -> int:
        """The value as a whole number."""
        value = self.string(environ)
        try:
            return int(value)
        except ValueError:
            raise self.refused(value, "a whole number") from None

    def seconds(self, environ: Mapping[str, str]) -> timedelta:
        """The value as a duration given in seconds."""
        return timedelta(seconds=self.number(environ))

    def choice(self, environ: Mapping[str, str], allowed: tuple[str, ...]) -> str:
        """The value, which must be one of `allowed`."""
        value = self.string(environ)
        if value not in allowed:
            raise self.refused(value, ", ".join(allowed))
        return value

    def refused(self, value: str, allowed: str) -> SettingsError:
        """The error for `value`: the variable, the value and what is allowed."""
        return SettingsError(f"{self.name} is {value!r}; allowed: {allowed}")
