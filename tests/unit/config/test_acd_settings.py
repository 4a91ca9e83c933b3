from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ccapp.acd.model import Agent, AgentState, QueueConfig, RelaxationStep, Strategy
from ccapp.config.acd import acd_notes, agents, queue_configs, servers
from ccapp.config.check import check_config
from ccapp.config.loader import load_settings
from ccapp.errors import ConfigError

WriteConfig = Callable[..., Path]
EXAMPLE = Path(__file__).resolve().parents[3] / "ccapp.yaml.example"


def problems_of(write_config: WriteConfig, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(text), {})
    return caught.value.problems


def test_a_full_queue_and_its_agents_map_to_model_objects(
    write_config: WriteConfig, minimal_yaml: str
) -> None:
    path = write_config(
        minimal_yaml
        + """\
queues:
  sales:
    skills: {sales: 3, english: 2}
    strategy: skills_weighted
    relaxation:
      - {after_s: 30, lower_levels_by: 1}
      - {after_s: 60, lower_levels_by: 1, drop_skills: [english]}
    wrap_up_s: 0
    ring_timeout_s: 20
    max_wait_s: 300
    max_length: 5
    overflow: support
  support:
    overflow: callback
  billing:
    overflow: voicemail:billing
agents:
  1001:
    name: Alice
    endpoint: PJSIP/1001
    skills: {sales: 4, english: 5}
    queues: [sales, support]
  bob:
    endpoint: Local/1002@agents
"""
    )

    settings = load_settings(path, {})

    queues = queue_configs(settings)
    assert queues["sales"] == QueueConfig(
        name="sales",
        skills={"sales": 3, "english": 2},
        strategy=Strategy.SKILLS_WEIGHTED,
        relaxation=(RelaxationStep(30, 1), RelaxationStep(60, 1, frozenset({"english"}))),
        wrap_up_s=0,
        ring_timeout_s=20,
        max_wait_s=300,
        max_length=5,
        overflow="queue:support",
    )
    assert queues["support"].overflow == "callback"
    assert queues["billing"].overflow == "voicemail:billing"
    assert agents(settings) == {
        "1001": Agent(
            "1001", "Alice", "PJSIP/1001", {"sales": 4, "english": 5}, frozenset({"sales", "support"})
        ),
        "bob": Agent("bob", "bob", "Local/1002@agents"),
    }
    assert all(agent.state is AgentState.LOGGED_OUT for agent in agents(settings).values())


def test_an_empty_queue_gets_the_model_defaults(write_config: WriteConfig, minimal_yaml: str) -> None:
    settings = load_settings(write_config(minimal_yaml + "queues:\n  sales: {}\n"), {})

    assert queue_configs(settings) == {"sales": QueueConfig(name="sales")}
    queue = settings.queues["sales"]
    assert (queue.recording, queue.announce_every_s, queue.moh_class) == ("none", 30.0, "default")


def test_the_example_file_maps_and_every_queue_has_an_agent() -> None:
    settings = load_settings(EXAMPLE, {})

    assert set(queue_configs(settings)) == {"sales", "support", "billing"}
    assert {a.endpoint for a in agents(settings).values()} == {"PJSIP/1001", "PJSIP/1002"}
    assert servers(settings, "sales") == ["1001"]
    assert servers(settings, "sales", stage=2) == ["1001", "1002"]
    assert acd_notes(settings) == []


def test_a_strategy_can_come_from_the_environment(write_config: WriteConfig, minimal_yaml: str) -> None:
    path = write_config(minimal_yaml + "queues:\n  sales: {}\n")

    settings = load_settings(path, {"CCAPP_QUEUES__SALES__STRATEGY": "ring_all"})

    assert queue_configs(settings)["sales"].strategy is Strategy.RING_ALL


def test_a_numeric_agent_id_takes_environment_overrides(write_config: WriteConfig, minimal_yaml: str) -> None:
    text = (
        minimal_yaml
        + "queues:\n  sales: {}\nagents:\n  1001:\n    endpoint: PJSIP/1001\n    skills: {a: 1, b: 2}\n"
    )
    environ = {"CCAPP_AGENTS__1001__ENDPOINT": "Local/1001@agents", "CCAPP_AGENTS__1001__SKILLS__B": "5"}

    settings = load_settings(write_config(text), environ)

    assert agents(settings)["1001"] == Agent("1001", "1001", "Local/1001@agents", {"a": 1, "b": 5})


