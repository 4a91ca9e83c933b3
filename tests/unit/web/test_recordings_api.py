"""Recordings HTTP API over a fake store: roles, metadata, the audio file, path traversal attempts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from ccapp.errors import StorageError
from ccapp.web.auth import Principal, TokenTable
from ccapp.web.recordings_api import RecordingsSource, add_recording_routes

Client = TestClient[web.Request, web.Application]

LIVE = "0f6c2a4e-8d1b-4c3a-9e7f-1a2b3c4d5e6f"
DELETED = "deadbeef-0000-4000-8000-000000000001"
NO_FILE = "abcdef01"
AUDIO = b"RIFF\x24\x00\x00\x00WAVEfmt fake audio"


def metadata(recording_id: str, call_id: str, deleted_at: datetime | None = None) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "call_id": call_id,
        "queue": "sales",
        "agent_id": "1001",
        "started_at": datetime(2026, 11, 26, 5, 0, tzinfo=UTC),
        "duration_s": 61.5,
        "paused_spans": [(datetime(2026, 11, 26, 5, 0, 10, tzinfo=UTC), datetime(2026, 11, 26, 5, 0, 30))],
        "size_bytes": len(AUDIO),
        "deleted_at": deleted_at,
    }


class FakeRecordings:
    """A store under ``root``; records every question it is asked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.items = {
            LIVE: metadata(LIVE, "call-1"),
            DELETED: metadata(DELETED, "call-1", deleted_at=datetime(2026, 11, 25, tzinfo=UTC)),
            NO_FILE: metadata(NO_FILE, "call-2"),
        }
        (root / f"{LIVE}.wav").write_bytes(AUDIO)
        (root / f"{DELETED}.wav").write_bytes(AUDIO)
        self.asked: list[tuple[str, str | None]] = []
        self.fail: Exception | None = None

    async def get(self, recording_id: str) -> dict[str, Any] | None:
        self.asked.append(("get", recording_id))
        if self.fail is not None:
            raise self.fail
        return self.items.get(recording_id)

    async def list(self, call_id: str | None) -> list[dict[str, Any]]:
        self.asked.append(("list", call_id))
        if self.fail is not None:
            raise self.fail
        return [item for item in self.items.values() if call_id in (None, item["call_id"])]

    def file_path(self, recording_id: str) -> Path | None:
        self.asked.append(("file_path", recording_id))
        return self.root / f"{recording_id}.wav" if recording_id in self.items else None


TOKENS = {
    "admin": Principal("admin", "admin"),
    "supervisor": Principal("boss", "supervisor"),
    "read_only": Principal("wallboard", "read_only"),
    "agent": Principal("1001", "agent", "1001"),
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}-token"}


@pytest.fixture
def store(tmp_path: Path) -> FakeRecordings:
    root = tmp_path / "store"
    root.mkdir()
    (tmp_path / "passwd").write_text("root:x:0:0\n", encoding="utf-8")  # what a traversal would be after
    return FakeRecordings(root)


@pytest.fixture
async def client(store: FakeRecordings) -> AsyncIterator[Client]:
    app = web.Application()
    source: RecordingsSource = store
    add_recording_routes(app, source, TokenTable({f"{who}-token": p for who, p in TOKENS.items()}))
    async with TestClient(TestServer(app)) as client:
        yield client


ROUTES = ["/api/v1/recordings", f"/api/v1/recordings/{LIVE}", f"/api/v1/recordings/{LIVE}/file"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("who", ["admin", "supervisor"])
async def test_admins_and_supervisors_get_recordings(client: Client, path: str, who: str) -> None:
    resp = await client.get(path, headers=auth(who))
    assert resp.status == 200


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("who", ["agent", "read_only"])
async def test_agents_and_read_only_users_are_refused(
    client: Client, store: FakeRecordings, path: str, who: str
) -> None:
    resp = await client.get(path, headers=auth(who))
    assert resp.status == 403
    assert (await resp.json())["error"] == "forbidden"
    assert store.asked == []


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Bearer {LIVE}"])
async def test_recordings_want_a_good_token(
    client: Client, store: FakeRecordings, path: str, header: str | None
) -> None:
    resp = await client.get(path, headers={"Authorization": header} if header else {})
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    assert store.asked == []


async def test_the_list_shows_metadata_with_iso_utc_times(client: Client, store: FakeRecordings) -> None:
    resp = await client.get("/api/v1/recordings", params={"call_id": "call-1"}, headers=auth("supervisor"))
    body = await resp.json()
    assert store.asked == [("list", "call-1")]
    assert [item["recording_id"] for item in body["recordings"]] == [LIVE, DELETED]
    assert body["recordings"][0] == {
        "recording_id": LIVE,
        "call_id": "call-1",
        "queue": "sales",
        "agent_id": "1001",
        "started_at": "2026-11-26T05:00:00+00:00",
        "duration_s": 61.5,
        "paused_spans": [["2026-11-26T05:00:10+00:00", "2026-11-26T05:00:30+00:00"]],
        "size_bytes": len(AUDIO),
        "deleted_at": None,
    }
    assert body["recordings"][1]["deleted_at"] == "2026-11-25T00:00:00+00:00"


async def test_the_list_without_a_call_id_has_every_recording(client: Client, store: FakeRecordings) -> None:
    body = await (await client.get("/api/v1/recordings", headers=auth("admin"))).json()
    assert len(body["recordings"]) == 3
    assert store.asked == [("list", None)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("call_id=../x", "call_id: one call id"),
        ("call_id=", "call_id: one call id"),
        ("call_id=a&call_id=b", "call_id: one call id"),
        ("agent_id=1001", "agent_id: unknown parameter"),
    ],
)
async def test_a_bad_list_query_is_422(
    client: Client, store: FakeRecordings, query: str, message: str
) -> None:
    resp = await client.get(f"/api/v1/recordings?{query}", headers=auth("admin"))
    assert resp.status == 422
    assert await resp.json() == {"error": "invalid_query", "message": message + _tail(message)}
    assert store.asked == []


