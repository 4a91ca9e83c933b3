"""`RecordingStore`: ccapp's own directory of finished call recordings, one ``<call id>.wav`` each.

Asterisk writes a recording under its recording directory (``<asterisk_dir>/ccapp/<call id>.wav``)
and closes it after the recording stops or the caller hangs up. `RecordingStore.collect` waits for
the finished file and copies it into the store — straight from the file system (``fetch: shared``:
same host or a shared volume) or over ARI's stored recordings (``fetch: ari``) — then deletes
Asterisk's copy. Downloads are served from the store only, by call id or by the path ccapp saved
itself; a path never comes from an API client, and no input can name a file outside the store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from ccapp.errors import CcappError, TelephonyError

log = logging.getLogger(__name__)

#: call ids as ccapp makes them (uuid4 hex), with room for dashed uuids and other hex ids
CALL_ID = re.compile(r"[0-9a-f-]{8,64}")
# Asterisk-side recording names: relative, safe path segments (see AmiCallRecorder)
_NAME = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
_WAV_HEADER = 44
FILE_MODE = 0o640

Fetch = Literal["shared", "ari"]
Sleep = Callable[[float], Awaitable[None]]


class RecordingMissing(CcappError):
    """A recording is not in the store, or Asterisk's file never appeared (finished) in time."""

    error_id = "recording_file_missing"


class StoredRecordings(Protocol):
    """The part of ARI's recordings API the store uses (`ccapp.telephony.ari.resources.RecordingsApi`)."""

    async def stored_file(self, name: str) -> bytes: ...

    async def stored_delete(self, name: str) -> None: ...


def wav_complete(header: bytes, size: int) -> bool:
    """Whether a WAV file of ``size`` bytes starting with ``header`` has been closed by its writer.

    Asterisk writes the RIFF and data sizes as 0 when it opens the file and fills them in when it
    closes it, so sizes that match the file mean the recording is finished. An empty recording
    (no audio yet) looks the same open or closed and counts as not finished.
    """
    if size <= _WAV_HEADER or len(header) < _WAV_HEADER or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return False
    return int.from_bytes(header[4:8], "little") == size - 8


