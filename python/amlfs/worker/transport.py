"""The worker's end of the wire: a DEALER socket owned by one I/O thread.

pyzmq sockets are not thread-safe, so only the I/O thread touches the socket. Other
threads hand it frames through a queue (and a socketpair byte that wakes its poll) and
read what it routes to them from :attr:`Transport.inbox`. The I/O thread

- sends ``heartbeat`` every ``heartbeatIntervalMs`` after ``welcome``, whatever the
  training thread is doing;
- validates every incoming header (:class:`~amlfs.worker.wire.WireCodec`, then ``runId``,
  sender, direction, payload), logs a one-line reason naming the field and answers
  ``reject`` for a bad one, and keeps running;
- answers ``keep`` and ``checkpointRequest`` itself from the :class:`StateStore`, so a
  winner uploads while the training thread trains the next task;
- moves checkpoints in chunks with credit-based flow control, both ways (docs/protocol.md,
  "Checkpoint transfer"): a chunk goes out only against credit, a received chunk is
  written and acknowledged with one chunk of credit, the sha256 of the whole is checked
  before the state is used, and a transfer without progress for ``transfer_timeout_s``
  is abandoned (``checkpointAbort``). Chunks are separate messages, so heartbeats
  interleave with them;
- declares the controller lost when nothing at all arrives for ``heartbeatTimeoutMs``
  after ``welcome`` (or no ``welcome`` within the startup timeout), and tells the
  training thread (an :class:`Event` in the inbox) and the ``on_lost`` callback.
"""
from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import zmq

from ..checkpoint import PackedState
from .errors import ControllerLost, HeaderError, SessionClosed, ShutdownRequested, WorkerError
from .settings import CurveKeys
from .store import IncomingTransfer, OutgoingTransfer, StateStore
from .wire import WireCodec

log = logging.getLogger("amlfs.worker")

#: Types the controller sends (docs/protocol.md); anything else from it is rejected.
FROM_CONTROLLER = frozenset(
    {"welcome", "heartbeat", "initRequest", "task", "keep", "checkpointRequest", "checkpoint", "checkpointChunk",
     "credit", "checkpointAbort", "reject", "shutdown"}
)
#: Types routed to the training thread.
TO_MAIN = frozenset({"welcome", "initRequest", "task"})

_POLL_MAX_MS = 100
_CLOSE_LINGER_MS = 2000


@dataclass
class Message:
    """An incoming message: its validated header and payload frames."""

    header: Dict[str, Any]
    payload: List[bytes] = field(default_factory=list)
    error: Optional[str] = None  # set when a reply the training thread waits for failed a check

    @property
    def type(self) -> str:
        return self.header["type"]


@dataclass
class Event:
    """The end of the session, for the training thread: ``error`` is what to raise."""

    error: SessionClosed


