"""From the ``queues:`` and ``agents:`` settings to ACD model objects, and the checks that need both.

`acd_problems` lists what makes a file invalid (the loader reports each with its key path and line);
`acd_notes` lists what is allowed but probably unintended (``ccapp check-config`` prints them as
``note:`` lines). `queue_configs` and `agents` build ``ccapp.acd.model`` objects from settings that
passed both checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ccapp.acd.errors import InvalidAcdConfig
from ccapp.acd.model import Agent, QueueConfig, RelaxationStep
from ccapp.acd.ranking import has_skills
from ccapp.config.settings import (
    OVERFLOW_CALLBACK,
    OVERFLOW_VOICEMAIL,
    AgentSettings,
    QueueSettings,
    Settings,
)
from ccapp.ivr.sounds import SoundDirs
from ccapp.ivr.validate import Problem, sound_name

__all__ = [
    "acd_notes",
    "acd_problems",
    "agent",
    "agents",
    "overflow_queue",
    "overflow_target",
    "queue_config",
    "queue_configs",
    "servers",
]


def overflow_queue(queue: QueueSettings) -> str | None:
    """The queue a queue overflows to, or None (no overflow, or voicemail / callback)."""
    target = queue.overflow
    if target is None or target == OVERFLOW_CALLBACK or target.startswith(OVERFLOW_VOICEMAIL):
        return None
    return target


def overflow_target(queue: QueueSettings) -> str | None:
    """The overflow in the model's form: ``queue:<name>``, ``voicemail:<mailbox>``, ``callback``."""
    name = overflow_queue(queue)
    return f"queue:{name}" if name is not None else queue.overflow


def queue_config(name: str, queue: QueueSettings) -> QueueConfig:
    """One queue's routing configuration. Raises `InvalidAcdConfig` on what the model refuses."""
    return QueueConfig(
        name=name,
        skills=dict(queue.skills),
        strategy=queue.strategy,
        relaxation=tuple(
            RelaxationStep(step.after_s, step.lower_levels_by, frozenset(step.drop_skills))
            for step in queue.relaxation
        ),
        wrap_up_s=queue.wrap_up_s,
        ring_timeout_s=queue.ring_timeout_s,
        max_wait_s=queue.max_wait_s,
        max_length=queue.max_length,
        overflow=overflow_target(queue),
    )


def queue_configs(settings: Settings) -> dict[str, QueueConfig]:
    """Every queue's routing configuration, by name (settings that passed `acd_problems`)."""
    return {name: queue_config(name, queue) for name, queue in settings.queues.items()}


def agent(agent_id: str, spec: AgentSettings) -> Agent:
    """One agent, logged out. Raises `InvalidAcdConfig` on what the model refuses."""
    return Agent(
        agent_id=agent_id,
        name=spec.name or agent_id,
        endpoint=spec.endpoint,
        skills=dict(spec.skills),
        queues=frozenset(spec.queues),
    )


def agents(settings: Settings) -> dict[str, Agent]:
    """Every configured agent, logged out, by id (settings that passed `acd_problems`)."""
    return {agent_id: agent(agent_id, spec) for agent_id, spec in settings.agents.items()}


def servers(settings: Settings, queue_name: str, stage: int = 0) -> list[str]:
    """Ids of the configured agents who could take a call of ``queue_name`` at relaxation ``stage``
    (member of the queue and skilled enough for its own requirements; a call's IVR skills aside)."""
    config = queue_config(queue_name, settings.queues[queue_name])
    requirement = config.requirement({}, stage)
    return [
        agent_id
        for agent_id, spec in settings.agents.items()
        if queue_name in spec.queues and has_skills(agent(agent_id, spec), requirement)
    ]


# --- problems: the file is refused ------------------------------------------------------------------


