"""Generated SIPp callers (tests/support/sipp_dtmf.py) against the real Asterisk: the dialplan-only
extension 399 reads the keys and reports them in a UserEvent."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from ccapp.telephony.ami import AmiClient, AmiMessage
from tests.support.sipp_dtmf import dtmf_caller, run_dtmf_caller

pytestmark = pytest.mark.asterisk


def digits_event(ami: AmiClient) -> asyncio.Future[AmiMessage]:
    found: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()

    def check(event: AmiMessage) -> None:
        if event.get("UserEvent") == "CcappTestDigits" and not found.done():
            found.set_result(event)

    unsubscribe = ami.on_event("UserEvent", check)
    found.add_done_callback(lambda _: unsubscribe())
    return found


def scenario_dir(tmp_path: Path) -> Path:
    # run_sipp copies by file name into the chroot's /tmp: keep names unique across runs
    path = tmp_path / uuid.uuid4().hex[:8]
    path.mkdir()
    return path


async def test_a_generated_caller_types_its_keys_and_takes_the_bye(ami: AmiClient, tmp_path: Path) -> None:
    # repeated keys and keys whose stock captures would go back in time (* then 0)
    scenario = dtmf_caller(scenario_dir(tmp_path), "4,7 w500 *0 11#", bye_timeout_ms=15000)
    reported = digits_event(ami)
    result = await run_dtmf_caller(scenario, service="399", timeout=30)
    assert result.ok, result.stdout[-3000:] + result.stderr[-2000:]
    event = await asyncio.wait_for(reported, 5)
    assert (event["Digits"], event["Status"]) == ("47*011", "OK")


async def test_a_caller_hanging_up_mid_input_ends_its_call_itself(ami: AmiClient, tmp_path: Path) -> None:
    scenario = dtmf_caller(scenario_dir(tmp_path), "1", hangup_after_ms=1000)
    result = await run_dtmf_caller(scenario, service="399", timeout=30)
    assert result.ok, result.stdout[-3000:] + result.stderr[-2000:]


async def test_a_caller_accepting_either_ending_hangs_up_when_no_bye_comes(
    ami: AmiClient, tmp_path: Path
) -> None:
    # Read() waits 5 s for more keys, so no BYE comes within 2 s: the caller hangs up
    scenario = dtmf_caller(scenario_dir(tmp_path), "2", bye_optional=True, bye_timeout_ms=2000)
    result = await run_dtmf_caller(scenario, service="399", timeout=30)
    assert result.ok, result.stdout[-3000:] + result.stderr[-2000:]


async def test_a_caller_accepting_either_ending_takes_the_bye_when_it_comes(
    ami: AmiClient, tmp_path: Path
) -> None:
    scenario = dtmf_caller(scenario_dir(tmp_path), "9#", bye_optional=True, bye_timeout_ms=15000)
    reported = digits_event(ami)
    result = await run_dtmf_caller(scenario, service="399", timeout=30)
    assert result.ok, result.stdout[-3000:] + result.stderr[-2000:]
    assert (await asyncio.wait_for(reported, 5))["Digits"] == "9"
