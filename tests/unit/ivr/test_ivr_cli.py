"""`ccapp ivr test`: walk a configured tree from the command line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccapp.cli import EXIT_CONFIG, EXIT_USAGE, main

EXAMPLE = Path(__file__).resolve().parents[3] / "ccapp.yaml.example"
SOUND_DIRS = "  sounds_dirs:\n    - /usr/share/asterisk/sounds/en\n    - /var/lib/asterisk/sounds/en\n"
BALANCE = '{"balance": "1250.50", "currency": "euro"}'
#: the sample tree during business hours: balance lookup with account 4711 and PIN 8642, then goodbye
BALANCE_RUN = ["--at", "2026-12-21T10:00", "--tz", "Europe/Berlin", "--input", "3,4711#,8642,2"]


@pytest.fixture(autouse=True)
def _root_logger() -> Iterator[None]:
    """`main` installs its log handler on the root logger; take it away again after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped example, with unique passwords (they are redacted from logs) and no sound check."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert SOUND_DIRS in text
    text = text.replace(SOUND_DIRS, "  sounds_dirs: []\n").replace("change-me", "cli-test-secret")
    path = tmp_path / "ccapp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def ivr_test(config: Path, *args: str) -> int:
    return main(["-c", str(config), "ivr", "test", "main", *args])


def test_text_output_shows_each_step_the_path_and_the_outcome(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ivr_test(config, *BALANCE_RUN, "--http-json", BALANCE) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "10:00:00  → welcome [play]"
    assert "10:00:00  → main_menu [menu]" in lines
    assert "10:00:00      dtmf input '3'" in lines
    assert "10:00:01      set account = '4711'" in lines
    assert "      recording.paused (sensitive input)" in out
    assert "dtmf input '****'" in out
    assert "set pin = '****'" in out
    assert "set balance = '1250.50'" in out
    assert lines[-3:] == [
        "10:00:03  exit at goodbye: hangup",
        "path: welcome > hours > main_menu > account > pin > lookup > say_balance > after_balance > goodbye",
        "outcome: hangup",
    ]
    assert "8642" not in out


def test_json_output_carries_events_transcript_and_masked_variables(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ivr_test(config, *BALANCE_RUN, "--http-json", BALANCE, "--format", "json") == 0

    out = capsys.readouterr().out
    run = json.loads(out)
    assert run["outcome"] == "hangup"
    assert run["path"][-1] == "goodbye"
    assert run["variables"] == {"account": "4711", "pin": "****", "balance": "1250.50", "currency": "euro"}
    kinds = [e["kind"] for e in run["events"]]
    assert kinds[0] == "ivr.node"
    assert kinds[-1] == "ivr.exit"
    assert {"call.started", "leg.added"}.isdisjoint(kinds)
    # journal times are UTC, as on a real call (the text output shows --tz local time)
    assert run["events"][-1]["at"] == "2026-12-21T09:00:03+00:00"
    assert run["transcript"][0] == ["answer", None]
    # the real PIN was typed (the transcript is the caller's side) but never journaled
    assert "8642" not in json.dumps(run["events"])


def test_outside_business_hours_the_sample_tree_takes_a_message(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--at", "2026-12-25T10:00", "--tz", "Europe/Berlin", "--caller", "+4930999"]

    assert ivr_test(config, *args) == 0

    out = capsys.readouterr().out
    assert "path: welcome > hours > closed" in out
    assert "exit at closed: voicemail → general" in out


def test_speech_items_answer_speech_nodes(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--at",
        "2026-12-21T10:00",
        "--tz",
        "Europe/Berlin",
        "--input",
        "4,-,-,-",
        "--speech",
        "pizza,support",
    ]

    assert ivr_test(config, *args) == 0

    out = capsys.readouterr().out
    assert "no match None (try 1)" in out
    assert "speech input 'support' (confidence 1.0)" in out
    assert "path: welcome > hours > main_menu > speech_menu > support_menu > goodbye" in out


def test_http_fail_takes_the_on_error_branch(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ivr_test(config, *BALANCE_RUN[:-1], "3,4711#,8642,2,2", "--http", "fail") == 0

    out = capsys.readouterr().out
    assert "error: failed on purpose (--http fail)" in out
    assert "→ lookup_failed [play]" in out
    assert "path: welcome > hours > main_menu > account > pin > lookup > lookup_failed > billing_queue" in out


def test_hangup_after_ends_the_run_at_that_input_request(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ivr_test(config, *BALANCE_RUN, "--hangup-after", "3") == 0

    out = capsys.readouterr().out
    # the third request is the PIN: recording resumes and the exit is journaled there
    assert "recording.resumed (sensitive input done)" in out
    assert "exit at pin: caller_hangup" in out
    assert out.splitlines()[-1] == "outcome: caller_hangup"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--tz", "Mars/Olympus"],
            "error: --tz 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)",
        ),
        (["--at", "next tuesday"], "error: --at 'next tuesday' is not a date and time like 2026-12-25T09:00"),
        (["--http-json", "{nope"], "error: --http-json is not valid JSON"),
    ],
)
def test_bad_arguments_exit_with_a_usage_error(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert ivr_test(config, *args) == EXIT_USAGE

    captured = capsys.readouterr()
    assert captured.err.strip() == message
    assert captured.out == ""


def test_an_unknown_tree_lists_the_trees(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-c", str(config), "ivr", "test", "mian"]) == EXIT_USAGE

    assert capsys.readouterr().err.strip() == "error: no tree named 'mian' (trees: main)"


def test_a_broken_config_exits_2_with_its_problems(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(config.read_text().replace("next: hours", "next: hourz"), encoding="utf-8")

    assert ivr_test(config) == EXIT_CONFIG

    err = capsys.readouterr().err
    assert err.startswith("error: ivr.trees.main.nodes.welcome.next: goes to unknown node 'hourz' (line ")
