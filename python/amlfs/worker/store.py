"""The checkpoints a worker holds in memory, shared by the I/O thread and the training thread.

- **Held results** (by task id): trained states whose ``result`` was sent, kept until
  ``keep {keep: false}`` releases them or ``checkpointRequest {taskId}`` uploads them.
- **Start states** (by sha256): the state tasks start from (``w_t``), downloaded or
  built (``initRequest``), and winners this worker uploaded, so the next epoch's tasks
  need no download. At most ``max_starts`` are kept, least recently used dropped first.

and the checkpoints in flight (:class:`OutgoingTransfer`, :class:`IncomingTransfer`),
which only the I/O thread touches.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple

from ..checkpoint import PackedState
from .errors import HeaderError


class StateStore:
    def __init__(self, max_starts: int = 3):
        self._lock = threading.Lock()
        self._held: Dict[str, PackedState] = {}
        self._uploaded: "OrderedDict[str, str]" = OrderedDict()  # task id -> sha256
        self._starts: "OrderedDict[str, bytes]" = OrderedDict()
        self._max_starts = max_starts

    def hold(self, task_id: str, packed: PackedState) -> None:
        """Keep the trained state of ``task_id`` until released or uploaded."""
        with self._lock:
            self._held[task_id] = packed

    def release(self, task_id: str) -> bool:
        """Drop a held result (``keep {keep: false}``); whether one was held."""
        with self._lock:
            return self._held.pop(task_id, None) is not None

    def result(self, task_id: str) -> Optional[PackedState]:
        """The trained state of ``task_id``: held, or uploaded earlier and still a start state."""
        with self._lock:
            packed = self._held.get(task_id)
            if packed is not None:
                return packed
            sha = self._uploaded.get(task_id)
            data = self._starts.get(sha) if sha else None
            return PackedState(data=data, sha256=sha, epoch=-1) if data is not None else None

    def uploaded(self, task_id: str, packed: PackedState) -> None:
        """After an upload: the result becomes a start state under its sha256 (no longer held)."""
        with self._lock:
            self._held.pop(task_id, None)
            self._uploaded[task_id] = packed.sha256
            while len(self._uploaded) > 16:
                self._uploaded.popitem(last=False)
            self._add_start_locked(packed.sha256, packed.data)

    def add_start(self, sha256: str, data: bytes) -> None:
        with self._lock:
            self._add_start_locked(sha256, data)

    def start(self, sha256: str) -> Optional[bytes]:
        """The bytes of a start state, or ``None`` when it must be downloaded."""
        with self._lock:
            data = self._starts.get(sha256)
            if data is not None:
                self._starts.move_to_end(sha256)
            return data

    def find(self, sha256: str) -> Optional[bytes]:
        """Any state held under ``sha256``: a start state or a held result."""
        data = self.start(sha256)
        if data is not None:
            return data
        with self._lock:
            for packed in self._held.values():
                if packed.sha256 == sha256:
                    return packed.data
        return None

    def held_task_ids(self):
        with self._lock:
            return sorted(self._held)

    def _add_start_locked(self, sha256: str, data: bytes) -> None:
        self._starts[sha256] = data
        self._starts.move_to_end(sha256)
        while len(self._starts) > self._max_starts:
            self._starts.popitem(last=False)


class OutgoingTransfer:
    """A checkpoint this worker sends in chunks (docs/protocol.md, "Checkpoint transfer").

    Chunk ``i`` is ``data[i * chunk_bytes : (i + 1) * chunk_bytes]``, sent only against
    credit: at most the receiver's window is ever unacknowledged. Slices are views, so
    sending holds no copy of the state.
    """

    def __init__(self, transfer_id: str, data: bytes, chunk_bytes: int, now: float):
        self.transfer_id = transfer_id
        self.view = memoryview(data)
        self.chunk_bytes = chunk_bytes
        self.chunks = -(-len(data) // chunk_bytes)
        self.next = 0
        self.credit = 0
        self.last_progress = now

    def take(self) -> Optional[Tuple[int, int, memoryview]]:
        """The next chunk the credit allows, as ``(index, offset, bytes)``, or ``None``."""
        if self.credit <= 0 or self.next >= self.chunks:
            return None
        index, offset = self.next, self.next * self.chunk_bytes
        self.next += 1
        self.credit -= 1
        return index, offset, self.view[offset : offset + self.chunk_bytes]

    @property
    def done(self) -> bool:
        return self.next >= self.chunks


class IncomingTransfer:
    """A checkpoint this worker receives in chunks, written in order into the buffer the
    state will live in (its size is announced), hashed as it comes; one chunk of credit
    is granted per chunk written, so ZeroMQ never buffers more than the window.
    """

    def __init__(self, header: Dict[str, Any], now: float):
        self.header = header
        self.transfer_id: str = header["transferId"]
        self.size_bytes: int = header["sizeBytes"]
        self.chunk_bytes: int = header["chunkBytes"]
        self.chunks = -(-self.size_bytes // self.chunk_bytes)
        self.buffer = bytearray(self.size_bytes)
        self.hasher = hashlib.sha256()
        self.next = 0
        self.credited = 0
        self.last_progress = now

    def grant(self, window: int) -> int:
        """Chunks of credit to grant now: the window at first, then one per chunk written."""
        chunks = min(window if self.credited == 0 else 1, self.chunks - self.credited)
        self.credited += max(chunks, 0)
        return max(chunks, 0)

    def accept(self, index: int, offset: int, data: bytes, msg_id: Optional[str] = None) -> None:
        """Write chunk ``index``; :class:`HeaderError` naming the field when it is not the one due."""
        expected_len = min(self.chunk_bytes, self.size_bytes - offset) if offset < self.size_bytes else 0
        if index != self.next:
            raise HeaderError("index", f"`index`: expected chunk {self.next} next, got {index}", msg_id)
        if index >= self.credited:
            raise HeaderError("index", f"`index`: chunk {index} is beyond the {self.credited} chunks of credit", msg_id)
        if offset != index * self.chunk_bytes:
            raise HeaderError("offset", f"`offset`: chunk {index} starts at {index * self.chunk_bytes}, got {offset}", msg_id)
        if len(data) != expected_len:
            raise HeaderError("payload", f"`payload`: chunk {index} has {expected_len} bytes, got {len(data)}", msg_id)
        self.buffer[offset : offset + len(data)] = data
        self.hasher.update(data)
        self.next += 1

    @property
    def done(self) -> bool:
        return self.next >= self.chunks

    def finish(self) -> bytes:
        """The verified bytes; :class:`HeaderError` (``sha256``) when they do not hash to the announced sha256."""
        digest = self.hasher.hexdigest()
        if digest != self.header["sha256"]:
            raise HeaderError(
                "sha256", f"`sha256`: announced {self.header['sha256']}, the {self.chunks} chunks hash to {digest}",
                self.header["msgId"],
            )
        data = bytes(self.buffer)
        self.buffer = bytearray()
        return data
