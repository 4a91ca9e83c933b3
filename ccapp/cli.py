"""The `ccapp` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ccapp.errors import ConfigError

EXIT_CONFIG = 2


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path: Path = args.config or default_config_path()
    if args.command == "check-config":
        from ccapp.config import check_config

        return check_config(args.path or path)
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
    if args.command == "calls":
        from ccapp.report import print_calls

        return asyncio.run(print_calls(settings.database.url, limit=args.limit, events=args.events))
    return 1  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
