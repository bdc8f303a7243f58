"""The errors a csconnect user can see: one line that says what failed and what to do."""
from __future__ import annotations


class CsconnectError(Exception):
    """Base of every error csconnect shows as one line (exit code 1)."""

    exit_code = 1

    def __str__(self) -> str:  # always one line
        text = super().__str__()
        return " ".join(text.split()) if "\n" in text else text


class UsageError(CsconnectError):
    """The command line was wrong (exit code 2)."""

    exit_code = 2


class ConfigError(CsconnectError):
    """csconnect.toml, .env or an option is wrong."""


class PluginError(CsconnectError):
    """A plugin is broken, duplicated or missing."""


class StoreError(CsconnectError):
    """The database cannot be opened, migrated or written."""


class ConnectorError(CsconnectError):
    """A connector failed while talking to its source (`status_code` when HTTP said so)."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class AuthError(ConnectorError):
    """The source rejected the credentials."""


class HttpError(ConnectorError):
    """An HTTP request failed for good (after its retries)."""


class MalformedResponse(ConnectorError):
    """The source answered with something that is not what its API promises."""


class RejectError(CsconnectError):
    """One record cannot be normalized or validated; it goes to _csconnect_rejects."""


class MetricsError(CsconnectError):
    """A metric pack cannot run."""


class DeliveryError(CsconnectError):
    """An alert sink could not deliver; `permanent` when retrying cannot help (a revoked webhook)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent
