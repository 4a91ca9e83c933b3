"""Load ``ccapp.yaml`` + ``CCAPP_*`` environment overrides + secret files into :class:`Settings`.

Every problem becomes one line naming the dotted key and where it came from (YAML line or environment
variable), and all of them are raised together in one :class:`ConfigError`. Messages are built here from
pydantic's error type and text, never from the offending value, so a password can never leak into them.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from ccapp.config.acd import acd_problems
from ccapp.config.settings import Settings
from ccapp.errors import ConfigError
from ccapp.ivr.sounds import SoundDirs
from ccapp.ivr.tree import NODE_TYPES, SpeechNode
from ccapp.ivr.validate import Problem, validate_tree

ENV_PREFIX = "CCAPP_"
ENV_SEPARATOR = "__"

KeyPath = tuple[str, ...]

# Keys giving the same secret two ways; a value for one from the environment replaces the other from
# the file, so CCAPP_ARI__PASSWORD_FILE works over a "password:" line.
_SECRET_PAIRS = {"password": "password_file", "password_file": "password"}


@dataclass
class _Sources:
    """Where each key path came from, to point the admin at the right line or variable."""

    lines: dict[KeyPath, int] = field(default_factory=dict)
    env: dict[KeyPath, str] = field(default_factory=dict)
    #: key paths read from another file than the main one (trees in ``ivr.tree_dir``) → that file
    files: dict[KeyPath, str] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> tuple[int | None, str]:
        """The line to sort by and a suffix: `` (line N)``, `` (from CCAPP_X__Y)`` or ``""``.

        A key that is not in the file (a missing one) points at its nearest parent that is.
        """
        if path in self.env:
            return None, f" (from {self.env[path]})"
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                for root, name in self.files.items():
                    if path[: len(root)] == root:
                        # after the main file's lines when sorting; the file is named
                        return 1_000_000 + line, f" ({name} line {line})"
                return line, f" (line {line})"
        # an unknown section set only from the environment: name the variable that made it
        for env_path, name in self.env.items():
            if env_path[: len(path)] == path:
                return None, f" (from {name})"
        return None, ""


@dataclass
class _Problems:
    """Problem lines, kept with their line number so they can be listed in file order."""

    sources: _Sources
    found: list[tuple[int | None, str]] = field(default_factory=list)

    def add(self, path: KeyPath, message: str) -> None:
        line, where = self.sources.locate(path)
        self.add_line(line, f"{'.'.join(path) or '(top level)'}: {message}{where}")

    def add_line(self, line: int | None, text: str) -> None:
        if all(text != seen for _, seen in self.found):
            self.found.append((line, text))

    def ordered(self) -> list[str]:
        """File order first, then the rest as found: what an admin fixes top to bottom."""
        unplaced = float("inf")
        return [text for _, text in sorted(self.found, key=lambda p: unplaced if p[0] is None else p[0])]


def load_settings(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override and validate the configuration.

    ``path`` None means no file: defaults plus environment only. ``environ`` defaults to ``os.environ``.
    Raises :class:`ConfigError` listing every problem found.
    """
    env = os.environ if environ is None else environ
    sources = _Sources()
    problems = _Problems(sources)
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        path = Path(path)
        base_dir = path.parent
        data = _read_yaml(path, problems)

    _read_tree_dir(data, base_dir, problems)
    _apply_env(data, env, problems)
    unreadable = _resolve_secret_files(data, base_dir, problems)

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        _describe_errors(exc, problems, skip_missing=unreadable)
    else:
        for problem in tree_problems(settings):
            problems.add(problem.path, problem.message)
        for problem in acd_problems(settings):
            problems.add(problem.path, problem.message)
        if not problems.found:
            return settings
    raise ConfigError(problems.ordered())


def tree_problems(settings: Settings) -> list[Problem]:
    """Whole-tree checks of every IVR tree (dangling, unreachable, loops, queues, sounds…)."""
    ivr = settings.ivr
    sounds = SoundDirs(ivr.sounds_dirs)
    found: list[Problem] = []
    for name, tree in ivr.trees.items():
        found.extend(
            validate_tree(
                name,
                tree,
                queues=set(settings.queues),
                schedules=ivr.schedules,
                sound_exists=sounds,
                number_dial=ivr.transfer.number_dial,
            )
        )
    if ivr.speech.enabled:
        found.extend(_unknown_speech_words(settings))
    return found


