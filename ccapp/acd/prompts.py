"""What a waiting caller hears: position and expected-wait announcements from Asterisk's stock queue
sounds. Pure: values in, prompt lists out."""

from __future__ import annotations

from ccapp.acd.wait import announced_wait


def position_prompts(position: int, expected_wait_s: float | None) -> list[str]:
    """ "You are next" / "There are N calls waiting" then, when an honest estimate exists, "The
    estimated hold time is currently M minutes" (rounded by `announced_wait`)."""
    prompts: list[str] = []
    if position <= 1:
        prompts.append("queue-youarenext")
    else:
        prompts += ["queue-thereare", f"number:{position - 1}", "queue-callswaiting"]
    wait = announced_wait(expected_wait_s)
    if wait:
        minutes, seconds = divmod(wait, 60)
        prompts.append("queue-holdtime")
        if minutes:
            prompts += [f"number:{minutes}", "queue-minute" if minutes == 1 else "queue-minutes"]
        if seconds:
            prompts += [f"number:{seconds}", "queue-seconds"]
    return prompts


#: played when a caller asked for a callback: their place in line is kept
CALLBACK_CONFIRM = ["auth-thankyou", "vm-goodbye"]
#: played before leaving a message when a queue overflows to voicemail
VOICEMAIL_INTRO = ["vm-intro"]