def acd_problems(settings: Settings) -> list[Problem]:
    """Cross-checks of queues and agents that pydantic cannot do field by field."""
    found: list[Problem] = []
    for name, queue in settings.queues.items():
        found.extend(_relaxation_problems(name, queue))
        found.extend(_overflow_problems(settings, name, queue))
    found.extend(_overflow_loops(settings))
    for agent_id, spec in settings.agents.items():
        found.extend(_agent_problems(settings, agent_id, spec))
    found.extend(_duplicate_endpoints(settings))
    found.extend(_escalation_problems(settings))
    found.extend(_missing_sounds(settings))
    found.extend(_campaign_problems(settings))
    if not found:
        # what the model refuses beyond the checks above (none known): reported, never raised
        found.extend(_model_problems(settings))
    return found


def _campaign_problems(settings: Settings) -> Iterator[Problem]:
    for name, campaign in settings.campaigns.items():
        if campaign.queue not in settings.queues:
            yield Problem(("campaigns", name, "queue"), f"no queue {campaign.queue!r} under queues:")


def _relaxation_problems(name: str, queue: QueueSettings) -> Iterator[Problem]:
    # QueueConfig refuses the same, but without saying which step; here each names its own line.
    for index in range(1, len(queue.relaxation)):
        before, step = queue.relaxation[index - 1], queue.relaxation[index]
        where = ("queues", name, "relaxation", str(index))
        if step.after_s <= before.after_s:
            yield Problem(
                (*where, "after_s"),
                f"steps must be in order of time: {step.after_s:g} s is not after the step before "
                f"({before.after_s:g} s)",
            )
        if step.lower_levels_by < before.lower_levels_by:
            yield Problem(
                (*where, "lower_levels_by"),
                f"a later step must not be stricter: {step.lower_levels_by} is less than the step "
                f"before ({before.lower_levels_by})",
            )
        kept = sorted(set(before.drop_skills) - set(step.drop_skills))
        if kept:
            yield Problem(
                (*where, "drop_skills"),
                "a later step must not be stricter: it requires again "
                f"{', '.join(kept)} (steps are absolute: repeat the skills dropped before)",
            )


def _overflow_problems(settings: Settings, name: str, queue: QueueSettings) -> Iterator[Problem]:
    target = overflow_queue(queue)
    if target is None:
        return
    where = ("queues", name, "overflow")
    if target == name:
        yield Problem(where, "a queue cannot overflow to itself")
    elif target not in settings.queues:
        known = ", ".join(sorted(settings.queues))
        yield Problem(where, f"unknown queue {target!r} (queues: {known}; or voicemail:<mailbox>, callback)")


def _overflow_loops(settings: Settings) -> Iterator[Problem]:
    """Overflow chains that come back to where they started would pass calls around forever."""
    reported: set[str] = set()
    for start in sorted(settings.queues):
        chain = [start]
        target = overflow_queue(settings.queues[start])
        while target is not None and target in settings.queues and target not in chain:
            chain.append(target)
            target = overflow_queue(settings.queues[target])
        if target == start and len(chain) > 1 and not reported & set(chain):
            reported.update(chain)
            yield Problem(
                ("queues", start, "overflow"),
                f"overflow loop: {' → '.join([*chain, start])} (calls would be passed around forever)",
            )


def _agent_problems(settings: Settings, agent_id: str, spec: AgentSettings) -> Iterator[Problem]:
    where = ("agents", agent_id)
    for index, queue in enumerate(spec.queues):
        if queue not in settings.queues:
            known = ", ".join(sorted(settings.queues)) or "none defined"
            yield Problem((*where, "queues", str(index)), f"unknown queue {queue!r} (queues: {known})")
    if spec.token_file is not None:
        problem = _unreadable(spec.token_file)
        if problem:
            yield Problem((*where, "token_file"), problem)


def _unreadable(path: Path) -> str | None:
    # The message never quotes the file's content: it is a secret.
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return f"cannot read {path}: {reason}"
    return None if text.strip() else f"{path} is empty"


