"""The SIPp DTMF caller generator (tests/support/sipp_dtmf.py) writes well-formed scenarios."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.sipp_dtmf import EVENTS, captures_of, dtmf_caller, dtmf_pcap, pcap_for, plan


def pcaps(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [e.attrib["play_pcap_audio"] for e in root.iter("exec")]


def rtp_packets(pcap: bytes) -> list[tuple[int, int, int, int, int, int]]:
    """(marker, seq, timestamp, event, end bit, duration) of each packet of a capture."""
    assert struct.unpack("<I", pcap[:4])[0] == 0xA1B2C3D4
    out = []
    offset = 24
    while offset < len(pcap):
        length = struct.unpack("<I", pcap[offset + 8 : offset + 12])[0]
        frame = pcap[offset + 16 : offset + 16 + length]
        offset += 16 + length
        _, mpt, seq, ts, _, event, flags, duration = struct.unpack(">BBHIIBBH", frame[42:58])
        assert mpt & 0x7F == 101
        out.append((mpt >> 7, seq, ts, event, flags >> 7, duration))
    return out


def pause_list(path: Path) -> list[int]:
    return [int(e.attrib["milliseconds"]) for e in ET.parse(path).getroot().iter("pause")]


def test_every_key_has_a_stock_capture_and_an_event_code() -> None:
    assert set(EVENTS) == set("0123456789*#")
    assert pcap_for("0") == "/usr/share/sip-tester/dtmf_2833_0.pcap"
    assert pcap_for("*") == "/usr/share/sip-tester/dtmf_2833_star.pcap"
    assert pcap_for("#") == "/usr/share/sip-tester/dtmf_2833_pound.pcap"


@pytest.mark.parametrize("keys", ["A", "12x", "w", "1;2"])
def test_keys_without_a_capture_or_bad_syntax_are_refused(keys: str) -> None:
    with pytest.raises(ValueError, match=r"capture|bad key string"):
        plan(keys)


def test_commas_add_a_gap_and_w_waits_the_given_milliseconds() -> None:
    assert plan("1,,2 w3000 #", first_pause_ms=1000, gap_ms=500) == [
        (1000, "1"),
        (1500, "2"),
        (3500, "#"),
    ]


def test_pauses_replace_the_pause_before_a_key_by_position() -> None:
    assert plan("123", pauses={0: 100, 2: 4000}) == [(100, "1"), (600, "2"), (4000, "3")]


def test_an_event_capture_looks_like_sipps_stock_one() -> None:
    packets = rtp_packets(dtmf_pcap("#", seq=7000, timestamp=123456))
    assert packets[0] == (1, 7000, 123456, 11, 0, 0)
    assert [p[1] for p in packets] == [7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7007, 7007]
    assert {p[2] for p in packets} == {123456}
    assert [p[4] for p in packets] == [0] * 7 + [1] * 3
    assert packets[-1][5] == 2240


def test_a_caller_waiting_for_the_bye_types_each_key_in_order(tmp_path: Path) -> None:
    path = dtmf_caller(tmp_path / "c.xml", "11*0#", first_pause_ms=2000, gap_ms=400)
    assert path == tmp_path / "c.xml"
    files = captures_of(path)
    assert [f.name for f in files] == [f"c.k{n}.pcap" for n in range(5)]
    assert pcaps(path) == [f"/tmp/{f.name}" for f in files]
    assert pause_list(path) == [2000, 400, 400, 400, 400]
    firsts = [rtp_packets(f.read_bytes())[0] for f in files]
    assert [p[3] for p in firsts] == [EVENTS[k] for k in "11*0#"]
    # a repeated key is a new event: both sequence numbers and timestamps keep rising
    assert [p[1] for p in firsts] == sorted({p[1] for p in firsts})
    assert [p[2] for p in firsts] == [8000 + 8 * ms for ms in (2000, 2400, 2800, 3200, 3600)]
    root = ET.parse(path).getroot()
    byes = [r for r in root.iter("recv") if r.attrib.get("request") == "BYE"]
    assert [b.attrib for b in byes] == [{"request": "BYE", "timeout": "30000"}]
    assert "BYE [next_url]" not in path.read_text()


def test_a_caller_who_hangs_up_sends_bye_after_its_last_key(tmp_path: Path) -> None:
    path = dtmf_caller(tmp_path, "1", hangup_after_ms=2500)
    assert path.parent == tmp_path and path.name.startswith("dtmf_caller_1_")
    assert len(captures_of(path)) == 1
    assert pause_list(path) == [1500, 2500]
    root = ET.parse(path).getroot()
    assert not [r for r in root.iter("recv") if r.attrib.get("request") == "BYE"]
    assert "CSeq: 2 BYE" in path.read_text()


def test_a_caller_who_accepts_either_ending_jumps_past_its_own_bye(tmp_path: Path) -> None:
    path = dtmf_caller(tmp_path, "", bye_optional=True, bye_timeout_ms=3000)
    root = ET.parse(path).getroot()
    assert pcaps(path) == []
    assert captures_of(path) == []
    recv = next(r for r in root.iter("recv") if r.attrib.get("request") == "BYE")
    assert recv.attrib == {"request": "BYE", "timeout": "3000", "ontimeout": "caller_bye"}
    assert [e.attrib["id"] for e in root.iter("label")] == ["caller_bye", "end"]
    assert [s.attrib.get("next") for s in root.iter("send")][-2:] == ["end", None]


def test_files_in_a_directory_are_named_by_their_content(tmp_path: Path) -> None:
    a = dtmf_caller(tmp_path, "12#")
    assert dtmf_caller(tmp_path, "12#") == a
    assert dtmf_caller(tmp_path, "12#", gap_ms=800) != a
    assert a.name.startswith("dtmf_caller_12h_")


def test_captures_play_from_the_given_media_directory(tmp_path: Path) -> None:
    path = dtmf_caller(tmp_path / "m.xml", "5", media_dir="/srv/media")
    assert pcaps(path) == ["/srv/media/m.k0.pcap"]


def test_the_two_caller_endings_cannot_be_combined(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pick one"):
        dtmf_caller(tmp_path, "1", hangup_after_ms=100, bye_optional=True)
