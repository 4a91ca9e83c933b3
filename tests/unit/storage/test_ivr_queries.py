"""The IVR report queries on SQLite, checked against a hand-built journal (see `ivr_scenario`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccapp.ivr.report import to_dict
from ccapp.storage import Database
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
