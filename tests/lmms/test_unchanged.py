"""What a restructuring must leave as it is, held against snapshots in test_unchanged/ (pytest-regressions).

- the protocol version and the mini set's hash: what every published result was measured on;
- every baseline's answers on the mini set, through lmms-eval as `make eval` runs them: every task of
  FineVidBench and of its three blind variants, the first items of each;
- the inputs every family builds of the same requests on the transformers backend: the prompt's token
  ids, and the shape and sum of every tensor the processor makes of the frames. Inputs, not the tiny
  random models' answers: greedy answers of a random model follow the machine's float arithmetic,
  its inputs do not, and equal inputs answer equally (batched against one at a time, and the serving
  engine against transformers, are tested on the same machine elsewhere).

A change that is meant to change one of these (a new protocol version, another prompt, another
frame size) regenerates the snapshot with `pytest tests/lmms/test_unchanged.py --force-regen`, and the
diff of test_unchanged/ goes into the same commit, where a reviewer sees it.
"""

import hashlib
import json

import pytest
import torch
from conftest import asked

from finevidbench import taskdocs
from finevidbench.protocol import protocol_version
from model_adapters.registry import adapter_class, families
from model_adapters.testing.tiny import build_tiny

BASELINES = {"random": "", "most_frequent": "", "text_only": "", "metadata_only": "", "pixel_oracle": "size=decoded"}
"""Each baseline and its MODEL_ARGS: the pixel oracle measures frames as decoded (half the time of resizing
them as Qwen2.5-VL's card does, which tests/test_oracle.py covers)."""
OURS = "finevidbench,finevidbench_novideo,finevidbench_oneframe,finevidbench_shuffled"
PER_TASK = 6
"""Items of each of the 32 tasks each baseline answers (the pixel oracle measures the whole set all the same)."""


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def test_the_protocol_and_the_mini_set_are_unchanged(mini, data_regression):
    data_regression.check({"protocol_version": protocol_version(), "mini_dataset_hash": mini.dataset_hash})


@pytest.mark.slow
@pytest.mark.parametrize("baseline", BASELINES)
def test_every_baselines_answers_on_mini_are_unchanged(baseline, tmp_path, run_make_eval, data_regression):
    out = tmp_path / baseline
    asked = ("--tasks", OURS, "--limit", PER_TASK, "--out", out)
    result = run_make_eval("--model", baseline, "--model_args", BASELINES[baseline], "--data", "mini", *asked)
    assert result.returncode == 0, result.stderr[-3000:]
    answers: dict[str, list[str]] = {}  # per type, in the order answered: the task, then its blind variants
    for line in (out / "samples.jsonl").read_text().splitlines():
        sample = json.loads(line)
        answers.setdefault(sample["type"], []).append(f"{sample['question_id']}={sample['response']}")
    assert sum(map(len, answers.values())) == 32 * PER_TASK
    data_regression.check({kind: {"n": len(shown), "answers": digest(shown)} for kind, shown in answers.items()})


def inputs_of(model, request) -> dict:
    """A request's processor inputs: the prompt's token ids whole, each other tensor by its shape and sum."""
    encoded = model.encode([request])
    seen = {"input_ids": digest(encoded["input_ids"][0].tolist()), "tokens": int(encoded["input_ids"].shape[1])}
    for name, tensor in sorted(encoded.items()):
        if name not in ("input_ids", "attention_mask") and isinstance(tensor, torch.Tensor):
            seen[name] = {"shape": list(tensor.shape), "sum": round(float(tensor.double().sum()), 2)}
    return seen


@pytest.mark.parametrize("family", list(families()))
def test_every_familys_inputs_are_unchanged(family, mini, tmp_path, monkeypatch, data_regression):
    model = adapter_class(f"fvb_{family}")(pretrained=str(build_tiny(family, tmp_path / family)), max_new_tokens=4)
    monkeypatch.setenv("FINEVIDBENCH_DATA", "mini")
    kinds = ("action", "speed", "moment_count", "rearrangement", "frame_comparison")
    docs = [taskdocs.docs_for(kind)[0] for kind in kinds]
    data_regression.check({doc["question_id"]: inputs_of(model, asked(model, doc)) for doc in docs})