def _tail(message: str) -> str:
    return " (letters, digits, '.', '_', '-')" if message.startswith("call_id") else ""


async def test_one_recording_s_metadata(client: Client) -> None:
    resp = await client.get(f"/api/v1/recordings/{DELETED}", headers=auth("admin"))
    assert resp.status == 200
    body = await resp.json()
    assert body["recording"]["recording_id"] == DELETED
    assert body["recording"]["deleted_at"] == "2026-11-25T00:00:00+00:00"


async def test_the_file_is_a_wav_attachment(client: Client) -> None:
    resp = await client.get(f"/api/v1/recordings/{LIVE}/file", headers=auth("supervisor"))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "audio/wav"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{LIVE}.wav"'
    assert await resp.read() == AUDIO


async def test_a_deleted_recording_s_file_is_gone(client: Client, store: FakeRecordings) -> None:
    resp = await client.get(f"/api/v1/recordings/{DELETED}/file", headers=auth("admin"))
    assert resp.status == 410
    assert (await resp.json())["error"] == "recording_deleted"
    assert ("file_path", DELETED) not in store.asked


@pytest.mark.parametrize("suffix", ["", "/file"])
async def test_an_unknown_recording_is_404(client: Client, suffix: str) -> None:
    resp = await client.get(f"/api/v1/recordings/0123456789abcdef{suffix}", headers=auth("admin"))
    assert resp.status == 404
    assert await resp.json() == {"error": "recording_unknown", "message": "no such recording"}


async def test_a_recording_whose_file_is_missing_is_404(client: Client) -> None:
    resp = await client.get(f"/api/v1/recordings/{NO_FILE}/file", headers=auth("admin"))
    assert resp.status == 404
    assert (await resp.json())["error"] == "recording_file_missing"


@pytest.mark.parametrize(
    "raw_id",
    [
        "..%2f..%2fetc%2fpasswd",
        "..%2fpasswd",
        "%2e%2e%2fpasswd",
        "..",
        "%2e%2e",
        "%2fetc%2fpasswd",
        "%2F..%2F..%2Fpasswd",
        "..%5c..%5cpasswd",
        "C:%5cWindows%5cwin.ini",
        "%EF%BC%8E%EF%BC%8E%EF%BC%8Fpasswd",  # fullwidth ../
        "%EF%BD%81%EF%BD%82%EF%BD%83%EF%BD%84%EF%BD%85%EF%BD%86%EF%BC%91%EF%BC%92",  # fullwidth hex
        "%D9%A0%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7",  # Arabic-Indic digits
        f"{LIVE}%00",
        f"{LIVE}%0a",
        f"{LIVE}.wav",
        LIVE.upper(),
        "abc",
        "a" * 65,
        "~root",
    ],
)
async def test_a_malformed_recording_id_never_reaches_the_store(
    client: Client, store: FakeRecordings, raw_id: str
) -> None:
    url = URL(f"/api/v1/recordings/{raw_id}/file", encoded=True)
    resp = await client.get(url, headers=auth("admin"))
    assert resp.status == 404
    assert b"root:x" not in await resp.read()
    assert store.asked == []


@pytest.mark.parametrize(
    "raw_path", ["/api/v1/recordings/../../passwd/file", "/api/v1/recordings//etc/passwd/file"]
)
async def test_dot_segments_and_absolute_paths_find_no_route(
    client: Client, store: FakeRecordings, raw_path: str
) -> None:
    resp = await client.get(URL(raw_path, encoded=True), headers=auth("admin"))
    assert resp.status == 404
    assert b"root:x" not in await resp.read()
    assert store.asked == []


async def test_a_store_failure_is_500_without_details(client: Client, store: FakeRecordings) -> None:
    store.fail = StorageError("postgresql://u:pw@db/ccapp unreachable")
    resp = await client.get(f"/api/v1/recordings/{LIVE}", headers=auth("admin"))
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == "storage_error"
    assert "postgresql" not in body["message"]
