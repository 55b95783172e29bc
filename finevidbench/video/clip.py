"""Frames of one clip under one policy, decoded once and kept in a bounded cache."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from finevidbench.video.decode import Backend, decode_frames, default_backend, max_side
from finevidbench.video.meta import VideoMeta, file_key, probe
from finevidbench.video.policy import FramePolicy, Sampling


@dataclass(frozen=True)
class Clip:
    """Decoded frames of a clip with everything a processor or a log needs to know about them."""

    frames: npt.NDArray[np.uint8]
    """(N, H, W, 3) uint8 RGB, read-only (shared between callers through the cache)."""
    sampling: Sampling
    """Which source frames these are and their timestamps in the altered clip."""
    meta: VideoMeta
    policy: FramePolicy


class FrameCache:
    """A least-recently-used cache of decoded frames bounded by bytes.

    About 25 questions share one video; with the cache, asking again for the same (file, policy)
    or the same frame indices does not decode again. Keys include the file's size and modification
    time, so a file replaced on disk is decoded afresh. Thread-safe.
    """

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Hashable, ...], npt.NDArray[np.uint8]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[tuple[Hashable, ...], threading.Event] = {}
        self.hits = 0
        self.misses = 0

    def get_or_decode(
        self, key: tuple[Hashable, ...], decode: Callable[[], npt.NDArray[np.uint8]]
    ) -> npt.NDArray[np.uint8]:
        """The array cached under `key`, or `decode()`'s result, stored read-only.

        A key being decoded by another thread (a prefetcher) is waited for, not decoded twice.
        """
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key]
                pending = self._inflight.get(key)
                if pending is None:
                    self._inflight[key] = threading.Event()
                    break
            pending.wait()  # then look again: it is cached now (or was too large, and we decode)
        try:
            frames = decode()
            frames.setflags(write=False)
            with self._lock:
                self.misses += 1
                if frames.nbytes <= self.max_bytes:
                    self._items[key] = frames
                    self._bytes += frames.nbytes
                    while self._bytes > self.max_bytes:
                        _, evicted = self._items.popitem(last=False)
                        self._bytes -= evicted.nbytes
            return frames
        finally:
            with self._lock:
                self._inflight.pop(key).set()

    def forget(self, path: str | Path) -> int:
        """Drop every array decoded from `path` (its questions are answered); the bytes freed."""
        name = str(Path(path).resolve())
        with self._lock:
            keys = [key for key in self._items if key[0] == name]
            freed = sum(self._items.pop(key).nbytes for key in keys)
            self._bytes -= freed
        return freed

    def clear(self) -> None:
        """Forget every cached array."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes


CACHE_MB_ENV = "FINEVIDBENCH_FRAME_CACHE_MB"
DEFAULT_CACHE = FrameCache(int(float(os.environ.get(CACHE_MB_ENV, "512")) * 2**20))
"""The process's frame cache: 512 MB unless FINEVIDBENCH_FRAME_CACHE_MB says otherwise. A run also frees
each video's frames once its questions are answered, so the bound is rarely reached."""


def load_frames(
    path: str | Path,
    indices: tuple[int, ...] | list[int],
    backend: Backend | None = None,
    cache: FrameCache | None = DEFAULT_CACHE,
) -> npt.NDArray[np.uint8]:
    """Frames at explicit indices (fragment-level items), through the cache."""
    meta = probe(path)
    backend = backend or default_backend()
    wanted = indices if type(indices) is tuple else tuple(int(i) for i in indices)  # a tuple: hashed as it is
    key = (*file_key(path), backend, max_side(), wanted)
    if cache is None:
        return decode_frames(path, indices, backend, meta)
    return cache.get_or_decode(key, lambda: decode_frames(path, indices, backend, meta))


def load_clip(
    path: str | Path,
    policy: FramePolicy | str,
    backend: Backend | None = None,
    cache: FrameCache | None = DEFAULT_CACHE,
) -> Clip:
    """Sample `path` with `policy` and decode the chosen frames once per (file, policy, backend)."""
    policy = FramePolicy.parse(policy)
    meta = probe(path)
    sampling = policy.sample(meta)
    frames = load_frames(path, sampling.indices, backend, cache)
    return Clip(frames=frames, sampling=sampling, meta=meta, policy=policy)
