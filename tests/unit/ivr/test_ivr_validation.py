"""Broken IVR trees in a config file: every problem names the tree, the node, the key and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ccapp.config.loader import load_settings
from ccapp.errors import ConfigError

#: nodes of tree "main" start at line 10; sounds are not checked unless a test says so
HEAD = """\
ari: {username: u, password: p}
ami: {username: u, password: p}
queues: {sales: {}, support: {}}
ivr:
  sounds_dirs: []
  trees:
    main:
      start: %s
      nodes:
"""


def problems(tmp_path: Path, nodes: str, *, start: str = "a", head: str = HEAD) -> list[str]:
    path = tmp_path / "ccapp.yaml"
    path.write_text(head % start + textwrap.indent(textwrap.dedent(nodes), " " * 8), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    return caught.value.problems


NODE = "ivr.trees.main.nodes"
TYPES = "play, menu, collect, speech, condition, http, set, queue, transfer, voicemail, hangup"

CASES = {
    "dangling next": (
        """\
        a: {type: play, prompts: [hello], next: nowhere}
        """,
        [f"{NODE}.a.next: goes to unknown node 'nowhere' (line 10)"],
    ),
    "dangling menu option": (
        """\
        a:
          type: menu
          options:
            "1": b
            "2": ghost
        b: {type: hangup}
        """,
        [f"{NODE}.a.options.2: goes to unknown node 'ghost' (line 14)"],
    ),
    "dangling handler": (
        """\
        a:
          type: menu
          options: {"1": b}
          on_max_tries: {next: operator}
        b: {type: hangup}
        """,
        [f"{NODE}.a.on_max_tries.next: goes to unknown node 'operator' (line 13)"],
    ),
    "unreachable node": (
        """\
        a: {type: hangup}
        orphan: {type: hangup}
        """,
        [f"{NODE}.orphan: unreachable from the start node 'a' (line 11)"],
    ),
    "idle loop through play and set": (
        """\
        a: {type: play, prompts: [hello], next: b}
        b: {type: set, vars: {v: "1"}, next: a}
        """,
        [f"{NODE}.a: loop that never waits for input: a → b → a (line 10)"],
    ),
    "unknown queue": (
        """\
        a: {type: queue, queue: billing}
        """,
        [f"{NODE}.a.queue: unknown queue 'billing' (queues: sales, support) (line 10)"],
    ),
    "unknown schedule": (
        """\
        a:
          type: condition
          rules:
            - when: {caller: '\\+49.*'}
              next: b
            - when: {schedule: office}
              next: b
          default: b
        b: {type: hangup}
        """,
        [f"{NODE}.a.rules.1.when.schedule: unknown schedule 'office' (line 15)"],
    ),
    "duplicate menu key in YAML": (
        """\
        a:
          type: menu
          options:
            1: b
            1: b
        b: {type: hangup}
        """,
        [f"{NODE}.a.options.1: duplicate key (line 14, first at line 13)"],
    ),
    "menu key 1 and '1'": (
        """\
        a: {type: menu, options: {1: b, "1": b}}
        b: {type: hangup}
        """,
        [f"{NODE}.a.options: key '1' is given twice (line 10)"],
    ),
    "menu key that is not a phone key": (
        """\
        a: {type: menu, options: {"11": b}}
        b: {type: hangup}
        """,
        [f"{NODE}.a.options: '11' is not a phone key (0-9, * or #; quote * and # in YAML) (line 10)"],
    ),
    "bad collect pattern": (
        """\
        a: {type: collect, var: x, pattern: "[0-9", next: b}
        b: {type: hangup}
        """,
        [
            f"{NODE}.a.pattern: not a valid regular expression: unterminated character set at position 0 "
            "(line 10)"
        ],
    ),
    "bad caller regex": (
        """\
        a:
          type: condition
          rules:
            - when: {caller: "(+"}
              next: b
          default: b
        b: {type: hangup}
        """,
        [
            f"{NODE}.a.rules.0.when.caller: not a valid regular expression: nothing to repeat at position 1 "
            "(line 13)"
        ],
    ),
    "min_digits above max_digits": (
        """\
        a:
          type: collect
          var: x
          min_digits: 5
          max_digits: 3
          next: b
        b: {type: hangup}
        """,
        [f"{NODE}.a: min_digits (5) is more than max_digits (3) (line 10)"],
    ),
    "unknown node type": (
        """\
        a: {type: dance, next: b}
        b: {type: hangup}
        """,
        [f"{NODE}.a: unknown node type 'dance' (one of {TYPES}) (line 10)"],
    ),
    "missing node type": (
        """\
        a: {prompts: [hello], next: b}
        b: {type: hangup}
        """,
        [f"{NODE}.a: missing type (one of {TYPES}) (line 10)"],
    ),
    "unknown key in a node": (
        """\
        a:
          type: play
          prompts: [hello]
          nxet: b
          next: b
        b: {type: hangup}
        """,
        [f"{NODE}.a.nxet: unknown key (line 13)"],
    ),
    "transfer with target and number": (
        """\
        a: {type: transfer, target: PJSIP/1001, number: "+4930123"}
        """,
        [f"{NODE}.a: give exactly one of target (a dial string) or number (line 10)"],
    ),
    "transfer to a number without a trunk": (
        """\
        a: {type: transfer, number: "+4930123"}
        """,
        [f"{NODE}.a.number: transfer to a number needs ivr.transfer.number_dial (a trunk) (line 10)"],
    ),
    "unquoted # terminator": (
        """\
        a:
          type: collect
          var: x
          terminator: #
          next: b
        b: {type: hangup}
        """,
        [
            f'{NODE}.a.terminator: quote it in YAML: terminator: "#" (an unquoted # starts a comment) '
            "(line 13)"
        ],
    ),
    "template with an unknown variable": (
        """\
        a: {type: play, prompts: [hello, "text:Hello {foo.bar}"], next: b}
        b: {type: hangup}
        """,
        [
            f"{NODE}.a.prompts: unknown variable {{foo.bar}} (use caller.number, caller.name, call.id, "
            "call.called or vars.<name>) (line 10)"
        ],
    ),
    "GET with a body": (
        """\
        a:
          type: http
          url: http://127.0.0.1/x
          body: {account: "{vars.account}"}
          next: b
          on_error: b
        b: {type: hangup}
        """,
        [f"{NODE}.a.body: a GET request has no body; use method: POST (line 13)"],
    ),
    "variables before the host of a URL": (
        """\
        a: {type: http, url: "{vars.host}/x", next: b, on_error: b}
        b: {type: hangup}
        """,
        [f"{NODE}.a.url: must start with http:// or https:// and a host (variables only after it) (line 10)"],
    ),
    "duplicate speech phrase": (
        """\
        a: {type: speech, phrases: {Sales: b, "  sales ": b}}
        b: {type: hangup}
        """,
        [f"{NODE}.a.phrases: phrase 'sales' is given twice (line 10)"],
    ),
    "nodes named like node types": (
        """\
        a: {type: menu, options: {"1": play}}
        play: {type: play, prompts: ["text:"], next: menu, colour: red}
        menu: {type: hangup}
        """,
        [
            f"{NODE}.play.prompts: text: prompt is empty (line 11)",
            f"{NODE}.play.colour: unknown key (line 11)",
        ],
    ),
    "menu without options": (
        """\
        a: {type: menu, options: {}}
        """,
        [f"{NODE}.a.options: a menu needs at least one option (line 10)"],
    ),
    "words where a sound name belongs": (
        """\
        a: {type: hangup, prompts: [Goodbye and thanks]}
        """,
        [
            f"{NODE}.a.prompts: 'Goodbye and thanks' is not a sound name "
            "(for words, write text: Goodbye and thanks) (line 10)"
        ],
    ),
    "template error in a handler prompt": (
        """\
        a: {type: menu, options: {"1": a}, on_invalid: {prompts: ["text:Sorry {caller}"]}}
        """,
        [
            f"{NODE}.a.on_invalid.prompts: unknown variable {{caller}} (use caller.number, caller.name, "
            "call.id, call.called or vars.<name>) (line 10)"
        ],
    ),
}


@pytest.mark.parametrize(("nodes", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_broken_tree_is_refused_with_its_key_path_and_line(
    tmp_path: Path, nodes: str, expected: list[str]
) -> None:
    assert problems(tmp_path, nodes) == expected


def test_an_unknown_start_node_is_named_at_the_start_key(tmp_path: Path) -> None:
    found = problems(tmp_path, "a: {type: hangup}\n", start="welcome")

    # without a start, reachability means nothing: no "unreachable" noise
    assert found == ["ivr.trees.main.start: start node 'welcome' is not defined (line 8)"]


SCHEDULES = """\
ari: {username: u, password: p}
ami: {username: u, password: p}
ivr:
  sounds_dirs: []
  schedules:
    mars: {tz: Mars/Olympus, hours: {mon: "09:00-17:00"}}
    funday: {tz: UTC, hours: {funday: "09:00-17:00"}}
    backwards_days: {tz: UTC, hours: {fri-mon: "09:00-17:00"}}
    night: {tz: UTC, hours: {mon: "17:00-09:00"}}
    sloppy: {tz: UTC, hours: {mon: "9-17"}}
    late: {tz: UTC, hours: {mon: "25:00-26:00"}}
    twice: {tz: UTC, hours: {mon-wed: "09:00-12:00", tue: "13:00-17:00"}}
    fine: {tz: UTC, hours: {mon: "09:00-24:00"}}
