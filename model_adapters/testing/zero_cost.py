"""A model that costs nothing but its inputs, to measure the harness's own overhead in `make bench`.

It decodes every clip and frame as a real adapter would (same policy, cache, prefetch), then answers "A".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finevidbench.request import Clip, LabelledFrames, Request
from model_adapters.frames import FrameCache, ShowsFrames, run_policy


class ZeroCostModel(ShowsFrames):
    """Decodes like `HFVideoModel` (same policy, cache, prefetch), generates nothing."""

    is_simple = False
    reads_pixels = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frame_policy = run_policy(None, None, None, None)
        self.frame_cache = FrameCache()

    def policy_id(self) -> str:
        return self.frame_policy.id

    def answer_batch(self, requests: Sequence[Request]) -> list[str]:
        for visual in (v for request in requests for v in request.visuals):  # the frames HFVideoModel would feed
            if isinstance(visual, Clip):
                self.frame_cache.clip(visual)
            elif isinstance(visual, LabelledFrames):
                self.frame_cache.labelled(visual)
        return ["A"] * len(requests)
