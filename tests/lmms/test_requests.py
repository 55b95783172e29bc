"""The request record: one record from the benchmark to every model, built once at the lmms-eval boundary."""

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import build_question_set

from finevidbench import taskdocs
from finevidbench.request import Clip, LabelledFrames, question_text
from finevidbench.training.examples import Example, resolved
from model_adapters.baselines import PixelOracle, random_answer
from model_adapters.registry import adapter_class
from model_adapters.testing.tiny import build_tiny

ROOT = Path(__file__).resolve().parents[2]
BOUNDARY = {
    "model_adapters/base.py": "lmms-eval's requests become records here (`Asked`)",
    "finevidbench/taskdocs.py": "the lmms-eval documents are written and read here",
    "model_adapters/testing/foreign_tasks.py": "task definitions: lmms-eval bindings of other tasks",
}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("records"), videos=4, seed=11)


def boundary_request(model, doc: dict, task: str):
    """The record lmms-eval's request for `doc` becomes for `model` (as `generate_until` builds it)."""
    model.task_dict = {task: {"test": [doc]}}
    arguments = (taskdocs.doc_to_text(doc), None, {"max_new_tokens": 2}, 0, task, "test")
    if model.is_simple:
        arguments = (arguments[0], arguments[2], taskdocs.doc_to_visual, *arguments[3:])
    return model._request(SimpleNamespace(args=arguments))


def test_the_adapter_the_trainer_and_the_oracle_receive_the_same_record(small_set, tmp_path, monkeypatch):
    from model_adapters.training import TrainingHook

    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    model = adapter_class("fvb_llava_onevision")(pretrained=str(build_tiny("llava_onevision", tmp_path / "m")))
    oracle = PixelOracle(size="decoded")
    oracle.frame_policy = model.frame_policy  # one policy for both, as when both are run with the same arguments
    hook = TrainingHook(model)
    qs = taskdocs.question_set()
    for kind in ("speed", "rearrangement"):
        doc = taskdocs.docs_for(kind)[0]
        ours = boundary_request(model, doc, f"finevidbench_{kind}")
        question = qs.questions[[q.id for q in qs.questions].index(doc["question_id"])]
        trained = hook.request(Example(resolved(question, qs), question_text(question), "A"))
        measured = oracle.request_for(question, qs)
        assert ours.turns == trained.turns == measured.turns == boundary_request(oracle, doc, ours.task).turns
        assert isinstance(ours.visuals[0], Clip if kind == "speed" else LabelledFrames)
        assert ours.key == trained.key == measured.key == doc["question_id"]


def test_every_model_answers_the_no_video_variant_from_what_it_is_shown(small_set, monkeypatch):
    """The oracle answers its measurements where shown the clip, and at chance where shown nothing."""
    monkeypatch.setenv("FINEVIDBENCH_DATA", str(small_set))
    oracle = PixelOracle(size="decoded", num_frames=8)
    docs = [d for kind in ("moment_count", "frame_comparison", "speed") for d in taskdocs.docs_for(kind)[:4]]
    seen = [oracle.answer(boundary_request(oracle, doc, f"finevidbench_{doc['type']}")) for doc in docs]
    blind = [oracle.answer(boundary_request(oracle, doc, f"finevidbench_novideo_{doc['type']}")) for doc in docs]
    questions = {q.id: q for q in taskdocs.question_set().questions}
    assert seen == [oracle._answers[d["question_id"]] for d in docs]
    assert blind == [random_answer(questions[d["question_id"]], seed=0) for d in docs]
    assert seen != blind  # the probe can tell the two apart


def _doc_reads(source: str) -> list[int]:
    """Lines that subscript or `.get` a name called `doc` (an lmms-eval document)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        target = node.value if isinstance(node, ast.Subscript) else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            target = node.func.value
        name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None
        if name == "doc":
            lines.append(node.lineno)
    return lines


def test_no_model_reads_an_lmms_eval_document_below_the_boundary():
    found = []
    for package in ("finevidbench", "model_adapters", "runners"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in BOUNDARY or name.startswith("finevidbench/protocol/"):
                continue
            found += [f"{name}:{line}" for line in _doc_reads(path.read_text())]
    assert not found, "documents read below the lmms-eval boundary (read the request record):\n" + "\n".join(found)


def test_the_checker_sees_a_document_read():
    assert _doc_reads("def f(doc, request):\n    return doc['a'], request.doc.get('b'), doc.get('c')\n") == [2, 2, 2]
    assert _doc_reads("def f(docs):\n    return docs['a']\n") == []