"""


def test_bad_schedules_are_refused_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "ccapp.yaml"
    path.write_text(SCHEDULES, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})

    assert caught.value.problems == [
        "ivr.schedules.mars.tz: unknown IANA time zone 'Mars/Olympus' (e.g. Europe/Berlin) (line 6)",
        "ivr.schedules.funday.hours: 'funday': days are mon tue wed thu fri sat sun, ranges like mon-fri "
        "(line 7)",
        "ivr.schedules.backwards_days.hours: 'fri-mon': a day range must run forward (mon-fri, not fri-mon) "
        "(line 8)",
        "ivr.schedules.night.hours: '17:00-09:00': the range ends before it starts (split ranges over "
        "midnight) (line 9)",
        "ivr.schedules.sloppy.hours: '9-17': write time ranges as HH:MM-HH:MM (line 10)",
        "ivr.schedules.late.hours: '25:00-26:00': not a time of day (line 11)",
        "ivr.schedules.twice.hours: tue is given twice (line 12)",
    ]


def test_a_schedule_inside_a_tree_is_checked_too(tmp_path: Path) -> None:
    head = HEAD.replace(
        "      nodes:\n", "      schedules:\n        s: {tz: Nowhere/City, hours: {}}\n      nodes:\n"
    )

    found = problems(tmp_path, "a: {type: hangup}\n", head=head)

    assert found == [
        "ivr.trees.main.schedules.s.tz: unknown IANA time zone 'Nowhere/City' (e.g. Europe/Berlin) (line 10)"
    ]


def test_missing_sounds_are_named_by_prompt_index_when_a_sound_directory_exists(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    (sounds / "digits").mkdir(parents=True)
    for name in ("hello.gsm", "digits/1.gsm", "vm-goodbye.wav"):
        (sounds / name).touch()
    head = HEAD.replace("sounds_dirs: []", f"sounds_dirs: [{tmp_path / 'absent'}, {sounds}]")
    nodes = """\
    a:
      type: menu
      prompts: [hello, missing-one, "sound:digits/1", "sound:digits/2", "text:Hi", "digits:12", "{vars.x}"]
      options: {"1": b}
      on_invalid: {prompts: [gone]}
    b: {type: hangup, prompts: [vm-goodbye, ../../etc/passwd]}
    """

    found = problems(tmp_path, nodes, head=head)

    assert found == [
        # the default invalid-key prompt is replaced; the default goodbye exists
        f"{NODE}.a.prompts.1: sound 'missing-one' not found in the sound directories (line 12)",
        f"{NODE}.a.prompts.3: sound 'digits/2' not found in the sound directories (line 12)",
        f"{NODE}.a.on_invalid.prompts.0: sound 'gone' not found in the sound directories (line 14)",
        f"{NODE}.b.prompts.1: sound '../../etc/passwd' not found in the sound directories (line 15)",
    ]


def test_a_default_handler_prompt_missing_from_the_sounds_points_at_its_node(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    head = HEAD.replace("sounds_dirs: []", f"sounds_dirs: [{sounds}]")

    found = problems(tmp_path, 'a: {type: menu, options: {"1": a}, on_invalid: {next: a}}\n', head=head)

    assert found == [
        f"{NODE}.a.on_max_tries.prompts.0: sound 'vm-goodbye' not found in the sound directories (line 10)"
    ]


def test_every_problem_of_several_trees_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    nodes = """\
    a: {type: menu, options: {"1": b, "2": nowhere}}
    b: {type: queue, queue: billing}
    lonely: {type: hangup}
    """
    second = """\
    other:
      start: x
      nodes:
        x: {type: play, prompts: [hello], next: x}
    """
    text = (
        HEAD % "a"
        + textwrap.indent(textwrap.dedent(nodes), " " * 8)
        + textwrap.indent(textwrap.dedent(second), " " * 4)
    )
    path = tmp_path / "ccapp.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})

    assert caught.value.problems == [
        f"{NODE}.a.options.2: goes to unknown node 'nowhere' (line 10)",
        f"{NODE}.b.queue: unknown queue 'billing' (queues: sales, support) (line 11)",
        f"{NODE}.lonely: unreachable from the start node 'a' (line 12)",
        "ivr.trees.other.nodes.x: loop that never waits for input: x → x (line 16)",
    ]


@pytest.mark.parametrize(("nodes", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_broken_tree_sent_by_reload_is_refused_and_the_running_tree_stays(
    tmp_path: Path, nodes: str, expected: list[str]
) -> None:
    from ccapp.app import Application

    path = tmp_path / "ccapp.yaml"
    good = "a: {type: hangup, prompts: [vm-goodbye]}\n"
    path.write_text(HEAD % "a" + textwrap.indent(good, " " * 8), encoding="utf-8")
    app = Application(load_settings(path, {}), path)
    before = app.ivr.registry.get("main")
    path.write_text(HEAD % "a" + textwrap.indent(textwrap.dedent(nodes), " " * 8), encoding="utf-8")

    ok, found = app.reload_trees()

    assert not ok
    assert found == expected
    assert app.ivr.registry.get("main") is before


def test_a_speech_phrase_with_a_word_the_recognizer_cannot_know_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        a:
          type: speech
          phrases: {billing: b, "zorblax fee": b}
        b: {type: hangup}
        """,
    )
    assert found == [
        f"{NODE}.a.phrases.zorblax fee: the recognizer's dictionary has no zorblax: this phrase can never be "
        "recognised (spell it as spoken, e.g. 'a t m' for ATM) (line 12)"
    ]


