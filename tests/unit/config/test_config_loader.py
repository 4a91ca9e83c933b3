from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ccapp.config.loader import load_settings
from ccapp.errors import ConfigError

WriteConfig = Callable[..., Path]
EXAMPLE = Path(__file__).resolve().parents[3] / "ccapp.yaml.example"


def problems_of(path: Path | None, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ or {})
    return caught.value.problems


def test_the_shipped_example_is_valid() -> None:
    settings = load_settings(EXAMPLE, {})

    assert settings.ari.url == "http://127.0.0.1:8088"
    assert settings.ari.password.get_secret_value() == "change-me"
    assert settings.ami.port == 5038
    assert settings.ivr.first.terminator == "#"
    assert settings.database.url == "sqlite+aiosqlite:////var/lib/ccapp/ccapp.db"


def test_a_minimal_file_gets_loopback_binds_and_documented_defaults(
    write_config: WriteConfig, minimal_yaml: str
) -> None:
    settings = load_settings(write_config(minimal_yaml), {})

    assert (settings.agi.host, settings.agi.port) == ("127.0.0.1", 4573)
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert (settings.ami.host, settings.ami.enabled) == ("127.0.0.1", True)
    assert settings.ari.app == "ccapp"
    assert settings.ari.reconnect_max_s == 10
    assert settings.database.outbox_dir == Path("/var/lib/ccapp/outbox")
    assert (settings.fallback.context, settings.fallback.extension, settings.fallback.priority) == (
        "ccapp-fallback",
        "s",
        1,
    )
    assert settings.shutdown.grace_s == 30
    assert (settings.logging.level, settings.logging.format) == ("INFO", "json")
    first = settings.ivr.first
    assert (first.prompt, first.max_digits, first.goodbye) == ("vm-enter-num-to-call", 8, "vm-goodbye")
    assert (first.first_timeout_s, first.inter_digit_timeout_s) == (5, 3)


def test_environment_overrides_nested_keys_and_parses_numbers(
    write_config: WriteConfig, minimal_yaml: str
) -> None:
    environ = {
        "CCAPP_IVR__FIRST__MAX_DIGITS": "5",
        "CCAPP_DATABASE__URL": "postgresql+asyncpg://ccapp:pg-pass@db:5432/ccapp",
        "CCAPP_ARI__PASSWORD": "from-env",
        "CCAPP_AGI__ENABLED": "false",
        "CCAPP_SHUTDOWN__GRACE_S": "2.5",
        "CCAPP_TEST_PG_URL": "not an override: no double underscore",
    }

    settings = load_settings(write_config(minimal_yaml), environ)

    assert settings.ivr.first.max_digits == 5
    assert settings.database.url == "postgresql+asyncpg://ccapp:pg-pass@db:5432/ccapp"
    assert settings.ari.password.get_secret_value() == "from-env"
    assert settings.agi.enabled is False
    assert settings.shutdown.grace_s == 2.5


def test_environment_text_fields_are_taken_verbatim(write_config: WriteConfig, minimal_yaml: str) -> None:
    # As YAML, "0123" is the octal 83, "yes" is True and "#" is a comment.
    environ = {
        "CCAPP_ARI__PASSWORD": "0123",
        "CCAPP_AMI__USERNAME": "yes",
        "CCAPP_IVR__FIRST__TERMINATOR": "#",
        "CCAPP_LOGGING__LEVEL": "debug",
    }

    settings = load_settings(write_config(minimal_yaml), environ)

    assert settings.ari.password.get_secret_value() == "0123"
    assert settings.ami.username == "yes"
    assert settings.ivr.first.terminator == "#"
    assert settings.logging.level == "DEBUG"


def test_without_a_file_the_environment_alone_can_configure_ccapp() -> None:
    environ = {
        "CCAPP_ARI__USERNAME": "u",
        "CCAPP_ARI__PASSWORD": "p",
        "CCAPP_AMI__ENABLED": "false",
    }

    settings = load_settings(None, environ)

    assert settings.ari.username == "u"
    assert settings.ami.enabled is False


