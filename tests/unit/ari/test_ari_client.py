"""The ARI REST client against a small aiohttp server: encoding, parsing, error mapping."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ccapp.errors import CallGone, NotConnected, ProtocolError, TelephonyError
from ccapp.telephony.ari import endpoints
from ccapp.telephony.ari.client import AriClient, AriRequestError
from ccapp.telephony.ari.endpoints import USED_ENDPOINTS, Endpoint

PASSWORD = "s3cret-pass"
CHANNEL = {"id": "1.1", "name": "PJSIP/alice-00000001", "state": "Up", "dialplan": {"app_name": "Stasis"}}


@dataclass
class Fake:
    """What the fake Asterisk received and what it answers."""

    requests: list[web.Request] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    answers: dict[tuple[str, str], web.Response] = field(default_factory=dict)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, AriClient]]:
    state = Fake()

    async def handle(request: web.Request) -> web.StreamResponse:
        state.requests.append(request)
        state.bodies.append(await request.json() if request.can_read_body else None)
        key = (request.method, request.path)
        if key in state.answers:
            return state.answers[key]
        if request.path == "/ari/slow":
            await asyncio.sleep(5)
        return web.json_response({"message": "Resource not found"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = AriClient(str(server.make_url("")), "ccapp", PASSWORD, "ccapp", timeout=0.5)
    await client.start()
    try:
        yield state, client
    finally:
        await client.close()
        await server.close()


def answer(state: Fake, method: str, path: str, body: Any = None, status: int = 200) -> None:
    if body is None:
        state.answers[(method, path)] = web.Response(status=204 if status == 200 else status)
    else:
        state.answers[(method, path)] = web.json_response(body, status=status)


async def test_play_sends_media_as_one_comma_list_with_basic_auth_and_parses_the_playback(
    fake: tuple[Fake, AriClient],
) -> None:
    state, client = fake
    playback = {"id": "pb1", "media_uri": "sound:beep", "target_uri": "channel:1.1", "state": "queued"}
    answer(state, "POST", "/ari/channels/1.1/play", playback, 201)
    result = await client.channels.play("1.1", ["sound:beep", "digits:12"], playback_id="pb1")
    assert (result.id, result.channel_id, result.state) == ("pb1", "1.1", "queued")
    request = state.requests[-1]
    assert request.query["media"] == "sound:beep,digits:12"
    assert request.query["playbackId"] == "pb1"
    assert "lang" not in request.query
    assert request.headers["Authorization"].startswith("Basic ")
    assert PASSWORD not in str(request.url)


async def test_originate_sends_variables_in_the_body_and_the_clients_app_by_default(
    fake: tuple[Fake, AriClient],
) -> None:
    state, client = fake
    answer(state, "POST", "/ari/channels", CHANNEL)
    channel = await client.channels.originate(
        "Local/D12#@ccapp-test", app_args=["agent", "42"], timeout=20, variables={"CCAPP_LEAD": "7"}
    )
    assert channel.id == "1.1"
    request = state.requests[-1]
    assert dict(request.query) == {
        "endpoint": "Local/D12#@ccapp-test",
        "app": "ccapp",
        "appArgs": "agent,42",
        "timeout": "20",
    }
    assert state.bodies[-1] == {"variables": {"CCAPP_LEAD": "7"}}


async def test_booleans_go_as_true_false_and_several_channels_as_one_list(
    fake: tuple[Fake, AriClient],
) -> None:
    state, client = fake
    answer(state, "POST", "/ari/bridges/b1/addChannel")
    await client.bridges.add_channel("b1", ["1.1", "1.2"], absorb_dtmf=True, mute=False)
    assert dict(state.requests[-1].query) == {"channel": "1.1,1.2", "absorbDTMF": "true", "mute": "false"}


async def test_live_channel_listing_and_stored_file_bytes(fake: tuple[Fake, AriClient]) -> None:
    state, client = fake
    answer(state, "GET", "/ari/channels", [CHANNEL])
    state.answers[("GET", "/ari/recordings/stored/r1/file")] = web.Response(body=b"RIFF....WAVE")
    answer(state, "GET", "/ari/applications/ccapp", {"channel_ids": ["1.1", "1.2"]})
    assert [c.id for c in await client.channels.list()] == ["1.1"]
    assert await client.recordings.stored_file("r1") == b"RIFF....WAVE"
    assert await client.applications.channel_ids("ccapp") == {"1.1", "1.2"}


async def test_404_on_a_channel_means_the_call_is_gone(fake: tuple[Fake, AriClient]) -> None:
    _, client = fake
    with pytest.raises(CallGone):
        await client.channels.answer("gone.1")


async def test_404_elsewhere_is_a_telephony_error_with_the_ari_message(fake: tuple[Fake, AriClient]) -> None:
    _, client = fake
    with pytest.raises(AriRequestError) as caught:
        await client.playbacks.stop("pb-old")
    assert not isinstance(caught.value, CallGone)
    assert caught.value.status == 404
    assert "Resource not found" in str(caught.value)


async def test_409_and_500_are_telephony_errors_without_secrets(fake: tuple[Fake, AriClient]) -> None:
    state, client = fake
    answer(state, "POST", "/ari/channels/1.1/play", {"message": "Channel not in Stasis application"}, 409)
    state.answers[("POST", "/ari/channels/1.1/answer")] = web.Response(status=500, text="Internal Error")
    with pytest.raises(TelephonyError, match="409 Channel not in Stasis application") as caught:
        await client.channels.play("1.1", ["sound:beep"])
    with pytest.raises(TelephonyError, match="500 Internal Error") as caught2:
        await client.channels.answer("1.1")
    for error in (caught.value, caught2.value):
        assert PASSWORD not in str(error)
        assert not isinstance(error, CallGone | NotConnected)


async def test_an_answer_that_is_not_json_is_a_protocol_error(fake: tuple[Fake, AriClient]) -> None:
    state, client = fake
    state.answers[("GET", "/ari/asterisk/ping")] = web.Response(text="<html>")
    with pytest.raises(ProtocolError):
        await client.asterisk.ping()


async def test_a_slow_asterisk_is_not_connected(fake: tuple[Fake, AriClient]) -> None:
    _, client = fake
    slow = Endpoint("GET", "/slow")
    with pytest.raises(NotConnected, match="timed out"):
        await client.call(slow)


async def test_nobody_listening_is_not_connected_and_names_no_secret() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AriClient(f"http://127.0.0.1:{port}", "ccapp", PASSWORD, "ccapp") as client:
        with pytest.raises(NotConnected) as caught:
            await client.asterisk.info()
    assert PASSWORD not in str(caught.value)


async def test_a_client_not_started_is_not_connected() -> None:
    client = AriClient("http://127.0.0.1:1", "ccapp", PASSWORD, "ccapp")
    with pytest.raises(NotConnected):
        await client.channels.get("1.1")


async def test_a_parameter_the_endpoint_does_not_declare_is_refused_before_sending(
    fake: tuple[Fake, AriClient],
) -> None:
    state, client = fake
    with pytest.raises(ValueError, match="undeclared"):
        await client.call(endpoints.CHANNEL_ANSWER, {"channelId": "1.1"}, {"force": True})
    with pytest.raises(ValueError, match="path parameters"):
        await client.call(endpoints.CHANNEL_ANSWER)
    assert state.requests == []


def test_the_endpoint_table_lists_every_endpoint_the_module_defines_once() -> None:
    defined = {v for v in vars(endpoints).values() if isinstance(v, Endpoint)}
    assert defined == set(USED_ENDPOINTS)
    assert len(USED_ENDPOINTS) == len(set(USED_ENDPOINTS))
    assert len({(e.method, e.path) for e in USED_ENDPOINTS}) == len(USED_ENDPOINTS)


async def test_an_endpoint_is_read_by_technology_and_resource(fake: tuple[Fake, AriClient]) -> None:
    state, client = fake
    body = {"technology": "PJSIP", "resource": "1001", "state": "offline", "channel_ids": []}
    answer(state, "GET", "/ari/endpoints/PJSIP/1001", body)
    endpoint = await client.endpoints.get("PJSIP", "1001")
    assert (endpoint.name, endpoint.state, endpoint.online, endpoint.channel_ids) == (
        "PJSIP/1001",
        "offline",
        False,
        (),
    )
    with pytest.raises(AriRequestError) as caught:
        await client.endpoints.get("PJSIP", "nobody")
    assert caught.value.status == 404


async def test_subscribing_sends_the_event_sources_as_one_list(fake: tuple[Fake, AriClient]) -> None:
    state, client = fake
    answer(state, "POST", "/ari/applications/ccapp/subscription", {"name": "ccapp"})
    await client.applications.subscribe("ccapp", "endpoint:PJSIP/1001")
    answer(state, "POST", "/ari/applications/ccapp/subscription", {"name": "ccapp"})  # one use per answer
    await client.applications.subscribe("ccapp", ["endpoint:PJSIP/1001", "endpoint:PJSIP/1002"])
    assert [dict(r.query) for r in state.requests] == [
        {"eventSource": "endpoint:PJSIP/1001"},
        {"eventSource": "endpoint:PJSIP/1001,endpoint:PJSIP/1002"},
    ]
