"""``ccapp check-config``: validate a configuration before (re)starting or reloading ccapp."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from pathlib import Path

from ccapp.config.acd import acd_notes, servers
from ccapp.config.loader import load_settings
from ccapp.config.redact import redact_url
from ccapp.config.settings import PLACEHOLDER_PASSWORD, Settings
from ccapp.errors import ConfigError
from ccapp.ivr.sounds import SoundDirs

__all__ = ["EXIT_INVALID", "EXIT_OK", "check_config", "redact_url", "summarize"]

EXIT_OK = 0
EXIT_INVALID = 2


def check_config(path: str | Path, environ: Mapping[str, str] | None = None) -> int:
    """Validate ``path`` (with ``CCAPP_*`` overrides) and print the outcome.

    Prints ``ok: <path>`` and a summary on stdout and returns 0, or prints every problem on stderr as
    ``error: <problem>`` and returns 2. Secrets are never printed.
    """
    try:
        settings = load_settings(path, environ)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    print(f"ok: {path}")
    for line in summarize(settings):
        print(f"  {line}")
    return EXIT_OK


def summarize(settings: Settings) -> list[str]:
    """What ccapp will connect to and listen on, passwords redacted."""
    ari, ami, agi, http = settings.ari, settings.ami, settings.agi, settings.http
    lines = [
        f"ari:      {redact_url(ari.url)} (app {ari.app}, user {ari.username})",
        f"ami:      {ami.host}:{ami.port} (user {ami.username})" if ami.enabled else "ami:      disabled",
        f"agi:      listen {agi.host}:{agi.port}" if agi.enabled else "agi:      disabled",
        f"http:     listen {http.host}:{http.port}",
        f"database: {redact_url(settings.database.url)}",
        f"outbox:   {settings.database.outbox_dir}",
        f"fallback: {settings.fallback.context},{settings.fallback.extension},{settings.fallback.priority}",
        f"logging:  {settings.logging.level} {settings.logging.format}",
    ]
    trees = settings.ivr.trees
    for name, tree in sorted(trees.items()):
        lines.append(
            f"ivr tree: {name} ({len(tree.nodes)} nodes, start {tree.start}, version {tree.version})"
        )
    lines.append(f"acd:      {len(settings.queues)} queues, {len(settings.agents)} agents")
    for name, queue in sorted(settings.queues.items()):
        now, relaxed = len(servers(settings, name)), len(servers(settings, name, len(queue.relaxation)))
        later = f", {relaxed} after relaxation" if relaxed != now else ""
        lines.append(
            f"queue:    {name} ({queue.strategy.value}, {now} of {len(settings.agents)} agents can serve "
            f"it{later})"
        )
    for name, camp in sorted(settings.campaigns.items()):
        agents = sum(1 for a in settings.agents.values() if camp.queue in a.queues)
        lines.append(
            f"campaign: {name} ({camp.mode}, queue {camp.queue} with {agents} agents, trunk {camp.trunk}, "
            f"abandon ≤ {camp.abandon_target:.1%} per {camp.abandon_window}, AMD "
            f"{'on, machines: ' + camp.machine if camp.amd else 'off'})"
        )
    if trees and not SoundDirs(settings.ivr.sounds_dirs).dirs:
        lines.append("note: no ivr.sounds_dirs exist on this host; sound prompts were not checked")
    lines.extend(acd_notes(settings))
    exposed = [(name, host) for name, host, on in _listeners(settings) if on and not _is_loopback(host)]
    lines.extend(f"note: {name} listens on {host}, not only on loopback" for name, host in exposed)
    placeholders = [
        name
        for name, secret in (("ari", ari.password), ("ami", ami.password))
        if secret is not None and secret.get_secret_value() == PLACEHOLDER_PASSWORD
    ]
    lines.extend(
        f"note: {name}.password is still the example placeholder; change it" for name in placeholders
    )
    return lines


def _listeners(settings: Settings) -> list[tuple[str, str, bool]]:
    return [("agi", settings.agi.host, settings.agi.enabled), ("http", settings.http.host, True)]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
