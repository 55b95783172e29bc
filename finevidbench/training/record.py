"""The run record of a fine-tuning run: what was trained, on what, how long, and how the loss went.

It is written as `finevidbench_run.json` into the training folder and into the adapter (or model)
folder, so an adapter carries its provenance wherever it is copied; the adapters put its
`contaminated` flag into every results file that uses it. Schema: finevidbench/schemas/run_record.schema.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from finevidbench.files import read_json_object, write_json

RECORD_NAME = "finevidbench_run.json"


@dataclass
class RunRecord:
    """One training run (SF2T or self-alignment)."""

    kind: str
    """`sf2t` or `savi`; `sf2t_control` / `savi_control` for a control adapter (uninformative frames);
    `<kind>_planted` and `<kind>_planted_control` for the positive control's (answers planted in the pixels)."""
    recipe: dict[str, Any]
    base_model: dict[str, Any]
    """Adapter name, pretrained path or hub id, revision."""
    data: dict[str, Any]
    """Training set: dataset hash, item counts per type, tasks, the benchmark guard's verdict."""
    contaminated: bool
    output: str
    """The PEFT adapter folder (LoRA) or the saved model folder (full fine-tuning)."""
    steps: int = 0
    epochs: float = 0.0
    losses: list[dict[str, float]] = field(default_factory=list)
    """Logged training loss: [{"step": int, "loss": float}, ...]."""
    wall_time_s: float = 0.0
    resumed_from: str | None = None
    trainable_parameters: int = 0
    total_parameters: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    versions: dict[str, str] = field(default_factory=dict)

    def write(self, *folders: Path) -> None:
        """Write the record as `finevidbench_run.json` into each folder (the one writer)."""
        for folder in folders:
            write_json(Path(folder) / RECORD_NAME, asdict(self), "run_record")

    @classmethod
    def read(cls, folder: str | Path) -> RunRecord:
        """Read the record of a run or adapter folder (the one reader); FileFormatError names a bad file."""
        return cls(**read_json_object(Path(folder) / RECORD_NAME, "run_record"))


def loss_span(record: RunRecord) -> str:
    """First and last logged loss of a training run, for the one line a command prints about it."""
    if not record.losses:
        return "not logged"
    return f"{record.losses[0]['loss']:.3f} -> {record.losses[-1]['loss']:.3f}"
