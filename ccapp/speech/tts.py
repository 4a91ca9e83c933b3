"""`EspeakPromptStore`: the `PromptStore` port on espeak-ng, cached as 8 kHz WAV files.

A ``text:`` prompt is synthesised once: espeak-ng writes a 22 kHz WAV, sox resamples it to what
Asterisk's ``wav`` format is (8 kHz, 16-bit, mono; anything else fails or is played at the wrong
speed), and the file lands in ``<cache_dir>/<hash>.wav``, named by a hash of everything that
changes the audio (engine, voice, speed, text). Later renders only check the file exists.

Two ways for Asterisk to get the file (docs/speech.md has the measurements):

* shared directory (the default): ``cache_dir`` is ``<Asterisk sounds dir>/ccapp/tts`` on a disk
  both processes see, and the media name is the sound ``ccapp/tts/<hash>``;
* HTTP: ``http_base_url`` set (e.g. ``http://127.0.0.1:8080/media/tts``); the name is
  ``sound:http://…/<hash>.wav``, fetched and cached by Asterisk's res_http_media_cache from
  ccapp's web server (`ccapp.speech.http.tts_routes` serves the cache directory).

Concurrent renders of one text (two calls reaching a node at once, or two ccapp processes) never
see a half-written file: each writes its own temporary file and renames it into place, which is
atomic on one filesystem; in one process the second render simply awaits the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ccapp.ivr.sounds import SoundDirs
from ccapp.speech.errors import SpeechError

log = logging.getLogger("ccapp.speech.tts")

ENGINE = "espeak-ng"
#: a cache file name: what `tts_routes` accepts too
HASH_RE = re.compile(r"^[0-9a-f]{32}$")


def prompt_hash(text: str, *, voice: str, speed: int, engine: str = ENGINE) -> str:
    """The cache key of a rendering: 32 hex digits of SHA-256 over every input of the audio."""
    key = json.dumps([engine, voice, speed, text], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class EspeakPromptStore:
    """Renders ``text:`` prompts with espeak-ng; checks sounds on disk for tree validation.

    ``sound_dirs``: Asterisk's sound directories as this host sees them (``exists`` looks there,
    also under ``languages`` subfolders). ``cache_dir``: where renders go; by default
    ``<sound_dirs[0]>/ccapp/tts``, which makes the sound name ``ccapp/tts/<hash>``. ``sound_prefix``
    is that name's folder part if ``cache_dir`` is elsewhere but mounted there for Asterisk.
    """

    def __init__(
        self,
        sound_dirs: Sequence[Path],
        *,
        cache_dir: Path | None = None,
        sound_prefix: str = "ccapp/tts",
        voice: str = "en-us",
        speed: int = 150,
        http_base_url: str | None = None,
        languages: Sequence[str] = ("en",),
        timeout: float = 20.0,
        espeak: str = "espeak-ng",
        sox: str = "sox",
    ) -> None:
        if not sound_dirs and cache_dir is None:
            raise ValueError("EspeakPromptStore needs a sound directory or a cache_dir")
        self.sound_dirs = [Path(d) for d in sound_dirs]
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.sound_dirs[0] / "ccapp" / "tts"
        self.sound_prefix = sound_prefix.strip("/")
        self.voice = voice
        self.speed = speed
        self.http_base_url = http_base_url.rstrip("/") if http_base_url else None
        self.languages = tuple(languages)
        self.timeout = timeout
        self._espeak = espeak
        self._sox = sox
        self._inflight: dict[str, asyncio.Future[None]] = {}

    # ------------------------------------------------------------------------------ port
    async def render(self, text: str) -> str:
        """The media name of ``text`` spoken (synthesised on first use); `SpeechError` if not."""
        text = " ".join(text.split())
        if not text:
            raise SpeechError("nothing to say: the prompt text is empty")
        digest = prompt_hash(text, voice=self.voice, speed=self.speed)
        path = self.path_of(digest)
        if not path.is_file():
            await self._render_once(digest, text, path)
        if self.http_base_url:
            return f"sound:{self.http_base_url}/{digest}.wav"
        return f"{self.sound_prefix}/{digest}"

    def exists(self, sound: str) -> bool | None:
        """Whether ``sound`` (``name``, ``sound:name``; a URI → None) is a file Asterisk can play."""
        return SoundDirs(self.sound_dirs, languages=self.languages)(sound)

    def path_of(self, digest: str) -> Path:
        return self.cache_dir / f"{digest}.wav"

    # ------------------------------------------------------------------------------ internals
    async def _render_once(self, digest: str, text: str, path: Path) -> None:
        running = self._inflight.get(digest)
        if running is not None:
            await asyncio.shield(running)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            await self._synthesise(text, path)
        except BaseException as exc:
            future.set_exception(
                exc if isinstance(exc, SpeechError) else SpeechError(f"TTS aborted: {exc!r}")
            )
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        else:
            future.set_result(None)
        finally:
            self._inflight.pop(digest, None)

    async def _synthesise(self, text: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpeechError(f"TTS cache directory {path.parent} is not writable: {exc}") from exc
        stem = f".{path.stem}.{os.getpid()}.{id(asyncio.current_task()):x}"
        raw = path.with_name(stem + ".22k.wav")
        tmp = path.with_name(stem + ".tmp.wav")
        try:
            await self._run(
                [self._espeak, "-v", self.voice, "-s", str(self.speed), "-w", str(raw), "--stdin"], text
            )
            await self._run(
                [self._sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp)],
                None,
            )
            os.replace(tmp, path)
        finally:
            for leftover in (raw, tmp):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        log.info("rendered prompt %s (%d chars, voice %s)", path.name, len(text), self.voice)

    async def _run(self, argv: list[str], stdin_text: str | None) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin_text is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SpeechError(f"cannot run {argv[0]}: {exc}") from exc
        try:
            async with asyncio.timeout(self.timeout):
                _, err = await proc.communicate(stdin_text.encode() if stdin_text is not None else None)
        except TimeoutError as exc:
            raise SpeechError(f"{argv[0]} took longer than {self.timeout:g} s") from exc
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip()[-300:]
            raise SpeechError(f"{argv[0]} failed (exit {proc.returncode}): {detail}")
