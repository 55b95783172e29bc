"""A task's documents in the order that gives each process of a data-parallel run whole videos.

lmms-eval 0.7.3 shards a task's documents round-robin: document k goes to rank k mod W
(`utils.create_iterator`). In question-set order a video's questions sit side by side, so every rank
got questions of every video and decoded every video: two processes did twice the decoding of one
and were no faster (`make bench-full`, docs/performance.md). Each video is given one rank for the
whole run (`video_ranks`, over every task: a video's questions of every type go to the same process),
and each task's documents are interleaved so that its round-robin shards follow it (`in_rank_lanes`).
Only the order lmms-eval sees changes: every question is still asked once, and the results are
written in question order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

Doc = TypeVar("Doc")


def video_ranks(videos: Iterable[str], world_size: int) -> dict[str, int]:
    """A rank for each video (given once per question), balancing the questions each rank answers."""
    counts: dict[str, int] = {}
    for video in videos:
        counts[video] = counts.get(video, 0) + 1
    load = [0] * world_size
    ranks: dict[str, int] = {}
    for video, count in counts.items():
        rank = load.index(min(load))
        ranks[video], load[rank] = rank, load[rank] + count
    return ranks


def in_rank_lanes(docs: Sequence[Doc], world_size: int, rank_of: Callable[[Doc], int]) -> list[Doc]:
    """`docs` reordered so that round-robin sharding over `world_size` ranks gives each its own documents.

    Position k takes the next document of rank k mod W. Where one rank has more documents than another
    in this task, its last ones spill onto the others (at most the difference).
    """
    if world_size <= 1:
        return list(docs)
    lanes: list[list[Doc]] = [[] for _ in range(world_size)]
    for doc in docs:
        lanes[rank_of(doc)].append(doc)
    longest = max(len(lane) for lane in lanes)
    return [lane[i] for i in range(longest) for lane in lanes if i < len(lane)]
