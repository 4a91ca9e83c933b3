"""`ccapp ivr test` reproduces, offline, each path the end-to-end tests take on the real Asterisk
(tests/e2e/test_ivr_e2e.py and test_ivr_speech_e2e.py), on the same sample tree of ccapp.yaml.example.

Offline a key typed over a barge-in prompt is written ``!1``; each other entry answers one input request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccapp.cli import main

SAMPLE = Path(__file__).resolve().parents[3] / "ccapp.yaml.example"
AT = ["--at", "2026-12-21T10:00", "--tz", "Europe/Berlin", "--caller", "+15550100"]
BALANCE = json.dumps({"balance": "1250.50", "currency": "euro"})


def walk(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["-c", str(SAMPLE), "ivr", "test", "main", *AT, "--format", "json", *args]) == 0
    run: dict[str, object] = json.loads(capsys.readouterr().out)
    return run


@pytest.mark.parametrize(
    ("name", "args", "path", "outcome"),
    [
        (
            "sales, key over the welcome",
            ["--input", "!1,2"],
            ["welcome", "hours", "main_menu", "to_sales", "sales_queue", "queue_busy", "goodbye"],
            "hangup",
        ),
        (
            "support sub-menu",
            ["--input", "!2,1,2"],
            [
                *("welcome", "hours", "main_menu", "support_menu"),
                *("topic_internet", "support_queue", "queue_busy", "goodbye"),
            ],
            "hangup",
        ),
        (
            "invalid key, then sales",
            ["--input", "!9,1,2"],
            ["welcome", "hours", "main_menu", "to_sales", "sales_queue", "queue_busy", "goodbye"],
            "hangup",
        ),
        (
            "three timeouts, then the operator",
            ["--input=-,-,-"],
            ["welcome", "hours", "main_menu", "operator"],
            "transfer",
        ),
        (
            "three invalid keys in the support menu",
            ["--input", "!2,9,9,9"],
            ["welcome", "hours", "main_menu", "support_menu", "goodbye"],
            "hangup",
        ),
        (
            "balance with PIN",
            ["--input", "!3,4711#,8352,2", "--http-json", BALANCE],
            [
                *("welcome", "hours", "main_menu", "account", "pin"),
                *("lookup", "say_balance", "after_balance", "goodbye"),
            ],
            "hangup",
        ),
        (
            "speech: billing",
            ["--input", "!4", "--speech", "billing"],
            ["welcome", "hours", "main_menu", "speech_menu", "account"],
            "caller_hangup",
        ),
        (
            "speech: nonsense three times, then the operator",
            ["--input", "!4", "--speech", "purple monkey dishwasher,what time is it,banana"],
            ["welcome", "hours", "main_menu", "speech_menu", "operator"],
            "transfer",
        ),
    ],
)
def test_the_end_to_end_paths_offline(
    capsys: pytest.CaptureFixture[str], name: str, args: list[str], path: list[str], outcome: str
) -> None:
    run = walk(capsys, *args, *(["--hangup-after", "3"] if outcome == "caller_hangup" else []))
    assert run["path"][: len(path)] == path, name  # type: ignore[index]
    assert run["outcome"] == outcome, name


def test_the_pin_is_masked_offline_too(capsys: pytest.CaptureFixture[str]) -> None:
    run = walk(capsys, "--input", "!3,4711#,8352,2", "--http-json", BALANCE)
    assert "8352" not in json.dumps(run["events"])
    assert run["variables"]["pin"] == "****"  # type: ignore[index]
