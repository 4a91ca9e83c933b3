"""Reloading IVR trees: a valid file swaps them whole, a broken one changes nothing, and a call
already in a tree finishes on the tree (and schedules) it started with."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccapp.app import Application
from ccapp.calls.call import Call
from ccapp.calls.fakes import MemoryJournal
from ccapp.calls.model import Direction, EventKind, Leg, Via
from ccapp.calls.ports import DigitResult
from ccapp.calls.router import UnknownRoute
from ccapp.clock import FakeClock
from ccapp.config.loader import load_settings
from ccapp.ivr.registry import ReloadReport, TreeRegistry
from ccapp.ivr.runner import ScriptedCaller
from ccapp.ivr.tree import Tree

CONFIG = """\
ari: {{username: u, password: p}}
ami: {{username: u, password: p}}
database: {{url: "sqlite+aiosqlite:///{db}", outbox_dir: "{outbox}"}}
ivr:
  sounds_dirs: []
  schedules:
    office: {{tz: UTC, hours: {{{hours}}}}}
  trees:
    main:
      start: menu
      nodes:
        menu:
          type: menu
          prompts: [{prompt}]
          options: {{"1": check}}
        check:
          type: condition
          rules:
            - when: {{schedule: office}}
              next: open
          default: closed
        open: {{type: hangup, prompts: [open-prompt]}}
        closed: {{type: hangup, prompts: [closed-prompt]}}
{extra}"""

ALWAYS_OPEN = 'mon-sun: "00:00-24:00"'
NEVER_OPEN = ""


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    path = tmp_path / "ccapp.yaml"

    def write(prompt: str = "welcome", hours: str = ALWAYS_OPEN, extra: str = "") -> Path:
        path.write_text(
            CONFIG.format(
                db=tmp_path / "ccapp.db", outbox=tmp_path / "outbox", prompt=prompt, hours=hours, extra=extra
            ),
            encoding="utf-8",
        )
        return path

    return write


@pytest.fixture
async def app(write: Callable[..., Path]) -> AsyncIterator[Application]:
    path = write()
    # Application builds its adapters without connecting to Asterisk or the database
    application = Application(load_settings(path, {}), path)
    yield application
    await application.fetcher.close()
    await application.c.db.dispose()


def test_a_valid_change_swaps_the_tree_and_its_version(app: Application, write: Callable[..., Path]) -> None:
    registry = app.ivr.registry
    before = registry.get("main")
    assert before is not None
    old_version = registry.versions()["main"]

    write(prompt="welcome-again")
    ok, lines = app.reload_trees()

    assert (ok, lines) == (True, ["changed: main"])
    after = registry.get("main")
    assert after is not None and after is not before
    assert registry.versions()["main"] != old_version
    assert after.nodes["menu"].prompts == ["welcome-again"]
    assert registry.generation == 2


def test_reloading_an_unchanged_file_says_so(app: Application) -> None:
    tree = app.ivr.registry.get("main")

    assert app.reload_trees() == (True, ["no tree changed"])
    assert app.ivr.registry.get("main") == tree


def test_a_reload_reports_added_and_removed_trees(app: Application, write: Callable[..., Path]) -> None:
    extra = textwrap.indent("second:\n  start: a\n  nodes:\n    a: {type: hangup}\n", " " * 4)
    write(extra=extra)
    assert app.reload_trees() == (True, ["added: second"])
    assert app.ivr.registry.names == ["main", "second"]

    write()
    assert app.reload_trees() == (True, ["removed: second"])
    assert app.ivr.registry.names == ["main"]


def test_a_broken_file_returns_its_problems_and_keeps_the_trees_in_service(
    app: Application, write: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    registry = app.ivr.registry
    tree, versions, schedules = registry.get("main"), registry.versions(), registry.schedules
    path = write(prompt="welcome")
    path.write_text(path.read_text().replace('"1": check', '"1": nowhere'), encoding="utf-8")

    ok, lines = app.reload_trees()

    assert not ok
    assert lines == [
        "ivr.trees.main.nodes.menu.options.1: goes to unknown node 'nowhere' (line 15)",
        "ivr.trees.main.nodes.check: unreachable from the start node 'menu' (line 16)",
        "ivr.trees.main.nodes.open: unreachable from the start node 'menu' (line 22)",
        "ivr.trees.main.nodes.closed: unreachable from the start node 'menu' (line 23)",
    ]
    assert registry.get("main") is tree
    assert registry.versions() == versions
    assert registry.schedules is schedules
    assert registry.generation == 1
    assert "reload rejected, trees unchanged" in caplog.text


def test_a_file_that_is_not_yaml_or_is_gone_changes_nothing(app: Application) -> None:
    assert app.config_path is not None
    tree = app.ivr.registry.get("main")

    app.config_path.write_text("ivr: [unclosed\n", encoding="utf-8")
    ok, lines = app.reload_trees()
    assert not ok
    assert lines[0].startswith(f"{app.config_path}: YAML syntax error at line 2")

    app.config_path.unlink()
    assert app.reload_trees() == (False, [f"{app.config_path}: config file not found"])
    assert app.ivr.registry.get("main") is tree


async def test_without_a_config_path_reload_is_refused(write: Callable[..., Path]) -> None:
    application = Application(load_settings(write(), {}))
    try:
        assert application.reload_trees() == (False, ["no config file to reload from"])
    finally:
        await application.fetcher.close()
        await application.c.db.dispose()


@dataclass
class PausingCaller(ScriptedCaller):
    """Waits at its first input request until the test lets it go on."""

    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    go_on: asyncio.Event = field(default_factory=asyncio.Event)

    async def collect_digits(self, **kwargs: Any) -> DigitResult:
        if not self.go_on.is_set():
            self.waiting.set()
            await self.go_on.wait()
        return await super().collect_digits(**kwargs)


def new_call() -> tuple[Call, MemoryJournal]:
    journal = MemoryJournal()
    call = Call(journal=journal, clock=FakeClock(), direction=Direction.INBOUND, via=Via.ARI, entry="main")
    call.start(Leg("c1", "PJSIP/c1", caller_number="+15550100"))
    return call, journal


async def test_a_call_in_a_tree_finishes_on_its_old_tree_and_schedules_after_a_reload(
    app: Application, write: Callable[..., Path]
) -> None:
    old_version = app.ivr.registry.versions()["main"]
    call, journal = new_call()
    caller = PausingCaller(FakeClock(), keys=["1"])

    async with asyncio.TaskGroup() as group:
        running = group.create_task(app.ivr.handle(call, caller, ("main",)))
        await caller.waiting.wait()
        write(prompt="new-welcome", hours=NEVER_OPEN)
        assert app.reload_trees() == (True, ["changed: main"])
        caller.go_on.set()

    assert running.result() == "hangup"
    nodes = [e.data for e in journal.events if e.kind is EventKind.IVR_NODE]
    assert [n["node"] for n in nodes] == ["menu", "check", "open"]
    assert {n["version"] for n in nodes} == {old_version}
    assert ("play", ["open-prompt"]) in caller.transcript

    # a call that starts now gets the new tree and the new schedule
    call, journal = new_call()
    later = ScriptedCaller(FakeClock(), keys=["1"])
    assert await app.ivr.handle(call, later, ("main",)) == "hangup"
    assert ("play", ["new-welcome"]) in later.transcript
    assert ("play", ["closed-prompt"]) in later.transcript
    new_version = app.ivr.registry.versions()["main"]
    assert {e.data["version"] for e in journal.events if e.kind is EventKind.IVR_NODE} == {new_version}


async def test_an_unknown_tree_is_an_unknown_route(app: Application) -> None:
    call, _ = new_call()

    with pytest.raises(UnknownRoute, match=r"no IVR tree named 'nope' \(trees: main\)"):
        await app.ivr.handle(call, ScriptedCaller(FakeClock()), ("nope",))


def tree(text: str) -> Tree:
    return Tree.model_validate(yaml.safe_load(text))


def test_the_registry_reports_what_a_replace_changed() -> None:
    one = tree("start: a\nnodes: {a: {type: hangup}}")
    two = tree("start: a\nnodes: {a: {type: hangup, cause: 17}}")
    registry = TreeRegistry({"keep": one, "edit": one, "drop": one})

    report = registry.replace({"keep": one, "edit": two, "new": one}, {})

    assert report == ReloadReport(added=["new"], changed=["edit"], removed=["drop"])
    assert str(report) == "added: new; changed: edit; removed: drop"
    assert registry.names == ["edit", "keep", "new"]
    assert registry.get("drop") is None
    assert one.version != two.version
    assert one.version == tree("start: a\nnodes: {a: {type: hangup, cause: 16}}").version


async def test_a_tree_accepted_on_reload_can_transfer_to_a_number(
    app: Application, write: Callable[..., Path]
) -> None:
    second = "second:\n  start: out\n  nodes:\n    out: {type: transfer, number: '+4930123'}\n"
    # the tree and the trunk it needs arrive in the same reload (transfer is a key of ivr, beside trees)
    extra = textwrap.indent(second, " " * 4) + "  transfer: {number_dial: 'PJSIP/{number}@trunk'}\n"
    write(extra=extra)
    assert app.reload_trees() == (True, ["added: second"])
    call, _ = new_call()

    assert await app.ivr.handle(call, ScriptedCaller(FakeClock()), ("second",)) == "transfer"
