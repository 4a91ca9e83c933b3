"""Do-not-call lists: exact numbers, prefixes, several named lists, changes taking effect at once."""

from __future__ import annotations

import pytest

from ccapp.dialer.dnc import BadEntry, DncEntry, DncLists, parse_entry
from ccapp.dialer.phone import PhoneNumberError


def entry(text: str) -> DncEntry:
    return parse_entry(text, default_region="US")


def test_entries_are_normalised_to_e164_like_leads() -> None:
    assert entry("(212) 555-1234") == DncEntry("+12125551234")
    assert entry("+44 20 7946 0000") == DncEntry("+442079460000")


def test_a_prefix_entry_ends_with_a_star_and_must_be_international() -> None:
    assert entry("+1 900*") == DncEntry("+1900", prefix=True)
    assert str(entry("+1-900*")) == "+1900*"
    with pytest.raises(ValueError, match="bad prefix"):
        entry("900*")
    with pytest.raises(ValueError, match="bad prefix"):
        entry("+*")


def test_a_bad_exact_entry_is_refused() -> None:
    with pytest.raises(PhoneNumberError, match="unparseable"):
        entry("nobody")


def test_an_exact_entry_blocks_only_that_number() -> None:
    dnc = DncLists()
    dnc.add("global", entry("2125551234"))
    assert dnc.blocked("+12125551234") == "global"
    assert dnc.blocked("+12125551235") is None
    assert dnc.blocked("+1212555123") is None


def test_a_prefix_blocks_every_number_starting_with_it() -> None:
    dnc = DncLists()
    dnc.add("premium", entry("+1900*"))
    assert dnc.blocked("+19005550100") == "premium"
    assert dnc.blocked("+1900") == "premium"
    assert dnc.blocked("+12125551234") is None
    assert dnc.blocked("+190") is None


def test_the_most_specific_entry_names_the_blocking_list() -> None:
    dnc = DncLists()
    dnc.add("zz-country", entry("+44*"))
    dnc.add("london", entry("+4420*"))
    dnc.add("campaign:7", entry("+442079460000"))
    dnc.add("global", entry("+442079460000"))
    assert dnc.blocked("+442079460000") == "campaign:7"  # exact, alphabetically first of two lists
    assert dnc.blocked("+442079460001") == "london"
    assert dnc.blocked("+441614960000") == "zz-country"


def test_a_number_added_mid_campaign_is_blocked_from_then_on_and_unblocked_on_removal() -> None:
    dnc = DncLists()
    number = "+12125551234"
    assert dnc.blocked(number) is None
    assert dnc.add("campaign:1", entry(number)) is True
    assert dnc.add("campaign:1", entry(number)) is False
    assert dnc.blocked(number) == "campaign:1"
    assert dnc.remove("campaign:1", entry(number)) is True
    assert dnc.remove("campaign:1", entry(number)) is False
    assert dnc.blocked(number) is None
    assert len(dnc) == 0


def test_removing_from_one_list_leaves_the_others_blocking() -> None:
    dnc = DncLists()
    dnc.add("a", entry("+1900*"))
    dnc.add("b", entry("+1900*"))
    dnc.add("b", entry("+19005550100"))
    dnc.remove("b", entry("+19005550100"))
    dnc.remove("a", entry("+1900*"))
    assert dnc.blocked("+19005550100") == "b"
    dnc.drop_list("b")
    assert dnc.blocked("+19005550100") is None
    assert dnc.names() == ["a"]


def test_removal_prunes_the_trie() -> None:
    dnc = DncLists()
    dnc.add("a", entry("+12125551234"))
    dnc.add("a", entry("+1212*"))
    dnc.remove("a", entry("+12125551234"))
    dnc.remove("a", entry("+1212*"))
    assert dnc._root.children == {}


def test_load_adds_good_entries_and_reports_bad_ones_by_line() -> None:
    dnc = DncLists()
    bad = dnc.load(
        "global",
        ["# opted out\n", "212 555 1234\n", "\n", "+1900*  # premium\n", "garbage\n", "12*\n"],
        default_region="US",
    )
    assert [str(e) for e in dnc.entries("global")] == ["+12125551234", "+1900*"]
    assert bad[0] == BadEntry(5, "unparseable number", "garbage")
    assert (bad[1].line, bad[1].raw) == (6, "12*")
    assert list(dnc.entries("missing")) == []
