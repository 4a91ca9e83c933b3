"""The ARI REST transport: one aiohttp session, one `call` choke point, one error mapping.

Resources (``client.channels``, ``client.bridges``, ``client.endpoints`` …) live in `channels.py`
and `resources.py` and call the transport only through the `Endpoint` table in `endpoints.py`.

Errors: a 404 on ``/channels/{channelId}…`` → `CallGone`; no connection or a timeout →
`NotConnected`; any other 4xx/5xx → `AriRequestError` (a `TelephonyError`) carrying ARI's
message. Messages name the operation, never the credentials.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from ccapp.errors import CallGone, NotConnected, ProtocolError, TelephonyError
from ccapp.telephony.ari.channels import ChannelsApi
from ccapp.telephony.ari.endpoints import Endpoint, QueryValue
from ccapp.telephony.ari.resources import (
    ApplicationsApi,
    AsteriskApi,
    BridgesApi,
    EndpointsApi,
    PlaybacksApi,
    RecordingsApi,
)

log = logging.getLogger("ccapp.telephony.ari")


class AriRequestError(TelephonyError):
    """Asterisk answered an ARI request with an error. ``status`` is for the adapter's own use
    (e.g. 404 on a playback that already ended); it never leaves the adapter's layer."""

    def __init__(self, message: str, *, status: int, ari_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.ari_message = ari_message


def _encode(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return ",".join(value or ())


class AriClient:
    """Typed ARI REST client. ``start()`` (or ``async with``) before use, ``close()`` after.

    Pass ``session`` to share an aiohttp session (then the caller closes it).
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        app: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": aiohttp.encode_basic_auth(username, password)}
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.channels = ChannelsApi(self, app)
        self.bridges = BridgesApi(self)
        self.playbacks = PlaybacksApi(self)
        self.recordings = RecordingsApi(self)
        self.applications = ApplicationsApi(self)
        self.endpoints = EndpointsApi(self)
        self.asterisk = AsteriskApi(self)

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> AriClient:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------------------ transport
    async def call(
        self,
        endpoint: Endpoint,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Perform one operation; returns decoded JSON, or ``None`` for an empty answer."""
        raw = await self._request(endpoint, path or {}, query or {}, body)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ProtocolError(f"ARI {endpoint.method} {endpoint.path}: answer is not JSON") from exc

    async def call_bytes(self, endpoint: Endpoint, path: Mapping[str, str] | None = None) -> bytes:
        """Perform one operation whose answer is a file."""
        return await self._request(endpoint, path or {}, {}, None)

    async def _request(
        self,
        endpoint: Endpoint,
        path: Mapping[str, str],
        query: Mapping[str, QueryValue],
        body: Mapping[str, Any] | None,
    ) -> bytes:
        if set(path) != set(endpoint.path_params):
            raise ValueError(f"{endpoint.path}: path parameters {sorted(path)} do not match")
        unknown = set(query) - set(endpoint.query) | set(body or {}) - set(endpoint.body)
        if unknown:
            raise ValueError(f"{endpoint.method} {endpoint.path}: undeclared parameters {sorted(unknown)}")
        if self._session is None:
            raise NotConnected("ARI client is not started")
        url = self.base_url + "/ari" + endpoint.path.format_map({k: _quote(v) for k, v in path.items()})
        params = {k: _encode(v) for k, v in query.items() if v is not None}
        what = f"ARI {endpoint.method} {endpoint.path}"
        try:
            for attempt in (1, 2):
                try:
                    async with self._session.request(
                        endpoint.method,
                        url,
                        params=params,
                        json=dict(body) if body else None,
                        headers=self._headers,
                        timeout=self._timeout,
                    ) as resp:
                        data = await resp.read()
                        status = resp.status
                    break
                except aiohttp.ServerDisconnectedError:
                    # Asterisk closes idle keep-alive connections; a request sent on one that was
                    # just closed never reached it (seen at 40 calls/s), so one retry on a new one.
                    if attempt == 2:
                        raise
                    log.debug("%s: keep-alive connection closed by Asterisk; retrying", what)
        except TimeoutError as exc:
            raise NotConnected(f"{what}: timed out") from exc
        except aiohttp.ClientError as exc:
            raise NotConnected(f"{what}: {type(exc).__name__}") from exc
        except OSError as exc:
            raise NotConnected(f"{what}: {exc.strerror or type(exc).__name__}") from exc
        if status < 400:
            return data
        message = _ari_message(data)
        if status == 404 and endpoint.about_channel:
            raise CallGone(f"channel {path.get('channelId')} is gone ({message})")
        log.debug("%s -> %s %s", what, status, message)
        raise AriRequestError(f"{what} failed: {status} {message}", status=status, ari_message=message)


def _quote(value: str) -> str:
    return quote(value, safe="")


def _ari_message(data: bytes) -> str:
    try:
        decoded = json.loads(data)
    except ValueError:
        return data[:200].decode(errors="replace").strip()
    if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
        return str(decoded["message"])[:200]
    return ""


__all__ = ["AriClient", "AriRequestError"]
