"""`ccapp simulate --campaign`: one outbound shift from the command line, table or JSON."""

from __future__ import annotations

import json

import pytest

from ccapp.cli import main


def test_a_campaign_shift_prints_occupancy_and_abandonment(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["simulate", "--campaign", "--agents", "3", "--p", "0.3", "--hours", "0.2", "--pacer", "progressive"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("progressive: 3 agents, p = 0.3, 0.2 h")
    assert "occupancy" in out
    assert "abandoned          0.00% (0 of" in out


def test_a_campaign_shift_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "simulate",
        "--campaign",
        "--agents",
        "5",
        "--hours",
        "0.5",
        "--pacer",
        "ccapp",
        "--format",
        "json",
    ]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["pacer"] == "ccapp"
    assert 0.0 < figures["occupancy"] <= 1.0
    assert figures["dials_per_hour"] > 0


def test_impossible_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--campaign", "--agents", "0"]) == 2
    assert "agents must be >= 1" in capsys.readouterr().err


def test_simulate_without_a_file_or_campaign_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 64
    assert "--campaign" in capsys.readouterr().err
