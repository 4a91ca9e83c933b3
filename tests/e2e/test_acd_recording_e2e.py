"""Call recording end to end: a queue with ``recording: all`` records the caller's channel from the
moment an agent connects (after the consent prompt) until the call ends; sensitive IVR input after the
agent leaves and the API's pause/resume leave silent gaps; the file lands in ccapp's store with its
metadata in SQL.

The callers are Local channels that play music the whole time (``type-<N>-<keys>``, ``talk-<N>`` in
``[ccapp-test-callers]``): MixMonitor writes only while frames flow, so a caller who sends audio all
along makes the file's length equal to the wall-clock duration, and every pause shows as digital
silence where there would otherwise be music. While a Local channel sends DTMF no audio flows, so
the keys are few and short (80 ms tones, 5 keys in 0.65 s) or the file would fall behind the clock.
"""

from __future__ import annotations

import asyncio
import wave
from array import array
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ccapp.app import Application
from tests.e2e.acd_support import (
    ADMIN_TOKEN,
    SUPERVISOR_TOKEN,
    acd_config,
    agent_phone,
    agent_token,
    api,
    call_id_of,
    db_rows,
    flushed,
    hangup_channel,
    login,
    originate_local_caller,
    queue_calls,
    queue_tree,
    timed_events,
    wait_agent_call,
    wait_agent_state,
    wait_for,
)
from tests.e2e.conftest import StartCcapp, settle
from tests.support.sipp_dtmf import dtmf_caller, run_dtmf_caller

pytestmark = pytest.mark.asterisk

#: typed by the caller; short, because no audio flows while a Local channel sends DTMF (see the module doc)
CARD = "4711"
#: after the queue, the caller is asked for a card code (sensitive: the recording pauses)
CARD_NODES = {
    "card": {
        "type": "collect",
        "var": "card",
        "sensitive": True,
        "prompts": ["text:Please type the security code of your card now, then press the hash key."],
        "min_digits": 3,
        "max_digits": 8,
        "terminator": "#",
        "first_timeout_s": 20,
        "next": "thanks",
    },
    "thanks": {"type": "hangup", "prompts": ["auth-thankyou"]},
}


#: MixMonitor's file of a Local-channel call came out 0.8-0.9 s longer than the wall-clock time it
#: recorded (measured on 3 s and 7 s calls with music both ways): files are compared with that slack
WAV_SLACK_S = 1.5
#: a window of music peaks above this (the music-on-hold files have quiet passages: keep windows >= 1 s);
#: paused audio is digital silence (0)
MUSIC = 300


def wav_audio(path: Path) -> tuple[int, array[int]]:
    with wave.open(str(path)) as wav:
        assert wav.getsampwidth() == 2
        return wav.getframerate(), array("h", wav.readframes(wav.getnframes()))


def loudest(audio: array[int], rate: int, start_s: float, end_s: float) -> int:
    window = audio[int(start_s * rate) : int(end_s * rate)]
    assert len(window) > rate * 0.2, f"window {start_s:.2f}-{end_s:.2f} s is outside the file"
    return max(abs(x) for x in window)


async def stored_recording(app: Application, call_id: str, timeout: float = 20) -> dict[str, Any]:
    """The call's one ``recordings`` row once the file is in the store."""

    async def stored() -> list[dict[str, Any]]:
        rows = await db_rows(await flushed(app), "SELECT * FROM recordings WHERE call_id = :c", c=call_id)
        return [r for r in rows if r["path"] and r["duration_s"] is not None]

    rows: list[dict[str, Any]] = await wait_for(stored, timeout=timeout, what="the recording in the store")
    [row] = rows
    return row


def stored_file(app: Application, row: dict[str, Any]) -> Path:
    path = Path(row["path"])
    return path if path.is_absolute() else app.settings.recording.dir / path


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


