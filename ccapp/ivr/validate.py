"""Whole-tree checks, run at load, on reload and by ``ccapp check-config``.

Each problem names the key path (``ivr.trees.<tree>.nodes.<node>.<key>``) so the loader can point at
the YAML line. A tree with any problem is never put into service.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

from ccapp.ivr.schedule import Schedule
from ccapp.ivr.tree import (
    INPUT_TYPES,
    PROMPT_SCHEMES,
    ConditionNode,
    Handler,
    HttpNode,
    MenuNode,
    Node,
    QueueNode,
    SpeechNode,
    TransferNode,
    Tree,
)

KeyPath = tuple[str, ...]
#: answers whether Asterisk has a sound; None when it cannot be known on this host
SoundCheck = Callable[[str], bool | None]


@dataclass(frozen=True, slots=True)
class Problem:
    path: KeyPath
    message: str

    def __str__(self) -> str:
        return f"{'.'.join(self.path)}: {self.message}"


def targets(node: Node) -> Iterator[tuple[KeyPath, str]]:
    """Every node name ``node`` can go to, with the key path (inside the node) that names it."""
    for field in ("next", "default", "on_error"):
        value = getattr(node, field, None)
        if isinstance(value, str):
            yield (field,), value
    for field in ("on_timeout", "on_invalid", "on_max_tries", "on_no_input", "on_no_match"):
        handler = getattr(node, field, None)
        if isinstance(handler, Handler) and handler.next is not None:
            yield (field, "next"), handler.next
    if isinstance(node, MenuNode):
        for key, name in node.options.items():
            yield ("options", key), name
    if isinstance(node, SpeechNode):
        for phrase, name in node.phrases.items():
            yield ("phrases", phrase), name
        for key, name in node.dtmf.items():
            yield ("dtmf", key), name
    if isinstance(node, ConditionNode):
        for index, rule in enumerate(node.rules):
            yield ("rules", str(index), "next"), rule.next


def prompts_of(node: Node) -> Iterator[tuple[KeyPath, str]]:
    for index, prompt in enumerate(node.prompts):
        yield ("prompts", str(index)), prompt
    for field in ("on_timeout", "on_invalid", "on_max_tries", "on_no_input", "on_no_match"):
        handler = getattr(node, field, None)
        if isinstance(handler, Handler):
            for index, prompt in enumerate(handler.prompts):
                yield (field, "prompts", str(index)), prompt


def sound_name(prompt: str) -> str | None:
    """The plain sound a prompt plays, or None (text, digits, numbers, templates, URLs)."""
    if "{" in prompt or "://" in prompt:
        return None
    if prompt.startswith("sound:"):
        return prompt[len("sound:") :]
    if prompt.startswith(PROMPT_SCHEMES):
        return None
    return prompt


def validate_tree(
    name: str,
    tree: Tree,
    *,
    queues: Collection[str] | None = None,
    schedules: Mapping[str, Schedule] | None = None,
    sound_exists: SoundCheck | None = None,
    number_dial: str | None = "",
    prefix: KeyPath = ("ivr", "trees"),
) -> list[Problem]:
    """All problems of one tree. ``queues`` None skips the queue check; ``number_dial`` None means
    no trunk is configured for ``transfer: number``."""
    base = (*prefix, name)
    problems: list[Problem] = []
    nodes = tree.nodes
    if tree.start not in nodes:
        problems.append(Problem((*base, "start"), f"start node {tree.start!r} is not defined"))

    for node_name, node in nodes.items():
        where = (*base, "nodes", node_name)
        for key, target in targets(node):
            if target not in nodes:
                problems.append(Problem((*where, *key), f"goes to unknown node {target!r}"))
        if isinstance(node, QueueNode) and queues is not None and node.queue not in queues:
            known = ", ".join(sorted(queues)) or "none defined"
            problems.append(Problem((*where, "queue"), f"unknown queue {node.queue!r} (queues: {known})"))
        if isinstance(node, ConditionNode):
            for index, rule in enumerate(node.rules):
                wanted = rule.when.schedule
                if wanted is not None and wanted not in tree.schedules and wanted not in (schedules or {}):
                    problems.append(
                        Problem(
                            (*where, "rules", str(index), "when", "schedule"), f"unknown schedule {wanted!r}"
                        )
                    )
        if isinstance(node, TransferNode) and node.number is not None and number_dial is None:
            problems.append(
                Problem((*where, "number"), "transfer to a number needs ivr.transfer.number_dial (a trunk)")
            )
        if isinstance(node, HttpNode) and node.method == "GET" and node.body:
            problems.append(Problem((*where, "body"), "a GET request has no body; use method: POST"))
        if sound_exists is not None:
            for key, prompt in prompts_of(node):
                sound = sound_name(prompt)
                if sound is not None and sound_exists(sound) is False:
                    problems.append(
                        Problem((*where, *key), f"sound {sound!r} not found in the sound directories")
                    )

    if tree.start in nodes:
        reached = _reachable(tree)
        for node_name in nodes:
            if node_name not in reached:
                problems.append(
                    Problem((*base, "nodes", node_name), f"unreachable from the start node {tree.start!r}")
                )
    problems.extend(_idle_loops(base, tree))
    return problems


def _reachable(tree: Tree) -> set[str]:
    seen = {tree.start}
    todo = [tree.start]
    while todo:
        node = tree.nodes.get(todo.pop())
        if node is None:
            continue
        for _, target in targets(node):
            if target not in seen and target in tree.nodes:
                seen.add(target)
                todo.append(target)
    return seen


def _idle_loops(base: KeyPath, tree: Tree) -> list[Problem]:
    """Cycles made only of nodes that never wait for the caller: a call would spin there forever."""
    idle = {name for name, node in tree.nodes.items() if node.type not in INPUT_TYPES}
    edges = {name: sorted({t for _, t in targets(tree.nodes[name]) if t in idle}) for name in sorted(idle)}
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()
    for first in sorted(idle):
        # depth-first search for a path back to ``first``
        stack: list[tuple[str, list[str]]] = [(first, [first])]
        visited: set[str] = set()
        while stack:
            current, path = stack.pop()
            for nxt in edges[current]:
                if nxt == first:
                    cycle = frozenset(path)
                    if cycle not in reported:
                        reported.add(cycle)
                        loop = " → ".join([*path, first])
                        problems.append(
                            Problem((*base, "nodes", first), f"loop that never waits for input: {loop}")
                        )
                elif nxt not in visited:
                    visited.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    return problems
