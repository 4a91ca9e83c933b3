"""RTP parsing and the receiver, on hand-built packets."""

from __future__ import annotations

import struct

import pytest

from ccapp.errors import ProtocolError
from ccapp.speech.rtp import RtpReceiver, decode_payload, is_newer, parse_rtp


def rtp(
    payload: bytes,
    *,
    seq: int = 1,
    ts: int = 160,
    ssrc: int = 0x1234,
    pt: int = 118,
    marker: bool = False,
    csrcs: int = 0,
    extension: bytes | None = None,
    padding: int = 0,
) -> bytes:
    first = 0x80 | csrcs | (0x10 if extension is not None else 0) | (0x20 if padding else 0)
    header = struct.pack("!BBHII", first, pt | (0x80 if marker else 0), seq, ts, ssrc)
    header += b"\0\0\0\7" * csrcs
    if extension is not None:
        header += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    pad = (b"\0" * (padding - 1) + bytes([padding])) if padding else b""
    return header + payload + pad


def test_a_plain_packet_parses_into_its_fields() -> None:
    packet = parse_rtp(rtp(b"\x01\x02", seq=7, ts=320, ssrc=99, pt=0, marker=True))
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc, packet.marker) == (
        0,
        7,
        320,
        99,
        True,
    )
    assert packet.payload == b"\x01\x02"


def test_csrcs_the_header_extension_and_padding_are_skipped() -> None:
    data = rtp(b"audio!", csrcs=2, extension=b"\xaa" * 8, padding=3)
    assert parse_rtp(data).payload == b"audio!"


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x00",  # too short
        b"\x40" + b"\0" * 15,  # version 1
        rtp(b"", csrcs=15)[:20],  # CSRC list longer than the packet
        bytes([0x90]) + b"\0" * 11 + b"\0\0",  # extension header cut off
    ],
)
def test_malformed_packets_raise_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_rtp(data)


def test_slin_payloads_are_big_endian_on_the_wire() -> None:
    # RFC 3551 L16: network byte order; ccapp's PCM is little-endian
    assert decode_payload(b"\x01\x02\xff\xfe", "slin") == b"\x02\x01\xfe\xff"
    assert decode_payload(b"\x01\x02", "slin16") == b"\x02\x01"


def test_g711_payloads_are_expanded() -> None:
    assert decode_payload(b"\xd5", "alaw") == struct.pack("<h", 8)
    assert decode_payload(b"\xff", "ulaw") == struct.pack("<h", 0)
    with pytest.raises(ValueError, match="unsupported"):
        decode_payload(b"", "opus")


def test_sequence_numbers_compare_across_the_wrap() -> None:
    assert is_newer(2, 1)
    assert is_newer(0, 0xFFFF)
    assert not is_newer(0xFFFF, 0)
    assert not is_newer(5, 5)


def test_the_receiver_keeps_one_stream_in_order_and_drops_the_rest() -> None:
    heard: list[bytes] = []
    receiver = RtpReceiver("slin", heard.append)
    addr = ("127.0.0.1", 4000)
    receiver.datagram_received(rtp(b"\x00\x01", seq=10), addr)
    receiver.datagram_received(rtp(b"\x00\x02", seq=11), addr)
    receiver.datagram_received(rtp(b"\x00\x03", seq=11), addr)  # duplicate
    receiver.datagram_received(rtp(b"\x00\x04", seq=9), addr)  # late
    receiver.datagram_received(rtp(b"\x00\x05", seq=12, ssrc=7), addr)  # another stream
    receiver.datagram_received(b"garbage", addr)
    receiver.datagram_received(rtp(b"\x00\x06", seq=12), addr)
    assert heard == [b"\x01\x00", b"\x02\x00", b"\x06\x00"]
    assert (receiver.packets, receiver.dropped) == (3, 4)


def test_the_receiver_refuses_a_format_it_cannot_decode() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        RtpReceiver("g729", lambda _: None)
