"""API access: bearer tokens, the principals they stand for, roles, and the JSON errors every API
route shares.

Tokens come from ``http.admin_token``, ``http.tokens`` and each agent's ``token`` / ``token_file``. The
table keeps only SHA-256 digests of them, and a lookup compares the digest of the presented token with
every entry (`hmac.compare_digest`, no early exit), so response time tells nothing about which token
or how much of one matched. Tokens are never logged, echoed or put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Literal

from aiohttp import web
from pydantic import SecretStr

from ccapp.config.settings import Settings
from ccapp.errors import CcappError, ConfigError

log = logging.getLogger(__name__)

Role = Literal["admin", "supervisor", "agent", "read_only"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ADMIN: Role = "admin"
SUPERVISOR: Role = "supervisor"
AGENT: Role = "agent"
READ_ONLY: Role = "read_only"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: ``name`` is the ``http.tokens`` key, ``"admin"``, or the agent's id."""

    name: str
    role: Role
    agent_id: str | None = None


_ERROR_CLASSES: dict[int, type[web.HTTPException]] = {
    cls.status_code: cls
    for cls in (
        web.HTTPBadRequest,
        web.HTTPUnauthorized,
        web.HTTPForbidden,
        web.HTTPNotFound,
        web.HTTPConflict,
        web.HTTPGone,
        web.HTTPUnprocessableEntity,
        web.HTTPInternalServerError,
    )
}


def json_error(status: int, error: str, message: str, **headers: str) -> web.HTTPException:
    """An aiohttp HTTP exception whose body is ``{"error": <error id>, "message": ...}``.

    ``status`` is one of 400, 401, 403, 404, 409, 410, 422, 500.
    """
    return _ERROR_CLASSES[status](
        text=json.dumps({"error": error, "message": message}),
        content_type="application/json",
        headers=headers or None,
    )


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _read_token_file(key: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError([f"{key}: cannot read {path}: {reason}"]) from exc
    if not text:
        raise ConfigError([f"{key}: {path} is empty"])
    return text


def _token_of(key: str, token: SecretStr | None, token_file: Path | None) -> str | None:
    if token is not None:
        return token.get_secret_value()
    if token_file is not None:
        return _read_token_file(f"{key}.token_file", token_file)
    return None


class TokenTable:
    """Token → `Principal`, held as digests. Mutable only through `replace` (the SIGHUP reload)."""

    def __init__(self, principals: Mapping[str, Principal] | None = None) -> None:
        """``principals`` maps a token to its principal (tests build tables this way)."""
        self._entries: tuple[tuple[bytes, Principal], ...] = tuple(
            (_digest(token), principal) for token, principal in (principals or {}).items()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenTable:
        """Every token of the configuration; reads token files now.

        Raises `ConfigError` naming the key of an unreadable or empty file, or of a token that two
        users share (the table could not tell them apart).
        """
        found: list[tuple[str, str, Principal]] = []  # (key, token, principal)
        http = settings.http
        if http.admin_token is not None:
            found.append(("http.admin_token", http.admin_token.get_secret_value(), Principal("admin", ADMIN)))
        for name, spec in http.tokens.items():
            key = f"http.tokens.{name}"
            token = _token_of(key, spec.token, spec.token_file)
            if token is not None:
                found.append((key, token, Principal(name, spec.role)))
        for agent_id, agent in settings.agents.items():
            key = f"agents.{agent_id}"
            token = _token_of(key, agent.token, agent.token_file)
            if token is not None:
                found.append((key, token, Principal(agent_id, AGENT, agent_id)))
        owners: dict[str, str] = {}
        problems = []
        for key, token, _ in found:
            if token in owners:
                problems.append(f"{key}: the same token as {owners[token]}; every user needs their own")
            else:
                owners[token] = key
        if problems:
            raise ConfigError(problems)
        return cls({token: principal for _, token, principal in found})

    def replace(self, other: TokenTable) -> None:
        """Take ``other``'s entries (reload): routes holding this table see the new tokens at once."""
        self._entries = other._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Principal]:
        return iter(principal for _, principal in self._entries)

    def __repr__(self) -> str:
        return f"<TokenTable {len(self._entries)} tokens>"

    def lookup(self, token: str) -> Principal | None:
        """The principal of ``token``, comparing it with every entry in constant time."""
        given = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:
            if hmac.compare_digest(given, digest):
                found = principal  # no break: every lookup does the same work
        return found

    def authenticate(self, request: web.Request) -> Principal:
        """The principal of the request's ``Authorization: Bearer`` token; 401 when missing or bad."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        principal = self.lookup(token) if scheme.lower() == "bearer" and token else None
        if principal is None:
            raise json_error(
                401, "unauthorized", "bad or missing bearer token", **{"WWW-Authenticate": "Bearer"}
            )
        return principal


def require(principal: Principal, *roles: Role) -> None:
    """403 unless the principal has one of ``roles``."""
    if principal.role not in roles:
        raise json_error(403, "forbidden", f"role {principal.role} may not do this")


def map_errors(statuses: Mapping[type[CcappError], int]) -> Callable[[Handler], Handler]:
    """Wrap a handler: a `CcappError` becomes its status from ``statuses`` (first matching class)
    with its error id; any other error becomes a 500 with a reference logged with the traceback."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except web.HTTPException:
                raise
            except CcappError as exc:
                for cls, status in statuses.items():
                    if isinstance(exc, cls):
                        raise json_error(status, exc.error_id, str(exc)) from exc
                raise _internal(request, exc, exc.error_id) from exc
            except Exception as exc:
                raise _internal(request, exc, "internal_error") from exc

        return guarded

    return decorate


def _internal(request: web.Request, exc: Exception, error: str) -> web.HTTPException:
    # The client gets the error id and a reference; the traceback stays in the log.
    ref = uuid.uuid4().hex[:12]
    log.error("API %s %s failed (ref %s): %s", request.method, request.path, ref, error, exc_info=exc)
    return json_error(500, error, f"internal error (ref {ref})")
