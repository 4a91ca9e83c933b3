"""The `ccapp` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ccapp.errors import ConfigError

EXIT_CONFIG = 2
EXIT_USAGE = 64  # sysexits EX_USAGE: a bad argument


def default_config_path() -> Path:
    """--config, else $CCAPP_CONFIG, else ./ccapp.yaml, else /etc/ccapp/ccapp.yaml."""
    env = os.environ.get("CCAPP_CONFIG")
    if env:
        return Path(env)
    local = Path("ccapp.yaml")
    return local if local.exists() else Path("/etc/ccapp/ccapp.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccapp", description="Contact-center application server for Asterisk"
    )
    parser.add_argument(
        "--config", "-c", type=Path, help="ccapp.yaml (default: $CCAPP_CONFIG or ./ccapp.yaml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="connect to Asterisk and serve calls until SIGTERM")
    check = sub.add_parser("check-config", help="validate ccapp.yaml; exit 2 with every problem named")
    check.add_argument("path", nargs="?", type=Path)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply Alembic migrations up to head")
    calls = sub.add_parser("calls", help="print recent call records with legs and journal")
    calls.add_argument("--limit", type=int, default=10)
    calls.add_argument("--events", action="store_true", help="also print each call's journal")
    recordings = sub.add_parser("recordings", help="call recordings")
    rec_sub = recordings.add_subparsers(dest="recordings_command", required=True)
    rec_sub.add_parser("purge", help="delete recordings older than recording.retention_days")
    ivr = sub.add_parser("ivr", help="IVR trees: walk one offline, report on calls")
    ivr_sub = ivr.add_subparsers(dest="ivr_command", required=True)
    _add_ivr_test(ivr_sub)
    _add_ivr_report(ivr_sub)
    _add_staffing(sub)
    from ccapp.kpi.cli import add_kpi_parser

    add_kpi_parser(sub)
    from ccapp.dialer.cli import add_campaign_parser, add_dnc_parser

    add_campaign_parser(sub)
    add_dnc_parser(sub)
    simulate = sub.add_parser("simulate", help="run a contact-center scenario file through the simulator")
    simulate.add_argument("scenario", type=Path, nargs="?", help="YAML scenario (docs/simulator.md)")
    simulate.add_argument("--format", choices=["table", "json"], default="table")
    simulate.add_argument("--db", help="also store the run's journal in this database URL (schema upgraded)")
    simulate.add_argument(
        "--config", dest="sim_config", type=Path, help="also store the run in this ccapp.yaml's database"
    )
    simulate.add_argument("--run-id", help="the run's name in the journal (default: a hash of the file)")
    from ccapp.sim.cli import add_campaign_arguments

    add_campaign_arguments(simulate)
    rollups = sub.add_parser("rollups", help="KPI roll-ups (per queue and 15-minute slot)")
    rollups_sub = rollups.add_subparsers(dest="rollups_command", required=True)
    rebuild = rollups_sub.add_parser(
        "rebuild", help="recompute the roll-ups from queue_calls and contacts with the kpi thresholds"
    )
    rebuild.add_argument("--db", help="database URL (default: the database of ccapp.yaml)")
    rebuild.add_argument("--config", "-c", type=Path, default=argparse.SUPPRESS, help="ccapp.yaml")
    return parser


def _add_staffing(sub: Any) -> None:
    staffing = sub.add_parser(
        "staffing",
        help="agents needed for a service-level target (Erlang C, and Erlang A with --patience)",
        description="Durations are seconds unless they carry a unit: 180, 180s, 30m, 1h (docs/staffing.md).",
    )
    # Plain strings, checked by ccapp.kpi.staffing, so a bad value gets one line naming the option.
    staffing.add_argument("--calls", help="calls offered per --per period (required), e.g. 100")
    staffing.add_argument("--per", help="length of that period (required), e.g. 30m")
    staffing.add_argument("--aht", help="average handle time (required), e.g. 180")
    staffing.add_argument("--target", help="service-level target PERCENT/SECONDS (required), e.g. 80/20")
    staffing.add_argument("--patience", help="callers' mean patience: adds Erlang A, e.g. 120")
    staffing.add_argument("--shrinkage", help="paid time off the phones, e.g. 30%% (default 0)")
    staffing.add_argument("--format", default="table", help="table (default) or json")
    history = staffing.add_argument_group("from history (docs/staffing.md): agents per interval of a week")
    history.add_argument("--from-history", metavar="queue=NAME", help="forecast from this queue's past calls")
    history.add_argument("--weeks", help="weeks of history before --to (default 4)")
    history.add_argument("--from", help="first day of history (YYYY-MM-DD), instead of --weeks")
    history.add_argument("--to", help="day after the history (YYYY-MM-DD, default today)")
    history.add_argument("--tz", help="time zone of the intervals (default: kpi.time_zone, else UTC)")
    history.add_argument("--next-day", action="store_true", help="only the day after the history")
    history.add_argument("--db", help="database URL (default: the database of ccapp.yaml)")
    history.add_argument("--config", dest="staffing_config", type=Path, help="ccapp.yaml for the database")


def _add_ivr_test(ivr_sub: Any) -> None:
    test = ivr_sub.add_parser(
        "test",
        help="walk a tree without a phone and print path, prompts and outcome",
        description=(
            "Each --input item answers one menu/collect request in order: '1', '4711#', '' or '-' for "
            "silence (timeout), '!1' to press 1 during a barge-in prompt. Each --speech item answers one "
            "speech request ('-' = silence); without one, a speech node takes the next --input item. Write "
            "--input=-,1 when the first item is '-'."
        ),
    )
    test.add_argument("tree")
    test.add_argument("--input", default="", help='keys per input request, comma-separated: "1,4711#,-"')
    test.add_argument("--speech", default="", help='phrases per speech request: "billing,-"')
    test.add_argument("--at", help="local date and time of the call, e.g. 2026-12-25T09:00 (default: now)")
    test.add_argument("--tz", default="UTC", help="IANA time zone of --at (default UTC)")
    test.add_argument("--caller", default="+15550100", help="caller number")
    test.add_argument("--called", default=None, help="dialled number")
    test.add_argument(
        "--http", choices=["real", "fail"], default="real", help="http nodes: real requests or fail"
    )
    test.add_argument("--http-json", help="answer every http node with this JSON instead")
    test.add_argument("--hangup-after", type=int, help="the caller hangs up at this input request (1-based)")
    test.add_argument("--format", choices=["text", "json"], default="text")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path: Path = args.config or default_config_path()
    if args.command == "check-config":
        from ccapp.config import check_config

        return check_config(args.path or path)
    if args.command == "simulate":
        from ccapp.sim.cli import simulate_campaign_command, simulate_command

        if args.campaign:
            return simulate_campaign_command(args, sys.stdout, sys.stderr)
        if args.scenario is None:
            print("error: ccapp simulate needs a scenario file or --campaign", file=sys.stderr)
            return EXIT_USAGE

        db_url = args.db
        if db_url is None and args.sim_config is not None:
            settings_or_exit = _load_or_report(args.sim_config)
            if isinstance(settings_or_exit, int):
                return settings_or_exit
            db_url = settings_or_exit.database.url
        return simulate_command(args.scenario, args.format, sys.stdout, sys.stderr, db_url, args.run_id)
    if args.command == "rollups":
        return _rollups_rebuild(args.db, path)
    if args.command == "kpi":
        from ccapp.kpi.cli import kpi_command

        return kpi_command(args, path, sys.stdout, sys.stderr)
    if args.command == "campaign":
        from ccapp.dialer.cli import campaign_command

        return campaign_command(args, path, sys.stdout, sys.stderr)
    if args.command == "dnc":
        from ccapp.dialer.cli import dnc_command

        return dnc_command(args, path, sys.stdout, sys.stderr)
    if args.command == "staffing":
        from ccapp.kpi.staffing import staffing_command

        if args.from_history is None:
            return staffing_command(vars(args), args.format, sys.stdout, sys.stderr)
        from ccapp.kpi.history import history_command

        if args.db is not None:
            return history_command(vars(args), args.db, sys.stdout, sys.stderr)
        settings = _load_or_report(args.staffing_config or path)
        if isinstance(settings, int):
            return settings
        kpi = settings.kpi
        return history_command(
            vars(args),
            settings.database.url,
            sys.stdout,
            sys.stderr,
            default_zone=kpi.time_zone,
            short_abandon_s=kpi.short_abandon_s,
        )
    from ccapp.config import load_settings

    try:
        settings = load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    from ccapp.logs import register_settings_secrets, setup_logging

    register_settings_secrets(settings)
    setup_logging(settings.logging.level, settings.logging.format)
    if args.command == "run":
        from ccapp.app import run

        return asyncio.run(run(settings, path))
    if args.command == "db":
        from ccapp.storage.migrate import upgrade

        asyncio.run(upgrade(settings.database.url))
        print("database at head")
        return 0
    if args.command == "ivr" and args.ivr_command == "test":
        return _ivr_test(settings, args)
    if args.command == "ivr" and args.ivr_command == "report":
        return _ivr_report(args, settings.database.url)
    if args.command == "recordings":
        from datetime import UTC, datetime

        from ccapp.recording.purge import purge_command

        return asyncio.run(purge_command(settings, datetime.now(UTC)))
    if args.command == "calls":
        from ccapp.report import print_calls

        return asyncio.run(print_calls(settings.database.url, limit=args.limit, events=args.events))
    return 1  # pragma: no cover - argparse rejects unknown commands


def _rollups_rebuild(db_url: str | None, path: Path) -> int:
    """Thresholds from ccapp.yaml (the defaults when --db is given and there is no file)."""
    from ccapp.config.settings import KpiSettings
    from ccapp.kpi.definitions import Thresholds
    from ccapp.storage.kpi_rollup import rollups_command

    kpi = KpiSettings()
    if db_url is None or path.exists():
        settings = _load_or_report(path)
        if isinstance(settings, int):
            return settings
        kpi, db_url = settings.kpi, db_url or settings.database.url
    assert db_url is not None
    thresholds = Thresholds(kpi.sl_threshold_s, kpi.short_abandon_s, kpi.repeat_window_s)
    return rollups_command(db_url, thresholds, sys.stdout)


def _load_or_report(path: Path) -> Any:
    """The settings of ``path``, or `EXIT_CONFIG` after printing every problem."""
    from ccapp.config import load_settings

    try:
        return load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_CONFIG


def _ivr_test(settings: Any, args: argparse.Namespace) -> int:
    import json
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ccapp.ivr.runner import CannedFetcher, dump_json, format_run, run_offline
    from ccapp.ivr.services import TransferSettings
    from ccapp.web.fetcher import AiohttpFetcher

    tree = settings.ivr.trees.get(args.tree)
    if tree is None:
        names = ", ".join(sorted(settings.ivr.trees)) or "none"
        print(f"error: no tree named {args.tree!r} (trees: {names})", file=sys.stderr)
        return EXIT_USAGE
    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"error: --tz {args.tz!r} is not an IANA time zone (e.g. Europe/Berlin)", file=sys.stderr)
        return EXIT_USAGE
    try:
        at = datetime.fromisoformat(args.at).replace(tzinfo=zone) if args.at else datetime.now(zone)
    except ValueError:
        print(f"error: --at {args.at!r} is not a date and time like 2026-12-25T09:00", file=sys.stderr)
        return EXIT_USAGE
    fetcher: Any
    if args.http_json is not None:
        try:
            fetcher = CannedFetcher(answer=json.loads(args.http_json))
        except ValueError:
            print("error: --http-json is not valid JSON", file=sys.stderr)
            return EXIT_USAGE
    elif args.http == "fail":
        fetcher = CannedFetcher(fail="failed on purpose (--http fail)")
    else:
        fetcher = AiohttpFetcher()

    async def walk() -> Any:
        try:
            return await run_offline(
                args.tree,
                tree,
                at=at,
                keys=args.input.split(",") if args.input else [],
                speech=args.speech.split(",") if args.speech else [],
                caller=args.caller,
                called=args.called,
                fetcher=fetcher,
                schedules=settings.ivr.schedules,
                transfer=TransferSettings(settings.ivr.transfer.context, settings.ivr.transfer.number_dial),
                hang_up_after_inputs=args.hangup_after - 1 if args.hangup_after else None,
            )
        finally:
            if isinstance(fetcher, AiohttpFetcher):
                await fetcher.close()

    result = asyncio.run(walk())
    print(dump_json(result) if args.format == "json" else format_run(result, zone))
    return 0


def _argtype(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser raising ValueError so argparse shows its message (and exits 2)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return convert


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{text!r} is not a positive whole number")
    return value


def _add_ivr_report(ivr_sub: Any) -> None:
    from ccapp.ivr.report import parse_when, parse_zone

    report = ivr_sub.add_parser(
        "report",
        help="per-node visits, inputs, timeouts, drop-offs, exits and top paths over a period",
        description="IVR report of the calls started in [--from, --to), dates in the --tz time zone.",
    )
    when = _argtype(parse_when)
    report.add_argument(
        "--from",
        dest="start",
        required=True,
        type=when,
        metavar="DATE",
        help="first day (YYYY-MM-DD) or local time (YYYY-MM-DDTHH:MM), included",
    )
    report.add_argument("--to", dest="end", required=True, type=when, metavar="DATE", help="end, excluded")
    report.add_argument("--tree", help="only this IVR tree (default: every tree)")
    report.add_argument(
        "--tz",
        type=_argtype(parse_zone),
        default=parse_zone("UTC"),
        metavar="ZONE",
        help="IANA time zone of --from and --to, e.g. Europe/Berlin (default UTC)",
    )
    report.add_argument("--format", choices=["table", "json"], default="table")
    report.add_argument("--top", type=_argtype(_positive), default=10, help="paths listed per tree (10)")
    # SUPPRESS: leaving it out must not overwrite a --config given before "ivr".
    report.add_argument("--config", "-c", type=Path, default=argparse.SUPPRESS, help="ccapp.yaml")


def _ivr_report(args: argparse.Namespace, database_url: str) -> int:
    from ccapp.errors import StorageError
    from ccapp.ivr.report import IvrReport, format_table, period, to_json
    from ccapp.storage import Database
    from ccapp.storage.ivr_queries import ivr_report

    try:
        start, end = period(args.start, args.end, args.tz)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    async def load() -> IvrReport:
        db = Database(database_url)
        try:
            return await ivr_report(db, start, end, tree=args.tree, top=args.top)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(load())
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(to_json(report) if args.format == "json" else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
