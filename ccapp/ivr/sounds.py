"""Does Asterisk have a sound? Checked on disk, for tree validation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: file formats Asterisk plays a sound from (by extension)
SOUND_EXTENSIONS = (
    "gsm",
    "wav",
    "WAV",
    "wav16",
    "ulaw",
    "alaw",
    "sln",
    "sln16",
    "g722",
    "g729",
    "ilbc",
    "siren7",
    "siren14",
    "opus",
    "mp3",
)


class SoundDirs:
    """Looks for ``<dir>/<name>.<ext>`` in each directory that exists on this host."""

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.dirs = [d for d in dirs if d.is_dir()]

    def __call__(self, name: str) -> bool | None:
        if not self.dirs:
            return None  # Asterisk's sounds are not on this host: cannot tell
        if name.startswith("/") or ".." in Path(name).parts:
            return False
        for directory in self.dirs:
            base = directory / name
            if any(base.with_name(f"{base.name}.{ext}").is_file() for ext in SOUND_EXTENSIONS):
                return True
        return False
