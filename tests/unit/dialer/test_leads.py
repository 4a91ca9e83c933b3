"""Lead import: normalisation, zones, duplicates, rejections with line numbers, header errors, volume."""

from __future__ import annotations

import io
import time

import pytest

from ccapp.dialer.leads import (
    ColumnMapping,
    ImportResult,
    LeadFileError,
    MissingColumnsError,
    parse_leads,
)

MAPPING = ColumnMapping(phone="phone", time_zone="tz", name="name", external_id="id", extra=("note",))


def parse(text: str, mapping: ColumnMapping = MAPPING, default_zone: str = "America/Chicago") -> ImportResult:
    return parse_leads(io.StringIO(text), mapping, default_region="US", default_zone=default_zone)


def test_good_rows_become_leads_with_e164_numbers_and_mapped_fields() -> None:
    result = parse(
        'id,name,phone,tz,note\nA1,Ann,(212) 555-1234,America/New_York,vip\nA2,Bob,"+44 20 7946 0000",,\n'
    )
    assert result.rejected == []
    ann, bob = result.leads
    assert (ann.line, ann.phone, ann.name, ann.external_id, dict(ann.extra)) == (
        2,
        "+12125551234",
        "Ann",
        "A1",
        {"note": "vip"},
    )
    assert (bob.line, bob.phone, bob.extra["note"]) == (3, "+442079460000", "")


def test_zone_from_the_column_wins_over_the_number() -> None:
    lead = parse("id,name,phone,tz,note\n1,a,2125551234,America/Los_Angeles,\n").leads[0]
    assert (lead.zone, lead.zone_source, lead.zone_guessed) == ("America/Los_Angeles", "column", False)


def test_zone_comes_from_the_number_when_the_column_is_empty() -> None:
    result = parse("id,name,phone,tz,note\n1,a,2125551234,,\n2,b,+33142685300,,\n")
    ny, paris = result.leads
    assert (ny.zone, ny.zone_source, ny.zone_guessed) == ("America/New_York", "number", True)
    assert (paris.zone, paris.zone_source) == ("Europe/Paris", "number")
    assert result.defaulted == []


def test_a_number_spanning_several_zones_takes_the_campaign_default_and_is_reported() -> None:
    # Russian mobiles map to many zones: no single guess
    result = parse("id,name,phone,tz,note\n1,a,+79161234567,,\n", default_zone="Europe/Berlin")
    lead = result.leads[0]
    assert (lead.zone, lead.zone_source, lead.zone_guessed) == ("Europe/Berlin", "default", False)
    assert result.defaulted == [lead]


def test_zone_comes_from_the_number_when_the_file_has_no_zone_column() -> None:
    result = parse("phone\n2125551234\n", mapping=ColumnMapping(phone="phone"))
    assert [(lead.zone, lead.name, lead.external_id) for lead in result.leads] == [
        ("America/New_York", None, None)
    ]


def test_every_bad_row_is_rejected_with_its_line_and_reason() -> None:
    result = parse(
        "id,name,phone,tz,note\n"
        "1,ok,2125551234,,\n"  # line 2
        "2,short,2125551235\n"  # line 3: tz and note missing
        "3,garbage,call me,,\n"  # line 4
        "4,invalid,+1 700 555 0100,,\n"  # line 5: not a valid number
        "5,zone,2125551236,Mars/Olympus,\n"  # line 6
        "6,dup,+1 212-555-1234,,\n"  # line 7: same number as line 2
        "7,empty,,,\n"  # line 8
    )
    assert [lead.line for lead in result.leads] == [2]
    reasons = {r.line: r.reason for r in result.rejected}
    assert reasons == {
        3: "missing column 'tz'",
        4: "unparseable number 'call me'",
        5: "invalid number '+1 700 555 0100'",
        6: "unknown time zone 'Mars/Olympus'",
        7: "duplicate of line 2 (+12125551234)",
        8: "empty phone number (column 'phone')",
    }
    short = {"id": "2", "name": "short", "phone": "2125551235", "tz": None, "note": None}
    assert result.rejected[0].raw == short
    assert result.rows == 7


def test_line_numbers_count_blank_lines_and_quoted_newlines() -> None:
    result = parse(
        "id,name,phone,tz,note\n"
        "\n"  # line 2
        '1,"two\nlines",2125551234,,\n'  # lines 3-4
        "2,b,bad,,\n"  # line 5
    )
    assert [lead.line for lead in result.leads] == [3]
    assert [r.line for r in result.rejected] == [5]


def test_a_header_without_the_mapped_columns_is_refused_naming_them() -> None:
    with pytest.raises(MissingColumnsError) as info:
        parse("id,name,telephone,note\n1,a,2125551234,x\n")
    assert info.value.missing == ["phone", "tz"]
    assert "phone, tz" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(LeadFileError, match="empty"):
        parse("\n\n")


def test_the_header_may_carry_a_byte_order_mark_and_spaces() -> None:
    result = parse("\ufeffphone , tz\n2125551234,\n", mapping=ColumnMapping(phone="phone", time_zone="tz"))
    assert [lead.phone for lead in result.leads] == ["+12125551234"]


def test_an_unknown_default_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        parse("phone\n2125551234\n", mapping=ColumnMapping(phone="phone"), default_zone="Nowhere/Else")


def test_rows_already_keyed_by_column_are_numbered_as_if_after_a_header() -> None:
    rows = [{"phone": "2125551234"}, {"phone": "nope"}, {"other": "x"}]
    result = parse_leads(rows, ColumnMapping(phone="phone"), default_region="US", default_zone="UTC")
    assert [lead.line for lead in result.leads] == [2]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "unparseable number 'nope'"),
        (4, "missing column 'phone'"),
    ]


def test_a_100k_row_file_imports_in_reasonable_time() -> None:
    lines = ["id,name,phone,tz,note"]
    for i in range(100_000):
        area = (212, 415, 312, 617)[i % 4]
        zone = "America/Denver" if i % 10 == 0 else ""
        lines.append(f"{i},Lead {i},({area}) {200 + i // 10000:03d}-{i % 10000:04d},{zone},n{i}")
    lines.append("dup,Dup,(212) 200-0000,,")
    text = "\n".join(lines) + "\n"
    started = time.perf_counter()
    result = parse(text)
    elapsed = time.perf_counter() - started
    print(f"\n100,000-row lead import: {elapsed:.2f} s")
    assert len(result.leads) == 100_000
    assert [(r.line, r.reason) for r in result.rejected] == [(100_002, "duplicate of line 2 (+12122000000)")]
    assert elapsed < 20
