"""``ccapp campaign …`` and ``ccapp dnc …``: lead import, campaign start/pause/stop/status, the AMD
report, and do-not-call lists.

Everything goes through the database (`DialerStore`): the running service polls each campaign's status
every second, so starting or pausing from here needs no API token. The database URL comes from ``--db``
or the configuration; a campaign's default region and zone from its ``campaigns:`` entry (flags win).
Exit status: 0 done, 1 nothing imported / database or file error, 2 bad configuration or option.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ccapp.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from ccapp.storage.dialer_store import DialerStore

EXIT_ERROR = 1
EXIT_USAGE = 2
DEFAULT_REGION = "US"
DEFAULT_ZONE = "America/New_York"
T = TypeVar("T")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL (default: database.url of the config)")
    # SUPPRESS: leaving it out must not overwrite a --config given before the command.
    parser.add_argument("--config", "-c", type=Path, default=argparse.SUPPRESS, help="ccapp.yaml")


def _actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", help="who did it, for the campaign journal (default: the login name)")


def add_campaign_parser(sub: Any) -> None:
    """The ``campaign`` command group."""
    campaign = sub.add_parser("campaign", help="outbound campaigns: import leads, start/pause/stop, reports")
    csub = campaign.add_subparsers(dest="campaign_command", required=True)
    imp = csub.add_parser(
        "import",
        help="import a lead CSV into a campaign (all or nothing; every row left out is reported)",
        description="Leads are numbers in E.164 after import; docs/campaigns.md, 'Leads import'.",
    )
    imp.add_argument("file", type=Path, help="CSV with a header line (UTF-8, a BOM is fine)")
    imp.add_argument("--campaign", required=True, help="campaign id (its key under campaigns:)")
    imp.add_argument("--map", metavar="KEY=COLUMN,...", help="columns for phone, zone, name, id")
    imp.add_argument("--default-region", help="country of national numbers (default: the campaign's, US)")
    imp.add_argument("--default-zone", help="zone of leads with no known zone (default: the campaign's)")
    imp.add_argument("--report", type=Path, metavar="FILE.csv", help="write every row left out here")
    imp.add_argument("--encoding", default="utf-8-sig", help="file encoding (default UTF-8, BOM or not)")
    _actor(imp)
    _common(imp)
    for action, verb in (("start", "start dialling"), ("pause", "pause"), ("stop", "stop")):
        cmd = csub.add_parser(action, help=f"{verb} a campaign (the service picks it up within a second)")
        cmd.add_argument("name")
        cmd.add_argument("--reason", help="why, kept in the campaign journal")
        _actor(cmd)
        _common(cmd)
    status = csub.add_parser("status", help="a campaign's status, lead counts and recent journal")
    status.add_argument("name")
    status.add_argument("--events", type=int, default=10, help="journal entries shown (10)")
    status.add_argument("--format", choices=["table", "json"], default="table")
    _common(status)
    amd = csub.add_parser(
        "amd-report", help="AMD verdicts vs agents' dispositions: false machine/human rates"
    )
    amd.add_argument("--campaign", help="only this campaign")
    amd.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD, UTC), included")
    amd.add_argument("--to", dest="end", metavar="DATE", help="end day (YYYY-MM-DD, UTC), excluded")
    amd.add_argument("--truth", type=Path, metavar="FILE.csv", help="phone,truth (human|machine) rows")
    amd.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _common(amd)


def add_dnc_parser(sub: Any) -> None:
    """The ``dnc`` command group."""
    dnc = sub.add_parser("dnc", help="do-not-call lists (checked by the dialer before every dial)")
    dsub = dnc.add_subparsers(dest="dnc_command", required=True)
    for action in ("add", "remove"):
        cmd = dsub.add_parser(action, help=f"{action} numbers or +prefix* entries")
        cmd.add_argument("list", help="list name, e.g. global or campaign:sales")
        cmd.add_argument("entries", nargs="+", metavar="NUMBER")
        _dnc_common(cmd)
    imp = dsub.add_parser("import", help="add a file's entries (one per line, # comments)")
    imp.add_argument("list")
    imp.add_argument("file", type=Path)
    _dnc_common(imp)
    ls = dsub.add_parser("list", help="print entries (list name, entry)")
    ls.add_argument("list", nargs="?")
    _common(ls)


def _dnc_common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--default-region", default=DEFAULT_REGION, help="country of national numbers (US)")
    cmd.add_argument("--source", help="where the entries come from (kept with each entry)")
    _common(cmd)


# -- plumbing -----------------------------------------------------------------------------------------


def _settings(args: argparse.Namespace, config_path: Path, stderr: TextIO) -> tuple[str, Any] | int:
    """(database URL, settings or None): ``--db`` alone needs no configuration file."""
    explicit = getattr(args, "config", None)
    if args.db and explicit is None:
        return args.db, None
    from ccapp.config import load_settings

    try:
        settings = load_settings(explicit or config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=stderr)
        return EXIT_USAGE
    return args.db or settings.database.url, settings


def _campaign_settings(settings: Any, name: str) -> Any:
    return (getattr(settings, "campaigns", None) or {}).get(name)


def _run(url: str, work: Callable[[DialerStore], Awaitable[T]]) -> T:
    """Run ``work(store)`` on a `DialerStore` over ``url``, disposing of the engine afterwards."""
    from ccapp.storage.db import Database
    from ccapp.storage.dialer_store import DialerStore

    async def main() -> T:
        db = Database(url)
        try:
            return await work(DialerStore(db))
        finally:
            await db.dispose()

    return asyncio.run(main())


def _who(args: argparse.Namespace) -> str | None:
    if getattr(args, "actor", None):
        return str(args.actor)
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (containers): the journal says nobody
        return None


def campaign_command(args: argparse.Namespace, config_path: Path, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``ccapp campaign …``."""
    found = _settings(args, config_path, stderr)
    if isinstance(found, int):
        return found
    url, settings = found
    name: str | None = args.name if hasattr(args, "name") else getattr(args, "campaign", None)
    if settings is not None and name and args.campaign_command != "amd-report":
        configured = getattr(settings, "campaigns", None)
        if configured is not None and name not in configured:
            known = ", ".join(sorted(configured)) or "none"
            print(f"error: no campaign {name!r} in the configuration (campaigns: {known})", file=stderr)
            return EXIT_USAGE
    try:
        if args.campaign_command == "import":
            from ccapp.dialer.import_cli import import_command

            campaign = _campaign_settings(settings, args.campaign)
            return import_command(args, url, campaign, _who(args), stdout, stderr)
        if args.campaign_command in ("start", "pause", "stop"):
            return _set_status(args, url, stdout, stderr)
        if args.campaign_command == "status":
            return _status(args, url, stdout, stderr)
        if args.campaign_command == "amd-report":
            from ccapp.dialer.import_cli import amd_report_command

            return amd_report_command(args, url, stdout, stderr)
    except (StorageError, SQLAlchemyError, OSError) as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_ERROR
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


