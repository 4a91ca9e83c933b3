"""Helpers for the config tests: write a YAML file into tmp_path and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

MINIMAL = """\
ari:
  username: ccapp
  password: ari-pass
ami:
  username: ccapp
  password: ami-pass
"""


@pytest.fixture
def minimal_yaml() -> str:
    """The least a valid file needs: ARI and AMI credentials."""
    return MINIMAL


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "ccapp.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
