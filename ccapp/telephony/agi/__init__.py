"""FastAGI: a server Asterisk's ``AGI(agi://host:4573/<path>)`` connects to, and the session that
implements `ccapp.calls.ports.CallControl` over one connection."""

from ccapp.telephony.agi.protocol import AgiRequest, AgiResult, Hangup, ReplyParser
from ccapp.telephony.agi.server import AgiHandler, AgiResolver, AgiServerStats, DialplanTarget, FastAgiServer
from ccapp.telephony.agi.session import AgiSession

__all__ = [
    "AgiHandler",
    "AgiRequest",
    "AgiResolver",
    "AgiResult",
    "AgiServerStats",
    "AgiSession",
    "DialplanTarget",
    "FastAgiServer",
    "Hangup",
    "ReplyParser",
]
