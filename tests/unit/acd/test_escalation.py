"""Escalation rules: which rule applies (topic first, then an IVR choice), whether a transfer follows it
(queue, agent or skill rules), the verdict journaled by the ACD and kept by the projection, and
rules checked when the file is loaded."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ccapp.acd.escalation import judge, rule_for, verdict
from ccapp.acd.fakes import AcdBed, eventually
from ccapp.acd.model import Agent
from ccapp.calls.model import EventKind as K
from ccapp.config.loader import load_settings
from ccapp.config.settings import AcdSettings, QueueSettings
from ccapp.errors import ConfigError
from ccapp.storage.acd_projection import AcdProjection
from ccapp.storage.outbox import Record

RULES = {
    "billing": "queue:billing",
    "fraud": "agent:a9",
    "internet": "skill:network",
    "menu_choice=2": "skill:network",
    "menu_choice=3": "queue:billing",
    "lang=fr": "queue:support",
}
QUEUE_SKILLS = {"billing": {}, "tech": {"network": 2}, "support": {"french": 1}}
AGENT_SKILLS = {"a1": {"sales": 3}, "a2": {"network": 1}}


def judged(expected: str | None, target: str) -> bool | None:
    return judge(expected, target, queue_skills=QUEUE_SKILLS, agent_skills=AGENT_SKILLS)


# ------------------------------------------------------------------------------------ which rule


def test_the_calls_topic_picks_its_rule() -> None:
    assert rule_for(RULES, {"topic": "billing", "menu_choice": "2"}) == "queue:billing"


def test_a_call_without_a_topic_is_judged_by_its_ivr_choice() -> None:
    assert rule_for(RULES, {"menu_choice": "2"}) == "skill:network"
    assert rule_for(RULES, {"menu_choice": "3", "lang": "fr"}) == "queue:billing"  # the file's order
    assert rule_for(RULES, {"topic": "", "lang": "fr"}) == "queue:support"  # an empty topic is none


def test_a_topic_without_a_rule_is_not_judged_even_with_a_matching_ivr_choice() -> None:
    assert rule_for(RULES, {"topic": "weather", "menu_choice": "2"}) is None
    assert rule_for(RULES, {"menu_choice": "9"}) is None
    assert rule_for(RULES, {}) is None


# ------------------------------------------------------------------------------------ the verdict


def test_queue_and_agent_rules_need_that_very_target() -> None:
    assert judged("queue:billing", "queue:billing") is True
    assert judged("queue:billing", "queue:tech") is False
    assert judged("queue:billing", "agent:billing") is False
    assert judged("agent:a9", "agent:a9") is True
    assert judged("agent:a9", "agent:a1") is False
    assert judged("agent:a9", "number:+15550100") is False


def test_a_skill_rule_accepts_a_queue_requiring_the_skill_or_an_agent_having_it() -> None:
    assert judged("skill:network", "queue:tech") is True
    assert judged("skill:network", "queue:support") is False
    assert judged("skill:network", "queue:unknown") is False
    assert judged("skill:network", "agent:a2") is True
    assert judged("skill:network", "agent:a1") is False
    assert judged("skill:network", "number:+15550100") is False


def test_without_a_rule_a_transfer_is_neither_right_nor_wrong() -> None:
    assert judged(None, "queue:tech") is None
    v = verdict(
        RULES, {"topic": "weather"}, "queue:tech", queue_skills=QUEUE_SKILLS, agent_skills=AGENT_SKILLS
    )
    assert (v.expected, v.correct) == (None, None)


# ------------------------------------------------------------------------------------ in the ACD


def queue(**kw: Any) -> QueueSettings:
    return QueueSettings(**{"ring_timeout_s": 0.3, "wrap_up_s": 0.2, "announce_every_s": None, **kw})


QUEUES = {"sales": queue(), "billing": queue(), "tech": queue(skills={"network": 1})}
SETTINGS = AcdSettings(escalation=RULES)


def agent(agent_id: str, *queues: str, **skills: int) -> Agent:
    return Agent(
        agent_id, agent_id.upper(), f"PJSIP/{agent_id}", skills=skills, queues=frozenset(queues or ("sales",))
    )


async def transferred(bed: AcdBed, variables: dict[str, str], target: str) -> dict[str, Any]:
    await bed.login("a1", "a2")  # a2 is not in sales: a1 takes the call
    call, _, _ = bed.enter("sales", variables=variables)
    await eventually(lambda: bed.state("a1") == "on_call")
    await bed.service.transfer(call.call_id, kind="blind", target=target, by="a1")
    [event] = bed.events(call, K.TRANSFER)
    return event


@pytest.mark.parametrize(
    ("variables", "target", "expected", "correct"),
    [
        ({"topic": "internet"}, "queue:tech", "skill:network", True),
        ({"topic": "internet"}, "queue:billing", "skill:network", False),
        ({"topic": "internet"}, "agent:a2", "skill:network", True),
        ({"menu_choice": "2"}, "queue:tech", "skill:network", True),
        ({"menu_choice": "3"}, "queue:billing", "queue:billing", True),
        ({"topic": "billing"}, "queue:tech", "queue:billing", False),
        ({"topic": "weather", "menu_choice": "2"}, "queue:tech", None, None),
    ],
)
async def test_the_acd_journals_the_rule_and_its_verdict_with_the_transfer(
    variables: dict[str, str], target: str, expected: str | None, correct: bool | None
) -> None:
    agents = [agent("a1"), agent("a2", "tech", network=2)]
    async with AcdBed(QUEUES, agents, settings=SETTINGS) as bed:
        event = await transferred(bed, variables, target)
    assert (event["topic"], event["expected"], event["correct"]) == (
        variables.get("topic"),
        expected,
        correct,
    )


# ------------------------------------------------------------------------------------ the projection


def transfer_record(**data: Any) -> Record:
    return Record("c1", 7, datetime(2026, 11, 26, 9, tzinfo=UTC), K.TRANSFER.value, {"kind": "blind", **data})


def projected(rec: Record) -> bool | None:
    projection = AcdProjection()
    projection.add(rec)
    [row] = projection.transfers
    value: bool | None = row["correct"]
    return value


def test_the_projection_keeps_the_acds_verdict_for_a_skill_rule() -> None:
    rec = transfer_record(target_type="queue", target="tech", expected="skill:network", correct=True)
    assert projected(rec) is True
    rec = transfer_record(target_type="queue", target="billing", expected="skill:network", correct=False)
    assert projected(rec) is False
    assert projected(transfer_record(target_type="queue", target="tech", expected=None, correct=None)) is None


def test_the_projection_judges_older_events_without_a_verdict_by_their_target() -> None:
    assert projected(transfer_record(target_type="queue", target="billing", expected="queue:billing")) is True
    assert projected(transfer_record(target_type="queue", target="tech", expected="queue:billing")) is False
    assert projected(transfer_record(target_type="queue", target="tech")) is None


# ------------------------------------------------------------------------------------ configuration

BASE = """\
ari: {username: ccapp, password: ari-pass}
ami: {username: ccapp, password: ami-pass}
queues:
  sales: {skills: {sales: 1}}
  tech: {skills: {network: 2}}