def test_password_file_is_read_relative_to_the_config_without_its_newline(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "ari-secret").write_text("s3cret\n", encoding="utf-8")
    path = write_config(
        """\
        ari:
          username: ccapp
          password_file: ari-secret
        ami:
          enabled: false
        """
    )

    settings = load_settings(path, {})

    assert settings.ari.password.get_secret_value() == "s3cret"
    assert settings.ari.password_file == Path("ari-secret")


def test_password_file_from_the_environment_replaces_the_file_password(
    write_config: WriteConfig, minimal_yaml: str, tmp_path: Path
) -> None:
    secret = tmp_path / "ami-secret"
    secret.write_text("from-file\r\n", encoding="utf-8")

    settings = load_settings(write_config(minimal_yaml), {"CCAPP_AMI__PASSWORD_FILE": str(secret)})

    assert settings.ami.password is not None
    assert settings.ami.password.get_secret_value() == "from-file"


def test_an_unreadable_password_file_is_reported_once(write_config: WriteConfig) -> None:
    path = write_config(
        """\
        ari:
          username: ccapp
          password_file: /nonexistent/ari-secret
        ami:
          enabled: false
        """
    )

    assert problems_of(path) == [
        "ari.password_file: cannot read /nonexistent/ari-secret: No such file or directory (line 3)"
    ]


def test_password_and_password_file_together_are_ambiguous(write_config: WriteConfig) -> None:
    path = write_config(
        """\
        ari:
          username: ccapp
          password: one
          password_file: two
        ami:
          enabled: false
        """
    )

    assert problems_of(path) == [
        "ari.password_file: give either password or password_file, not both (line 4)"
    ]


def test_an_unknown_key_is_named_with_its_line(write_config: WriteConfig) -> None:
    path = write_config(
        """\
        ari:
          username: ccapp
          password: x
          pasword: typo
        ami:
          enabled: false
        """
    )

    assert problems_of(path) == ["ari.pasword: unknown key (line 4)"]


def test_a_wrong_type_is_named_with_its_line(write_config: WriteConfig, minimal_yaml: str) -> None:
    path = write_config(minimal_yaml + "http:\n  port: eighty\n")

    assert problems_of(path) == ["http.port: input should be a valid integer (line 8)"]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("http:\n  port: 70000\n", "http.port: input should be less than or equal to 65535"),
        ("agi:\n  port: 0\n", "agi.port: input should be greater than or equal to 1"),
        ("agi:\n  port: true\n", "agi.port: input should be a valid integer"),
        ("shutdown:\n  grace_s: 0\n", "shutdown.grace_s: input should be greater than 0"),
        ("ivr:\n  first:\n    max_digits: 33\n", "ivr.first.max_digits: input should be less than or equal"),
        ("ivr:\n  first:\n    terminator: A\n", "ivr.first.terminator: must be one of 0-9, *, #"),
        ("ivr:\n  first:\n    terminator: #\n", 'quote it in YAML: terminator: "#"'),
        ("database:\n  url: mysql://db/ccapp\n", "database.url: must start with sqlite+aiosqlite://"),
        ("logging:\n  format: xml\n", "logging.format: input should be 'json' or 'text'"),
    ],
)
def test_invalid_values_are_rejected_with_a_reason(
    write_config: WriteConfig, minimal_yaml: str, section: str, expected: str
) -> None:
    problems = problems_of(write_config(minimal_yaml + section))

    assert len(problems) == 1
    assert expected in problems[0]


def test_ari_url_must_be_http_or_https(write_config: WriteConfig, minimal_yaml: str) -> None:
    path = write_config(minimal_yaml)

    assert problems_of(path, {"CCAPP_ARI__URL": "ftp://asterisk"}) == [
        "ari.url: must be an http:// or https:// URL with a host (from CCAPP_ARI__URL)"
    ]
    assert load_settings(path, {"CCAPP_ARI__URL": "https://pbx:8089/"}).ari.url == "https://pbx:8089"


