"""Bridges, playbacks, recordings, applications, endpoints and Asterisk info over ARI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccapp.errors import ProtocolError
from ccapp.telephony.ari import endpoints as ep
from ccapp.telephony.ari.endpoints import QueryValue, Requester
from ccapp.telephony.ari.events import (
    Bridge,
    EndpointSnapshot,
    LiveRecording,
    Playback,
    parse_bridge,
    parse_endpoint,
    parse_live_recording,
    parse_playback,
)


class BridgesApi:
    def __init__(self, transport: Requester) -> None:
        self._t = transport

    async def list(self) -> list[Bridge]:
        data = await self._t.call(ep.BRIDGES_LIST)
        if not isinstance(data, list):
            raise ProtocolError("ARI GET /bridges: expected a list")
        return [parse_bridge(b) for b in data]

    async def create(
        self, type: str = "mixing", *, bridge_id: str | None = None, name: str | None = None
    ) -> Bridge:
        """A bridge; ``type`` is a comma list of ``mixing``, ``holding``, ``dtmf_events``, ``proxy_media``."""
        query = {"type": type, "bridgeId": bridge_id, "name": name}
        return parse_bridge(await self._t.call(ep.BRIDGE_CREATE, None, query))

    async def get(self, bridge_id: str) -> Bridge:
        return parse_bridge(await self._t.call(ep.BRIDGE_GET, {"bridgeId": bridge_id}))

    async def destroy(self, bridge_id: str) -> None:
        await self._t.call(ep.BRIDGE_DESTROY, {"bridgeId": bridge_id})

    async def add_channel(
        self,
        bridge_id: str,
        channel_ids: str | Sequence[str],
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
    ) -> None:
        """Add one channel or several at once."""
        channels = [channel_ids] if isinstance(channel_ids, str) else list(channel_ids)
        query: dict[str, QueryValue] = {
            "channel": channels,
            "role": role,
            "absorbDTMF": absorb_dtmf,
            "mute": mute,
        }
        await self._t.call(ep.BRIDGE_ADD, {"bridgeId": bridge_id}, query)

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self._t.call(ep.BRIDGE_REMOVE, {"bridgeId": bridge_id}, {"channel": channel_id})

    async def play(
        self, bridge_id: str, media: Sequence[str], *, playback_id: str | None = None, lang: str | None = None
    ) -> Playback:
        query: dict[str, QueryValue] = {"media": list(media), "playbackId": playback_id, "lang": lang}
        return parse_playback(await self._t.call(ep.BRIDGE_PLAY, {"bridgeId": bridge_id}, query))

    async def record(
        self,
        bridge_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_s: int | None = None,
        if_exists: str | None = None,
        beep: bool | None = None,
    ) -> LiveRecording:
        query: dict[str, QueryValue] = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_s,
            "ifExists": if_exists,
            "beep": beep,
        }
        return parse_live_recording(await self._t.call(ep.BRIDGE_RECORD, {"bridgeId": bridge_id}, query))

    async def moh_start(self, bridge_id: str, moh_class: str | None = None) -> None:
        await self._t.call(ep.BRIDGE_MOH, {"bridgeId": bridge_id}, {"mohClass": moh_class})

    async def moh_stop(self, bridge_id: str) -> None:
        await self._t.call(ep.BRIDGE_MOH_STOP, {"bridgeId": bridge_id})


class PlaybacksApi:
    def __init__(self, transport: Requester) -> None:
        self._t = transport

    async def get(self, playback_id: str) -> Playback:
        return parse_playback(await self._t.call(ep.PLAYBACK_GET, {"playbackId": playback_id}))

    async def stop(self, playback_id: str) -> None:
        await self._t.call(ep.PLAYBACK_STOP, {"playbackId": playback_id})

    async def control(self, playback_id: str, operation: str) -> None:
        """``restart``, ``pause``, ``unpause``, ``reverse`` or ``forward``."""
        await self._t.call(ep.PLAYBACK_CONTROL, {"playbackId": playback_id}, {"operation": operation})


class RecordingsApi:
    """Live recordings (in progress) and stored ones (files Asterisk keeps)."""

    def __init__(self, transport: Requester) -> None:
        self._t = transport

    def _live(self, name: str) -> dict[str, str]:
        return {"recordingName": name}

    async def live_get(self, name: str) -> LiveRecording:
        return parse_live_recording(await self._t.call(ep.LIVE_GET, self._live(name)))

    async def stop(self, name: str) -> None:
        await self._t.call(ep.LIVE_STOP, self._live(name))

    async def cancel(self, name: str) -> None:
        """Stop and discard."""
        await self._t.call(ep.LIVE_CANCEL, self._live(name))

    async def pause(self, name: str) -> None:
        await self._t.call(ep.LIVE_PAUSE, self._live(name))

    async def unpause(self, name: str) -> None:
        await self._t.call(ep.LIVE_UNPAUSE, self._live(name))

    async def mute(self, name: str) -> None:
        await self._t.call(ep.LIVE_MUTE, self._live(name))

    async def unmute(self, name: str) -> None:
        await self._t.call(ep.LIVE_UNMUTE, self._live(name))

    async def stored_list(self) -> list[str]:
        data = await self._t.call(ep.STORED_LIST)
        if not isinstance(data, list):
            raise ProtocolError("ARI GET /recordings/stored: expected a list")
        return [str(r.get("name")) for r in data if isinstance(r, dict)]

    async def stored_get(self, name: str) -> dict[str, Any]:
        data = await self._t.call(ep.STORED_GET, self._live(name))
        if not isinstance(data, dict):
            raise ProtocolError("ARI stored recording: expected an object")
        return data

    async def stored_delete(self, name: str) -> None:
        await self._t.call(ep.STORED_DELETE, self._live(name))

    async def stored_file(self, name: str) -> bytes:
        """The recording's bytes, for the authenticated download API."""
        return await self._t.call_bytes(ep.STORED_FILE, self._live(name))


