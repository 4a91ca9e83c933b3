"""`AcdService.disposition`: the agent's conclusion about a call is journaled whole (right party
included) and refused when it is not a short code word or the notes are too long."""

from __future__ import annotations

from typing import Any

import pytest

from ccapp.acd.errors import InvalidDisposition, UnknownCall
from ccapp.acd.fakes import AcdBed
from ccapp.acd.model import Agent
from ccapp.calls.model import EventKind
from ccapp.config.settings import QueueSettings


def bed() -> AcdBed:
    return AcdBed({"sales": QueueSettings()}, [Agent("a1", "A1", "PJSIP/a1", queues=frozenset({"sales"}))])


async def test_a_disposition_with_the_right_party_is_journaled_on_a_recent_call() -> None:
    b = bed()
    call, _ = b.call()
    b.service.remember(call)
    await b.service.disposition(
        "a1",
        call.call_id,
        outcome="promise_to_pay",
        resolved=True,
        topic="debt",
        notes="pays Friday",
        right_party=True,
    )
    await b.service.disposition("a1", call.call_id, outcome="wrong_number", right_party=False)
    assert b.events(call, EventKind.DISPOSITION) == [
        {
            "agent_id": "a1",
            "outcome": "promise_to_pay",
            "resolved": True,
            "topic": "debt",
            "notes": "pays Friday",
            "right_party": True,
        },
        {
            "agent_id": "a1",
            "outcome": "wrong_number",
            "resolved": None,
            "topic": None,
            "notes": None,
            "right_party": False,
        },
    ]


async def test_without_right_party_the_disposition_says_none() -> None:
    b = bed()
    call, _ = b.call()
    b.service.remember(call)
    await b.service.disposition("a1", call.call_id, outcome="sale")
    assert b.events(call, EventKind.DISPOSITION)[0]["right_party"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "no sale"}, "outcome: a short code word"),
        ({"outcome": ""}, "outcome: a short code word"),
        ({"outcome": "x" * 41}, "outcome: a short code word"),
        ({"outcome": "sale", "topic": "a/b"}, "topic: a short code word"),
        ({"outcome": "sale", "notes": "n" * 501}, "notes: text of at most 500 characters"),
        ({"outcome": "sale", "right_party": "yes"}, "right_party: true or false"),
    ],
)
async def test_a_bad_disposition_is_refused_and_nothing_is_journaled(
    kwargs: dict[str, Any], message: str
) -> None:
    b = bed()
    call, _ = b.call()
    b.service.remember(call)
    with pytest.raises(InvalidDisposition, match=message):
        await b.service.disposition("a1", call.call_id, **kwargs)
    assert b.events(call, EventKind.DISPOSITION) == []


async def test_notes_of_exactly_the_limit_are_kept() -> None:
    b = bed()
    call, _ = b.call()
    b.service.remember(call)
    await b.service.disposition("a1", call.call_id, outcome="sale", notes="é" * 500)
    assert b.events(call, EventKind.DISPOSITION)[0]["notes"] == "é" * 500


async def test_a_disposition_of_an_unknown_call_is_refused() -> None:
    with pytest.raises(UnknownCall):
        await bed().service.disposition("a1", "nope", outcome="sale", right_party=True)
