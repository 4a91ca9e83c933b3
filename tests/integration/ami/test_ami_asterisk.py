"""The AMI client against the real Asterisk 22 test bed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from ccapp.errors import NotConnected, TelephonyError
from ccapp.telephony.ami import AmiClient, AmiMessage
from tests.support import testbed

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def ami(asterisk: None) -> AsyncIterator[AmiClient]:
    client = AmiClient(testbed.AMI_HOST, testbed.AMI_PORT, testbed.AMI_USER, testbed.AMI_PASSWORD)
    await client.connect()
    yield client
    await client.close()


async def test_login_and_ping(ami: AmiClient) -> None:
    assert ami.connected
    assert 0 <= await ami.ping() < 1.0


async def test_a_wrong_secret_is_not_connected_with_asterisks_reason(asterisk: None) -> None:
    client = AmiClient(testbed.AMI_HOST, testbed.AMI_PORT, testbed.AMI_USER, "not-the-secret")
    with pytest.raises(NotConnected, match="Authentication failed"):
        await client.connect()
    await client.close()


async def test_the_test_bed_runs_asterisk_22(ami: AmiClient) -> None:
    settings = await ami.action("CoreSettings")
    assert settings["AsteriskVersion"].startswith("22.")


def ccapp_may_run_cli_commands() -> bool:
    """Whether the test bed's manager.conf gives ccapp the "command" write class."""
    conf = (testbed.REPO / "asterisk-conf" / "testbed" / "manager.conf").read_text()
    write = [line for line in conf.splitlines() if line.replace(" ", "").startswith("write=")]
    return any("command" in line for line in write)


async def test_core_show_version_over_command(ami: AmiClient) -> None:
    if ccapp_may_run_cli_commands():
        assert "Asterisk 22" in await ami.command("core show version")
    else:
        with pytest.raises(TelephonyError, match="Permission denied"):
            await ami.command("core show version")


async def test_originate_a_local_caller_and_see_the_originate_response(ami: AmiClient) -> None:
    originate = await ami.originate(
        "Local/silent@ccapp-test", context="ccapp-test", exten="silent", timeout_s=10
    )
    assert originate.response.message == "Originate successfully queued"
    outcome = await originate.wait(15)
    assert outcome.event == "OriginateResponse"
    assert outcome["Response"] == "Success"
    assert outcome.action_id == originate.action_id
    channel = outcome["Channel"]
    assert channel.startswith("Local/silent@ccapp-test-")
    await ami.action("Hangup", {"Channel": channel})  # do not leave it up for a minute


async def test_originate_to_a_missing_extension_reports_failure(ami: AmiClient) -> None:
    originate = await ami.originate(
        "Local/nope@ccapp-test", context="ccapp-test", exten="silent", timeout_s=5
    )
    outcome = await originate.wait(15)
    assert outcome["Response"] == "Failure"


async def test_a_dialplan_user_event_reaches_the_handler(ami: AmiClient) -> None:
    token = uuid.uuid4().hex
    received: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()

    def on_user_event(event: AmiMessage) -> None:
        if event.get("Token") == token and not received.done():
            received.set_result(event)

    ami.on_event("UserEvent", on_user_event)
    originate = await ami.originate(
        "Local/silent@ccapp-test", application="UserEvent", data=f"CcappTest,Token: {token}", timeout_s=10
    )
    event = await asyncio.wait_for(received, 15)
    assert event["UserEvent"] == "CcappTest"
    assert (await originate.wait(15))["Response"] == "Success"
