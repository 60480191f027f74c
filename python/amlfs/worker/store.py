"""The checkpoints a worker holds in memory, shared by the I/O thread and the training thread.

- **Held results** (by task id): trained states whose ``result`` was sent, kept until
  ``keep {keep: false}`` releases them or ``checkpointRequest {taskId}`` uploads them.
- **Start states** (by sha256): the state tasks start from (``w_t``), downloaded or
  built (``initRequest``), and winners this worker uploaded, so the next epoch's tasks
  need no download. At most ``max_starts`` are kept, least recently used dropped first.

:func:`requested_state` answers a ``checkpointRequest`` from it; the checkpoints in flight
are in :mod:`amlfs.worker.transfers`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Dict, Optional

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


def requested_state(store: StateStore, header: Dict[str, Any]) -> PackedState:
    """The state a ``checkpointRequest`` asks for: a held result by ``taskId`` (then marked uploaded,
    so it stays a start state) or a state by ``sha256``; :class:`HeaderError` naming the field when
    none is held."""
    msg_id = header["msgId"]
    task_id, sha = header.get("taskId"), header.get("sha256")
    if task_id is not None:
        packed = store.result(task_id)
        if packed is None:
            raise HeaderError("taskId", f"`taskId`: no trained state held for task {task_id}", msg_id)
        if sha is not None and sha != packed.sha256:
            raise HeaderError("sha256", f"`sha256`: task {task_id} has state {packed.sha256}", msg_id)
        store.uploaded(task_id, packed)
        return packed
    if sha is not None:
        data = store.find(sha)
        if data is None:
            raise HeaderError("sha256", f"`sha256`: no state {sha} held", msg_id)
        return PackedState(data=data, sha256=sha, epoch=-1)
    raise HeaderError("taskId", "`taskId`: checkpointRequest needs taskId or sha256", msg_id)
