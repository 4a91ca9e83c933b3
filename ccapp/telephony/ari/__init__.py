"""ARI adapter: a small typed ARI client on aiohttp (REST, events WebSocket, `CallControl`)."""

from ccapp.telephony.ari.app import AriApp
from ccapp.telephony.ari.client import AriClient, AriRequestError
from ccapp.telephony.ari.control import AriCallControl, FeedSignal
from ccapp.telephony.ari.endpoints import USED_ENDPOINTS, Endpoint
from ccapp.telephony.ari.events import AriEvent, parse_event
from ccapp.telephony.ari.stream import AriEventStream

__all__ = [
    "USED_ENDPOINTS",
    "AriApp",
    "AriCallControl",
    "AriClient",
    "AriEvent",
    "AriEventStream",
    "AriRequestError",
    "Endpoint",
    "FeedSignal",
    "parse_event",
]
