"""Prompts as ARI media URIs."""

from __future__ import annotations

from collections.abc import Sequence


def media_uris(prompts: Sequence[str]) -> list[str]:
    """``vm-goodbye`` → ``sound:vm-goodbye``; URIs (``digits:12``, ``sound:…``) stay as they are."""
    return [p if ":" in p else f"sound:{p}" for p in prompts]
