"""SF2T: self-supervised fragment fine-tuning data, built by the benchmark's own fragment generators.

`build_training_set` turns any folder of videos into the five SF2T tasks (Counting, Consistency
Verification, Localization, Disorder Detection, Rearrangement) with the registry's question
types and a training seed, after `guard.check_videos` has made sure no video is a benchmark video.
`export` writes the result as the messages + images/videos JSONL that LLaMA-Factory and ms-swift read.
"""

from finevidbench.sf2t.data import SF2T_TASKS, TRAIN_SEED, build_training_set, ensure_demo_videos, training_types
from finevidbench.sf2t.export import export_messages
from finevidbench.sf2t.guard import Contamination, ContaminationError, check_videos

__all__ = [
    "SF2T_TASKS",
    "TRAIN_SEED",
    "Contamination",
    "ContaminationError",
    "build_training_set",
    "check_videos",
    "ensure_demo_videos",
    "export_messages",
    "training_types",
]
