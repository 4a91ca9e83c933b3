"""`SqlJournal`: the `CallJournal` that makes call events durable and writes them to SQL.

``append`` only queues the event. One writer task owned by the journal then, in a loop:

1. drains the queue into the outbox (one write and one fsync per batch, the fsync in a thread);
2. writes up to ``batch_size`` outbox events to SQL in one transaction (idempotent, see
   `ccapp.storage.projection`) and forgets the outbox segments that are fully stored.

When the database fails, events keep reaching the outbox and SQL is retried with exponential
back-off. On start, events a previous process left in the outbox are replayed before new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError

from ccapp.calls.model import CallEvent
from ccapp.errors import StorageError
from ccapp.storage.db import Database
from ccapp.storage.outbox import MAX_SEGMENT_BYTES, Outbox, Record, decode, encode, encode_record
from ccapp.storage.projection import write_batch

log = logging.getLogger(__name__)

#: Errors that condemn the data rather than the database: retrying the same event cannot help.
_BAD_DATA = (IntegrityError, DataError)


class SqlJournal:
    """Durable, idempotent journal of call events on top of a `Database`."""

    def __init__(
        self,
        db: Database,
        outbox_dir: Path | str,
        *,
        batch_size: int = 500,
        retry_initial: float = 0.5,
        retry_max: float = 10.0,
        max_segment_bytes: int = MAX_SEGMENT_BYTES,
    ) -> None:
        self._db = db
        self._outbox = Outbox(outbox_dir, max_segment_bytes=max_segment_bytes)
        self._batch_size = batch_size
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._retry_delay = retry_initial
        self._retry_at = 0.0
        self._queue: deque[CallEvent] = deque()
        # Undelivered events already in the outbox, with the segment number that holds each.
        self._backlog: deque[tuple[int, Record]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._closed = False
        self._accepted = 0  # events appended or recovered
        self._done = 0  # events stored or dead-lettered
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._db_ok = True
        self._stats = {
            "events_written": 0,
            "events_replayed": 0,
            "batches": 0,
            "retries": 0,
            "dead_letters": 0,
            "outbox_errors": 0,
        }

    # -- the CallJournal port -------------------------------------------------------------------

    def append(self, event: CallEvent) -> None:
        """Queue ``event`` for durable storage. Never blocks on I/O and never raises."""
        try:
            self._accepted += 1
            self._queue.append(event)
            if self._closed:
                # Late events (after stop) must not be lost either: the next process replays them.
                self._spill_queue()
                return
            self._wake.set()
        except Exception:  # a journal bug must not break the call that reported the event
            log.exception("journal: could not accept event %s/%s", event.call_id, event.seq)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the outbox left by a previous process, then start the writer task."""
        if self._task is not None or self._closed:
            raise RuntimeError("SqlJournal can be started once")
        recovered = await asyncio.to_thread(self._outbox.recover)
        self._backlog.extend(recovered)
        self._accepted += len(recovered)
        self._stats["events_replayed"] = len(recovered)
        self._task = asyncio.create_task(self._run(), name="ccapp-journal-writer")

    # The timeout is part of the contract, not a cancellation: when it expires, stop still closes the
    # outbox cleanly and returns, so a caller-side asyncio.timeout would do the wrong thing here.
    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Store what can be stored within ``timeout`` seconds; the rest stays in the outbox."""
        task = self._task
        if task is None:
            self._closed = True
            await asyncio.to_thread(self._spill_queue)
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            log.warning("journal: stop timed out; %d events stay in the outbox", self.pending)
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.error("journal: writer failed", exc_info=task.exception())

    async def flush(self) -> None:
        """Wait until every event appended so far is in SQL (or dead-lettered).

        Raises `StorageError` when the writer is not running or stops first. Bound the wait with
        ``asyncio.timeout`` (the database may be down for a long time).
        """
        target = self._accepted
        if self._done >= target:
            return
        if self._task is None or self._task.done():
            raise StorageError(f"journal is not running; {self.pending} events wait in the outbox")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (target, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    # -- state ----------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Events accepted but not yet in SQL."""
        return len(self._queue) + len(self._backlog)

    @property
    def db_ok(self) -> bool:
        """False after the last SQL write failed, True again after one succeeds."""
        return self._db_ok

    @property
    def stats(self) -> dict[str, int]:
        """Counters: events_written, events_replayed, batches, retries, dead_letters, outbox_errors."""
        return dict(self._stats)

    # -- the writer task ------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self._queue:
                    await self._persist()
                due = self._stopping or loop.time() >= self._retry_at
                if self._backlog and due:
                    if await self._deliver():
                        continue
                    if self._stopping:
                        break  # the database is down: what is left stays in the outbox
                if self._stopping and not self._queue and not self._backlog:
                    break
                self._wake.clear()
                if self._queue:
                    continue
                timeout = max(0.0, self._retry_at - loop.time()) if self._backlog else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
        except Exception:
            log.exception("journal: writer crashed; events go straight to the outbox from now on")
            raise
        finally:
            self._closed = True
            # On cancellation we may not await any more: write the rest synchronously.
            self._spill_queue()
            self._outbox.close()
            self._fail_waiters()

    async def _persist(self) -> None:
        """Move every queued event to the outbox (fsynced) and the backlog."""
        events = list(self._queue)
        self._queue.clear()
        lines: list[str] = []
        records: list[Record] = []
        for event in events:
            try:
                line = encode(event)
                # Deliver exactly what a replay would read back, so both paths store the same thing.
                records.append(decode(line))
                lines.append(line)
            except Exception as exc:  # bad data in one event must not stop the others
                self._outbox.dead_letter(repr(event), f"cannot encode: {exc!r}")
                self._finish(1, dead=True)
        if not lines:
            return
        try:
            segment = self._outbox.append(lines)
            await asyncio.to_thread(self._outbox.sync)
        except OSError:
            # Still deliverable from memory; only crash safety is lost for these events.
            self._stats["outbox_errors"] += 1
            log.exception("journal: outbox write failed for %d events", len(lines))
            segment = self._outbox.current
        self._backlog.extend((segment, record) for record in records)

    async def _deliver(self) -> bool:
        """Write the oldest backlog batch to SQL; False when the database failed."""
        batch = [record for _, record in list(self._backlog)[: self._batch_size]]
        try:
            async with self._db.engine.begin() as conn:
                written = await write_batch(conn, batch)
        except _BAD_DATA:
            log.warning("journal: batch of %d refused; isolating the bad events", len(batch))
            return await self._deliver_one_by_one(batch)
        except Exception as exc:  # any other failure: treat the database as unavailable
            self._db_failed(exc)
            return False
        self._delivered(len(batch), written)
        return True

    async def _deliver_one_by_one(self, batch: list[Record]) -> bool:
        for record in batch:
            try:
                async with self._db.engine.begin() as conn:
                    written = await write_batch(conn, [record])
            except _BAD_DATA as exc:
                # The driver's message only: SQLAlchemy's own text would repeat the bound values.
                reason = f"refused by the database: {type(exc.orig).__name__}: {exc.orig}"
                self._outbox.dead_letter(encode_record(record), reason)
                self._delivered(1, 0, dead=True)
            except Exception as exc:
                self._db_failed(exc)
                return False
            else:
                self._delivered(1, written)
        return True

    def _delivered(self, count: int, written: int, *, dead: bool = False) -> None:
        for _ in range(count):
            self._backlog.popleft()
        self._stats["events_written"] += written
        self._stats["batches"] += 0 if dead else 1
        if not self._db_ok:
            log.warning("journal: database is back; %d events pending", self.pending)
        self._db_ok = True
        self._retry_delay = self._retry_initial
        self._retry_at = 0.0
        try:
            self._outbox.release(self._backlog[0][0] if self._backlog else None)
        except OSError:
            log.exception("journal: could not remove stored outbox segments (they will replay)")
        self._finish(count, dead=dead)

    def _db_failed(self, exc: Exception) -> None:
        self._stats["retries"] += 1
        if self._db_ok:
            log.warning("journal: database unavailable (%s); keeping events in the outbox", exc)
        else:
            log.debug("journal: database still unavailable: %s", exc)
        self._db_ok = False
        self._retry_at = asyncio.get_running_loop().time() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self._retry_max)

    def _finish(self, count: int, *, dead: bool) -> None:
        self._done += count
        if dead:
            self._stats["dead_letters"] += count
        for target, waiter in list(self._waiters):
            if target <= self._done and not waiter.done():
                waiter.set_result(None)

    def _fail_waiters(self) -> None:
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(StorageError(f"journal stopped; {self.pending} events in the outbox"))

    # -- after the writer is gone ---------------------------------------------------------------

    def _spill_queue(self) -> None:
        """Write queued events to the outbox and fsync, synchronously (shutdown path only)."""
        if not self._queue:
            return
        events = list(self._queue)
        self._queue.clear()
        lines: list[str] = []
        for event in events:
            try:
                lines.append(encode(event))
            except Exception as exc:
                self._outbox.dead_letter(repr(event), f"cannot encode: {exc!r}")
        try:
            self._outbox.append(lines)
            self._outbox.close()
        except OSError:
            log.exception("journal: lost %d events: the outbox cannot be written", len(lines))