QUEUES = """\
queues:
  sales:
    overflow: {sales_overflow}
  support: {{}}
agents:
  a1:
    endpoint: PJSIP/1001
    queues: [sales, vip]
  a2:
    endpoint: pjsip/1001
    queues: [support]
"""


def test_cross_checks_name_the_key_and_line(write_config: WriteConfig, minimal_yaml: str) -> None:
    found = problems_of(write_config, minimal_yaml + QUEUES.format(sales_overflow="nowhere"))

    assert found == [
        "queues.sales.overflow: unknown queue 'nowhere' (queues: sales, support; or voicemail:<mailbox>, "
        "callback) (line 9)",
        "agents.a1.queues.1: unknown queue 'vip' (queues: sales, support) (line 14)",
        "agents.a2.endpoint: pjsip/1001 is already agent 'a1''s endpoint (line 16)",
    ]


def test_a_queue_cannot_overflow_to_itself(write_config: WriteConfig, minimal_yaml: str) -> None:
    text = minimal_yaml + QUEUES.format(sales_overflow="sales").replace("vip", "support")

    assert problems_of(write_config, text) == [
        "queues.sales.overflow: a queue cannot overflow to itself (line 9)",
        "agents.a2.endpoint: pjsip/1001 is already agent 'a1''s endpoint (line 16)",
    ]


def test_an_overflow_loop_is_refused(write_config: WriteConfig, minimal_yaml: str) -> None:
    text = minimal_yaml + "queues:\n  a: {overflow: b}\n  b: {overflow: c}\n  c: {overflow: a}\n"

    assert problems_of(write_config, text) == [
        "queues.a.overflow: overflow loop: a → b → c → a (calls would be passed around forever) (line 8)"
    ]


def test_relaxation_steps_out_of_order_name_the_step(write_config: WriteConfig, minimal_yaml: str) -> None:
    text = (
        minimal_yaml
        + """\
queues:
  sales:
    skills: {sales: 3, english: 2}
    relaxation:
      - {after_s: 60, lower_levels_by: 2, drop_skills: [english]}
      - {after_s: 30, lower_levels_by: 1}
"""
    )

    assert problems_of(write_config, text) == [
        "queues.sales.relaxation.1.after_s: steps must be in order of time: 30 s is not after the step "
        "before (60 s) (line 12)",
        "queues.sales.relaxation.1.lower_levels_by: a later step must not be stricter: 1 is less than "
        "the step before (2) (line 12)",
        "queues.sales.relaxation.1.drop_skills: a later step must not be stricter: it requires again "
        "english (steps are absolute: repeat the skills dropped before) (line 12)",
    ]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "queues:\n  sales:\n    skills: {sales: 6}\n",
            "queues.sales.skills.sales: input should be less than or equal to 5 (line 9)",
        ),
        (
            "queues:\n  sales:\n    strategy: random\n",
            "queues.sales.strategy: input should be 'longest_idle', 'round_robin', 'fewest_calls', "
            "'skills_weighted' or 'ring_all' (line 9)",
        ),
        (
            "queues:\n  sales:\n    overflow: mailbox:9\n",
            "queues.sales.overflow: must be a queue name, voicemail:<mailbox> or callback (line 9)",
        ),
        (
            "queues:\n  sales:\n    recording: sometimes\n",
            "queues.sales.recording: input should be 'all', 'none' or 'on_demand' (line 9)",
        ),
        (
            "queues:\n  sales:\n    consent_prompt: 'you are recorded'\n",
            "queues.sales.consent_prompt: must be a sound name or text:<words> (or sound:, digits:, "
            "number:…) (line 9)",
        ),
        (
            "queues:\n  sales:\n    relaxation: [{after_s: 0}]\n",
            "queues.sales.relaxation.0.after_s: input should be greater than 0 (line 9)",
        ),
        (
            "queues:\n  sales:\n    max_length: 0\n",
            "queues.sales.max_length: input should be greater than or equal to 1 (line 9)",
        ),
        (
            "agents:\n  a1:\n    endpoint: 1001\n",
            "agents.a1.endpoint: input should be a valid string (line 9)",
        ),
        (
            "agents:\n  a1:\n    endpoint: PJSIP\n",
            "agents.a1.endpoint: string should match pattern '^[A-Za-z][\\w-]*/\\S+$' (line 9)",
        ),
        (
            "agents:\n  a1:\n    endpoint: PJSIP/1\n    skills: {sales: 0}\n",
            "agents.a1.skills.sales: input should be greater than or equal to 1 (line 10)",
        ),
        (
            "agents:\n  a1:\n    queue: [sales]\n    endpoint: PJSIP/1\n",
            "agents.a1.queue: unknown key (line 9)",
        ),
        (
            "agents:\n  a1:\n    endpoint: PJSIP/1\n    token_file: secrets/a1\n",
            "agents.a1.token_file: must be an absolute path (line 10)",
        ),
    ],
)
def test_a_bad_queue_or_agent_key_is_named_with_its_line(
    write_config: WriteConfig, minimal_yaml: str, section: str, expected: str
) -> None:
    assert problems_of(write_config, minimal_yaml + section) == [expected]


