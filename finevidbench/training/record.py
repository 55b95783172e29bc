"""The run record of a fine-tuning run: what was trained, on what, how long, and how the loss went.

It is written to OUT/run.json and into the adapter folder (`finevidbench_run.json`), so an
adapter carries its provenance wherever it is copied; the adapters put its `contaminated` flag
into every results file that uses it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from finevidbench.files import atomic_write_text

RECORD_NAME = "finevidbench_run.json"


@dataclass
class RunRecord:
    """One training run (SF2T or self-alignment)."""

    kind: str
    """`sf2t` or `savi`; `sf2t_control` / `savi_control` for a control adapter (uninformative frames)."""
    recipe: dict
    base_model: dict
    """Adapter name, pretrained path or hub id, revision."""
    data: dict
    """Training set: dataset hash, item counts per type, tasks, the benchmark guard's verdict."""
    contaminated: bool
    output: str
    """The PEFT adapter folder (LoRA) or the saved model folder (full fine-tuning)."""
    steps: int = 0
    epochs: float = 0.0
    losses: list[dict] = field(default_factory=list)
    """Logged training loss: [{"step": int, "loss": float}, ...]."""
    wall_time_s: float = 0.0
    resumed_from: str | None = None
    trainable_parameters: int = 0
    total_parameters: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    versions: dict = field(default_factory=dict)

    def write(self, *folders: Path) -> None:
        """Write the record as `finevidbench_run.json` into each folder."""
        text = json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"
        for folder in folders:
            atomic_write_text(Path(folder) / RECORD_NAME, text)

    @classmethod
    def read(cls, folder: str | Path) -> RunRecord:
        """Read the record of a run or adapter folder."""
        return cls(**json.loads((Path(folder) / RECORD_NAME).read_text()))