_TARGET = {"start": "running", "pause": "paused", "stop": "stopped"}


def _set_status(args: argparse.Namespace, url: str, stdout: TextIO, stderr: TextIO) -> int:
    """Start (from any status), stop (from any), pause (only a running campaign); a no-op when the
    campaign already has the status, so scripts may repeat a command."""
    target = _TARGET[args.campaign_command]

    async def change(store: DialerStore) -> tuple[bool, str | None]:
        current = await store.campaign_status(args.name)
        if current == target or (target == "paused" and current != "running"):
            return False, current
        detail = {"reason": args.reason} if args.reason else None
        now = datetime.now(UTC)
        await store.set_campaign_status(args.name, target, at=now, actor=_who(args), detail=detail)
        return True, current

    changed, before = _run(url, change)
    if changed:
        print(f"campaign {args.name}: {target}", file=stdout)
        return 0
    if before == target:
        print(f"campaign {args.name} is already {target}", file=stdout)
        return 0
    state = f"it is {before}" if before is not None else "it is not in the database"
    print(f"error: cannot pause campaign {args.name}: {state}, not running", file=stderr)
    return EXIT_ERROR


def _status(args: argparse.Namespace, url: str, stdout: TextIO, stderr: TextIO) -> int:
    async def load(store: DialerStore) -> dict[str, Any] | None:
        rows = [c for c in await store.campaigns() if c["campaign_id"] == args.name]
        if not rows:
            return None
        return {
            "campaign": rows[0],
            "leads": await store.lead_counts(args.name),
            "events": await store.campaign_events(args.name, limit=args.events),
        }

    data = _run(url, load)
    if data is None:
        print(
            f"error: no campaign {args.name!r} in the database (import leads or start it first)", file=stderr
        )
        return EXIT_ERROR
    if args.format == "json":
        stdout.write(json.dumps(data, indent=2, default=_iso) + "\n")
        return 0
    stdout.write(format_status(data))
    return 0


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "—"


