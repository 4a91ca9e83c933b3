"""`AiohttpFetcher` against a local aiohttp server: JSON answers and every way a request fails.
No error message may quote the URL's query or the body: both can carry caller data."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ccapp.errors import FetchError
from ccapp.web.fetcher import MAX_BODY, AiohttpFetcher

SECRET_QUERY = "?account=4711&pin=8642"


class Service:
    """The web service an http node calls, remembering what it was sent."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.release = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/balance", self.balance)
        app.router.add_route("*", "/missing", self.missing)
        app.router.add_route("*", "/text", self.text)
        app.router.add_route("*", "/latin1", self.latin1)
        app.router.add_route("*", "/huge", self.huge)
        app.router.add_get("/big", self.big)
        app.router.add_route("*", "/slow", self.slow)
        return app

    async def balance(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.seen.append(
            {
                "method": request.method,
                "query": dict(request.query),
                "body": body,
                "agent": request.headers.get("User-Agent"),
                "call": request.headers.get("X-Call"),
            }
        )
        return web.json_response({"balance": "1250.50", "items": [{"id": 7}]})

    async def missing(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "no such account 4711"}, status=404)

    async def text(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>pin 8642</html>")

    async def latin1(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xfe{", content_type="application/json")

    async def huge(self, request: web.Request) -> web.Response:
        return web.Response(body=b'"' + b"x" * MAX_BODY + b'"', content_type="application/json")

    async def big(self, request: web.Request) -> web.Response:
        # well over one read chunk, under the cap
        return web.json_response({"items": ["x" * 100] * 5000})

    async def slow(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.json_response({})


@pytest.fixture
async def service() -> AsyncIterator[tuple[Service, TestServer]]:
    svc = Service()
    server = TestServer(svc.app())
    await server.start_server()
    try:
        yield svc, server
    finally:
        svc.release.set()
        await server.close()


@pytest.fixture
async def fetcher() -> AsyncIterator[AiohttpFetcher]:
    fetcher = AiohttpFetcher()
    yield fetcher
    await fetcher.close()


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path)) + SECRET_QUERY


async def test_a_json_answer_is_decoded_and_the_request_carries_body_and_headers(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher
) -> None:
    svc, server = service

    answer = await fetcher.fetch(
        "POST", url(server, "/balance"), body={"account": "4711"}, headers={"X-Call": "c1"}, timeout_s=2
    )

    assert answer == {"balance": "1250.50", "items": [{"id": 7}]}
    assert svc.seen == [
        {
            "method": "POST",
            "query": {"account": "4711", "pin": "8642"},
            "body": {"account": "4711"},
            "agent": "ccapp-ivr",
            "call": "c1",
        }
    ]


async def test_a_get_sends_no_body_and_the_session_is_reused(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher
) -> None:
    svc, server = service

    for _ in range(2):
        await fetcher.fetch("GET", url(server, "/balance"), body=None, headers={}, timeout_s=2)

    assert [s["body"] for s in svc.seen] == [None, None]


async def test_an_answer_larger_than_one_read_chunk_is_read_whole(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher
) -> None:
    _, server = service

    answer = await fetcher.fetch("GET", url(server, "/big"), body=None, headers={}, timeout_s=2)

    assert len(answer["items"]) == 5000


async def test_a_closed_fetcher_opens_a_new_session_on_the_next_request(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher
) -> None:
    _, server = service
    await fetcher.fetch("GET", url(server, "/balance"), body=None, headers={}, timeout_s=2)
    await fetcher.close()

    answer = await fetcher.fetch("GET", url(server, "/balance"), body=None, headers={}, timeout_s=2)

    assert answer["balance"] == "1250.50"


async def fails(fetcher: AiohttpFetcher, target: str, *, timeout_s: float = 2) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("POST", target, body={"pin": "8642"}, headers={}, timeout_s=timeout_s)
    error = caught.value
    text = str(error)
    assert "8642" not in text
    assert "4711" not in text
    assert "pin=" not in text
    assert "?" not in text
    # no chained exception prints the URL in a traceback
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "HTTP status 404"),
        ("/text", "answer is not JSON"),
        ("/latin1", "answer is not JSON"),
        ("/huge", "answer larger than 1 MiB"),
        ("/nothing-here", "HTTP status 404"),
    ],
)
async def test_a_bad_answer_is_a_fetch_error_without_the_query(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher, path: str, message: str
) -> None:
    _, server = service

    error = await fails(fetcher, url(server, path))

    assert str(error) == message


async def test_no_answer_within_the_timeout_is_a_fetch_error(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher
) -> None:
    _, server = service

    error = await fails(fetcher, url(server, "/slow"), timeout_s=0.05)

    assert str(error) == "no answer within 0.05 s"


async def test_a_refused_connection_is_a_fetch_error_naming_only_the_error_type(
    fetcher: AiohttpFetcher,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on the port any more

    error = await fails(fetcher, f"http://127.0.0.1:{port}/balance{SECRET_QUERY}")

    assert str(error) == "request failed (ClientConnectorError)"


async def test_a_header_with_a_line_break_is_a_fetch_error_not_a_crash(
    service: tuple[Service, TestServer], fetcher: AiohttpFetcher
) -> None:
    _, server = service
    # header values come from templates such as {caller.name}, which the caller controls
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(
            "GET", url(server, "/balance"), body=None, headers={"X-Name": "Eve\r\nX-Pin: 8642"}, timeout_s=2
        )

    assert str(caught.value) == "request refused (invalid header or URL)"
    assert caught.value.__suppress_context__
