"""``/channels`` operations. Results are parsed into `events` models before they are returned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ccapp.errors import ProtocolError
from ccapp.telephony.ari import endpoints as ep
from ccapp.telephony.ari.endpoints import QueryValue, Requester
from ccapp.telephony.ari.events import (
    Channel,
    LiveRecording,
    Playback,
    parse_channel,
    parse_live_recording,
    parse_playback,
)


def _body(variables: Mapping[str, str] | None) -> dict[str, Any] | None:
    return {"variables": dict(variables)} if variables else None


def _args(app_args: Sequence[str] | str | None) -> str | None:
    if app_args is None or isinstance(app_args, str):
        return app_args
    return ",".join(app_args)


class ChannelsApi:
    """Channel control. ``app`` is the default Stasis application for originate, create and snoop."""

    def __init__(self, transport: Requester, app: str) -> None:
        self._t = transport
        self._app = app

    async def list(self) -> list[Channel]:
        data = await self._t.call(ep.CHANNELS_LIST)
        if not isinstance(data, list):
            raise ProtocolError("ARI GET /channels: expected a list")
        return [parse_channel(c) for c in data]

    async def get(self, channel_id: str) -> Channel:
        return parse_channel(await self._t.call(ep.CHANNEL_GET, {"channelId": channel_id}))

    async def answer(self, channel_id: str) -> None:
        await self._t.call(ep.CHANNEL_ANSWER, {"channelId": channel_id})

    async def hangup(
        self, channel_id: str, reason: str | None = None, *, reason_code: int | None = None
    ) -> None:
        """Hang up with a named ``reason`` (``normal``, ``busy`` …) or a Q.850 ``reason_code``."""
        query: dict[str, QueryValue] = {"reason": reason, "reason_code": reason_code}
        await self._t.call(ep.CHANNEL_HANGUP, {"channelId": channel_id}, query)

    async def play(
        self,
        channel_id: str,
        media: Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        """Start playing ``media`` URIs (``sound:x``, ``digits:12``, ``tone:ring`` …) in order."""
        query: dict[str, QueryValue] = {"media": list(media), "playbackId": playback_id, "lang": lang}
        return parse_playback(await self._t.call(ep.CHANNEL_PLAY, {"channelId": channel_id}, query))

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_s: int | None = None,
        max_silence_s: int | None = None,
        if_exists: str | None = None,
        beep: bool | None = None,
        terminate_on: str | None = None,
    ) -> LiveRecording:
        query: dict[str, QueryValue] = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_s,
            "maxSilenceSeconds": max_silence_s,
            "ifExists": if_exists,
            "beep": beep,
            "terminateOn": terminate_on,
        }
        data = await self._t.call(ep.CHANNEL_RECORD, {"channelId": channel_id}, query)
        return parse_live_recording(data)

    async def continue_in_dialplan(
        self,
        channel_id: str,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        query: dict[str, QueryValue] = {
            "context": context,
            "extension": extension,
            "priority": priority,
            "label": label,
        }
        await self._t.call(ep.CHANNEL_CONTINUE, {"channelId": channel_id}, query)

    async def get_var(self, channel_id: str, variable: str) -> str:
        data = await self._t.call(ep.CHANNEL_VAR_GET, {"channelId": channel_id}, {"variable": variable})
        value = data.get("value") if isinstance(data, dict) else None
        return value if isinstance(value, str) else ""

    async def set_var(self, channel_id: str, variable: str, value: str) -> None:
        query: dict[str, QueryValue] = {"variable": variable, "value": value}
        await self._t.call(ep.CHANNEL_VAR_SET, {"channelId": channel_id}, query)

    async def ring(self, channel_id: str) -> None:
        await self._t.call(ep.CHANNEL_RING, {"channelId": channel_id})

    async def ring_stop(self, channel_id: str) -> None:
        await self._t.call(ep.CHANNEL_RING_STOP, {"channelId": channel_id})

    async def moh_start(self, channel_id: str, moh_class: str | None = None) -> None:
        await self._t.call(ep.CHANNEL_MOH, {"channelId": channel_id}, {"mohClass": moh_class})

    async def moh_stop(self, channel_id: str) -> None:
        await self._t.call(ep.CHANNEL_MOH_STOP, {"channelId": channel_id})

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        await self._t.call(ep.CHANNEL_MUTE, {"channelId": channel_id}, {"direction": direction})

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        await self._t.call(ep.CHANNEL_UNMUTE, {"channelId": channel_id}, {"direction": direction})

    async def send_dtmf(
        self, channel_id: str, dtmf: str, *, between_ms: int | None = None, duration_ms: int | None = None
    ) -> None:
        query: dict[str, QueryValue] = {"dtmf": dtmf, "between": between_ms, "duration": duration_ms}
        await self._t.call(ep.CHANNEL_DTMF, {"channelId": channel_id}, query)

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Sequence[str] | str | None = None,
        caller_id: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 (ARI's ring timeout, seconds)
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
    ) -> Channel:
        """Dial ``endpoint``; when it answers it enters Stasis ``app`` (default: the client's app)."""
        query: dict[str, QueryValue] = {
            "endpoint": endpoint,
            "app": app or self._app,
            "appArgs": _args(app_args),
            "callerId": caller_id,
            "timeout": timeout,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        return parse_channel(await self._t.call(ep.CHANNEL_ORIGINATE, None, query, _body(variables)))

    async def create(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: Sequence[str] | str | None = None,
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
    ) -> Channel:
        """Create a channel in Stasis without dialling it; `dial` it afterwards."""
        query: dict[str, QueryValue] = {
            "endpoint": endpoint,
            "app": app or self._app,
            "appArgs": _args(app_args),
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        return parse_channel(await self._t.call(ep.CHANNEL_CREATE, None, query, _body(variables)))

    async def dial(
        self,
        channel_id: str,
        *,
        caller: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 (ARI's ring timeout, seconds)
    ) -> None:
        query: dict[str, QueryValue] = {"caller": caller, "timeout": timeout}
        await self._t.call(ep.CHANNEL_DIAL, {"channelId": channel_id}, query)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self._t.call(ep.CHANNEL_REDIRECT, {"channelId": channel_id}, {"endpoint": endpoint})

    async def snoop(
        self,
        channel_id: str,
        *,
        spy: str | None = None,
        whisper: str | None = None,
        app: str | None = None,
        app_args: Sequence[str] | str | None = None,
        snoop_id: str | None = None,
    ) -> Channel:
        """A snoop channel on ``channel_id`` (``spy``/``whisper``: ``none``, ``in``, ``out``, ``both``)."""
        query: dict[str, QueryValue] = {
            "spy": spy,
            "whisper": whisper,
            "app": app or self._app,
            "appArgs": _args(app_args),
            "snoopId": snoop_id,
        }
        return parse_channel(await self._t.call(ep.CHANNEL_SNOOP, {"channelId": channel_id}, query))

    async def external_media(
        self,
        external_host: str,
        format: str,
        *,
        encapsulation: str | None = None,
        transport: str | None = None,
        direction: str | None = None,
        channel_id: str | None = None,
        app: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """A channel that streams media to/from ``external_host`` (``host:port``), e.g. for speech."""
        query: dict[str, QueryValue] = {
            "external_host": external_host,
            "format": format,
            "encapsulation": encapsulation,
            "transport": transport,
            "direction": direction,
            "channelId": channel_id,
            "app": app or self._app,
        }
        data = await self._t.call(ep.CHANNEL_EXTERNAL_MEDIA, None, query, _body(variables))
        return parse_channel(data)
