"""AMI: login, Originate, CLI commands and dialplan events (``UserEvent``) over panoramisk."""

from ccapp.telephony.ami.client import AmiClient, EventHandler, Originate
from ccapp.telephony.ami.message import AmiMessage

__all__ = ["AmiClient", "AmiMessage", "EventHandler", "Originate"]
