"""The static leaderboard site: rendering, escaping of untrusted strings, downloads, and behaviour in a real browser."""

from __future__ import annotations

import copy
import csv
import importlib.util
import json
import math
import random
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from leaderboard.site import render_site, safe_link

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "install with `apt-get install -y chromium chromium-driver` (selenium comes with `make venv`)"

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
CSV_COLUMNS = ["rank", "tier", "display_name", "status", "overall_acc", "overall_ci_low", "overall_ci_high"]
CSV_COLUMNS += ["scene_acc", "fragment_acc", "speed_consistency", "frames", "parameters", "sf2t", "fine_tuned"]
BAD_LINKS = (None, 3, "", "javascript:alert(1)", " javascript:x", "JavaScript:x", "data:text/html,x")
BAD_LINKS += ("//evil.example", "/local", "https://", "https://a b", "ftp://x", "java\nscript:x")
SCRIPT_NAME = "<script>alert(1)</script>"
HOSTILE_LINK = "javascript:alert(1)"
TYPES = [
    ("action", "scene", "Action", "Recognise the action in the clip (4 options), at each playback speed.", 1 / 4),
    ("effect", "scene", "Effect", "Name the result of the action (4 options), at each playback speed.", 1 / 4),
    ("speed", "scene", "Speed", "Tell normal, slowed-down and sped-up playback apart (3 options).", 1 / 3),
    ("moment_count", "fragment", "Moment count", "Count the different moments among repeated frames.", 1 / 6),
    ("meaningful_order", "fragment", "Meaningful order", "Tell a forward sequence from a reversed one.", 1 / 2),
    ("frame_comparison", "fragment", "Frame comparison", "Say whether two frames are the same moment.", 1 / 2),
    ("adjust_or_not", "fragment", "Adjust or not", "Say whether frames are out of order.", 1 / 2),
    ("rearrangement", "fragment", "Rearrangement", "Order shuffled frames (exact match).", 1 / 23),
]
MODELS = [
    ("Qwen2.5-VL-7B", "Qwen/Qwen2.5-VL-7B-Instruct", "7B", "Qwen2.5-7B", "ViT-675M"),
    ("InternVL2.5-8B", "OpenGVLab/InternVL2_5-8B", "8B", "InternLM2.5-7B", "InternViT-300M"),
    ("LLaVA-Video-7B", "lmms-lab/LLaVA-Video-7B-Qwen2", "7B", "Qwen2-7B", "SigLIP-400M"),
    ("VideoLLaMA3-7B", "DAMO-NLP-SG/VideoLLaMA3-7B", "7B", "Qwen2.5-7B", "SigLIP-400M"),
    ("LLaVA-OneVision-7B", "lmms-lab/llava-onevision-qwen2-7b-ov", "7B", "Qwen2-7B", "SigLIP-400M"),
    ("MiniCPM-V-2.6", "openbmb/MiniCPM-V-2_6", "8B", "Qwen2-7B", "SigLIP-400M"),
    ("Qwen2.5-VL-3B", "Qwen/Qwen2.5-VL-3B-Instruct", "3B", "Qwen2.5-3B", "ViT-675M"),
    ("Qwen2-VL-2B + SF²T", "Qwen/Qwen2-VL-2B-Instruct", "2B", "Qwen2-1.5B", "ViT-675M"),
]


def _score(rng: random.Random, acc: float, n: int, chance: float) -> dict:
    acc = min(max(acc, 0.0), 1.0)
    half = 1.96 * math.sqrt(max(acc * (1 - acc), 0.01) / n)
    return {
        "acc": round(acc, 4),
        "ci_low": round(max(acc - half, 0.0), 4),
        "ci_high": round(min(acc + half, 1.0), 4),
        "n": n,
        "chance": round(chance, 4),
    }


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"


