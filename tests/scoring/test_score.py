import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from finevidbench.builder import BuildConfig, build
from finevidbench.corpus.synth import synthesize
from finevidbench.dataset import load_question_set
from finevidbench.protocol import LETTERS, get_type
from finevidbench.results import (
    ModelInfo,
    PredictionsError,
    build_results,
    read_predictions,
    read_results,
    schema,
    score_predictions,
    write_results,
)
from finevidbench.scoring.score import aggregate, format_table, score_sample


@pytest.fixture(scope="module")
def qs(tmp_path_factory):
    root = tmp_path_factory.mktemp("scored")
    synthesize(root, videos=22, seed=7, progress=False)
    build(root / "videos", root, labels=root / "labels.csv", config=BuildConfig(seed=7), progress=False)
    return load_question_set(root)


def gold_text(q) -> str:
    if isinstance(q.answer, list):
        return ", ".join(f"Frame {i}" for i in q.answer)
    return f"The answer is {q.answer}."


def random_answer(q, rng) -> str:
    if q.answer_type == "choice":
        return LETTERS[int(rng.integers(len(q.options)))]
    if q.answer_type == "yes_no":
        return str(rng.choice(["yes", "no"]))
    if q.answer_type == "integer":
        low, high = get_type(q.type).params["count_range"]
        return str(int(rng.integers(low, high + 1)))
    return " ".join(str(i) for i in rng.permutation(len(q.answer)) + 1)


def test_gold_answers_score_one_everywhere(qs):
    samples = [score_sample(q, gold_text(q)) for q in qs.questions]
    scores = aggregate(samples)
    assert scores["overall"]["acc"] == 1.0 and scores["overall"]["parse_fail_rate"] == 0.0
    assert all(entry["acc"] == 1.0 for entry in scores["by_type"].values())
    assert all(entry["acc"] == 1.0 for entry in scores["speed_consistency"].values())
    assert scores["partial_credit"]["rearrangement"]["credit"] == 1.0


def test_unparseable_answers_are_wrong_and_counted(qs):
    scores = aggregate([score_sample(q, "I am not sure what the video shows.") for q in qs.questions])
    assert scores["overall"]["acc"] == 0.0
    assert scores["by_type"]["moment_count"]["parse_fail_rate"] == 1.0
    assert scores["by_type"]["action"]["parse_fail_rate"] == 1.0


def test_random_answers_sit_at_chance_inside_their_intervals(qs):
    rng = np.random.default_rng(0)
    scores = aggregate([score_sample(q, random_answer(q, rng)) for q in qs.questions])
    for name, entry in scores["by_type"].items():
        assert entry["ci_low"] <= entry["chance"] <= entry["ci_high"], (name, entry)
        assert entry["parse_fail_rate"] == 0.0
    assert scores["by_type"]["action"]["chance"] == 0.25 and scores["by_type"]["speed"]["chance"] == pytest.approx(
        1 / 3
    )


def test_speed_consistency_needs_every_speed_right(qs):
    by_video = {}
    for q in qs.questions:
        if q.type == "action":
            by_video.setdefault(q.video, []).append(q)
    video, questions = sorted(by_video.items())[0]
    samples = [score_sample(q, q.answer if q.speed != 2.0 else "none") for q in questions]
    samples += [score_sample(q, q.answer) for v, qq in by_video.items() if v != video for q in qq]
    consistency = aggregate(samples)["speed_consistency"]["action"]
    assert consistency["n"] == len(by_video)
    assert consistency["acc"] == pytest.approx((len(by_video) - 1) / len(by_video))


def test_results_file_is_schema_valid_and_table_readable(qs, tmp_path):
    samples, missing = score_predictions(qs, {q.id: gold_text(q) for q in qs.questions[:-5]})
    assert missing == 5
    results = build_results(qs, samples, ModelInfo("gold"), frame_policy={"fps": 3.0}, n_missing=missing)
    path = write_results(tmp_path, results, samples)
    assert read_results(path)["scores"]["overall"]["n"] == len(qs.questions)
    lines = (tmp_path / "samples.jsonl").read_text().splitlines()
    assert len(lines) == len(qs.questions) and json.loads(lines[-1])["parse_failed"] is True
    table = format_table(results["scores"])
    assert "overall" in table and "scene level" in table and "chance" in table
    broken = {**results, "scores": {**results["scores"], "overall": {"acc": 1.5}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())


def _score_cli(qs, predictions: Path, out: Path):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "finevidbench.cli",
            "score",
            "--questions",
            str(qs.root),
            "--predictions",
            str(predictions),
            "--out",
            str(out),
            "--model",
            "gold",
        ],
        capture_output=True,
        text=True,
    )


def test_score_cli(qs, tmp_path):
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(
        "".join(json.dumps({"question_id": q.id, "response": gold_text(q)}) + "\n" for q in qs.questions)
    )
    result = _score_cli(qs, predictions, tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert read_results(tmp_path / "run" / "results.json")["scores"]["overall"]["acc"] == 1.0
    assert "overall" in result.stdout
    predictions.write_text('{"question_id": "nope", "response": "A"}\n')
    bad = _score_cli(qs, predictions, tmp_path / "bad")
    assert bad.returncode == 2 and "not in this set" in bad.stderr and not (tmp_path / "bad").exists()
    predictions.write_text("not json\n")
    bad = _score_cli(qs, predictions, tmp_path / "bad")
    assert bad.returncode == 2 and "predictions.jsonl:1" in bad.stderr


@pytest.mark.parametrize(
    "line, problem",
    [
        (b"\xff\xfe", "predictions.jsonl:2: not UTF-8 text"),
        (b'{"question_id": "q", "answer": "A"}', "predictions.jsonl:2: field '(top level)': 'response' is a required"),
        (b'{"question_id": ["q"], "response": "A"}', "predictions.jsonl:2: field 'question_id': ['q'] is not of type"),
        (b'{"question_id": "q", "response": {"text": "A"}}', "predictions.jsonl:2: field 'response'"),
        (b'{"question_id": "q", "response": "' + b"A" * 200_000 + b'"}', "predictions.jsonl:2: field 'response'"),
        (b'{"question_id": "q", "response": ' + b"[" * 40_000, "predictions.jsonl:2: JSON nested too deeply"),
    ],
)
def test_a_malformed_prediction_fails_in_one_line_naming_file_line_and_field(qs, tmp_path, line, problem):
    first = json.dumps({"question_id": qs.questions[0].id, "response": "A"}).encode()
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_bytes(first + b"\n" + line + b"\n")
    with pytest.raises(PredictionsError) as caught:
        read_predictions(predictions)
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_predictions_file_says_what_to_pass(tmp_path):
    with pytest.raises(PredictionsError, match=r"preds.jsonl: predictions file not found \(fix: pass the samples"):
        read_predictions(tmp_path / "preds.jsonl")