agents:
  a1: {endpoint: PJSIP/a1, skills: {french: 3}, queues: [sales]}
"""


def load(tmp_path: Path, rules: str) -> Any:
    path = tmp_path / "ccapp.yaml"
    path.write_text(BASE + "acd:\n  escalation:\n" + textwrap.indent(textwrap.dedent(rules), "    "))
    return load_settings(path, {})


def problems(tmp_path: Path, rules: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, rules)
    return list(caught.value.problems)


def test_valid_rules_load(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """\
        billing: queue:sales
        internet: skill:network
        french: skill:french
        vip: agent:a1
        menu_choice=2: queue:tech
        lang=: queue:sales
        """,
    )
    assert settings.acd.escalation["menu_choice=2"] == "queue:tech"
    assert list(settings.acd.escalation) == ["billing", "internet", "french", "vip", "menu_choice=2", "lang="]


def test_a_rule_to_an_unknown_queue_agent_or_skill_is_refused_with_its_key_and_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        billing: queue:nowhere
        vip: agent:a7
        internet: skill:networking
        """,
    )
    assert found == [
        "acd.escalation.billing: unknown queue 'nowhere' (queues: sales, tech) (line 10)",
        "acd.escalation.vip: unknown agent 'a7' (agents: a1) (line 11)",
        "acd.escalation.internet: unknown skill 'networking': no queue requires it and no agent has it "
        "(french, network, sales) (line 12)",
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("billing: sales", "'sales': a rule's value is queue:<name>, agent:<id> or skill:<name>"),
        ("billing: number:123", "'number:123': a rule's value is queue:<name>, agent:<id> or skill:<name>"),
        ("billing: 'queue:'", "'queue:': a rule's value is queue:<name>, agent:<id> or skill:<name>"),
        ("'a b': queue:sales", "'a b': a rule's key is a topic or <variable>=<value>"),
        ("'=2': queue:sales", "'=2': a rule's key is a topic or <variable>=<value>"),
    ],
)
def test_a_rule_of_the_wrong_form_is_refused(tmp_path: Path, rule: str, message: str) -> None:
    [problem] = problems(tmp_path, rule + "\n")
    assert problem.startswith("acd.escalation: ")
    assert message in problem
