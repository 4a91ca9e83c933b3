"""SIPp caller scenarios that type any key string as RFC 4733 DTMF, like
tests/e2e/scenarios/caller_12hash.xml but generated.

The caller offers A-law with telephone-event payload 101 and plays one capture per key with SIPp's
``play_pcap_audio``. SIPp's stock captures (``/usr/share/sip-tester/dtmf_2833_<key>.pcap``, keys
0-9, ``*`` = ``star``, ``#`` = ``pound``) cannot be chained freely: SIPp sends their RTP headers as
recorded, each file with its own fixed sequence number and timestamp, so Asterisk drops a repeated
key (same timestamp = the same event) and keys whose timestamp goes backwards (``*`` then ``0``).
So the generator writes its own captures next to the scenario, shaped like the stock ones (a
marker packet, 20 ms updates, three end packets) but with sequence numbers and timestamps that
keep rising through the call. `run_dtmf_caller` copies them into the test bed with the scenario.
Key strings::

    "12#"           1, 2, # with ``gap_ms`` between keys (``first_pause_ms`` before the first)
    "1,,2"          each ``,`` adds one more ``gap_ms`` of silence (here 1, 3 gaps, 2)
    "1 w3000 2#"    ``w<ms>`` waits that long; spaces are ignored
    ""              no keys: the caller just listens

``pauses`` maps a key's position (0-based, keys only) to the pause before it, replacing
``first_pause_ms``/``gap_ms`` there. The call ends in one of three ways:

* default: the caller waits up to ``bye_timeout_ms`` for a BYE (ccapp hangs up) and fails without;
  the wait starts as the last key starts playing (a capture plays in the background);
* ``hangup_after_ms``: the caller hangs up that long after its last key; a BYE before then fails
  the call (this is the caller who gives up mid-IVR);
* ``bye_optional=True``: the caller takes a BYE if one comes within ``bye_timeout_ms``, and hangs
  up itself otherwise; both pass.

A BYE that arrives while the caller is still pausing between keys fails the call (SIPp sees an
unexpected message), which is what a test of a complete key sequence wants. Keep ``gap_ms`` at
300 or more: a capture lasts about 150 ms, and two playing at once garble each other. Run the file
with `run_dtmf_caller` (SIPp runs inside the test-bed chroot: the captures must be there, at
``media_dir``).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support import testbed

SIPP_DATA = "/usr/share/sip-tester"
#: key → capture name suffix; SIPp ships no captures for A-D
PCAP_NAMES: Mapping[str, str] = {**{d: d for d in "0123456789"}, "*": "star", "#": "pound"}
_TOKEN = re.compile(r"\s*(?:(?P<key>[0-9*#])|(?P<comma>,)|w(?P<wait>[0-9]+))\s*")


#: RFC 4733 event codes
EVENTS: Mapping[str, int] = {**{d: int(d) for d in "0123456789"}, "*": 10, "#": 11}
_SSRC = 0x0E05384E
_PT = 101


def pcap_for(key: str) -> str:
    """SIPp's stock capture (path inside the chroot) that sends ``key``."""
    try:
        return f"{SIPP_DATA}/dtmf_2833_{PCAP_NAMES[key]}.pcap"
    except KeyError:
        raise ValueError(f"no RFC 4733 capture for key {key!r} (0-9, * and # only)") from None


def dtmf_pcap(key: str, *, seq: int, timestamp: int) -> bytes:
    """A pcap of one RFC 4733 event for ``key``: 8 updates 20 ms apart (the first with the marker
    bit), then 3 copies of the end packet, 140 ms in all. Uses sequence numbers ``seq`` to
    ``seq + 7``; ``timestamp`` is the event's RTP timestamp."""
    if key not in EVENTS:
        raise ValueError(f"no RFC 4733 event for key {key!r} (0-9, * and # only)")
    records = []
    for i in range(10):
        n = min(i, 7)
        end = n == 7
        rtp = struct.pack(
            ">BBHIIBBH",
            0x80,
            (0x80 if i == 0 else 0) | _PT,
            (seq + n) & 0xFFFF,
            timestamp & 0xFFFFFFFF,
            _SSRC,
            EVENTS[key],
            (0x80 if end else 0) | 10,  # E bit, volume -10 dBm0
            2240 if end else 320 * n,
        )
        records.append((i * 20_000 if i < 8 else 140_000 + (i - 7) * 40, _ip_udp(rtp)))
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0xFFFF, 1)  # link type 1: Ethernet
    for usec, frame in records:
        out += struct.pack("<IIII", 1_700_000_000, usec, len(frame), len(frame)) + frame
    return out


