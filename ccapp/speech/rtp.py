"""Receiving a channel's audio as RTP from an Asterisk external media channel.

`parse_rtp` is pure (tested on bytes); `RtpReceiver` is the thin asyncio datagram protocol that
parses, drops what does not belong to the stream, turns the payload into 16-bit little-endian
PCM and hands it on. Asterisk sends signed linear (``slin``, ``slin16``) in network byte order,
as RFC 3551's L16 says, so the payload is byte-swapped; ``ulaw``/``alaw`` are expanded.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ccapp.errors import ProtocolError
from ccapp.speech.audio import alaw_decode, swap16, ulaw_decode

log = logging.getLogger("ccapp.speech.rtp")

_HEADER = struct.Struct("!BBHII")

#: external media formats this module decodes, with their sample rates
FORMAT_RATES = {"slin": 8000, "slin16": 16000, "ulaw": 8000, "alaw": 8000}


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """One RTP packet (RFC 3550): CSRCs, the header extension and padding are skipped."""
    if len(data) < _HEADER.size:
        raise ProtocolError(f"RTP packet too short ({len(data)} bytes)")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise ProtocolError(f"not RTP version 2 (version {first >> 6})")
    offset = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if len(data) < offset + 4:
            raise ProtocolError("RTP header extension truncated")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte counts the padding bytes
        end -= data[-1]
    if offset > end:
        raise ProtocolError("RTP header longer than the packet")
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, bool(second & 0x80), data[offset:end])


def decode_payload(payload: bytes, media_format: str) -> bytes:
    """An RTP payload of ``media_format`` as 16-bit little-endian PCM."""
    if media_format in ("slin", "slin16"):
        return swap16(payload)
    if media_format == "ulaw":
        return ulaw_decode(payload)
    if media_format == "alaw":
        return alaw_decode(payload)
    raise ValueError(f"unsupported external media format {media_format!r}")


def is_newer(sequence: int, last: int) -> bool:
    """RFC 1982 serial comparison of 16-bit sequence numbers (wrap-around safe)."""
    return sequence != last and (sequence - last) & 0xFFFF < 0x8000


class RtpReceiver(asyncio.DatagramProtocol):
    """Feeds ``on_audio`` the PCM of one RTP stream (the first SSRC heard).

    Late and duplicate packets are dropped rather than reordered: on the loopback interface
    Asterisk's packets arrive in order, and a VAD is not hurt by a missing 20 ms.
    """

    def __init__(self, media_format: str, on_audio: Callable[[bytes], None]) -> None:
        if media_format not in FORMAT_RATES:
            raise ValueError(f"unsupported external media format {media_format!r}")
        self.media_format = media_format
        self._on_audio = on_audio
        self._ssrc: int | None = None
        self._last_seq: int | None = None
        self.packets = 0
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            packet = parse_rtp(data)
        except ProtocolError as exc:
            self.dropped += 1
            log.debug("dropping a datagram from %s: %s", addr, exc)
            return
        if self._ssrc is None:
            self._ssrc = packet.ssrc
        if packet.ssrc != self._ssrc or (
            self._last_seq is not None and not is_newer(packet.sequence, self._last_seq)
        ):
            self.dropped += 1
            return
        self._last_seq = packet.sequence
        self.packets += 1
        self._on_audio(decode_payload(packet.payload, self.media_format))

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc)
