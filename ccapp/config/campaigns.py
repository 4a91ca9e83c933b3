"""Typed settings of outbound campaigns (``campaigns:`` in ``ccapp.yaml``).

A campaign's *definition* lives here (mode, agents' queue, trunk, windows, retries, abandon budget,
answering-machine handling); its *status* (stopped, running, paused, finished) and its leads live in
the database, so an admin can edit and reload the file while ops start and pause campaigns.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ccapp.dialer.retry import FINAL_RESULTS, AttemptResult, RetryPolicy
from ccapp.dialer.windows import CallingWindows
from ccapp.errors import ConfigError

Name = Annotated[str, Field(min_length=1, pattern=r"^[\w.-]+$")]
Seconds = Annotated[float, Field(strict=True, gt=0)]
Count = Annotated[int, Field(strict=True, ge=1)]

#: what a trunk pattern must contain: ``{number}`` (E.164 with "+") or ``{digits}`` (without)
_TRUNK_PATTERN = r"^[A-Za-z]+/\S*\{(number|digits)\}\S*$"

#: retry delays a campaign may set, by attempt result (the final results have none)
RETRYABLE = tuple(r.value for r in AttemptResult if r not in FINAL_RESULTS)


def zone_name(value: str) -> str:
    """``value`` if it names an IANA time zone (the KPI reports' and the campaigns' zones)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Paris)") from exc
    return value


Zone = Annotated[str, AfterValidator(zone_name)]


class CampaignSettings(BaseModel):
    """One outbound campaign. The key under ``campaigns:`` is its id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    #: preview: the agent sees the lead and accepts before ccapp dials; progressive: one line per
    #: ready agent; predictive: the pacer (`ccapp.dialer.pacing`) dials ahead of free agents
    mode: Literal["preview", "progressive", "predictive"] = "progressive"
    #: the ACD queue whose agents work the campaign (its skills, wrap-up time and recording policy)
    queue: Name
    #: caller ID presented to the called party, e.g. '"ACME" <+15550000000>'
    caller_id: str = ""
    #: how a lead's number is dialled: "PJSIP/{number}@trunk" ({number} = E.164 with +, {digits} without)
    trunk: Annotated[str, Field(pattern=_TRUNK_PATTERN)]
    #: seconds a line rings before ccapp gives up (no answer)
    ring_timeout_s: Seconds = 25.0
    #: local calling windows per weekday, in each lead's own time zone
    calling_windows: dict[str, list[str]] = Field(
        default_factory=lambda: {"mon-fri": ["09:00-20:00"], "sat": ["10:00-18:00"]}
    )
    #: region for numbers written without a country code, and zone for leads whose zone is unknown
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    default_zone: Zone = "America/New_York"
    max_attempts: Count = 5
    #: seconds before a retry, by result (busy, no_answer, machine, abandoned, callback_requested…)
    retry_delays_s: dict[str, float] = Field(default_factory=dict)
    #: dials of one number per local calendar day
    daily_cap: Count = 3
    #: abandoned live answers / live answers, held in every rolling window of this length
    abandon_target: Annotated[float, Field(strict=True, gt=0, le=0.5)] = 0.03
    abandon_window: Literal["30d", "24h"] = "30d"
    #: seconds after a live answer within which an agent must be talking, else the message plays
    connect_within_s: Annotated[float, Field(strict=True, ge=1.0, le=2.0)] = 2.0
    #: when the held agent's phone is rung: at the answer (the agent is on the line when AMD says
    #: "person", so the 2-second rule is met even with a phone that takes a moment to answer; a
    #: machine then costs the agent a short silent call), or only at a person's verdict
    ring_agent_at: Literal["answer", "verdict"] = "answer"
    #: played to a live person no agent could take (a sound name or "text:…"), then hang up
    abandon_message: str = "ccapp/ccapp-abandon"
    #: run AMD() on answered calls; off: every answer is treated as a person
    amd: bool = True
    #: AMD() arguments (see asterisk-conf/extensions.conf [ccapp-outbound]); empty: the tuned defaults
    amd_params: Annotated[str, Field(pattern=r"^[0-9,]*$")] = ""
    #: share of MACHINE verdicts sent to an agent anyway, whose disposition then tells whether AMD
    #: was right: the only way to measure false machines in production (`ccapp campaign amd-report`)
    amd_audit_fraction: Annotated[float, Field(strict=True, ge=0, le=1)] = 0.0
    #: what machines get: hang up, or a message left after the greeting
    machine: Literal["hangup", "message"] = "hangup"
    machine_message: str | None = None
    #: do-not-call lists checked at dial time, besides the campaign's own list "campaign:<id>"
    dnc_lists: tuple[Name, ...] = ("global",)
    #: preview mode: seconds the agent has to accept or skip a lead
    preview_timeout_s: Seconds = 60.0
    #: upper bound of lines in flight per logged-in agent (a guard on the pacer)
    max_lines_per_agent: Annotated[float, Field(strict=True, ge=1, le=10)] = 4.0

    @field_validator("calling_windows")
    @classmethod
    def _windows(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        try:
            CallingWindows.parse(value)
        except ConfigError as exc:
            raise ValueError("; ".join(exc.problems)) from exc
        return value

    @field_validator("retry_delays_s")
    @classmethod
    def _delays(cls, value: dict[str, float]) -> dict[str, float]:
        for key, seconds in value.items():
            if key not in RETRYABLE:
                raise ValueError(f"retry delay for {key!r}: expected one of {', '.join(RETRYABLE)}")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise ValueError(f"retry delay for {key!r} must be seconds >= 0, not {seconds!r}")
        return value

    @model_validator(mode="after")
    def _machine_message(self) -> CampaignSettings:
        if self.machine == "message" and not self.machine_message:
            raise ValueError("machine: message needs machine_message (a sound name or text:…)")
        return self

    # ----------------------------------------------------------------------------- derived
    def windows(self) -> CallingWindows:
        return CallingWindows.parse(self.calling_windows)

    def retry_policy(self) -> RetryPolicy:
        from ccapp.dialer.retry import DEFAULT_DELAYS, DailyCap

        delays = dict(DEFAULT_DELAYS)
        for key, seconds in self.retry_delays_s.items():
            delays[AttemptResult(key)] = timedelta(seconds=seconds)
        return RetryPolicy(
            max_attempts=self.max_attempts,
            delays=delays,
            windows=self.windows(),
            daily_cap=DailyCap(self.daily_cap),
        )

    @property
    def abandon_window_s(self) -> float:
        return 30 * 86400.0 if self.abandon_window == "30d" else 86400.0

    def dial_string(self, number: str) -> str:
        """The channel to originate for E.164 ``number``."""
        return self.trunk.replace("{number}", number).replace("{digits}", number.lstrip("+"))
