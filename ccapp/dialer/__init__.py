"""Outbound dialing: campaigns, lead import, do-not-call lists and pacing (issue 6)."""
