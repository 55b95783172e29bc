"""lmms-eval's three habits `make eval` changes for the length of a run, each where lmms-eval has no switch.

All are local fixes of lmms-eval 0.7.3, undone when the run ends, and each has a test in
tests/lmms/test_tasks.py that fails when lmms-eval changes what they replace, so they can go when
upstream takes the fix: its per-task progress bars (one bar for the run instead), its standard
errors' imports (nltk, on every call), and its full garbage collections (the imported heap frozen).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def one_progress_bar() -> Iterator[None]:
    """The model's progress bar alone: lmms-eval's two per task (building requests, post-processing) stay off.

    lmms-eval 0.7.3 draws a bar over each task's documents while it builds their requests and another
    while it post-processes the answers: sixteen bars for FineVidBench's eight tasks, each over in a
    blink, around the one that measures the run (the model's, model_adapters/base.py). Its other bars
    (a dataset's download and extraction) are left as they are; tests/lmms/test_tasks.py fails if
    lmms-eval stops drawing them through these names.
    """
    from lmms_eval import evaluator
    from lmms_eval.api import task as task_module

    drawn = task_module.tqdm

    def requests_quietly(*args: Any, **kwargs: Any) -> Any:
        quiet = "total" in kwargs and "desc" not in kwargs  # Task.build_all_requests' bar, as 0.7.3 draws it
        return drawn(*args, **{**kwargs, "disable": True}) if quiet else drawn(*args, **kwargs)

    def quietly(*args: Any, **kwargs: Any) -> Any:
        return drawn(*args, **{**kwargs, "disable": True})

    task_module.tqdm, evaluator.tqdm = requests_quietly, quietly
    try:
        yield
    finally:
        task_module.tqdm, evaluator.tqdm = drawn, drawn


@contextlib.contextmanager
def closed_form_stderr() -> Iterator[None]:
    """lmms-eval's standard error of a `mean` (or `acc_all`), without the imports it makes to find it.

    lmms-eval 0.7.3's `stderr_for_metric` imports two of its task modules on every call, to list
    their bootstrapped aggregations; one imports nltk, which costs seconds of every run (3.8 s of a
    full-size evaluation, measured). For `mean` and `acc_all` it returns their closed forms whatever
    those imports find, so those are returned directly; any other aggregation goes to lmms-eval's own.
    """
    from lmms_eval import evaluator_utils
    from lmms_eval.api import metrics

    original = evaluator_utils.stderr_for_metric
    closed = {metrics.mean: metrics.mean_stderr, metrics.acc_all: metrics.acc_all_stderr}

    def stderr_for_metric(metric: Any, bootstrap_iters: int) -> Any:
        if bootstrap_iters > 0 and metric in closed:
            return closed[metric]
        return original(metric, bootstrap_iters)

    evaluator_utils.stderr_for_metric = stderr_for_metric
    try:
        yield
    finally:
        evaluator_utils.stderr_for_metric = original


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive when the run starts left out of garbage collection until it ends.

    lmms-eval 0.7.3 collects garbage in full twice a run (its model's `clean`, then accelerate's
    `free_memory`), and each full pass walks every object torch, transformers and lmms-eval made at
    import: 0.36 s of a 1.4 s mini run on these CPUs, more with the model loaded. Python's own oldest-
    generation passes walk them too. Frozen (`gc.freeze`), they are skipped; they are unfrozen after,
    so garbage a run leaves can still be collected by a later run in the process (`make sf2t`'s arms).
    Nothing frozen is lost: reference counting still frees it.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
