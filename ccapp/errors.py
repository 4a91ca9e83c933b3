"""ccapp's one error tree. No HTTP status codes here: the web layer maps these to statuses."""

from __future__ import annotations


class CcappError(Exception):
    """Base of every error ccapp raises on purpose."""

    #: stable identifier the web layer exposes to clients
    error_id = "ccapp_error"


class ConfigError(CcappError):
    """The configuration is invalid; ``problems`` lists one line per bad key."""

    error_id = "config_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TelephonyError(CcappError):
    """Asterisk refused or failed a request."""

    error_id = "telephony_error"


class NotConnected(TelephonyError):
    """The link to Asterisk (ARI, AMI) is down."""

    error_id = "telephony_unavailable"


class CallGone(TelephonyError):
    """The channel hung up (or vanished) while ccapp was acting on it."""

    error_id = "call_gone"


class StorageError(CcappError):
    """The database failed; events are kept in the outbox."""

    error_id = "storage_error"


class ProtocolError(CcappError):
    """A peer spoke a protocol (AGI, AMI, ARI) wrongly."""

    error_id = "protocol_error"


class FetchError(CcappError):
    """An IVR ``http`` node's request failed (connection, timeout, status or body)."""

    error_id = "fetch_failed"
