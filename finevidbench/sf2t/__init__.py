"""SF2T: self-supervised fragment fine-tuning data, built by the benchmark's own fragment generators.

`build_training_set` turns any folder of videos into the five SF2T tasks (Counting, Consistency
Verification, Localization, Disorder Detection, Rearrangement) with the registry's question
types and a training seed, after `guard.check_videos` has made sure no video is a benchmark video.
`export` writes the result as the messages + images/videos JSONL that LLaMA-Factory and ms-swift read.
`control` makes the control arm's items: the same items with frames that carry no information
about their answers, so a control adapter learns the format and the text, not the video.
"""

from finevidbench.sf2t.control import (
    ControlVideo,
    control_examples,
    control_hash,
    uninformative_question,
    video_catalogue,
)
from finevidbench.sf2t.data import SF2T_TASKS, TRAIN_SEED, build_training_set, ensure_demo_videos, training_types
from finevidbench.sf2t.export import export_messages
from finevidbench.sf2t.guard import Contamination, ContaminationError, check_videos

__all__ = [
    "SF2T_TASKS",
    "TRAIN_SEED",
    "Contamination",
    "ContaminationError",
    "ControlVideo",
    "build_training_set",
    "check_videos",
    "control_examples",
    "control_hash",
    "ensure_demo_videos",
    "export_messages",
    "training_types",
    "uninformative_question",
    "video_catalogue",
]
