"""Does Asterisk have a sound? Checked on disk, for tree validation and the prompt store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: audio formats Asterisk plays a sound from (by extension)
SOUND_EXTENSIONS = (
    "gsm", "wav", "WAV", "wav16", "ulaw", "alaw", "sln", "sln16", "sln48", "g722", "g729", "ilbc",
    "siren7", "siren14", "opus", "mp3", "vox",
)  # fmt: skip


class SoundDirs:
    """Looks for ``<dir>/<name>.<ext>`` (and ``<dir>/<language>/<name>.<ext>`` for each of
    ``languages``) in each directory that exists on this host."""

    def __init__(self, dirs: Sequence[Path], *, languages: Sequence[str] = ()) -> None:
        self.dirs = [Path(d) for d in dirs if Path(d).is_dir()]
        self.languages = tuple(languages)

    def __call__(self, name: str) -> bool | None:
        """True or False; None when it cannot be known here (no sound directory on this host, or a
        URI such as ``http:…`` that only Asterisk can fetch). ``sound:<name>`` is a name."""
        name = name.removeprefix("sound:")
        if ":" in name:
            return None
        if not name or name.startswith("/") or ".." in Path(name).parts:
            return False
        if not self.dirs:
            return None  # Asterisk's sounds are not on this host: cannot tell
        for directory in self.dirs:
            for base in (directory, *(directory / lang for lang in self.languages)):
                stem = base / name
                if any(stem.with_name(f"{stem.name}.{ext}").is_file() for ext in SOUND_EXTENSIONS):
                    return True
        return False