class ApplicationsApi:
    def __init__(self, transport: Requester) -> None:
        self._t = transport

    async def channel_ids(self, app: str) -> set[str]:
        """Ids of the channels subscribed to ``app`` (those in Stasis there)."""
        data = await self._t.call(ep.APPLICATION_GET, {"applicationName": app})
        ids = data.get("channel_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list):
            raise ProtocolError("ARI application: 'channel_ids' is not a list")
        return {str(i) for i in ids}

    async def subscribe(self, app: str, event_source: str | Sequence[str]) -> None:
        """Send ``app`` the events of ``event_source`` (``endpoint:PJSIP/1001``, ``channel:<id>`` …).
        Subscribing again is harmless; Asterisk forgets subscriptions when it restarts."""
        sources = [event_source] if isinstance(event_source, str) else list(event_source)
        await self._t.call(ep.APPLICATION_SUBSCRIBE, {"applicationName": app}, {"eventSource": sources})


class EndpointsApi:
    def __init__(self, transport: Requester) -> None:
        self._t = transport

    async def get(self, tech: str, resource: str) -> EndpointSnapshot:
        """The endpoint's state now (`AriRequestError` 404 when Asterisk has no such endpoint)."""
        return parse_endpoint(await self._t.call(ep.ENDPOINT_GET, {"tech": tech, "resource": resource}))


class AsteriskApi:
    def __init__(self, transport: Requester) -> None:
        self._t = transport

    async def info(self, only: str | None = None) -> dict[str, Any]:
        """``only``: comma list of ``build``, ``system``, ``config``, ``status``."""
        data = await self._t.call(ep.ASTERISK_INFO, None, {"only": only})
        if not isinstance(data, dict):
            raise ProtocolError("ARI asterisk info: expected an object")
        return data

    async def ping(self) -> dict[str, Any]:
        data = await self._t.call(ep.ASTERISK_PING)
        if not isinstance(data, dict):
            raise ProtocolError("ARI ping: expected an object")
        return data
