"""A model that costs nothing but its inputs, to measure the harness's own overhead in `make bench`.

It decodes every clip and frame as a real adapter would (same policy, cache, prefetch), then answers "A".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from model_adapters.base import FineVidModel, Request
from model_adapters.frames import DecodesEachVideoOnce, run_policy


class ZeroCostModel(DecodesEachVideoOnce, FineVidModel):
    """Decodes like `HFVideoModel` (same policy, cache, prefetch), generates nothing."""

    is_simple = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frame_policy = run_policy(None, None, None, None)

    def policy_id(self) -> str:
        return self.frame_policy.id

    def answer_batch(self, requests: Sequence[Request]) -> list[str]:
        for request in requests:  # loads exactly the frames HFVideoModel would feed the processor
            self.frames_of(request.doc, self.frames_needed(request.doc))
        return ["A"] * len(requests)