def format_status(data: dict[str, Any]) -> str:
    """The status text: campaign line, leads per status, journal (oldest first)."""
    from ccapp.storage.dialer_store import LEAD_STATUSES

    row, leads = data["campaign"], data["leads"]
    status = row["status"] or "stopped"
    by = f" by {row['updated_by']}" if row.get("updated_by") else ""
    since = _when(row.get("status_at") or row["created_at"])
    lines = [
        f"campaign {row['campaign_id']}: {status} since {since}{by}"
        f" (mode {row['mode'] or '—'}, queue {row['queue'] or '—'})",
        "leads: "
        + ", ".join(f"{s} {leads.get(s, 0)}" for s in LEAD_STATUSES)
        + f" (total {sum(leads.values())})",
    ]
    if data["events"]:
        lines.append("journal:")
    for event in data["events"]:
        detail = f"  {json.dumps(event['detail'], sort_keys=True)}" if event["detail"] else ""
        lines.append(f"  {_when(event['at'])}  {event['action']:<8} {event['actor'] or '—'}{detail}")
    return "\n".join(lines) + "\n"


def dnc_command(args: argparse.Namespace, config_path: Path, stdout: TextIO, stderr: TextIO) -> int:
    """Run ``ccapp dnc …``."""
    found = _settings(args, config_path, stderr)
    if isinstance(found, int):
        return found
    url = found[0]
    try:
        if args.dnc_command == "list":
            for name, entry in _run(url, lambda store: store.dnc_entries(args.list)):
                print(f"{name}\t{entry}", file=stdout)
            return 0
        if args.dnc_command == "remove":
            try:
                removed = _run(
                    url,
                    lambda store: store.dnc_remove(
                        args.list, args.entries, default_region=args.default_region
                    ),
                )
            except ValueError as exc:
                print(f"error: {exc}; nothing removed", file=stderr)
                return EXIT_USAGE
            print(
                f"{args.list}: {removed} removed, {len(args.entries) - removed} not in the list", file=stdout
            )
            return 0
        entries = args.entries if args.dnc_command == "add" else _lines(args.file)
        added, bad = _run(
            url,
            lambda store: store.dnc_add(
                args.list, entries, source=args.source, default_region=args.default_region
            ),
        )
    except (StorageError, SQLAlchemyError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_ERROR
    where = "line" if args.dnc_command == "import" else "entry"
    for item in bad:
        print(f"{where} {item.line}: {item.reason}: {item.raw!r}", file=stderr)
    print(f"{args.list}: {added} added, {len(bad)} bad", file=stdout)
    return EXIT_ERROR if bad and not added else 0


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()
