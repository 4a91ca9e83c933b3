"""`ccapp simulate SCENARIO.yaml`: run a scenario file through the simulator and print its figures."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import IO

import yaml

from ccapp.sim.distributions import InvalidScenario
from ccapp.sim.engine import run_scenario
from ccapp.sim.journal import SimJournal, batches
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


def run_id_of(text: str) -> str:
    """A run's id from its scenario file: the same file is the same run (storing it twice adds nothing)."""
    return "sim" + hashlib.sha256(text.encode()).hexdigest()[:10]


async def store_run(url: str, journal: SimJournal) -> int:
    """Upgrade the schema, then store the run's records through the journal's SQL path in batches."""
    from ccapp.storage import Database, upgrade
    from ccapp.storage.projection import write_batch

    await upgrade(url)
    database = Database(url)
    stored = 0
    try:
        for batch in batches(journal.records):
            async with database.engine.begin() as conn:
                stored += await write_batch(conn, batch)
    finally:
        await database.dispose()
    return stored


def simulate_command(
    path: Path, fmt: str, out: IO[str], err: IO[str], db_url: str | None = None, run_id: str | None = None
) -> int:
    """Exit 0 with the figures, 2 when the file cannot be read or is not a valid scenario.

    With ``db_url`` the run's journal records are stored in that database (``run_id`` names the
    run; by default a hash of the file) and a line on ``err`` says how many.
    """
    journal = None
    try:
        text = path.read_text()
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise InvalidScenario("the file must hold a mapping (seed, duration_s, queues, agents, arrivals)")
        scenario = scenario_from_mapping(data)
        if db_url is not None:
            journal = SimJournal(run_id or run_id_of(text), scenario)
        result = run_scenario(scenario, journal)
    except (OSError, yaml.YAMLError, InvalidScenario) as exc:
        print(f"error: {path}: {exc}", file=err)
        return 2
    if journal is not None and db_url is not None:
        stored = asyncio.run(store_run(db_url, journal))
        print(
            f"run {journal.run_id}: {stored} of {len(journal.records)} journal events stored "
            f"(from {scenario.start.isoformat()})",
            file=err,
        )
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
