"""Evaluations of one question set, compared question by question: base, control and adapter arms.

Each row holds every arm's accuracy with its 95 % interval clustered by video, and paired
differences between arms (e.g. adapter - control, adapter - base) on the questions every arm
answered, each with a 95 % interval clustered by video. A difference counts when its interval
excludes zero, not when one accuracy merely reads higher than another. A fine-tuned adapter is
called helpful only for a type where the verdict contrast (adapter - control: the control was
trained on the same items without informative frames) lies above zero; adapter - base also moves
with the answer format, which the control learns too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from finevidbench.files import read_json_object, write_json
from finevidbench.protocol import get_type
from finevidbench.scoring.score import SampleResult
from finevidbench.scoring.stats import clustered_interval, paired_difference

if TYPE_CHECKING:
    import pandas as pd

LEGEND = "accuracy [95% CI], difference [95% CI], both clustered by video; * the interval excludes zero"
CONTRASTS: tuple[tuple[str, str], ...] = (("adapter", "control"), ("adapter", "base"))
"""Paired differences reported, first minus second; the first is the verdict."""


def contrast_name(contrast: tuple[str, str]) -> str:
    """The key of a paired difference: `adapter-control`."""
    return f"{contrast[0]}-{contrast[1]}"


def _row(
    ids: list[str], arms: Mapping[str, Mapping[str, SampleResult] | None], contrasts: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    reference = next(samples for samples in arms.values() if samples is not None)
    videos = [reference[i].video for i in ids]
    scores = {name: [s[i].correct for i in ids] for name, s in arms.items() if s is not None}
    accuracy: dict[str, dict[str, float] | None] = {}  # None: the arm was not run
    for name, samples in arms.items():
        if samples is None:
            accuracy[name] = None
            continue
        interval = clustered_interval(scores[name], videos)
        accuracy[name] = {
            "accuracy": interval.mean,
            "ci_low": interval.low,
            "ci_high": interval.high,
            "parse_fail": float(np.mean([samples[i].parse_failed for i in ids])),
        }
    diffs: dict[str, dict[str, float] | None] = {}  # None: an arm of the contrast was not run
    for first, second in contrasts:
        if first not in scores or second not in scores:
            diffs[contrast_name((first, second))] = None
            continue
        diff = paired_difference(scores[first], scores[second], videos)
        diffs[contrast_name((first, second))] = {
            "diff": diff.mean,
            "ci_low": diff.low,
            "ci_high": diff.high,
            "significant": diff.significant,
        }
    return {
        "n": len(ids),
        "n_videos": len(set(videos)),
        "chance": float(np.mean([reference[i].chance for i in ids])),
        "arms": accuracy,
        "diffs": diffs,
    }


def compare(
    arms: Mapping[str, Sequence[SampleResult] | None],
    contrasts: Sequence[tuple[str, str]] = CONTRASTS,
) -> dict[str, Any]:
    """Overall, per-level and per-type accuracies of every arm and paired differences between arms.

    `arms` maps a name to its scored samples, or to None for an arm that was not run (its
    accuracies and every contrast it is in are then None, and there is no verdict). Rows pair
    the questions every run arm answered. The first contrast is the verdict: `helpful` lists the
    types whose difference there has an interval above zero (None when it could not be computed).
    """
    run = {name: {s.question_id: s for s in samples} for name, samples in arms.items() if samples is not None}
    if not run:
        raise ValueError("no arm to compare")
    unknown = sorted({name for contrast in contrasts for name in contrast} - set(arms))
    if unknown:
        raise ValueError(f"contrasts name arms that are not given: {unknown}")
    first = next(iter(run.values()))
    ids = [i for i in first if all(i in samples for samples in run.values())]
    if not ids:
        raise ValueError("the runs share no question")
    by_arm = {name: run.get(name) for name in arms}
    reference = first

    def grouped(key: Callable[[SampleResult], str]) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[str]] = {}
        for i in ids:
            groups.setdefault(key(reference[i]), []).append(i)
        return {name: _row(group, by_arm, contrasts) for name, group in groups.items()}

    by_type = grouped(lambda s: s.type)
    verdict = contrast_name(contrasts[0]) if contrasts else None
    computed = verdict is not None and all(name in run for name in contrasts[0])
    return {
        "arms": list(arms),
        "missing": [name for name in arms if name not in run],
        "contrasts": [contrast_name(c) for c in contrasts],
        "verdict": verdict,
        "helpful": sorted(t for t, row in by_type.items() if row["diffs"][verdict]["ci_low"] > 0) if computed else None,
        "overall": _row(ids, by_arm, contrasts),
        "by_level": grouped(lambda s: s.level),
        "by_type": by_type,
    }


def compare_other_tasks(
    figures: Mapping[str, Mapping[str, dict[str, Any]] | None],
    samples: Mapping[str, Sequence[dict[str, Any]] | None],
    contrasts: Sequence[tuple[str, str]] = CONTRASTS,
) -> dict[str, dict[str, Any]]:
    """The arms on tasks that are not ours (`make sf2t EXTRA_TASKS=...`), with paired differences.

    Each arm gets lmms-eval's figure; the differences pair the documents every arm answered, where
    the task scores each document. `figures` maps an arm to its results' `other_tasks`, `samples`
    to its other_samples.jsonl records (None: the arm was not run). A task's metric is its first
    per-sample metric; each document is its own cluster (another benchmark's documents carry no
    video id we could trust).
    """
    run = {
        arm: {(r["task"], r["doc_id"]): r for r in records} for arm, records in samples.items() if records is not None
    }
    tasks = sorted({task for arm in figures.values() if arm for task in arm})
    out = {}
    for task in tasks:
        keyed = {arm: {doc: r for (t, doc), r in records.items() if t == task} for arm, records in run.items()}
        docs = sorted(set.intersection(*(set(k) for k in keyed.values()))) if keyed else []
        first = next((r for arm in keyed.values() for r in arm.values()), None)
        metric = next(iter(first["scores"]), None) if first else None
        arms: dict[str, dict[str, Any] | None] = {}
        for arm, entries in figures.items():
            entry = (entries or {}).get(task)
            key = _figure_key(entry["metrics"], metric) if entry else None
            arms[arm] = (
                None
                if entry is None or key is None
                else {"value": entry["metrics"][key], "stderr": entry["stderr"].get(key), "figure": key}
            )
        diffs: dict[str, dict[str, Any] | None] = {}
        for a, b in contrasts:
            scored = metric is not None and docs and a in keyed and b in keyed
            if not scored or not all(metric in keyed[x][d]["scores"] for x in (a, b) for d in docs):
                diffs[contrast_name((a, b))] = None
                continue
            diff = paired_difference(
                [keyed[a][d]["scores"][metric] for d in docs], [keyed[b][d]["scores"][metric] for d in docs], docs
            )
            diffs[contrast_name((a, b))] = {
                "diff": diff.mean,
                "ci_low": diff.low,
                "ci_high": diff.high,
                "significant": diff.significant,
            }
        out[task] = {"metric": metric, "n": len(docs), "arms": arms, "diffs": diffs}
    return out


def _figure_key(metrics: Mapping[str, float | None], metric: str | None) -> str | None:
    """lmms-eval's key of a task's figure for `metric` (`accuracy,none`); its first figure for a group."""
    keys = [k for k in metrics if metrics[k] is not None]
    return next((k for k in keys if metric and k.split(",")[0] == metric), keys[0] if keys else None)


def format_other_tasks(other: Mapping[str, dict[str, Any]], arms: Sequence[str], contrasts: Sequence[str]) -> str:
    """One line per other task: each arm's lmms-eval figure (± its standard error) and the paired differences."""
    widths = {"name": 36, "arm": 22, "diff": 27}
    lines = [
        f"{'other tasks (lmms-eval figures)':<{widths['name']}}"
        + "".join(f"{a:<{widths['arm']}}" for a in arms)
        + "".join(f"{c:<{widths['diff']}}" for c in contrasts)
        + f"{'n':>6}"
    ]
    for task, row in other.items():
        cells = [f"{task[: widths['name'] - 1]:<{widths['name']}}"]
        for arm in arms:
            cell = row["arms"].get(arm)
            text = (
                "missing"
                if cell is None
                else f"{cell['value']:.3f}" + (f" ± {cell['stderr']:.3f}" if cell["stderr"] is not None else "")
            )
            cells.append(f"{text:<{widths['arm']}}")
        cells += [f"{_diff_cell(row['diffs'].get(c)):<{widths['diff']}}" for c in contrasts]
        lines.append("".join(cells) + f"{row['n'] or '':>6}")
    lines.append("differences paired over each task's documents, 95% CI; * the interval excludes zero")
    return "\n".join(lines)


