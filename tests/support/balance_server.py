"""A tiny HTTP service for tests of the IVR ``http`` node: account balances and misbehaviour.

    GET  /balance?account=<digits>  200 {"balance": "1250", "currency": "EUR", "name": "…"}
                                    404 {"error": "unknown account", "account": …}; 400 without digits
    POST /balance {"account", "pin"} the same, after checking the PIN (403 when wrong): what the
                                    sample tree of ccapp.yaml.example sends
    GET  /slow                      answers only after ``slow_s`` (default 60 s): past any timeout
    GET  /broken                    200, Content-Type application/json, a body that is not JSON
    POST /lookup                    200 echoing the JSON body; 400 {"error": …} if it is not JSON

Use it as an async context manager, which binds a free port on 127.0.0.1 and gives the base URL::

    async with BalanceServer() as url:          # e.g. "http://127.0.0.1:41234"
        ...fetch f"{url}/balance?account=12345"...

or through the pytest fixtures ``balance_server`` (the started `BalanceServer`, with ``url`` and
``requests``) and ``balance_url`` (just the URL): ``from tests.support.balance_server import
balance_server, balance_url`` in a test module or conftest.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType

import pytest
from aiohttp import web

#: accounts known to the server (a caller types the key)
ACCOUNTS: Mapping[str, Mapping[str, str]] = {
    "4711": {"balance": "1250.50", "currency": "euro", "name": "Dana Weber"},
    "12345": {"balance": "1250", "currency": "EUR", "name": "Alice Martin"},
    "67890": {"balance": "-42", "currency": "EUR", "name": "Bob Leroy"},
    "11111": {"balance": "0", "currency": "USD", "name": "Carol Smith"},
}


#: PINs for POST /balance
PINS: Mapping[str, str] = {"4711": "8352", "12345": "1234"}


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the server answered."""

    method: str
    path_qs: str
    body: str


class BalanceServer:
    """The service on 127.0.0.1 and a free port. ``requests`` lists what it was asked, in order."""

    def __init__(self, accounts: Mapping[str, Mapping[str, str]] = ACCOUNTS, *, slow_s: float = 60.0) -> None:
        self.accounts = dict(accounts)
        self.slow_s = slow_s
        self.requests: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        """Listen and return the base URL (no trailing slash)."""
        app = web.Application()
        app.router.add_get("/balance", self._balance)
        app.router.add_post("/balance", self._balance_with_pin)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/broken", self._broken)
        app.router.add_post("/lookup", self._lookup)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        """Stop; requests still waiting in ``/slow`` are released first."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- handlers ----------------------------------------------------------------------------------

    async def _note(self, request: web.Request) -> str:
        body = await request.text() if request.can_read_body else ""
        self.requests.append(Seen(request.method, request.path_qs, body))
        return body

    async def _balance(self, request: web.Request) -> web.Response:
        await self._note(request)
        account = request.query.get("account", "")
        if not account.isdigit():
            return web.json_response({"error": "account must be digits"}, status=400)
        known = self.accounts.get(account)
        if known is None:
            return web.json_response({"error": "unknown account", "account": account}, status=404)
        return web.json_response(dict(known))

    async def _balance_with_pin(self, request: web.Request) -> web.Response:
        body = await self._note(request)
        try:
            data = json.loads(body)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        account = str(data.get("account", ""))
        known = self.accounts.get(account)
        if known is None:
            return web.json_response({"error": "unknown account", "account": account}, status=404)
        if str(data.get("pin", "")) != PINS.get(account, ""):
            return web.json_response({"error": "wrong PIN"}, status=403)
        return web.json_response(dict(known))

    async def _slow(self, request: web.Request) -> web.Response:
        await self._note(request)
        # waits on the stop signal rather than sleeping, so stopping the server is immediate
        try:
            async with asyncio.timeout(self.slow_s):
                await self._stopping.wait()
        except TimeoutError:
            pass
        return web.json_response({"slow": True})

    async def _broken(self, request: web.Request) -> web.Response:
        await self._note(request)
        return web.Response(text='{"balance": "12', content_type="application/json")

    async def _lookup(self, request: web.Request) -> web.Response:
        body = await self._note(request)
        try:
            data = json.loads(body)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        return web.json_response(data)


@pytest.fixture
async def balance_server() -> AsyncIterator[BalanceServer]:
    """A started `BalanceServer` (``.url``, ``.requests``), stopped after the test."""
    server = BalanceServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def balance_url(balance_server: BalanceServer) -> str:
    """The base URL of a started `BalanceServer`, e.g. ``http://127.0.0.1:41234``."""
    return balance_server.url


def main() -> None:
    """``python -m tests.support.balance_server [PORT]``: serve until interrupted (for scripts/demo)."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8099

    async def serve() -> None:
        server = BalanceServer()
        app = web.Application()
        app.router.add_get("/balance", server._balance)
        app.router.add_post("/balance", server._balance_with_pin)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print(f"balance service on http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
