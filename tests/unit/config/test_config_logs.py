from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccapp.config.loader import load_settings
from ccapp.logs import (
    SecretRegistry,
    call_logger,
    mask_digits,
    register_secret,
    register_settings_secrets,
    setup_logging,
)

WriteConfig = Callable[..., Path]


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """Give the test the root logger and put its handlers and level back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_format_writes_one_object_per_line_with_call_context(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("info", "json", stream=stream, secrets=SecretRegistry())

    log = call_logger("call-42", "PJSIP/100-00000001")
    log.info("answered after %d rings", 3, extra={"queue": "sales"})
    logging.getLogger("ccapp.test").debug("below the level")

    [entry] = json_lines(stream)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "ccapp.call"
    assert entry["msg"] == "answered after 3 rings"
    assert (entry["call_id"], entry["channel"], entry["queue"]) == ("call-42", "PJSIP/100-00000001", "sales")
    assert entry["ts"].endswith("Z")


def test_text_format_is_one_readable_line(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", "text", stream=stream, secrets=SecretRegistry())

    call_logger("call-7").warning("caller hung up")

    line = stream.getvalue().rstrip("\n")
    assert line.endswith(" WARNING ccapp.call: caller hung up call_id=call-7")


def test_a_registered_secret_is_masked_in_message_args_extras_and_tracebacks(
    root_logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    setup_logging("INFO", "json", stream=stream)
    register_secret("hunter2-registered")

    log = logging.getLogger("ccapp.test")
    log.info("login with %s", "hunter2-registered", extra={"detail": "pw=hunter2-registered"})
    try:
        raise RuntimeError("rejected hunter2-registered")
    except RuntimeError:
        log.exception("login failed")

    assert "hunter2" not in stream.getvalue()
    first, second = json_lines(stream)
    assert first["msg"] == "login with ***"
    assert first["detail"] == "pw=***"
    assert second["exc"].endswith("RuntimeError: rejected ***")


def test_extra_fields_named_like_secrets_are_always_masked(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("INFO", "text", stream=stream, secrets=SecretRegistry())

    logging.getLogger("ccapp.test").info(
        "connecting", extra={"password": "p1", "secret": "s1", "api_token": "t1", "user": "u1"}
    )

    line = stream.getvalue()
    assert "password=*** secret=*** api_token=*** user=u1" in line


def test_url_passwords_in_messages_are_masked(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("INFO", "json", stream=stream, secrets=SecretRegistry())

    logging.getLogger("ccapp.test").info("database %s", "postgresql+asyncpg://ccapp:pg-pass@db/ccapp")

    assert json_lines(stream)[0]["msg"] == "database postgresql+asyncpg://ccapp:***@db/ccapp"


def test_settings_secrets_are_registered(
    root_logger: logging.Logger, write_config: WriteConfig, minimal_yaml: str
) -> None:
    settings = load_settings(
        write_config(minimal_yaml), {"CCAPP_DATABASE__URL": "postgresql+asyncpg://u:db%2Fpass@db/ccapp"}
    )
    secrets = SecretRegistry()
    register_settings_secrets(settings, secrets)
    stream = io.StringIO()
    setup_logging("INFO", "text", stream=stream, secrets=secrets)

    logging.getLogger("ccapp.test").info("ari-pass ami-pass db/pass")

    assert "ccapp.test: *** *** ***" in stream.getvalue()


def test_setting_up_again_replaces_the_previous_handler(root_logger: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("INFO", "json", stream=first, secrets=SecretRegistry())
    setup_logging("INFO", "text", stream=second, secrets=SecretRegistry())

    logging.getLogger("ccapp.test").info("once")

    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_unknown_level_or_format_is_refused(root_logger: logging.Logger) -> None:
    with pytest.raises(ValueError, match="level"):
        setup_logging("LOUD", "json")
    with pytest.raises(ValueError, match="format"):
        setup_logging("INFO", "xml")


def test_call_logger_keeps_call_context_and_the_call_sites_extra() -> None:
    log = call_logger("call-1", "SIP/x")

    _, kwargs = log.process("m", {"extra": {"digits": mask_digits("1234")}})

    assert kwargs["extra"] == {"call_id": "call-1", "channel": "SIP/x", "digits": "****"}


def test_mask_digits_keeps_only_the_length() -> None:
    assert mask_digits("4111111111111111") == "*" * 16
    assert mask_digits("") == ""
