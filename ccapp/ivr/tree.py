"""IVR trees as admins write them in YAML, validated into typed, frozen models.

A tree is a named set of nodes and a ``start`` node. Each node has a ``type`` that picks its model
(pydantic's discriminated union), so a typo in a key is an error naming the tree, the node and the key.
Checks that need the whole tree (dangling targets, unreachable nodes, loops that never wait for input,
unknown queues, missing sounds) live in `ccapp.ivr.validate`.

Prompts are strings: a sound name (``vm-goodbye``), an ARI-style media URI (``sound:``, ``digits:``,
``number:``, ``characters:``), or ``text:<words>`` spoken by the TTS engine. Prompts, URLs and ``set``
values may use ``{caller.number}``, ``{caller.name}``, ``{call.id}``, ``{call.called}`` and
``{vars.<name>}``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ccapp.ivr.schedule import Schedule

NodeName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z_][\w-]*$")]
VarName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z_]\w*$")]
Seconds = Annotated[float, Field(strict=False, gt=0, le=3600)]
Tries = Annotated[int, Field(strict=True, ge=1, le=10)]

KEYS = "0123456789*#"
#: template references: {caller.number}, {vars.balance}…
TEMPLATE_REF = re.compile(r"\{([^{}]*)\}")
TEMPLATE_NAMES = re.compile(r"^(caller\.(number|name)|call\.(id|called)|vars\.[A-Za-z_]\w*)$")
PROMPT_SCHEMES = ("sound:", "digits:", "number:", "characters:", "text:")


def check_template(value: str) -> str:
    """Reject ``{…}`` references ccapp cannot fill, naming the bad one."""
    for ref in TEMPLATE_REF.findall(value):
        if not TEMPLATE_NAMES.match(ref):
            raise ValueError(
                f"unknown variable {{{ref}}} (use caller.number, caller.name, call.id, call.called "
                "or vars.<name>)"
            )
    if value.count("{") != value.count("}"):
        raise ValueError("unbalanced { } in template")
    return value


def _check_prompt(value: str) -> str:
    check_template(value)
    if ":" in value and not value.startswith(PROMPT_SCHEMES) and "://" not in value:
        scheme = value.split(":", 1)[0]
        raise ValueError(
            f"unknown prompt kind {scheme!r}: use a sound name, sound:, digits:, number:, "
            "characters: or text:"
        )
    if value.startswith("text:") and not value[5:].strip():
        raise ValueError("text: prompt is empty")
    if not value.startswith(PROMPT_SCHEMES) and not re.fullmatch(r"[\w./{}-]+", value):
        raise ValueError(f"{value!r} is not a sound name (for words, write text: {value})")
    return value


Prompt = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _prompt_list(value: Any) -> Any:
    # "prompts: welcome" is as natural as a one-item list.
    return [value] if isinstance(value, str) else value


class _Prompted(_Model):
    prompts: list[Prompt] = Field(default_factory=list)

    @field_validator("prompts", mode="before")
    @classmethod
    def _one_prompt(cls, value: Any) -> Any:
        return _prompt_list(value)

    @field_validator("prompts")
    @classmethod
    def _valid_prompts(cls, value: list[str]) -> list[str]:
        return [_check_prompt(p) for p in value]


class Handler(_Prompted):
    """What happens on a timeout, an invalid key, a no-match or too many tries: optional prompts, then
    ``next`` (when absent on timeout/invalid: ask again; on max tries: hang up)."""

    next: NodeName | None = None


class _Node(_Prompted):
    description: str = ""


def _key(value: Any) -> str:
    # YAML reads 1: as an int; '#' and '*' must be quoted in YAML, which the message says.
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or len(text) != 1 or text not in KEYS:
        raise ValueError(f"{value!r} is not a phone key (0-9, * or #; quote * and # in YAML)")
    return text


def _keys_to_nodes(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, target in value.items():
        name = _key(key)
        if name in out:
            raise ValueError(f"key {name!r} is given twice")
        out[name] = target
    return out


class PlayNode(_Node):
    """Play prompts, then go on. With ``barge_in`` a key stops the prompts and is kept as the first
    input of the next menu or collect."""

    type: Literal["play"]
    next: NodeName
    barge_in: bool = False


class MenuNode(_Node):
    """Play prompts (a key stops them) and route on one key."""

    type: Literal["menu"]
    options: dict[str, NodeName]
    timeout_s: Seconds = 5.0
    max_tries: Tries = 3
    on_timeout: Handler = Field(default_factory=Handler)
    on_invalid: Handler = Field(default_factory=lambda: Handler(prompts=["pm-invalid-option"]))
    on_max_tries: Handler = Field(default_factory=lambda: Handler(prompts=["vm-goodbye"]))
    var: VarName | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _keys_to_nodes(value)

    @field_validator("options")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a menu needs at least one option")
        return value


class CollectNode(_Node):
    """Gather several digits into ``vars.<var>``, validated by length, pattern and/or Luhn."""

    type: Literal["collect"]
    var: VarName
    next: NodeName
    min_digits: Annotated[int, Field(strict=True, ge=1, le=64)] = 1
    max_digits: Annotated[int, Field(strict=True, ge=1, le=64)] = 16
    terminator: str = "#"
    first_timeout_s: Seconds = 6.0
    inter_digit_timeout_s: Seconds = 3.0
    pattern: str | None = None
    luhn: bool = False
    sensitive: bool = False
    max_tries: Tries = 3
    on_timeout: Handler = Field(default_factory=Handler)
    on_invalid: Handler = Field(default_factory=lambda: Handler(prompts=["pm-invalid-option"]))
    on_max_tries: Handler = Field(default_factory=lambda: Handler(prompts=["vm-goodbye"]))

    @field_validator("terminator", mode="before")
    @classmethod
    def _terminator(cls, value: Any) -> Any:
        if value is None:
            raise ValueError('quote it in YAML: terminator: "#" (an unquoted # starts a comment)')
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if text != "" and (not isinstance(text, str) or len(text) != 1 or text not in KEYS):
            raise ValueError('must be one key (0-9, *, #) or "" for none')
        return text

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError(f"min_digits ({self.min_digits}) is more than max_digits ({self.max_digits})")
        if self.terminator and self.terminator in "0123456789":
            raise ValueError("a digit cannot be the terminator of a digit collect")
        return self

    def check(self, digits: str) -> bool:
        """Whether ``digits`` pass this node's length, pattern and Luhn rules."""
        if not self.min_digits <= len(digits) <= self.max_digits:
            return False
        if self.pattern is None and not digits.isdigit():
            return False  # * and # are keys, not digits, unless a pattern allows them
        if self.pattern is not None and re.fullmatch(self.pattern, digits) is None:
            return False
        return not self.luhn or luhn_ok(digits)


