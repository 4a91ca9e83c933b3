"""ARI resource models (channel, playback, recording, bridge, endpoint) parsed from Asterisk's JSON.

Helpers here read fields leniently (missing optional field → ``None``) and strictly where a value
is required (missing id, wrong type → `ProtocolError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccapp.errors import ProtocolError

# ---------------------------------------------------------------------------------------- field readers


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"ARI {what}: expected an object, got {type(value).__name__}")
    return value


def _req_str(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"ARI {what}: field {key!r} missing or not a string")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return str(value)


def _opt_int(obj: Mapping[str, Any], key: str, what: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ProtocolError(f"ARI {what}: field {key!r} is not an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise ProtocolError(f"ARI {what}: field {key!r} is not an integer") from exc


def _opt_bool(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    return None if value is None else bool(value)


def _opt_obj(obj: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    return None if value is None else _obj(value, f"{what}.{key}")


def parse_timestamp(value: Any, what: str = "timestamp") -> datetime:
    """Asterisk's ``2026-01-05T09:00:00.123+0000`` as an aware datetime."""
    if not isinstance(value, str):
        raise ProtocolError(f"ARI {what}: expected a date string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ProtocolError(f"ARI {what}: bad date {value!r}") from exc
    if parsed.tzinfo is None:
        raise ProtocolError(f"ARI {what}: date without a time zone {value!r}")
    return parsed


def _opt_timestamp(obj: Mapping[str, Any], key: str, what: str) -> datetime | None:
    value = obj.get(key)
    return None if value is None else parse_timestamp(value, f"{what}.{key}")


def _target_channel(target_uri: str | None) -> str | None:
    if target_uri and target_uri.startswith("channel:"):
        return target_uri.removeprefix("channel:")
    return None


# ---------------------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    state: str
    caller_number: str | None = None
    caller_name: str | None = None
    connected_number: str | None = None
    exten: str | None = None
    context: str | None = None
    priority: int | None = None
    creationtime: datetime | None = None
    language: str | None = None
    #: dialplan application running now, e.g. ``Stasis`` with data ``ccapp,inbound,first``
    app_name: str | None = None
    app_data: str | None = None

    def in_stasis(self, app: str) -> bool:
        """Whether the channel is in Stasis application ``app`` (as of this snapshot)."""
        return self.app_name == "Stasis" and (self.app_data or "").split(",")[0] == app


@dataclass(frozen=True, slots=True)
class Playback:
    id: str
    media_uri: str | None = None
    target_uri: str | None = None
    state: str | None = None
    language: str | None = None
    next_media_uri: str | None = None

    @property
    def channel_id(self) -> str | None:
        """The channel this playback is on, ``None`` for a bridge playback."""
        return _target_channel(self.target_uri)


@dataclass(frozen=True, slots=True)
class LiveRecording:
    name: str
    format: str | None = None
    target_uri: str | None = None
    state: str | None = None
    duration: int | None = None
    cause: str | None = None

    @property
    def channel_id(self) -> str | None:
        return _target_channel(self.target_uri)


@dataclass(frozen=True, slots=True)
class Bridge:
    id: str
    technology: str | None = None
    bridge_type: str | None = None
    bridge_class: str | None = None
    name: str | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndpointSnapshot:
    """ARI's ``Endpoint`` model: a device such as ``PJSIP/1001`` and whether Asterisk can reach it
    (PJSIP: online while a contact is registered or static and not found unreachable by qualify)."""

    technology: str
    resource: str
    #: ``online``, ``offline`` or ``unknown``
    state: str = "unknown"
    channel_ids: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``technology/resource``, the way dial strings and ccapp's agents name it."""
        return f"{self.technology}/{self.resource}"

    @property
    def online(self) -> bool | None:
        """True online, False offline, None when Asterisk does not know."""
        return {"online": True, "offline": False}.get(self.state)


def parse_channel(value: Any) -> Channel:
    obj = _obj(value, "channel")
    caller = _opt_obj(obj, "caller", "channel") or {}
    connected = _opt_obj(obj, "connected", "channel") or {}
    dialplan = _opt_obj(obj, "dialplan", "channel") or {}
    return Channel(
        id=_req_str(obj, "id", "channel"),
        name=_opt_str(obj, "name") or "",
        state=_opt_str(obj, "state") or "Unknown",
        caller_number=_opt_str(caller, "number"),
        caller_name=_opt_str(caller, "name"),
        connected_number=_opt_str(connected, "number"),
        exten=_opt_str(dialplan, "exten"),
        context=_opt_str(dialplan, "context"),
        priority=_opt_int(dialplan, "priority", "channel.dialplan"),
        creationtime=_opt_timestamp(obj, "creationtime", "channel"),
        language=_opt_str(obj, "language"),
        app_name=_opt_str(dialplan, "app_name"),
        app_data=_opt_str(dialplan, "app_data"),
    )


def parse_playback(value: Any) -> Playback:
    obj = _obj(value, "playback")
    return Playback(
        id=_req_str(obj, "id", "playback"),
        media_uri=_opt_str(obj, "media_uri"),
        target_uri=_opt_str(obj, "target_uri"),
        state=_opt_str(obj, "state"),
        language=_opt_str(obj, "language"),
        next_media_uri=_opt_str(obj, "next_media_uri"),
    )


def parse_live_recording(value: Any) -> LiveRecording:
    obj = _obj(value, "recording")
    return LiveRecording(
        name=_req_str(obj, "name", "recording"),
        format=_opt_str(obj, "format"),
        target_uri=_opt_str(obj, "target_uri"),
        state=_opt_str(obj, "state"),
        duration=_opt_int(obj, "duration", "recording"),
        cause=_opt_str(obj, "cause"),
    )


def parse_bridge(value: Any) -> Bridge:
    obj = _obj(value, "bridge")
    channels = obj.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise ProtocolError("ARI bridge: 'channels' is not a list of ids")
    return Bridge(
        id=_req_str(obj, "id", "bridge"),
        technology=_opt_str(obj, "technology"),
        bridge_type=_opt_str(obj, "bridge_type"),
        bridge_class=_opt_str(obj, "bridge_class"),
        name=_opt_str(obj, "name"),
        channels=tuple(channels),
    )


def parse_endpoint(value: Any) -> EndpointSnapshot:
    obj = _obj(value, "endpoint")
    ids = obj.get("channel_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ProtocolError("ARI endpoint: 'channel_ids' is not a list of ids")
    return EndpointSnapshot(
        technology=_req_str(obj, "technology", "endpoint"),
        resource=_req_str(obj, "resource", "endpoint"),
        state=_opt_str(obj, "state") or "unknown",
        channel_ids=tuple(ids),
    )
