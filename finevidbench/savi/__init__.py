"""Self-alignment: VideoSAVi's self-critique preference pairs and our verifier-checked pairs, for DPO.

`prompts` holds every prompt of the VideoSAVi loop (the paper describes each step; the wording is
ours); `pairs` is the preference-pair record, the "materially different" filter and the
TRL-conformant JSONL; `verifier` makes pairs whose right answer is known by construction
(the SF2T fragment tasks); `loop` is the iterated loop and its control, which asks and trains through
a `Models` object (model_adapters/training.py implements it on the family adapters).
"""

from finevidbench.savi.pairs import PreferencePair, materially_different, read_pairs, write_pairs
from finevidbench.savi.prompts import QUESTION_KINDS, Prompts
from finevidbench.savi.verifier import verifier_pairs

__all__ = [
    "QUESTION_KINDS",
    "PreferencePair",
    "Prompts",
    "materially_different",
    "read_pairs",
    "verifier_pairs",
    "write_pairs",
]
