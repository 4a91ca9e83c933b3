"""`HttpFetcher` on aiohttp: what IVR ``http`` nodes call.

Errors never quote the URL or the body: both may carry caller data (account numbers).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from ccapp.errors import FetchError

#: the most a web service may answer; IVR lookups are small
MAX_BODY = 1 << 20


class AiohttpFetcher:
    """One shared client session, created on first use."""

    def __init__(self, *, user_agent: str = "ccapp-ivr") -> None:
        self._session: aiohttp.ClientSession | None = None
        self._user_agent = user_agent

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": self._user_agent})
        try:
            async with asyncio.timeout(timeout_s):
                async with self._session.request(
                    method, url, json=dict(body) if body is not None else None, headers=dict(headers)
                ) as response:
                    if not 200 <= response.status < 300:
                        raise FetchError(f"HTTP status {response.status}")
                    # read(n) returns what is buffered (one chunk), not n bytes: read to EOF or the cap
                    raw = b""
                    while len(raw) <= MAX_BODY:
                        chunk = await response.content.read(MAX_BODY + 1 - len(raw))
                        if not chunk:
                            break
                        raw += chunk
        except TimeoutError:
            raise FetchError(f"no answer within {timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"request failed ({type(exc).__name__})") from None
        except ValueError:
            # aiohttp refuses a header holding CR/LF (a caller name can): the node's on_error, not a crash
            raise FetchError("request refused (invalid header or URL)") from None
        if len(raw) > MAX_BODY:
            raise FetchError("answer larger than 1 MiB")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise FetchError("answer is not JSON") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