def write_comparison(path: Path, comparison: dict[str, Any]) -> None:
    """Write comparison.json (the one writer; rows keep their order; schemas/comparison.schema.json)."""
    write_json(path, comparison, "comparison", sort_keys=False)


def read_comparison(path: Path) -> dict[str, Any]:
    """Read and check a comparison.json (the one reader); FileFormatError names a bad file."""
    return read_json_object(path, "comparison")


def _accuracy_cell(cell: dict[str, float] | None) -> str:
    return "missing" if cell is None else f"{cell['accuracy']:.3f} [{cell['ci_low']:.3f}, {cell['ci_high']:.3f}]"


def _diff_cell(cell: dict[str, float] | None) -> str:
    if cell is None:
        return "-"
    mark = " *" if cell["significant"] else ""
    return f"{cell['diff']:+.3f} [{cell['ci_low']:+.3f}, {cell['ci_high']:+.3f}]{mark}"


def format_comparison(comparison: dict[str, Any]) -> str:
    """One line per type, level and overall: each arm's accuracy and each paired difference, with intervals."""
    arms, contrasts = comparison["arms"], comparison["contrasts"]
    widths = {"name": 22, "arm": 22, "diff": 27}
    header = (
        f"{'':<{widths['name']}}"
        + "".join(f"{a:<{widths['arm']}}" for a in arms)
        + "".join(f"{c:<{widths['diff']}}" for c in contrasts)
        + f"{'chance':>7}{'n':>6}"
    )
    lines = [header, "-" * len(header)]

    def line(name: str, row: dict[str, Any]) -> str:
        cells = [f"{name:<{widths['name']}}"]
        cells += [f"{_accuracy_cell(row['arms'][a]):<{widths['arm']}}" for a in arms]
        cells += [f"{_diff_cell(row['diffs'][c]):<{widths['diff']}}" for c in contrasts]
        return "".join(cells) + f"{row['chance']:>7.3f}{row['n']:>6}"

    for level in ("scene", "fragment"):
        for name, row in comparison["by_type"].items():
            if get_type(name).level == level:
                lines.append(line(f"  {name}", row))
        if level in comparison["by_level"]:
            lines.append(line(f"{level} level", comparison["by_level"][level]))
    lines += ["-" * len(header), line("overall", comparison["overall"])]
    lines.append(LEGEND)
    if comparison.get("other_tasks"):
        lines.append(format_other_tasks(comparison["other_tasks"], arms, contrasts))
    verdict = comparison["verdict"]
    if verdict is None:
        pass
    elif comparison["helpful"] is None:
        missing = ", ".join(comparison["missing"]) or "an arm"
        lines.append(
            f"{missing}: missing, so no verdict: {verdict} cannot be computed, and a gain over the base "
            "may be the answer format alone"
        )
    elif comparison["helpful"]:
        # the verdict's first arm (arm names may themselves hold "-")
        treated = next(a for a in arms if verdict.startswith(f"{a}-") and verdict[len(a) + 1 :] in arms)
        names = [
            name
            if comparison["by_type"][name]["arms"][treated]["ci_low"] > comparison["by_type"][name]["chance"]
            else f"{name} ({treated} not above chance)"
            for name in comparison["helpful"]
        ]
        lines.append(f"helpful ({verdict} above zero) for: {', '.join(names)}")
    else:
        lines.append(f"helpful for no type: no {verdict} interval lies above zero")
    return "\n".join(lines)


