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
from itertools import islice
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
        for item in islice(source, window):
            pending.append(pool.submit(function, item))
        while pending:
            result = pending.popleft().result()
            for following in islice(source, 1):  # one item in for each result out: the window stays full
                pending.append(pool.submit(function, following))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
