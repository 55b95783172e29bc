"""Writing frames to a video file with PyAV (used by the synthetic corpus and the tests)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

CODECS = {"h264": "libx264", "mpeg4": "mpeg4"}


def write_video(
    path: str | Path, frames: Iterable[npt.NDArray[np.uint8]], fps: float, codec: str = "h264", qp: int = 18
) -> Path:
    """Encode uint8 RGB frames (H, W, 3; even H and W) into an mp4; returns the path.

    `fps` may be fractional (e.g. 29.97). h264 uses libx264 with no B-frames, so that frame index
    i is the i-th decoded frame for every decoder, and at a constant QP with one thread and no
    lookahead, so that the same frames always give the same bytes: the synthetic corpus is hashed
    into the dataset hash. (With CRF rate control, re-encoding in one process gave different bytes.)
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream: av.VideoStream | None = None
        for frame in frames:
            if stream is None:
                height, width = frame.shape[:2]
                if height % 2 or width % 2:
                    raise ValueError(f"frame size {width}x{height}: yuv420p needs even width and height")
                added = container.add_stream(CODECS.get(codec, codec), rate=rate)
                if not isinstance(added, av.VideoStream):
                    raise ValueError(f"codec {codec!r} does not encode video")
                stream = added
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                stream.codec_context.thread_count = 1
                if stream.codec_context.name in ("libx264", "h264"):
                    stream.options = {
                        "preset": "veryfast",
                        "x264-params": f"qp={qp}:bframes=0:threads=1:sync-lookahead=0:rc-lookahead=0",
                    }
                else:
                    stream.codec_context.bit_rate = 4_000_000
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
            container.mux(stream.encode(video_frame))
        if stream is None:
            raise ValueError(f"{path}: no frames to write")
        container.mux(stream.encode())
    return path
