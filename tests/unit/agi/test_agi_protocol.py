from __future__ import annotations

import pytest

from ccapp.errors import ProtocolError
from ccapp.telephony.agi.protocol import (
    AgiResult,
    Hangup,
    ReplyParser,
    parse_header_line,
    parse_request,
    parse_result,
    quote,
)
from tests.unit.agi.scripted import FIXTURES, fixture_request, load_transcript


def test_recorded_asterisk_22_header_becomes_a_typed_request() -> None:
    request = fixture_request()
    assert request.path == "ivr/first"
    assert request.network_script == "ivr/first"
    assert request.request == "agi://127.0.0.1:4573/ivr/first"
    assert request.channel.startswith("Local/200@from-callers-")
    assert request.uniqueid == "1795645318.7"
    assert request.context == "from-callers"
    assert request.extension == "200"
    assert request.priority == 2
    assert request.language == "en"
    assert request.channel_type == "Local"
    assert request.version.startswith("22.")
    # Asterisk writes "unknown" for absent caller ids
    assert request.callerid is None
    assert request.calleridname is None
    assert request.dnid is None
    assert request.accountcode == ""
    assert request.arguments == ()
    assert request.query == {}


def test_script_query_and_agi_arguments_are_parsed() -> None:
    request = parse_request(
        [
            "agi_network: yes",
            "agi_network_script: /ivr/sales/?lang=fr&vip=1&empty=",
            "agi_channel: PJSIP/1001-00000001",
            "agi_uniqueid: 1.1",
            "agi_callerid: 5551234",
            "agi_calleridname: Ada",
            "agi_arg_1: first arg",
            "agi_arg_2: ",
            "agi_arg_4: not contiguous",
            "",
            "agi_ignored_after_blank: x",
        ]
    )
    assert request.path == "ivr/sales"
    assert request.query == {"lang": "fr", "vip": "1", "empty": ""}
    assert request.arguments == ("first arg", "")
    assert request.callerid == "5551234"
    assert request.calleridname == "Ada"
    assert "ignored_after_blank" not in request.headers


@pytest.mark.parametrize(
    "line",
    ["GET / HTTP/1.1", "SSH-2.0-OpenSSH_9.6", "\x16\x03\x01\x02\x00", "agi_Bad: x", "agi_network yes", ""],
)
def test_non_agi_header_lines_are_protocol_errors(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_header_line(line)


def test_header_without_channel_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="agi_channel"):
        parse_request(["agi_network_script: x", "agi_uniqueid: 1", ""])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=0", AgiResult(200, "0")),
        ("200 result=-1 endpos=0", AgiResult(200, "-1", endpos=0)),
        ("200 result=0 endpos=8000", AgiResult(200, "0", endpos=8000)),
        ("200 result=1 (timeout) endpos=1234", AgiResult(200, "1", data="timeout", endpos=1234)),
        ("200 result= (timeout)", AgiResult(200, "", data="timeout")),
        ("200 result=12 (timeout)", AgiResult(200, "12", data="timeout")),
        (
            "200 result=1 (Local/200@from-callers-00000000;2)",
            AgiResult(200, "1", data="Local/200@from-callers-00000000;2"),
        ),
        ("200 result=1 (a (nested) value)", AgiResult(200, "1", data="a (nested) value")),
        ("200 result=1 ()", AgiResult(200, "1", data="")),
        ("200 result=0 (dtmf) endpos=99 foo=bar", AgiResult(200, "0", "dtmf", 99, {"foo": "bar"})),
        ("510 Invalid or unknown command", AgiResult(510, message="Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            AgiResult(511, message="Command Not Permitted on a dead channel or intercept routine"),
        ),
    ],
)
def test_result_lines_parse(line: str, expected: AgiResult) -> None:
    assert parse_result(line) == expected


def test_result_helpers() -> None:
    assert parse_result("200 result=49").result_int == 49
    assert parse_result("200 result= (timeout)").result_int is None
    assert parse_result("511 Command Not Permitted").dead_channel
    assert not parse_result("510 Invalid").ok


@pytest.mark.parametrize("line", ["HTTP/1.1 200 OK", "20 result=1", "200 foo=1", "200 result=1 (unclosed"])
def test_malformed_results_are_protocol_errors(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_result(line)


def test_reply_parser_gathers_a_multi_line_520_usage() -> None:
    exchanges = dict(load_transcript("session_dtmf_12hash.txt"))
    parser = ReplyParser()
    replies = [parser.feed(line) for line in exchanges["STREAM FILE"]]
    assert replies[:-1] == [None] * (len(replies) - 1)
    final = replies[-1]
    assert isinstance(final, AgiResult)
    assert final.code == 520
    assert final.message.startswith("Invalid command syntax.")
    assert "PLAYBACKSTATUS" in final.message


def test_reply_parser_reports_hangup_and_skips_100_trying() -> None:
    parser = ReplyParser()
    assert parser.feed("100 result=0 Trying...") is None
    assert parser.feed("HANGUP") == Hangup()
    assert parser.feed("200 result=1") == AgiResult(200, "1")


@pytest.mark.parametrize("name", ["session_dtmf_12hash.txt", "session_caller_hangs_up.txt"])
def test_every_recorded_command_gets_exactly_one_reply(name: str) -> None:
    parser = ReplyParser()
    for command, lines in load_transcript(name):
        replies = [reply for reply in map(parser.feed, lines) if reply is not None]
        results = [reply for reply in replies if isinstance(reply, AgiResult)]
        assert len(results) == 1, command


def test_recorded_hangup_comes_before_511() -> None:
    exchanges = load_transcript("session_caller_hangs_up.txt")
    lines = [line for _, replies in exchanges for line in replies]
    first_hangup = lines.index("HANGUP")
    assert lines[first_hangup - 1] == "200 result=-1"
    assert lines[first_hangup + 1].startswith("511 ")


def test_quote_escapes_what_asterisks_parser_unescapes() -> None:
    assert quote("") == '""'
    assert quote('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    with pytest.raises(ValueError, match="line break"):
        quote("a\nHANGUP")


def test_fixture_files_exist() -> None:
    assert {p.name for p in FIXTURES.iterdir()} >= {
        "header_asterisk22.txt",
        "session_dtmf_12hash.txt",
        "session_caller_hangs_up.txt",
    }
