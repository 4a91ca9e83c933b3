"""`ccapp simulate SCENARIO.yaml`: run a scenario file through the simulator and print its figures.

`ccapp simulate --campaign --agents N --p 0.3 --hours 8 --pacer ccapp|tapered|progressive`: run one
outbound shift (`ccapp.sim.campaign`, the benchmark shift of docs/pacing.md) and print its figures.
"""

from __future__ import annotations

import argparse
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


def add_campaign_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--campaign`` options of ``ccapp simulate``."""
    from ccapp.sim.campaign import PACERS

    group = parser.add_argument_group("outbound campaign (docs/pacing.md)")
    group.add_argument("--campaign", action="store_true", help="simulate an outbound shift, not a file")
    group.add_argument("--agents", type=int, default=20, help="agents logged in for the shift")
    group.add_argument("--p", dest="p_live", type=float, default=0.3, help="live-answer probability")
    group.add_argument("--hours", type=float, default=8.0, help="shift length (first 10 min warm-up)")
    group.add_argument("--pacer", choices=PACERS, default="ccapp")
    group.add_argument("--seed", type=int, default=1)
    group.add_argument("--target", type=float, default=0.03, help="abandon target (share of live answers)")


def simulate_campaign_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Exit 0 with the shift's figures (table or JSON), 2 when the options cannot make a shift."""
    from ccapp.sim.campaign import CampaignScenario, run_campaign

    try:
        scenario = CampaignScenario(
            agents=args.agents,
            p_live=args.p_live,
            pacer=args.pacer,
            hours=args.hours,
            seed=args.seed,
            target=args.target,
        )
    except InvalidScenario as exc:
        print(f"error: {exc}", file=err)
        return 2
    result = run_campaign(scenario)
    figures = {
        "pacer": scenario.pacer,
        "agents": scenario.agents,
        "p_live": scenario.p_live,
        "hours": scenario.hours,
        "occupancy": result.occupancy,
        "abandon_rate": result.abandon_rate,
        "max_window_abandon": result.max_window_abandon,
        "live_answers": result.live_answers,
        "abandoned": result.abandoned,
        "dials_per_hour": result.dials_per_hour,
    }
    if getattr(args, "format", "table") == "json":
        print(json.dumps(figures, indent=2), file=out)
        return 0
    print(
        f"{scenario.pacer}: {scenario.agents} agents, p = {scenario.p_live:g}, {scenario.hours:g} h "
        f"(first {scenario.warmup_s / 60:g} min warm-up), seed {scenario.seed}",
        file=out,
    )
    print(f"  occupancy          {result.occupancy:.1%}", file=out)
    print(
        f"  abandoned          {result.abandon_rate:.2%} ({result.abandoned} of {result.live_answers})",
        file=out,
    )
    print(f"  worst 24 h window  {result.max_window_abandon:.2%}", file=out)
    print(f"  dials per hour     {result.dials_per_hour:,.0f}", file=out)
    return 0
