"""`ccapp campaign start|pause|stop|status` and `ccapp dnc add|remove|import|list` via the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ccapp.cli import main
from ccapp.storage import Database, upgrade
from ccapp.storage.dialer_store import DialerStore


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    asyncio.run(upgrade(url))
    return url


def ccapp(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def events(url: str, campaign: str) -> list[tuple[str, str | None, object]]:
    async def load() -> list[tuple[str, str | None, object]]:
        db = Database(url)
        try:
            return [
                (e["action"], e["actor"], e["detail"])
                for e in await DialerStore(db).campaign_events(campaign)
            ]
        finally:
            await db.dispose()

    return asyncio.run(load())


def test_start_pause_and_stop_are_journalled_with_the_actor(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        ccapp(capsys, "campaign", "start", "sales", "--db", url, "--actor", "ann")[1]
        == "campaign sales: running\n"
    )
    assert (
        ccapp(capsys, "campaign", "start", "sales", "--db", url)[1] == "campaign sales is already running\n"
    )
    assert (
        ccapp(capsys, "campaign", "pause", "sales", "--db", url, "--actor", "bob", "--reason", "lunch")[0]
        == 0
    )
    assert ccapp(capsys, "campaign", "stop", "sales", "--db", url, "--actor", "ann")[0] == 0
    assert events(url, "sales") == [
        ("start", "ann", None),
        ("pause", "bob", {"reason": "lunch"}),
        ("stop", "ann", None),
    ]


def test_only_a_running_campaign_can_be_paused(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ccapp(capsys, "campaign", "pause", "sales", "--db", url)
    assert code == 1 and "cannot pause campaign sales: it is not in the database" in err
    ccapp(capsys, "campaign", "stop", "sales", "--db", url)
    code, _, err = ccapp(capsys, "campaign", "pause", "sales", "--db", url)
    assert (code, err) == (1, "error: cannot pause campaign sales: it is stopped, not running\n")


def test_status_shows_the_state_lead_counts_and_journal(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "l.csv"
    leads.write_text("phone\n2125550101\n2125550102\n", encoding="utf-8")
    assert (
        ccapp(capsys, "campaign", "import", str(leads), "--campaign", "sales", "--db", url, "--actor", "ann")[
            0
        ]
        == 0
    )
    ccapp(capsys, "campaign", "start", "sales", "--db", url, "--actor", "ann")
    code, out, _ = ccapp(capsys, "campaign", "status", "sales", "--db", url)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("campaign sales: running since ") and lines[0].endswith(
        " by ann (mode —, queue —)"
    )
    assert lines[1] == "leads: new 2, scheduled 0, dialling 0, done 0, exhausted 0, dnc 0 (total 2)"
    assert [line.split()[2] for line in lines[3:]] == ["import", "start"]
    code, out, _ = ccapp(capsys, "campaign", "status", "sales", "--db", url, "--format", "json")
    data = json.loads(out)
    assert (data["campaign"]["status"], data["leads"], data["events"][0]["detail"]["imported"]) == (
        "running",
        {"new": 2},
        2,
    )
    code, _, err = ccapp(capsys, "campaign", "status", "nope", "--db", url)
    assert code == 1 and "no campaign 'nope' in the database" in err


def test_dnc_entries_are_added_imported_listed_and_removed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        ccapp(capsys, "dnc", "add", "global", "(212) 555-0101", "+1 900*", "--db", url)[1]
        == "global: 2 added, 0 bad\n"
    )
    listing = tmp_path / "dnc.txt"
    listing.write_text(
        "# from the regulator\n+12125550102\nnot a number\n\n+44 20 7946 0000\n", encoding="utf-8"
    )
    code, out, err = ccapp(
        capsys, "dnc", "import", "campaign:sales", str(listing), "--db", url, "--source", "reg"
    )
    assert (code, out) == (0, "campaign:sales: 2 added, 1 bad\n")
    assert err == "line 3: unparseable number: 'not a number'\n"
    code, out, _ = ccapp(capsys, "dnc", "list", "--db", url)
    assert out.splitlines() == [
        "campaign:sales\t+12125550102",
        "campaign:sales\t+442079460000",
        "global\t+12125550101",
        "global\t+1900*",
    ]
    assert ccapp(capsys, "dnc", "list", "global", "--db", url)[1].count("\n") == 2
    assert ccapp(capsys, "dnc", "remove", "global", "212-555-0101", "+12125550199", "--db", url)[1] == (
        "global: 1 removed, 1 not in the list\n"
    )
    code, _, err = ccapp(capsys, "dnc", "remove", "global", "+1900*", "junk", "--db", url)
    assert code == 2 and "nothing removed" in err
    code, _, err = ccapp(capsys, "dnc", "add", "global", "junk", "--db", url)
    assert code == 1 and "entry 1: unparseable number: 'junk'" in err