def comparison_frame(comparison: dict[str, Any]) -> pd.DataFrame:
    """`compare`'s result as a table, one row per type, level and overall.

    Columns: group, name, n, n_videos, chance, then `<arm>_acc|ci_low|ci_high|parse_fail` per arm
    and `<contrast>_diff|ci_low|ci_high|significant` per contrast (empty for a missing arm).
    """
    import pandas as pd

    arm_keys = {"acc": "accuracy", "ci_low": "ci_low", "ci_high": "ci_high", "parse_fail": "parse_fail"}
    diff_keys = {"diff": "diff", "ci_low": "ci_low", "ci_high": "ci_high", "significant": "significant"}

    def row(group: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        record = {"group": group, "name": name, **{k: entry[k] for k in ("n", "n_videos", "chance")}}
        for arm in comparison["arms"]:
            cell = entry["arms"][arm] or {}
            record |= {f"{arm}_{column}": cell.get(key) for column, key in arm_keys.items()}
        for contrast in comparison["contrasts"]:
            cell = entry["diffs"][contrast] or {}
            record |= {f"{contrast}_{column}": cell.get(key) for column, key in diff_keys.items()}
        return record

    # pandas' stubs type the constructor's Self from `typing`, which has none on Python 3.10: Any to mypy
    frame: pd.DataFrame = pd.DataFrame([row(group, name, entry) for group, name, entry in _rows(comparison)])
    return frame


def comparison_markdown(comparison: dict[str, Any], headers: Mapping[str, str] | None = None) -> str:
    """The table a reader wants: accuracy [interval] per arm, difference [interval] per contrast.

    `headers` renames columns (arm or contrast keys) for display.
    """
    import pandas as pd

    rows = _rows(comparison)
    shown = pd.DataFrame(
        {
            "": [name for _, name, _ in rows],
            "n": [entry["n"] for *_, entry in rows],
            "chance": [f"{entry['chance']:.3f}" for *_, entry in rows],
        }
    )
    for arm in comparison["arms"]:
        shown[arm] = [_accuracy_cell(entry["arms"][arm]) for *_, entry in rows]
    for contrast in comparison["contrasts"]:
        shown[contrast] = [_diff_cell(entry["diffs"][contrast]) for *_, entry in rows]
    table: str = shown.rename(columns=dict(headers or {})).to_markdown(index=False)  # Any: as in comparison_frame
    return table + f"\n\n{LEGEND}\n"


def _rows(comparison: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(group, name, row) of every type, then every level, then overall: the order of every table."""
    rows = [("type", name, entry) for name, entry in comparison["by_type"].items()]
    rows += [("level", name, entry) for name, entry in comparison["by_level"].items()]
    return [*rows, ("overall", "overall", comparison["overall"])]
