"""Dialer HTTP API: campaigns (view, start, pause, stop), the preview offer of an agent (read, accept,
skip) and do-not-call lists (list, add, remove). A thin adapter over the dialer service, in the way of
`ccapp.web.acd_api`: authenticate, check the role, validate the body strictly, call one command.

The service raises `NotPermitted` both for an unknown campaign and for an illegal transition; the
API tells them apart by looking the campaign up first (404 ``campaign_unknown``), so what is left is
a 409. ``GET …/preview`` answers 204 when the agent has no offer: an agent desktop polls it, and
"nothing to preview now" is not an error. Do-not-call entries are all parsed before the store is
asked: one unreadable entry is a 422 naming its position, and nothing is added or removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Protocol

import phonenumbers
from aiohttp import web
from pydantic import Field, field_validator

from ccapp.acd.errors import NotPermitted
from ccapp.dialer.dnc import BadEntry, parse_entry
from ccapp.dialer.phone import PhoneNumberError
from ccapp.errors import CcappError
from ccapp.web.acd_api import EmptyBody, _Body, iso, read_body
from ccapp.web.auth import (
    ADMIN,
    AGENT,
    READ_ONLY,
    SUPERVISOR,
    Handler,
    TokenTable,
    json_error,
    map_errors,
    require,
)

STATUSES: Mapping[type[CcappError], int] = {NotPermitted: 409}

#: how many journal entries ``GET /campaigns/{id}`` shows
EVENTS_SHOWN = 20
#: at most this many numbers in one do-not-call request (one transaction in the store)
MAX_NUMBERS = 10_000
ACTIONS = ("start", "pause", "stop")

_CAMPAIGN_ID = re.compile(r"[\w.-]{1,64}")
_AGENT_ID = re.compile(r"[\w.-]{1,64}")
#: ``global``, ``sales``, ``campaign:sales`` (the dialer's per-campaign list)
_LIST_NAME = re.compile(r"[\w.-]{1,64}(:[\w.-]{1,64})?")

# '#' is left out on purpose: the store drops what follows it as a comment, so a number written
# with one would be checked here as one number and stored as another.
Number = Annotated[str, Field(pattern=r"^[0-9A-Za-z+*() ./-]{1,40}$")]


class DialerRecords(Protocol):
    """What the API reads and writes of the dialer's store (`ccapp.storage.dialer_store.DialerStore`)."""

    async def campaign_events(
        self, campaign_id: str, *, limit: int | None = None
    ) -> list[dict[str, Any]]: ...

    async def dnc_add(
        self, list_name: str, entries: list[str], *, source: str | None, default_region: str
    ) -> tuple[int, list[BadEntry]]: ...

    async def dnc_remove(self, list_name: str, entries: list[str], *, default_region: str) -> int: ...

    async def dnc_entries(self, list_name: str | None = None) -> list[tuple[str, str]]: ...


class DialerCommands(Protocol):
    """What the API needs of the dialer (`ccapp.dialer.service.DialerService`)."""

    @property
    def runs(self) -> Mapping[str, object]:
        """The configured campaigns, by id."""
        ...

    @property
    def store(self) -> DialerRecords: ...

    async def command(self, campaign_id: str, action: str, *, actor: str | None) -> str: ...

    async def view(self, campaign_id: str) -> dict[str, Any]: ...

    def preview_of(self, agent_id: str) -> dict[str, Any] | None: ...

    async def preview_accept(self, agent_id: str) -> dict[str, Any]: ...

    async def preview_skip(self, agent_id: str) -> None: ...


# the ACD API's strict body base (read_body's bound), so both APIs refuse unknown keys and coercion alike
class DncBody(_Body):
    """Numbers in any form ``phonenumbers`` reads (national ones in ``default_region``), or
    international ``+digits*`` prefixes."""

    numbers: Annotated[list[Number], Field(min_length=1, max_length=MAX_NUMBERS)]
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not a region phonenumbers knows (ISO 3166 alpha-2, e.g. US, GB)")
        return value


def check_numbers(body: DncBody) -> None:
    """422 naming the first unreadable entries by position (never quoting them); the store would
    otherwise add the readable ones and drop the rest."""
    problems = []
    for index, number in enumerate(body.numbers):
        try:
            parse_entry(number, default_region=body.default_region)
        except PhoneNumberError as exc:
            problems.append(f"numbers.{index}: {exc.reason}")
        except ValueError:
            problems.append(f"numbers.{index}: bad prefix (expected '+', 1 to 15 digits, then '*')")
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise json_error(422, "invalid_body", "; ".join(problems[:5]) + more + "; nothing changed")


def event_json(event: Mapping[str, Any]) -> dict[str, Any]:
    return {**event, "at": iso(event["at"])}


