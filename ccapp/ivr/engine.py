"""The IVR engine: walks one call through one tree on the `CallControl` port.

The same code runs over ARI, FastAGI and the offline runner (``ccapp ivr test``), because everything
outside the tree goes through ports: the channel (`CallControl`, optionally `SpeechCapture`), the clock,
TTS (`PromptStore`), speech recognition (`Recognizer`), web services (`HttpFetcher`), ACD
(`QueueTarget`) and the call recording (`RecordingGate`).

Every node entered, every input (masked when sensitive), timeout, no-match and exit is journaled, so
``ccapp ivr report`` can show visits, drop-offs and paths. A session keeps the `Tree` object it
started with: a reload never changes a call already in a tree.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ccapp.calls.call import Call
from ccapp.calls.model import EventKind
from ccapp.calls.ports import CallControl
from ccapp.errors import CallGone, CcappError, FetchError
from ccapp.ivr.ports import SpeechCapture
from ccapp.ivr.services import QUEUE_VIA_DIALPLAN, IvrServices
from ccapp.ivr.tree import (
    TEMPLATE_REF,
    CollectNode,
    ConditionNode,
    Handler,
    HangupNode,
    HttpNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    SetNode,
    SpeechNode,
    TransferNode,
    Tree,
    VoicemailNode,
    When,
)

log = logging.getLogger(__name__)

#: a call that passes through more nodes than this is stuck (validation forbids idle loops, but a
#: caller can still loop through a menu forever)
MAX_STEPS = 1000
MASK = "*"


class IvrError(CcappError):
    """A tree cannot go on (a bug in the tree that validation could not see)."""

    error_id = "ivr_error"


@dataclass(frozen=True, slots=True)
class _Exit:
    outcome: str
    target: str | None = None


_Step = str | _Exit


def mask(value: str) -> str:
    """Sensitive input as it may be stored: its length only."""
    return MASK * len(value)


class IvrSession:
    """One call in one tree."""

    def __init__(
        self,
        *,
        call: Call,
        control: CallControl,
        tree_name: str,
        tree: Tree,
        services: IvrServices,
        caller_number: str | None = None,
        caller_name: str | None = None,
        called_number: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self.call = call
        self.control = control
        self.tree_name = tree_name
        self.tree = tree
        self.version = tree.version
        self.services = services
        self.vars: dict[str, str] = dict(variables or {})
        self.sensitive: set[str] = set()
        self.path: list[str] = []
        self._ctx = {
            "caller.number": caller_number or "",
            "caller.name": caller_name or "",
            "call.id": call.call_id,
            "call.called": called_number or "",
        }
        self._pending_key: str | None = None

    # -- the walk ---------------------------------------------------------------------------------

    async def run(self) -> str:
        """Walk from the start node to an exit; returns the call's outcome. Raises `CallGone` when
        the caller hangs up (after journaling where)."""
        name = self.tree.start
        for _ in range(MAX_STEPS):
            node = self.tree.nodes[name]
            self.path.append(name)
            self._record(EventKind.IVR_NODE, name, {"version": self.version, "type": node.type})
            try:
                step = await self._run_node(name, node)
            except CallGone:
                self._record(EventKind.IVR_EXIT, name, {"outcome": "caller_hangup", "target": None})
                raise
            except Exception as exc:
                self._record(EventKind.IVR_EXIT, name, {"outcome": "error", "target": type(exc).__name__})
                raise
            if isinstance(step, _Exit):
                self._record(EventKind.IVR_EXIT, name, {"outcome": step.outcome, "target": step.target})
                return step.outcome
            name = step
        raise IvrError(f"tree {self.tree_name!r}: more than {MAX_STEPS} nodes in one call")

    async def _run_node(self, name: str, node: Node) -> _Step:
        if isinstance(node, PlayNode):
            return await self._play_node(node)
        if isinstance(node, MenuNode):
            return await self._menu(name, node)
        if isinstance(node, CollectNode):
            return await self._collect(name, node)
        if isinstance(node, SpeechNode):
            return await self._speech(name, node)
        if isinstance(node, ConditionNode):
            return self._condition(name, node)
        if isinstance(node, HttpNode):
            return await self._http(name, node)
        if isinstance(node, SetNode):
            return await self._set(node)
        if isinstance(node, QueueNode):
            return await self._queue(node)
        if isinstance(node, TransferNode):
            return await self._transfer(node)
        if isinstance(node, VoicemailNode):
            return await self._voicemail(name, node)
        if isinstance(node, HangupNode):
            await self._say(node.prompts)
            await self.control.hangup(node.cause)
            return _Exit("hangup")
        raise IvrError(f"unknown node type {type(node).__name__}")  # pragma: no cover

    # -- nodes ------------------------------------------------------------------------------------

    async def _play_node(self, node: PlayNode) -> _Step:
        key = await self._say(node.prompts, interruptible=node.barge_in)
        if key is not None:
            self._pending_key = key
        return node.next

    async def _menu(self, name: str, node: MenuNode) -> _Step:
        for attempt in range(1, node.max_tries + 1):
            key = self._take_pending()
            if key is None:
                media = await self._media(node.prompts)
                self._journal_prompts(node.prompts)
                result = await self.control.collect_digits(
                    max_digits=1, terminator="", first_timeout=node.timeout_s, prompts=media
                )
                key = result.digits or None
            if key is None:
                self._record(EventKind.IVR_TIMEOUT, name, {"attempt": attempt})
                step = await self._handle(node.on_timeout)
            elif key in node.options:
                self._record(EventKind.IVR_INPUT, name, {"mode": "dtmf", "input": key, "confidence": None})
                if node.var:
                    self._set_var(node.var, key)
                return node.options[key]
            else:
                self._record(EventKind.IVR_NO_MATCH, name, {"attempt": attempt, "mode": "dtmf", "input": key})
                step = await self._handle(node.on_invalid)
            if step is not None:
                return step
        return await self._max_tries(node.on_max_tries)

    async def _collect(self, name: str, node: CollectNode) -> _Step:
        gate = self.services.recording
        if node.sensitive:
            await gate.pause("sensitive input")
            self.call.record(EventKind.RECORDING_PAUSED, {"reason": "sensitive input", "node": name})
        try:
            for attempt in range(1, node.max_tries + 1):
                digits, timed_out = await self._gather(node)
                shown = mask(digits) if node.sensitive else digits
                if not digits:
                    self._record(EventKind.IVR_TIMEOUT, name, {"attempt": attempt})
                    step = await self._handle(node.on_timeout)
                elif node.check(digits):
                    self._record(
                        EventKind.IVR_INPUT,
                        name,
                        {"mode": "dtmf", "input": shown, "confidence": None, "timed_out": timed_out},
                    )
                    self._set_var(node.var, digits, sensitive=node.sensitive)
                    return node.next
                else:
                    self._record(
                        EventKind.IVR_NO_MATCH, name, {"attempt": attempt, "mode": "dtmf", "input": shown}
                    )
                    step = await self._handle(node.on_invalid)
                if step is not None:
                    return step
            return await self._max_tries(node.on_max_tries)
        finally:
            if node.sensitive:
                try:
                    await gate.resume("sensitive input done")
                finally:
                    self.call.record(
                        EventKind.RECORDING_RESUMED, {"reason": "sensitive input done", "node": name}
                    )

    async def _gather(self, node: CollectNode) -> tuple[str, bool]:
        first = self._take_pending()
        if first is not None and first != node.terminator:
            if node.max_digits == 1:
                return first, False
            result = await self.control.collect_digits(
                max_digits=node.max_digits - 1,
                terminator=node.terminator,
                first_timeout=node.inter_digit_timeout_s,
                inter_digit_timeout=node.inter_digit_timeout_s,
            )
            return first + result.digits, result.timed_out
        self._journal_prompts(node.prompts)
        result = await self.control.collect_digits(
            max_digits=node.max_digits,
            terminator=node.terminator,
            first_timeout=node.first_timeout_s,
            inter_digit_timeout=node.inter_digit_timeout_s,
            prompts=await self._media(node.prompts),
        )
        return result.digits, result.timed_out

    async def _speech(self, name: str, node: SpeechNode) -> _Step:
        control = self.control
        recognizer = self.services.recognizer
        hearer = control if isinstance(control, SpeechCapture) and recognizer is not None else None
        if hearer is None:
            log.info("speech node %s/%s: no speech path on this channel, DTMF only", self.tree_name, name)
        for attempt in range(1, node.max_tries + 1):
            media = await self._media(node.prompts)
            self._journal_prompts(node.prompts)
            digit: str | None = self._take_pending()
            phrase: str | None = None
            confidence: float | None = None
            latency_ms: int | None = None
            heard = False
            if digit is None and hearer is not None and recognizer is not None:
                utterance = await hearer.listen(
                    prompts=media, no_input_timeout=node.no_input_timeout_s, max_speech=node.max_speech_s
                )
                digit = utterance.digit
                if utterance.audio:
                    heard = True
                    recognition = await asyncio.to_thread(
                        recognizer.recognize, utterance.audio, utterance.sample_rate, list(node.phrases)
                    )
                    phrase, confidence = recognition.phrase, round(recognition.confidence, 3)
                    latency_ms = round(recognition.latency_s * 1000)
            elif digit is None:
                result = await control.collect_digits(
                    max_digits=1, terminator="", first_timeout=node.no_input_timeout_s, prompts=media
                )
                digit = result.digits or None

            if digit is not None:
                if digit in node.dtmf:
                    self._record(
                        EventKind.IVR_INPUT, name, {"mode": "dtmf", "input": digit, "confidence": None}
                    )
                    return node.dtmf[digit]
                self._record(
                    EventKind.IVR_NO_MATCH, name, {"attempt": attempt, "mode": "dtmf", "input": digit}
                )
                step = await self._handle(node.on_no_match)
            elif not heard:
                self._record(EventKind.IVR_TIMEOUT, name, {"attempt": attempt})
                step = await self._handle(node.on_no_input)
            elif (
                # a recognizer may answer a phrase outside the grammar: that is a no-match, not a crash
                phrase is not None
                and phrase in node.phrases
                and confidence is not None
                and confidence >= node.confidence
            ):
                self._record(
                    EventKind.IVR_INPUT,
                    name,
                    {"mode": "speech", "input": phrase, "confidence": confidence, "latency_ms": latency_ms},
                )
                if node.var:
                    self._set_var(node.var, phrase)
                return node.phrases[phrase]
            else:
                self._record(
                    EventKind.IVR_NO_MATCH,
                    name,
                    {
                        "attempt": attempt,
                        "mode": "speech",
                        "input": phrase,
                        "confidence": confidence,
                        "latency_ms": latency_ms,
                    },
                )
                step = await self._handle(node.on_no_match)
            if step is not None:
                return step
        return await self._max_tries(node.on_max_tries)

    def _condition(self, name: str, node: ConditionNode) -> _Step:
        for rule in node.rules:
            if self._holds(rule.when):
                return rule.next
        return node.default

    def _holds(self, when: When) -> bool:
        if when.schedule is not None:
            schedule = self.tree.schedules.get(when.schedule) or self.services.schedules.get(when.schedule)
            if schedule is None:
                raise IvrError(f"unknown schedule {when.schedule!r}")
            if schedule.open_at(self.services.clock.now()) != when.open:
                return False
        if when.caller is not None and re.fullmatch(when.caller, self._ctx["caller.number"]) is None:
            return False
        if when.var is not None:
            value = self.vars.get(when.var)
            if value is None:
                return False
            if when.equals is not None and value != when.equals:
                return False
            if when.matches is not None and re.fullmatch(when.matches, value) is None:
                return False
            if when.in_ is not None and value not in when.in_:
                return False
        return True

    async def _http(self, name: str, node: HttpNode) -> _Step:
        url = self.expand(node.url, url=True)
        body = {k: self.expand(v) for k, v in node.body.items()} if node.method == "POST" else None
        headers = {k: self.expand(v) for k, v in node.headers.items()}
        try:
            answer = await self.services.fetcher.fetch(
                node.method, url, body=body, headers=headers, timeout_s=node.timeout_s
            )
            values = {var: extract(answer, path) for var, path in node.assign.items()}
        except FetchError as exc:
            # The message never holds the URL or body: they may carry caller data.
            self.call.record(EventKind.ERROR, {"where": f"ivr.http.{name}", "error": str(exc)})
            log.warning("tree %s node %s: %s", self.tree_name, name, exc)
            return node.on_error
        for var, value in values.items():
            self._set_var(var, value)
        return node.next

    async def _set(self, node: SetNode) -> _Step:
        for var, template in node.vars.items():
            value = self.expand(template)
            sensitive = self._uses_sensitive(template)
            self._set_var(var, value, sensitive=sensitive)
            if node.channel:
                # Channel variables end up in Asterisk's CDRs and logs: never a sensitive value.
                await self.control.set_variable(f"CCAPP_{var.upper()}", mask(value) if sensitive else value)
        return node.next

    async def _queue(self, node: QueueNode) -> _Step:
        await self._say(node.prompts)
        outcome = await self.services.queue.enter(
            self.control,
            queue=node.queue,
            priority=node.priority,
            variables=self.public_vars(),
            call=self.call,
        )
        self.call.record(EventKind.VARIABLE, {"name": "queue_outcome", "value": outcome})
        # The caller is still on the line (a hang-up raises CallGone): the agent left first, the
        # queue gave up (max wait without overflow) or a callback was booked; ``next`` goes on
        # (a post-call survey, a payment step, a goodbye).
        if node.next is not None and outcome != QUEUE_VIA_DIALPLAN:
            return node.next
        return _Exit("queue", node.queue)

    async def _transfer(self, node: TransferNode) -> _Step:
        settings = self.services.transfer
        if node.target is not None:
            target = node.target
        else:
            if settings.number_dial is None:
                raise IvrError("transfer to a number needs ivr.transfer.number_dial")
            number = self.expand(node.number or "")
            if not re.fullmatch(r"\+?\d{2,20}", number):
                raise IvrError("transfer number is not a phone number")
            target = settings.number_dial.replace("{number}", number)
        await self._say(node.prompts)
        await self.control.set_variable("CCAPP_TRANSFER_TARGET", target)
        await self.control.set_variable("CCAPP_TRANSFER_TIMEOUT", str(int(node.timeout_s)))
        await self.control.continue_in_dialplan(settings.context, "s", 1)
        return _Exit("transfer", target)

    async def _voicemail(self, name: str, node: VoicemailNode) -> _Step:
        await self._say(node.prompts)
        result = await self.control.record_message(
            f"ccapp/voicemail/{node.mailbox}/{self.call.call_id}", max_seconds=node.max_s, beep=node.beep
        )
        self._record(
            EventKind.IVR_INPUT,
            name,
            {
                "mode": "voice",
                "input": result.name,
                "duration_s": round(result.duration_s, 2),
                "reason": result.reason,
            },
        )
        self._set_var("voicemail", result.name)
        if result.reason == "hangup":
            raise CallGone("caller hung up after leaving a message")
        if node.next is not None:
            return node.next
        await self.control.hangup()
        return _Exit("voicemail", node.mailbox)

    # -- helpers ----------------------------------------------------------------------------------

    async def _handle(self, handler: Handler) -> _Step | None:
        """Play a timeout/invalid handler; returns where to go, or None to ask again (or, after the
        last try, to go on to the max-tries handler)."""
        await self._say(handler.prompts)
        return handler.next

    async def _max_tries(self, handler: Handler) -> _Step:
        await self._say(handler.prompts)
        if handler.next is not None:
            return handler.next
        await self.control.hangup()
        return _Exit("max_tries")

    def _take_pending(self) -> str | None:
        key, self._pending_key = self._pending_key, None
        return key

    async def _say(self, prompts: Sequence[str], *, interruptible: bool = False) -> str | None:
        if not prompts:
            return None
        self._journal_prompts(prompts)
        return await self.control.play(await self._media(prompts), interruptible=interruptible)

    def _journal_prompts(self, prompts: Sequence[str]) -> None:
        # Templates, not their values: a prompt may read back sensitive digits.
        if prompts:
            self.call.record(EventKind.PROMPT, {"prompts": list(prompts)})

    async def _media(self, prompts: Sequence[str]) -> list[str]:
        """Prompts as media the channel can play: templates filled, text rendered by TTS."""
        out: list[str] = []
        for prompt in prompts:
            value = self.expand(prompt)
            if value.startswith("text:"):
                store = self.services.prompts
                if store is None:
                    raise IvrError("text: prompts need a TTS engine (ivr.tts)")
                out.append(await store.render(value[len("text:") :].strip()))
            elif value.startswith("number:"):
                spoken = _number(value[len("number:") :])
                if spoken is None:
                    log.warning("tree %s: %r is not a number; prompt skipped", self.tree_name, prompt)
                    continue
                out.extend(spoken)
            elif value.startswith("digits:"):
                digits = "".join(ch for ch in value[len("digits:") :] if ch.isdigit() or ch in "*#")
                if digits:
                    out.append(f"digits:{digits}")
            else:
                out.append(value)
        return out

    def expand(self, template: str, *, url: bool = False) -> str:
        """Fill ``{caller.number}``, ``{vars.x}``… (URL-quoted with ``url``); unknown → ""."""

        def value(match: re.Match[str]) -> str:
            ref = match.group(1)
            text = self.vars.get(ref[5:], "") if ref.startswith("vars.") else self._ctx.get(ref, "")
            return quote(text, safe="") if url else text

        return TEMPLATE_REF.sub(value, template)

    def _uses_sensitive(self, template: str) -> bool:
        return any(
            ref.startswith("vars.") and ref[5:] in self.sensitive for ref in TEMPLATE_REF.findall(template)
        )

    def _set_var(self, name: str, value: str, *, sensitive: bool = False) -> None:
        self.vars[name] = value
        if sensitive:
            self.sensitive.add(name)
        else:
            self.sensitive.discard(name)
        shown = mask(value) if sensitive else value
        self.call.record(EventKind.VARIABLE, {"name": name, "value": shown})

    def public_vars(self) -> dict[str, str]:
        """Variables safe to hand to other components (sensitive ones masked)."""
        return {k: mask(v) if k in self.sensitive else v for k, v in self.vars.items()}

    def _record(self, kind: EventKind, node: str, data: Mapping[str, Any]) -> None:
        self.call.record(kind, {"tree": self.tree_name, "node": node, **data})


def extract(answer: Any, path: str) -> str:
    """``account.balance`` / ``items.0.id`` from decoded JSON, as text. Raises `FetchError`."""
    value = answer
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise FetchError(f"the answer has no field {path!r}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise FetchError(f"field {path!r} is not a single value")
    return str(value)


def _number(text: str) -> list[str] | None:
    """``1250`` → number:1250; ``12.50`` → number:12, point, digits of 50; None if not a number."""
    text = text.strip()
    match = re.fullmatch(r"(-?\d{1,15})(?:[.,](\d{1,6}))?", text)
    if match is None:
        return None
    whole, fraction = match.groups()
    media = [f"number:{int(whole)}"]
    if fraction and int(fraction):
        media.extend(["letters/dot", f"digits:{fraction}"])
    return media
