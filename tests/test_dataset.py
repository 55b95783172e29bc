import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import hub_layout

from finevidbench.builder import BuildConfig, build
from finevidbench.corpus.synth import synthesize
from finevidbench.dataset import QuestionSetError, load_question_set, mini_dir


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small")
    synthesize(root, videos=4, seed=0, progress=False)
    build(root / "videos", root, labels=root / "labels.csv", config=BuildConfig(seed=0), progress=False)
    return root


def copy_set(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_loads_a_built_folder(small_set):
    qs = load_question_set(small_set)
    assert len(qs.questions) == qs.manifest["n_questions"] > 0
    assert all(qs.video_path(q).is_file() for q in qs.questions)


def test_altered_video_is_a_clear_error(small_set, tmp_path):
    copy = copy_set(small_set, tmp_path / "set")
    victim = sorted((copy / "videos").glob("*.mp4"))[1]
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(QuestionSetError, match=f"{victim.name}: content differs"):
        load_question_set(copy)


def test_missing_video_is_a_clear_error(small_set, tmp_path):
    copy = copy_set(small_set, tmp_path / "set")
    victim = sorted((copy / "videos").glob("*.mp4"))[0]
    victim.unlink()
    with pytest.raises(QuestionSetError, match=f"{victim.name}: missing"):
        load_question_set(copy)


@pytest.mark.parametrize("source", ["/no/such/folder", "hf://just-a-name", "hf://org/name"])
def test_bad_sources_say_what_to_pass(source):
    with pytest.raises(QuestionSetError, match="hf://ORG/NAME@REVISION"):
        load_question_set(source)


HUB_SCRIPT = """
import json, sys
from finevidbench.dataset import load_question_set, QuestionSetError
try:
    qs = load_question_set(sys.argv[1])
    print(json.dumps({"n": len(qs.questions), "root": str(qs.root)}))
except QuestionSetError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def _load_offline(source: str, cache: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent)}
    result = subprocess.run([sys.executable, "-c", HUB_SCRIPT, source], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hub_snapshot_at_a_pinned_revision_loads_offline(small_set, tmp_path):
    cache = tmp_path / "hub"
    commit = hub_layout(cache, "finevid/mini-copy", small_set)
    expected = json.loads((small_set / "manifest.json").read_text())["n_questions"]
    by_tag = _load_offline("hf://finevid/mini-copy@v1.0", cache)
    by_commit = _load_offline(f"hf://finevid/mini-copy@{commit}", cache)
    assert by_tag["n"] == by_commit["n"] == expected
    assert by_tag["root"].endswith(commit)
    missing = _load_offline("hf://finevid/other@v1.0", cache)
    assert "not in the local Hugging Face cache" in missing["error"]


@pytest.mark.slow
def test_mini_is_built_once_reused_and_rebuilt_identically(tmp_path, monkeypatch):
    from finevidbench.validate import validate

    monkeypatch.setenv("FINEVIDBENCH_CACHE", str(tmp_path))
    qs = load_question_set("mini")
    assert qs.root == mini_dir()
    first = (qs.root / "questions.jsonl").read_bytes()
    stamp = (qs.root / "manifest.json").stat().st_mtime_ns
    assert load_question_set("mini").root == qs.root
    assert (qs.root / "manifest.json").stat().st_mtime_ns == stamp  # reused, not rebuilt
    # the mini set: 40-60 videos, 1,000-1,500 questions, every type and speed, valid
    assert 40 <= qs.manifest["n_videos"] <= 60
    assert 1000 <= len(qs.questions) <= 1500
    assert len(qs.manifest["counts"]) == 8
    assert {q.speed for q in qs.questions if q.level == "scene"} == {0.5, 1.0, 2.0}
    report = validate(qs)
    assert report.ok, report.violations
    shutil.rmtree(qs.root)
    assert (load_question_set("mini").root / "questions.jsonl").read_bytes() == first


def _reseal(folder: Path, edit) -> None:
    """Apply `edit` to the manifest and keep every hash consistent, as an attacker would."""
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.mp4", "videos/../../outside.mp4", ""])
def test_a_manifest_path_outside_the_set_is_refused_before_anything_is_read(small_set, tmp_path, path, monkeypatch):
    copy = copy_set(small_set, tmp_path / "set")
    video = sorted(json.loads((copy / "manifest.json").read_text())["videos"])[0]
    _reseal(copy, lambda m: m["videos"][video].update(path=path))
    hashed = []
    monkeypatch.setattr("finevidbench.dataset.sha256_file", lambda p: hashed.append(p) or "0")
    with pytest.raises(QuestionSetError, match=f"field 'videos/{video}/path'.*(inside the set's folder|non-empty)"):
        load_question_set(copy)
    assert hashed == []  # refused before any file was opened to be hashed


def test_a_symbolic_link_leaving_the_set_is_refused(small_set, tmp_path):
    copy = copy_set(small_set, tmp_path / "set")
    outside = tmp_path / "outside.mp4"
    victim = sorted((copy / "videos").glob("*.mp4"))[0]
    shutil.move(victim, outside)
    victim.symlink_to(outside)
    with pytest.raises(QuestionSetError, match="leads outside the set's folder through a symbolic link"):
        load_question_set(copy)


def test_questions_take_their_video_from_the_manifest(small_set, tmp_path):
    copy = copy_set(small_set, tmp_path / "set")
    lines = (copy / "questions.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["video_path"] = "../elsewhere.mp4"
    (copy / "questions.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(QuestionSetError, match=f"question {first['id']} names video_path"):
        load_question_set(copy, verify=False)


def test_a_build_replaces_links_that_leave_the_folder_by_the_files(small_set, tmp_path):
    out = tmp_path / "built"
    (out / "videos").mkdir(parents=True)
    for source in sorted((small_set / "videos").glob("*.mp4")):
        (out / "videos" / source.name).symlink_to(source)  # absolute links out of the set
    build(out / "videos", out, labels=small_set / "labels.csv", config=BuildConfig(seed=0), progress=False)
    placed = sorted((out / "videos").glob("*.mp4"))
    assert placed and not any(p.is_symlink() for p in placed)
    qs = load_question_set(out)
    assert qs.dataset_hash == load_question_set(small_set).dataset_hash


def _rewrite_questions(folder: Path, edit) -> None:
    """Edit the question records and reseal questions_sha256, as an attacker who knows the format would."""
    import hashlib

    records = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines()]
    edit(records)
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    (folder / "questions.jsonl").write_text(text)
    _reseal(folder, lambda m: m.update(questions_sha256=hashlib.sha256(text.encode()).hexdigest()))


def _first(records, kind):
    return next(r for r in records if r["type"] == kind)


TAMPERING = {
    "its id appears twice": lambda rs: rs.append(dict(rs[0])),
    "unknown type 'telepathy'": lambda rs: rs[0].update(type="telepathy"),
    "but rearrangement is fragment / permutation": lambda rs: _first(rs, "rearrangement").update(level="scene"),
    "outside its video's 0..": lambda rs: _first(rs, "rearrangement").update(frames=[0, 1, 2, 10**6]),
    "answer 'Z' is not one its type can have": lambda rs: _first(rs, "action").update(answer="Z"),
    "answer 99 is not one its type can have": lambda rs: _first(rs, "moment_count").update(answer=99),
    "no questions": lambda rs: rs.clear(),
}


@pytest.mark.parametrize("problem", sorted(TAMPERING))
def test_a_question_no_build_could_make_is_refused_on_load(small_set, tmp_path, problem):
    copy = copy_set(small_set, tmp_path / "set")
    _rewrite_questions(copy, TAMPERING[problem])
    with pytest.raises(QuestionSetError, match=re.escape(problem)) as caught:
        load_question_set(copy)
    assert "\n" not in str(caught.value) and "fix:" in str(caught.value)


def test_an_edited_answer_without_a_resealed_manifest_is_refused(small_set, tmp_path):
    copy = copy_set(small_set, tmp_path / "set")
    lines = (copy / "questions.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["prompt"] += " "
    (copy / "questions.jsonl").write_text("\n".join([json.dumps(record, sort_keys=True), *lines[1:]]) + "\n")
    with pytest.raises(QuestionSetError, match=r"differs from the file its manifest records"):
        load_question_set(copy)


def test_make_eval_refuses_a_tampered_set_in_one_line(small_set, tmp_path, run_make_eval):
    copy = copy_set(small_set, tmp_path / "set")
    _rewrite_questions(copy, TAMPERING["its id appears twice"])
    result = run_make_eval("--model", "random", "--data", copy, "--out", tmp_path / "run")
    assert result.returncode == 2 and "its id appears twice" in result.stderr and "Traceback" not in result.stderr


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


MALFORMED_MANIFESTS = {
    "field '(top level)': 'videos' is a required property": lambda m: m.pop("videos"),
    "field 'format': 'finevidbench-question-set' was expected": lambda m: m.update(format="something-else"),
    "field 'n_questions': 'many' is not of type 'integer'": lambda m: m.update(n_questions="many"),
    "field 'videos': [] is not of type 'object'": lambda m: m.update(videos=[]),
    "field 'videos/synth_0000/sha256'": lambda m: m["videos"]["synth_0000"].update(sha256=7),
    "JSON nested too deeply": lambda m: m.update(curation=_deep(40)),
}


@pytest.mark.parametrize("problem", sorted(MALFORMED_MANIFESTS))
def test_a_malformed_manifest_fails_in_one_line_naming_the_field(small_set, tmp_path, problem):
    copy = copy_set(small_set, tmp_path / "set")
    _reseal(copy, MALFORMED_MANIFESTS[problem])
    with pytest.raises(QuestionSetError, match=re.escape(problem)) as caught:
        load_question_set(copy)
    assert str(copy / "manifest.json") in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "line, problem",
    [
        (b"\xff\xfe{}", ":1: not UTF-8 text"),
        (b'{"id": "a"', ":1: not valid JSON"),
        (b"[" * 50_000, ":1: JSON nested too deeply"),
        (b'{"id": "x"}', ":1: field '(top level)': 'video' is a required property"),
        (b" " * (65 * 1024) + b"{}", ":1: a line longer than 65536 bytes"),
    ],
)
def test_a_malformed_questions_line_fails_naming_file_and_line(small_set, tmp_path, line, problem):
    copy = copy_set(small_set, tmp_path / "set")
    (copy / "questions.jsonl").write_bytes(line + b"\n" + (small_set / "questions.jsonl").read_bytes())
    with pytest.raises(QuestionSetError, match=re.escape(f"questions.jsonl{problem}")):
        load_question_set(copy, verify=False)


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda r: r.update(speed="fast"), "field 'speed': 'fast' is not of type 'number'"),
        (lambda r: r.update(level="shot"), "field 'level': 'shot' is not one of"),
        (lambda r: r.update(options=["x"] * 30), "field 'options'"),
        (lambda r: r.update(evidence=_deep(40)), "JSON nested too deeply"),
        (lambda r: r.update(surprise=1), "Additional properties are not allowed"),
    ],
)
def test_a_question_off_its_schema_fails_before_it_is_used(small_set, tmp_path, edit, problem):
    copy = copy_set(small_set, tmp_path / "set")
    _rewrite_questions(copy, lambda records: edit(records[0]))
    with pytest.raises(QuestionSetError, match=re.escape(problem)) as caught:
        load_question_set(copy)
    assert "questions.jsonl:1: " in str(caught.value) and "fix:" in str(caught.value)
