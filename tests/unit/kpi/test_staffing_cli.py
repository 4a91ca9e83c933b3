"""`ccapp staffing`: the published example, Erlang A, JSON, and one-line errors for bad input."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from ccapp.cli import main
from ccapp.kpi import staffing

PUBLISHED = ["staffing", "--calls", "100", "--per", "30m", "--aht", "180", "--target", "80/20"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_published_example_prints_14_on_the_phones_and_20_scheduled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, *PUBLISHED, "--shrinkage", "30%")
    assert (code, err) == (0, "")
    assert (
        "Erlang C: 14 agents on the phones, 20 scheduled — P(wait) 17.4 %, SL 88.8 %, ASA 7.8 s, "
        "occupancy 71.4 %"
    ) in out
    assert "traffic 10.00 erlangs" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("agents"))
    rows = [line.split() for line in lines[header + 1 :]]
    assert [int(r[0]) for r in rows] == [12, 13, 14, 15, 16, 17]  # n−2 … n+3
    assert rows[2][:2] == ["14", "20"]
    assert rows[2][-2:] == ["◀", "C"]


def test_needs_no_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--config", "/nonexistent/ccapp.yaml", *PUBLISHED)
    assert code == 0
    assert "14 agents on the phones, 14 scheduled" in out


def test_patience_adds_erlang_a(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *PUBLISHED, "--patience", "2m", "--shrinkage", "30")
    assert code == 0
    assert "Erlang A (mean patience 120 s): 12 agents on the phones, 18 scheduled" in out
    assert "A P(abandon)" in out
    assert any(line.endswith("◀ A") and line.split()[0] == "12" for line in out.splitlines())


def test_json_has_both_models_and_the_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *PUBLISHED, "--patience", "120", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["erlang_c"]["agents"] == 14
    assert doc["erlang_c"]["erlang_c"]["service_level"] == pytest.approx(0.888, abs=0.0005)
    assert doc["erlang_a"]["agents"] == 12
    assert 0 < doc["erlang_a"]["erlang_a"]["p_abandon"] < 0.1
    assert [r["agents"] for r in doc["rows"]] == list(range(10, 18))
    assert doc["rows"][0]["erlang_c"]["asa_s"] is None  # 10 agents for 10 erlangs: the queue never empties


@pytest.mark.parametrize(
    ("change", "option"),
    [
        (["--calls", "many"], "--calls"),
        (["--calls", "0"], "--calls"),
        (["--per", "30x"], "--per"),
        (["--per", "0m"], "--per"),
        (["--aht", "-5"], "--aht"),
        (["--target", "80"], "--target"),
        (["--target", "100/20"], "--target"),
        (["--target", "80/soon"], "--target"),
        (["--shrinkage", "100%"], "--shrinkage"),
        (["--shrinkage", "a lot"], "--shrinkage"),
        (["--patience", "0"], "--patience"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_option(
    capsys: pytest.CaptureFixture[str], change: list[str], option: str
) -> None:
    code, out, err = run(capsys, *PUBLISHED, *change)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: {option}: ")


def test_a_missing_option_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "staffing", "--calls", "100", "--aht", "180", "--target", "80/20")
    assert code == 2
    assert err == "error: --per: missing (it is required)\n"


def test_scheduled_agents_round_up_in_exact_fractions() -> None:
    assert staffing.scheduled(14, Fraction(3, 10)) == 20  # 14 / 0.7 is 20.000000000000004 in floats
    assert staffing.scheduled(15, Fraction(3, 10)) == 22
    assert staffing.scheduled(7, Fraction(0)) == 7


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("180", 180), ("180s", 180), ("30m", 1800), ("30min", 1800), ("1h", 3600), ("1.5h", 5400)],
)
def test_durations_take_a_unit_or_mean_seconds(text: str, seconds: float) -> None:
    assert staffing.parse_duration("--per", text) == seconds


def test_target_reads_percent_and_seconds() -> None:
    assert staffing.parse_target("80/20") == (Fraction(4, 5), 20)
    assert staffing.parse_target("90%/15s") == (Fraction(9, 10), 15)
