"""Static leaderboard site: index, one page per model, protocol page, JSON and CSV downloads.

Every string in the input comes from submissions and is untrusted: templates are rendered with jinja2
autoescape on, nothing submitted is marked safe, links are kept only when they are http(s), and file paths
built from slugs are checked to stay inside their folder. The site loads nothing from the network (no CDN,
fonts or external images) and uses relative links only, so it works from ``file://``. Charts are inline SVG
drawn from numbers computed here.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

if TYPE_CHECKING:
    import pandas as pd

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

TIER_LEGEND = "Models in the same tier are not significantly different on the shared questions (paired test, 95%)."
# spreadsheet programs run cells that start with these as formulas: prefix such submitted strings in the CSV
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# bar charts (inline SVG) geometry, in px
_LABEL_W = 170
_PLOT_W = 440
_VALUE_W = 120
_ROW_H = 26
_BAR_H = 14
_TOP = 22


def render_site(data: dict, out: str | Path) -> Path:
    """Write the static site for `data` (the leaderboard built from every submission) into `out`.

    Writes ``index.html``, ``models/<slug>.html`` (one per entry), ``protocol.html``, ``leaderboard.json``,
    ``leaderboard.csv`` and ``static/*``. Returns the path of ``index.html``.
    """
    out = Path(out)
    models_dir = out / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    env = _environment()
    types = list(data.get("types") or [])
    entries = [_entry_view(e, types) for e in data.get("entries") or []]
    # every page path is checked before anything is written
    pages = [_model_path(models_dir, e["slug"]) for e in entries]
    shared = sorted(slug for slug, n in Counter(e["slug"] for e in entries).items() if n > 1)
    if shared:
        raise ValueError("two entries share a slug: " + ", ".join(shared))
    for i, entry in enumerate(entries):  # first row of each tier, for a separator line in rank order
        entry["tier_start"] = i > 0 and entries[i - 1]["tier"] != entry["tier"]
    common = {
        "generated": data.get("generated", ""),
        "protocol_version": data.get("protocol_version", ""),
        "dataset": data.get("dataset", ""),
        "types": types,
    }

    static_out = out / "static"
    static_out.mkdir(exist_ok=True)
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            shutil.copyfile(path, static_out / path.name)

    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(
            **common,
            root="",
            page="index",
            entries=entries,
            groups=_type_groups(types),
            chance=_chance_row(data.get("entries") or [], types),
            tier_legend=TIER_LEGEND,
            rejected=[_text_fields(r, ("slug", "reason")) for r in data.get("rejected") or []],
            duplicates=[_duplicate_view(d, entries) for d in data.get("duplicates") or []],
        ),
        encoding="utf-8",
    )
    for entry, page in zip(entries, pages, strict=True):
        page.write_text(
            env.get_template("model.html.j2").render(**common, root="../", page="model", e=entry),
            encoding="utf-8",
        )
    (out / "protocol.html").write_text(
        env.get_template("protocol.html.j2").render(
            **common, root="", page="protocol", groups=_type_groups(types), tier_legend=TIER_LEGEND
        ),
        encoding="utf-8",
    )
    (out / "leaderboard.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _write_csv(out / "leaderboard.csv", data.get("entries") or [], types)
    return index


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
    if not _is_number(value):
        return "—"
    return f"{100 * float(value):.1f}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = pct
    return env


def _model_path(models_dir: Path, slug: str) -> Path:
    """``models_dir/<slug>.html``, refusing any slug that would leave `models_dir`."""
    if not isinstance(slug, str) or not slug or slug in (".", "..") or "/" in slug or "\\" in slug or "\0" in slug:
        raise ValueError(f"unsafe slug for a model page: {slug!r}")
    root = models_dir.resolve()
    path = (root / f"{slug}.html").resolve()
    if path.parent != root:
        raise ValueError(f"unsafe slug for a model page: {slug!r}")
    return path


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _text_fields(record: dict, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: _text(record.get(k)) for k in keys}


def _type_groups(types: list[dict]) -> list[dict]:
    """Consecutive runs of types of the same level, for the grouped table header: [{level, types}]."""
    groups: list[dict] = []
    for t in types:
        if groups and groups[-1]["level"] == t.get("level"):
            groups[-1]["types"].append(t)
        else:
            groups.append({"level": t.get("level"), "types": [t]})
    return groups


def _score_cell(score: Any) -> dict:
    """What the table shows for a score: text, interval text, sort value, tooltip."""
    score = score if isinstance(score, dict) else {}
    acc, lo, hi, n = score.get("acc"), score.get("ci_low"), score.get("ci_high"), score.get("n")
    has_ci = _is_number(lo) and _is_number(hi)
    title = f"{pct(acc)}%" if _is_number(acc) else "not measured"
    if has_ci:
        title += f", 95% interval [{pct(lo)}, {pct(hi)}]"
    if _is_number(n):
        title += f", n={int(n)}"
    if _is_number(score.get("chance")):
        title += f", chance {pct(score['chance'])}%"
    return {
        "text": pct(acc),
        "ci": f"[{pct(lo)}, {pct(hi)}]" if has_ci else "",
        "value": f"{float(acc):.6f}" if _is_number(acc) else "",
        "title": title,
    }


def _mean_acc(scores: Any) -> float | None:
    accs = [s.get("acc") for s in (scores or {}).values() if isinstance(s, dict)] if isinstance(scores, dict) else []
    accs = [float(a) for a in accs if _is_number(a)]
    return sum(accs) / len(accs) if accs else None


def _bars(rows: list[tuple[str, Any]]) -> dict:
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
                "width": round(x(acc) - _LABEL_W, 1) if _is_number(acc) else 0,
                "measured": _is_number(acc),
                "lo": x(lo) if _is_number(lo) else None,
                "hi": x(hi) if _is_number(hi) else None,
                "chance": x(chance) if _is_number(chance) else None,
                "value": pct(acc) + (f" [{pct(lo)}, {pct(hi)}]" if _is_number(lo) and _is_number(hi) else ""),
                "n": int(score["n"]) if _is_number(score.get("n")) else None,
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


def _entry_view(entry: dict, types: list[dict]) -> dict:
    """Everything the templates show for one entry, as plain strings and numbers (the templates escape them)."""
    scores = entry.get("scores") or {}
    model = entry.get("model") or {}
    training = entry.get("training") or {}
    speed = entry.get("speed_consistency") or {}
    type_names = {t.get("name"): t.get("display_name") or t.get("name") for t in types}
    slug = _text(entry.get("slug"))
    speed_mean = _mean_acc(speed)
    badges = []
    if entry.get("baseline"):
        badges.append(("baseline", "baseline", "A reference baseline, not a model"))
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
    wrong = entry.get("wrong_examples") or {}
    order = [t.get("name") for t in types] + sorted(k for k in wrong if k not in type_names)
    return {
        "slug": slug,
        "href": "models/" + quote(slug, safe="") + ".html",
        "name": _text(entry.get("display_name")) or slug,
        "rank": entry.get("rank"),
        "tier": entry.get("tier"),
        "tier_class": "tier-odd" if _is_number(entry.get("tier")) and int(entry["tier"]) % 2 else "tier-even",
        "status": _text(entry.get("status")),
        "baseline": bool(entry.get("baseline")),
        "badges": [{"text": t, "cls": c, "title": title} for t, c, title in badges],
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
        "speed": {
            "text": pct(speed_mean),
            "value": f"{speed_mean:.6f}" if speed_mean is not None else "",
            "title": "Mean over " + ", ".join(_text(type_names.get(k, k)) for k in speed) if speed else "not measured",
        },
        "notes": [_text(n) for n in entry.get("notes") or []],
        "type_chart": _bars(
            [(_text(t.get("display_name") or t.get("name")), scores.get(t.get("name"))) for t in types]
        ),
        "level_chart": _bars([(k.capitalize(), scores.get(k)) for k in ("overall", "scene", "fragment")]),
        "speed_chart": _bars([(_text(type_names.get(k, k)), v) for k, v in speed.items()]) if speed else None,
        "wrong": [
            {
                "type": _text(type_names.get(name, name)),
                "examples": [
                    _text_fields(x, ("question_id", "prompt", "response", "answer"))
                    for x in wrong[name]
                    if isinstance(x, dict)
                ],
            }
            for name in order
            if wrong.get(name)
        ],
    }


def _duplicate_view(record: dict, entries: list[dict]) -> dict:
    view: dict[str, Any] = _text_fields(record, ("slug", "kept", "reason"))
    view["kept_href"] = next((e["href"] for e in entries if e["slug"] and e["slug"] == view["kept"]), None)
    return view


def _chance_row(entries: list[dict], types: list[dict]) -> dict[str, str]:
    """Chance level per column (from the first entry that reports one), as percentage text."""
    chance: dict[str, str] = {}
    for key in ["overall", "scene", "fragment"] + [t.get("name") for t in types]:
        for e in entries:
            value = ((e.get("scores") or {}).get(key) or {}).get("chance")
            if _is_number(value):
                chance[key] = pct(value)
                break
        else:
            chance[key] = "—"
    return chance


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else ""
    text = str(value)
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def leaderboard_frame(entries: list[dict], types: list[dict]) -> pd.DataFrame:
    """The ranked board as a table, one row per entry (the CSV download is this frame)."""
    import pandas as pd

    names = [t.get("name") for t in types]
    rows = []
    for e in entries:
        scores = e.get("scores") or {}
        training = e.get("training") or {}

        def acc(key: str, field: str = "acc", scores: dict = scores) -> Any:
            value = (scores.get(key) or {}).get(field)
            return float(value) if _is_number(value) else None

        row = {key: e.get(key) for key in ("rank", "tier", "slug", "display_name", "status")}
        row |= {"baseline": bool(e.get("baseline")), "overall_acc": acc("overall")}
        row |= {"overall_ci_low": acc("overall", "ci_low"), "overall_ci_high": acc("overall", "ci_high")}
        row |= {"scene_acc": acc("scene"), "fragment_acc": acc("fragment")} | {f"{n}_acc": acc(n) for n in names}
        row |= {"speed_consistency": _mean_acc(e.get("speed_consistency")), "frames": e.get("frame_policy")}
        row |= {"parameters": (e.get("model") or {}).get("parameters")}
        row |= {"sf2t": bool(training.get("sf2t")), "fine_tuned": bool(training.get("fine_tuned"))}
        rows.append(row)
    header = ["rank", "tier", "slug", "display_name", "status", "baseline"]
    header += ["overall_acc", "overall_ci_low", "overall_ci_high", "scene_acc", "fragment_acc"]
    header += [f"{n}_acc" for n in names] + ["speed_consistency", "frames", "parameters", "sf2t", "fine_tuned"]
    return pd.DataFrame(rows, columns=header, dtype=object)


def _write_csv(path: Path, entries: list[dict], types: list[dict]) -> None:
    frame = leaderboard_frame(entries, types)
    frame.map(_csv_cell).to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8")