def make_data(n_entries: int, seed: int = 0, hostile: bool = True) -> dict:
    """A leaderboard as `leaderboard.build` makes it: `n_entries` entries sorted by rank, the last two baselines.

    With `hostile`, the third entry carries script-injection strings in every submitted field.
    """
    rng = random.Random(seed)
    types = [{"name": n, "level": lv, "display_name": d, "description": desc} for n, lv, d, desc, _ in TYPES]
    chance = {n: c for n, _, _, _, c in TYPES}
    raw = []
    for i in range(n_entries):
        baseline = i >= n_entries - 2 and n_entries >= 3
        if baseline:
            which = "random" if i == n_entries - 1 else "most_frequent"
            name, hub, params, lm, ve = (f"Baseline: {which}", f"finevidbench/{which}", "0", "", "")
        elif i < len(MODELS):
            name, hub, params, lm, ve = MODELS[i]
        else:
            name, hub, params, lm, ve = (f"Model-{i}", f"org/model-{i}", f"{1 + i % 13}B", "LM", "ViT")
        strength = 0.0 if baseline else 0.55 - 0.035 * i + rng.uniform(-0.01, 0.01)
        scores, per_type_n = {}, {}
        for t, level, *_ in TYPES:
            n = 120 if level == "scene" else 80
            per_type_n[t] = n
            acc = chance[t] + (1 - chance[t]) * strength + (rng.uniform(-0.04, 0.04) if baseline else 0)
            scores[t] = _score(rng, acc + rng.uniform(-0.05, 0.05) * (not baseline), n, chance[t])

        def pooled(names: list[str], scores: dict = scores, per_type_n: dict = per_type_n) -> dict:
            total = sum(per_type_n[t] for t in names)
            acc = sum(scores[t]["acc"] * per_type_n[t] for t in names) / total
            ch = sum(chance[t] * per_type_n[t] for t in names) / total
            return _score(rng, acc, total, ch)

        scenes = [t for t, lv, *_ in TYPES if lv == "scene"]
        frags = [t for t, lv, *_ in TYPES if lv == "fragment"]
        scores["scene"], scores["fragment"] = pooled(scenes), pooled(frags)
        scores["overall"] = pooled(scenes + frags)
        sf2t = "SF²T" in name
        raw.append(
            {
                "slug": _slug(name),
                "display_name": name,
                "status": "self-reported" if i % 4 == 3 else "verified",
                "baseline": baseline,
                "model": {
                    "hub_id": hub,
                    "revision": f"{rng.getrandbits(40):010x}",
                    "parameters": params,
                    "language_model": lm,
                    "vision_encoder": ve,
                },
                "frame_policy": "fps=3,max_frames=24,mode=segment" if i % 2 else "frames=16,mode=uniform",
                "training": {
                    "fine_tuned": sf2t,
                    "sf2t": sf2t,
                    "adapter": "lora-r16" if sf2t else None,
                    "seen_benchmark_videos": i == 5,
                },
                "submitted_by": "FineVidBench maintainers" if baseline else f"lab-{i}",
                "link": "https://example.org/papers/" + _slug(name) if i % 3 == 0 else None,
                "date": f"2026-11-{1 + i % 28:02d}",
                "scores": scores,
                "speed_consistency": {
                    t: {k: v for k, v in _score(rng, scores[t]["acc"] * 0.7, 40, 0).items() if k != "chance"}
                    for t in ("action", "effect")
                },
                "notes": ["claimed overall 0.61 differs from recomputed 0.58"] if i % 4 == 3 else [],
                "wrong_examples": {
                    t: [
                        {
                            "question_id": f"{t}-{j:04d}",
                            "prompt": f"Question about the clip ({t}).\nA. left\nB. right\nC. up\nD. down",
                            "response": "C. up",
                            "answer": "B",
                        }
                        for j in range(3)
                    ]
                    for t in ("action", "rearrangement")
                },
            }
        )
    raw.sort(key=lambda e: -e["scores"]["overall"]["acc"])
    tier, previous = 0, None
    for rank, e in enumerate(raw, start=1):
        acc = e["scores"]["overall"]["acc"]
        if previous is None or previous - acc > 0.03:
            tier += 1
        previous = acc
        e["rank"], e["tier"] = rank, tier
    if hostile and len(raw) >= 3:
        e = raw[2]
        e["display_name"] = SCRIPT_NAME
        e["link"] = HOSTILE_LINK
        e["submitted_by"] = '"><img src=x onerror=alert(2)>'
        e["model"]["hub_id"] = "<b>bold</b>"
        e["frame_policy"] = "<svg onload=alert(3)>"
        e["notes"] = ["<iframe src=https://evil.example/></iframe>", "ok & fine"]
        e["wrong_examples"]["action"][0].update(
            prompt="</pre><script>alert(4)</script>", response="<img src=x onerror=alert(5)>", answer="<i>B</i>"
        )
    references = []
    for slug, name, acc in (
        ("pixel-oracle", "Pixel oracle", 0.99),
        ("text-only", "Pixel-blind adversary: text only", 0.3),
    ):
        row = copy.deepcopy(raw[0])
        row.update(slug=slug, display_name=name, rank=None, tier=None, baseline=False, reference=True, notes=[])
        row["scores"]["overall"]["acc"] = acc  # the oracle above every model: ranked, it would come first
        references.append(row)
    return {
        "generated": "2026-11-21T12:00:00Z",
        "protocol_version": "finevidbench-v1+abcdef0123",
        "dataset": "mini",
        "types": types,
        "entries": raw,
        "references": references,
        "rejected": [
            {"slug": "broken-run", "reason": "samples.jsonl missing 12 questions"},
            {"slug": "evil", "reason": "<script>alert(6)</script>"},
        ],
        "duplicates": [
            {
                "slug": raw[0]["slug"] + "-old",
                "kept": raw[0]["slug"],
                "reason": "older submission of the same (model, revision, protocol)",
            }
        ],
    }


