"""RecordingStore: safe paths, collecting Asterisk's finished file (shared or ARI), downloads."""

from __future__ import annotations

import stat
import struct
from pathlib import Path

import pytest

from ccapp.errors import TelephonyError
from ccapp.recording.store import RecordingMissing, RecordingStore, wav_complete

CALL_ID = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
NAME = f"ccapp/{CALL_ID}"
ASTERISK_DIR = "/var/spool/asterisk/recording"


def wav(samples: int, *, closed: bool = True) -> bytes:
    """An 8 kHz 16-bit mono WAV like Asterisk's; open files still have zero sizes in the header."""
    data = b"\x01\x00" * samples
    riff, size = (36 + len(data), len(data)) if closed else (0, 0)
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16)
    return struct.pack("<4sI4s", b"RIFF", riff, b"WAVE") + fmt + struct.pack("<4sI", b"data", size) + data


class FakeRecordings:
    """ARI's stored recordings: answers 404, then the given bodies in turn."""

    def __init__(self, *bodies: bytes | None) -> None:
        self.bodies = list(bodies)
        self.fetched: list[str] = []
        self.deleted: list[str] = []

    async def stored_file(self, name: str) -> bytes:
        self.fetched.append(name)
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        if body is None:
            error = TelephonyError("ARI GET /recordings/stored/… failed: 404 Recording not found")
            error.status = 404  # type: ignore[attr-defined]  # like AriRequestError
            raise error
        return body

    async def stored_delete(self, name: str) -> None:
        self.deleted.append(name)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Asterisk's file system as ccapp sees it (a chroot in the test bed)."""
    (tmp_path / "asterisk" / ASTERISK_DIR.lstrip("/") / "ccapp").mkdir(parents=True)
    return tmp_path / "asterisk"


def store_at(tmp_path: Path, root: Path, **kwargs: object) -> RecordingStore:
    return RecordingStore(tmp_path / "store", ASTERISK_DIR, "shared", asterisk_root=root, **kwargs)  # type: ignore[arg-type]


def asterisk_file(root: Path) -> Path:
    return root / ASTERISK_DIR.lstrip("/") / f"{NAME}.wav"


# -- paths -------------------------------------------------------------------------------------------


def test_a_call_id_maps_to_one_wav_in_the_store(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, ASTERISK_DIR, "shared")
    assert store.path_for(CALL_ID) == tmp_path.resolve() / f"{CALL_ID}.wav"
    assert store.path_for("123e4567-e89b-12d3-a456-426614174000").name.startswith("123e4567-")


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "..",
        "abc",
        "ABCDEF0123",
        "/etc/passwd",
        "0123456789abcdef/..",
        "0123456789abcdeg",
        "0123456789abcdef\x00",
        "a" * 65,
        "",
        "0123456789abcdef.wav",
    ],
)
def test_anything_but_a_call_id_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="not a call id"):
        RecordingStore(tmp_path, ASTERISK_DIR, "shared").path_for(bad)


def test_a_symlink_planted_in_the_store_cannot_lead_outside(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "store", ASTERISK_DIR, "shared")
    (tmp_path / "store").mkdir()
    (tmp_path / "secret").write_text("x")
    (tmp_path / "store" / f"{CALL_ID}.wav").symlink_to(tmp_path / "secret")
    with pytest.raises(ValueError, match="leaves the store"):
        store.path_for(CALL_ID)


def test_asterisks_file_is_found_under_the_shared_root(tmp_path: Path, root: Path) -> None:
    assert store_at(tmp_path, root).asterisk_path(NAME) == asterisk_file(root)
    plain = RecordingStore(tmp_path, ASTERISK_DIR, "shared")
    assert plain.asterisk_path(NAME) == Path(f"{ASTERISK_DIR}/{NAME}.wav")
    with pytest.raises(ValueError, match="not a safe relative name"):
        plain.asterisk_path("../../etc/shadow")


