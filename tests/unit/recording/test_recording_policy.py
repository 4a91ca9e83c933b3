"""Recording policy: who is recorded, and where a recording holds silence."""

from __future__ import annotations

import pytest

from ccapp.recording.policy import PausedSpans, should_record


@pytest.mark.parametrize(
    ("policy", "requested", "expected"),
    [
        ("all", False, True),
        ("all", True, True),
        ("none", True, False),
        ("none", False, False),
        ("on_demand", False, False),
        ("on_demand", True, True),
    ],
)
def test_policy_decides_whether_a_call_is_recorded(policy: str, requested: bool, expected: bool) -> None:
    assert should_record(policy, requested) is expected  # type: ignore[arg-type]


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown recording policy"):
        should_record("sometimes", True)  # type: ignore[arg-type]


def test_pauses_become_offsets_from_the_recording_start() -> None:
    spans = PausedSpans(started_at=100.0)
    assert spans.pause(110.0)
    assert spans.resume(112.5)
    assert spans.pause(130.0)
    assert spans.resume(131.0)
    report = spans.close(140.0)
    assert report.spans == [[10.0, 12.5], [30.0, 31.0]]
    assert report.paused_s == 3.5
    assert report.duration_s == 40.0


def test_a_second_pause_or_resume_in_a_row_changes_nothing() -> None:
    spans = PausedSpans(started_at=0.0)
    assert spans.pause(5.0)
    assert not spans.pause(6.0)  # the API pauses during auto-paused sensitive input
    assert spans.resume(8.0)
    assert not spans.resume(9.0)
    assert spans.close(10.0).spans == [[5.0, 8.0]]


def test_a_pause_still_open_at_the_end_ends_with_the_recording() -> None:
    spans = PausedSpans(started_at=50.0)
    spans.pause(55.0)
    assert spans.paused
    assert spans.paused_s(57.0) == 2.0
    report = spans.close(60.0)
    assert report.spans == [[5.0, 10.0]]
    assert report.paused_s == 5.0


def test_after_close_pauses_are_ignored_and_the_report_stays() -> None:
    spans = PausedSpans(started_at=0.0)
    first = spans.close(3.0)
    assert spans.closed
    assert not spans.pause(4.0)
    assert not spans.resume(5.0)
    assert spans.close(9.0) is first


def test_times_before_the_start_or_going_backwards_make_no_negative_span() -> None:
    spans = PausedSpans(started_at=10.0)
    spans.pause(9.0)  # a timestamp read just before the start
    spans.resume(12.0)
    spans.pause(13.0)
    spans.resume(12.5)  # stale
    report = spans.close(20.0)
    assert report.spans == [[0.0, 2.0]]
    assert report.paused_s == 2.0


def test_milliseconds_are_kept_and_float_noise_is_not() -> None:
    spans = PausedSpans(started_at=0.1)
    spans.pause(0.3)
    spans.resume(0.7)
    report = spans.close(1.0)
    assert report.spans == [[0.2, 0.6]]
    assert report.paused_s == 0.4
    assert report.duration_s == 0.9
