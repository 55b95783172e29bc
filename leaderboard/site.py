"""Static leaderboard site: index, one page per model, protocol page, JSON and CSV downloads.

Every string in the input comes from submissions and is untrusted: templates are rendered with jinja2
autoescape on, nothing submitted is marked safe, links are kept only when they are http(s), and file paths
built from slugs are checked to stay inside their folder. The site loads nothing from the network (no CDN,
fonts or external images) and uses relative links only, so it works from ``file://``. Charts are inline SVG
drawn from numbers computed in `leaderboard.views`, which turns every submitted value into plain text.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from leaderboard.views import (
    chance_row,
    duplicate_view,
    entry_view,
    is_number,
    mean_acc,
    pct,
    safe_link,
    text_fields,
    type_groups,
)

if TYPE_CHECKING:
    import pandas as pd

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

TIER_LEGEND = "Models in the same tier are not significantly different on the shared questions (paired test, 95%)."
# spreadsheet programs run cells that start with these as formulas: prefix such submitted strings in the CSV
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

__all__ = ["TIER_LEGEND", "leaderboard_frame", "pct", "render_site", "safe_link"]


def render_site(data: dict[str, Any], out: str | Path) -> Path:
    """Write the static site for `data` (the leaderboard built from every submission) into `out`.

    Writes ``index.html``, ``models/<slug>.html`` (one per entry), ``protocol.html``, ``leaderboard.json``,
    ``leaderboard.csv`` and ``static/*``. Returns the path of ``index.html``.
    """
    out = Path(out)
    models_dir = out / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    types = list(data.get("types") or [])
    entries = _entry_views(data.get("entries") or [], types)
    references = [entry_view(e, types) for e in data.get("references") or []]
    # every page path is checked before anything is written
    pages = [_model_path(models_dir, e["slug"]) for e in entries + references]
    _check_unique_slugs(entries + references)
    _copy_static(out / "static")
    index = _write_pages(out, data, entries, pages, references)
    (out / "leaderboard.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _write_csv(out / "leaderboard.csv", data.get("entries") or [], types)
    return index


def _write_pages(
    out: Path,
    data: dict[str, Any],
    entries: list[dict[str, Any]],
    pages: list[Path],
    references: list[dict[str, Any]] | None = None,
) -> Path:
    """Render the index, one page per entry and reference row (at `pages`, checked) and the protocol page."""
    references = references or []
    env = _environment()
    types = list(data.get("types") or [])
    common = {
        "generated": data.get("generated", ""),
        "protocol_version": data.get("protocol_version", ""),
        "dataset": data.get("dataset", ""),
        "types": types,
    }
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(
            **common, **_index_context(data, entries, types), references=references
        ),
        encoding="utf-8",
    )
    for entry, page in zip(entries + references, pages, strict=True):
        page.write_text(
            env.get_template("model.html.j2").render(**common, root="../", page="model", e=entry),
            encoding="utf-8",
        )
    (out / "protocol.html").write_text(
        env.get_template("protocol.html.j2").render(
            **common, root="", page="protocol", groups=type_groups(types), tier_legend=TIER_LEGEND
        ),
        encoding="utf-8",
    )
    return index


def _entry_views(raw: list[dict[str, Any]], types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The template view of every entry, in rank order, each marked where a new tier starts."""
    entries = [entry_view(e, types) for e in raw]
    for i, entry in enumerate(entries):  # first row of each tier, for a separator line in rank order
        entry["tier_start"] = i > 0 and entries[i - 1]["tier"] != entry["tier"]
    return entries


def _check_unique_slugs(entries: list[dict[str, Any]]) -> None:
    """Refuse entries that would write the same model page."""
    shared = sorted(slug for slug, n in Counter(e["slug"] for e in entries).items() if n > 1)
    if shared:
        raise ValueError("two entries share a slug: " + ", ".join(shared))


def _copy_static(static_out: Path) -> None:
    """Copy the stylesheet and scripts next to the pages (the site loads nothing from the network)."""
    static_out.mkdir(exist_ok=True)
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            shutil.copyfile(path, static_out / path.name)


def _index_context(data: dict[str, Any], entries: list[dict[str, Any]], types: list[dict[str, Any]]) -> dict[str, Any]:
    """What the index page shows besides the common header: the ranked table, rejections and duplicates."""
    return {
        "root": "",
        "page": "index",
        "entries": entries,
        "groups": type_groups(types),
        "chance": chance_row(data.get("entries") or [], types),
        "tier_legend": TIER_LEGEND,
        "rejected": [text_fields(r, ("slug", "reason")) for r in data.get("rejected") or []],
        "duplicates": [duplicate_view(d, entries) for d in data.get("duplicates") or []],
    }


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


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else ""
    text = str(value)
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def leaderboard_frame(entries: list[dict[str, Any]], types: list[dict[str, Any]]) -> pd.DataFrame:
    """The ranked board as a table, one row per entry (the CSV download is this frame)."""
    import pandas as pd

    names: list[str] = [t["name"] for t in types]
    rows = []
    for e in entries:
        scores = e.get("scores") or {}
        training = e.get("training") or {}

        def acc(key: str, field: str = "acc", scores: dict[str, Any] = scores) -> float | None:
            value = (scores.get(key) or {}).get(field)
            return float(value) if is_number(value) else None

        row = {key: e.get(key) for key in ("rank", "tier", "slug", "display_name", "status")}
        row |= {"baseline": bool(e.get("baseline")), "overall_acc": acc("overall")}
        row |= {"overall_ci_low": acc("overall", "ci_low"), "overall_ci_high": acc("overall", "ci_high")}
        row |= {"scene_acc": acc("scene"), "fragment_acc": acc("fragment")} | {f"{n}_acc": acc(n) for n in names}
        row |= {"speed_consistency": mean_acc(e.get("speed_consistency")), "frames": e.get("frame_policy")}
        row |= {"parameters": (e.get("model") or {}).get("parameters")}
        row |= {"sf2t": bool(training.get("sf2t")), "fine_tuned": bool(training.get("fine_tuned"))}
        rows.append(row)
    header = ["rank", "tier", "slug", "display_name", "status", "baseline"]
    header += ["overall_acc", "overall_ci_low", "overall_ci_high", "scene_acc", "fragment_acc"]
    header += [f"{n}_acc" for n in names] + ["speed_consistency", "frames", "parameters", "sf2t", "fine_tuned"]
    # pandas' stubs type the constructor's Self from `typing`, which has none on Python 3.10: Any to mypy
    frame: pd.DataFrame = pd.DataFrame(rows, columns=header, dtype=object)
    return frame


def _write_csv(path: Path, entries: list[dict[str, Any]], types: list[dict[str, Any]]) -> None:
    frame = leaderboard_frame(entries, types)
    frame.map(_csv_cell).to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8")