class _DialerApi:
    def __init__(self, dialer: DialerCommands, tokens: TokenTable) -> None:
        self._dialer = dialer
        self._tokens = tokens

    # -- access -------------------------------------------------------------------------------------

    def _campaign_id(self, request: web.Request) -> str:
        campaign_id = request.match_info["campaign_id"]
        if not _CAMPAIGN_ID.fullmatch(campaign_id) or campaign_id not in self._dialer.runs:
            raise json_error(404, "campaign_unknown", "no such campaign")
        return campaign_id

    def _agent_access(self, request: web.Request) -> str:
        """The path's agent id, for the agent itself, a supervisor or an admin."""
        principal = self._tokens.authenticate(request)
        agent_id = request.match_info["agent_id"]
        if not (principal.role == AGENT and principal.agent_id == agent_id):
            require(principal, ADMIN, SUPERVISOR)
        if not _AGENT_ID.fullmatch(agent_id):
            raise json_error(404, "agent_unknown", "no such agent")
        return agent_id

    @staticmethod
    def _list_name(request: web.Request, *, creating: bool = False) -> str:
        name = request.match_info["list"]
        if not _LIST_NAME.fullmatch(name):
            if creating:  # adding creates the list: its name is part of the request, like a body
                raise json_error(
                    422, "invalid_body", "list: letters, digits, '.', '_', '-', optionally 'kind:name'"
                )
            raise json_error(404, "dnc_list_unknown", "no such do-not-call list")
        return name

    # -- campaigns ----------------------------------------------------------------------------------

    async def list_campaigns(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        views = [await self._dialer.view(campaign_id) for campaign_id in sorted(self._dialer.runs)]
        return web.json_response({"campaigns": views})

    async def get_campaign(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        campaign_id = self._campaign_id(request)
        view = await self._dialer.view(campaign_id)
        events = await self._dialer.store.campaign_events(campaign_id, limit=EVENTS_SHOWN)
        return web.json_response({"campaign": view, "events": [event_json(e) for e in events]})

    def command(self, action: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            principal = self._tokens.authenticate(request)
            require(principal, ADMIN, SUPERVISOR)
            campaign_id = self._campaign_id(request)
            await read_body(request, EmptyBody)
            status = await self._dialer.command(campaign_id, action, actor=principal.name)
            return web.json_response({"campaign_id": campaign_id, "status": status})

        handler.__name__ = f"campaign_{action}"
        return handler

    # -- preview ------------------------------------------------------------------------------------

    async def get_preview(self, request: web.Request) -> web.StreamResponse:
        offer = self._dialer.preview_of(self._agent_access(request))
        if offer is None:
            return web.Response(status=204)
        return web.json_response({"preview": offer})

    async def accept_preview(self, request: web.Request) -> web.StreamResponse:
        agent_id = self._agent_access(request)
        await read_body(request, EmptyBody)
        return web.json_response({"preview": await self._dialer.preview_accept(agent_id)})

    async def skip_preview(self, request: web.Request) -> web.StreamResponse:
        agent_id = self._agent_access(request)
        await read_body(request, EmptyBody)
        await self._dialer.preview_skip(agent_id)
        return web.Response(status=204)

    # -- do-not-call --------------------------------------------------------------------------------

    async def list_dnc(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        name = self._list_name(request)
        entries = [entry for _, entry in await self._dialer.store.dnc_entries(name)]
        return web.json_response({"list": name, "entries": entries})

    async def add_dnc(self, request: web.Request) -> web.StreamResponse:
        principal = self._tokens.authenticate(request)
        require(principal, ADMIN, SUPERVISOR)
        name = self._list_name(request, creating=True)
        body = await read_body(request, DncBody)
        check_numbers(body)
        added, _ = await self._dialer.store.dnc_add(
            name, list(body.numbers), source=f"api:{principal.name}", default_region=body.default_region
        )
        return web.json_response({"list": name, "added": added})

    async def remove_dnc(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR)
        name = self._list_name(request)
        body = await read_body(request, DncBody)
        check_numbers(body)
        removed = await self._dialer.store.dnc_remove(
            name, list(body.numbers), default_region=body.default_region
        )
        return web.json_response({"list": name, "removed": removed})


def add_dialer_routes(app: web.Application, dialer: DialerCommands, tokens: TokenTable) -> None:
    """Add the ``/api/v1`` campaign, preview and do-not-call routes. ``tokens`` is read on every
    request, so a `TokenTable.replace` on reload takes effect at once."""
    api = _DialerApi(dialer, tokens)
    guard: Callable[[Handler], Handler] = map_errors(STATUSES)
    campaign = "/api/v1/campaigns/{campaign_id}"
    preview = "/api/v1/agents/{agent_id}/preview"
    dnc = "/api/v1/dnc/{list}"
    router = app.router
    router.add_get("/api/v1/campaigns", guard(api.list_campaigns))
    router.add_get(campaign, guard(api.get_campaign))
    for action in ACTIONS:
        router.add_post(f"{campaign}/{action}", guard(api.command(action)))
    router.add_get(preview, guard(api.get_preview))
    router.add_post(f"{preview}/accept", guard(api.accept_preview))
    router.add_post(f"{preview}/skip", guard(api.skip_preview))
    router.add_get(dnc, guard(api.list_dnc))
    router.add_post(dnc, guard(api.add_dnc))
    router.add_delete(dnc, guard(api.remove_dnc))
