"""The real Asterisk test bed (scripts/asterisk-sandbox) as seen from tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "asterisk-sandbox"

ARI_URL = os.environ.get("CCAPP_ARI_URL", "http://127.0.0.1:8088")
ARI_USER = os.environ.get("CCAPP_ARI_USER", "ccapp")
ARI_PASSWORD = os.environ.get("CCAPP_ARI_PASSWORD", "testbed-ari-secret")
AMI_HOST = "127.0.0.1"
AMI_PORT = 5038
AMI_USER = "ccapp"
AMI_PASSWORD = os.environ.get("CCAPP_AMI_PASSWORD", "testbed-ami-secret")
SIP_PORT = 5060
SIPP_DATA = "/usr/share/sip-tester"


def sandbox(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run scripts/asterisk-sandbox with arguments."""
    return subprocess.run([str(SANDBOX), *args], check=check, capture_output=True, text=True, timeout=timeout)


def sandbox_root() -> Path:
    return Path(sandbox("root").stdout.strip())


def asterisk_cli(command: str) -> str:
    return sandbox("cli", command).stdout


def ensure_dialplan(show: str, marker: str) -> None:
    """Load asterisk-conf/extensions.conf into a test bed started before it held ``marker`` (looked
    for in the output of ``dialplan show <show>``): a start copies it, a running bed needs this."""
    if marker in asterisk_cli(f"dialplan show {show}"):
        return
    shutil.copy(REPO / "asterisk-conf" / "extensions.conf", sandbox_root() / "etc/asterisk/extensions.conf")
    asterisk_cli("dialplan reload")


def ensure_sounds() -> None:
    """Copy asterisk-conf/sounds/ (ccapp/<name> in the dialplan and ARI) into a test bed started
    before they were added or changed: a start copies them, a running bed needs this."""
    target = sandbox_root() / "usr/share/asterisk/sounds/ccapp"
    target.mkdir(parents=True, exist_ok=True)
    for path in (REPO / "asterisk-conf" / "sounds").iterdir():
        copy = target / path.name
        if path.is_file() and (not copy.exists() or copy.read_bytes() != path.read_bytes()):
            shutil.copy(path, copy)


def free_udp_port() -> int:
    """A UDP port nobody holds now (SIPp callers get their own, so parallel runs don't clash)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


async def run_sipp(
    scenario: str | Path,
    *,
    service: str,
    calls: int = 1,
    rate: float = 1.0,
    local_port: int = 0,
    timeout: float = 60,
    extra: tuple[str, ...] = (),
) -> SippResult:
    """Place ``calls`` SIPp calls to extension ``service`` with a scenario file (copied into the chroot,
    because sipp runs inside it) or a built-in scenario name (``uac``, ``uac_pcap``)."""
    root = sandbox_root()
    if not local_port:
        local_port = free_udp_port()
    if isinstance(scenario, Path):
        dest = root / "tmp" / scenario.name
        dest.write_text(scenario.read_text())
        scen = ["-sf", f"/tmp/{scenario.name}"]
    else:
        scen = ["-sn", scenario]
    args = [
        str(SANDBOX),
        "exec",
        "sipp",
        f"127.0.0.1:{SIP_PORT}",
        *scen,
        "-s",
        service,
        "-i",
        "127.0.0.1",
        "-p",
        str(local_port),
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-rp",
        "1000",
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-error_file",
        "/tmp/sipp-errors.log",
        *extra,
    ]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd="/", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout + 30)
    return SippResult(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))
