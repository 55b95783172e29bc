"""Property-based fuzzing of what strangers hand the harness: model outputs, question sets, predictions,
submissions, labels files and MODEL_ARGS.

Each reader may refuse its input only with the project's own error type (one line naming the file);
any other exception is a bug. Hypothesis runs derandomised (the `ci` profile in conftest.py), so a
failure reproduces; run with `--hypothesis-profile=explore` to search further.
"""

import json
import shutil
from pathlib import Path

import pytest
from conftest import build_question_set
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from finevidbench.corpus.labels import LabelError, read_label_set
from finevidbench.dataset import QuestionSetError, load_question_set
from finevidbench.files import FileFormatError, read_json
from finevidbench.model_args import ModelArgsError, parse_model_args
from finevidbench.protocol.answers import ANSWER_TYPES, AnswerSpace
from finevidbench.results import PredictionsError, plain_prediction, read_predictions
from finevidbench.scoring.extract import extract
from leaderboard.submission import SubmissionError, load_submission
from leaderboard.submit import SUBMISSIONS

SPACES = {
    "choice": AnswerSpace(options=("open the door", "close the door", "wave", "sit down")),
    "yes_no": AnswerSpace(),
    "integer": AnswerSpace(count_range=(2, 7)),
    "permutation": AnswerSpace(frames=4),
}
FILES = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
model_text = st.text(max_size=300) | st.sampled_from(
    ["The answer is B.", "<think>maybe A</think> C", "Answer: yes", "\\boxed{4}", "order is 2, 1, 4, 3", "seven"]
).flatmap(lambda seed: st.text(max_size=40).map(lambda noise: noise + seed + noise))


@settings(deadline=None)
@given(kind=st.sampled_from(sorted(ANSWER_TYPES)), text=model_text)
def test_the_extractor_reads_any_text_as_an_answer_the_item_can_have_or_none(kind, text):
    space = SPACES[kind]
    parsed = extract(kind, text, options=space.options, k=space.frames)
    if parsed is None:
        return
    if kind == "integer":
        assert isinstance(parsed, int)
    else:
        answer = ANSWER_TYPES[kind]
        assert answer.label(parsed) in {answer.label(v) for v in answer.values(space)} | {"1 2 3 4"}


@settings(deadline=None)
@given(kind=st.sampled_from(sorted(ANSWER_TYPES)), data=st.data(), before=st.text(max_size=30))
def test_an_answer_stated_last_with_a_marker_is_the_answer_read(kind, data, before):
    """Whatever a model says first, "The answer is X." at the end is read as X."""
    assume("<think>" not in before and "</think>" not in before)
    answer, space = ANSWER_TYPES[kind], SPACES[kind]
    value = data.draw(st.sampled_from(answer.values(space)))
    text = f"{before}\nThe answer is {answer.format(value)}."
    assert answer.label(extract(kind, text, options=space.options, k=space.frames)) == answer.label(value)


@FILES
@given(content=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_a_json_reader_refuses_anything_off_schema_with_its_own_error(tmp_path, content):
    path = tmp_path / "results.json"
    path.write_bytes(content)
    try:
        read_json(path, "results")
    except FileFormatError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)


def _lines(records: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    line = records.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=60)
    return st.lists(line, max_size=5).map(lambda lines: b"\n".join(lines))


prediction_like = st.fixed_dictionaries(
    {"question_id": st.text(max_size=8) | json_values, "response": st.text(max_size=20) | json_values}
)


@settings(deadline=None)
@given(record=prediction_like | json_values)
def test_the_predictions_shortcut_never_accepts_what_the_schema_refuses(record):
    from finevidbench.files import validator

    if plain_prediction(record):
        assert validator("finevidbench", "schemas/prediction.schema.json").is_valid(record)


@FILES
@given(content=_lines(prediction_like | json_values))
def test_a_predictions_reader_refuses_with_its_own_error(tmp_path, content):
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(content)
    try:
        predictions = read_predictions(path)
    except PredictionsError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in predictions.items())


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("small"), videos=2, seed=0)


