"""Typed configuration: ``load_settings`` reads ``ccapp.yaml`` + ``CCAPP_*`` overrides into ``Settings``."""

from ccapp.config.check import check_config
from ccapp.config.loader import load_settings
from ccapp.config.redact import redact_url
from ccapp.config.settings import Settings

__all__ = ["Settings", "check_config", "load_settings", "redact_url"]
