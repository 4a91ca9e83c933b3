"""Parsing ARI events, on transcripts recorded from the Asterisk 22 test bed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ccapp.errors import ProtocolError
from ccapp.telephony.ari.events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelUserevent,
    ChannelVarset,
    Dial,
    EndpointStateChange,
    PlaybackFinished,
    PlaybackStarted,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    parse_event,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ari"


def transcript(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


def test_every_recorded_message_parses_with_an_aware_timestamp_and_the_app_name() -> None:
    for name in ("events-local-dtmf-playback.jsonl", "events-local-continue.jsonl"):
        for raw in transcript(name):
            event = parse_event(raw)
            assert event.type == raw["type"]
            assert event.timestamp.tzinfo is not None
            assert event.application == "ccapp"


def test_the_dtmf_call_transcript_reads_as_stasis_start_keys_two_playbacks_and_the_end() -> None:
    events = [parse_event(raw) for raw in transcript("events-local-dtmf-playback.jsonl")]
    start = next(e for e in events if isinstance(e, StasisStart))
    ours = start.channel.id
    mine = [e for e in events if e.channel_id == ours]
    kinds = [type(e).__name__ for e in mine if not isinstance(e, UnknownEvent)]
    assert kinds[kinds.index("StasisStart") :] == [
        "StasisStart",
        "ChannelDtmfReceived",
        "ChannelDtmfReceived",
        "ChannelDtmfReceived",
        "PlaybackStarted",
        "PlaybackFinished",
        "PlaybackStarted",
        "PlaybackFinished",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelVarset",
        "ChannelDestroyed",
    ]
    assert start.args == ("test",)
    assert start.replace_channel is None
    assert start.channel.name.startswith("Local/D12#@ccapp-test-")
    assert start.channel.name.endswith(";1")
    assert start.channel.state == "Up"
    assert (start.channel.context, start.channel.exten, start.channel.priority) == ("ccapp-test", "D12#", 1)
    assert start.channel.language == "en"
    assert isinstance(start.channel.creationtime, datetime)
    assert start.channel.in_stasis("ccapp")
    keys = [e for e in mine if isinstance(e, ChannelDtmfReceived)]
    assert [(k.digit, k.duration_ms) for k in keys] == [("1", 100), ("2", 100), ("#", 100)]
    played = [e for e in mine if isinstance(e, PlaybackStarted | PlaybackFinished)]
    assert [p.playback.media_uri for p in played] == ["sound:beep", "sound:beep", "digits:12", "digits:12"]
    assert played[1].playback.state == "done"
    assert played[0].playback.target_uri == f"channel:{ours}"
    hangup = next(e for e in mine if isinstance(e, ChannelHangupRequest))
    assert hangup.soft is True
    destroyed = next(e for e in mine if isinstance(e, ChannelDestroyed))
    assert (destroyed.cause, destroyed.cause_txt) == (16, "Normal Clearing")


def test_events_before_stasis_start_and_about_the_other_local_half_are_typed_too() -> None:
    events = [parse_event(raw) for raw in transcript("events-local-dtmf-playback.jsonl")]
    dials = [e for e in events if isinstance(e, Dial)]
    assert [d.dialstatus for d in dials] == ["", "ANSWER"]
    assert dials[0].dialstring == "D12#@ccapp-test"
    assert dials[0].caller is None
    varsets = [e for e in events if isinstance(e, ChannelVarset)]
    assert {v.variable for v in varsets} >= {"STASISSTATUS"}
    dialplan = [e for e in events if isinstance(e, UnknownEvent)]
    assert {e.type for e in dialplan} == {"ChannelDialplan"}
    # the app is subscribed to the other half (;2) of the originated Local channel as well
    assert {e.raw["channel"]["name"][-2:] for e in dialplan} == {";2"}
    assert all(e.channel_id == e.raw["channel"]["id"] for e in dialplan)


def test_the_continue_transcript_ends_stasis_before_the_dialplan_runs() -> None:
    events = [parse_event(raw) for raw in transcript("events-local-continue.jsonl")]
    start = next(e for e in events if isinstance(e, StasisStart))
    after = [e for e in events if e.channel_id == start.channel.id]
    end = next(i for i, e in enumerate(after) if isinstance(e, StasisEnd))
    runs = [e for e in after[end:] if isinstance(e, UnknownEvent) and e.type == "ChannelDialplan"]
    assert runs
    assert runs[0].raw["channel"]["dialplan"]["exten"] == "giveup"


def _base(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": "2026-01-05T09:00:00.250+0000", "application": "ccapp", **fields}


CHANNEL = {"id": "1.1", "name": "PJSIP/alice-00000001", "state": "Ring"}


def test_a_channel_with_only_id_name_and_state_parses_with_nones() -> None:
    event = parse_event(_base("StasisStart", channel=CHANNEL))
    assert isinstance(event, StasisStart)
    assert event.args == ()
    assert event.timestamp == datetime(2026, 1, 5, 9, 0, 0, 250000, tzinfo=UTC)
    channel = event.channel
    assert (channel.caller_number, channel.exten, channel.priority, channel.creationtime) == (
        None,
        None,
        None,
        None,
    )


def test_playback_and_recording_events_belong_to_their_target_channel_and_bridges_to_none() -> None:
    on_channel = parse_event(_base("PlaybackFinished", playback={"id": "p", "target_uri": "channel:1.1"}))
    on_bridge = parse_event(_base("PlaybackFinished", playback={"id": "p", "target_uri": "bridge:b"}))
    recording = parse_event(
        _base("RecordingFinished", recording={"name": "r", "target_uri": "channel:1.1", "duration": 3})
    )
    assert on_channel.channel_id == "1.1"
    assert on_bridge.channel_id is None
    assert isinstance(recording, RecordingFinished)
    assert (recording.channel_id, recording.recording.duration) == ("1.1", 3)


def test_user_events_and_global_varsets_without_a_channel_are_about_no_channel() -> None:
    user = parse_event(_base("ChannelUserevent", eventname="CcappFallback", userevent={"Reason": "x"}))
    varset = parse_event(_base("ChannelVarset", variable="GLOBAL", value="1"))
    assert isinstance(user, ChannelUserevent)
    assert user.userevent == {"Reason": "x"}
    assert user.channel_id is None
    assert varset.channel_id is None


def test_an_unknown_event_type_is_kept_raw() -> None:
    event = parse_event(_base("ChannelTalkingStarted", channel=CHANNEL))
    assert isinstance(event, UnknownEvent)
    assert event.channel_id == "1.1"
    assert event.raw["type"] == "ChannelTalkingStarted"


@pytest.mark.parametrize(
    "message",
    [
        [],
        {"timestamp": "2026-01-05T09:00:00.000+0000"},
        {"type": "StasisStart", "application": "ccapp"},
        _base("StasisStart", channel={"name": "x"}),
        _base("StasisStart", channel="1.1"),
        _base("StasisStart", channel=CHANNEL, args="inbound"),
        _base("ChannelDtmfReceived", channel=CHANNEL),
        _base("ChannelDestroyed", channel=CHANNEL, cause="sixteen"),
        {"type": "StasisEnd", "timestamp": "yesterday", "channel": CHANNEL},
        {"type": "StasisEnd", "timestamp": "2026-01-05T09:00:00", "channel": CHANNEL},
        _base("BridgeDestroyed", bridge={"id": "b", "channels": "1.1"}),
        _base("EndpointStateChange", endpoint={"resource": "1001", "state": "online"}),
        _base(
            "EndpointStateChange", endpoint={"technology": "PJSIP", "resource": "1001", "channel_ids": "1.1"}
        ),
    ],
)
def test_a_message_of_the_wrong_shape_is_a_protocol_error(message: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_event(message)


def test_a_phone_registering_then_unregistering_reads_as_endpoint_online_then_offline() -> None:
    events = [parse_event(raw) for raw in transcript("events-endpoint-register.jsonl")]
    changes = [e for e in events if isinstance(e, EndpointStateChange)]
    assert [(e.endpoint.name, e.endpoint.state, e.endpoint.online) for e in changes] == [
        ("PJSIP/1001", "online", True),
        ("PJSIP/1001", "offline", False),
    ]
    assert all(e.channel_id is None and e.application == "ccapp" for e in events)
    assert changes[0].endpoint.channel_ids == ()
    # contact and peer status changes come with them; ccapp does not model those
    assert {e.type for e in events if isinstance(e, UnknownEvent)} <= {
        "ContactStatusChange",
        "PeerStatusChange",
    }


def test_an_endpoint_of_unknown_state_is_neither_online_nor_offline() -> None:
    endpoint = {"technology": "PJSIP", "resource": "1001", "state": "unknown", "channel_ids": ["1.1"]}
    event = parse_event(_base("EndpointStateChange", endpoint=endpoint))
    assert isinstance(event, EndpointStateChange)
    assert (event.endpoint.online, event.endpoint.channel_ids) == (None, ("1.1",))
