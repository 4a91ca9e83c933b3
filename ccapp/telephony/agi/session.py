"""`AgiSession`: the `CallControl` port over one FastAGI connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Sequence

from ccapp.calls.ports import DigitResult, RecordResult
from ccapp.errors import CallGone, ProtocolError, TelephonyError
from ccapp.telephony.agi.protocol import AgiRequest, AgiResult, Hangup, ReplyParser, quote

log = logging.getLogger(__name__)

#: keys that interrupt an interruptible prompt
ALL_KEYS = "0123456789*#"
#: where Asterisk keeps recordings, relative to its spool directory; ARI's stored recordings live
#: there too, so a message is in the same place whichever transport recorded it
RECORDING_SUBDIR = "recording"
#: WAV as Asterisk writes it: 8 kHz signed linear, so ``endpos`` counts 8000 samples a second
WAV_RATE = 8000
_NUMBER = re.compile(r"-?[0-9]+")
_DIGITS = re.compile(r"[0-9*#]+")


def media_command(prompt: str, escape_digits: str) -> str | None:
    """The AGI command that plays one prompt, or None when AGI cannot play it.

    ``sound:x`` and bare names → ``STREAM FILE``, ``digits:`` → ``SAY DIGITS``, ``number:`` (an
    integer, negative too) → ``SAY NUMBER``, ``characters:`` → ``SAY ALPHA``. Other ARI schemes
    (``tone:``, ``recording:`` …) have no AGI command here.
    """
    scheme, sep, value = prompt.partition(":")
    if not sep:
        scheme, value = "sound", prompt
    escape = quote(escape_digits)
    if not value:
        return None
    if scheme == "sound":
        return f"STREAM FILE {_name(value)} {escape}"
    if scheme == "digits" and _DIGITS.fullmatch(value):
        return f"SAY DIGITS {value} {escape}"
    if scheme == "number" and _NUMBER.fullmatch(value):
        return f"SAY NUMBER {int(value)} {escape}"
    if scheme == "characters":
        return f"SAY ALPHA {quote(value)} {escape}"
    return None


class AgiSession:
    """Drives one channel over one FastAGI connection, one command at a time.

    Every command has a timeout; a command that times out leaves the connection out of step (a late
    reply would answer the next command), so the session is closed and the error raised.
    `ccapp.errors.CallGone` is raised on Asterisk's ``HANGUP`` notification, on a ``511`` reply
    (dead channel), on a closed connection, and after the channel was handed back to the dialplan.
    """

    def __init__(
        self,
        request: AgiRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float = 10.0,
        media_timeout: float = 600.0,
        recording_dir: str | None = None,
        record_silence_s: int = 5,
    ) -> None:
        self._request = request
        self._reader = reader
        self._writer = writer
        self._parser = ReplyParser()
        self._command_timeout = command_timeout
        self._media_timeout = media_timeout
        self._gone = False
        self._released = False
        self._closed = False
        self._in_flight = False
        self._recording_dir = recording_dir
        self._record_silence_s = record_silence_s

    # -- state ---------------------------------------------------------------------------------

    @property
    def request(self) -> AgiRequest:
        return self._request

    @property
    def channel_id(self) -> str:
        """Asterisk's unique id of the channel (``agi_uniqueid``)."""
        return self._request.uniqueid

    @property
    def gone(self) -> bool:
        """The caller hung up (or the connection dropped)."""
        return self._gone

    @property
    def released(self) -> bool:
        """ccapp is done with the channel: hung up, handed back to the dialplan, or closed."""
        return self._released or self._gone or self._closed

    @property
    def in_step(self) -> bool:
        """Usable and between commands: no reply is owed (one is owed after a command was
        cancelled while waiting for it, e.g. at shutdown)."""
        return not self.released and not self._in_flight

    async def close(self) -> None:
        """Close the connection; Asterisk's AGI() then returns and the dialplan goes on."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    # -- CallControl -----------------------------------------------------------------------------

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def play(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        """Play each prompt (a sound name or a media URI, see `media_command`); a missing sound
        or a prompt AGI cannot play is logged and skipped rather than failing the call."""
        escape = ALL_KEYS if interruptible else ""
        for prompt in prompts:
            command = media_command(prompt, escape)
            if command is None:
                log.warning("prompt %r cannot be played over AGI on %s", prompt, self.channel_id)
                continue
            key = await self._media(command, prompt)
            if key is not None:
                return key
        return None

    async def collect_digits(
        self,
        *,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_digit_timeout: float = 3.0,
        prompts: Sequence[str] = (),
    ) -> DigitResult:
        """Prompts stop at the first key, which counts as input; then one ``WAIT FOR DIGIT`` per
        key, so first and inter-digit timeouts and any terminator are honoured (``GET DATA`` has
        one timeout and a fixed ``#``). The terminator is reported, never part of ``digits``."""
        if max_digits < 1:
            raise ValueError("max_digits must be at least 1")
        digits = ""
        key = await self.play(prompts, interruptible=True) if prompts else None
        while True:
            if key is not None:
                if terminator and key == terminator:
                    return DigitResult(digits, terminator=key)
                digits += key
                if len(digits) >= max_digits:
                    return DigitResult(digits)
            key = await self.wait_for_digit(inter_digit_timeout if digits else first_timeout)
            if key is None:
                return DigitResult(digits, timed_out=True)

    async def say_digits(self, digits: str) -> None:
        result = await self.command(
            f"SAY DIGITS {quote(digits)} {quote('')}", reply_timeout=self._media_timeout
        )
        if result.result_int == -1:
            await self._raise_if_gone("SAY DIGITS")

    async def record_message(
        self, name: str, *, max_seconds: float, beep: bool = True, terminator: str = "#"
    ) -> RecordResult:
        """``RECORD FILE`` into ``<spool>/recording/<name>.wav``; the result's ``name`` is that path
        without the extension. The directory must exist: unlike ARI, AGI does not create it.

        Asterisk's reply says ``dtmf``, ``timeout`` (maximum length *or* silence: told apart by
        how long the command ran) or ``hangup``; ``endpos`` gives the length in samples.
        """
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        path = _recording_path(await self.recording_dir(), name)
        line = f"RECORD FILE {_name(path)} wav {quote(terminator)} {int(max_seconds * 1000)}"
        if beep:
            line += " BEEP"
        if self._record_silence_s > 0:
            line += f" s={int(self._record_silence_s)}"
        started = time.monotonic()
        result = await self.command(line, reply_timeout=max_seconds + self._media_timeout)
        elapsed = time.monotonic() - started
        duration = (result.endpos or 0) / WAV_RATE
        code = result.result_int
        if result.data == "dtmf":
            return RecordResult(path, duration, "terminator")
        if result.data == "hangup":
            self._gone = True
            return RecordResult(path, duration, "hangup")
        if result.data == "timeout" and code == 0:
            reason = "max_duration" if elapsed >= max_seconds else "silence"
            return RecordResult(path, duration, reason)
        if result.data == "randomerror" and code is not None and code > 0:
            return RecordResult(path, 0.0, "terminator")  # a key during the beep
        if code == -1:
            try:
                await self._raise_if_gone("RECORD FILE")
            except CallGone:
                return RecordResult(path, duration, "hangup")
        raise TelephonyError(
            f"RECORD FILE {path} failed on {self.channel_id} ({result.data or result.result}); "
            "does the directory exist and can Asterisk write there?"
        )

    async def recording_dir(self) -> str:
        """Asterisk's recording directory (``${ASTSPOOLDIR}/recording``), asked once."""
        if self._recording_dir is None:
            spool = await self.get_variable("ASTSPOOLDIR") or "/var/spool/asterisk"
            self._recording_dir = f"{spool.rstrip('/')}/{RECORDING_SUBDIR}"
        return self._recording_dir

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {_name(name)} {quote(value)}")

    async def hangup(self, cause: int = 16) -> None:
        """Hang up; a cause other than normal clearing (16) goes through the Hangup() application."""
        if cause == 16:
            await self.command("HANGUP")
        else:
            await self.command(f"EXEC Hangup {int(cause)}", allow_hangup=True)
        self._released = True

    async def continue_in_dialplan(self, context: str, extension: str = "s", priority: int = 1) -> None:
        """Point the channel at ``context,extension,priority`` and end the AGI session.

        The order matters: ``SET PRIORITY`` goes last because Asterisk applies it as an explicit
        goto, which makes up for the priority increment done when AGI() returns.
        """
        await self.command(f"SET CONTEXT {_name(context)}")
        await self.command(f"SET EXTENSION {_name(extension)}")
        await self.command(f"SET PRIORITY {int(priority)}")
        self._released = True
        await self.close()

    # -- more AGI ----------------------------------------------------------------------------------

    async def get_variable(self, name: str) -> str | None:
        """A channel variable or dialplan function, or None when unset."""
        result = await self.command(f"GET VARIABLE {_name(name)}")
        return result.data if result.result == "1" else None

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {quote(message)} {int(level)}")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """``STREAM FILE``: the key that stopped playback, or None."""
        return await self._media(f"STREAM FILE {_name(name)} {quote(escape_digits)}", name)

    async def _media(self, line: str, prompt: str) -> str | None:
        """Run a playing command (STREAM FILE, SAY …): the key that stopped it, or None."""
        result = await self.command(line, reply_timeout=self._media_timeout)
        code = result.result_int
        if code == -1:
            await self._raise_if_gone(" ".join(line.split(" ", 2)[:2]))
            log.warning("prompt %r could not be played on %s", prompt, self.channel_id)
            return None
        return chr(code) if code else None

    async def wait_for_digit(self, seconds: float) -> str | None:
        """``WAIT FOR DIGIT``: one key, or None after ``seconds``."""
        result = await self.command(
            f"WAIT FOR DIGIT {max(0, int(seconds * 1000))}", reply_timeout=seconds + self._command_timeout
        )
        code = result.result_int
        if code == -1:
            await self._raise_if_gone("WAIT FOR DIGIT")
            raise TelephonyError(f"WAIT FOR DIGIT failed on {self.channel_id}")
        return chr(code) if code else None

    async def command(
        self, line: str, *, reply_timeout: float | None = None, allow_hangup: bool = False
    ) -> AgiResult:
        """Send one raw command line and return its reply.

        Raises `CallGone` (hang-up, 511, closed connection), `TelephonyError` (510/520 or another
        refusal, timeout) or `ProtocolError` (a reply that is not AGI).
        """
        verb = " ".join(line.split(" ", 2)[:2])
        if self._gone:
            raise CallGone(f"channel {self.channel_id} hung up")
        if self.released:
            raise CallGone(f"channel {self.channel_id} is no longer under ccapp's control")
        if "\n" in line or "\r" in line:
            raise ValueError("an AGI command is one line")
        if self._in_flight:
            raise TelephonyError(
                f"AGI session of {self.channel_id} is out of step: a reply is still owed "
                "(a command was cancelled, or two ran at once)"
            )
        wait = self._command_timeout if reply_timeout is None else reply_timeout
        try:
            self._in_flight = True
            self._writer.write(line.encode() + b"\n")
            async with asyncio.timeout(wait):
                await self._writer.drain()
                reply = await self._read_reply()
            self._in_flight = False
        except TimeoutError:
            await self.close()
            raise TelephonyError(f"AGI {verb} got no reply within {wait:g} s") from None
        except (ConnectionError, OSError) as exc:
            self._gone = True
            raise CallGone(f"AGI connection of {self.channel_id} dropped: {exc}") from exc
        if isinstance(reply, Hangup):
            self._gone = True
            if allow_hangup:
                return AgiResult(code=200, result="-1")
            raise CallGone(f"channel {self.channel_id} hung up during {verb}")
        if reply.dead_channel:
            self._gone = True
            raise CallGone(f"channel {self.channel_id} is dead ({verb})")
        if not reply.ok:
            raise TelephonyError(f"Asterisk refused AGI {verb}: {reply.code} {reply.message}".strip())
        return reply

    async def _read_reply(self) -> AgiResult | Hangup:
        while True:
            try:
                raw = await self._reader.readline()
            except ValueError as exc:  # the stream's line limit
                await self.close()
                raise ProtocolError(f"AGI reply line too long on {self.channel_id}") from exc
            if not raw.endswith(b"\n"):
                self._gone = True
                raise CallGone(f"Asterisk closed the AGI connection of {self.channel_id}")
            try:
                reply = self._parser.feed(raw.decode("utf-8", "replace").rstrip("\r\n"))
            except ProtocolError:
                await self.close()  # out of step with the peer: nothing later can be trusted
                raise
            if reply is not None:
                return reply

    async def _raise_if_gone(self, verb: str) -> None:
        # result=-1 means "hung up" and also "sound file not found": ask the channel which it is.
        await self.command("CHANNEL STATUS")
        log.debug("%s returned -1 on %s, which is still up", verb, self.channel_id)


def _recording_path(directory: str, name: str) -> str:
    """``directory/name`` for a relative recording name; refuses names that climb out of it."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a relative recording name: {name!r}")
    return f"{directory}/{name}"


def _name(word: str) -> str:
    """A bare word argument (variable, context, sound name): no spaces, quotes or line breaks."""
    if not word or any(ch in word for ch in ' "\r\n\t'):
        raise ValueError(f"not a valid AGI word: {word!r}")
    return word
