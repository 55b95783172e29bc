import json
from pathlib import Path

import pytest
from PIL import Image

from finevidbench.protocol import get_type
from finevidbench.protocol.overlay import apply_overlay
from finevidbench.request import question_text
from finevidbench.savi import PreferencePair, materially_different, read_pairs, verifier_pairs, write_pairs
from finevidbench.scoring.score import score_sample
from finevidbench.training.examples import resolved, whole_clip
from finevidbench.video import load_frames


def test_material_difference():
    assert not materially_different("The ball moves left.", "the ball moves LEFT")
    assert materially_different("The ball moves right, then stops.", "The ball moves left.")
    assert not materially_different("", "anything")  # an empty revision is never preferred
    assert materially_different("a real answer", "")


def _pair(q, qs, source="verifier") -> PreferencePair:
    return PreferencePair(
        id=f"p-{q.id}",
        source=source,
        question=resolved(q, qs),
        prompt=question_text(q),
        chosen=get_type(q.type).answer_text(q),
        rejected="7",
        meta={"type": q.type},
    )


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
        q = pair.question
        assert sum(b["type"] == "image" for b in blocks) == len(record["images"]) == len(q.frames or ())
        frames = apply_overlay(load_frames(q.video_path, list(q.frames or ())), q.evidence.get("overlay"))
        for file, frame in zip(record["images"], frames, strict=True):
            assert (Image.open(tmp_path / file).convert("RGB").size) == (frame.shape[1], frame.shape[0])
    assert read_pairs(path) == pairs


def test_video_pairs_name_the_clip(training_set, tmp_path):
    clip = whole_clip(Path("/clips/x.mp4"))
    pair = PreferencePair(
        id="savi-1-x", source="savi", question=clip, prompt="What moves?", chosen="A ball.", rejected="Nothing."
    )
    record = json.loads(write_pairs([pair], tmp_path / "p.jsonl").read_text())
    assert record["videos"] == ["/clips/x.mp4"] and record["prompt"][0]["content"][0] == {"type": "video"}
    assert read_pairs(tmp_path / "p.jsonl") == [pair]  # the whole clip's question reads back as written


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
