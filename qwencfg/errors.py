"""One error type per failure a user can act on. The CLI prints the message and exits with `exit_code`.

Exit codes (documented in the README and docs/):
  0    success / configs identical / config valid
  1    the config is invalid (validate) or the configs differ (diff)
  2    bad input or usage: missing file, malformed JSON, unknown key, Hub error, ...
  3    internal error: a bug in qwencfg (QWENCFG_DEBUG=1 shows the traceback)
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class QwencfgError(Exception):
    """Base of every error qwencfg reports to the user as one line."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        stop = "" if self.message.endswith(("?", "!", ".", ":")) else "."
        return f"{self.message}{stop} {self.hint[:1].upper()}{self.hint[1:]}"


class SourceNotFound(QwencfgError):
    """A file, folder, preset, repo or revision that does not exist."""


class SourceUnreadable(QwencfgError):
    """A source that exists but cannot be read: permissions, not JSON, too big."""


class HubError(QwencfgError):
    """The Hub refused or could not be reached: gated repo, offline, server error."""


class NotAQwenConfig(QwencfgError):
    """JSON that is not the config of a supported Qwen vision-language family."""


class UnknownKey(QwencfgError):
    """An override names a key that the family's config classes do not have."""


class BadValue(QwencfgError):
    """An override value that does not fit the field's declared type."""


class WriteRefused(QwencfgError):
    """A write that would lose data or cannot be done (existing file, read-only, full disk)."""


class MissingDependency(QwencfgError):
    """A stage that needs an optional package (torch, accelerate) that is not installed."""


class RuleFailed(QwencfgError):
    """The result of an edit breaks static rules; nothing was written."""
