"""Every ARI REST operation ccapp calls, in one table.

Resources call the transport only through these `Endpoint` values, and the transport refuses a
parameter an endpoint does not declare, so `USED_ENDPOINTS` is exactly what ccapp sends. An
integration test checks each entry against the API description Asterisk ships
(``/usr/share/asterisk/rest-api/*.json``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: what a query parameter may be given as; lists are sent comma-separated (ARI's ``allowMultiple``)
QueryValue = str | int | float | bool | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    #: path template relative to ``/ari``, e.g. ``/channels/{channelId}/play``
    path: str
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def about_channel(self) -> bool:
        """True when a 404 means the channel is gone."""
        return self.path.startswith("/channels/{channelId}")


class Requester(Protocol):
    """The transport as resources see it (implemented by `AriClient`)."""

    async def call(
        self,
        endpoint: Endpoint,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any: ...

    async def call_bytes(self, endpoint: Endpoint, path: Mapping[str, str] | None = None) -> bytes: ...


E = Endpoint
_ORIGINATE_Q = (
    "endpoint", "extension", "context", "priority", "label", "app", "appArgs",
    "callerId", "timeout", "channelId", "otherChannelId", "originator",
)  # fmt: skip
_RECORD_Q = ("name", "format", "maxDurationSeconds", "maxSilenceSeconds", "ifExists", "beep", "terminateOn")

# channels
CHANNELS_LIST = E("GET", "/channels")
CHANNEL_ORIGINATE = E("POST", "/channels", _ORIGINATE_Q, ("variables",))
CHANNEL_CREATE = E(
    "POST", "/channels/create", ("endpoint", "app", "appArgs", "channelId", "otherChannelId", "originator"),
    ("variables",),
)  # fmt: skip
CHANNEL_GET = E("GET", "/channels/{channelId}")
CHANNEL_HANGUP = E("DELETE", "/channels/{channelId}", ("reason_code", "reason"))
CHANNEL_CONTINUE = E("POST", "/channels/{channelId}/continue", ("context", "extension", "priority", "label"))
CHANNEL_REDIRECT = E("POST", "/channels/{channelId}/redirect", ("endpoint",))
CHANNEL_ANSWER = E("POST", "/channels/{channelId}/answer")
CHANNEL_RING = E("POST", "/channels/{channelId}/ring")
CHANNEL_RING_STOP = E("DELETE", "/channels/{channelId}/ring")
CHANNEL_DTMF = E("POST", "/channels/{channelId}/dtmf", ("dtmf", "before", "between", "duration", "after"))
CHANNEL_MUTE = E("POST", "/channels/{channelId}/mute", ("direction",))
CHANNEL_UNMUTE = E("DELETE", "/channels/{channelId}/mute", ("direction",))
CHANNEL_MOH = E("POST", "/channels/{channelId}/moh", ("mohClass",))
CHANNEL_MOH_STOP = E("DELETE", "/channels/{channelId}/moh")
CHANNEL_PLAY = E("POST", "/channels/{channelId}/play", ("media", "lang", "offsetms", "skipms", "playbackId"))
CHANNEL_RECORD = E("POST", "/channels/{channelId}/record", _RECORD_Q)
CHANNEL_VAR_GET = E("GET", "/channels/{channelId}/variable", ("variable",))
CHANNEL_VAR_SET = E("POST", "/channels/{channelId}/variable", ("variable", "value"))
CHANNEL_SNOOP = E("POST", "/channels/{channelId}/snoop", ("spy", "whisper", "app", "appArgs", "snoopId"))
CHANNEL_DIAL = E("POST", "/channels/{channelId}/dial", ("caller", "timeout"))
CHANNEL_EXTERNAL_MEDIA = E(
    "POST", "/channels/externalMedia",
    ("channelId", "app", "external_host", "encapsulation", "transport", "format", "direction"),
    ("variables",),
)  # fmt: skip
# bridges
BRIDGES_LIST = E("GET", "/bridges")
BRIDGE_CREATE = E("POST", "/bridges", ("type", "bridgeId", "name"))
BRIDGE_GET = E("GET", "/bridges/{bridgeId}")
BRIDGE_DESTROY = E("DELETE", "/bridges/{bridgeId}")
BRIDGE_ADD = E("POST", "/bridges/{bridgeId}/addChannel", ("channel", "role", "absorbDTMF", "mute"))
BRIDGE_REMOVE = E("POST", "/bridges/{bridgeId}/removeChannel", ("channel",))
BRIDGE_MOH = E("POST", "/bridges/{bridgeId}/moh", ("mohClass",))
BRIDGE_MOH_STOP = E("DELETE", "/bridges/{bridgeId}/moh")
BRIDGE_PLAY = E("POST", "/bridges/{bridgeId}/play", ("media", "lang", "playbackId"))
BRIDGE_RECORD = E("POST", "/bridges/{bridgeId}/record", _RECORD_Q)
# playbacks
PLAYBACK_GET = E("GET", "/playbacks/{playbackId}")
PLAYBACK_STOP = E("DELETE", "/playbacks/{playbackId}")
PLAYBACK_CONTROL = E("POST", "/playbacks/{playbackId}/control", ("operation",))
# recordings
LIVE_GET = E("GET", "/recordings/live/{recordingName}")
LIVE_CANCEL = E("DELETE", "/recordings/live/{recordingName}")
LIVE_STOP = E("POST", "/recordings/live/{recordingName}/stop")
LIVE_PAUSE = E("POST", "/recordings/live/{recordingName}/pause")
LIVE_UNPAUSE = E("DELETE", "/recordings/live/{recordingName}/pause")
LIVE_MUTE = E("POST", "/recordings/live/{recordingName}/mute")
LIVE_UNMUTE = E("DELETE", "/recordings/live/{recordingName}/mute")
STORED_LIST = E("GET", "/recordings/stored")
STORED_GET = E("GET", "/recordings/stored/{recordingName}")
STORED_DELETE = E("DELETE", "/recordings/stored/{recordingName}")
STORED_FILE = E("GET", "/recordings/stored/{recordingName}/file")
# applications, endpoints, asterisk
APPLICATION_GET = E("GET", "/applications/{applicationName}")
APPLICATION_SUBSCRIBE = E("POST", "/applications/{applicationName}/subscription", ("eventSource",))
ENDPOINT_GET = E("GET", "/endpoints/{tech}/{resource}")
ASTERISK_INFO = E("GET", "/asterisk/info", ("only",))
ASTERISK_PING = E("GET", "/asterisk/ping")

USED_ENDPOINTS: tuple[Endpoint, ...] = (
    CHANNELS_LIST, CHANNEL_ORIGINATE, CHANNEL_CREATE, CHANNEL_GET, CHANNEL_HANGUP, CHANNEL_CONTINUE,
    CHANNEL_REDIRECT, CHANNEL_ANSWER, CHANNEL_RING, CHANNEL_RING_STOP, CHANNEL_DTMF, CHANNEL_MUTE,
    CHANNEL_UNMUTE, CHANNEL_MOH, CHANNEL_MOH_STOP, CHANNEL_PLAY, CHANNEL_RECORD, CHANNEL_VAR_GET,
    CHANNEL_VAR_SET, CHANNEL_SNOOP, CHANNEL_DIAL, CHANNEL_EXTERNAL_MEDIA,
    BRIDGES_LIST, BRIDGE_CREATE, BRIDGE_GET, BRIDGE_DESTROY, BRIDGE_ADD, BRIDGE_REMOVE, BRIDGE_MOH,
    BRIDGE_MOH_STOP, BRIDGE_PLAY, BRIDGE_RECORD,
    PLAYBACK_GET, PLAYBACK_STOP, PLAYBACK_CONTROL,
    LIVE_GET, LIVE_CANCEL, LIVE_STOP, LIVE_PAUSE, LIVE_UNPAUSE, LIVE_MUTE, LIVE_UNMUTE,
    STORED_LIST, STORED_GET, STORED_DELETE, STORED_FILE,
    APPLICATION_GET, APPLICATION_SUBSCRIBE, ENDPOINT_GET, ASTERISK_INFO, ASTERISK_PING,
)  # fmt: skip
