"""Escalation rules (``acd.escalation``): where a transfer of a call should go, and whether a transfer
went there. Pure.

A rule's key is a call topic (``billing``) or an IVR choice, ``<variable>=<value>`` (``menu_choice=2``),
matched against the call variables the IVR set. Precedence: a call with a topic (the ``topic``
variable) is judged by the rule for that topic only (none: the transfer is not judged); a call
without a topic by the first IVR-choice rule, in the file's order, whose variable has that value.

A rule's value is ``queue:<name>`` (correct: a transfer to that queue), ``agent:<id>`` (to that
agent) or ``skill:<name>`` (to a queue whose configured skills include it, or to an agent who has
it). A transfer to a number is never correct when a rule applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

#: the call variable holding the call's topic (set by the IVR, or a disposition)
TOPIC = "topic"
#: a rule's value: where the transfer should go
RULE_VALUE = re.compile(r"(queue|agent|skill):([\w.-]+)")
#: a rule's key: a topic, or ``<variable>=<value>``
RULE_KEY = re.compile(r"[\w.-]+(=[\w.*#+-]*)?")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The rule a transfer was judged by (None: no rule applies) and whether it went where the rule
    says (None when no rule applies)."""

    expected: str | None
    correct: bool | None


def rule_for(rules: Mapping[str, str], variables: Mapping[str, str]) -> str | None:
    """The value of the rule that applies to a call with ``variables`` (see the module docstring)."""
    topic = variables.get(TOPIC)
    if topic:
        return rules.get(topic)
    for key, value in rules.items():
        name, sep, wanted = key.partition("=")
        if sep and variables.get(name) == wanted:
            return value
    return None


def judge(
    expected: str | None,
    target: str,
    *,
    queue_skills: Mapping[str, Mapping[str, int]],
    agent_skills: Mapping[str, Mapping[str, int]],
) -> bool | None:
    """Whether a transfer to ``target`` (``queue:<name>``, ``agent:<id>``, ``number:<digits>``) is what
    the rule ``expected`` asks; None when there is no rule. ``queue_skills``: each queue's configured
    skills; ``agent_skills``: each agent's skills."""
    if expected is None:
        return None
    match = RULE_VALUE.fullmatch(expected)
    if match is None:
        return False
    kind, name = match.groups()
    target_type, _, target_name = target.partition(":")
    if kind != "skill":
        return (target_type, target_name) == (kind, name)
    if target_type == "queue":
        return name in queue_skills.get(target_name, {})
    if target_type == "agent":
        return name in agent_skills.get(target_name, {})
    return False


def verdict(
    rules: Mapping[str, str],
    variables: Mapping[str, str],
    target: str,
    *,
    queue_skills: Mapping[str, Mapping[str, int]],
    agent_skills: Mapping[str, Mapping[str, int]],
) -> Verdict:
    """The rule for a call with ``variables`` and whether a transfer to ``target`` follows it."""
    expected = rule_for(rules, variables)
    return Verdict(expected, judge(expected, target, queue_skills=queue_skills, agent_skills=agent_skills))


def rule_problem(key: str, value: str) -> str | None:
    """What is wrong with the form of one rule, or None."""
    if not RULE_KEY.fullmatch(key):
        return f"{key!r}: a rule's key is a topic or <variable>=<value> (letters, digits, '.', '_', '-')"
    if not RULE_VALUE.fullmatch(value):
        return f"{value!r}: a rule's value is queue:<name>, agent:<id> or skill:<name>"
    return None
