"""A small PNG reader (8-bit RGB/RGBA, not interlaced) in pure Python, for screenshot tests."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class Image:
    """Decoded pixels: ``rows[y]`` holds ``width * channels`` bytes."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = x * self.channels
        r, g, b = self.rows[y][i : i + 3]
        return r, g, b

    def find(self, colour: tuple[int, int, int]) -> list[tuple[int, int]]:
        """Every (x, y) whose RGB is exactly ``colour``."""
        needle = bytes(colour)
        found = []
        for y, row in enumerate(self.rows):
            start = row.find(needle)
            while start >= 0:
                if start % self.channels == 0:
                    found.append((start // self.channels, y))
                start = row.find(needle, start + 1)
        return found


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prev: bytes, bpp: int) -> bytes:
    n = len(line)
    if kind == 0:
        return bytes(line)
    if kind == 2:
        return bytes((x + y) & 0xFF for x, y in zip(line, prev, strict=True))
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            if i >= bpp:
                left, corner = line[i - bpp], prev[i - bpp]
            else:
                left = corner = 0
            line[i] = (line[i] + _paeth(left, prev[i], corner)) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter {kind}")
    return bytes(line)


def read_png(data: bytes) -> Image:
    """Decode an 8-bit RGB or RGBA PNG; ValueError for anything else."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    pos, idat = len(SIGNATURE), bytearray()
    width = height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(
                    f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}"
                )
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, channels)
        rows.append(line)
        prev = line
    return Image(width, height, channels, rows)