def _escalation_problems(settings: Settings) -> Iterator[Problem]:
    """Escalation rules must point at a configured queue or agent, or a skill some queue requires or
    some agent has (`ccapp.acd.escalation`; the form is checked by the settings model)."""
    skills = {s for q in settings.queues.values() for s in q.skills}
    skills |= {s for a in settings.agents.values() for s in a.skills}
    for key, rule in settings.acd.escalation.items():
        kind, _, name = rule.partition(":")
        where = ("acd", "escalation", key)
        if kind == "queue" and name not in settings.queues:
            known = ", ".join(sorted(settings.queues)) or "none defined"
            yield Problem(where, f"unknown queue {name!r} (queues: {known})")
        elif kind == "agent" and name not in settings.agents:
            known = ", ".join(sorted(settings.agents)) or "none defined"
            yield Problem(where, f"unknown agent {name!r} (agents: {known})")
        elif kind == "skill" and name not in skills:
            known = ", ".join(sorted(skills)) or "none defined"
            yield Problem(
                where, f"unknown skill {name!r}: no queue requires it and no agent has it ({known})"
            )


def _duplicate_endpoints(settings: Settings) -> Iterator[Problem]:
    """Two agents on one phone would both be "free" while one is talking."""
    first: dict[str, str] = {}
    for agent_id, spec in settings.agents.items():
        tech, _, resource = spec.endpoint.partition("/")
        key = f"{tech.lower()}/{resource}"  # technology names are case-insensitive in Asterisk
        if key in first:
            yield Problem(
                ("agents", agent_id, "endpoint"),
                f"{spec.endpoint} is already agent {first[key]!r}'s endpoint",
            )
        else:
            first[key] = agent_id


def _missing_sounds(settings: Settings) -> Iterator[Problem]:
    """A consent prompt naming a sound Asterisk lacks: the same check as the IVR trees' prompts."""
    sounds = SoundDirs(settings.ivr.sounds_dirs)
    for name, queue in settings.queues.items():
        sound = sound_name(queue.consent_prompt) if queue.consent_prompt is not None else None
        if sound is not None and sounds(sound) is False:
            yield Problem(
                ("queues", name, "consent_prompt"), f"sound {sound!r} not found in the sound directories"
            )


def _model_problems(settings: Settings) -> Iterator[Problem]:
    for name, queue in settings.queues.items():
        try:
            queue_config(name, queue)
        except InvalidAcdConfig as exc:
            yield Problem(("queues", name), str(exc))
    for agent_id, spec in settings.agents.items():
        try:
            agent(agent_id, spec)
        except InvalidAcdConfig as exc:
            yield Problem(("agents", agent_id), str(exc))


# --- notes: allowed, but probably not meant ---------------------------------------------------------


def acd_notes(settings: Settings) -> list[str]:
    """Warnings for ``check-config``: the file is valid, but calls may not be served as meant."""
    notes: list[str] = []
    for name, queue in sorted(settings.queues.items()):
        if not servers(settings, name):
            notes.append(_unserved_note(settings, name, queue))
        if queue.overflow is not None and queue.max_wait_s is None and queue.max_length is None:
            notes.append(f"note: queues.{name}.overflow is never used: set max_wait_s or max_length for it")
        if queue.recording != "none" and queue.consent_prompt is None:
            notes.append(f"note: queues.{name} records calls ({queue.recording}) without a consent_prompt")
    return notes


def _unserved_note(settings: Settings, name: str, queue: QueueSettings) -> str:
    members = [agent_id for agent_id, spec in settings.agents.items() if name in spec.queues]
    if not members:
        why = "no agent lists it in their queues"
    else:
        needs = ", ".join(f"{skill} ≥ {level}" for skill, level in sorted(queue.skills.items()))
        why = f"no agent of it has the required skills ({needs})"
    later = next(
        (
            step.after_s
            for stage, step in enumerate(queue.relaxation, start=1)
            if servers(settings, name, stage)
        ),
        None,
    )
    if later is not None:
        return f"note: queue {name}: {why}; its calls wait at least {later:g} s (until relaxation)"
    if queue.overflow is not None:
        fate = f"they can only overflow to {queue.overflow}"
    elif queue.max_wait_s is not None or queue.max_length is not None:
        fate = "they can only go back to the IVR"
    else:
        fate = "callers wait until they hang up"
    return f"note: queue {name}: {why}; no agent can answer its calls ({fate})"