N = 10


@pytest.fixture(scope="module")
def data() -> dict:
    return make_data(N)


@pytest.fixture(scope="module")
def site(tmp_path_factory, data) -> Path:
    out = tmp_path_factory.mktemp("site")
    index = render_site(data, out)
    assert index == out / "index.html"
    return out


def _html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "formaction", "poster", "data") and value is not None:
                self.links.append((tag, name, value))


def _links(path: Path) -> list[tuple[str, str, str]]:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.links


# --- rendering, without a browser ---


def test_files_exist(site, data):
    assert (site / "index.html").is_file()
    assert (site / "protocol.html").is_file()
    assert (site / "leaderboard.json").is_file()
    assert (site / "leaderboard.csv").is_file()
    assert (site / "static" / "site.css").is_file()
    assert (site / "static" / "board.js").is_file()
    pages = sorted(p.stem for p in (site / "models").glob("*.html"))
    assert pages == sorted(e["slug"] for e in data["entries"] + data["references"])  # reference rows have pages too


def test_index_lists_every_entry_with_its_link(site, data):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert html.count('<tr class="tier-') == N
    for e in data["entries"]:
        assert f'href="models/{e["slug"]}.html"' in html
    assert "finevidbench-v1+abcdef0123" in html
    assert "paired test, 95%" in html
    top = data["entries"][0]["scores"]["overall"]
    assert f"{100 * top['acc']:.1f}" in html
    assert f"[{100 * top['ci_low']:.1f}, {100 * top['ci_high']:.1f}]" in html
    assert "Rejected submissions" in html and "samples.jsonl missing 12 questions" in html
    assert "Duplicates" in html and "older submission of the same" in html
    for badge in ("baseline", "verified", "self-reported", "SF²T", "fine-tuned", "saw benchmark videos"):
        assert f">{badge}</span>" in html, badge