def luhn_ok(digits: str) -> bool:
    """The Luhn mod-10 check of card and many account numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class SpeechNode(_Node):
    """Ask a question; the caller says one of ``phrases`` (or presses a key of ``dtmf``)."""

    type: Literal["speech"]
    phrases: dict[str, NodeName]
    dtmf: dict[str, NodeName] = Field(default_factory=dict)
    confidence: Annotated[float, Field(ge=0, le=1)] = 0.3
    no_input_timeout_s: Seconds = 5.0
    max_speech_s: Seconds = 10.0
    max_tries: Tries = 3
    on_no_input: Handler = Field(default_factory=Handler)
    on_no_match: Handler = Field(default_factory=lambda: Handler(prompts=["pm-invalid-option"]))
    on_max_tries: Handler = Field(default_factory=lambda: Handler(prompts=["vm-goodbye"]))
    var: VarName | None = None

    @field_validator("dtmf", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _keys_to_nodes(value)

    @field_validator("phrases", mode="before")
    @classmethod
    def _normal_phrases(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for phrase, target in value.items():
            text = " ".join(str(phrase).lower().split())
            if not re.fullmatch(r"[a-z' ]+", text):
                raise ValueError(f"phrase {phrase!r}: use plain words (letters, spaces, apostrophes)")
            if text in out:
                raise ValueError(f"phrase {text!r} is given twice")
            out[text] = target
        return out

    @field_validator("phrases")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a speech node needs at least one phrase")
        return value


class When(_Model):
    """One rule's test; every given field must hold. ``caller`` is a regular expression matched
    against the whole caller number; ``var`` + ``equals``/``matches``/``in`` tests a variable."""

    schedule: str | None = None
    open: bool = True
    caller: str | None = None
    var: VarName | None = None
    equals: str | None = None
    matches: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("caller", "matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("equals", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("in_", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        # in: [1, 2] after a menu is as natural as equals: 1
        return [cls._text(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _something(self) -> When:
        tests = (self.equals, self.matches, self.in_)
        if self.var is None and any(t is not None for t in tests):
            raise ValueError("equals/matches/in need var: <name>")
        if self.var is not None and all(t is None for t in tests):
            raise ValueError("var needs equals, matches or in")
        if self.schedule is None and self.caller is None and self.var is None:
            raise ValueError("give at least one of schedule, caller, var")
        if self.schedule is None and not self.open:
            raise ValueError("open: false needs schedule: <name>")
        return self


class Rule(_Model):
    when: When
    next: NodeName


class ConditionNode(_Node):
    """The first rule that holds picks the next node; otherwise ``default``."""

    type: Literal["condition"]
    rules: Annotated[list[Rule], Field(min_length=1)]
    default: NodeName


class HttpNode(_Node):
    """Call a web service; ``assign`` copies fields of its JSON answer (dotted paths, list indexes
    allowed: ``account.balance``, ``items.0.id``) into variables. Any failure goes to ``on_error``."""

    type: Literal["http"]
    method: Literal["GET", "POST"] = "GET"
    url: str
    body: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 3.0
    assign: dict[VarName, str] = Field(default_factory=dict)
    next: NodeName
    on_error: NodeName

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        check_template(value)
        if not re.match(r"^https?://[^/{}\s]+", value):
            raise ValueError("must start with http:// or https:// and a host (variables only after it)")
        return value

    @field_validator("body", "headers")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            check_template(item)
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class SetNode(_Node):
    """Set call variables (templates allowed); ``channel: true`` also sets them on the channel as
    ``CCAPP_<NAME>`` for the dialplan."""

    type: Literal["set"]
    vars: dict[VarName, str]
    channel: bool = False
    next: NodeName

    @field_validator("vars", mode="before")
    @classmethod
    def _text_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for k, v in value.items()
            }
        return value

    @field_validator("vars")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            check_template(item)
        return value


class QueueNode(_Node):
    """Hand the call to ACD queue ``queue``. If the queue gives the call back (``next``), go on."""

    type: Literal["queue"]
    queue: Annotated[str, Field(min_length=1, pattern=r"^[\w.-]+$")]
    priority: Annotated[int, Field(strict=True, ge=0, le=100)] = 0
    next: NodeName | None = None


class TransferNode(_Node):
    """Blind transfer to an endpoint (``target: PJSIP/1001``) or a number through the configured
    trunk (``number: "+4930…"``)."""

    type: Literal["transfer"]
    target: str | None = None
    number: str | None = None
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0

    @model_validator(mode="after")
    def _one(self) -> TransferNode:
        if (self.target is None) == (self.number is None):
            raise ValueError("give exactly one of target (a dial string) or number")
        if self.target is not None and not re.fullmatch(r"[A-Za-z]+/[^\s,&|]+", self.target):
            raise ValueError(f"target {self.target!r} is not a dial string like PJSIP/1001")
        if self.number is not None:
            check_template(self.number)
            if not re.fullmatch(r"\+?[\d{}\w.]+", self.number):
                raise ValueError(f"number {self.number!r} is not a phone number")
        return self


class VoicemailNode(_Node):
    """Record a message (beep, until # or ``max_s``) to ``<mailbox>/<call id>.wav``, then ``next``
    or hang up."""

    type: Literal["voicemail"]
    mailbox: Annotated[str, Field(min_length=1, pattern=r"^[\w.-]+$")]
    max_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    beep: bool = True
    next: NodeName | None = None


class HangupNode(_Node):
    """Play prompts, then hang up with a Q.850 cause."""

    type: Literal["hangup"]
    cause: Annotated[int, Field(strict=True, ge=1, le=127)] = 16


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | SpeechNode
    | ConditionNode
    | HttpNode
    | SetNode
    | QueueNode
    | TransferNode
    | VoicemailNode
    | HangupNode,
    Field(discriminator="type"),
]

NODE_TYPES = (
    "play",
    "menu",
    "collect",
    "speech",
    "condition",
    "http",
    "set",
    "queue",
    "transfer",
    "voicemail",
    "hangup",
)
#: nodes that wait for the caller: a loop must pass through one of them
INPUT_TYPES = frozenset({"menu", "collect", "speech"})


class Tree(_Model):
    """One IVR tree."""

    start: NodeName
    description: str = ""
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    nodes: dict[NodeName, Node]

    @field_validator("nodes")
    @classmethod
    def _some(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("a tree needs at least one node")
        return value

    @property
    def version(self) -> str:
        """A short content hash: calls journal the version they ran on."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]
