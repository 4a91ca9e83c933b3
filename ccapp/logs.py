"""Structured logging on the standard library: JSON lines for machines, text for humans, secrets masked.

Redaction happens in a handler filter, so it covers records from every logger (ccapp's, aiohttp's,
SQLAlchemy's) on their way out, whatever their message, arguments, ``extra`` fields or traceback say.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from ccapp.config.redact import MASK, redact_urls_in_text

if TYPE_CHECKING:
    from ccapp.config.settings import Settings

__all__ = [
    "CallLoggerAdapter",
    "JsonFormatter",
    "RedactingFilter",
    "SecretRegistry",
    "TextFormatter",
    "call_logger",
    "mask_digits",
    "register_secret",
    "register_settings_secrets",
    "setup_logging",
]

#: ``extra`` fields whose value is always masked (also as a suffix: ``api_token``, ``ami_password``)
SECRET_FIELD_NAMES = ("password", "passwd", "secret", "token")

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_HANDLER_MARK = "_ccapp_handler"


class SecretRegistry:
    """Secret values that must never appear in a log line."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        for value in values:
            self.add(value)

    def add(self, value: str | SecretStr | None) -> None:
        """Remember ``value``; empty values are ignored (there is nothing to hide)."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value:
            return
        with self._lock:
            # Longest first, so a secret that contains another is masked whole.
            self._values = tuple(sorted({*self._values, value}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every registered secret and every URL password replaced by ``***``."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return redact_urls_in_text(text)


#: the process's registry; setup_logging's filter reads it unless given another
_DEFAULT_SECRETS = SecretRegistry()


def register_secret(value: str | SecretStr | None) -> None:
    """Never log ``value`` (through handlers installed by :func:`setup_logging`)."""
    _DEFAULT_SECRETS.add(value)


def register_settings_secrets(settings: Settings, registry: SecretRegistry | None = None) -> None:
    """Register every password the settings hold, including one inside the database URL."""
    target = _DEFAULT_SECRETS if registry is None else registry
    target.add(settings.ari.password)
    target.add(settings.ami.password)
    for password in _url_passwords(settings.database.url):
        target.add(password)


def _url_passwords(url: str) -> set[str]:
    """The URL's password as written (percent-encoded) and as sent to the server."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return set()
    return {password, unquote(password)} if password else set()


def mask_digits(digits: str) -> str:
    """``"4111"`` → ``"****"``: keeps the length (useful when debugging) and nothing else."""
    return "*" * len(digits)


def _is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(lowered.endswith(word) for word in SECRET_FIELD_NAMES)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, ``extra`` fields, traceback and stack; never drops a record."""

    def __init__(self, secrets: SecretRegistry | None = None) -> None:
        super().__init__()
        self._secrets = _DEFAULT_SECRETS if secrets is None else secrets

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self._secrets.redact
        try:
            message = record.getMessage()
        except Exception:  # a bad format call must not leak its arguments through logging's error report
            message = f"{record.msg} (unformattable log arguments)"
        record.msg, record.args = redact(message), None
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD_ATTRS:
                continue
            if _is_secret_field(name):
                setattr(record, name, MASK)
            elif isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts, level, logger, msg``, the ``extra`` fields, then ``exc``/``stack``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-01-05T09:00:00.000Z INFO ccapp.acd: message call_id=… channel=…`` (+ traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in _extras(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if fields:
            line = f"{line} {fields}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{record.stack_info}"
        return line


def setup_logging(
    level: str,
    fmt: str,
    *,
    stream: TextIO | None = None,
    secrets: SecretRegistry | None = None,
) -> logging.Handler:
    """Send all logging to ``stream`` (stderr) at ``level``, as ``fmt`` ("json" or "text"), redacted.

    Calling it again (on reload) replaces the handler it installed before; other handlers are kept.
    Returns the handler, mainly for tests.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter()
    elif fmt == "text":
        formatter = TextFormatter()
    else:
        raise ValueError(f"unknown log format {fmt!r} (json or text)")

    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter(secrets))
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    # Alembic announces each of its plugins at INFO whenever it is imported: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(numeric, logging.WARNING))
    return handler


class CallLoggerAdapter(logging.LoggerAdapter[logging.Logger]):
    """Adds the call's context to every record, merged with the call site's own ``extra``."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        context: Mapping[str, object] = self.extra or {}
        kwargs["extra"] = {**context, **(kwargs.get("extra") or {})}
        return msg, kwargs


def call_logger(
    call_id: str, channel: str | None = None, logger: logging.Logger | str = "ccapp.call"
) -> CallLoggerAdapter:
    """A logger that stamps ``call_id`` (and ``channel``) on everything it logs for one call."""
    base = logging.getLogger(logger) if isinstance(logger, str) else logger
    context: dict[str, object] = {"call_id": call_id}
    if channel is not None:
        context["channel"] = channel
    return CallLoggerAdapter(base, context)
