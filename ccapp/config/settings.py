"""Typed settings: what a valid ``ccapp.yaml`` holds once loaded.

Every model forbids unknown keys so a typo is an error, not a silently ignored line. Passwords are
``SecretStr`` so they never show in a repr. Numbers are strict: YAML already gives ints and floats, and
lax parsing would let ``port: true`` through as port 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ccapp.acd.escalation import rule_problem
from ccapp.acd.model import MAX_LEVEL, MIN_LEVEL, Strategy
from ccapp.config.campaigns import CampaignSettings, zone_name
from ccapp.config.redact import redact_url
from ccapp.ivr.schedule import Schedule
from ccapp.ivr.tree import PROMPT_SCHEMES, Tree


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("must not be empty")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_empty)]
Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
Seconds = Annotated[float, Field(strict=True, gt=0)]
Host = Annotated[str, Field(min_length=1, pattern=r"^[^\s/]+$")]
SoundName = Annotated[str, Field(min_length=1, pattern=r"^[\w./-]+$")]
Name = Annotated[str, Field(min_length=1, pattern=r"^[\w.-]+$")]

LOOPBACK = "127.0.0.1"
#: the placeholder password of ccapp.yaml.example, which check-config warns about
PLACEHOLDER_PASSWORD = "change-me"
DATABASE_URL_PREFIXES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
TERMINATORS = frozenset("0123456789*#") | {""}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AriSettings(_Section):
    """Asterisk REST Interface: the call-control link."""

    url: str = "http://127.0.0.1:8088"
    username: Annotated[str, Field(min_length=1)]
    #: filled from ``password_file`` by the loader when that is given instead
    password: Secret
    password_file: Path | None = None
    app: Name = "ccapp"
    reconnect_max_s: Seconds = 10.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError("must be an http:// or https:// URL with a valid port") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.rstrip("/")


class AmiSettings(_Section):
    """Asterisk Manager Interface: originate and dialplan events."""

    enabled: bool = True
    host: Host = LOOPBACK
    port: Port = 5038
    username: Annotated[str | None, Field(validate_default=True, min_length=1)] = None
    password: Annotated[Secret | None, Field(validate_default=True)] = None
    password_file: Path | None = None

    @field_validator("username", "password")
    @classmethod
    def _required_when_enabled(cls, value: Any, info: ValidationInfo) -> Any:
        # validate_default=True makes this run for an absent key. "enabled" is declared first, so it
        # is in info.data when valid; when it is invalid that is reported on its own.
        if value is None and info.data.get("enabled", False):
            raise PydanticCustomError("missing", "field required when enabled")
        return value


class AgiSettings(_Section):
    """The FastAGI server that dialplans reach with ``AGI(agi://host:port/ivr/<tree>)``."""

    enabled: bool = True
    host: Host = LOOPBACK
    port: Port = 4573


class ApiTokenSettings(_Section):
    """One API user: ``admin`` (everything), ``supervisor`` (agents, queues, live calls, recordings),
    ``read_only`` (views only)."""

    role: Literal["admin", "supervisor", "read_only"]
    token: Secret | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one_token(self) -> ApiTokenSettings:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token or token_file")
        if self.token_file is not None and not self.token_file.is_absolute():
            raise ValueError("token_file must be an absolute path")
        return self


class HttpSettings(_Section):
    """REST API, wallboard, health and metrics."""

    host: Host = LOOPBACK
    port: Port = 8080
    #: bearer token of the admin API (tree reload); absent: the admin API answers 403
    admin_token: Secret | None = None
    #: more API users: name → role and token (agents use the tokens under ``agents:``)
    tokens: dict[Name, ApiTokenSettings] = Field(default_factory=dict)


class DatabaseSettings(_Section):
    """Where CDRs, agents and campaigns live; the outbox keeps events while the database is down."""

    # Four slashes: an absolute path. SQLAlchemy reads sqlite:///x as the relative path "x".
    url: str = "sqlite+aiosqlite:////var/lib/ccapp/ccapp.db"
    outbox_dir: Path = Path("/var/lib/ccapp/outbox")

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        # The message never repeats the value: a database URL may carry a password.
        if not value.startswith(DATABASE_URL_PREFIXES):
            raise ValueError("must start with " + " or ".join(DATABASE_URL_PREFIXES))
        try:
            urlsplit(value).port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError("is not a valid URL (bad host or port)") from None
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Keep the database password out of reprs (and so out of tracebacks and debug logs).
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "url" and isinstance(value, str) else value


class FallbackSettings(_Section):
    """Where a call continues in the dialplan when ccapp fails while handling it."""

    context: Name = "ccapp-fallback"
    extension: Annotated[str, Field(min_length=1)] = "s"
    priority: Annotated[int, Field(strict=True, ge=1)] = 1

    @field_validator("extension", mode="before")
    @classmethod
    def _number_is_an_extension(cls, value: Any) -> Any:
        # "extension: 100" arrives from YAML as an int.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ShutdownSettings(_Section):
    """How long running calls get to finish on SIGTERM."""

    grace_s: Seconds = 30.0


class LoggingSettings(_Section):
    """Log level and line format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["json", "text"] = "json"

    @field_validator("level", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class FirstIvrSettings(_Section):
    """The built-in first IVR step: prompt, collect digits, say goodbye."""

    prompt: SoundName = "vm-enter-num-to-call"
    max_digits: Annotated[int, Field(strict=True, ge=1, le=32)] = 8
    terminator: str = "#"
    first_timeout_s: Seconds = 5.0
    inter_digit_timeout_s: Seconds = 3.0
    goodbye: SoundName = "vm-goodbye"

    @field_validator("terminator", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is None:
            # Unquoted "terminator: #" is a YAML comment, which leaves the value empty (null).
            raise ValueError('must be one of 0-9, *, # or "" (quote it in YAML: terminator: "#")')
        if not isinstance(value, str) or value not in TERMINATORS:
            raise ValueError('must be one of 0-9, *, # or "" (empty for none)')
        return value


DEFAULT_SOUND_DIRS = (
    Path("/usr/share/asterisk/sounds/en"),
    Path("/var/lib/asterisk/sounds/en"),
    Path("/usr/share/asterisk/sounds"),
    Path("/var/lib/asterisk/sounds"),
)


class TtsSettings(_Section):
    """Text-to-speech for ``text:`` prompts: rendered once, cached by content hash.

    ``delivery: sounds_dir`` writes ``<sounds_dir>/ccapp/tts/<hash>.wav`` where Asterisk reads sounds
    (same host or a shared volume); ``http`` serves them from ccapp's HTTP server at ``http_base_url``
    (as Asterisk reaches ccapp) for an Asterisk on another host.
    """

    engine: Literal["espeak-ng", "none"] = "espeak-ng"
    voice: Annotated[str, Field(min_length=1, pattern=r"^[\w+-]+$")] = "en-us"
    speed_wpm: Annotated[int, Field(strict=True, ge=80, le=400)] = 150
    delivery: Literal["sounds_dir", "http"] = "sounds_dir"
    #: Asterisk's data-dir sounds folder (``astdatadir``/sounds; /usr/share/asterisk/sounds on Debian):
    #: a sound name ``ccapp/tts/<hash>`` is looked up there
    sounds_dir: Path = Path("/usr/share/asterisk/sounds")
    http_base_url: str | None = None

    @model_validator(mode="after")
    def _http_needs_url(self) -> TtsSettings:
        if self.delivery == "http" and not self.http_base_url:
            raise ValueError("delivery: http needs http_base_url (ccapp's address as Asterisk reaches it)")
        return self


class SpeechSettings(_Section):
    """Speech input for ``speech`` nodes (ARI calls only; AGI calls fall back to DTMF)."""

    enabled: bool = True
    #: the address Asterisk sends the caller's audio to (ccapp's UDP socket for external media)
    rtp_host: Host = LOOPBACK


class TransferSettings(_Section):
    """How ``transfer`` nodes leave ccapp: the dialplan context that dials the target, and the dial
    string for numbers (``{number}`` is replaced), e.g. ``PJSIP/{number}@trunk``."""

    context: Name = "ccapp-transfer"
    number_dial: Annotated[str, Field(pattern=r"^[A-Za-z]+/\S*\{number\}\S*$")] | None = None


class IvrSettings(_Section):
    """IVR trees and what they need."""

    first: FirstIvrSettings = Field(default_factory=FirstIvrSettings)
    trees: dict[Name, Tree] = Field(default_factory=dict)
    #: a folder of tree files: ``<name>.yaml`` holds tree ``<name>`` (relative to this file)
    tree_dir: Path | None = None
    #: opening hours shared by all trees (a tree may define its own)
    schedules: dict[Name, Schedule] = Field(default_factory=dict)
    #: where Asterisk's sounds are, to check that prompts exist; empty or absent dirs skip the check
    sounds_dirs: list[Path] = Field(default_factory=lambda: list(DEFAULT_SOUND_DIRS))
    tts: TtsSettings = Field(default_factory=TtsSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    transfer: TransferSettings = Field(default_factory=TransferSettings)
    #: what the stand-in for ACD queues plays before giving the call back to the tree
    queue_stub_prompts: list[SoundName] = Field(default_factory=lambda: ["queue-periodic-announce"])


Level = Annotated[int, Field(strict=True, ge=MIN_LEVEL, le=MAX_LEVEL)]
Skills = dict[Name, Level]
SecondsOrZero = Annotated[float, Field(strict=True, ge=0)]
#: a dial string: technology/resource, e.g. PJSIP/1001 or Local/1001@agents
DialString = Annotated[str, Field(pattern=r"^[A-Za-z][\w-]*/\S+$")]
OVERFLOW_CALLBACK = "callback"
OVERFLOW_VOICEMAIL = "voicemail:"
_OVERFLOW = re.compile(r"[\w.-]+|voicemail:[\w.-]+")


class RelaxationSettings(_Section):
    """From ``after_s`` seconds of waiting on, lower every required level and/or drop some skills.

    Steps are absolute (the last one reached applies alone), so each must be later and at least as
    loose as the one before; the loader checks that with the step's line.
    """

    after_s: Seconds
    lower_levels_by: Annotated[int, Field(strict=True, ge=0, le=MAX_LEVEL - MIN_LEVEL)] = 0
    drop_skills: tuple[Name, ...] = ()


class QueueSettings(_Section):
    """An ACD queue (IVR ``queue`` nodes must name one). ``sales: {}`` is a valid queue: every key has
    a default."""

    description: str = ""
    #: skill → minimum level (1-5) every agent taking its calls must have
    skills: Skills = Field(default_factory=dict)
    strategy: Strategy = Strategy.LONGEST_IDLE
    relaxation: tuple[RelaxationSettings, ...] = ()
    wrap_up_s: SecondsOrZero = 10.0
    ring_timeout_s: Seconds = 15.0
    #: past this wait (seconds) or this many waiting calls, calls go to ``overflow`` (or back to the
    #: IVR queue node's ``next`` without one); absent: no limit
    max_wait_s: Seconds | None = None
    max_length: Annotated[int, Field(strict=True, ge=1)] | None = None
    #: another queue's name, ``voicemail:<mailbox>`` or ``callback``
    overflow: str | None = None
    #: position and expected wait are announced on entry and then every this many seconds (null: on
    #: entry only)
    announce_every_s: Seconds | None = 30.0
    moh_class: Name = "default"
    recording: Literal["all", "none", "on_demand"] = "none"
    #: played to the caller before recording starts: a sound name or ``text:<words>``
    consent_prompt: str | None = None
    #: the key a waiting caller presses to be called back instead (keeps the place in line); null: off
    callback_key: Annotated[str, Field(pattern=r"^[0-9*#]$")] | None = None
    #: played to the agent alone when they answer, before the caller is connected
    whisper: str | None = None
    #: when no agent of the queue is logged in, a call does not wait: it hears ``empty_prompts`` and
    #: goes to the overflow (or back to the IVR queue node's ``next``); false: it waits anyway
    leave_when_empty: bool = True
    empty_prompts: list[SoundName] = Field(default_factory=lambda: ["queue-periodic-announce"])

    @field_validator("overflow")
    @classmethod
    def _overflow_target(cls, value: str | None) -> str | None:
        if value is not None and not _OVERFLOW.fullmatch(value):
            raise ValueError("must be a queue name, voicemail:<mailbox> or callback")
        return value

    @field_validator("consent_prompt", "whisper")
    @classmethod
    def _one_prompt(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith(PROMPT_SCHEMES):
            if not value.split(":", 1)[1].strip():
                raise ValueError("prompt is empty")
        elif not re.fullmatch(r"[\w./-]+", value):
            raise ValueError("must be a sound name or text:<words> (or sound:, digits:, number:…)")
        return value


class AcdSettings(_Section):
    """ACD settings that are not per queue."""

    #: how a callback number becomes a dial string, e.g. ``PJSIP/{number}@trunk``; null: callbacks off
    callback_dial: Annotated[str, Field(pattern=r"^[A-Za-z]+/\S*\{number\}\S*$")] | None = None
    #: caller ID shown on the agent's phone: ``{caller}`` number, ``{name}``, ``{queue}``
    agent_caller_id: str = '"{queue}: {name}" <{caller}>'
    #: escalation rules: call topic, or IVR choice ``<variable>=<value>`` → where a transfer of it
    #: should go: ``queue:<name>``, ``agent:<id>`` or ``skill:<name>`` (a queue requiring the skill or
    #: an agent having it). A call's topic rule comes first (`ccapp.acd.escalation`); escalation
    #: accuracy is measured against these
    escalation: dict[str, str] = Field(default_factory=dict)

    @field_validator("escalation")
    @classmethod
    def _escalation_rules(cls, value: dict[str, str]) -> dict[str, str]:
        for key, target in value.items():
            problem = rule_problem(key, target)
            if problem:
                raise ValueError(problem)
        return value


class RecordingSettings(_Section):
    """Call recording: where files go, how they get there, how long they are kept."""

    #: ccapp's recording store (downloads are served from here only)
    dir: Path = Path("/var/lib/ccapp/recordings")
    #: Asterisk's recording directory as Asterisk sees it; files are written there as ``ccapp/<call id>.wav``
    asterisk_dir: str = "/var/spool/asterisk/recording"
    #: ``shared``: ccapp can read ``asterisk_dir`` (same host or a shared volume), ``ari``: fetch each
    #: file over ARI (Asterisk on another host)
    fetch: Literal["shared", "ari"] = "shared"
    #: with ``fetch: shared``, where Asterisk's ``/`` is on ccapp's file system when it differs (a
    #: chroot, a mounted volume): the files are read at ``<asterisk_root>/<asterisk_dir>``
    asterisk_root: Path | None = None
    #: recordings older than this are deleted by ``ccapp recordings purge`` (and daily by ``ccapp run``)
    retention_days: Annotated[int, Field(strict=True, ge=1)] = 90


class KpiSettings(_Section):
    """KPI thresholds (DESIGN.md section 5) and the reports' default time zone."""

    #: service-level threshold T: answered within this many seconds counts as in service level
    sl_threshold_s: Seconds = 20.0
    #: short-abandon threshold S: callers who hang up sooner are not offered calls
    short_abandon_s: SecondsOrZero = 5.0
    #: repeat window W: a contact from the same number on the same topic within it is a repeat
    repeat_window_s: Seconds = 7 * 86400.0
    #: IANA time zone of report intervals (days, weeks…) when a report does not name one
    time_zone: Annotated[str, AfterValidator(zone_name)] = "UTC"
    #: keep the 15-minute queue roll-ups current as calls close (fast reports over long periods)
    rollups: bool = True


class AgentSettings(_Section):
    """A person taking calls; starts logged out. The key under ``agents:`` is the agent's id."""

    #: shown on the wallboard; the id when absent
    name: Annotated[str, Field(min_length=1)] | None = None
    endpoint: DialString
    #: skill → level (1-5)
    skills: Skills = Field(default_factory=dict)
    #: the queues whose calls this agent takes
    queues: tuple[Name, ...] = ()
    #: the agent's API token, inline or from a file (absolute path, read when needed, checked at load)
    token: Secret | None = None
    token_file: Path | None = None

    @field_validator("token_file")
    @classmethod
    def _absolute_and_alone(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return value
        if info.data.get("token") is not None:
            raise ValueError("give either token or token_file, not both")
        if not value.is_absolute():
            raise ValueError("must be an absolute path")
        return value


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {
            **base,
            **{key: _merge(base[key], item) if key in base else item for key, item in over.items()},
        }
    return over


class Settings(_Section):
    """The whole of ``ccapp.yaml``."""

    ari: AriSettings
    ami: AmiSettings
    agi: AgiSettings = Field(default_factory=AgiSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    fallback: FallbackSettings = Field(default_factory=FallbackSettings)
    shutdown: ShutdownSettings = Field(default_factory=ShutdownSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    queues: dict[Name, QueueSettings] = Field(default_factory=dict)
    agents: dict[Name, AgentSettings] = Field(default_factory=dict)
    acd: AcdSettings = Field(default_factory=AcdSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    campaigns: dict[Name, CampaignSettings] = Field(default_factory=dict)

    @field_validator("agents", mode="before")
    @classmethod
    def _numeric_ids(cls, value: Any) -> Any:
        # "1001:" is an int key in YAML; agent ids are usually extension numbers. An override such as
        # CCAPP_AGENTS__1001__ENDPOINT arrives under the text key "1001": it goes over the file's.
        if not isinstance(value, dict):
            return value
        merged: dict[Any, Any] = {}
        for raw, item in sorted(value.items(), key=lambda pair: isinstance(pair[0], str)):
            key = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
            merged[key] = _merge(merged[key], item) if key in merged else item
        return merged

    @model_validator(mode="before")
    @classmethod
    def _sections_with_credentials_always_checked(cls, data: Any) -> Any:
        # An absent "ari:" should report ari.username and ari.password, not a bare "ari: missing";
        # AMI is enabled by default, so its credentials are checked the same way.
        if isinstance(data, dict):
            return {"ari": {}, "ami": {}, **data}
        return data
