"""ACD HTTP API: agents (state, disposition, admin edits), queues, live calls (transfer, supervise,
recording pause). A thin adapter over `AcdCommands`: authenticate, check the role, validate the body
strictly, call one command, render the view.

Statuses: 400 bad JSON, 401 no or bad token, 403 role or ownership refused, 404 unknown agent or
call, 409 not possible now, 422 invalid body or definition, 500 anything else (error id and a
reference; the traceback stays in the log). Every error body is ``{"error": <id>, "message": ...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ccapp.acd.commands import CODE_WORD, MAX_NOTES, AcdCommands, AgentView, QueueView, TransferView
from ccapp.acd.errors import (
    InvalidAcdConfig,
    InvalidDisposition,
    InvalidTransition,
    NotPermitted,
    UnknownAgent,
    UnknownCall,
)
from ccapp.acd.model import MAX_LEVEL, MIN_LEVEL, Agent
from ccapp.errors import CcappError
from ccapp.web.auth import (
    ADMIN,
    AGENT,
    READ_ONLY,
    SUPERVISOR,
    Principal,
    Role,
    TokenTable,
    json_error,
    map_errors,
    require,
)

STATUSES: Mapping[type[CcappError], int] = {
    UnknownAgent: 404,
    UnknownCall: 404,
    InvalidTransition: 409,
    NotPermitted: 409,
    InvalidAcdConfig: 422,
    InvalidDisposition: 422,
}

_AGENT_ID = re.compile(r"[\w.-]{1,64}")
_CALL_ID = re.compile(r"[\w.-]{1,128}")
DIAL_STRING = r"^[A-Za-z][\w-]*/\S+$"

Reason = Annotated[str, Field(pattern=r"^[\w .-]{1,40}$")]
Word = Annotated[str, Field(pattern=CODE_WORD)]
Name = Annotated[str, Field(pattern=r"^[\w.-]{1,64}$")]
CallId = Annotated[str, Field(pattern=r"^[\w.-]{1,128}$")]
DialString = Annotated[str, Field(max_length=200, pattern=DIAL_STRING)]
Level = Annotated[int, Field(ge=MIN_LEVEL, le=MAX_LEVEL)]
Target = Annotated[str, Field(pattern=r"^(queue:[\w.-]{1,64}|agent:[\w.-]{1,64}|number:\+?[0-9]{1,20})$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EmptyBody(_Body):
    """Actions without parameters: the body is empty or ``{}``."""


class LoginBody(_Body):
    ready: bool = True
    reason: Reason | None = None


class NotReadyBody(_Body):
    reason: Reason


class DispositionBody(_Body):
    call_id: CallId
    outcome: Word
    resolved: bool | None = None
    topic: Word | None = None
    notes: Annotated[str, Field(max_length=MAX_NOTES)] | None = None
    #: outbound: whether the intended person was reached (RPC)
    right_party: bool | None = None
    #: outbound: the person asked to be called back then (ISO 8601 with an offset)
    callback_at: AwareDatetime | None = None


class AgentBody(_Body):
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    endpoint: DialString
    skills: dict[Name, Level] = Field(default_factory=dict)
    queues: list[Name] = Field(default_factory=list)


class TransferBody(_Body):
    type: Literal["blind", "attended"]
    target: Target


class SuperviseBody(_Body):
    mode: Literal["listen", "whisper", "barge"]
    endpoint: DialString


B = TypeVar("B", bound=_Body)


async def read_body(request: web.Request, model: type[B]) -> B:
    """The request body as ``model``: 400 when it is not JSON, 422 (naming the key) when it does not
    fit. An empty body counts as ``{}``."""
    raw = await request.read()
    data: Any = {}
    if raw.strip():
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise json_error(400, "bad_json", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise json_error(422, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise json_error(422, "invalid_body", describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """One clause per problem, naming the key; never quotes the rejected value."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "extra_forbidden":
            parts.append(f"{key}: unknown key")
        elif error["type"] == "missing":
            parts.append(f"{key}: required")
        else:
            parts.append(f"{key}: {error['msg']}")
    return "; ".join(parts)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC; a naive datetime is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def agent_json(view: AgentView) -> dict[str, Any]:
    return {**asdict(view), "state_since": iso(view.state_since)}


def queue_json(view: QueueView) -> dict[str, Any]:
    return asdict(view)


