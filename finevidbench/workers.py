"""Work spread over processes, results in input order: what makes `--workers N` give the files of one worker.

The builder and the corpus synthesiser hand each video to a function of that video alone (its
decode, its hashes, its change measurements, or its rendering) and keep everything that depends on
the order of videos (answer balancing, file writing) in the calling process. Results come back in
input order whatever the number of processes, so the output is byte-identical to one worker's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(
    function: Callable[[Item], Result], items: Iterable[Item], workers: int, ahead: int | None = None
) -> Iterator[Result]:
    """`map(function, items)` over `workers` processes (one: in this process), in input order.

    At most `ahead` items (default: 4 per worker) are submitted beyond the one awaited, so a consumer
    that stops early (curation's quotas) wastes little work and memory stays bounded. `function`
    must be a module-level function and its results picklable; an exception it raises is raised
    here, at its item's turn.
    """
    if workers <= 1:
        yield from map(function, items)
        return
    window = max(1, ahead if ahead is not None else 4 * workers)
    pool = ProcessPoolExecutor(workers)
    pending: deque[Future[Result]] = deque()
    source = iter(items)
    try:
        for item in source:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().result()
            for item in source:  # keep the window full: one item in for each result out
                pending.append(pool.submit(function, item))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
