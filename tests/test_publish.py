"""`finevidbench publish`: a question set as a Hugging Face dataset folder that loads back unchanged."""

import re
from pathlib import Path

import pytest
import yaml
from conftest import build_question_set, hub_layout

from finevidbench.builder import answer_label
from finevidbench.dataset import QuestionSetError, load_question_set
from finevidbench.publish import TABLE, PublishError, publish, size_category


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return build_question_set(tmp_path_factory.mktemp("source"), videos=4, seed=11)


@pytest.fixture(scope="module")
def published(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("published") / "finevid-test"
    assert publish(source, out, license="other", name="FineVidBench test") == out
    return out


def _front_matter(readme: Path) -> dict:
    _, block, _ = readme.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(block)


def test_the_set_is_published_unchanged_and_loads_with_the_same_hash(source, published):
    for name in ("questions.jsonl", "manifest.json"):
        assert (published / name).read_bytes() == (source / name).read_bytes()
    qs = load_question_set(published)
    assert qs.dataset_hash == load_question_set(source).dataset_hash
    videos = [published / record["path"] for record in qs.manifest["videos"].values()]
    assert videos and not any(p.is_symlink() for p in videos)
    assert all(p.samefile(source / p.relative_to(published)) for p in videos)  # hard links: no second copy
    assert not (published / "labels.csv").exists()  # only what the manifest names
    assert not [p for p in published.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_datasets_loads_one_row_per_question_from_the_table_only(published, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    table = datasets.load_dataset(str(published), split="test", cache_dir=str(tmp_path / "datasets"))
    qs = load_question_set(published)
    assert len(table) == len(qs.questions)
    assert table["id"] == [q.id for q in qs.questions]
    assert table["answer"] == [answer_label(q) for q in qs.questions]
    assert all((published / path).is_file() for path in table["video_path"])
    assert table.features["options"].feature.dtype == "string"
    assert table.features["frames"].feature.dtype == "int64"
    scene = next(row for row in table if row["level"] == "scene")
    assert scene["frames"] == [] and isinstance(scene["speed"], float)


def test_the_card_has_license_configs_and_size(published):
    meta = _front_matter(published / "README.md")
    assert meta["license"] == "other"
    assert meta["configs"] == [{"config_name": "default", "data_files": [{"split": "test", "path": TABLE}]}]
    assert meta["size_categories"] == ["n<1K"]
    assert "visual-question-answering" in meta["task_categories"] and "finevidbench" in meta["tags"]
    assert meta["pretty_name"] == "FineVidBench test"
    body = (published / "README.md").read_text(encoding="utf-8")
    assert load_question_set(published).dataset_hash in body and "hf://ORG/NAME@REV" in body


def test_a_hub_snapshot_of_the_published_folder_loads_and_republishes(source, published, tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    commit = hub_layout(cache, "org/name", published, commit="c" * 40, ref="main")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    expected = load_question_set(source).dataset_hash
    assert load_question_set(f"hf://org/name@{commit}").dataset_hash == expected
    # published again from the snapshot, whose files are links into blobs/: the videos, not the links
    again = publish(f"hf://org/name@{commit}", tmp_path / "again", license="cc-by-4.0")
    assert not any(p.is_symlink() for p in again.rglob("*"))
    assert load_question_set(again).dataset_hash == expected


@pytest.mark.parametrize("license", [None, "", "  "])
def test_a_license_is_required(source, tmp_path, license):
    with pytest.raises(PublishError, match="license") as info:
        publish(source, tmp_path / "out", license=license)
    assert "--license" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_out_is_refused_and_an_empty_one_is_filled(source, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(PublishError, match=re.escape(f"{out}: exists and is not empty")):
        publish(source, out, license="other")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_question_set(publish(source, empty, license="other")).dataset_hash


def test_an_invalid_source_raises_the_loader_error(tmp_path):
    with pytest.raises(QuestionSetError, match="no such question-set folder"):
        publish(tmp_path / "missing", tmp_path / "out", license="other")
    assert not (tmp_path / "out").exists()


def test_a_crash_leaves_no_half_published_folder(source, tmp_path, monkeypatch):
    def crash(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr("finevidbench.publish.write_table", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        publish(source, tmp_path / "out", license="other")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("n", "bucket"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (25_000, "10K<n<100K")])
def test_size_categories_follow_the_hub_buckets(n, bucket):
    assert size_category(n) == bucket


def test_the_command_says_why_a_license_is_needed_in_one_line(source, tmp_path, capsys):
    from finevidbench.cli import main as cli

    assert cli(["publish", str(source), "--out", str(tmp_path / "hub")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finevidbench publish: a license is required") and "\n" not in err
    assert not (tmp_path / "hub").exists()
    assert cli(["publish", str(source), "--out", str(tmp_path / "hub"), "--license", "other"]) == 0
    assert "huggingface-cli upload ORG/NAME" in capsys.readouterr().out


@pytest.mark.slow
def test_a_published_folder_evaluates_through_make_eval(published, run_make_eval, tmp_path):
    result = run_make_eval("--model", "random", "--data", published, "--limit", "2", "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "results.json").is_file()