def transfer_json(view: TransferView) -> dict[str, Any]:
    return asdict(view)


def _path_id(request: web.Request, key: str, pattern: re.Pattern[str], error: str) -> str:
    value = request.match_info[key]
    if not pattern.fullmatch(value):
        raise json_error(404, error, f"no such {key.removesuffix('_id')}")
    return value


class _AcdApi:
    def __init__(self, commands: AcdCommands, tokens: TokenTable) -> None:
        self._commands = commands
        self._tokens = tokens

    # -- access -------------------------------------------------------------------------------------

    def _agent_access(self, request: web.Request, *roles: Role) -> tuple[Principal, str]:
        """The principal and the path's agent id: the agent itself, or one of ``roles``."""
        principal = self._tokens.authenticate(request)
        agent_id = request.match_info["agent_id"]
        if not (principal.role == AGENT and principal.agent_id == agent_id):
            require(principal, *roles)
        return principal, _path_id(request, "agent_id", _AGENT_ID, "agent_unknown")

    def _call_access(self, request: web.Request, *roles: Role) -> tuple[Principal, str]:
        """The principal and the path's call id: the agent on that call, or one of ``roles``."""
        principal = self._tokens.authenticate(request)
        call_id = request.match_info["call_id"]
        if principal.role == AGENT:
            if not self._on_call(principal, call_id):
                raise json_error(403, "forbidden", "an agent may act only on its own call")
        else:
            require(principal, *roles)
        return principal, _path_id(request, "call_id", _CALL_ID, "call_unknown")

    def _on_call(self, principal: Principal, call_id: str) -> bool:
        if principal.agent_id is None:
            return False
        try:
            return self._commands.agent_call(principal.agent_id) == call_id
        except UnknownAgent:  # a token left over from an agent since removed
            return False

    # -- agents -------------------------------------------------------------------------------------

    async def list_agents(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        return web.json_response({"agents": [agent_json(view) for view in self._commands.agents()]})

    async def get_agent(self, request: web.Request) -> web.StreamResponse:
        _, agent_id = self._agent_access(request, ADMIN, SUPERVISOR, READ_ONLY)
        return web.json_response({"agent": agent_json(self._commands.agent(agent_id))})

    async def login(self, request: web.Request) -> web.StreamResponse:
        _, agent_id = self._agent_access(request, ADMIN, SUPERVISOR)
        body = await read_body(request, LoginBody)
        view = await self._commands.login(agent_id, ready=body.ready, reason=body.reason)
        return web.json_response({"agent": agent_json(view)})

    async def ready(self, request: web.Request) -> web.StreamResponse:
        _, agent_id = self._agent_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        return web.json_response({"agent": agent_json(await self._commands.set_ready(agent_id))})

    async def not_ready(self, request: web.Request) -> web.StreamResponse:
        _, agent_id = self._agent_access(request, ADMIN, SUPERVISOR)
        body = await read_body(request, NotReadyBody)
        view = await self._commands.set_not_ready(agent_id, body.reason)
        return web.json_response({"agent": agent_json(view)})

    async def logout(self, request: web.Request) -> web.StreamResponse:
        _, agent_id = self._agent_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        return web.json_response({"agent": agent_json(await self._commands.logout(agent_id))})

    async def disposition(self, request: web.Request) -> web.StreamResponse:
        principal, agent_id = self._agent_access(request, ADMIN)
        body = await read_body(request, DispositionBody)
        if principal.role == AGENT and self._commands.agent_call(agent_id) != body.call_id:
            raise json_error(409, NotPermitted.error_id, "the agent is not on (or wrapping up) that call")
        await self._commands.disposition(
            agent_id,
            body.call_id,
            outcome=body.outcome,
            resolved=body.resolved,
            topic=body.topic,
            notes=body.notes,
            right_party=body.right_party,
            callback_at=body.callback_at,
        )
        return web.Response(status=204)

    async def put_agent(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN)
        agent_id = request.match_info["agent_id"]
        if not _AGENT_ID.fullmatch(agent_id):
            raise json_error(422, "invalid_body", "agent_id: letters, digits, '.', '_', '-' (1-64)")
        body = await read_body(request, AgentBody)
        agent = Agent(
            agent_id=agent_id,
            name=body.name or agent_id,
            endpoint=body.endpoint,
            skills=dict(body.skills),
            queues=frozenset(body.queues),
        )
        return web.json_response({"agent": agent_json(await self._commands.upsert_agent(agent))})

    async def delete_agent(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN)
        agent_id = _path_id(request, "agent_id", _AGENT_ID, "agent_unknown")
        await read_body(request, EmptyBody)
        await self._commands.remove_agent(agent_id)
        return web.Response(status=204)

    # -- queues -------------------------------------------------------------------------------------

    async def list_queues(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        return web.json_response({"queues": [queue_json(view) for view in self._commands.queues()]})

    # -- calls --------------------------------------------------------------------------------------

    async def transfer(self, request: web.Request) -> web.StreamResponse:
        principal, call_id = self._call_access(request, ADMIN, SUPERVISOR)
        body = await read_body(request, TransferBody)
        by = principal.agent_id or principal.name
        view = await self._commands.transfer(call_id, kind=body.type, target=body.target, by=by)
        return web.json_response({"transfer": transfer_json(view)})

    async def complete_transfer(self, request: web.Request) -> web.StreamResponse:
        _, call_id = self._call_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        return web.json_response({"transfer": transfer_json(await self._commands.complete_transfer(call_id))})

    async def cancel_transfer(self, request: web.Request) -> web.StreamResponse:
        _, call_id = self._call_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        return web.json_response({"transfer": transfer_json(await self._commands.cancel_transfer(call_id))})

    async def supervise(self, request: web.Request) -> web.StreamResponse:
        principal = self._tokens.authenticate(request)
        require(principal, ADMIN, SUPERVISOR)
        call_id = _path_id(request, "call_id", _CALL_ID, "call_unknown")
        body = await read_body(request, SuperviseBody)
        leg_id = await self._commands.supervise(
            call_id, mode=body.mode, endpoint=body.endpoint, supervisor=principal.name
        )
        return web.json_response({"call_id": call_id, "mode": body.mode, "leg_id": leg_id})

    async def start_recording(self, request: web.Request) -> web.StreamResponse:
        principal, call_id = self._call_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        await self._commands.start_recording(call_id, reason=f"api:{principal.name}")
        return web.Response(status=204)

    async def pause_recording(self, request: web.Request) -> web.StreamResponse:
        principal, call_id = self._call_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        await self._commands.pause_recording(call_id, reason=f"api:{principal.name}")
        return web.Response(status=204)

    async def resume_recording(self, request: web.Request) -> web.StreamResponse:
        principal, call_id = self._call_access(request, ADMIN, SUPERVISOR)
        await read_body(request, EmptyBody)
        await self._commands.resume_recording(call_id, reason=f"api:{principal.name}")
        return web.Response(status=204)


def add_acd_routes(app: web.Application, commands: AcdCommands, tokens: TokenTable) -> None:
    """Add the ``/api/v1`` agent, queue and call routes. ``tokens`` is read on every request, so a
    `TokenTable.replace` on reload takes effect at once."""
    api = _AcdApi(commands, tokens)
    guard = map_errors(STATUSES)
    agent = "/api/v1/agents/{agent_id}"
    call = "/api/v1/calls/{call_id}"
    router = app.router
    router.add_get("/api/v1/agents", guard(api.list_agents))
    router.add_get(agent, guard(api.get_agent))
    router.add_post(f"{agent}/login", guard(api.login))
    router.add_post(f"{agent}/ready", guard(api.ready))
    router.add_post(f"{agent}/not_ready", guard(api.not_ready))
    router.add_post(f"{agent}/logout", guard(api.logout))
    router.add_post(f"{agent}/disposition", guard(api.disposition))
    router.add_put("/api/v1/admin/agents/{agent_id}", guard(api.put_agent))
    router.add_delete("/api/v1/admin/agents/{agent_id}", guard(api.delete_agent))
    router.add_get("/api/v1/queues", guard(api.list_queues))
    router.add_post(f"{call}/transfer", guard(api.transfer))
    router.add_post(f"{call}/transfer/complete", guard(api.complete_transfer))
    router.add_post(f"{call}/transfer/cancel", guard(api.cancel_transfer))
    router.add_post(f"{call}/supervise", guard(api.supervise))
    router.add_post(f"{call}/recording/start", guard(api.start_recording))
    router.add_post(f"{call}/recording/pause", guard(api.pause_recording))
    router.add_post(f"{call}/recording/resume", guard(api.resume_recording))
