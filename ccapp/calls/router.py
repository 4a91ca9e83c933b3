"""Dispatch a new channel to a handler by its entry arguments.

ARI: ``Stasis(ccapp,inbound,first)`` arrives as args ``("inbound", "first")``.
FastAGI: ``agi://host/ivr/first`` arrives as path segments ``("ivr", "first")``.
The first argument names the route; the rest are the route's parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ccapp.calls.call import Call
from ccapp.calls.model import Direction
from ccapp.calls.ports import CallControl
from ccapp.errors import CcappError

#: A call handler runs one call and returns its outcome (e.g. "completed").
Handler = Callable[[Call, CallControl, tuple[str, ...]], Awaitable[str]]


class UnknownRoute(CcappError):
    error_id = "unknown_route"


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    direction: Direction
    handler: Handler


class Router:
    """Route table: one handler per first argument."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def add(self, name: str, handler: Handler, direction: Direction = Direction.INBOUND) -> None:
        if name in self._routes:
            raise ValueError(f"route {name!r} is already registered")
        self._routes[name] = Route(name, direction, handler)

    def resolve(self, args: Sequence[str]) -> tuple[Route, tuple[str, ...]]:
        """The route for ``args`` and its parameters; `UnknownRoute` when none matches."""
        if not args or not args[0]:
            raise UnknownRoute("no route given (expected e.g. Stasis(ccapp,inbound,<tree>))")
        route = self._routes.get(args[0])
        if route is None:
            raise UnknownRoute(f"no route named {args[0]!r}")
        return route, tuple(args[1:])

    @property
    def names(self) -> list[str]:
        return sorted(self._routes)
