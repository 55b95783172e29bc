"""Make torchvision importable where its compiled operators cannot load.

The torchvision wheel on PyPI is a CUDA build. Against a CPU build of torch its `_C` extension
does not load, and `import torchvision` then fails in `_meta_registrations.py` with "operator
torchvision::nms does not exist" -- which breaks every video processor in transformers, since
they all import torchvision. Defining the two operator schemas that torchvision registers fake
kernels for is enough for the pure-Python parts (transforms, which the processors use) to work.
Only the compiled operators (nms, roi_align, io.decode_jpeg) stay unavailable; nothing here uses
them. Call `ensure_torchvision_ops()` before transformers' vision code is imported; it does
nothing where torchvision's own operators load (a CUDA machine) or torchvision is absent.

`autoload` runs it from torch's own plugin hook (the `torch.backends` entry point group, called
at the end of `import torch`; TORCH_DEVICE_BACKEND_AUTOLOAD=0 turns it off), so that programs we
do not start ourselves, such as `python -m lmms_eval`, also import torchvision on CPU torch.
Unlike a `.pth` file it runs only in processes that import torch, and only on CPU builds.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported only when the schemas are needed
    import torch

_LIBRARY: torch.library.Library | None = None  # the Library must stay alive for its schemas to stay defined


def _has_nms(torch: ModuleType) -> bool:
    try:
        torch.ops.torchvision.nms  # noqa: B018 - attribute lookup is the test
    except (AttributeError, RuntimeError):
        return False
    return True


def ensure_torchvision_ops() -> bool:
    """Define torchvision's operator schemas if its extension cannot provide them.

    Returns True when the stand-in schemas were defined by this call.
    """
    global _LIBRARY
    if _LIBRARY is not None or "torchvision._meta_registrations" in sys.modules:
        return False  # already applied, or too late: torchvision registered (or failed) already
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    import torch

    if _has_nms(torch):
        return False
    for extension in Path(next(iter(spec.submodule_search_locations))).glob("_C*.so"):
        try:
            torch.ops.load_library(str(extension))
        except (OSError, RuntimeError):
            break
        if _has_nms(torch):
            return False
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return True


def autoload() -> None:
    """Entry point of torch's plugin hook: apply the stand-in on CPU builds; never raise from here."""
    try:
        import torch

        if torch.version.cuda is None and torch.version.hip is None:
            ensure_torchvision_ops()
    except Exception:  # noqa: BLE001 - an error here would make `import torch` itself fail
        pass