def _mutate(value, path: list, new):
    """`value` with the item at `path` (keys or indices, clipped to what exists) replaced by `new`."""
    if not path or not isinstance(value, dict | list) or not value:
        return new
    keys = sorted(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _mutate(value[key], path[1:], new)
    return copy


def _edited_copy(source: Path, copy: Path, which: str, path: list, new) -> Path:
    """A copy of folder `source` whose JSON (or JSON Lines) file `which` has the item at `path` replaced."""
    shutil.copytree(source, copy)
    text = (copy / which).read_text()
    if which.endswith(".jsonl"):
        records = _mutate([json.loads(line) for line in text.splitlines()], path, new)
        (copy / which).write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        (copy / which).write_text(json.dumps(_mutate(json.loads(text), path, new)))
    return copy


edits = {"path": st.lists(st.integers(0, 50), min_size=1, max_size=4), "new": json_values}


@FILES
@given(which=st.sampled_from(["manifest.json", "questions.jsonl"]), **edits)
def test_a_question_set_with_any_field_replaced_loads_or_fails_with_its_own_error(
    small_set, tmp_path_factory, which, path, new
):
    copy = _edited_copy(small_set, tmp_path_factory.mktemp("set") / "set", which, path, new)
    try:
        load_question_set(copy)
    except QuestionSetError as exc:
        assert "\n" not in str(exc)
    shutil.rmtree(copy.parent)


@FILES
@given(which=st.sampled_from(["submission.json", "results.json"]), **edits)
def test_a_submission_with_any_field_replaced_loads_or_fails_with_its_own_error(tmp_path_factory, which, path, new):
    folder = tmp_path_factory.mktemp("board") / "random-baseline"
    _edited_copy(SUBMISSIONS / "random-baseline", folder, which, path, new)
    try:
        load_submission(folder)
    except SubmissionError as exc:
        assert "\n" not in str(exc)
    shutil.rmtree(folder.parent)


@FILES
@given(
    head=st.sampled_from([b"", b"video,action,effect\n", b"label,youtube_id,time_start,time_end,split\n", b"["]),
    content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    name=st.sampled_from(["labels.csv", "labels.json", "train.csv", "something.txt"]),
)
def test_a_labels_file_is_read_or_refused_with_its_own_error(tmp_path, head, content, name):
    path = tmp_path / name
    path.write_bytes(head + content)
    try:
        read_label_set(path)
    except LabelError as exc:
        assert str(path.name) in str(exc)


@settings(deadline=None)
@given(text=st.text(max_size=80) | st.lists(st.sampled_from(["a=1", "b", "=", ",", "'", '"', "c=x,y"])).map("".join))
def test_model_args_parse_or_fail_with_their_own_error(text):
    try:
        args = parse_model_args(text)
    except ModelArgsError:
        return
    assert all(isinstance(k, str) and k for k in args)


recipe_keys = st.sampled_from(["learning_rate", "lora_r", "epochs", "tasks", "train", "bf16", "extra.beta", "frames"])
recipe_values = st.text(max_size=12) | st.sampled_from(["1e-4", "[a, b", "{x: 1}", "null", "-3", "true", "'"])


@settings(deadline=None)
@given(pairs=st.lists(st.tuples(recipe_keys | st.text(max_size=6), recipe_values), max_size=4))
def test_recipe_overrides_apply_or_fail_with_their_own_error(pairs):
    from finevidbench.training.recipe import RecipeError
    from model_adapters.recipes import recipe_for

    text = ",".join(f"{key}={value}" for key, value in pairs)
    try:
        recipe = recipe_for("sf2t", "fvb_qwen2_5_vl", overrides=text)
    except RecipeError as exc:
        assert "\n" not in str(exc)
    else:
        assert recipe.model == "fvb_qwen2_5_vl"


@FILES
@given(data=json_values.map(lambda v: json.dumps(v).encode()) | st.text(max_size=60).map(str.encode) | st.binary())
def test_a_recipe_file_is_read_or_refused_with_its_own_error(tmp_path, data):
    from finevidbench.training.recipe import RecipeError
    from model_adapters.recipes import recipe_for

    path = tmp_path / "recipe.yaml"
    path.write_bytes(data)
    try:
        recipe_for("sf2t", "fvb_qwen2_5_vl", path)
    except RecipeError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def question_records(small_set):
    return [json.loads(line) for line in (small_set / "questions.jsonl").read_text().splitlines()]


@FILES
@given(which=st.integers(0, 1000), **edits)
def test_the_questions_shortcut_never_accepts_what_the_schema_refuses(question_records, which, path, new):
    from finevidbench.dataset import plain_question
    from finevidbench.files import validator

    record = question_records[which % len(question_records)]
    assert plain_question(record)  # what the builder writes takes the shortcut
    edited = _mutate(record, path, new)
    if plain_question(edited):
        assert validator("finevidbench", "schemas/question.schema.json").is_valid(edited), edited
