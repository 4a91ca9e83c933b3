"""The FastAGI wire protocol, without I/O.

Asterisk opens the TCP connection, sends a block of ``agi_<name>: <value>`` lines ended by a blank
line, then answers every command line with one reply: ``200 result=<r> [(data)] [key=value ...]``,
``510 Invalid or unknown command``, ``511 Command Not Permitted on a dead channel ...`` or a
multi-line ``520`` usage text. When the channel hangs up (AGISIGHUP, on by default) it also sends
a bare ``HANGUP`` line, at any moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from ccapp.errors import ProtocolError

#: what Asterisk sends when the channel hangs up (AGISIGHUP)
HANGUP_LINE = "HANGUP"

_HEADER_LINE = re.compile(r"^agi_([a-z0-9_]+):(?: (.*))?$")
_RESULT_TAIL = re.compile(r"^\((?P<data>.*)\)(?P<rest>(?:\s+[A-Za-z_]+=\S*)*)\s*$")
_KEY_VALUE = re.compile(r"([A-Za-z_]+)=(\S*)")
_USAGE_END = "520 End of proper usage."


def parse_header_line(line: str) -> tuple[str, str]:
    """Split one ``agi_<name>: <value>`` line into ``(name, value)``.

    Raises `ProtocolError` for anything else, so that a port scanner or an HTTP client is told
    apart from Asterisk at its first line.
    """
    match = _HEADER_LINE.match(line)
    if match is None:
        raise ProtocolError(f"not an AGI header line: {line[:60]!r}")
    return match.group(1), match.group(2) or ""


@dataclass(frozen=True, slots=True)
class AgiRequest:
    """The header block of one FastAGI connection, typed.

    ``path`` is the script path of ``agi://host:port/<path>?<query>`` without slashes around it;
    ``query`` holds its arguments; ``arguments`` are the extra ``AGI(url,arg1,arg2)`` arguments.
    """

    network_script: str
    request: str
    channel: str
    uniqueid: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    arguments: tuple[str, ...] = ()
    language: str = "en"
    channel_type: str = ""
    version: str = ""
    callerid: str | None = None
    calleridname: str | None = None
    dnid: str | None = None
    rdnis: str | None = None
    context: str = ""
    extension: str = ""
    priority: int = 0
    accountcode: str = ""
    threadid: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> AgiRequest:
        """Build a request from parsed header names (without ``agi_``) and values."""
        for required in ("network_script", "channel", "uniqueid"):
            if required not in headers:
                raise ProtocolError(f"AGI header block lacks agi_{required}")
        script = headers["network_script"]
        parts = urlsplit(script)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        arguments = []
        index = 1
        while f"arg_{index}" in headers:
            arguments.append(headers[f"arg_{index}"])
            index += 1
        priority = headers.get("priority", "0")
        return cls(
            network_script=script,
            request=headers.get("request", ""),
            channel=headers["channel"],
            uniqueid=headers["uniqueid"],
            path=parts.path.strip("/"),
            query=query,
            arguments=tuple(arguments),
            language=headers.get("language", "en"),
            channel_type=headers.get("type", ""),
            version=headers.get("version", ""),
            callerid=_known(headers.get("callerid")),
            calleridname=_known(headers.get("calleridname")),
            dnid=_known(headers.get("dnid")),
            rdnis=_known(headers.get("rdnis")),
            context=headers.get("context", ""),
            extension=headers.get("extension", ""),
            priority=int(priority) if priority.isdigit() else 0,
            accountcode=headers.get("accountcode", ""),
            threadid=headers.get("threadid", ""),
            headers=dict(headers),
        )


def _known(value: str | None) -> str | None:
    # Asterisk writes "unknown" where a caller id or DNID is absent.
    return None if value in (None, "", "unknown") else value


def parse_request(lines: Iterable[str]) -> AgiRequest:
    """Parse a whole header block (lines without their newline; a blank line ends it)."""
    headers: dict[str, str] = {}
    for line in lines:
        if line == "":
            break
        name, value = parse_header_line(line)
        headers[name] = value
    return AgiRequest.from_headers(headers)


@dataclass(frozen=True, slots=True)
class AgiResult:
    """One reply to one command.

    ``result`` is the text after ``result=`` (``""`` for ``GET DATA`` timeouts with no digit),
    ``data`` the text in parentheses (``timeout``, a variable's value), ``endpos`` the sample offset
    playback stopped at. For 5xx replies ``message`` holds the text (the usage for 520).
    """

    code: int
    result: str = ""
    data: str | None = None
    endpos: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def dead_channel(self) -> bool:
        """511: the channel is gone and only a few commands are still allowed."""
        return self.code == 511


def parse_result(line: str) -> AgiResult:
    """Parse one single-line reply such as ``200 result=1 (timeout) endpos=1234``."""
    code_text, _, rest = line.partition(" ")
    if len(code_text) != 3 or not code_text.isdigit():
        raise ProtocolError(f"not an AGI reply: {line[:80]!r}")
    code = int(code_text)
    if code != 200:
        return AgiResult(code=code, message=rest)
    if not rest.startswith("result="):
        raise ProtocolError(f"AGI 200 reply without result=: {line[:80]!r}")
    value, _, tail = rest[len("result=") :].partition(" ")
    tail = tail.strip()
    data: str | None = None
    if tail.startswith("("):
        match = _RESULT_TAIL.match(tail)
        if match is None:
            raise ProtocolError(f"unbalanced data in AGI reply: {line[:80]!r}")
        data = match.group("data")
        tail = match.group("rest")
    extra = dict(_KEY_VALUE.findall(tail))
    endpos_text = extra.pop("endpos", None)
    endpos = int(endpos_text) if endpos_text is not None and endpos_text.isdigit() else None
    return AgiResult(code=200, result=value, data=data, endpos=endpos, extra=extra)


@dataclass(frozen=True, slots=True)
class Hangup:
    """The ``HANGUP`` notification: the channel hung up."""


Reply = AgiResult | Hangup


class ReplyParser:
    """Turns reply lines into `AgiResult`s and `Hangup`s, one line at a time.

    Needed because a 520 usage reply spans many lines (``520-...`` first, ``520 End of proper
    usage.`` last, unprefixed text between) and ``100 Trying...`` lines precede some results.
    """

    def __init__(self) -> None:
        self._usage: list[str] | None = None

    def feed(self, line: str) -> Reply | None:
        """Take one line (without newline); return a reply once one is complete."""
        if self._usage is not None:
            if line == _USAGE_END or line.startswith("520 "):
                usage, self._usage = self._usage, None
                return AgiResult(code=520, message="\n".join(usage))
            self._usage.append(line)
            return None
        if line == HANGUP_LINE:
            return Hangup()
        if line.startswith("520-"):
            self._usage = [line[4:]]
            return None
        if line.startswith("100 "):
            return None
        return parse_result(line)


def quote(argument: str) -> str:
    """Quote one command argument the way Asterisk's AGI argument parser reads it back."""
    if "\n" in argument or "\r" in argument:
        raise ValueError("an AGI argument cannot contain a line break")
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
