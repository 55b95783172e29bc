import json

import pytest
from PIL import Image

from finevidbench.protocol import get_type
from finevidbench.savi import PreferencePair, materially_different, read_pairs, verifier_pairs, write_pairs
from finevidbench.scoring.score import score_sample
from finevidbench.taskdocs import doc_of, doc_to_text, fragment_frames


def test_material_difference():
    assert not materially_different("The ball moves left.", "the ball moves LEFT")
    assert materially_different("The ball moves right, then stops.", "The ball moves left.")
    assert not materially_different("", "anything")  # an empty revision is never preferred
    assert materially_different("a real answer", "")


def _pair(q, qs, source="verifier") -> PreferencePair:
    doc = doc_of(q, qs)
    return PreferencePair(id=f"p-{q.id}", source=source, doc=doc, prompt=doc_to_text(doc),
                          chosen=get_type(q.type).answer_text(q), rejected="7", meta={"type": q.type})  # fmt: skip


def test_pairs_file_is_trl_conversational_preference_data(training_set, tmp_path):
    from trl.data_utils import is_conversational  # imported here: trl costs seconds at collection

    pairs = [_pair(q, training_set) for q in training_set.questions[:5]]
    path = write_pairs(pairs, tmp_path / "pairs.jsonl")
    for line, pair in zip(path.read_text().splitlines(), pairs, strict=True):
        record = json.loads(line)
        assert is_conversational(record)
        assert [m["role"] for m in record["prompt"]] == ["user"]
        assert record["chosen"][0]["role"] == record["rejected"][0]["role"] == "assistant"
        blocks = record["prompt"][0]["content"]
        assert sum(b["type"] == "image" for b in blocks) == len(record["images"]) == len(pair.doc["frames"])
        for file, frame in zip(record["images"], fragment_frames(pair.doc), strict=True):
            assert (Image.open(tmp_path / file).convert("RGB").size) == (frame.shape[1], frame.shape[0])
    assert read_pairs(path) == pairs


def test_video_pairs_name_the_clip(training_set, tmp_path):
    doc = {"question_id": "savi-x", "type": "savi", "level": "scene", "video": "x", "video_path": "/clips/x.mp4",
           "speed": 1.0, "frames": [], "prompt": "", "options": [], "answer_type": "free"}  # fmt: skip
    pair = PreferencePair(id="savi-1-x", source="savi", doc=doc, prompt="What moves?", chosen="A ball.",
                          rejected="Nothing.")  # fmt: skip
    record = json.loads(write_pairs([pair], tmp_path / "p.jsonl").read_text())
    assert record["videos"] == ["/clips/x.mp4"] and record["prompt"][0]["content"][0] == {"type": "video"}


def test_malformed_pairs_file_names_the_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": "x"}\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl:1: not a preference-pair record"):
        read_pairs(path)


def test_verifier_pairs_keep_only_wrong_answers(training_set):
    questions = training_set.questions[:40]
    responses = {}
    for number, q in enumerate(questions):
        right = get_type(q.type).answer_text(q)
        responses[q.id] = right if number % 3 == 0 else ("" if number % 3 == 1 else "999, 0")
    pairs = verifier_pairs(questions, training_set, responses, iteration=2)
    wrong = [q for n, q in enumerate(questions) if n % 3 == 2]
    assert [p.id for p in pairs] == [f"verifier-2-{q.id}" for q in wrong]
    for pair, q in zip(pairs, wrong, strict=True):
        assert score_sample(q, pair.chosen).correct == 1.0
        assert score_sample(q, pair.rejected).correct == 0.0
        assert pair.rejected == "999, 0" and pair.meta == {"type": q.type}