async def test_a_recorded_queue_call_has_the_right_length_metadata_and_a_gap_for_the_card_number(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = acd_config(
        tmp_path,
        queues={
            "sales": {
                "recording": "all",
                "consent_prompt": "text:This call may be recorded.",
                "wrap_up_s": 1,
                "ring_timeout_s": 5,
            }
        },
        # the agent hangs up 6 s after answering; the caller goes on to the card code
        agents={"R": {"endpoint": agent_phone("answer-6"), "skills": {"sales": 3}, "queues": ["sales"]}},
        trees={"card": queue_tree("sales", then="card", nodes=CARD_NODES)},
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "R")
    # music all along; the card code 22 s after ccapp answered: well after the agent has gone
    channel = await originate_local_caller(app, "card", f"type-22-{CARD}#")
    call_id = await call_id_of(app, channel)
    await settle(app, 1, timeout=60)
    row = await stored_recording(app, call_id)

    url = await flushed(app)
    journal = await timed_events(url, call_id)
    [entry] = await queue_calls(url, call_id)
    [call] = await db_rows(url, "SELECT ended_at FROM calls WHERE call_id = :c", c=call_id)
    assert (row["queue"], row["agent_id"], row["policy"]) == ("sales", "R", "all")
    # recording starts when the agent is connected (the consent prompt played before) and lasts to the end
    assert abs(seconds(row["started_at"], entry["connected_at"])) < 1.0
    assert row["duration_s"] == pytest.approx(seconds(call["ended_at"], entry["connected_at"]), abs=1.5)
    kinds = [e["kind"] for e in journal if e["kind"].startswith("recording.")]
    assert kinds[0] == "recording.started" and kinds[-2:] == ["recording.stopped", "recording.stored"]
    # the consent prompt played before the (ready) agent was rung: it held the call that long
    entered_at = next(e["at"] for e in journal if e["kind"] == "queue.entered")
    offered_at = next(e["at"] for e in journal if e["kind"] == "agent.offered")
    assert seconds(offered_at, entered_at) >= 1.0

    # the file: named by the call, in ccapp's store, as long as the metadata says
    wav = stored_file(app, row)
    assert wav.is_file() and call_id in wav.name
    assert wav.resolve().is_relative_to(app.settings.recording.dir.resolve())
    assert row["size_bytes"] == wav.stat().st_size
    rate, audio = wav_audio(wav)
    assert len(audio) / rate == pytest.approx(row["duration_s"], abs=WAV_SLACK_S)

    # the card code: the recording paused from the collect node until the input was complete
    card_at = next(e["at"] for e in journal if e["kind"] == "ivr.node" and e["data"]["node"] == "card")
    typed_at = next(e["at"] for e in journal if e["kind"] == "ivr.input" and e["data"]["node"] == "card")
    assert seconds(typed_at, card_at) > 3  # the whole prompt, then the keys
    spans = row["paused_spans"]
    assert spans, "no paused span"
    card_from, card_to = seconds(card_at, row["started_at"]), seconds(typed_at, row["started_at"])
    covering = [s for s in spans if s[0] <= card_from + 0.5 and s[1] >= card_to - 0.3]
    assert covering, f"no span covers the card code {card_from:.2f}-{card_to:.2f} s: {spans}"
    assert row["paused_s"] == pytest.approx(sum(b - a for a, b in spans), abs=0.1)
    span_from, span_to = covering[0]
    # MixMonitor's file clock runs up to ~1 s off the wall clock the spans are measured in (it writes
    # what frames arrive), so the silence is checked 1 s inside the span
    assert loudest(audio, rate, span_from + 1.0, span_to - 1.0) < 50, "the card code is in the recording"
    assert loudest(audio, rate, 0.5, min(4.0, span_from - 0.5)) > MUSIC, "the talk with the agent is not"
    # ...and nowhere in clear in the journal
    inputs = [e["data"]["input"] for e in journal if e["kind"] == "ivr.input"]
    assert inputs == ["*" * len(CARD)]
    assert CARD not in str([e["data"] for e in journal])


async def test_pause_and_resume_through_the_api_leave_a_silent_span(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = acd_config(
        tmp_path,
        queues={"sales": {"recording": "all", "wrap_up_s": 1, "ring_timeout_s": 5}},
        agents={"R": {"endpoint": agent_phone("answer"), "skills": {"sales": 3}, "queues": ["sales"]}},
        trees={"sales": queue_tree("sales")},
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "R")
    channel = await originate_local_caller(app, "sales", "talk-40")
    await wait_agent_state(app, "R", "on_call", timeout=15)
    call_id = await wait_agent_call(app, "R")
    await asyncio.sleep(2)
    # the agent pauses (its own call), a supervisor resumes
    status, _ = await api(app, "POST", f"/api/v1/calls/{call_id}/recording/pause", token=agent_token("R"))
    assert status == 204
    await asyncio.sleep(3)
    status, _ = await api(app, "POST", f"/api/v1/calls/{call_id}/recording/resume", token=SUPERVISOR_TOKEN)
    assert status == 204
    await asyncio.sleep(2)
    await hangup_channel(app, channel)
    await settle(app, 1)
    row = await stored_recording(app, call_id)

    [span] = row["paused_spans"]
    assert 1.5 <= span[0] <= 3.0
    assert span[1] - span[0] == pytest.approx(3.0, abs=0.5)
    assert row["paused_s"] == pytest.approx(span[1] - span[0], abs=0.05)
    journal = await timed_events(await flushed(app), call_id)
    reasons = [
        (e["kind"], e["data"]["reason"])
        for e in journal
        if e["kind"] in ("recording.paused", "recording.resumed")
    ]
    assert [kind for kind, _ in reasons] == ["recording.paused", "recording.resumed"]
    assert all(reason.startswith("api:") for _, reason in reasons)

    rate, audio = wav_audio(stored_file(app, row))
    assert len(audio) / rate == pytest.approx(row["duration_s"], abs=WAV_SLACK_S)
    assert row["duration_s"] == pytest.approx(7.0, abs=1.5)
    assert loudest(audio, rate, span[0] + 1.0, span[1] - 1.0) < 50  # file clock slack, see above
    assert loudest(audio, rate, 0.3, span[0] - 0.3) > MUSIC
    assert loudest(audio, rate, span[1] + 0.3, span[1] + 1.5) > MUSIC

    # the file is downloadable by a supervisor or admin, never by an agent
    recording_id = row["recording_id"]
    status, body = await api(app, "GET", f"/api/v1/recordings/{recording_id}/file", token=agent_token("R"))
    assert status == 403, body
    for token in (SUPERVISOR_TOKEN, ADMIN_TOKEN):
        status, body = await api(app, "GET", f"/api/v1/recordings/{recording_id}/file", token=token)
        assert status == 200
    status, _ = await api(app, "GET", "/api/v1/recordings/..%2F..%2Fetc%2Fpasswd/file", token=ADMIN_TOKEN)
    assert status == 404


async def test_a_sipp_caller_typing_rfc4733_digits_leaves_a_muted_gap(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    """The same flow with a real SIP phone typing RFC 4733 DTMF. SIPp sends no audio between its
    keys, so MixMonitor's file only grows while ccapp or the agent sends frames: the file is not
    compared with the clock here, but the collect prompt, played while the recording is paused,
    must be digital silence."""
    config = acd_config(
        tmp_path,
        queues={"sales": {"recording": "all", "wrap_up_s": 1, "ring_timeout_s": 5}},
        agents={"R": {"endpoint": agent_phone("answer-6"), "skills": {"sales": 3}, "queues": ["sales"]}},
        trees={"card": queue_tree("sales", then="card", nodes=CARD_NODES)},
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "R")
    # connected within a second or two, the agent leaves 6 s later, the collect prompt takes ~4 s:
    # the keys go 18 s after the answer
    scenario = dtmf_caller(tmp_path, f"w18000 {CARD}#", first_pause_ms=0, gap_ms=400)
    result = await run_dtmf_caller(scenario, service="acd-card", timeout=60)
    assert result.ok, result.stdout[-2000:]
    await settle(app, 1)
    [call] = await db_rows(await flushed(app), "SELECT call_id FROM calls")
    row = await stored_recording(app, call["call_id"])

    journal = await timed_events(await flushed(app), call["call_id"])
    assert [e["data"]["input"] for e in journal if e["kind"] == "ivr.input"] == ["*" * len(CARD)]
    card_at = next(e["at"] for e in journal if e["kind"] == "ivr.node" and e["data"]["node"] == "card")
    typed_at = next(e["at"] for e in journal if e["kind"] == "ivr.input" and e["data"]["node"] == "card")
    card_from, card_to = seconds(card_at, row["started_at"]), seconds(typed_at, row["started_at"])
    assert [s for s in row["paused_spans"] if s[0] <= card_from + 0.5 and s[1] >= card_to - 0.3]
    rate, audio = wav_audio(stored_file(app, row))
    zero_run = longest = 0
    for sample in audio:
        zero_run = zero_run + 1 if sample == 0 else 0
        longest = max(longest, zero_run)
    assert longest / rate > 2.5, f"longest silence {longest / rate:.2f} s: the collect prompt was recorded"
    assert max(abs(x) for x in audio) > MUSIC, "the talk with the agent was recorded"


async def test_an_on_demand_queue_records_from_the_agents_request_with_the_notice_on_the_recording(
    start_ccapp: StartCcapp, sqlite_url: str, tmp_path: Path
) -> None:
    config = acd_config(
        tmp_path,
        queues={"support": {"recording": "on_demand", "consent_prompt": "beep", "wrap_up_s": 1}},
        agents={"D": {"endpoint": agent_phone("answer-8"), "skills": {}, "queues": ["support"]}},
        trees={"ondemand": queue_tree("support")},
    )
    app = await start_ccapp(sqlite_url, config=config)
    await login(app, "D")
    channel = await originate_local_caller(app, "ondemand", "stay")
    call_id = await wait_agent_call(app, "D")
    await wait_agent_state(app, "D", "on_call")
    await asyncio.sleep(2)
    status, _ = await api(app, "POST", f"/api/v1/calls/{call_id}/recording/start", token=agent_token("D"))
    assert status == 204
    status, body = await api(app, "POST", f"/api/v1/calls/{call_id}/recording/start", token=agent_token("D"))
    assert (status, body["error"]) == (409, "acd_not_permitted")
    await wait_agent_state(app, "D", ("wrap_up", "ready"), timeout=20)
    await hangup_channel(app, channel)
    await settle(app, 1)
    row = await stored_recording(app, call_id)
    [entry] = await queue_calls(await flushed(app), call_id)
    assert row["policy"] == "on_demand"
    # from the request (2 s into the talk) to the end, not from the connect
    assert seconds(row["started_at"], entry["connected_at"]) == pytest.approx(2.0, abs=1.0)
    rate, audio = wav_audio(stored_file(app, row))
    assert len(audio) / rate == pytest.approx(row["duration_s"], abs=WAV_SLACK_S)
