"""Agent phones as ARI endpoints, on the real Asterisk 22 test bed: a SIPp phone registers as
PJSIP/1001 with digest auth (asterisk-conf/pjsip.conf), stays registered while it answers
Asterisk's qualify OPTIONS, then unregisters; the application subscribed to ``endpoint:PJSIP/1001``
sees EndpointStateChange online, then offline.

Measured on the test bed (2026-11-26): the online event arrives ~1 ms after Asterisk accepts the
REGISTER (~1 s after sipp is launched, most of it sipp starting in the chroot), the offline event
~1 ms after the unregister; GET /endpoints agrees in between.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from ccapp.telephony.ari import AriRequestError
from ccapp.telephony.ari.events import EndpointStateChange
from tests.integration.ari.test_ari_live import FIXTURES, RECORD, Bed
from tests.support import testbed

pytestmark = pytest.mark.asterisk

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
#: agent phone 1001 of asterisk-conf/pjsip.conf (its auth section's password)
PHONE, PASSWORD = "1001", "change-me"


async def register_phone(extension: str, password: str, hold_s: float) -> testbed.SippResult:
    """A SIPp phone that registers as ``extension``, stays ``hold_s`` (answering qualify OPTIONS),
    then unregisters; returns when it has."""
    ooc = SCENARIOS / "ooc_options_ok.xml"
    shutil.copy(ooc, testbed.sandbox_root() / "tmp" / ooc.name)
    hold_ms = str(int(hold_s * 1000))
    return await testbed.run_sipp(
        SCENARIOS / "register_agent.xml",
        service=extension,
        timeout=hold_s + 20,
        extra=("-au", extension, "-ap", password, "-d", hold_ms, "-oocsf", f"/tmp/{ooc.name}"),
    )


def _changes(bed: Bed, endpoint: str) -> list[EndpointStateChange]:
    return [e for e in bed.seen if isinstance(e, EndpointStateChange) and e.endpoint.name == endpoint]


async def test_a_phone_that_registers_then_unregisters_is_seen_online_then_offline(bed: Bed) -> None:
    endpoint = f"PJSIP/{PHONE}"
    before = await bed.client.endpoints.get("PJSIP", PHONE)
    assert (before.name, before.state) == (endpoint, "offline"), "is another phone registered as 1001?"
    await bed.client.applications.subscribe(bed.name, f"endpoint:{endpoint}")

    launched = time.monotonic()
    phone = asyncio.create_task(register_phone(PHONE, PASSWORD, hold_s=3))
    async with asyncio.timeout(15):
        await bed.wait_for(lambda e: isinstance(e, EndpointStateChange) and e.endpoint.online is True)
        online_at = time.monotonic()
        during = await bed.client.endpoints.get("PJSIP", PHONE)
        await bed.wait_for(lambda e: isinstance(e, EndpointStateChange) and e.endpoint.online is False)
        offline_at = time.monotonic()
        result = await phone
    assert result.ok, result.stderr[-2000:]
    after = await bed.client.endpoints.get("PJSIP", PHONE)

    assert during.state == "online"
    assert after.state == "offline"
    assert [e.endpoint.state for e in _changes(bed, endpoint)] == ["online", "offline"]
    first, last = _changes(bed, endpoint)
    # the phone held its registration for 3 s: Asterisk's own timestamps show it
    assert (last.timestamp - first.timestamp).total_seconds() == pytest.approx(3.0, abs=0.5)
    print(
        f"online {online_at - launched:.3f} s after sipp was launched; "
        f"offline {offline_at - online_at:.3f} s after online (held 3 s)"
    )
    if RECORD:
        lines = [line.replace(bed.name, "ccapp") for line in bed.raw if '"endpoint"' in line]
        (FIXTURES / "events-endpoint-register.jsonl").write_text("\n".join(lines) + "\n")


async def test_an_endpoint_asterisk_does_not_have_is_an_error_not_a_crash(bed: Bed) -> None:
    with pytest.raises(AriRequestError) as caught:
        await bed.client.endpoints.get("PJSIP", "no-such-phone")
    assert caught.value.status == 404
    # subscribing to it is refused the same way, so ccapp logs it and goes on
    with pytest.raises(AriRequestError):
        await bed.client.applications.subscribe(bed.name, "endpoint:PJSIP/no-such-phone")
