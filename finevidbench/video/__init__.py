"""The video layer: the only place in the project that decodes video.

`probe` reads metadata, `FramePolicy` chooses frames, `load_clip` / `load_frames` decode them
through a bounded cache (never larger than `max_side()` pixels on the longer side), and every
failure is a `VideoError` naming the file and the fix.
"""

from finevidbench.video.clip import DEFAULT_CACHE, Clip, FrameCache, load_clip, load_frames
from finevidbench.video.decode import BACKENDS, MAX_SIDE, decode_frames, decoded_size, default_backend, max_side
from finevidbench.video.encode import write_video
from finevidbench.video.errors import VideoError
from finevidbench.video.meta import VIDEO_EXTENSIONS, VideoMeta, probe
from finevidbench.video.policy import FramePolicy, Sampling
from finevidbench.video.speed import speed_altered_copy

__all__ = [
    "BACKENDS",
    "MAX_SIDE",
    "DEFAULT_CACHE",
    "Clip",
    "FrameCache",
    "FramePolicy",
    "Sampling",
    "VIDEO_EXTENSIONS",
    "VideoError",
    "VideoMeta",
    "decode_frames",
    "decoded_size",
    "default_backend",
    "load_clip",
    "load_frames",
    "max_side",
    "probe",
    "speed_altered_copy",
    "write_video",
]
