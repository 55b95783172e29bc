"""`fvb_hf`: the shared adapter itself, for any `AutoModelForImageTextToText` video model without a family class.

Its tiny model is SmolVLM's architecture, which no family class covers (model_adapters/testing/families/generic.py):
tests of the generic adapter run on a model it was not written for.
"""

from __future__ import annotations

from model_adapters.hf import HFVideoModel
from model_adapters.registry import Family, register

register(
    Family(
        "hf",
        HFVideoModel,
        # the generic adapter assumes a processor that stacks videos and cannot mix images with them
        # (HFVideoModel's defaults): SF2T batches of one, the same effective batch
        recipes={"sf2t": {"batch_size": 1, "grad_accum": 16}},
    )
)
