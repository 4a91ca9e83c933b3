"""Serving rendered prompts over HTTP, for Asterisk's res_http_media_cache.

Mount ``tts_routes(store.cache_dir)`` on ccapp's aiohttp application and give the store
``http_base_url="http://<ccapp host>:<port>/media/tts"``: prompts then play as
``sound:http://…/media/tts/<hash>.wav`` and Asterisk needs no shared disk. Only names that are
exactly a 32-hex-digit hash plus ``.wav`` are served, so no path can leave the directory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from ccapp.speech.tts import HASH_RE

TTS_PATH = "/media/tts"


def tts_handler(cache_dir: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A GET handler for ``{TTS_PATH}/{name}`` serving ``<cache_dir>/<hash>.wav``."""
    root = Path(cache_dir)

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "")
        digest, dot, ext = name.partition(".")
        if not dot or ext != "wav" or not HASH_RE.fullmatch(digest):
            raise web.HTTPNotFound()
        path = root / f"{digest}.wav"
        if not path.is_file():
            raise web.HTTPNotFound()
        # Asterisk picks the format from the Content-Type (or the URL's extension)
        return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "max-age=86400"})

    return handle


def tts_routes(cache_dir: Path, prefix: str = TTS_PATH) -> list[web.RouteDef]:
    """Routes to add with ``app.add_routes(...)``."""
    return [web.get(f"{prefix.rstrip('/')}/{{name}}", tts_handler(cache_dir))]