def test_an_empty_password_is_rejected(write_config: WriteConfig, minimal_yaml: str) -> None:
    path = write_config(minimal_yaml)

    assert problems_of(path, {"CCAPP_ARI__PASSWORD": ""}) == [
        "ari.password: must not be empty (from CCAPP_ARI__PASSWORD)"
    ]


def test_missing_credentials_are_named_at_their_section_line(write_config: WriteConfig) -> None:
    path = write_config(
        """\
        http:
          port: 8081
        ari:
          url: http://pbx:8088
        ami:
          port: 5038
        """
    )

    assert problems_of(path) == [
        "ari.username: field required (line 3)",
        "ari.password: field required (line 3)",
        "ami.username: field required when enabled (line 5)",
        "ami.password: field required when enabled (line 5)",
    ]


def test_an_absent_ari_section_is_reported_by_key() -> None:
    assert problems_of(None, {"CCAPP_AMI__ENABLED": "false"}) == [
        "ari.username: field required",
        "ari.password: field required",
    ]


def test_disabled_ami_needs_no_credentials(write_config: WriteConfig) -> None:
    path = write_config("ari:\n  username: u\n  password: p\nami:\n  enabled: false\n")

    assert load_settings(path, {}).ami.username is None


def test_every_problem_is_reported_at_once_in_file_order(write_config: WriteConfig) -> None:
    path = write_config(
        """\
        ari:
          username: ccapp
          password: x
          colour: blue
        ami:
          enabled: false
        http:
          port: 0
        ivr:
          first:
            max_digits: many
        """
    )

    assert problems_of(path, {"CCAPP_AGI__PORT": "none"}) == [
        "ari.colour: unknown key (line 4)",
        "http.port: input should be greater than or equal to 1 (line 8)",
        "ivr.first.max_digits: input should be a valid integer (line 11)",
        "agi.port: input should be a valid integer (from CCAPP_AGI__PORT)",
    ]


def test_an_unknown_section_from_the_environment_names_the_variable(
    write_config: WriteConfig, minimal_yaml: str
) -> None:
    assert problems_of(write_config(minimal_yaml), {"CCAPP_AIR__URL": "x"}) == [
        "air: unknown key (from CCAPP_AIR__URL)"
    ]


def test_a_duplicate_key_is_reported(write_config: WriteConfig, minimal_yaml: str) -> None:
    path = write_config(minimal_yaml + "http:\n  port: 8081\n  port: 8082\n")

    assert problems_of(path) == ["http.port: duplicate key (line 9, first at line 8)"]


def test_a_yaml_syntax_error_gives_line_and_column(write_config: WriteConfig) -> None:
    path = write_config("ari:\n  username: ccapp\n password: x\n")

    [problem] = problems_of(path)

    assert problem.startswith(f"{path}: YAML syntax error at line 3, column 2:")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    assert problems_of(path) == [f"{path}: config file not found"]


def test_a_top_level_that_is_not_a_mapping_is_rejected(write_config: WriteConfig) -> None:
    path = write_config("- ari\n- ami\n")

    assert problems_of(path) == [f"{path}: the top level must be a mapping of sections (line 1)"]


def test_secrets_never_appear_in_problems(write_config: WriteConfig, tmp_path: Path) -> None:
    path = write_config(
        """\
        ari:
          username: ccapp
          password: [hunter2-ari]
        ami:
          password: 12345678
        database:
          url: mysql://ccapp:hunter2-db@db/ccapp
        """
    )

    problems = problems_of(path, {"CCAPP_HTTP__PORT": "hunter2-env"})
    text = "\n".join(problems)

    assert "ari.password: input should be a valid string (line 3)" in problems
    assert "ami.password: input should be a valid string (line 5)" in problems
    for secret in ("hunter2", "12345678"):
        assert secret not in text


def test_a_yaml_error_does_not_quote_the_line_holding_a_password(write_config: WriteConfig) -> None:
    path = write_config('ari:\n  username: ccapp\n  password: "hunter2-open\n')

    [problem] = problems_of(path)

    assert "YAML syntax error" in problem
    assert "hunter2" not in problem