def _ip_udp(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``; SIPp rewrites addresses and ports when sending."""
    udp = struct.pack(">HHHH", 49176, 10000, 8 + len(payload), 0) + payload  # no UDP checksum
    src, dst = bytes([192, 168, 0, 3]), bytes([192, 168, 0, 1])
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    total = sum(struct.unpack(">10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    header = header[:10] + struct.pack(">H", ~total & 0xFFFF) + header[12:]
    ether = bytes.fromhex("0050bf990336000d8714ac24") + b"\x08\x00"
    return ether + header + udp


def plan(
    keys: str, *, first_pause_ms: int = 1500, gap_ms: int = 600, pauses: Mapping[int, int] | None = None
) -> list[tuple[int, str]]:
    """The keys as ``(pause before it in ms, key)`` pairs; the pure part of `dtmf_caller`."""
    steps: list[tuple[int, str]] = []
    extra = 0
    pos = 0
    while pos < len(keys):
        match = _TOKEN.match(keys, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"bad key string {keys!r} at {pos}: {keys[pos : pos + 10]!r}")
        pos = match.end()
        if match["comma"]:
            extra += gap_ms
        elif match["wait"]:
            extra += int(match["wait"])
        elif match["key"]:
            index = len(steps)
            base = first_pause_ms if index == 0 else gap_ms
            if pauses and index in pauses:
                base = pauses[index]
            steps.append((base + extra, match["key"]))
            extra = 0
    return steps


def dtmf_caller(
    path_or_dir: str | Path,
    keys: str,
    *,
    first_pause_ms: int = 1500,
    gap_ms: int = 600,
    pauses: Mapping[int, int] | None = None,
    hangup_after_ms: int | None = None,
    bye_timeout_ms: int = 30000,
    bye_optional: bool = False,
    media_dir: str = "/tmp",
) -> Path:
    """Write a SIPp caller scenario that types ``keys`` and return its path.

    ``path_or_dir`` is the file to write, or a directory to write a file named after the
    parameters in (so parallel tests get different files in the chroot's /tmp). One capture per
    key goes next to it (``<stem>.k<n>.pcap``); the scenario plays them from ``media_dir``.
    """
    if hangup_after_ms is not None and bye_optional:
        raise ValueError("hangup_after_ms and bye_optional are two different endings; pick one")
    steps = plan(keys, first_pause_ms=first_pause_ms, gap_ms=gap_ms, pauses=pauses)
    if any(pause < 0 for pause, _ in steps):
        raise ValueError("pauses must not be negative")
    path = Path(path_or_dir)
    if path.is_dir():
        signature = repr(
            (keys, first_pause_ms, gap_ms, sorted((pauses or {}).items()), hangup_after_ms,
             bye_timeout_ms, bye_optional, media_dir)
        )  # fmt: skip
        tag = hashlib.sha1(signature.encode()).hexdigest()[:10]
        safe = "".join(k for _, k in steps).replace("*", "s").replace("#", "h")
        path = path / f"dtmf_caller_{safe}_{tag}.xml"
    body = ""
    at_ms = 0
    for n, (pause, key) in enumerate(steps):
        at_ms += pause
        pcap = path.with_name(f"{path.stem}.k{n}.pcap")
        # timestamps follow the call's clock (8 kHz); sequence numbers never repeat
        pcap.write_bytes(dtmf_pcap(key, seq=1000 + 8 * n, timestamp=8000 + 8 * at_ms))
        body += (
            f'  <pause milliseconds="{pause}"/>\n'
            f'  <nop><action><exec play_pcap_audio="{media_dir}/{pcap.name}"/></action></nop>\n'
        )
    if hangup_after_ms is not None:
        ending = f'  <pause milliseconds="{hangup_after_ms}"/>\n{_CALLER_BYE}'
        how = f"hangs up {hangup_after_ms} ms after its last key"
    elif bye_optional:
        ending = (
            f'  <recv request="BYE" timeout="{bye_timeout_ms}" ontimeout="caller_bye"/>\n'
            f"{_OK_TO_BYE_THEN_END}"
            f'  <label id="caller_bye"/>\n{_CALLER_BYE}  <label id="end"/>\n'
        )
        how = f"takes a BYE within {bye_timeout_ms} ms or hangs up itself"
    else:
        ending = f'  <recv request="BYE" timeout="{bye_timeout_ms}"/>\n{_OK_TO_BYE}'
        how = f"waits up to {bye_timeout_ms} ms for ccapp's BYE"
    typed = "".join(key for _, key in steps) or "nothing"
    xml = _HEAD.format(typed=typed, how=how) + body + ending + _TAIL
    path.write_text(xml, encoding="iso-8859-1")
    return path


def captures_of(scenario: Path) -> list[Path]:
    """The capture files `dtmf_caller` wrote for ``scenario``, in key order."""
    found = scenario.parent.glob(f"{scenario.stem}.k*.pcap")
    return sorted(found, key=lambda p: int(p.name.rsplit(".k", 1)[1].removesuffix(".pcap")))


async def run_dtmf_caller(scenario: Path, *, service: str, **options: Any) -> testbed.SippResult:
    """Copy ``scenario``'s captures into the test bed's /tmp and run it with
    `tests.support.testbed.run_sipp` (``options`` are passed on: ``timeout``, ``calls`` …)."""
    tmp = testbed.sandbox_root() / "tmp"
    for pcap in captures_of(scenario):
        shutil.copyfile(pcap, tmp / pcap.name)
    return await testbed.run_sipp(scenario, service=service, **options)


_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Generated by tests/support/sipp_dtmf.py: a caller dials [service], types {typed} as RFC 4733
     DTMF (A-law call, telephone-event payload 101), then {how}. -->
<scenario name="caller types {typed}">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Subject: ccapp test caller
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

_OK_TO_BYE = """  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
"""

_OK_TO_BYE_THEN_END = _OK_TO_BYE.replace("<send>", '<send next="end">', 1)

_CALLER_BYE = """  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""

_TAIL = """  <ResponseTimeRepartition value="100, 200, 500, 1000, 2000"/>
</scenario>
"""