def _unknown_speech_words(settings: Settings) -> list[Problem]:
    """Speech phrases with a word the recognizer's dictionary lacks: they could never be heard."""
    nodes = [
        (name, node_name, node)
        for name, tree in settings.ivr.trees.items()
        for node_name, node in tree.nodes.items()
        if isinstance(node, SpeechNode)
    ]
    if not nodes:
        return []
    from ccapp.speech.errors import SpeechError
    from ccapp.speech.pocketsphinx import PocketsphinxRecognizer

    try:
        recognizer = PocketsphinxRecognizer(max_decoders=1)
        problems = []
        for tree_name, node_name, node in nodes:
            for phrase in node.phrases:
                unknown = recognizer.unknown_words([phrase])
                if unknown:
                    problems.append(
                        Problem(
                            ("ivr", "trees", tree_name, "nodes", node_name, "phrases", phrase),
                            f"the recognizer's dictionary has no {', '.join(unknown)}: this phrase "
                            "can never be recognised (spell it as spoken, e.g. 'a t m' for ATM)",
                        )
                    )
        return problems
    except SpeechError:
        return []  # no recognizer here: the speech node will take DTMF only


# --- YAML -------------------------------------------------------------------------------------------


def _read_yaml(path: Path, problems: _Problems) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: config file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read config file: {_reason(exc)}"]) from None
    try:
        node, data = _parse_yaml(text)
    except yaml.YAMLError as exc:
        # str(exc) quotes the offending line, which may be a password: use only the mark and problem.
        raise ConfigError([f"{path}: {_yaml_problem(exc)}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of sections (line 1)"])
    if node is not None:
        _collect_lines(node, (), problems)
    return data


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, from one parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _read_tree_dir(data: dict[str, Any], base_dir: Path, problems: _Problems) -> None:
    """Add each ``<ivr.tree_dir>/<name>.yaml`` as tree ``<name>`` (a tree of that name in the main file
    is an error: one tree, one place)."""
    ivr = data.get("ivr")
    if not isinstance(ivr, dict):
        return
    raw = ivr.get("tree_dir")
    if not isinstance(raw, str):
        return  # absent, or a wrong type that validation reports
    folder = Path(raw).expanduser()
    if not folder.is_absolute():
        folder = base_dir / folder
    if not folder.is_dir():
        problems.add(("ivr", "tree_dir"), f"{folder} is not a directory")
        return
    trees = ivr.setdefault("trees", {})
    if not isinstance(trees, dict):
        return
    for path in sorted(folder.glob("*.yaml")):
        name = path.stem
        root: KeyPath = ("ivr", "trees", name)
        if name in trees:
            problems.add(root, f"tree {name!r} is defined both here and in {path}")
            continue
        try:
            node, tree = _parse_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(("ivr", "tree_dir"), f"cannot read {path}: {_reason(exc)}")
            continue
        except yaml.YAMLError as exc:
            problems.add_line(None, f"{path}: {_yaml_problem(exc)}")
            continue
        if not isinstance(tree, dict):
            problems.add_line(None, f"{path}: a tree file holds one tree: start, nodes… (line 1)")
            continue
        problems.sources.files[root] = path.name
        problems.sources.lines.setdefault(root, 1)
        if node is not None:
            _collect_lines(node, root, problems)
        trees[name] = tree


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = exc.problem or "invalid YAML"
        context = ""
        if exc.context:
            started = exc.context_mark
            at = f" at line {started.line + 1}" if started is not None and started.line != mark.line else ""
            context = f" ({exc.context}{at})"
        return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {what}{context}"
    return "YAML syntax error"


def _collect_lines(node: yaml.Node, path: KeyPath, problems: _Problems) -> None:
    lines = problems.sources.lines
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key_path = (*path, str(key_node.value))
            line = key_node.start_mark.line + 1
            first = lines.setdefault(key_path, line)
            if first != line:
                # PyYAML silently keeps the last of two equal keys; that is nearly always a mistake.
                dotted = ".".join(key_path)
                problems.add_line(line, f"{dotted}: duplicate key (line {line}, first at line {first})")
            _collect_lines(value_node, key_path, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, str(index))
            lines.setdefault(item_path, item.start_mark.line + 1)
            _collect_lines(item, item_path, problems)


