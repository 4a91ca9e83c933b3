"""`EspeakPromptStore`: cache naming, real rendering, concurrency, failures, sound lookup; the
HTTP handler that serves the cache."""

from __future__ import annotations

import asyncio
import shutil
import stat
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ccapp.speech.errors import SpeechError
from ccapp.speech.http import tts_routes
from ccapp.speech.tts import EspeakPromptStore, prompt_hash

needs_espeak = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox"
)


def script(path: Path, body: str) -> Path:
    """A fake espeak-ng/sox: a shell script."""
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def fake_engine(tmp_path: Path, *, delay: float = 0.0) -> tuple[Path, Path, Path]:
    """espeak and sox stand-ins that count their runs and write a tiny WAV (argument after -w /
    last argument)."""
    runs = tmp_path / "runs"
    espeak = script(
        tmp_path / "espeak",
        f'echo espeak >> {runs}; sleep {delay}; while [ "$1" != "-w" ]; do shift; done; cat > /dev/null; '
        'printf RIFF > "$2"',
    )
    sox = script(tmp_path / "sox", f'echo sox >> {runs}; for last; do :; done; cp "$1" "$last"')
    return espeak, sox, runs


def test_the_hash_covers_engine_voice_speed_and_text() -> None:
    base = prompt_hash("Welcome", voice="en-us", speed=150)
    assert len(base) == 32
    assert base == prompt_hash("Welcome", voice="en-us", speed=150)
    others = {
        prompt_hash("Welcome!", voice="en-us", speed=150),
        prompt_hash("Welcome", voice="en", speed=150),
        prompt_hash("Welcome", voice="en-us", speed=151),
        prompt_hash("Welcome", voice="en-us", speed=150, engine="other"),
    }
    assert base not in others
    assert len(others) == 4


@needs_espeak
async def test_render_writes_an_8khz_16bit_mono_wav_under_ccapp_tts(tmp_path: Path) -> None:
    store = EspeakPromptStore([tmp_path])
    media = await store.render("  Thank you   for calling. ")
    digest = prompt_hash("Thank you for calling.", voice="en-us", speed=150)
    assert media == f"ccapp/tts/{digest}"
    path = tmp_path / "ccapp" / "tts" / f"{digest}.wav"
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert w.getnframes() > 8000  # about a second of speech
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary files left
    assert store.exists(media) is True


async def test_a_cached_prompt_is_not_rendered_again(tmp_path: Path) -> None:
    espeak, sox, runs = fake_engine(tmp_path)
    store = EspeakPromptStore([tmp_path / "sounds"], espeak=str(espeak), sox=str(sox))
    first = await store.render("hello")
    second = await store.render("hello")
    assert first == second
    assert runs.read_text().split() == ["espeak", "sox"]


async def test_concurrent_renders_of_one_text_synthesise_once_and_never_collide(tmp_path: Path) -> None:
    espeak, sox, runs = fake_engine(tmp_path, delay=0.2)
    store = EspeakPromptStore([tmp_path / "sounds"], espeak=str(espeak), sox=str(sox))
    results = await asyncio.gather(*(store.render("same") for _ in range(8)), store.render("other"))
    assert len(set(results[:8])) == 1
    assert runs.read_text().split().count("espeak") == 2
    cache = tmp_path / "sounds" / "ccapp" / "tts"
    assert sorted(p.suffix for p in cache.iterdir()) == [".wav", ".wav"]


async def test_two_stores_on_one_directory_rename_into_place(tmp_path: Path) -> None:
    espeak, sox, _ = fake_engine(tmp_path, delay=0.1)
    stores = [EspeakPromptStore([tmp_path / "sounds"], espeak=str(espeak), sox=str(sox)) for _ in range(3)]
    results = await asyncio.gather(*(s.render("shared") for s in stores))
    assert len(set(results)) == 1
    cache = tmp_path / "sounds" / "ccapp" / "tts"
    assert [p.suffix for p in cache.iterdir()] == [".wav"]


