"""The IVR report queries on SQLite, checked against a hand-built journal (see `ivr_scenario`)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccapp.config import load_settings
from ccapp.ivr.report import to_dict
from ccapp.ivr.runner import run_offline
from ccapp.storage import Database, SqlJournal
from ccapp.storage.ivr_queries import PathFold, ivr_report
from tests.unit.storage.ivr_scenario import END, EXPECTED, START, store_scenario, store_synthetic


@pytest.fixture
async def scenario_db(db: Database, outbox_dir: Path) -> Database:
    await store_scenario(db, outbox_dir)
    return db


async def test_report_of_the_scenario_matches_the_hand_computed_numbers(scenario_db: Database) -> None:
    report = await ivr_report(scenario_db, START, END)
    assert to_dict(report) == EXPECTED


async def test_a_caller_hanging_up_in_a_node_is_a_drop_off_there(scenario_db: Database) -> None:
    report = await ivr_report(scenario_db, START, END, tree="main")
    drop_offs = {n.node: n.drop_offs for n in report.trees[0].nodes}
    assert drop_offs == {"welcome": 1, "menu": 1, "pin": 0, "sales": 0, "support": 0}


async def test_period_counts_calls_by_start_with_the_end_excluded(scenario_db: Database) -> None:
    # c9 starts one second before 2026-11-01 00:00 Berlin, c10 exactly then, c11 exactly at the end.
    report = await ivr_report(scenario_db, START - timedelta(seconds=1), START + timedelta(seconds=1))
    assert report.calls_started == 2
    assert [p.path for p in report.trees[0].paths] == ["welcome > menu > sales", "welcome > menu > support"]
    report = await ivr_report(scenario_db, END, END + timedelta(hours=1))
    assert report.calls_started == 1
    assert report.trees[0].nodes[0].exits == {"error": 1}


async def test_tree_filter_keeps_only_that_trees_events(scenario_db: Database) -> None:
    report = await ivr_report(scenario_db, START, END, tree="after_hours")
    assert [t.tree for t in report.trees] == ["after_hours"]
    assert to_dict(report)["trees"] == EXPECTED["trees"][:1]
    assert report.calls_started == 9  # every call started in the period, IVR or not
    assert (await ivr_report(scenario_db, START, END, tree="nope")).trees == []


async def test_top_limits_the_listed_paths_not_the_distinct_count(scenario_db: Database) -> None:
    report = await ivr_report(scenario_db, START, END, tree="main", top=2)
    main = report.trees[0]
    assert [(p.path, p.calls) for p in main.paths] == [("welcome > menu", 2), ("welcome > menu > support", 2)]
    assert main.distinct_paths == 5


async def test_an_empty_period_gives_an_empty_report(scenario_db: Database) -> None:
    report = await ivr_report(scenario_db, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    assert (report.calls_started, report.trees) == (0, [])


def test_path_fold_keeps_each_trees_nodes_of_a_call_apart() -> None:
    fold = PathFold()
    for call_id, tree, node in [
        ("a", "main", "welcome"),
        ("a", "billing", "start"),
        ("a", "main", "menu"),
        ("b", "main", "welcome"),
    ]:
        fold.add(call_id, tree, node, "play", 1)
    fold.finish()
    assert fold.paths == {("main", "welcome > menu"): 1, ("billing", "start"): 1, ("main", "welcome"): 1}
    assert fold.tree_calls == {"main": 2, "billing": 1}
    assert fold.depth[("main", "menu")] == 1
    assert fold.versions == {"main": {"1"}, "billing": {"1"}}


@pytest.mark.slow
async def test_twenty_thousand_calls_on_sqlite(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    start, end = await store_synthetic(db, 20_000)
    t0 = time.perf_counter()
    report = await ivr_report(db, start, end)
    elapsed = time.perf_counter() - t0
    main = report.trees[0]
    assert report.calls_started == main.calls == 20_000
    assert sum(p.calls for p in main.paths) == 20_000
    assert main.nodes[0].node == "welcome" and main.nodes[0].entries == 20_000
    with capsys.disabled():
        print(f"\nIVR report, 20,000 calls, SQLite: {elapsed:.3f} s")


async def test_calls_walked_by_the_ivr_engine_are_reported_as_it_walked_them(
    db: Database, outbox_dir: Path
) -> None:
    # The sample tree of ccapp.yaml.example, walked offline by the real engine with scripted callers.
    settings = load_settings(Path(__file__).parents[3] / "ccapp.yaml.example")
    scripts: list[tuple[list[str], int | None]] = [
        (["1"], None),  # sales, given back by the queue, then goodbye
        (["2", "1"], None),  # support menu, internet
        ([], None),  # three timeouts, then the operator
        (["9", "9", "9"], None),  # three invalid keys, then the operator
        (["3"], 1),  # hangs up while entering the account number
        (["2"], 2),  # hangs up in the support menu
    ]
    journal = SqlJournal(db, outbox_dir)
    await journal.start()
    runs = []
    for keys, hang_up in scripts:
        run = await run_offline(
            "main",
            settings.ivr.trees["main"],
            at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
            keys=keys,
            schedules=settings.ivr.schedules,
            hang_up_after_inputs=hang_up,
        )
        for event in run.events:
            journal.append(event)
        runs.append(run)
    await journal.flush()
    await journal.stop()

    report = await ivr_report(db, START, END)
    (main,) = report.trees
    assert main.calls == len(scripts)
    assert {p.path: p.calls for p in main.paths} == Counter(" > ".join(run.path) for run in runs)
    nodes = {n.node: n for n in main.nodes}
    assert {name: n.drop_offs for name, n in nodes.items() if n.drop_offs} == {
        "account": 1,
        "support_menu": 1,
    }
    assert (nodes["main_menu"].timeouts, nodes["main_menu"].no_matches) == (3, 3)
    assert main.outcomes == {"hangup": 2, "caller_hangup": 2, "transfer": 2}
    assert main.nodes[0].node == "welcome" and nodes["welcome"].entries == 6
    assert main.versions == [settings.ivr.trees["main"].version]
