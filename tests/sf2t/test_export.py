"""The export is checked against the format LLaMA-Factory and ms-swift document for multimodal data.

LLaMA-Factory (data/README.md, sharegpt + `mllm_demo.json`): a `messages` list of {"role", "content"}
with user and assistant turns alternating and the user first, a media column (`images` or `videos`)
of paths, one `<image>` / `<video>` tag in the text per file of that list, and an entry in
`dataset_info.json` naming the file, `formatting: sharegpt`, the columns and the role/content tags.
ms-swift (Customization/Custom-dataset.md) reads the same `messages` + `images`/`videos` JSONL.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from finevidbench.protocol import get_type
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.sf2t import export_messages
from finevidbench.taskdocs import doc_of, doc_to_text
from finevidbench.video import load_frames, probe


@pytest.fixture(scope="module")
def exported(training_set, tmp_path_factory) -> Path:
    return export_messages(training_set, tmp_path_factory.mktemp("export"), progress=False)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_follow_the_documented_layout(exported, training_set):
    records = _records(exported)
    assert len(records) == len(training_set.questions)
    for record in records:
        messages = record["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in messages)
        assert "<image>" not in messages[1]["content"]
        assert messages[0]["content"].count("<image>") == len(record["images"]) >= 2
        for path in record["images"]:
            assert not Path(path).is_absolute()
            with Image.open(exported.parent / path) as image:
                assert image.size[0] > 0


def test_dataset_info_registers_the_file(exported):
    info = json.loads((exported.parent / "dataset_info.json").read_text())
    entry = info["finevidbench_sf2t"]
    assert entry["file_name"] == exported.name and entry["formatting"] == "sharegpt"
    assert entry["columns"] == {"messages": "messages", "images": "images"}
    assert entry["tags"] == {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                             "assistant_tag": "assistant"}  # fmt: skip


def test_text_images_and_answers_are_what_training_uses(exported, training_set):
    by_id = {q.id: q for q in training_set.questions}
    for record in _records(exported)[::37]:
        q = by_id[record["id"]]
        assert record["messages"][0]["content"].endswith(doc_to_text(doc_of(q, training_set)))
        assert record["messages"][1]["content"] == get_type(q.type).answer_text(q)
        frames = apply_overlay(load_frames(training_set.video_path(q), q.frames), q.evidence.get("overlay"))
        for frame, path in zip(frames, record["images"], strict=True):
            assert np.array_equal(np.asarray(Image.open(exported.parent / path).convert("RGB")), frame)


def test_loads_with_the_datasets_json_reader(exported):
    from datasets import load_dataset

    table = load_dataset("json", data_files=str(exported), split="train")
    assert table.num_rows == len(_records(exported))
    assert table[0]["messages"][0]["role"] == "user"


def test_video_form_writes_one_clip_per_item(training_set, tmp_path):
    subset = type(training_set)(training_set.root, training_set.manifest, training_set.questions[:3])
    path = export_messages(subset, tmp_path, form="video", progress=False)
    for record, q in zip(_records(path), subset.questions, strict=True):
        assert record["messages"][0]["content"].count("<video>") == len(record["videos"]) == 1
        assert probe(tmp_path / record["videos"][0]).frame_count == len(q.frames)


def test_unknown_form_is_refused(training_set, tmp_path):
    with pytest.raises(ValueError, match="form must be one of"):
        export_messages(training_set, tmp_path, form="gif")