async def test_http_mode_returns_a_sound_uri(tmp_path: Path) -> None:
    espeak, sox, _ = fake_engine(tmp_path)
    store = EspeakPromptStore(
        [],
        cache_dir=tmp_path / "tts",
        http_base_url="http://ccapp:8080/media/tts/",
        espeak=str(espeak),
        sox=str(sox),
    )
    media = await store.render("hi")
    assert media == f"sound:http://ccapp:8080/media/tts/{prompt_hash('hi', voice='en-us', speed=150)}.wav"
    assert store.exists(media) is None


async def test_a_missing_engine_is_a_speech_error(tmp_path: Path) -> None:
    store = EspeakPromptStore([tmp_path], espeak=str(tmp_path / "no-such-espeak"))
    with pytest.raises(SpeechError, match="cannot run"):
        await store.render("hello")


async def test_a_failing_engine_is_a_speech_error_with_its_message(tmp_path: Path) -> None:
    espeak = script(tmp_path / "espeak", "echo 'no voice xx' >&2; exit 3")
    store = EspeakPromptStore([tmp_path / "sounds"], espeak=str(espeak), voice="xx")
    with pytest.raises(SpeechError, match=r"exit 3.*no voice xx"):
        await store.render("hello")
    assert not any((tmp_path / "sounds" / "ccapp" / "tts").iterdir())


async def test_a_hanging_engine_times_out(tmp_path: Path) -> None:
    espeak = script(tmp_path / "espeak", "exec sleep 30")
    store = EspeakPromptStore([tmp_path / "sounds"], espeak=str(espeak), timeout=0.3)
    async with asyncio.timeout(5):
        with pytest.raises(SpeechError, match=r"longer than 0\.3 s"):
            await store.render("hello")


async def test_an_empty_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="empty"):
        await EspeakPromptStore([tmp_path]).render("   ")


def test_exists_finds_any_format_asterisk_plays_in_any_sound_dir_or_language(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "custom").mkdir(parents=True)
    (second / "en" / "digits").mkdir(parents=True)
    (first / "custom" / "welcome.gsm").write_bytes(b"")
    (second / "en" / "digits" / "1.ulaw").write_bytes(b"")
    (second / "notes.txt").write_bytes(b"")
    store = EspeakPromptStore([first, second])
    assert store.exists("custom/welcome") is True
    assert store.exists("sound:digits/1") is True
    assert store.exists("digits/2") is False
    assert store.exists("notes") is False
    assert store.exists("../b/en/digits/1") is False
    assert store.exists("/etc/passwd") is False
    assert store.exists("sound:http://x/y.wav") is None
    assert EspeakPromptStore([tmp_path / "missing"]).exists("beep") is None


# ------------------------------------------------------------------------------------------ HTTP
@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    app = web.Application()
    app.add_routes(tts_routes(tmp_path))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/media/tts", tmp_path
    finally:
        await runner.cleanup()


async def test_the_http_handler_serves_a_cached_wav(served: tuple[str, Path]) -> None:
    base, cache = served
    digest = "0123456789abcdef0123456789abcdef"
    (cache / f"{digest}.wav").write_bytes(b"RIFF....WAVE")
    async with aiohttp.ClientSession() as session, session.get(f"{base}/{digest}.wav") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "audio/wav"
        assert await response.read() == b"RIFF....WAVE"


@pytest.mark.parametrize(
    "name",
    [
        "0123456789abcdef0123456789abcdee.wav",  # not rendered
        "0123456789abcdef0123456789abcdef.gsm",
        "0123456789ABCDEF0123456789ABCDEF.wav",
        "secret.wav",
        "..%2Fsecret.wav",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    ],
)
async def test_the_http_handler_serves_nothing_but_hash_named_wavs(
    served: tuple[str, Path], name: str
) -> None:
    base, cache = served
    (cache / "0123456789abcdef0123456789abcdef.wav").write_bytes(b"RIFF")
    (cache / "secret.wav").write_bytes(b"RIFF")
    (cache.parent / "secret.wav").write_bytes(b"RIFF")
    async with aiohttp.ClientSession() as session, session.get(f"{base}/{name}") as response:
        assert response.status == 404
