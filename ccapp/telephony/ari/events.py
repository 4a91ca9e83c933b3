"""ARI models and events, parsed once from Asterisk's JSON into frozen dataclasses.

Nothing downstream reads raw dicts: `parse_event` turns one WebSocket message into an `AriEvent`.
Optional fields that Asterisk leaves out become ``None``; a message of the wrong shape (not an
object, no ``type``, a channel without an id, a bad date) raises `ProtocolError`. Event types
ccapp does not model arrive as `UnknownEvent` with the raw object, so a newer Asterisk never
breaks the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccapp.errors import ProtocolError
from ccapp.telephony.ari.models import (
    Bridge,
    Channel,
    EndpointSnapshot,
    LiveRecording,
    Playback,
    _obj,
    _opt_bool,
    _opt_int,
    _opt_obj,
    _opt_str,
    _req_str,
    _target_channel,
    parse_bridge,
    parse_channel,
    parse_endpoint,
    parse_live_recording,
    parse_playback,
    parse_timestamp,
)

__all__ = [
    "AriEvent",
    "Bridge",
    "BridgeDestroyed",
    "Channel",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelUserevent",
    "ChannelVarset",
    "Dial",
    "EndpointSnapshot",
    "EndpointStateChange",
    "LiveRecording",
    "Playback",
    "PlaybackFinished",
    "PlaybackStarted",
    "RecordingFailed",
    "RecordingFinished",
    "RecordingStarted",
    "StasisEnd",
    "StasisStart",
    "UnknownEvent",
    "parse_bridge",
    "parse_channel",
    "parse_endpoint",
    "parse_event",
    "parse_live_recording",
    "parse_playback",
    "parse_timestamp",
]

# ---------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class _Event:
    type: str
    timestamp: datetime
    application: str

    @property
    def channel_id(self) -> str | None:
        """Id of the channel the event is about, ``None`` when it is about none."""
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ChannelEvent(_Event):
    channel: Channel

    @property
    def channel_id(self) -> str | None:
        return self.channel.id


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(_ChannelEvent):
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(_ChannelEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(_ChannelEvent):
    digit: str
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(_ChannelEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(_ChannelEvent):
    cause: int | None = None
    soft: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(_ChannelEvent):
    cause: int | None = None
    cause_txt: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelVarset(_Event):
    variable: str
    value: str | None = None
    #: absent for global variables
    channel: Channel | None = None

    @property
    def channel_id(self) -> str | None:
        return self.channel.id if self.channel else None


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlaybackEvent(_Event):
    playback: Playback

    @property
    def channel_id(self) -> str | None:
        return self.playback.channel_id


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class _RecordingEvent(_Event):
    recording: LiveRecording

    @property
    def channel_id(self) -> str | None:
        return self.recording.channel_id


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEnteredBridge(_Event):
    bridge: Bridge
    channel: Channel | None = None

    @property
    def channel_id(self) -> str | None:
        return self.channel.id if self.channel else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelLeftBridge(_ChannelEvent):
    bridge: Bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeDestroyed(_Event):
    bridge: Bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(_Event):
    """Progress of a dial; the event is about the ``peer`` (the channel being dialled)."""

    peer: Channel
    dialstatus: str
    caller: Channel | None = None
    dialstring: str | None = None
    forward: str | None = None

    @property
    def channel_id(self) -> str | None:
        return self.peer.id


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelUserevent(_Event):
    eventname: str
    userevent: Mapping[str, Any]
    channel: Channel | None = None
    bridge: Bridge | None = None

    @property
    def channel_id(self) -> str | None:
        return self.channel.id if self.channel else None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointStateChange(_Event):
    """An endpoint the application subscribed to (``endpoint:PJSIP/1001``) changed: its state
    (a phone registered, unregistered or stopped answering qualify) or its channels."""

    endpoint: EndpointSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(_Event):
    """An event type ccapp does not model; ``raw`` is the message as received."""

    raw: Mapping[str, Any]

    @property
    def channel_id(self) -> str | None:
        channel = self.raw.get("channel")
        if isinstance(channel, Mapping) and isinstance(channel.get("id"), str):
            return str(channel["id"])
        playback = self.raw.get("playback")
        if isinstance(playback, Mapping):
            return _target_channel(_opt_str(playback, "target_uri"))
        return None


AriEvent = (
    StasisStart
    | StasisEnd
    | ChannelDtmfReceived
    | ChannelStateChange
    | ChannelHangupRequest
    | ChannelDestroyed
    | ChannelVarset
    | PlaybackStarted
    | PlaybackFinished
    | RecordingStarted
    | RecordingFinished
    | RecordingFailed
    | ChannelEnteredBridge
    | ChannelLeftBridge
    | BridgeDestroyed
    | Dial
    | ChannelUserevent
    | EndpointStateChange
    | UnknownEvent
)

# ---------------------------------------------------------------------------------------- parsing

_Base = dict[str, Any]
_Parser = Callable[[Mapping[str, Any], _Base], AriEvent]


def _stasis_start(o: Mapping[str, Any], b: _Base) -> AriEvent:
    args = o.get("args") or []
    if not isinstance(args, list):
        raise ProtocolError("ARI StasisStart: 'args' is not a list")
    replace = o.get("replace_channel")
    return StasisStart(
        **b,
        channel=parse_channel(o.get("channel")),
        args=tuple(str(a) for a in args),
        replace_channel=parse_channel(replace) if replace is not None else None,
    )


def _dtmf(o: Mapping[str, Any], b: _Base) -> AriEvent:
    return ChannelDtmfReceived(
        **b,
        channel=parse_channel(o.get("channel")),
        digit=_req_str(o, "digit", "ChannelDtmfReceived"),
        duration_ms=_opt_int(o, "duration_ms", "ChannelDtmfReceived"),
    )


def _hangup_request(o: Mapping[str, Any], b: _Base) -> AriEvent:
    return ChannelHangupRequest(
        **b,
        channel=parse_channel(o.get("channel")),
        cause=_opt_int(o, "cause", "ChannelHangupRequest"),
        soft=_opt_bool(o, "soft"),
    )


def _destroyed(o: Mapping[str, Any], b: _Base) -> AriEvent:
    return ChannelDestroyed(
        **b,
        channel=parse_channel(o.get("channel")),
        cause=_opt_int(o, "cause", "ChannelDestroyed"),
        cause_txt=_opt_str(o, "cause_txt"),
    )


def _varset(o: Mapping[str, Any], b: _Base) -> AriEvent:
    channel = o.get("channel")
    return ChannelVarset(
        **b,
        variable=_req_str(o, "variable", "ChannelVarset"),
        value=_opt_str(o, "value"),
        channel=parse_channel(channel) if channel is not None else None,
    )


def _entered_bridge(o: Mapping[str, Any], b: _Base) -> AriEvent:
    channel = o.get("channel")
    return ChannelEnteredBridge(
        **b,
        bridge=parse_bridge(o.get("bridge")),
        channel=parse_channel(channel) if channel is not None else None,
    )


def _dial(o: Mapping[str, Any], b: _Base) -> AriEvent:
    caller = o.get("caller")
    return Dial(
        **b,
        peer=parse_channel(o.get("peer")),
        dialstatus=_opt_str(o, "dialstatus") or "",
        caller=parse_channel(caller) if caller is not None else None,
        dialstring=_opt_str(o, "dialstring"),
        forward=_opt_str(o, "forward"),
    )


def _userevent(o: Mapping[str, Any], b: _Base) -> AriEvent:
    channel, bridge = o.get("channel"), o.get("bridge")
    return ChannelUserevent(
        **b,
        eventname=_req_str(o, "eventname", "ChannelUserevent"),
        userevent=dict(_opt_obj(o, "userevent", "ChannelUserevent") or {}),
        channel=parse_channel(channel) if channel is not None else None,
        bridge=parse_bridge(bridge) if bridge is not None else None,
    )


def _simple_channel(
    cls: type[StasisEnd | ChannelStateChange],
) -> _Parser:
    return lambda o, b: cls(**b, channel=parse_channel(o.get("channel")))


def _playback(
    cls: type[PlaybackStarted | PlaybackFinished],
) -> _Parser:
    return lambda o, b: cls(**b, playback=parse_playback(o.get("playback")))


def _recording(
    cls: type[RecordingStarted | RecordingFinished | RecordingFailed],
) -> _Parser:
    return lambda o, b: cls(**b, recording=parse_live_recording(o.get("recording")))


_PARSERS: Mapping[str, _Parser] = {
    "StasisStart": _stasis_start,
    "StasisEnd": _simple_channel(StasisEnd),
    "ChannelDtmfReceived": _dtmf,
    "ChannelStateChange": _simple_channel(ChannelStateChange),
    "ChannelHangupRequest": _hangup_request,
    "ChannelDestroyed": _destroyed,
    "ChannelVarset": _varset,
    "PlaybackStarted": _playback(PlaybackStarted),
    "PlaybackFinished": _playback(PlaybackFinished),
    "RecordingStarted": _recording(RecordingStarted),
    "RecordingFinished": _recording(RecordingFinished),
    "RecordingFailed": _recording(RecordingFailed),
    "ChannelEnteredBridge": _entered_bridge,
    "ChannelLeftBridge": lambda o, b: ChannelLeftBridge(
        **b, channel=parse_channel(o.get("channel")), bridge=parse_bridge(o.get("bridge"))
    ),
    "BridgeDestroyed": lambda o, b: BridgeDestroyed(**b, bridge=parse_bridge(o.get("bridge"))),
    "Dial": _dial,
    "ChannelUserevent": _userevent,
    "EndpointStateChange": lambda o, b: EndpointStateChange(**b, endpoint=parse_endpoint(o.get("endpoint"))),
}


def parse_event(obj: Mapping[str, Any]) -> AriEvent:
    """One ARI WebSocket message (decoded JSON) as a typed event; `ProtocolError` on a bad shape."""
    message = _obj(obj, "event")
    kind = _req_str(message, "type", "event")
    base: _Base = {
        "type": kind,
        "timestamp": parse_timestamp(message.get("timestamp"), f"{kind}.timestamp"),
        "application": _opt_str(message, "application") or "",
    }
    parser = _PARSERS.get(kind)
    if parser is None:
        return UnknownEvent(**base, raw=message)
    return parser(message, base)
