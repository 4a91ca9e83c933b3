"""Do-not-call lists: named lists of exact E.164 numbers and number prefixes, checked at dial time.

All lists share one digit trie, so :meth:`DncLists.blocked` walks the number once: O(number length),
whatever the lists' sizes. The lists are mutable; a number added mid-campaign is blocked from the next
check on, which is why the dialer must check at dial time and not when it loads the leads.

Entries are parsed with the same E.164 normalisation as leads (:func:`ccapp.dialer.phone.normalize_e164`);
a prefix entry ends with ``*`` and must be international (``+1900*``, ``+44 70*``): a national prefix
cannot be told apart from a trunk prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ccapp.dialer.phone import PhoneNumberError, normalize_e164

#: separators people write inside numbers; dropped before a prefix is checked
_SEPARATORS = re.compile(r"[\s\-().]")
_PREFIX = re.compile(r"\+[1-9][0-9]{0,14}")


@dataclass(frozen=True, slots=True)
class DncEntry:
    """A normalised entry: ``number`` is E.164 (exact) or ``+`` and leading digits (prefix)."""

    number: str
    prefix: bool = False

    def __str__(self) -> str:
        return self.number + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class BadEntry:
    """An entry that could not be parsed: its 1-based position in the input, why, and the text."""

    line: int
    reason: str
    raw: str


def parse_entry(text: str, *, default_region: str) -> DncEntry:
    """Parse one entry: an exact number (any form ``phonenumbers`` reads) or a ``+digits*`` prefix.

    Raises :class:`ValueError` (a :class:`~ccapp.dialer.phone.PhoneNumberError` for exact numbers).
    """
    stripped = text.strip()
    if stripped.endswith("*"):
        digits = _SEPARATORS.sub("", stripped[:-1])
        if not _PREFIX.fullmatch(digits):
            raise ValueError(f"bad prefix {text!r}: expected '+' and 1 to 15 digits, then '*'")
        return DncEntry(digits, prefix=True)
    return DncEntry(normalize_e164(stripped, default_region))


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    exact: set[str] = field(default_factory=set)  # names of lists holding this exact number
    prefix: set[str] = field(default_factory=set)  # names of lists holding this prefix


class DncLists:
    """Several named do-not-call lists (e.g. ``"global"``, ``"campaign:42"``) checked together."""

    def __init__(self) -> None:
        self._root = _Node()
        self._entries: dict[str, set[DncEntry]] = {}

    def add(self, list_name: str, entry: DncEntry) -> bool:
        """Add ``entry`` to ``list_name`` (created when new); False when it was already there."""
        entries = self._entries.setdefault(list_name, set())
        if entry in entries:
            return False
        entries.add(entry)
        node = self._root
        for char in entry.number:
            node = node.children.setdefault(char, _Node())
        (node.prefix if entry.prefix else node.exact).add(list_name)
        return True

    def remove(self, list_name: str, entry: DncEntry) -> bool:
        """Remove ``entry`` from ``list_name``; False when it was not there."""
        entries = self._entries.get(list_name)
        if entries is None or entry not in entries:
            return False
        entries.remove(entry)
        path = [self._root]
        for char in entry.number:
            path.append(path[-1].children[char])
        (path[-1].prefix if entry.prefix else path[-1].exact).discard(list_name)
        # prune the branch that now holds nothing, so removed entries cost no memory
        for depth in range(len(entry.number), 0, -1):
            node = path[depth]
            if node.children or node.exact or node.prefix:
                break
            del path[depth - 1].children[entry.number[depth - 1]]
        return True

    def load(self, list_name: str, lines: Iterable[str], *, default_region: str) -> list[BadEntry]:
        """Add every entry of ``lines`` (blank lines and ``#`` comments skipped); return the bad ones."""
        self._entries.setdefault(list_name, set())
        bad: list[BadEntry] = []
        for index, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                self.add(list_name, parse_entry(text, default_region=default_region))
            except PhoneNumberError as exc:
                bad.append(BadEntry(index, exc.reason, line.rstrip("\n")))
            except ValueError as exc:
                bad.append(BadEntry(index, str(exc), line.rstrip("\n")))
        return bad

    def drop_list(self, list_name: str) -> None:
        """Remove a whole list (no error when it does not exist)."""
        for entry in list(self._entries.get(list_name, ())):
            self.remove(list_name, entry)
        self._entries.pop(list_name, None)

    def blocked(self, number: str) -> str | None:
        """The name of a list blocking the E.164 ``number``, or None when it may be dialled.

        An exact entry wins over a prefix, a longer prefix over a shorter one, and among lists blocking
        at the same place the alphabetically first name is returned, so the answer is deterministic.
        """
        node = self._root
        hit: set[str] = set()
        for char in number:
            child = node.children.get(char)
            if child is None:
                return min(hit) if hit else None
            node = child
            if node.prefix:
                hit = node.prefix
        if node.exact:
            return min(node.exact)
        return min(hit) if hit else None

    def names(self) -> list[str]:
        """The lists' names, sorted."""
        return sorted(self._entries)

    def entries(self, list_name: str) -> Iterator[DncEntry]:
        """The entries of ``list_name`` (none when the list does not exist), sorted."""
        return iter(sorted(self._entries.get(list_name, ()), key=str))

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())
