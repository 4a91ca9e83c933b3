from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from ccapp.errors import NotConnected, TelephonyError
from ccapp.telephony.ami import AmiClient, AmiMessage
from tests.unit.ami.fake_ami import FakeAmi


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()


def client_for(fake: FakeAmi, **options: float | bool) -> AmiClient:
    return AmiClient(
        "127.0.0.1",
        fake.port,
        "ccapp",
        "secret",
        reconnect_delay=0.02,
        **options,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def connected(fake: FakeAmi, **options: float | bool) -> AsyncIterator[AmiClient]:
    client = client_for(fake, **options)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def relogin(fake: FakeAmi, client: AmiClient) -> None:
    await asyncio.wait_for(fake.login_seen.wait(), 5)
    await client.wait_connected(5)


async def test_login_ping_and_command(fake: FakeAmi) -> None:
    async with connected(fake) as client:
        assert client.connected
        assert await client.ping() >= 0
        assert await client.command("core show version") == "Asterisk 22.0.0 built by fake\nsecond line"
        login = fake.actions[0]
        assert login["action"] == "Login"
        assert login["username"] == "ccapp"
    assert not client.connected


async def test_bad_credentials_raise_not_connected_with_the_reason(fake: FakeAmi) -> None:
    client = AmiClient("127.0.0.1", fake.port, "ccapp", "wrong")
    with pytest.raises(NotConnected, match="refused login as 'ccapp': Authentication failed"):
        await client.connect()
    assert not client.connected
    await client.close()


async def test_a_refused_connection_raises_not_connected(fake: FakeAmi) -> None:
    port = fake.port
    await fake.close()
    client = AmiClient("127.0.0.1", port, "ccapp", "secret")
    with pytest.raises(NotConnected, match=f"127.0.0.1:{port} unreachable"):
        await client.connect()
    await client.close()


async def test_originate_returns_the_response_and_awaits_the_originate_response(fake: FakeAmi) -> None:
    async with connected(fake) as client:
        originate = await client.originate(
            "Local/200@from-callers",
            context="ccapp-test",
            exten="D12#",
            caller_id="Test <100>",
            timeout_s=7,
            variables={"A": "1"},
            action_id="my-id",
        )
        assert originate.action_id == "my-id"
        assert originate.response.message == "Originate successfully queued"
        outcome = await originate.wait(5)
        assert outcome.event == "OriginateResponse"
        assert outcome["Reason"] == "5"
        sent = fake.actions[-1]
        assert sent["channel"] == "Local/200@from-callers"
        assert sent["context"] == "ccapp-test"
        assert sent["exten"] == "D12#"
        assert sent["priority"] == "1"
        assert sent["timeout"] == "7000"
        assert sent["async"] == "true"
        assert sent["callerid"] == "Test <100>"
        assert sent["variable"] == "A=1"


async def test_originate_needs_a_destination(fake: FakeAmi) -> None:
    async with connected(fake) as client:
        with pytest.raises(ValueError, match="either"):
            await client.originate("Local/1@x")
        with pytest.raises(ValueError, match="either"):
            await client.originate("Local/1@x", context="c", application="Wait")


async def test_an_error_response_is_a_telephony_error(fake: FakeAmi) -> None:
    async with connected(fake) as client:
        with pytest.raises(TelephonyError, match="Invalid/unknown command"):
            await client.action("NoSuchAction")


async def test_an_unanswered_action_times_out(fake: FakeAmi) -> None:
    async with connected(fake, action_timeout=0.05) as client:
        with pytest.raises(TelephonyError, match="no response"):
            await client.action("Hold")
        assert await client.ping() >= 0


async def test_events_reach_sync_async_and_wildcard_handlers_until_unsubscribed(
    fake: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def on_user_event(event: AmiMessage) -> None:
        seen.append(f"async {event['UserEvent']}")
        done.set()

    def broken(event: AmiMessage) -> None:
        raise RuntimeError("handler bug")

    async with connected(fake) as client:
        client.on_event("UserEvent", broken)
        unsubscribe = client.on_event("userevent", lambda e: seen.append(f"sync {e['UserEvent']}"))
        client.on_event("User*", on_user_event)
        fake.event([("Event", "UserEvent"), ("UserEvent", "CcappTest")])
        await asyncio.wait_for(done.wait(), 5)
        unsubscribe()
        done.clear()
        fake.event([("Event", "UserEvent"), ("UserEvent", "Second")])
        await asyncio.wait_for(done.wait(), 5)
    assert seen == ["sync CcappTest", "async CcappTest", "async Second"]
    assert "handler failed" in caplog.text


async def test_the_client_reconnects_and_logs_in_again_after_the_link_drops(fake: FakeAmi) -> None:
    events: list[str] = []
    got = asyncio.Event()
    async with connected(fake) as client:

        def on_user_event(event: AmiMessage) -> None:
            events.append(event["UserEvent"])
            got.set()

        client.on_event("UserEvent", on_user_event)
        fake.login_seen.clear()
        await fake.drop_all()
        await relogin(fake, client)
        assert client.reconnects == 1
        assert fake.logins == 2
        assert await client.ping() >= 0
        fake.event([("Event", "UserEvent"), ("UserEvent", "AfterReconnect")])
        await asyncio.wait_for(got.wait(), 5)
    assert events == ["AfterReconnect"]


async def test_the_client_keeps_trying_while_asterisk_is_down(fake: FakeAmi) -> None:
    async with connected(fake, max_reconnect_delay=0.05) as client:
        fake.login_seen.clear()
        await fake.close()
        with pytest.raises(NotConnected):
            await client.ping()
        with pytest.raises(TimeoutError):
            await client.wait_connected(0.3)  # several refused attempts in this time
        await fake.start()  # same port
        await relogin(fake, client)
        assert await client.ping() >= 0


async def test_an_action_in_flight_fails_on_a_drop_and_is_never_re_sent(fake: FakeAmi) -> None:
    async with connected(fake) as client:
        pending = asyncio.create_task(client.action("Hold"))
        await asyncio.wait_for(fake.action_seen.wait(), 5)
        fake.login_seen.clear()
        await fake.drop_all()
        with pytest.raises(NotConnected):
            await pending
        await relogin(fake, client)
        await client.ping()
        assert [a["action"] for a in fake.actions].count("Hold") == 1


async def test_without_reconnect_the_client_stays_down(fake: FakeAmi) -> None:
    async with connected(fake, reconnect=False) as client:
        fake.login_seen.clear()
        await fake.drop_all()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fake.login_seen.wait(), 0.2)
        assert not client.connected
        with pytest.raises(NotConnected):
            await client.ping()


async def test_a_silent_asterisk_is_noticed_by_the_keepalive(fake: FakeAmi) -> None:
    async with connected(fake, ping_interval=0.05, action_timeout=0.1) as client:
        fake.login_seen.clear()
        fake.silent = True
        fake.action_seen.clear()
        await asyncio.wait_for(fake.action_seen.wait(), 5)  # the keepalive Ping, unanswered
        fake.silent = False
        await relogin(fake, client)
        assert client.reconnects == 1


async def test_a_shutdown_event_makes_the_client_reconnect(fake: FakeAmi) -> None:
    async with connected(fake) as client:
        fake.login_seen.clear()
        fake.event([("Event", "Shutdown"), ("Shutdown", "Cleanly"), ("Restart", "True")])
        await relogin(fake, client)
        assert client.reconnects == 1


async def test_close_during_reconnect_stops_for_good(fake: FakeAmi) -> None:
    client = client_for(fake)
    await client.connect()
    await fake.close()
    await asyncio.sleep(0.1)  # let it fail a reconnect or two
    await client.close()
    fake.login_seen.clear()
    await fake.start()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(fake.login_seen.wait(), 0.2)
    assert not client.connected


def test_ami_message_is_case_insensitive_and_keeps_repeated_headers() -> None:
    message = AmiMessage.from_headers({"Response": "Success", "Output": ["a", "b"], "ActionID": "x"})
    assert message["response"] == "Success"
    assert message.get_all("OUTPUT") == ("a", "b")
    assert message.action_id == "x"
    assert message.success
    assert "output" in message
    assert message.get("nope") is None
    assert dict(message.items())["Output"] == "a"
    with pytest.raises(KeyError):
        message["nope"]
