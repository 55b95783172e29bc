"""What `make eval` does not import until it is used: the `evaluate` package lmms-eval imports at start.

lmms-eval 0.7.3's metric registry (`lmms_eval/api/registry.py`) imports Hugging Face's `evaluate` at
its top, for `evaluate.load` when a task names one of that library's metrics. `evaluate` imports
transformers' pipelines, and through them its image processors and torchvision's models: about
2.5 s of every run's 5 to 6 s of imports on 2 cores, for metrics no FineVidBench task uses. The fix
belongs in lmms-eval (import it inside `get_metric`); until then `defer` puts a stand-in in
`sys.modules` that imports the real package the first time one of its names is read, so a task that
does use an `evaluate` metric still gets it. tests/lmms/test_tasks.py fails when lmms-eval's import
changes, so the stand-in can go.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any

DEFERRED = ("evaluate",)


class DeferredModule(types.ModuleType):
    """A package imported on the first read of one of its names.

    It holds what code that walks `sys.modules` reads of every module (its name, spec, file and
    loader: `inspect.getmodule` during torch's import does), so walking it imports nothing.
    """

    def __init__(self, name: str, spec: ModuleSpec) -> None:
        super().__init__(name)
        self.__spec__ = spec
        self.__file__ = spec.origin
        self.__loader__ = spec.loader

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def defer(names: tuple[str, ...] = DEFERRED) -> None:
    """Put a `DeferredModule` for each package not imported yet (and installed) into `sys.modules`."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is not None:
            sys.modules[name] = DeferredModule(name, spec)
