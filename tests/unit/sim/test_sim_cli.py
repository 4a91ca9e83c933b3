"""`ccapp simulate`: a scenario file in, figures out (table or JSON), exit 2 on a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccapp.cli import main

SCENARIO = """
seed: 3
duration_s: 3600
service_level_s: 20
queues:
  - {name: sales, wrap_up_s: 10}
agents:
  - {id: a, count: 4, queues: [sales]}
arrivals:
  - queue: sales
    calls_per_hour: 60
    handle: {exponential: 180}
    patience: {exponential: 120}
"""


def test_a_scenario_file_prints_its_figures_per_queue_and_in_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(SCENARIO)
    assert main(["simulate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["queue", "offered", "answered", "abandoned"]
    assert [line.split()[0] for line in lines[1:3]] == ["sales", "all"]


def test_json_figures_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(SCENARIO)
    assert main(["simulate", str(path), "--format", "json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    total = figures["all"]
    # one queue: the same figures, but occupancy (agents, not queues) only in the total
    assert {k: v for k, v in total.items() if k != "occupancy"} == {
        k: v for k, v in figures["queues"]["sales"].items() if k != "occupancy"
    }
    assert 0 < total["occupancy"] <= 1
    assert total["offered"] > 30
    assert total["answered"] + total["abandoned"] + total["overflowed"] <= total["offered"]


@pytest.mark.parametrize("text", ["x: [", "seed: 1", "- just a list"])
def test_a_bad_scenario_is_one_error_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:")


def test_a_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(tmp_path / "none.yaml")]) == 2
    assert "error:" in capsys.readouterr().err