def test_trees_in_a_folder_are_loaded_and_their_problems_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "trees").mkdir()
    (tmp_path / "trees" / "support.yaml").write_text(
        "start: ask\nnodes:\n  ask:\n    type: menu\n"
        '    options: {"1": bye, "2": nowhere}\n  bye: {type: hangup}\n'
    )
    (tmp_path / "trees" / "main.yaml").write_text("start: a\nnodes:\n  a: {type: hangup}\n")
    config = tmp_path / "ccapp.yaml"
    config.write_text(HEAD % "a" + "        a: {type: hangup}\n" + "  tree_dir: trees\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {})
    assert caught.value.problems == [
        "ivr.trees.main: tree 'main' is defined both here and in "
        + str(tmp_path / "trees" / "main.yaml")
        + " (line 7)",
        "ivr.trees.support.nodes.ask.options.2: goes to unknown node 'nowhere' (support.yaml line 5)",
    ]
    (tmp_path / "trees" / "main.yaml").unlink()
    (tmp_path / "trees" / "support.yaml").write_text(
        'start: ask\nnodes:\n  ask:\n    type: menu\n    options: {"1": bye}\n  bye: {type: hangup}\n'
    )
    settings = load_settings(config, {})
    assert sorted(settings.ivr.trees) == ["main", "support"]


def test_a_missing_tree_folder_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "ccapp.yaml"
    config.write_text(HEAD % "a" + "        a: {type: hangup}\n" + "  tree_dir: nowhere\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {})
    assert caught.value.problems == [f"ivr.tree_dir: {tmp_path / 'nowhere'} is not a directory (line 11)"]