def test_script_display_name_is_escaped_everywhere(site, data):
    hostile = data["entries"][2]
    index = (site / "index.html").read_text(encoding="utf-8")
    page = (site / "models" / f"{hostile['slug']}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in page
    for path in _html_files(site):
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text and "<svg onload" not in text and "<iframe" not in text, path
        assert "<b>bold</b>" not in text and "<i>B</i>" not in text, path
        # the only scripts are the site's own file
        for tag, _, value in _links(path):
            if tag == "script":
                assert value.endswith("static/board.js"), path
        assert len(re.findall(r"<script\b", text)) == (1 if path.name == "index.html" else 0), path


def test_javascript_link_is_not_rendered(site, data):
    hostile = data["entries"][2]
    page = site / "models" / f"{hostile['slug']}.html"
    for path in _html_files(site):
        for _, _, value in _links(path):
            assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (path, value)
    assert "javascript:" not in page.read_text(encoding="utf-8")
    linked = [e for e in data["entries"] if e["link"] and e["link"].startswith("https://")]
    assert linked
    for e in linked:
        text = (site / "models" / f"{e['slug']}.html").read_text(encoding="utf-8")
        assert f'href="{e["link"]}"' in text


def test_safe_link():
    assert safe_link("https://example.org/x") == "https://example.org/x"
    assert safe_link("HTTP://example.org") == "HTTP://example.org"
    assert safe_link(" http://a.b/c?d=1#e ") == "http://a.b/c?d=1#e"
    for bad in BAD_LINKS:
        assert safe_link(bad) is None, bad


def test_nothing_loads_from_the_network_and_local_links_resolve(site, data):
    allowed = {e["link"] for e in data["entries"] if safe_link(e["link"])}
    for path in _html_files(site):
        text = path.read_text(encoding="utf-8")
        assert "@import" not in text and "url(" not in text, path
        for tag, attr, value in _links(path):
            parts = urlsplit(value)
            if parts.scheme or value.startswith("//"):
                assert tag == "a" and attr == "href" and value in allowed, (path, tag, attr, value)
                continue
            assert not value.startswith("/"), (path, value)  # relative links only: the site works from file://
            if parts.path:
                assert (path.parent / parts.path).resolve().is_file(), (path, value)
    css = (site / "static" / "site.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    js = (site / "static" / "board.js").read_text(encoding="utf-8")
    assert "http" not in js and "fetch(" not in js and "XMLHttpRequest" not in js
    assert len(js.splitlines()) <= 80


def test_model_page_has_charts_notes_and_examples(site, data):
    e = data["entries"][0]
    html = (site / "models" / f"{e['slug']}.html").read_text(encoding="utf-8")
    assert html.count('<svg class="chart"') == 3  # per type, scene vs fragment, speed consistency
    assert html.count('class="bar"') == len(TYPES) + 3 + 2
    assert html.count('class="chance"') == len(TYPES) + 3
    assert 'href="../index.html"' in html
    assert e["model"]["hub_id"] in html and e["frame_policy"] in html
    assert "Question about the clip (action)." in html and "Gold" in html
    noted = next(x for x in data["entries"] if x["notes"] and x is not data["entries"][2])
    noted_page = (site / "models" / f"{noted['slug']}.html").read_text(encoding="utf-8")
    assert "claimed overall 0.61 differs from recomputed 0.58" in noted_page


def test_protocol_page(site, data):
    html = (site / "protocol.html").read_text(encoding="utf-8")
    for t in data["types"]:
        assert t["display_name"] in html and t["description"] in html
    assert "make submit RESULTS=runs/&lt;name&gt;" in html
    assert "make eval" in html and "leaderboard/submissions/&lt;slug&gt;/" in html
    assert "samples.jsonl" in html and "never trusted" in html


def test_csv_has_one_row_per_entry(site, data):
    with (site / "leaderboard.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(data["entries"])
    first = rows[0]
    for column in CSV_COLUMNS:
        assert column in first, column
    for t, *_ in TYPES:
        assert f"{t}_acc" in first
    for row, e in zip(rows, data["entries"], strict=True):
        assert row["display_name"] == e["display_name"]
        assert int(row["rank"]) == e["rank"] and int(row["tier"]) == e["tier"]
        assert float(row["overall_acc"]) == pytest.approx(e["scores"]["overall"]["acc"], abs=1e-4)
        assert row["frames"] == e["frame_policy"]


def test_csv_neutralises_formulas(tmp_path):
    data = make_data(4, hostile=False)
    data["entries"][0]["display_name"] = '=HYPERLINK("https://evil.example")'
    render_site(data, tmp_path)
    with (tmp_path / "leaderboard.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["display_name"].startswith("'=")


def test_json_round_trips(site, data):
    text = (site / "leaderboard.json").read_text(encoding="utf-8")
    assert json.loads(text) == data
    assert text.strip() == json.dumps(data, indent=1, sort_keys=True)


@pytest.mark.parametrize("slug", ["../escape", "..", "a/b", "", "x\\y"])
def test_slug_cannot_leave_models_folder(tmp_path, slug):
    data = make_data(3, hostile=False)
    data["entries"][0]["slug"] = slug
    with pytest.raises(ValueError, match="unsafe slug"):
        render_site(data, tmp_path / "out")
    assert not (tmp_path / "escape.html").exists()
    assert not (tmp_path / "out" / "index.html").exists()  # refused before anything is written


def test_duplicate_slugs_are_refused(tmp_path):
    data = make_data(3, hostile=False)
    data["entries"][1]["slug"] = data["entries"][0]["slug"]
    with pytest.raises(ValueError, match="share a slug"):
        render_site(data, tmp_path)
    assert not (tmp_path / "index.html").exists()


def test_empty_and_sparse_data(tmp_path):
    """No entries, no types and missing optional fields still render."""
    render_site({"entries": [], "types": []}, tmp_path / "empty")
    assert "None." in (tmp_path / "empty" / "index.html").read_text(encoding="utf-8")
    sparse = {"types": make_data(3)["types"], "entries": [{"slug": "bare", "display_name": "Bare", "rank": 1}]}
    render_site(sparse, tmp_path / "sparse")
    assert "Bare" in (tmp_path / "sparse" / "models" / "bare.html").read_text(encoding="utf-8")


# --- in a real headless browser ---


def _missing_browser() -> str | None:
    missing = []
    if importlib.util.find_spec("selenium") is None:
        missing.append("the selenium package")
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        missing.append(f"chromium ({CHROMIUM})")
    if not Path(CHROMEDRIVER).is_file() and not shutil.which("chromedriver"):
        missing.append(f"chromedriver ({CHROMEDRIVER})")
    return ", ".join(missing) or None


@pytest.fixture(scope="module")
def driver():
    missing = _missing_browser()
    if missing:
        pytest.skip(f"browser tests need {missing}: {INSTALL_HINT}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="finevidbench-chromium-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1500,1000"):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER if Path(CHROMEDRIVER).is_file() else shutil.which("chromedriver"))
    browser = webdriver.Chrome(service=service, options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver, path: Path):
    driver.get(path.resolve().as_uri())
    return driver


def _names(driver, visible_only: bool = False) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#board tbody tr")
    return [r.find_element(By.CSS_SELECTOR, "a.model-name").text for r in rows if not visible_only or r.is_displayed()]


def _assert_no_alert(driver):
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 (the property raises when no alert is open)


@pytest.mark.slow
def test_browser_table_renders_all_rows(driver, site, data):
    _open(driver, site / "index.html")
    assert _names(driver) == [e["display_name"] for e in data["entries"]]
    assert driver.find_element("id", "shown").text == f"{N} of {N} shown"
    _assert_no_alert(driver)


def _reference_rows(driver) -> list[tuple[str, str, str]]:
    """(rank, tier, name) of each reference row at the foot of the table."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#board tfoot tr.reference-row")
    return [tuple(r.find_elements(By.TAG_NAME, "td")[i].text for i in (0, 1, 2)) for r in rows]


@pytest.mark.slow
def test_browser_reference_rows_are_shown_and_never_ranked(driver, site, data):
    """The oracle and the adversaries sit under the models with no rank or tier, whatever the sort."""
    from selenium.webdriver.common.by import By

    _open(driver, site / "index.html")
    names = [e["display_name"] for e in data["references"]]
    shown = _reference_rows(driver)
    assert [row[2].split(" reference")[0].strip() for row in shown] == names
    assert all(rank == "—" and tier == "—" and "reference" in name for rank, tier, name in shown)
    assert not set(names) & set(_names(driver))
    driver.find_element(By.CSS_SELECTOR, 'button[data-key="overall"]').click()
    assert _names(driver)[0] == data["entries"][0]["display_name"]  # the oracle (99 %) is not sorted among them
    assert len(_reference_rows(driver)) == len(names)
    assert (site / "models" / "pixel-oracle.html").is_file()


@pytest.mark.slow
def test_browser_sorting_by_overall(driver, site, data):
    from selenium.webdriver.common.by import By

    _open(driver, site / "index.html")
    initial = _names(driver)
    driver.find_element(By.CSS_SELECTOR, 'button[data-key="name"]').click()
    by_name = _names(driver)
    assert by_name != initial and sorted(by_name) == sorted(initial)

    overall = driver.find_element(By.CSS_SELECTOR, 'button[data-key="overall"]')
    best_first = [e["display_name"] for e in sorted(data["entries"], key=lambda e: -e["scores"]["overall"]["acc"])]
    overall.click()
    after = _names(driver)
    assert after != by_name
    assert after == best_first
    assert overall.find_element(By.XPATH, "..").get_attribute("aria-sort") == "descending"
    overall.click()
    assert _names(driver) == best_first[::-1]
    assert overall.find_element(By.XPATH, "..").get_attribute("aria-sort") == "ascending"

    driver.find_element(By.CSS_SELECTOR, 'button[data-key="rank"]').click()
    assert _names(driver) == initial


@pytest.mark.slow
def test_browser_filter_and_checkboxes(driver, site, data):
    from selenium.webdriver.common.by import By

    _open(driver, site / "index.html")
    box = driver.find_element(By.ID, "filter")
    box.send_keys("qwen")
    expected = [e["display_name"] for e in data["entries"] if "qwen" in e["display_name"].lower()]
    assert 0 < len(expected) < N
    assert _names(driver, visible_only=True) == expected
    assert driver.find_element(By.ID, "shown").text == f"{len(expected)} of {N} shown"
    box.clear()
    box.send_keys("no such model")
    assert _names(driver, visible_only=True) == []
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; whitespace filters nothing
    assert len(_names(driver, visible_only=True)) == N

    driver.find_element(By.ID, "hide-baselines").click()
    assert _names(driver, visible_only=True) == [e["display_name"] for e in data["entries"] if not e["baseline"]]
    driver.find_element(By.ID, "hide-self").click()
    assert _names(driver, visible_only=True) == [
        e["display_name"] for e in data["entries"] if not e["baseline"] and e["status"] != "self-reported"
    ]


@pytest.mark.slow
def test_browser_script_name_shows_as_text(driver, site, data):
    from selenium.webdriver.common.by import By

    _open(driver, site / "index.html")
    _assert_no_alert(driver)
    cells = [c for c in driver.find_elements(By.CSS_SELECTOR, "a.model-name") if "alert" in c.text]
    assert [c.text for c in cells] == [SCRIPT_NAME]
    hostile = data["entries"][2]
    _open(driver, site / "models" / f"{hostile['slug']}.html")
    _assert_no_alert(driver)
    assert driver.find_element(By.CSS_SELECTOR, "h1").text == SCRIPT_NAME
    for summary in driver.find_elements(By.CSS_SELECTOR, "details.wrong summary"):
        summary.click()
    pres = [p.text for p in driver.find_elements(By.CSS_SELECTOR, ".example pre")]
    assert "</pre><script>alert(4)</script>" in pres and "<img src=x onerror=alert(5)>" in pres
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main iframe, main script")
    assert driver.execute_script("return document.querySelectorAll('script').length") == 0
    _assert_no_alert(driver)


@pytest.mark.slow
def test_browser_screenshots(driver, site, data):
    ARTIFACTS.mkdir(exist_ok=True)
    gitignore = ARTIFACTS / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*.png\n")
    pages = {
        "index.png": site / "index.html",
        "model.png": site / "models" / f"{data['entries'][0]['slug']}.html",
        "model-hostile.png": site / "models" / f"{data['entries'][2]['slug']}.html",
        "protocol.png": site / "protocol.html",
    }
    for name, page in pages.items():
        _open(driver, page)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1500, min(max(height + 140, 600), 4000))
        target = ARTIFACTS / name
        assert driver.save_screenshot(str(target))
        assert target.stat().st_size > 10_000
    driver.set_window_size(1500, 1000)
