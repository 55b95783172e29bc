"""What a fine-tuning run shows its reader: loss curves, per-type accuracy of each arm, TensorBoard.

`write_run_report` puts into a run folder `loss_curve.png` (the training loss of the adapter and
of its control), `arms_chart.png` (each arm's accuracy per question type with its interval and the
chance level) and TensorBoard scalars of every arm's accuracy (`tensorboard/eval_<arm>`), beside
the training curves the Trainer logs to `<run>/train/tensorboard` and `<run>/control/tensorboard`:
`tensorboard --logdir <run>` shows them all. Charts are drawn with matplotlib's object API on a
`Figure` (no pyplot global state, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib is imported only when a chart is drawn
    from matplotlib.figure import Figure

ARM_COLOURS = {"base": "#9e9e9e", "control": "#e6a23c", "adapter": "#3b7dd8"}


def loss_curve(
    series: Mapping[str, Sequence[dict[str, float]]], path: str | Path, title: str = "training loss"
) -> Path:
    """The logged training loss against the optimizer step, one line per run (records with `step`, `loss`)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = figure.add_subplot()
    drawn = 0
    for name, losses in series.items():
        points = [(r["step"], r["loss"]) for r in losses if "loss" in r and "step" in r]
        if points:
            axes.plot(
                [s for s, _ in points],
                [v for _, v in points],
                marker="o",
                markersize=3,
                label=name,
                color=ARM_COLOURS.get(name),
            )
            drawn += 1
    if not drawn:
        raise ValueError(f"no loss was logged, so there is no curve to draw for {path}")
    axes.set(xlabel="optimizer step", ylabel="loss", title=title)
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def arms_chart(comparison: dict[str, Any], path: str | Path, title: str = "accuracy per question type") -> Path:
    """Grouped bars per question type: each arm's accuracy with its 95 % interval, and the chance level.

    `comparison` is what `finevidbench.scoring.compare.compare` returns; an arm that was not run
    is left out of the legend and drawn as no bar.
    """
    import numpy as np
    from matplotlib.figure import Figure

    types = list(comparison["by_type"])
    arms = [a for a in comparison["arms"] if a not in comparison.get("missing", [])]
    if not types or not arms:
        raise ValueError(f"the comparison has no type or no arm to draw for {path}")
    figure = Figure(figsize=(max(6.4, 1.1 * len(types) + 2), 4.2), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / len(arms)
    x = np.arange(len(types))
    for k, arm in enumerate(arms):
        cells = [comparison["by_type"][t]["arms"][arm] for t in types]
        acc = np.array([c["accuracy"] for c in cells])
        errors = np.array([[c["accuracy"] - c["ci_low"] for c in cells], [c["ci_high"] - c["accuracy"] for c in cells]])
        axes.bar(
            x + (k - (len(arms) - 1) / 2) * width,
            acc,
            width,
            yerr=errors,
            capsize=2,
            label=arm,
            color=ARM_COLOURS.get(arm),
        )
    for position, name in enumerate(types):
        chance = comparison["by_type"][name]["chance"]
        axes.hlines(chance, position - 0.45, position + 0.45, colors="black", linestyles="dashed", linewidth=1)
    axes.plot([], [], color="black", linestyle="dashed", linewidth=1, label="chance")
    axes.set_xticks(x, [t.replace("_", " ") for t in types], rotation=30, ha="right")
    axes.set(ylim=(0, 1), ylabel="accuracy (95 % CI, clustered by video)", title=title)
    axes.legend(loc="upper right", fontsize="small")
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def log_accuracies(comparison: dict[str, Any], logdir: str | Path) -> list[Path]:
    """TensorBoard scalars `accuracy/<type>` (and `/<level>`, `/overall`) per arm, one run folder per arm."""
    from torch.utils.tensorboard import SummaryWriter

    folders = []
    for arm in comparison["arms"]:
        if arm in comparison.get("missing", []):
            continue
        folder = Path(logdir) / f"eval_{arm}"
        with SummaryWriter(log_dir=str(folder)) as writer:
            rows = {**comparison["by_type"], **comparison["by_level"], "overall": comparison["overall"]}
            for name, row in rows.items():
                cell = row["arms"][arm]
                writer.add_scalar(f"accuracy/{name}", cell["accuracy"], 0)
                writer.add_scalar(f"accuracy_ci_low/{name}", cell["ci_low"], 0)
        folders.append(folder)
    return folders


def write_run_report(
    out: str | Path, comparison: dict[str, Any], losses: Mapping[str, Sequence[dict[str, float]]]
) -> list[Path]:
    """The loss curves, the per-type chart of every arm and the TensorBoard accuracies of one run folder."""
    out = Path(out)
    written = [loss_curve(losses, out / "loss_curve.png"), arms_chart(comparison, out / "arms_chart.png")]
    return written + log_accuracies(comparison, out / "tensorboard")