class RecordingStore:
    """Finished recordings under ``dir``, named ``<call id>.wav``, mode 0640."""

    def __init__(
        self,
        dir: Path,
        asterisk_dir: str,
        fetch: Fetch,
        ari_recordings: StoredRecordings | None = None,
        *,
        asterisk_root: Path | None = None,
        wait_s: float = 10.0,
        retry_s: float = 0.25,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``asterisk_root``: where Asterisk's ``/`` is on ccapp's file system (a chroot or a
        mounted volume), for ``fetch: shared``. ``wait_s``: how long `collect` waits for
        Asterisk to finish the file, checking every ``retry_s`` (doubling up to 1 s)."""
        if not PurePosixPath(asterisk_dir).is_absolute():
            raise ValueError(f"asterisk_dir must be an absolute path, not {asterisk_dir!r}")
        self.dir = Path(dir)
        self.fetch = fetch
        self._asterisk_dir = PurePosixPath(asterisk_dir)
        self._asterisk_root = asterisk_root
        self._ari = ari_recordings
        self._wait_s = wait_s
        self._retry_s = retry_s
        self._sleep = sleep

    # -- paths ---------------------------------------------------------------------------------------

    def path_for(self, call_id: str) -> Path:
        """Where the recording of ``call_id`` lives in the store. Raises `ValueError` for anything
        that is not a call id, so no input reaches outside the store."""
        if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
            raise ValueError(f"not a call id: {call_id!r}")
        base = self.dir.resolve()
        path = (base / f"{call_id}.wav").resolve()
        if path.parent != base:  # a symlink planted in the store must not lead elsewhere
            raise ValueError(f"recording path for {call_id!r} leaves the store")
        return path

    def open_for_download(self, recording: str | Path) -> Path:
        """The file to send for a recording: a call id, or the path `collect` returned (as saved
        in the database). Raises `ValueError` for anything outside the store and
        `RecordingMissing` when the file is not there (purged, or never collected)."""
        if isinstance(recording, Path) or "/" in recording or recording.endswith(".wav"):
            candidate = Path(recording)
            if candidate.suffix != ".wav":
                raise ValueError(f"not a recording file: {recording!s}")
            path = self.path_for(candidate.stem)
            inside = (
                candidate.resolve() == path if candidate.is_absolute() else candidate.name == str(candidate)
            )
            if not inside:
                raise ValueError(f"recording path {recording!s} is outside the store")
        else:
            path = self.path_for(recording)
        if not path.is_file():
            raise RecordingMissing(f"recording {path.stem} is not in the store")
        return path

    def asterisk_path(self, name: str) -> Path:
        """Where ccapp sees Asterisk's file for recording ``name`` (``fetch: shared``)."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"recording name {name!r} is not a safe relative name")
        relative = (self._asterisk_dir / f"{name}.wav").relative_to("/")
        return Path(self._asterisk_root or "/") / relative

    # -- collect -------------------------------------------------------------------------------------

    async def collect(self, call_id: str, name: str) -> tuple[Path, int]:
        """Move Asterisk's finished recording ``name`` (relative, no extension: ``ccapp/<call id>``)
        into the store as the recording of ``call_id``; its path and size in bytes.

        Waits up to ``wait_s`` for Asterisk to close the file (it does so just after the hang-up).
        Raises `RecordingMissing` when it never appears finished, `TelephonyError` when ARI fails.
        """
        target = self.path_for(call_id)
        if self.fetch == "ari":
            if self._ari is None:
                raise TelephonyError("recording fetch 'ari' needs the ARI recordings API")
            data = await self._fetch_over_ari(name)
            size = await asyncio.to_thread(self._write, target, data)
            await self._delete_over_ari(name)
        else:
            source = self.asterisk_path(name)
            await self._wait_finished(source)
            size = await asyncio.to_thread(self._copy, source, target)
            try:
                await asyncio.to_thread(source.unlink)
            except OSError as exc:  # the copy is safe; Asterisk's directory may not be ours to clean
                log.warning("recording %s stored, but Asterisk's copy stays: %s", call_id, exc)
        log.info("recording %s stored at %s (%d bytes)", call_id, target, size)
        return target, size

    async def _wait_finished(self, source: Path) -> None:
        deadline = time.monotonic() + self._wait_s
        delay = self._retry_s
        while True:
            if await asyncio.to_thread(_file_complete, source):
                return
            if time.monotonic() >= deadline:
                raise RecordingMissing(
                    f"recording {source} did not appear finished within {self._wait_s:g} s"
                )
            await self._sleep(delay)  # bounded back-off: Asterisk sends no "file closed" event
            delay = min(delay * 2, 1.0)

    async def _fetch_over_ari(self, name: str) -> bytes:
        assert self._ari is not None  # checked in collect
        deadline = time.monotonic() + self._wait_s
        delay = self._retry_s
        while True:
            try:
                data = await self._ari.stored_file(name)
            except TelephonyError as exc:
                if getattr(exc, "status", None) != 404:
                    raise
                data = b""
            if wav_complete(data[:_WAV_HEADER], len(data)):
                return data
            if time.monotonic() >= deadline:
                raise RecordingMissing(f"recording {name} was not finished on ARI within {self._wait_s:g} s")
            await self._sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _delete_over_ari(self, name: str) -> None:
        assert self._ari is not None
        try:
            await self._ari.stored_delete(name)
        except TelephonyError as exc:
            log.warning("recording %s stored, but Asterisk's copy stays: %s", name, exc)

    def _copy(self, source: Path, target: Path) -> int:
        with source.open("rb") as src:
            return self._write_from(target, lambda out: _pump(src, out))

    def _write(self, target: Path, data: bytes) -> int:
        return self._write_from(target, lambda out: out.write(data))

    def _write_from(self, target: Path, fill: Callable[[_Writable], object]) -> int:
        """Write ``target`` atomically: a hidden temporary file in the same directory, flushed
        to disk, then renamed over the name, so a reader never sees half a recording."""
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, FILE_MODE)  # exactly 0640, whatever ccapp's umask is
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target.stat().st_size

    # -- delete --------------------------------------------------------------------------------------

    def delete(self, recording: str | Path) -> bool:
        """Delete a stored recording (call id or stored path); False when it was already gone."""
        try:
            path = self.open_for_download(recording)
        except RecordingMissing:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _pump(src: _Readable, out: _Writable) -> None:
    while chunk := src.read(1 << 20):
        out.write(chunk)


def _file_complete(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            header = f.read(_WAV_HEADER)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return False
    return wav_complete(header, size)
