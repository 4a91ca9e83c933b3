"""The trees in service, swapped whole on reload.

A call looks its tree up once, when it starts, and keeps that `Tree` object: a reload never changes
the tree under a caller. A reload that fails validation changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccapp.ivr.schedule import Schedule
from ccapp.ivr.tree import Tree


@dataclass(frozen=True, slots=True)
class ReloadReport:
    added: list[str]
    changed: list[str]
    removed: list[str]

    def __str__(self) -> str:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            if names
        ]
        return "; ".join(parts) or "no tree changed"


class TreeRegistry:
    def __init__(self, trees: Mapping[str, Tree], schedules: Mapping[str, Schedule] | None = None) -> None:
        self._trees = dict(trees)
        self._schedules = dict(schedules or {})
        self.generation = 1

    def get(self, name: str) -> Tree | None:
        return self._trees.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._trees)

    @property
    def schedules(self) -> Mapping[str, Schedule]:
        return self._schedules

    def versions(self) -> dict[str, str]:
        return {name: tree.version for name, tree in sorted(self._trees.items())}

    def replace(self, trees: Mapping[str, Tree], schedules: Mapping[str, Schedule]) -> ReloadReport:
        """Put validated ``trees`` in service (the caller validated them)."""
        old = self.versions()
        new = {name: tree.version for name, tree in trees.items()}
        report = ReloadReport(
            added=sorted(set(new) - set(old)),
            changed=sorted(n for n in new if n in old and new[n] != old[n]),
            removed=sorted(set(old) - set(new)),
        )
        self._trees = dict(trees)
        self._schedules = dict(schedules)
        self.generation += 1
        return report