class Transport:
    def __init__(
        self,
        endpoint: str,
        worker_id: str,
        run_id: str,
        store: StateStore,
        *,
        codec: Optional[WireCodec] = None,
        startup_timeout_s: float = 60.0,
        on_lost: Optional[Callable[[ControllerLost], None]] = None,
        chunk_bytes: Optional[int] = None,
        window_chunks: Optional[int] = None,
        transfer_timeout_s: Optional[float] = None,
        max_checkpoint_bytes: Optional[int] = None,
        curve: Optional[CurveKeys] = None,
    ):
        self.endpoint = endpoint
        self.worker_id = worker_id
        self.run_id = run_id
        self.codec = codec or WireCodec()
        self.store = store
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        self.startup_timeout_s = startup_timeout_s
        self.on_lost = on_lost
        # Unset: the wire schema's defaults, the same values the controller uses.
        wire = self.codec.schema
        self.chunk_bytes = chunk_bytes if chunk_bytes is not None else wire["x-defaultChunkBytes"]
        self.window_chunks = window_chunks if window_chunks is not None else wire["x-defaultWindowChunks"]
        self.transfer_timeout_s = (transfer_timeout_s if transfer_timeout_s is not None
                                   else wire["x-defaultTransferTimeoutMs"] / 1000.0)
        self.max_checkpoint_bytes = max_checkpoint_bytes if max_checkpoint_bytes is not None else wire["x-maxCheckpointBytes"]
        self.curve = curve
        self.max_chunk_bytes: int = wire["x-maxChunkBytes"]
        #: Transfers in flight, by transferId (I/O thread only).
        self.outgoing: Dict[str, OutgoingTransfer] = {}
        self.incoming: Dict[str, IncomingTransfer] = {}
        self._transfer_counter = 0

        self.heartbeat_interval_s: Optional[float] = None
        self.heartbeat_timeout_s: Optional[float] = None
        self.lost: Optional[ControllerLost] = None
        self.shutdown: Optional[ShutdownRequested] = None

        self._outbox: "queue.Queue[List[Any]]" = queue.Queue()
        self._commands: "queue.Queue[Callable[[], None]]" = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._pending: set = set()  # msgIds whose replies go to the training thread
        self._pending_lock = threading.Lock()
        self._queued = 0
        self._sent = 0
        self._sent_cond = threading.Condition()
        self._stalled: Optional[List[Any]] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # ---- any thread -------------------------------------------------------------------

    def start(self) -> None:
        """Connect and start the I/O thread."""
        ready = threading.Event()
        failure: List[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name=f"amlfs-io-{self.worker_id}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def next_msg_id(self) -> str:
        with self._counter_lock:
            self._counter += 1
            return f"{self.worker_id}-{self._counter}"

    def header(self, kind: str, fields: Dict[str, Any], reply_to: Optional[str] = None) -> Dict[str, Any]:
        header = {
            "protocol": self.codec.protocol,
            "type": kind,
            "msgId": self.next_msg_id(),
            "runId": self.run_id,
            "sender": self.worker_id,
        }
        if reply_to is not None:
            header["replyTo"] = reply_to
        header.update(fields)
        return header

    def send(
        self,
        kind: str,
        fields: Dict[str, Any],
        *,
        payload: Optional[List[bytes]] = None,
        reply_to: Optional[str] = None,
        expect_reply: bool = False,
    ) -> str:
        """Queue a message (validated here, in the caller's thread); returns its ``msgId``.

        With ``expect_reply``, the answer (``replyTo`` or a ``reject`` naming it) is routed
        to :attr:`inbox`.
        """
        header = self.header(kind, fields, reply_to)
        frames = [self.codec.encode(header), *(payload or [])]
        if expect_reply:
            with self._pending_lock:
                self._pending.add(header["msgId"])
        self._enqueue(frames)
        return header["msgId"]

    def upload(self, packed: PackedState, reply_to: Optional[str] = None, task_id: Optional[str] = None) -> None:
        """Send ``packed`` as a chunked checkpoint (from any thread; the I/O thread does the sending)."""
        self._commands.put(lambda: self._start_upload(packed, reply_to, task_id))
        self._wake()

    def done_waiting(self, msg_id: str) -> None:
        with self._pending_lock:
            self._pending.discard(msg_id)

    def send_raw(self, frames: List[bytes]) -> None:
        """Queue frames as they are, unvalidated (for fixtures that misbehave on purpose)."""
        self._enqueue(list(frames))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every message queued so far was handed to ZeroMQ; whether it was in time."""
        deadline = time.monotonic() + timeout_s
        with self._sent_cond:
            target = self._queued
            while self._sent < target and self._thread is not None and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._sent_cond.wait(left)
            return self._sent >= target

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the I/O thread (pending messages get up to 2 s to leave) and close the socket."""
        self._stop.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def _enqueue(self, frames: List[Any]) -> None:
        with self._sent_cond:
            self._queued += 1
        self._outbox.put(frames)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # closed, or the buffer is full: the I/O thread wakes up anyway
            pass

    # ---- I/O thread -------------------------------------------------------------------

    def _run(self, ready: threading.Event, failure: List[BaseException]) -> None:
        context = zmq.Context()
        dealer = context.socket(zmq.DEALER)
        try:
            dealer.setsockopt(zmq.ROUTING_ID, self.worker_id.encode("utf-8"))
            dealer.setsockopt(zmq.LINGER, 0)
            if self.curve is not None:  # a CURVE client: encrypted, and only an allowlisted key gets in
                dealer.curve_serverkey = self.curve.server_public_key.encode("ascii")
                dealer.curve_publickey = self.curve.public_key.encode("ascii")
                dealer.curve_secretkey = self.curve.secret_key.encode("ascii")
            dealer.connect(self.endpoint)
        except zmq.ZMQError as error:
            failure.append(WorkerError(f"cannot connect to {self.endpoint!r}: {error}"))
            dealer.close(0)
            context.term()
            ready.set()
            return
        self._dealer = dealer
        poller = zmq.Poller()
        poller.register(dealer, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        started = time.monotonic()
        self._last_rx = started
        next_heartbeat: Optional[float] = None
        ready.set()
        linger = _CLOSE_LINGER_MS
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(_POLL_MAX_MS if next_heartbeat is None else self._poll_ms(next_heartbeat)))
                if self._wake_r.fileno() in events or self._wake_r in events:
                    self._drain_wake()
                self._run_commands()
                self._send_queued(dealer)
                if dealer in events:
                    self._receive_all(dealer)
                now = time.monotonic()
                self._expire_transfers(now)
                if self.shutdown is not None:
                    next_heartbeat = None
                elif self.heartbeat_interval_s is not None:
                    if next_heartbeat is None:
                        next_heartbeat = now
                    if now >= next_heartbeat:
                        self._send_now([self.codec.encode(self.header("heartbeat", {}))])
                        next_heartbeat = max(next_heartbeat + self.heartbeat_interval_s, now)
                    if now - self._last_rx > self.heartbeat_timeout_s:
                        silent_ms = int((now - self._last_rx) * 1000)
                        timeout_ms = int(self.heartbeat_timeout_s * 1000)
                        self._lose(
                            ControllerLost(
                                f"controller at {self.endpoint} silent for {silent_ms} ms "
                                f"(heartbeatTimeoutMs {timeout_ms}); exiting",
                                exit_code=ControllerLost.SILENT,
                            )
                        )
                        linger = 0
                        break
                elif now - started > self.startup_timeout_s:
                    self._lose(
                        ControllerLost(
                            f"no welcome from the controller at {self.endpoint} within "
                            f"{int(self.startup_timeout_s * 1000)} ms of hello; exiting",
                            exit_code=ControllerLost.NO_WELCOME,
                        )
                    )
                    linger = 0
                    break
            self._send_queued(dealer)
        except Exception as error:  # a bug in this thread must not leave the session hanging
            log.exception("I/O thread failed")
            self._lose(ControllerLost(f"worker I/O thread failed: {error!r}"))
            linger = 0
        finally:
            dealer.close(linger)
            context.term()
            with self._sent_cond:
                self._sent_cond.notify_all()

    def _run_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def _poll_ms(self, next_heartbeat: float) -> int:
        return max(0, min(_POLL_MAX_MS, int((next_heartbeat - time.monotonic()) * 1000) + 1))

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _send_queued(self, dealer) -> None:
        """Hand queued messages to ZeroMQ without ever blocking (a full pipe waits for the next turn)."""
        while True:
            frames = self._stalled
            if frames is None:
                try:
                    frames = self._outbox.get_nowait()
                except queue.Empty:
                    return
            try:
                dealer.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                self._stalled = frames
                return
            self._stalled = None
            with self._sent_cond:
                self._sent += 1
                self._sent_cond.notify_all()

    def _send_now(self, frames: List[Any]) -> None:
        """Send from the I/O thread, after what is already queued."""
        self._enqueue(frames)
        self._send_queued(self._dealer)

    def _receive_all(self, dealer) -> None:
        while True:
            try:
                frames = dealer.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            self._last_rx = time.monotonic()
            self._handle(frames)

    def _handle(self, frames: List[bytes]) -> None:
        head, payload = frames[0], frames[1:]
        try:
            header = self.codec.decode(head)
            self._check(header, payload)
        except HeaderError as error:
            self._reject(error, head)
            return
        kind = header["type"]
        if kind == "welcome":
            self._on_welcome(header)
        elif kind in TO_MAIN:
            self.inbox.put(Message(header))
        elif kind == "heartbeat":
            pass
        elif kind == "keep":
            if not header["keep"] and self.store.release(header["taskId"]):
                log.debug("released the trained state of %s", header["taskId"])
        elif kind == "checkpointRequest":
            self._upload(header)
        elif kind == "checkpoint":
            self._on_announce(header)
        elif kind == "checkpointChunk":
            self._on_chunk(header, payload[0])
        elif kind == "credit":
            self._on_credit(header)
        elif kind == "checkpointAbort":
            self._on_abort(header)
        elif kind == "reject":
            self._on_reject(header)
        elif kind == "shutdown":
            self.shutdown = ShutdownRequested(f"controller sent shutdown: {header['reason']}")
            log.info("shutdown: %s", header["reason"])
            self.inbox.put(Event(self.shutdown))

    def _check(self, header: Dict[str, Any], payload: List[bytes]) -> None:
        """The receiver's checks after the schema: run, sender, direction, payload."""
        msg_id = header["msgId"]
        if header["runId"] != self.run_id:
            raise HeaderError("runId", f"`runId`: expected {self.run_id!r}, got {header['runId']!r}", msg_id)
        if header["sender"] != "controller":
            raise HeaderError("sender", f"`sender`: expected \"controller\", got {header['sender']!r}", msg_id)
        kind = header["type"]
        if kind not in FROM_CONTROLLER:
            raise HeaderError("type", f"`type`: {kind} is not sent by the controller", msg_id)
        expected = 1 if kind == "checkpointChunk" else 0
        if len(payload) != expected:
            raise HeaderError("payload", f"`payload`: {kind} carries {expected} frame(s), got {len(payload)}", msg_id)
        if kind == "checkpoint" and header["sizeBytes"] > self.max_checkpoint_bytes:
            raise HeaderError(
                "sizeBytes", f"`sizeBytes`: expected at most {self.max_checkpoint_bytes}, got {header['sizeBytes']}", msg_id
            )
        if kind == "checkpointChunk" and not 1 <= len(payload[0]) <= self.max_chunk_bytes:
            raise HeaderError("payload", f"`payload`: a chunk has 1 to {self.max_chunk_bytes} bytes, got {len(payload[0])}",
                              msg_id)

    def _reject(self, error: HeaderError, head: bytes) -> None:
        log.warning("rejected a message from the controller (msgId %s): %s", error.msg_id, error.reason)
        if _peek_type(head) == "reject":
            return  # never answer a reject with a reject
        peeked = _peek(head) if head else None
        with self._pending_lock:
            waiting = peeked is not None and peeked.get("replyTo") in self._pending
        if waiting:
            self.inbox.put(Message(peeked, error=error.reason))
        reject = self.header("reject", {"reason": error.reason[:4096], "rejectedMsgId": error.msg_id})
        self._send_now([self.codec.encode(reject)])

    def _on_welcome(self, header: Dict[str, Any]) -> None:
        if self.heartbeat_interval_s is not None:
            log.warning("ignored a second welcome (msgId %s)", header["msgId"])
            return
        self.heartbeat_interval_s = header["heartbeatIntervalMs"] / 1000.0
        self.heartbeat_timeout_s = header["heartbeatTimeoutMs"] / 1000.0
        self.inbox.put(Message(header))

    def _upload(self, header: Dict[str, Any]) -> None:
        msg_id = header["msgId"]
        task_id, sha = header.get("taskId"), header.get("sha256")
        if task_id is not None:
            packed = self.store.result(task_id)
            if packed is None:
                self._reject(HeaderError("taskId", f"`taskId`: no trained state held for task {task_id}", msg_id), b"")
                return
            if sha is not None and sha != packed.sha256:
                self._reject(HeaderError("sha256", f"`sha256`: task {task_id} has state {packed.sha256}", msg_id), b"")
                return
        elif sha is not None:
            data = self.store.find(sha)
            if data is None:
                self._reject(HeaderError("sha256", f"`sha256`: no state {sha} held", msg_id), b"")
                return
            packed = PackedState(data=data, sha256=sha, epoch=-1)
        else:
            self._reject(HeaderError("taskId", "`taskId`: checkpointRequest needs taskId or sha256", msg_id), b"")
            return
        if task_id is not None:
            self.store.uploaded(task_id, packed)
        self._start_upload(packed, msg_id, task_id)

    # ---- checkpoint transfers (I/O thread) ---------------------------------------------

    def _start_upload(self, packed: PackedState, reply_to: Optional[str], task_id: Optional[str]) -> None:
        """Announce ``packed``; its chunks follow as the controller grants credit."""
        self._transfer_counter += 1
        transfer_id = f"{self.worker_id}-t{self._transfer_counter}"
        fields: Dict[str, Any] = {"sha256": packed.sha256, "sizeBytes": packed.size_bytes,
                                  "chunkBytes": self.chunk_bytes, "transferId": transfer_id}
        if task_id is not None:
            fields["taskId"] = task_id
        self.outgoing[transfer_id] = OutgoingTransfer(transfer_id, packed.data, self.chunk_bytes, time.monotonic())
        self._send_now([self.codec.encode(self.header("checkpoint", fields, reply_to=reply_to))])
        log.info("uploading %s (%d bytes, transfer %s)%s", packed.sha256[:12], packed.size_bytes, transfer_id,
                 f" of {task_id}" if task_id else "")

    def _on_credit(self, header: Dict[str, Any]) -> None:
        transfer = self.outgoing.get(header["transferId"])
        if transfer is None:
            return  # finished or abandoned meanwhile
        transfer.credit += header["chunks"]
        transfer.last_progress = time.monotonic()
        while True:
            chunk = transfer.take()
            if chunk is None:
                break
            index, offset, data = chunk
            fields = {"transferId": transfer.transfer_id, "index": index, "offset": offset}
            self._send_now([self.codec.encode(self.header("checkpointChunk", fields)), data])
        if transfer.done:
            del self.outgoing[transfer.transfer_id]

    def _on_announce(self, header: Dict[str, Any]) -> None:
        transfer = IncomingTransfer(header, time.monotonic())
        self.incoming[transfer.transfer_id] = transfer
        self._grant(transfer)

    def _on_chunk(self, header: Dict[str, Any], data: bytes) -> None:
        transfer = self.incoming.get(header["transferId"])
        if transfer is None:
            return  # chunks still in flight after an abandon (at most a window of them)
        try:
            transfer.accept(header["index"], header["offset"], data, header["msgId"])
            transfer.last_progress = time.monotonic()
            if not transfer.done:
                self._grant(transfer)
                return
            del self.incoming[transfer.transfer_id]
            state = transfer.finish()
        except HeaderError as error:
            self._abandon_incoming(transfer, error.reason)
            return
        self._on_checkpoint(transfer.header, state)

    def _grant(self, transfer: IncomingTransfer) -> None:
        chunks = transfer.grant(self.window_chunks)
        if chunks > 0:
            self._send_now([self.codec.encode(self.header("credit", {"transferId": transfer.transfer_id,
                                                                     "chunks": chunks}))])

    def _on_checkpoint(self, header: Dict[str, Any], data: bytes) -> None:
        """A complete, verified checkpoint: to the thread that asked for it, else kept as a start state."""
        with self._pending_lock:
            waiting = header.get("replyTo") in self._pending
        if waiting:
            self.inbox.put(Message(header, [data]))
        else:
            self.store.add_start(header["sha256"], data)
            log.info("stored unrequested checkpoint %s as a start state", header["sha256"][:12])

    def _on_abort(self, header: Dict[str, Any]) -> None:
        transfer_id, reason = header["transferId"], header["reason"]
        log.warning("controller abandoned transfer %s: %s", transfer_id, reason)
        self.outgoing.pop(transfer_id, None)
        transfer = self.incoming.pop(transfer_id, None)
        if transfer is not None:
            self._tell_waiting(transfer, f"the controller abandoned the transfer: {reason}")

    def _abandon_incoming(self, transfer: IncomingTransfer, reason: str) -> None:
        """Drop a download (nothing of it is used), tell the controller and the thread waiting for it."""
        self.incoming.pop(transfer.transfer_id, None)
        log.warning("abandoned transfer %s: %s", transfer.transfer_id, reason)
        abort = self.header("checkpointAbort", {"transferId": transfer.transfer_id, "reason": reason[:4096]})
        self._send_now([self.codec.encode(abort)])
        self._tell_waiting(transfer, reason)

    def _tell_waiting(self, transfer: IncomingTransfer, reason: str) -> None:
        with self._pending_lock:
            waiting = transfer.header.get("replyTo") in self._pending
        if waiting:
            self.inbox.put(Message(transfer.header, error=reason))

    def _expire_transfers(self, now: float) -> None:
        for transfer in [t for t in self.incoming.values() if now - t.last_progress > self.transfer_timeout_s]:
            self._abandon_incoming(transfer, f"no chunk for {int(self.transfer_timeout_s * 1000)} ms")
        for transfer in [t for t in self.outgoing.values() if now - t.last_progress > self.transfer_timeout_s]:
            del self.outgoing[transfer.transfer_id]
            reason = f"no credit for {int(self.transfer_timeout_s * 1000)} ms"
            log.warning("abandoned transfer %s: %s", transfer.transfer_id, reason)
            self._send_now([self.codec.encode(self.header("checkpointAbort", {"transferId": transfer.transfer_id,
                                                                              "reason": reason}))])

    def _on_reject(self, header: Dict[str, Any]) -> None:
        log.warning("controller rejected %s: %s", header["rejectedMsgId"], header["reason"])
        with self._pending_lock:
            waiting = header["rejectedMsgId"] in self._pending
        if waiting:
            self.inbox.put(Message(header))

    def _lose(self, error: ControllerLost) -> None:
        self.lost = error
        log.error("%s", error)
        self.inbox.put(Event(error))
        if self.on_lost is not None:
            self.on_lost(error)


def _peek(head: bytes) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(bytes(head).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _peek_type(head: bytes) -> Optional[str]:
    header = _peek(head) if head else None
    return header.get("type") if header else None
