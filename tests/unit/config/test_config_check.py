from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ccapp.config.check import check_config, redact_url

WriteConfig = Callable[..., Path]


def test_a_valid_file_prints_ok_and_a_summary_and_exits_0(
    write_config: WriteConfig, minimal_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(minimal_yaml)
    environ = {"CCAPP_DATABASE__URL": "postgresql+asyncpg://ccapp:pg-pass@db:5432/ccapp"}

    assert check_config(path, environ) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[0] == f"ok: {path}"
    assert "http://127.0.0.1:8088" in out
    assert "127.0.0.1:5038" in out
    assert "listen 127.0.0.1:4573" in out
    assert "listen 127.0.0.1:8080" in out
    assert "postgresql+asyncpg://ccapp:***@db:5432/ccapp" in out
    for secret in ("pg-pass", "ari-pass", "ami-pass"):
        assert secret not in out
    assert "note:" not in out


def test_a_public_bind_address_gets_a_note(
    write_config: WriteConfig, minimal_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(minimal_yaml + "http:\n  host: 0.0.0.0\n")

    assert check_config(path, {}) == 0

    assert "note: http listens on 0.0.0.0, not only on loopback" in capsys.readouterr().out


def test_the_example_placeholder_passwords_get_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[3] / "ccapp.yaml.example"

    assert check_config(example, {"CCAPP_AMI__PASSWORD": "real"}) == 0

    out = capsys.readouterr().out
    assert "note: ari.password is still the example placeholder; change it" in out
    assert "ami.password" not in out


def test_an_invalid_file_prints_each_problem_on_stderr_and_exits_2(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config("ari:\n  username: ccapp\n  password: hunter2\n  pasword: x\nami:\n  port: 0\n")

    assert check_config(path, {}) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: ari.pasword: unknown key (line 4)",
        "error: ami.username: field required when enabled (line 5)",
        "error: ami.password: field required when enabled (line 5)",
        "error: ami.port: input should be greater than or equal to 1 (line 6)",
    ]
    assert "hunter2" not in err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config(tmp_path / "absent.yaml", {}) == 2

    assert capsys.readouterr().err == f"error: {tmp_path / 'absent.yaml'}: config file not found\n"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://ccapp:s3cret@db:5432/ccapp", "postgresql+asyncpg://ccapp:***@db:5432/ccapp"),
        ("postgresql+asyncpg://ccapp:p@ss/w0rd@db/ccapp", "postgresql+asyncpg://ccapp:***@db/ccapp"),
        (
            "postgresql+asyncpg://db/ccapp?user=u&password=s3cret",
            "postgresql+asyncpg://db/ccapp?user=u&password=***",
        ),
        ("http://user:pw@host?q=a@b", "http://user:***@host?q=a@b"),
        ("sqlite+aiosqlite:////var/lib/ccapp/ccapp.db", "sqlite+aiosqlite:////var/lib/ccapp/ccapp.db"),
        ("http://user@host:8088", "http://user@host:8088"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url_hides_only_the_password(url: str, expected: str) -> None:
    assert redact_url(url) == expected
