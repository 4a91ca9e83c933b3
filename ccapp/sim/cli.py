"""`ccapp simulate SCENARIO.yaml`: run a scenario file through the simulator and print its figures."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import IO

import yaml

from ccapp.sim.distributions import InvalidScenario
from ccapp.sim.engine import run_scenario
from ccapp.sim.model import Summary, scenario_from_mapping

_COLUMNS = (
    ("offered", "offered", "{}"),
    ("answered", "answered", "{}"),
    ("abandoned", "abandoned", "{}"),
    ("service_level", "SL", "{:.1%}"),
    ("asa_s", "ASA s", "{:.1f}"),
    ("abandon_rate", "abandon", "{:.1%}"),
    ("aht_s", "AHT s", "{:.1f}"),
    ("occupancy", "occupancy", "{:.1%}"),
)


def _row(name: str, summary: Summary) -> list[str]:
    values = asdict(summary)
    return [name] + ["—" if values[key] is None else form.format(values[key]) for key, _, form in _COLUMNS]


def simulate_command(path: Path, fmt: str, out: IO[str], err: IO[str]) -> int:
    """Exit 0 with the figures, 2 when the file cannot be read or is not a valid scenario."""
    try:
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict):
            raise InvalidScenario("the file must hold a mapping (seed, duration_s, queues, agents, arrivals)")
        result = run_scenario(scenario_from_mapping(data))
    except (OSError, yaml.YAMLError, InvalidScenario) as exc:
        print(f"error: {path}: {exc}", file=err)
        return 2
    if fmt == "json":
        figures = {
            "all": asdict(result.summary),
            "queues": {q: asdict(s) for q, s in result.by_queue.items()},
        }
        print(json.dumps(figures, indent=2), file=out)
        return 0
    rows = [_row(q, s) for q, s in sorted(result.by_queue.items())] + [_row("all", result.summary)]
    header = ["queue"] + [title for _, title, _ in _COLUMNS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ),
            file=out,
        )
    print(f"({result.events} events)", file=out)
    return 0
