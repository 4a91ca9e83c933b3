"""Hiding credentials that travel inside URLs (database URLs, mostly) before they are shown or logged."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

MASK = "***"

#: query parameters whose value is a credential
SECRET_PARAMS = frozenset({"password", "passwd", "pwd", "secret", "token", "api_key", "apikey"})

# scheme://user:password@ — greedy up to the last "@" of the word: masking too much is the safe side.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^:/?#@\s]*:)(?P<pw>\S*)(?P<at>@)")


def redact_url(url: str) -> str:
    """Return ``url`` with its password (and secret-looking query values) replaced by ``***``.

    Never raises: a string that is not a URL comes back unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = _split_authority(rest)
    userinfo, at, hostport = authority.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        if colon:
            authority = f"{user}:{MASK}@{hostport}"
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        query = _redact_query(query) + hash_ + fragment
    return f"{scheme}://{authority}{slash}{path}{qmark}{query}"


def redact_urls_in_text(text: str) -> str:
    """Mask the password of every ``scheme://user:password@host`` found in free text."""
    return _USERINFO.sub(lambda m: f"{m['head']}{MASK}{m['at']}", text)


def _split_authority(rest: str) -> tuple[str, str, str]:
    # The authority ends at the first "/", "?" or "#" after the last "@" (a password may hold "/"),
    # looking for that "@" before any query, which may hold one too.
    at = rest.partition("?")[0].rfind("@")
    start = at + 1 if at >= 0 else 0
    ends = [i for i in (rest.find(c, start) for c in "/?#") if i >= 0]
    end = min(ends) if ends else len(rest)
    tail = rest[end:]
    if tail.startswith("/"):
        return rest[:end], "/", tail[1:]
    return rest[:end], "", tail


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key.lower() in SECRET_PARAMS for key, _ in pairs):
        return query
    return urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*/:")
