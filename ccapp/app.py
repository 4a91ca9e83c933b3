"""The composition root: builds every part from `Settings`, runs until SIGTERM, shuts down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ccapp.acd.recording import Recordings
from ccapp.acd.service import AcdService
from ccapp.calls.call import Call
from ccapp.calls.model import Direction, EventKind, Via
from ccapp.calls.ports import CallControl
from ccapp.calls.router import Router, UnknownRoute
from ccapp.calls.service import CallService, ChannelInfo, Fallback
from ccapp.clock import SystemClock
from ccapp.config.acd import agents as acd_agents
from ccapp.config.acd import queue_configs
from ccapp.config.loader import load_settings
from ccapp.config.settings import IvrSettings, Settings
from ccapp.dialer.connect import outbound_route
from ccapp.dialer.service import DialerService
from ccapp.errors import CcappError, ConfigError, NotConnected, ProtocolError, TelephonyError
from ccapp.ivr.first import FirstIvrSettings
from ccapp.ivr.ports import HttpFetcher, QueueTarget, RecordingGate
from ccapp.ivr.registry import TreeRegistry
from ccapp.ivr.runtime import IvrRuntime
from ccapp.ivr.services import BusyQueueStub, IvrServices, TransferSettings
from ccapp.kpi.definitions import Thresholds
from ccapp.kpi.realtime import RealtimeBoard
from ccapp.recording.purge import purge_expired
from ccapp.recording.source import SqlRecordings
from ccapp.recording.store import RecordingStore
from ccapp.speech.http import tts_routes
from ccapp.speech.listener import is_listen_channel
from ccapp.speech.pocketsphinx import PocketsphinxRecognizer
from ccapp.speech.tts import EspeakPromptStore
from ccapp.storage import Database, SqlJournal
from ccapp.storage.dialer_store import DialerStore
from ccapp.telephony.agi import AgiHandler, AgiRequest, AgiSession, DialplanTarget, FastAgiServer
from ccapp.telephony.ami import AmiClient, AmiMessage
from ccapp.telephony.ami.mixmonitor import MixMonitorGate
from ccapp.telephony.ami.recorder import AmiCallRecorder
from ccapp.telephony.ari import AriApp, AriCallControl, AriClient, AriEventStream
from ccapp.telephony.ari.acd import LEG_ARG, AriAcdTelephony
from ccapp.telephony.ari.events import (
    AriEvent,
    ChannelDestroyed,
    EndpointStateChange,
    StasisEnd,
    StasisStart,
)
from ccapp.telephony.ari.outbound import DIAL_ARG, AriOutbound
from ccapp.web.acd_api import add_acd_routes
from ccapp.web.admin import add_admin_routes
from ccapp.web.auth import TokenTable
from ccapp.web.dialer_api import add_dialer_routes
from ccapp.web.fetcher import AiohttpFetcher
from ccapp.web.health import make_health_app
from ccapp.web.kpi_api import EngineSource, add_kpi_routes
from ccapp.web.realtime_api import add_wallboard_routes
from ccapp.web.recordings_api import add_recording_routes

log = logging.getLogger("ccapp.app")

#: after ARI reconnects, how long calls that vanished get to unwind before agents are reconciled
ACD_RECONCILE_DELAY_S = 2.0
#: how often ``ccapp run`` deletes recordings past their retention
PURGE_EVERY_S = 24 * 3600.0


def build_ivr(settings: Settings, fetcher: HttpFetcher) -> IvrRuntime:
    """The IVR runtime: trees from the settings, and the adapters their nodes need."""
    cfg = settings.ivr
    first = FirstIvrSettings(
        prompt=cfg.first.prompt,
        max_digits=cfg.first.max_digits,
        terminator=cfg.first.terminator,
        first_timeout_s=cfg.first.first_timeout_s,
        inter_digit_timeout_s=cfg.first.inter_digit_timeout_s,
        goodbye=cfg.first.goodbye,
    )
    tts = cfg.tts
    prompts = None
    if tts.engine == "espeak-ng":
        prompts = EspeakPromptStore(
            [tts.sounds_dir],
            voice=tts.voice,
            speed=tts.speed_wpm,
            http_base_url=tts.http_base_url if tts.delivery == "http" else None,
        )
    services = IvrServices(
        clock=SystemClock(),
        fetcher=fetcher,
        prompts=prompts,
        recognizer=PocketsphinxRecognizer() if cfg.speech.enabled else None,
    )
    return IvrRuntime(TreeRegistry(cfg.trees, cfg.schedules), with_reloadable(services, cfg), first)


def with_reloadable(services: IvrServices, cfg: IvrSettings, queue: QueueTarget | None = None) -> IvrServices:
    """``services`` with the parts a reload may change (transfer settings, the queue stub's prompts
    when there is no ACD) taken from ``cfg``; trees and schedules live in the `TreeRegistry`."""
    return dataclasses.replace(
        services,
        queue=queue if queue is not None else BusyQueueStub(cfg.queue_stub_prompts),
        transfer=TransferSettings(cfg.transfer.context, cfg.transfer.number_dial),
    )


def build_router(
    ivr: IvrRuntime, acd: AcdService | None = None, dialer: DialerService | None = None
) -> Router:
    """Routes by first Stasis argument / AGI path segment: ``inbound`` (ARI) and ``ivr`` (AGI) both
    walk the IVR tree named by the next argument; ``queue`` (ARI: ``Stasis(ccapp,queue,<queue>[,
    <priority>])``) puts the call straight into an ACD queue — where a FastAGI call's queue node
    sends it through the dialplan."""
    router = Router()
    router.add("inbound", ivr.handle)
    router.add("ivr", ivr.handle)
    if acd is not None:
        router.add("queue", functools.partial(queue_route, acd))
    if dialer is not None:
        # an answered campaign line back from AMD: Stasis(ccapp,outbound,<attempt>,<AMDSTATUS>,<cause>)
        router.add("outbound", functools.partial(outbound_route, dialer), Direction.OUTBOUND)
    return router


async def queue_route(acd: AcdService, call: Call, control: CallControl, params: tuple[str, ...]) -> str:
    if not params or not params[0]:
        raise UnknownRoute("Stasis(ccapp,queue,<queue>): no queue given")
    priority = int(params[1]) if len(params) > 1 and params[1].isdigit() else 0
    if len(params) > 2 and params[2]:
        # the FastAGI call whose queue node sent it here: its record continues in this one
        call.record(EventKind.VARIABLE, {"name": "previous_call_id", "value": params[2]})
    await control.answer()
    return await acd.enter(control, queue=params[0], priority=priority, variables={}, call=call)


@dataclass
class Components:
    db: Database
    journal: SqlJournal
    service: CallService
    ari: AriApp
    ami: AmiClient | None
    agi: FastAgiServer | None
    started_at: float


class Application:
    """Everything ccapp runs, wired together."""

    def __init__(self, settings: Settings, config_path: Path | None = None) -> None:
        self.settings = settings
        #: where SIGHUP and the admin API reload IVR trees from (None: reload is refused)
        self.config_path = config_path
        s = settings
        db = Database(s.database.url)
        rollups = Thresholds(s.kpi.sl_threshold_s, s.kpi.short_abandon_s, s.kpi.repeat_window_s)
        journal = SqlJournal(db, s.database.outbox_dir, rollups=rollups if s.kpi.rollups else None)
        fb = s.fallback
        self.fallback = Fallback(fb.context, fb.extension, fb.priority)
        self.fetcher = AiohttpFetcher()
        self.ivr = build_ivr(s, self.fetcher)
        client = AriClient(s.ari.url, s.ari.username, s.ari.password.get_secret_value(), s.ari.app)
        stream = AriEventStream(
            s.ari.url,
            s.ari.username,
            s.ari.password.get_secret_value(),
            s.ari.app,
            reconnect_max_s=s.ari.reconnect_max_s,
        )
        ari = AriApp(
            client,
            stream,
            on_stasis_start=self._on_stasis_start,
            on_event=self._on_ari_event,
            on_reconnect=self._on_ari_reconnect,
        )
        ami = None
        if s.ami.enabled and s.ami.username and s.ami.password:
            ami = AmiClient(s.ami.host, s.ami.port, s.ami.username, s.ami.password.get_secret_value())
        rec = s.recording
        #: the recording store (also serves downloads)
        self.store = RecordingStore(
            rec.dir,
            rec.asterisk_dir,
            rec.fetch,
            client.recordings if rec.fetch == "ari" else None,
            asterisk_root=rec.asterisk_root,
        )
        #: tokens and roles of the HTTP API
        self.tokens = TokenTable.from_settings(s)
        self.acd: AcdService | None = None
        self.acd_tel: AriAcdTelephony | None = None
        self.board: RealtimeBoard | None = None
        if s.queues:
            self.acd_tel = AriAcdTelephony(ari)
            recorder = AmiCallRecorder(ami, rec.asterisk_dir) if ami is not None else None
            self.acd = AcdService(
                queues=s.queues,
                configs=queue_configs(s),
                agents=acd_agents(s),
                settings=s.acd,
                journal=journal,
                clock=SystemClock(),
                tel=self.acd_tel,
                recordings=Recordings(recorder, SystemClock(), self.store.collect),
                prompts=self.ivr.services.prompts,
                number_dial=s.ivr.transfer.number_dial,
            )
            self.ivr.services = with_reloadable(self.ivr.services, s.ivr, self.acd)
            #: the wallboard's live figures, fed by the ACD as events happen
            self.board = RealtimeBoard(
                SystemClock(),
                zone=s.kpi.time_zone,
                thresholds=Thresholds(s.kpi.sl_threshold_s, s.kpi.short_abandon_s, s.kpi.repeat_window_s),
                queues=s.queues,
            )
            self.acd.listen(self.board)
        #: outbound campaigns (they need the ACD: their agents are a queue's)
        self.dialer: DialerService | None = None
        self.outbound: AriOutbound | None = None
        if s.campaigns and self.acd is not None:
            self.outbound = AriOutbound(ari)
            self.dialer = DialerService(
                campaigns=s.campaigns,
                acd=self.acd,
                tel=self.outbound,
                store=DialerStore(db),
                clock=SystemClock(),
                app_name=s.ari.app,
            )
        service = CallService(
            journal=journal,
            clock=SystemClock(),
            router=build_router(self.ivr, self.acd, self.dialer),
            fallback=self.fallback,
        )
        agi = None
        if s.agi.enabled:
            agi = FastAgiServer(
                self._resolve_agi,
                host=s.agi.host,
                port=s.agi.port,
                fallback=DialplanTarget(fb.context, fb.extension, fb.priority),
            )
        if ami is not None:
            # ccapp's own recording of the call, or else a MixMonitor started by the dialplan, is
            # muted while callers type sensitive digits
            acd = self.acd

            def gate(channel: str, call_id: str) -> RecordingGate:
                fallback = MixMonitorGate(ami, channel)
                return acd.recordings.gate(call_id, fallback) if acd is not None else fallback

            self.ivr.recording_gate = gate
        self.c = Components(db, journal, service, ari, ami, agi, time.monotonic())
        self._stop = asyncio.Event()
        #: set once every listener is up (tests and embedders wait on it)
        self.started = asyncio.Event()
        self._ami_task: asyncio.Task[None] | None = None
        self.ari_disconnected_at: float | None = None
        self.last_reconnect_s: float | None = None

    # ------------------------------------------------------------------ ARI wiring
    async def _on_stasis_start(self, event: StasisStart, control: AriCallControl) -> None:
        ch = event.channel
        if is_listen_channel(ch.id):
            return  # a snoop or external-media channel of a speech node: part of a call already running
        if event.args and event.args[0] == DIAL_ARG:
            # a campaign line whose dial ccapp no longer follows (e.g. from before a restart)
            log.warning("stray campaign line %s; hanging up", ch.name)
            await self.c.ari.client.channels.hangup(ch.id)
            return
        if event.args and event.args[0] == LEG_ARG:
            # a leg the ACD dialled whose dial ccapp no longer follows (e.g. from before a restart)
            log.warning("stray ACD leg %s; hanging up", ch.name)
            await self.c.ari.client.channels.hangup(ch.id)
            return
        control.listen_host = self.settings.ivr.speech.rtp_host
        info = ChannelInfo(ch.id, ch.name, ch.caller_number or None, ch.caller_name or None, ch.exten)

        async def evict(fb: Fallback) -> None:
            await control.continue_in_dialplan(fb.context, fb.extension, fb.priority)

        self.c.service.spawn(
            self.c.service.run_call(control, info, via=Via.ARI, args=event.args, evict=evict),
            name=f"call-{ch.id}",
        )

    async def _on_ari_event(self, event: AriEvent) -> None:
        if isinstance(event, ChannelDestroyed):
            self.c.service.channel_ended(event.channel.id, event.cause, event.cause_txt)
            if self.outbound is not None:
                self.outbound.channel_destroyed(event.channel.id, event.cause, event.cause_txt)
        if isinstance(event, ChannelDestroyed | StasisEnd):
            # a caller who came from the dialplan gets StasisEnd but no ChannelDestroyed: the app is
            # no longer subscribed to the channel once it has left
            # (a task only for a channel ccapp is recording, not for every channel that ends)
            if self.acd is not None and self.acd.recordings.recording_channel(event.channel.id):
                self.c.service.spawn(
                    self.acd.recordings.channel_ended(event.channel.id), name=f"recording-{event.channel.id}"
                )
        elif isinstance(event, EndpointStateChange) and self.acd is not None:
            online = event.endpoint.online
            if online is not None:
                self.acd.endpoint_state(event.endpoint.name, online)

    async def _on_ari_reconnect(self, live: set[str]) -> None:
        if self.ari_disconnected_at is not None:
            self.last_reconnect_s = time.monotonic() - self.ari_disconnected_at
            log.info("ARI reconnected after %.1f s", self.last_reconnect_s)
            self.ari_disconnected_at = None
        lost = self.c.service.channels_vanished(live, Via.ARI)
        if lost:
            log.warning("%d call(s) vanished while ARI was down; records closed as lost", len(lost))
        if self.acd is not None:
            self.c.service.spawn(self._reconcile_acd(), name="acd-reconcile")
            self.c.service.spawn(self._track_agent_phones(), name="acd-endpoints")

    async def _reconcile_acd(self) -> None:
        """Once the calls that vanished have unwound, free agents still marked busy with them."""
        await asyncio.sleep(ACD_RECONCILE_DELAY_S)
        if self.acd is not None:
            fixed = self.acd.reconcile()
            if fixed:
                log.warning("agents freed after reconnect: %s", ", ".join(fixed))

    async def _track_agent_phones(self) -> None:
        """Subscribe to the agents' phones and take their state now. Runs after every connection
        of the events socket (the first one too): Asterisk forgets subscriptions when it restarts,
        and phones may have registered or dropped while ccapp was not listening."""
        if self.acd is None:
            return
        ari = self.c.ari.client
        for endpoint in sorted(self.acd.agent_endpoints()):
            tech, _, resource = endpoint.partition("/")
            try:
                await ari.applications.subscribe(ari.app, f"endpoint:{endpoint}")
                snapshot = await ari.endpoints.get(tech, resource)
            except NotConnected as exc:
                log.warning("cannot follow agent phones now (the next connection retries): %s", exc)
                return
            except (TelephonyError, ProtocolError) as exc:
                log.warning("cannot follow agent phone %s: %s", endpoint, exc)
                continue
            if snapshot.online is not None:
                self.acd.endpoint_state(endpoint, snapshot.online)

    async def _on_ari_disconnect(self) -> None:
        if self.ari_disconnected_at is None:
            self.ari_disconnected_at = time.monotonic()
        log.warning("ARI events connection lost; reconnecting")

    # ------------------------------------------------------------------ AGI / AMI wiring
    def _resolve_agi(self, request: AgiRequest) -> AgiHandler:
        async def handle(session: AgiSession) -> None:
            req = session.request
            info = ChannelInfo(
                req.uniqueid, req.channel, req.callerid, req.calleridname, req.dnid or req.extension
            )
            ami = self.c.ami

            async def evict(fb: Fallback) -> None:
                if ami is None or not ami.connected:
                    raise NotConnected("AMI is needed to move an AGI call out of a running command")
                await ami.action(
                    "Redirect",
                    {
                        "Channel": req.channel,
                        "Context": fb.context,
                        "Exten": fb.extension,
                        "Priority": fb.priority,
                    },
                )

            await self.c.service.run_call(
                session, info, via=Via.AGI, args=tuple(req.path.split("/")), evict=evict
            )

        return handle

    async def _on_ami_hangup(self, message: AmiMessage) -> None:
        uniqueid = message.get("Uniqueid")
        if uniqueid:
            cause = message.get("Cause")
            self.c.service.channel_ended(
                uniqueid, int(cause) if cause and cause.isdigit() else None, message.get("Cause-txt")
            )

    async def _keep_ami(self, ami: AmiClient) -> None:
        delay = 0.5
        while True:
            try:
                await ami.connect()
                return
            except NotConnected as exc:
                log.warning("AMI: %s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _purge_daily(self) -> None:
        """Delete recordings past ``recording.retention_days``: at start, then once a day."""
        while True:
            try:
                deleted = await purge_expired(
                    self.c.db, self.store, SystemClock().now(), self.settings.recording.retention_days
                )
                if deleted:
                    log.info("recordings purge: %d deleted", deleted)
            except Exception:  # a maintenance loop: log, try again tomorrow
                log.exception("recordings purge failed")
            await asyncio.sleep(PURGE_EVERY_S)

    # ------------------------------------------------------------------ health
    async def _ari_ready(self) -> bool:
        return self.c.ari.stream.connected

    async def _db_ready(self) -> bool:
        return await self.c.db.ping()

    def metrics(self) -> Mapping[str, float]:
        c = self.c
        values: dict[str, float] = {
            "calls_active": len(c.service.active),
            "journal_pending": c.journal.pending,
            "ari_connected": float(c.ari.stream.connected),
            "ari_reconnects_total": c.ari.stream.reconnects,
            "uptime_seconds": time.monotonic() - c.started_at,
        }
        values.update({f"calls_{k}_total": v for k, v in c.service.stats.items()})
        values.update({f"journal_{k}_total": v for k, v in c.journal.stats.items()})
        if self.acd is not None:
            values["acd_calls_waiting"] = len(self.acd.router)
            for agent in self.acd.desk.agents.values():
                key = f"acd_agents_{agent.state.value}"
                values[key] = values.get(key, 0) + 1
        if self.dialer is not None:
            runs = self.dialer.runs.values()
            values["dialer_campaigns_running"] = sum(1 for r in runs if r.status == "running")
            values["dialer_lines_in_flight"] = sum(1 for a in self.dialer.attempts.values() if a.in_flight)
            values["dialer_attempts_in_progress"] = len(self.dialer.attempts)
            values["dialer_window_live_answers"] = sum(r.window_live for r in runs)
            values["dialer_window_abandoned"] = sum(r.window_abandoned for r in runs)
        if self.last_reconnect_s is not None:
            values["ari_last_reconnect_seconds"] = self.last_reconnect_s
        return values

    # ------------------------------------------------------------------ life cycle
    def request_stop(self) -> None:
        self._stop.set()

    def reload_trees(self) -> tuple[bool, list[str]]:
        """Re-read the config file and put its IVR trees in service if all of them validate.

        What reloads is everything trees depend on: trees, schedules, queue names, transfer settings and
        the queue stub's prompts, validated together so a tree accepted here can run. Calls already in
        a tree finish on the tree (and settings) they started with. On any problem nothing changes and
        the problems are returned (and logged). Other settings need a restart.
        """
        if self.config_path is None:
            return False, ["no config file to reload from"]
        try:
            fresh = load_settings(self.config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload rejected, trees unchanged: %s", problem)
            return False, exc.problems
        cfg = fresh.ivr
        try:
            tokens = TokenTable.from_settings(fresh)
        except ConfigError as exc:
            return False, exc.problems
        self.tokens.replace(tokens)
        self.ivr.services = with_reloadable(self.ivr.services, cfg, self.acd)
        report = self.ivr.registry.replace(cfg.trees, cfg.schedules)
        log.info("IVR trees reloaded (%s)", report)
        return True, [str(report)]

    async def run(self) -> int:
        c, s = self.c, self.settings
        await c.journal.start()
        c.ari.stream.on_disconnect = self._on_ari_disconnect
        await c.ari.start()
        if c.ami is not None:
            c.ami.on_event("Hangup", self._on_ami_hangup)
            self._ami_task = asyncio.create_task(self._keep_ami(c.ami), name="ami-connect")
        if c.agi is not None:
            await c.agi.start()
        if self.acd is not None:
            self.acd.start()
        if self.dialer is not None:
            await self.dialer.start()
        c.service.spawn(self._purge_daily(), name="recordings-purge")
        recognizer = self.ivr.services.recognizer
        if isinstance(recognizer, PocketsphinxRecognizer):
            await asyncio.to_thread(recognizer.warm_up)  # the first speech call should not wait for it
        health = make_health_app({"asterisk": self._ari_ready, "database": self._db_ready}, self.metrics)
        token = s.http.admin_token.get_secret_value() if s.http.admin_token else None
        add_admin_routes(health, token=token, reload=self.reload_trees, trees=self.ivr.registry.versions)
        if self.acd is not None:
            add_acd_routes(health, self.acd, self.tokens)
        if self.board is not None:
            add_wallboard_routes(health, self.board, self.tokens)
        if self.dialer is not None:
            add_dialer_routes(health, self.dialer, self.tokens)
        add_recording_routes(health, SqlRecordings(c.db, self.store), self.tokens)
        add_kpi_routes(health, EngineSource(c.db), s.kpi, self.tokens)
        store = self.ivr.services.prompts
        if s.ivr.tts.delivery == "http" and isinstance(store, EspeakPromptStore):
            health.add_routes(tts_routes(store.cache_dir))
        runner = web.AppRunner(health, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, s.http.host, s.http.port)
        await site.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload_trees)
        log.info(
            "ccapp running: ARI app %r, FastAGI %s:%s, HTTP %s:%s",
            s.ari.app,
            s.agi.host,
            s.agi.port,
            s.http.host,
            s.http.port,
        )
        self.started.set()
        try:
            await self._stop.wait()
        finally:
            log.info("stopping: no new calls; %d in progress", len(c.service.active))
            if self.dialer is not None:
                await self.dialer.stop()  # no new lines; calls in progress drain below
            await c.service.drain(s.shutdown.grace_s)
            if self.outbound is not None:
                await self.outbound.close()
            if self.acd is not None:
                await self.acd.stop()
            if self.acd_tel is not None:
                await self.acd_tel.close()
            if c.agi is not None:
                await c.agi.stop(grace=2.0)
            await c.ari.stop()
            if self._ami_task is not None:
                self._ami_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._ami_task
            if c.ami is not None:
                await c.ami.close()
            await c.journal.stop()
            await self.fetcher.close()
            await runner.cleanup()
            await c.db.dispose()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            log.info("stopped")
        return 0


async def run(settings: Settings, config_path: Path | None = None) -> int:
    """`ccapp run`."""
    try:
        return await Application(settings, config_path).run()
    except CcappError as exc:
        log.error("cannot run: %s", exc)
        return 1
