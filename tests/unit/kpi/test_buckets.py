"""Local intervals as whole-second arithmetic: DST days, offsets kept on repeated hours, weeks, months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccapp.kpi.buckets import (
    SQL_SIZE,
    Label,
    Piece,
    bucket_of,
    edges,
    epoch_s,
    epoch_us,
    from_epoch,
    label,
    offset_at,
    zone_pieces,
)
from ccapp.kpi.definitions import Interval


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_epoch_seconds_are_floored_and_microseconds_exact() -> None:
    t = utc(2026, 3, 29, 21, 59, 59, 999999)

    assert epoch_s(t) == epoch_s(utc(2026, 3, 29, 21, 59, 59))
    assert epoch_us(t) == epoch_s(t) * 1_000_000 + 999999
    assert from_epoch(epoch_s(t)) == utc(2026, 3, 29, 21, 59, 59)


def test_a_zone_has_one_piece_per_offset_with_the_exact_transition_second() -> None:
    pieces = zone_pieces("Europe/Paris", utc(2026, 3, 27), utc(2026, 4, 2))

    assert pieces == [
        Piece(epoch_s(utc(2026, 3, 27)), 3600),
        Piece(epoch_s(utc(2026, 3, 29, 1)), 7200),
    ]
    assert offset_at(pieces, epoch_s(utc(2026, 3, 29, 0, 59, 59))) == 3600
    assert offset_at(pieces, epoch_s(utc(2026, 3, 29, 1))) == 7200


def test_utc_has_a_single_piece() -> None:
    assert zone_pieces("UTC", utc(2026, 1, 1), utc(2027, 1, 1)) == [Piece(epoch_s(utc(2026, 1, 1)), 0)]


def test_the_spring_forward_day_in_paris_has_23_hours_and_no_2_am() -> None:
    hours = edges(Interval.HOUR, "Europe/Paris", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))

    isos = [lab.iso for _, lab in hours]
    assert len(isos) == 23
    assert isos[:4] == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]
    assert not any("T02:" in iso for iso in isos)
    assert [start for start, _ in hours] == [epoch_s(utc(2026, 3, 28, 23)) + 3600 * i for i in range(23)]


def test_the_fall_back_day_in_new_york_has_25_hours_and_two_1_am_hours() -> None:
    hours = edges(Interval.HOUR, "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))

    isos = [lab.iso for _, lab in hours]
    assert len(isos) == 25
    assert isos[1:3] == ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"]


def test_a_dst_day_is_one_interval_keyed_by_its_local_midnight() -> None:
    days = edges(Interval.DAY, "America/New_York", utc(2026, 10, 31, 4), utc(2026, 11, 3, 5))

    assert [(from_epoch(s), lab.iso) for s, lab in days] == [
        (utc(2026, 10, 31, 4), "2026-10-31T00:00:00-04:00"),
        (utc(2026, 11, 1, 4), "2026-11-01T00:00:00-04:00"),
        (utc(2026, 11, 2, 5), "2026-11-02T00:00:00-05:00"),
    ]


def test_weeks_start_on_monday_and_months_on_the_first_in_local_time() -> None:
    paris = zone_pieces("Europe/Paris", utc(2026, 3, 1), utc(2026, 4, 30))
    sunday_late = epoch_s(utc(2026, 3, 29, 21, 30))  # Sunday 23:30 in Paris
    monday_early = epoch_s(utc(2026, 3, 29, 22, 30))  # Monday 00:30 in Paris

    assert bucket_of(Interval.WEEK, "Europe/Paris", paris, sunday_late).iso == "2026-03-23T00:00:00+01:00"
    assert bucket_of(Interval.WEEK, "Europe/Paris", paris, monday_early).iso == "2026-03-30T00:00:00+02:00"
    assert bucket_of(Interval.MONTH, "Europe/Paris", paris, epoch_s(utc(2026, 3, 31, 22, 30))).iso == (
        "2026-04-01T00:00:00+02:00"
    )


def test_quarter_hours_follow_a_half_hour_offset() -> None:
    pieces = zone_pieces("Asia/Kolkata", utc(2026, 1, 1), utc(2026, 1, 2))
    at = epoch_s(utc(2026, 1, 1, 4, 40))  # 10:10 in India

    assert bucket_of(Interval.MIN15, "Asia/Kolkata", pieces, at) == Label(
        epoch_s(utc(2026, 1, 1, 4, 30)), "2026-01-01T10:00:00+05:30"
    )
    assert bucket_of(Interval.HOUR, "Asia/Kolkata", pieces, at).iso == "2026-01-01T10:00:00+05:30"


def test_labels_sort_by_their_utc_start() -> None:
    size = SQL_SIZE[Interval.HOUR]
    first = label(
        Interval.HOUR, "America/New_York", (epoch_s(utc(2026, 11, 1, 5)) - 4 * 3600) // size, -4 * 3600
    )
    second = label(
        Interval.HOUR, "America/New_York", (epoch_s(utc(2026, 11, 1, 6)) - 5 * 3600) // size, -5 * 3600
    )

    assert first.iso[:19] == second.iso[:19] == "2026-11-01T01:00:00"
    assert first < second
    assert second.start_s - first.start_s == 3600


def test_a_period_within_one_interval_has_one_edge_at_its_start() -> None:
    assert edges(Interval.MONTH, "UTC", utc(2026, 5, 10, 12), utc(2026, 5, 10, 13)) == [
        (epoch_s(utc(2026, 5, 10, 12)), Label(epoch_s(utc(2026, 5, 1)), "2026-05-01T00:00:00+00:00"))
    ]


def test_edges_over_a_quarter_hour_split_every_15_minutes() -> None:
    quarter = edges(Interval.MIN15, "UTC", utc(2026, 5, 10, 12, 5), utc(2026, 5, 10, 12, 50))

    assert [from_epoch(s) for s, _ in quarter] == [
        utc(2026, 5, 10, 12, 5),
        utc(2026, 5, 10, 12, 15),
        utc(2026, 5, 10, 12, 30),
        utc(2026, 5, 10, 12, 45),
    ]
    assert quarter[0][1].iso == "2026-05-10T12:00:00+00:00"
    assert from_epoch(quarter[1][0]) - from_epoch(quarter[0][0]) == timedelta(minutes=10)