# --- environment ------------------------------------------------------------------------------------


def _apply_env(data: dict[str, Any], env: Mapping[str, str], problems: _Problems) -> None:
    sources = problems.sources
    # Only names with "__" are overrides: CCAPP_TEST_PG_URL and the like belong to other tools.
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or ENV_SEPARATOR not in name:
            continue
        key_path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split(ENV_SEPARATOR))
        if not all(key_path):
            problems.add_line(None, f"{name}: malformed override name (use CCAPP_SECTION__KEY)")
            continue
        parent = data
        for depth, key in enumerate(key_path[:-1]):
            child = parent.setdefault(key, {})
            if not isinstance(child, dict):
                problems.add(key_path[: depth + 1], f"must be a mapping to apply {name}")
                break
            parent = child
        else:
            leaf = key_path[-1]
            parent[leaf] = _env_value(key_path, env[name])
            sources.env[key_path] = name
            sibling = _SECRET_PAIRS.get(leaf)
            if sibling is not None and (*key_path[:-1], sibling) not in sources.env:
                parent.pop(sibling, None)


def _env_value(key_path: KeyPath, raw: str) -> Any:
    """The override as YAML would read it ("5" → 5, "true" → True), but text fields get the raw text.

    Parsing a password as YAML would turn "0123" into 83 and "yes" into True, and a "#" into nothing.
    """
    if _wants_text(_annotation_at(key_path)):
        return raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, dict | list) or (value is None and raw.strip() not in ("", "~", "null")):
        return raw
    return value


def _annotation_at(key_path: KeyPath) -> Any:
    model: type[BaseModel] = Settings
    annotation: Any = None
    for depth, key in enumerate(key_path):
        info = model.model_fields.get(key)
        if info is None:
            return None
        annotation = info.annotation
        if depth < len(key_path) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return None
            model = annotation
    return annotation


def _wants_text(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return all(isinstance(arg, str) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return any(_wants_text(arg) for arg in typing.get_args(annotation))
    return annotation in (str, SecretStr, Path)


# --- secret files -----------------------------------------------------------------------------------


def _resolve_secret_files(data: dict[str, Any], base_dir: Path, problems: _Problems) -> set[KeyPath]:
    """Read every ``password_file`` into ``password``; return the sections whose file could not be read."""
    unreadable: set[KeyPath] = set()
    for section_name, section in data.items():
        if not isinstance(section, dict) or section.get("password_file") is None:
            continue
        section_path = (str(section_name),)
        file_path = (*section_path, "password_file")
        if "password" in section:
            problems.add(file_path, "give either password or password_file, not both")
            continue
        raw = section["password_file"]
        if not isinstance(raw, str):
            continue  # validation reports the wrong type
        secret_path = Path(raw).expanduser()
        if not secret_path.is_absolute():
            secret_path = base_dir / secret_path
        try:
            secret = secret_path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(file_path, f"cannot read {secret_path}: {_reason(exc)}")
            unreadable.add(section_path)
            continue
        if not secret:
            problems.add(file_path, f"{secret_path} is empty")
            unreadable.add(section_path)
            continue
        section["password"] = secret
    return unreadable


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


# --- messages ---------------------------------------------------------------------------------------


def _describe_errors(exc: ValidationError, problems: _Problems, skip_missing: set[KeyPath]) -> None:
    for error in exc.errors(include_url=False, include_input=False, include_context=True):
        key_path = _without_union_tags(tuple(str(part) for part in error["loc"]))
        if error["type"] == "missing" and key_path[:-1] in skip_missing and key_path[-1] == "password":
            continue  # already reported: its password_file could not be read
        problems.add(key_path, _message(error))


def _without_union_tags(path: KeyPath) -> KeyPath:
    """pydantic puts the node type into the location of a tree node's errors
    (``nodes.menu1.menu.options``); the admin's file has no such key."""
    for index in range(len(path) - 2):
        if path[index] == "nodes" and path[index + 2] in NODE_TYPES:
            return (*path[: index + 2], *path[index + 3 :])
    return path


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "union_tag_not_found":
        return f"missing type (one of {', '.join(NODE_TYPES)})"
    if error["type"] == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag", "?")
        return f"unknown node type {tag!r} (one of {', '.join(NODE_TYPES)})"
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]
