"""Call rate against the real Asterisk test bed: the dialplan-only IVR (300) vs ccapp over ARI (100).

    .venv/bin/python benchmarks/call_rate.py [--rates 5,10,20,30,40] [--seconds 10] [--max-calls 300]
                                             [--targets 300,100]

Needs root and the running test bed (scripts/asterisk-sandbox start). For each target, SIPp places
``rate × seconds`` calls (at most ``--max-calls``) with tests/e2e/scenarios/caller_12hash.xml at each
rate in turn, stopping at the first step where a call fails (SIPp "Failed call" > 0) or, for ccapp,
where the SQLite database does not hold exactly one ``completed`` record per call placed. Answer
latency (INVITE → 200 OK) comes from SIPp's ``-trace_rtt -rtt_freq 1`` (the scenario marks the 200
with ``rtd="true"``). ccapp runs as a subprocess (``ccapp run``, fresh SQLite in var/bench/) only
while target 100 is measured; port 8080 must be free (the script waits for it).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SANDBOX = REPO / "scripts" / "asterisk-sandbox"
SCENARIO = REPO / "tests" / "e2e" / "scenarios" / "caller_12hash.xml"
VENV = REPO / ".venv" / "bin"
TARGET_NAMES = {"300": "dialplan (300)", "100": "ccapp ARI (100)", "200": "ccapp AGI (200)"}


@dataclass
class Step:
    target: str
    rate: int
    calls: int
    ok: int = 0
    failed: int = 0
    db_completed: int | None = None  # new records with outcome completed (ccapp only)
    db_records: int | None = None  # new records of any outcome
    rtt_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        db_ok = self.db_completed is None or self.db_completed == self.db_records == self.calls
        return self.failed == 0 and self.ok == self.calls and db_ok


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def sandbox_root() -> Path:
    return Path(subprocess.check_output([str(SANDBOX), "root"], text=True).strip())


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_sipp(root: Path, target: str, rate: int, calls: int) -> Step:
    step = Step(target, rate, calls)
    inner = f"/tmp/ccapp-bench/{target}-{rate}"
    host_dir = root / inner.lstrip("/")
    shutil.rmtree(host_dir, ignore_errors=True)
    host_dir.mkdir(parents=True)
    shutil.copy(SCENARIO, host_dir / "scenario.xml")
    sipp = (
        f"cd {inner} && exec sipp 127.0.0.1:5060 -sf scenario.xml -s {target} -i 127.0.0.1 -p 5061 "
        f"-m {calls} -r {rate} -l {calls} -timeout {60 + calls // max(rate, 1)}s -timeout_error "
        "-trace_rtt -rtt_freq 1 -nostdin"
    )
    started = time.monotonic()
    proc = subprocess.run(
        [str(SANDBOX), "exec", "sh", "-c", sipp], capture_output=True, text=True, check=False
    )
    step.wall_s = time.monotonic() - started
    for name, attr in (("Successful call", "ok"), ("Failed call", "failed")):
        found = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", proc.stdout)
        if found:
            setattr(step, attr, int(found[-1]))
    if not re.search(r"Successful call", proc.stdout):
        print(f"  sipp exit {proc.returncode}: {proc.stderr.strip()[-400:]}", file=sys.stderr)
        step.failed = max(step.failed, calls - step.ok)
    for rtt_file in host_dir.glob("*_rtt.csv"):
        with rtt_file.open(newline="") as fh:
            for row in csv.reader(fh, delimiter=";"):
                with contextlib.suppress(IndexError, ValueError):
                    step.rtt_ms.append(float(row[1]))
    return step


class Ccapp:
    """``ccapp run`` on a fresh SQLite database, as scripts/demo does."""

    def __init__(self, work: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        self.db_path = work / "ccapp.db"
        self.env = dict(
            os.environ,
            CCAPP_CONFIG=str(REPO / "asterisk-conf" / "testbed" / "ccapp.yaml"),
            CCAPP_DATABASE__URL=f"sqlite+aiosqlite:///{self.db_path}",
            CCAPP_DATABASE__OUTBOX_DIR=str(work / "outbox"),
        )
        self.log = work / "ccapp.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_port_s: float) -> None:
        deadline = time.monotonic() + wait_port_s
        while port_busy(8080) or port_busy(4573):
            if time.monotonic() > deadline:
                raise SystemExit("port 8080/4573 still busy: another ccapp is running")
            print("  port 8080/4573 busy (someone else's ccapp); waiting", file=sys.stderr)
            time.sleep(5)
        subprocess.run([str(VENV / "ccapp"), "db", "upgrade"], env=self.env, check=True, capture_output=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([str(VENV / "ccapp"), "run"], env=self.env, stdout=log, stderr=log)
        for _ in range(150):
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen("http://127.0.0.1:8080/readyz", timeout=1) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"ccapp not ready; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def counts(self) -> tuple[int, int]:
        """(calls, calls with outcome completed and an end time)."""
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=10)) as db:
            total = db.execute("SELECT count(*) FROM calls").fetchone()[0]
            done = db.execute(
                "SELECT count(*) FROM calls WHERE outcome = 'completed' AND ended_at IS NOT NULL"
            ).fetchone()[0]
        return total, done

    def completed_since(
        self, before: tuple[int, int], expected: int, wait_s: float = 15.0
    ) -> tuple[int, int]:
        """(new completed records, new records) once the journal has caught up (or after ``wait_s``)."""
        deadline = time.monotonic() + wait_s
        while True:
            total, done = self.counts()
            new_total, new_done = total - before[0], done - before[1]
            if (new_done >= expected and new_total >= expected) or time.monotonic() > deadline:
                return new_done, new_total
            time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="5,10,20,30,40", help="calls per second, comma separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="calls per step = rate × seconds")
    parser.add_argument("--max-calls", type=int, default=300)
    parser.add_argument("--targets", default="300,100", help="extensions: 300 dialplan, 100 ccapp ARI")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--wait-port", type=float, default=600.0, help="seconds to wait for port 8080")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    root = sandbox_root()
    results: dict[str, list[Step]] = {}
    for target in args.targets.split(","):
        ccapp = Ccapp(args.work / "ccapp") if target in ("100", "200") else None
        if ccapp is not None:
            ccapp.start(args.wait_port)
        steps: list[Step] = []
        try:
            for rate in rates:
                calls = min(args.max_calls, max(1, round(rate * args.seconds)))
                before = ccapp.counts() if ccapp else (0, 0)
                step = run_sipp(root, target, rate, calls)
                if ccapp is not None:
                    step.db_completed, step.db_records = ccapp.completed_since(before, calls)
                steps.append(step)
                print(
                    f"  {TARGET_NAMES.get(target, target)} {rate} cps: {step.ok}/{calls} ok, "
                    f"{step.failed} failed, db completed {step.db_completed}/{step.db_records} records, "
                    f"200 OK p50 {pct(step.rtt_ms, 50):.1f} ms p99 {pct(step.rtt_ms, 99):.1f} ms "
                    f"({len(step.rtt_ms)} samples, {step.wall_s:.0f} s)",
                    file=sys.stderr,
                )
                if not step.passed:
                    if ccapp is not None:
                        print(f"  stopped: see {ccapp.log} and {ccapp.db_path}", file=sys.stderr)
                    break
        finally:
            if ccapp is not None:
                ccapp.stop()
        results[target] = steps

    print(
        f"\n{'target':<18}{'rate':>5}{'calls':>6}{'ok':>5}{'fail':>5}"
        f"{'db done/all':>12}{'p50 ms':>8}{'p99 ms':>8}"
    )
    for target, steps in results.items():
        for s in steps:
            db = "-" if s.db_completed is None else f"{s.db_completed}/{s.db_records}"
            print(
                f"{TARGET_NAMES.get(target, target):<18}{s.rate:>5}{s.calls:>6}{s.ok:>5}{s.failed:>5}{db:>12}"
                f"{pct(s.rtt_ms, 50):>8.1f}{pct(s.rtt_ms, 99):>8.1f}"
            )
    print()
    summary: dict[str, tuple[int | None, float, float]] = {}
    for target, steps in results.items():
        good = [s for s in steps if s.passed]
        best = max((s.rate for s in good), default=None)
        # latency over every call that passed (all steps that completed fully)
        rtts = [v for s in good for v in s.rtt_ms]
        summary[target] = (best, pct(rtts, 50), pct(rtts, 99))
        label = TARGET_NAMES.get(target, target)
        capped = " (highest rate tried)" if best == rates[-1] else ""
        print(
            f"{label}: highest rate with every call completing: {best} cps{capped}; "
            f"answer latency p50 {summary[target][1]:.1f} ms, p99 {summary[target][2]:.1f} ms"
        )
    if "300" in summary and "100" in summary:
        base, app = summary["300"], summary["100"]
        print(
            f"ccapp added answer latency (100 − 300): p50 {app[1] - base[1]:+.1f} ms, "
            f"p99 {app[2] - base[2]:+.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