def test_an_agent_token_is_never_in_a_problem_or_a_repr(write_config: WriteConfig, minimal_yaml: str) -> None:
    agent = "agents:\n  a1:\n    endpoint: PJSIP/1\n    token: s3cret-tok\n"

    found = problems_of(write_config, minimal_yaml + agent + "    token_file: /x\n")
    settings = load_settings(write_config(minimal_yaml + agent), {})

    assert found == ["agents.a1.token_file: give either token or token_file, not both (line 11)"]
    assert settings.agents["a1"].token is not None
    assert settings.agents["a1"].token.get_secret_value() == "s3cret-tok"
    assert "s3cret-tok" not in repr(settings)


def test_a_consent_prompt_sound_must_exist(
    write_config: WriteConfig, minimal_yaml: str, tmp_path: Path
) -> None:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    (sounds / "recorded.wav").write_bytes(b"")
    text = (
        minimal_yaml
        + f"ivr:\n  sounds_dirs: [{sounds}]\n"
        + "queues:\n  sales: {consent_prompt: recorded}\n  support: {consent_prompt: sound:absent}\n"
    )

    assert problems_of(write_config, text) == [
        "queues.support.consent_prompt: sound 'absent' not found in the sound directories (line 11)"
    ]


def test_an_unreadable_or_empty_token_file_is_a_problem(
    write_config: WriteConfig, minimal_yaml: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-token"
    empty.write_text("\n", encoding="utf-8")
    absent = tmp_path / "absent-token"
    text = (
        minimal_yaml
        + f"agents:\n  a1:\n    endpoint: PJSIP/1\n    token_file: {absent}\n"
        + f"  a2:\n    endpoint: PJSIP/2\n    token_file: {empty}\n"
    )

    assert problems_of(write_config, text) == [
        f"agents.a1.token_file: cannot read {absent}: No such file or directory (line 10)",
        f"agents.a2.token_file: {empty} is empty (line 13)",
    ]


def test_check_config_summarises_queues_and_agents(
    write_config: WriteConfig, minimal_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        minimal_yaml
        + """\
queues:
  sales:
    strategy: ring_all
    skills: {sales: 2}
  support: {}
agents:
  a1: {endpoint: PJSIP/1001, skills: {sales: 2}, queues: [sales, support]}
  a2: {endpoint: PJSIP/1002, skills: {sales: 1}, queues: [sales, support]}
"""
    )

    assert check_config(path, {}) == 0

    out = capsys.readouterr().out
    assert "  acd:      2 queues, 2 agents\n" in out
    assert "  queue:    sales (ring_all, 1 of 2 agents can serve it)\n" in out
    assert "  queue:    support (longest_idle, 2 of 2 agents can serve it)\n" in out
    assert "note:" not in out


def test_a_queue_nobody_can_serve_is_a_note_not_an_error(
    write_config: WriteConfig, minimal_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        minimal_yaml
        + """\
queues:
  sales:
    skills: {sales: 4}
    relaxation: [{after_s: 45, lower_levels_by: 2}]
  french:
    skills: {french: 1}
    overflow: sales
    recording: all
  empty: {max_wait_s: 60}
agents:
  a1: {endpoint: PJSIP/1001, skills: {sales: 2}, queues: [sales, french]}
"""
    )

    assert check_config(path, {}) == 0

    out = capsys.readouterr().out
    assert (
        "note: queue empty: no agent lists it in their queues; no agent can answer its calls (they can "
        "only go back to the IVR)" in out
    )
    assert (
        "note: queue french: no agent of it has the required skills (french ≥ 1); no agent can answer "
        "its calls (they can only overflow to sales)" in out
    )
    assert "note: queues.french.overflow is never used: set max_wait_s or max_length for it" in out
    assert "note: queues.french records calls (all) without a consent_prompt" in out
    assert (
        "note: queue sales: no agent of it has the required skills (sales ≥ 4); its calls wait at least 45 s"
        in out
    )
