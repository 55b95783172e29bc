"""What the leaderboard pages show: every submitted value turned into plain strings and numbers.

Every string here comes from submissions and is untrusted: the views hold plain text only (the templates
escape it), links are kept only when they are http(s), and the bar charts are geometry computed here from
numbers, never markup taken from a submission.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard
from urllib.parse import quote, urlsplit

# bar charts (inline SVG) geometry, in px
_LABEL_W = 170
_PLOT_W = 440
_VALUE_W = 120
_ROW_H = 26
_BAR_H = 14
_TOP = 22


def safe_link(url: Any) -> str | None:
    """`url` if it is an absolute http(s) URL, else None (``javascript:``, ``data:``, relative, ... are dropped)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def pct(value: Any) -> str:
    """A fraction in [0, 1] as a percentage with one decimal ("61.2"), or an em dash when missing."""
    if not is_number(value):
        return "—"
    return f"{100 * float(value):.1f}"


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether `value` is a finite number a page can show (booleans, NaN and infinities are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def text_fields(record: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """The `keys` of `record` as text, missing ones empty."""
    return {k: _text(record.get(k)) for k in keys}


def type_groups(types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive runs of types of the same level, for the grouped table header: [{level, types}]."""
    groups: list[dict[str, Any]] = []
    for t in types:
        if groups and groups[-1]["level"] == t.get("level"):
            groups[-1]["types"].append(t)
        else:
            groups.append({"level": t.get("level"), "types": [t]})
    return groups


def _score_cell(score: Any) -> dict[str, str]:
    """What the table shows for a score: text, interval text, sort value, tooltip."""
    score = score if isinstance(score, dict) else {}
    acc, lo, hi, n = score.get("acc"), score.get("ci_low"), score.get("ci_high"), score.get("n")
    has_ci = is_number(lo) and is_number(hi)
    title = f"{pct(acc)}%" if is_number(acc) else "not measured"
    if has_ci:
        title += f", 95% interval [{pct(lo)}, {pct(hi)}]"
    if is_number(n):
        title += f", n={int(n)}"
    if is_number(score.get("chance")):
        title += f", chance {pct(score['chance'])}%"
    return {
        "text": pct(acc),
        "ci": f"[{pct(lo)}, {pct(hi)}]" if has_ci else "",
        "value": f"{float(acc):.6f}" if is_number(acc) else "",
        "title": title,
    }


def mean_acc(scores: Any) -> float | None:
    """Mean accuracy over a {name: score} mapping (the speed-consistency column), or None without any."""
    found = [s.get("acc") for s in (scores or {}).values() if isinstance(s, dict)] if isinstance(scores, dict) else []
    accs = [float(a) for a in found if is_number(a)]
    return sum(accs) / len(accs) if accs else None


def _bars(rows: list[tuple[str, Any]]) -> dict[str, Any]:
    """Geometry for a horizontal bar chart of scores: one row per (label, score dict); x in px, all precomputed."""
    bars = []
    for i, (label, score) in enumerate(rows):
        score = score if isinstance(score, dict) else {}
        acc, lo, hi, chance = (score.get(k) for k in ("acc", "ci_low", "ci_high", "chance"))
        y = _TOP + i * _ROW_H

        def x(v: Any) -> float:
            return round(_LABEL_W + _PLOT_W * min(max(float(v), 0.0), 1.0), 1)

        bars.append(
            {
                "label": label,
                "y": y,
                "bar_y": y + (_ROW_H - _BAR_H) / 2,
                "mid": y + _ROW_H / 2,
                "width": round(x(acc) - _LABEL_W, 1) if is_number(acc) else 0,
                "measured": is_number(acc),
                "lo": x(lo) if is_number(lo) else None,
                "hi": x(hi) if is_number(hi) else None,
                "chance": x(chance) if is_number(chance) else None,
                "value": pct(acc) + (f" [{pct(lo)}, {pct(hi)}]" if is_number(lo) and is_number(hi) else ""),
                "n": int(score["n"]) if is_number(score.get("n")) else None,
            }
        )
    ticks = [{"x": round(_LABEL_W + _PLOT_W * t / 100, 1), "label": str(t)} for t in range(0, 101, 25)]
    return {
        "bars": bars,
        "ticks": ticks,
        "width": _LABEL_W + _PLOT_W + _VALUE_W,
        "height": _TOP + _ROW_H * len(rows) + 6,
        "plot_x": _LABEL_W,
        "plot_end": _LABEL_W + _PLOT_W,
        "top": _TOP,
        "bottom": _TOP + _ROW_H * len(rows),
        "any_chance": any(b["chance"] is not None for b in bars),
    }


def entry_view(entry: dict[str, Any], types: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the templates show for one entry, as plain strings and numbers (the templates escape them)."""
    scores = entry.get("scores") or {}
    model = entry.get("model") or {}
    training = entry.get("training") or {}
    speed = entry.get("speed_consistency") or {}
    # keyed by the types' names as the data gives them (None for a record without one), as are the lookups below
    type_names: dict[str | None, Any] = {t.get("name"): t.get("display_name") or t.get("name") for t in types}
    slug = _text(entry.get("slug"))
    return {
        "slug": slug,
        "href": "models/" + quote(slug, safe="") + ".html",
        "name": _text(entry.get("display_name")) or slug,
        "rank": entry.get("rank"),
        "tier": entry.get("tier"),
        "tier_class": "tier-odd" if is_number(entry.get("tier")) and int(entry["tier"]) % 2 else "tier-even",
        "status": _text(entry.get("status")),
        "baseline": bool(entry.get("baseline")),
        "reference": bool(entry.get("reference")),
        "badges": _badges(entry),
        "model": {
            k: _text(model.get(k)) for k in ("hub_id", "revision", "parameters", "language_model", "vision_encoder")
        },
        "frame_policy": _text(entry.get("frame_policy")),
        "frame_policy_parts": _text(entry.get("frame_policy")).split(","),
        "training": {k: bool(training.get(k)) for k in ("fine_tuned", "sf2t", "seen_benchmark_videos")},
        "adapter": _text(training.get("adapter")),
        "submitted_by": _text(entry.get("submitted_by")),
        "link": safe_link(entry.get("link")),
        "date": _text(entry.get("date")),
        "overall": _score_cell(scores.get("overall")),
        "scene": _score_cell(scores.get("scene")),
        "fragment": _score_cell(scores.get("fragment")),
        "types": {t.get("name"): _score_cell(scores.get(t.get("name"))) for t in types},
        "speed": _speed_cell(speed, type_names),
        "notes": [_text(n) for n in entry.get("notes") or []],
        **_charts(scores, speed, types, type_names),
        "wrong": _wrong_view(entry.get("wrong_examples") or {}, types, type_names),
    }


def _badges(entry: dict[str, Any]) -> list[dict[str, str]]:
    """The labels next to a model's name: baseline, verified or self-reported, and how it was trained."""
    training = entry.get("training") or {}
    badges = []
    if entry.get("baseline"):
        badges.append(("baseline", "baseline", "A reference baseline, not a model"))
    if entry.get("reference"):
        badges.append(
            (
                "reference",
                "reference",
                "A reference row for scale (what needs no pixels, what the shown pixels decide), never ranked",
            )
        )
    if entry.get("status") == "verified":
        badges.append(("verified", "verified", "Scores recomputed from the per-sample responses and matching"))
    else:
        badges.append(("self-reported", "self", "Scores could not be verified from per-sample responses"))
    if training.get("sf2t"):
        badges.append(("SF²T", "sf2t", "Fine-tuned with SF²T (self-supervised fragment fine-tuning)"))
    if training.get("fine_tuned"):
        badges.append(("fine-tuned", "ft", "Fine-tuned before evaluation"))
    if training.get("seen_benchmark_videos"):
        badges.append(("saw benchmark videos", "seen", "Training data included the benchmark's videos"))
    return [{"text": t, "cls": c, "title": title} for t, c, title in badges]


def _speed_cell(speed: dict[str, Any], type_names: dict[str | None, Any]) -> dict[str, str]:
    """The speed-consistency column: the mean over the types that report one."""
    speed_mean = mean_acc(speed)
    return {
        "text": pct(speed_mean),
        "value": f"{speed_mean:.6f}" if speed_mean is not None else "",
        "title": "Mean over " + ", ".join(_text(type_names.get(k, k)) for k in speed) if speed else "not measured",
    }


def _charts(
    scores: Mapping[str | None, Any],
    speed: dict[str, Any],
    types: list[dict[str, Any]],
    type_names: dict[str | None, Any],
) -> dict[str, Any]:
    """The model page's bar charts: per type, per level, and speed consistency (None without one)."""
    return {
        "type_chart": _bars(
            [(_text(t.get("display_name") or t.get("name")), scores.get(t.get("name"))) for t in types]
        ),
        "level_chart": _bars([(k.capitalize(), scores.get(k)) for k in ("overall", "scene", "fragment")]),
        "speed_chart": _bars([(_text(type_names.get(k, k)), v) for k, v in speed.items()]) if speed else None,
    }


def _wrong_view(
    wrong: Mapping[str | None, Any], types: list[dict[str, Any]], type_names: dict[str | None, Any]
) -> list[dict[str, Any]]:
    """Wrong answers per type, in registry order and then any other type by name; types without any left out."""
    # a JSON object's keys are strings; key=str only tells mypy so (the lookups below may be by None)
    order: list[str | None] = [t.get("name") for t in types] + sorted(
        (k for k in wrong if k not in type_names), key=str
    )
    return [
        {
            "type": _text(type_names.get(name, name)),
            "examples": [
                text_fields(x, ("question_id", "prompt", "response", "answer"))
                for x in wrong[name]
                if isinstance(x, dict)
            ],
        }
        for name in order
        if wrong.get(name)
    ]


def duplicate_view(record: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A duplicate submission, linked to the model page of the one that was kept (when there is one)."""
    view: dict[str, Any] = text_fields(record, ("slug", "kept", "reason"))
    view["kept_href"] = next((e["href"] for e in entries if e["slug"] and e["slug"] == view["kept"]), None)
    return view


def chance_row(entries: list[dict[str, Any]], types: list[dict[str, Any]]) -> dict[str, str]:
    """Chance level per column (from the first entry that reports one), as percentage text."""
    chance: dict[str, str] = {}
    for key in ["overall", "scene", "fragment"] + [t["name"] for t in types]:
        for e in entries:
            value = ((e.get("scores") or {}).get(key) or {}).get("chance")
            if is_number(value):
                chance[key] = pct(value)
                break
        else:
            chance[key] = "—"
    return chance
