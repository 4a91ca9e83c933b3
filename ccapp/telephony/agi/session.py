"""`AgiSession`: the `CallControl` port over one FastAGI connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from ccapp.calls.ports import DigitResult
from ccapp.errors import CallGone, ProtocolError, TelephonyError
from ccapp.telephony.agi.protocol import AgiRequest, AgiResult, Hangup, ReplyParser, quote

log = logging.getLogger(__name__)

#: keys that interrupt an interruptible prompt
ALL_KEYS = "0123456789*#"


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
        """Play each sound; a missing sound is logged and skipped rather than failing the call."""
        for prompt in prompts:
            key = await self.stream_file(prompt, ALL_KEYS if interruptible else "")
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
        result = await self.command(
            f"STREAM FILE {_name(name)} {quote(escape_digits)}", reply_timeout=self._media_timeout
        )
        code = result.result_int
        if code == -1:
            await self._raise_if_gone("STREAM FILE")
            log.warning("sound %r could not be played on %s", name, self.channel_id)
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


def _name(word: str) -> str:
    """A bare word argument (variable, context, sound name): no spaces, quotes or line breaks."""
    if not word or any(ch in word for ch in ' "\r\n\t'):
        raise ValueError(f"not a valid AGI word: {word!r}")
    return word
