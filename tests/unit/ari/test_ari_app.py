"""AriApp: StasisStart hand-off, per-channel routing, reconcile after a reconnect."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from ccapp.errors import CallGone
from ccapp.telephony.ari.app import AriApp
from ccapp.telephony.ari.control import AriCallControl, FeedSignal
from ccapp.telephony.ari.events import (
    AriEvent,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    StasisStart,
)
from ccapp.telephony.ari.stream import AriEventStream

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def base(kind: str) -> dict[str, Any]:
    return {"type": kind, "timestamp": T0, "application": "ccapp"}


def channel(cid: str, app_data: str | None = "ccapp,inbound,first") -> Channel:
    return Channel(id=cid, name=f"PJSIP/x-{cid}", state="Up", app_name="Stasis", app_data=app_data)


def start(cid: str) -> StasisStart:
    return StasisStart(**base("StasisStart"), channel=channel(cid), args=("inbound", "first"))


def key(cid: str, digit: str) -> ChannelDtmfReceived:
    return ChannelDtmfReceived(**base("ChannelDtmfReceived"), channel=channel(cid), digit=digit)


class FakeChannels:
    def __init__(self) -> None:
        self.live: list[Channel] = []

    async def list(self) -> list[Channel]:
        return self.live


class FakeClient:
    def __init__(self) -> None:
        self.channels = FakeChannels()


@pytest.fixture
def parts() -> tuple[FakeClient, AriEventStream]:
    return FakeClient(), AriEventStream("http://127.0.0.1:1", "u", "p", "ccapp")


async def test_stasis_start_hands_a_ready_control_to_the_callback_and_routes_its_keys(
    parts: tuple[FakeClient, AriEventStream],
) -> None:
    client, stream = parts
    got: list[AriCallControl] = []
    seen: list[AriEvent] = []

    async def on_start(event: StasisStart, control: AriCallControl) -> None:
        assert event.args == ("inbound", "first")
        got.append(control)

    async def on_event(event: AriEvent) -> None:
        seen.append(event)

    app = AriApp(client, stream, on_stasis_start=on_start, on_event=on_event)  # type: ignore[arg-type]
    assert stream.handler == app.dispatch
    for event in (start("1.1"), key("1.1", "4"), key("1.1", "#"), key("9.9", "1")):
        await stream.handler(event)
    (control,) = got
    assert control.channel_id == "1.1"
    async with asyncio.timeout(1):
        result = await control.collect_digits(max_digits=3)
    assert (result.digits, result.terminator) == ("4", "#")
    assert len(seen) == 4  # every event reaches on_event, routed or not


async def test_a_destroyed_channel_is_unsubscribed_and_its_control_raises_call_gone(
    parts: tuple[FakeClient, AriEventStream],
) -> None:
    client, stream = parts
    got: list[AriCallControl] = []

    async def on_start(event: StasisStart, control: AriCallControl) -> None:
        got.append(control)

    app = AriApp(client, stream, on_stasis_start=on_start)  # type: ignore[arg-type]
    await app.dispatch(start("1.1"))
    assert app.channel_ids == {"1.1"}
    await app.dispatch(ChannelDestroyed(**base("ChannelDestroyed"), channel=channel("1.1"), cause=16))
    assert app.channel_ids == set()
    with pytest.raises(CallGone):
        await got[0].collect_digits(max_digits=1)


async def test_a_pre_subscribed_channel_gets_its_stasis_start_in_its_queue_not_the_callback(
    parts: tuple[FakeClient, AriEventStream],
) -> None:
    client, stream = parts
    calls: list[str] = []

    async def on_start(event: StasisStart, control: AriCallControl) -> None:
        calls.append(event.channel.id)

    app = AriApp(client, stream, on_stasis_start=on_start)  # type: ignore[arg-type]
    queue = app.subscribe("agent-1")
    await app.dispatch(start("agent-1"))
    event = queue.get_nowait()
    assert isinstance(event, StasisStart)
    assert calls == []
    assert app.control_for(event).channel_id == "agent-1"


async def test_reconnect_marks_vanished_channels_lost_and_reports_the_live_ones(
    parts: tuple[FakeClient, AriEventStream],
) -> None:
    client, stream = parts
    reported: list[set[str]] = []

    async def on_start(event: StasisStart, control: AriCallControl) -> None:
        pass

    async def on_reconnect(live: set[str]) -> None:
        reported.append(live)

    app = AriApp(client, stream, on_stasis_start=on_start, on_reconnect=on_reconnect)  # type: ignore[arg-type]
    kept, lost = app.subscribe("1.1"), app.subscribe("1.2")
    client.channels.live = [
        channel("1.1"),
        channel("1.3", app_data="other-app"),  # in Stasis elsewhere
        Channel(id="1.4", name="PJSIP/y", state="Up", app_name="Wait", app_data="3"),  # in the dialplan
    ]
    assert stream.on_connect is not None
    await stream.on_connect()
    assert reported == [{"1.1"}]
    assert kept.get_nowait() is FeedSignal.RESYNC
    assert lost.get_nowait() is FeedSignal.LOST
    assert app.channel_ids == {"1.1"}
