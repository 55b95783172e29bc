"""The pixel oracle: what the frames a model is shown decide, answered by classical vision alone.

The pixel-blind adversaries (finevidbench.adversaries) show what can be answered without pixels;
the oracle shows what can be answered *with* them: it gets only the frames the run's frame policy
shows, at the size a model would get them (size.py), and answers every self-supervised type from
those frames (vision.py, decide.py). Its per-type accuracy is the benchmark's "decided by the shown
pixels" figure, a lower bound on it (another method may decide more), and the ceiling a reader sees
beside every model. Action and effect need semantics and are outside its reach.
"""

from finevidbench.oracle.decide import SEMANTIC_TYPES, Measurement, Shown, decide, measure
from finevidbench.oracle.run import OracleFinding, format_oracle, oracle_responses, run_oracle, score_oracle
from finevidbench.oracle.size import DEFAULT_SIZE, SIZES, FrameSize

__all__ = [
    "DEFAULT_SIZE",
    "SEMANTIC_TYPES",
    "SIZES",
    "FrameSize",
    "Measurement",
    "OracleFinding",
    "Shown",
    "decide",
    "format_oracle",
    "measure",
    "oracle_responses",
    "run_oracle",
    "score_oracle",
]