def test_asterisk_dir_must_be_absolute(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absolute"):
        RecordingStore(tmp_path, "recording", "shared")


def test_a_wav_is_complete_only_once_its_writer_filled_in_the_sizes() -> None:
    assert wav_complete(wav(800)[:44], len(wav(800)))
    assert not wav_complete(wav(800, closed=False)[:44], len(wav(800)))
    assert not wav_complete(wav(0)[:44], 44)  # empty: open or closed, nothing to keep yet
    assert not wav_complete(b"", 0)
    assert not wav_complete(b"RIFX" + wav(8)[4:44], len(wav(8)))


# -- collect (shared) --------------------------------------------------------------------------------


async def test_collect_moves_the_finished_file_into_the_store(tmp_path: Path, root: Path) -> None:
    asterisk_file(root).write_bytes(wav(8000))
    path, size = await store_at(tmp_path, root).collect(CALL_ID, NAME)
    assert path == (tmp_path / "store").resolve() / f"{CALL_ID}.wav"
    assert size == 44 + 16000 == path.stat().st_size
    assert path.read_bytes() == wav(8000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not asterisk_file(root).exists()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


async def test_collect_waits_until_asterisk_closes_the_file(tmp_path: Path, root: Path) -> None:
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        if len(waits) == 1:
            asterisk_file(root).write_bytes(wav(400, closed=False))  # still being written
        elif len(waits) == 3:
            asterisk_file(root).write_bytes(wav(800))  # closed after the hang-up

    store = store_at(tmp_path, root, retry_s=0.25, sleep=sleep)
    _, size = await store.collect(CALL_ID, NAME)
    assert size == 44 + 1600
    assert waits == [0.25, 0.5, 1.0]  # back-off, capped at 1 s


async def test_a_file_that_never_finishes_is_missing_after_the_wait(tmp_path: Path, root: Path) -> None:
    asterisk_file(root).write_bytes(wav(400, closed=False))
    store = store_at(tmp_path, root, wait_s=0.05, retry_s=0.01)
    with pytest.raises(RecordingMissing, match="did not appear finished"):
        await store.collect(CALL_ID, NAME)
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


async def test_a_source_ccapp_may_not_delete_is_left_and_the_copy_kept(
    tmp_path: Path, root: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = asterisk_file(root)
    source.write_bytes(wav(80))
    unlink = Path.unlink

    def refuse_the_source(self: Path, missing_ok: bool = False) -> None:
        # what a read-only Asterisk directory does (a permission test would not hold as root)
        if self == source:
            raise PermissionError(13, "Permission denied", str(self))
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse_the_source)
    path, _ = await store_at(tmp_path, root).collect(CALL_ID, NAME)
    assert path.exists() and source.exists()
    assert "Asterisk's copy stays" in caplog.text


# -- collect (ARI) -----------------------------------------------------------------------------------


async def test_over_ari_the_store_fetches_when_finished_then_deletes_asterisks_copy(tmp_path: Path) -> None:
    ari = FakeRecordings(None, wav(400, closed=False), wav(800))
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    store = RecordingStore(tmp_path / "store", ASTERISK_DIR, "ari", ari, sleep=sleep)
    path, size = await store.collect(CALL_ID, NAME)
    assert path.read_bytes() == wav(800)
    assert size == 44 + 1600
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert ari.fetched == [NAME] * 3
    assert ari.deleted == [NAME]
    assert len(delays) == 2


async def test_over_ari_other_errors_are_raised_and_nothing_is_stored(tmp_path: Path) -> None:
    class Broken(FakeRecordings):
        async def stored_file(self, name: str) -> bytes:
            raise TelephonyError("ARI is down")

    store = RecordingStore(tmp_path / "store", ASTERISK_DIR, "ari", Broken(b""))
    with pytest.raises(TelephonyError, match="ARI is down"):
        await store.collect(CALL_ID, NAME)


async def test_over_ari_a_recording_that_never_comes_is_missing(tmp_path: Path) -> None:
    store = RecordingStore(
        tmp_path / "s", ASTERISK_DIR, "ari", FakeRecordings(None), wait_s=0.03, retry_s=0.01
    )
    with pytest.raises(RecordingMissing):
        await store.collect(CALL_ID, NAME)


async def test_ari_fetch_without_the_ari_api_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TelephonyError, match="needs the ARI"):
        await RecordingStore(tmp_path, ASTERISK_DIR, "ari").collect(CALL_ID, NAME)


# -- downloads and deletes ---------------------------------------------------------------------------


async def test_a_download_is_found_by_call_id_or_by_the_saved_path(tmp_path: Path, root: Path) -> None:
    asterisk_file(root).write_bytes(wav(80))
    store = store_at(tmp_path, root)
    path, _ = await store.collect(CALL_ID, NAME)
    assert store.open_for_download(CALL_ID) == path
    assert store.open_for_download(path) == path
    assert store.open_for_download(str(path)) == path
    assert store.open_for_download(f"{CALL_ID}.wav") == path


@pytest.mark.parametrize(
    "outside",
    [
        "/etc/passwd",
        "../store/" + CALL_ID + ".wav",
        "sub/" + CALL_ID + ".wav",
        "/tmp/" + CALL_ID + ".wav",
        "x.txt",
    ],
)
def test_a_download_never_leaves_the_store(tmp_path: Path, outside: str) -> None:
    store = RecordingStore(tmp_path / "store", ASTERISK_DIR, "shared")
    with pytest.raises(ValueError, match=r"not a call id|outside the store|not a recording file"):
        store.open_for_download(outside)


def test_a_recording_not_in_the_store_is_missing(tmp_path: Path) -> None:
    with pytest.raises(RecordingMissing):
        RecordingStore(tmp_path, ASTERISK_DIR, "shared").open_for_download(CALL_ID)


def test_delete_removes_the_file_and_a_missing_one_is_fine(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, ASTERISK_DIR, "shared")
    store.path_for(CALL_ID).write_bytes(wav(8))
    assert store.delete(CALL_ID)
    assert not store.path_for(CALL_ID).exists()
    assert not store.delete(CALL_ID)
