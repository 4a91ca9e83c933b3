"""Automatic call distribution: agents, queues, skills and the routing core."""
