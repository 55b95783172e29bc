"""Submissions: validation, rescoring from raw responses, hostile input, duplicates and tiers."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from finevidbench.dataset import load_question_set
from finevidbench.results import ModelInfo, build_results, score_predictions, write_results
from leaderboard.build import build_site, check_submission, collect, deduplicate, leaderboard_data, question_sets
from leaderboard.submission import SubmissionError, slugify
from leaderboard.submit import SUBMISSIONS, metadata_template, submit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sets():
    return question_sets(["mini"])


@pytest.fixture()
def board(tmp_path) -> Path:
    """A copy of the committed baseline seeds to tamper with (the reference rows: the test just below)."""
    folder = tmp_path / "submissions"
    for slug in ("random-baseline", "most-frequent-answer-baseline"):
        shutil.copytree(SUBMISSIONS / slug, folder / slug)
    return folder


def gold_run(tmp_path: Path, name: str = "gold") -> Path:
    qs = load_question_set("mini")
    answers = {
        q.id: ", ".join(map(str, q.answer)) if isinstance(q.answer, list) else str(q.answer) for q in qs.questions
    }
    samples, _ = score_predictions(qs, answers)
    run = tmp_path / "runs" / name
    write_results(
        run, build_results(qs, samples, ModelInfo(name, "pretrained=org/gold"), {"fps": 3.0, "max_frames": 24}), samples
    )
    return run


def filled_meta(run: Path, **changes) -> Path:
    meta = metadata_template(json.loads((run / "results.json").read_text()))
    meta.update(submitted_by="tests", **changes)
    meta["model"]["revision"] = "0" * 40
    (run / "submission.json").write_text(json.dumps(meta))
    return run / "submission.json"


BASELINES = {"random-baseline", "most-frequent-answer-baseline"}
REFERENCES = {
    "pixel-blind-adversary-text-only",
    "pixel-blind-adversary-metadata-only",
    "pixel-oracle-classical-vision-qwen2-5-vl-frame-size",
}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Path:
    """The committed seed submissions alone, copied: a contributor's own folder beside them (`make submit`,
    before the pull request) is the submission check's to judge, not these tests'."""
    folder = tmp_path_factory.mktemp("seeds")
    for slug in BASELINES | REFERENCES:
        shutil.copytree(SUBMISSIONS / slug, folder / slug)
    return folder


def test_committed_seed_submissions_are_current_and_verified(sets, seeds):
    accepted, rejected = collect(seeds, sets)
    assert rejected == [], "seed submissions are stale: run `make leaderboard-seeds` after a protocol change"
    baselines, references = BASELINES, REFERENCES
    assert {s.slug for s in accepted} == baselines | references
    assert all(s.status == "verified" for s in accepted)
    assert {s.slug for s in accepted if s.meta["baseline"] and s.baseline} == baselines
    assert {s.slug for s in accepted if s.reference and not s.meta["baseline"]} == references


def test_reference_rows_are_shown_beside_the_ranking_never_in_it(sets, seeds, tmp_path):
    _, data = build_site(seeds, tmp_path / "site", ["mini"])
    assert {e["slug"] for e in data["entries"]} == {"random-baseline", "most-frequent-answer-baseline"}
    references = {r["slug"]: r for r in data["references"]}
    assert len(references) == 3 and all(r["rank"] is None and r["tier"] is None for r in references.values())
    oracle = references["pixel-oracle-classical-vision-qwen2-5-vl-frame-size"]["scores"]
    assert oracle["moment_count"]["acc"] > 0.9 > oracle["moment_count"]["chance"]  # the ceiling beside every model


def test_edited_claim_is_caught_and_the_site_still_builds(board, sets, tmp_path):
    results_file = board / "random-baseline" / "results.json"
    results = json.loads(results_file.read_text())
    results["scores"]["overall"]["acc"] = 0.9
    results_file.write_text(json.dumps(results))
    accepted, rejected = collect(board, sets)
    assert [r["slug"] for r in rejected] == ["random-baseline"]
    assert "claimed overall accuracy 0.9000 does not match" in rejected[0]["reason"]
    index, data = build_site(board, tmp_path / "site", ["mini"])
    assert index.is_file() and [e["slug"] for e in data["entries"]] == ["most-frequent-answer-baseline"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("date"), "field '(top level)': 'date' is a required property"),
        (lambda m: m["training"].update(sf2t="yes"), "field 'training/sf2t': 'yes' is not of type 'boolean'"),
        (lambda m: m.update(display_name="x" * 200), "field 'display_name'"),
        (lambda m: m.update(unexpected=1), "Additional properties are not allowed"),
    ],
)
def test_broken_metadata_is_rejected_naming_the_field(board, sets, edit, message):
    meta_file = board / "random-baseline" / "submission.json"
    meta = json.loads(meta_file.read_text())
    edit(meta)
    meta_file.write_text(json.dumps(meta))
    _, rejected = collect(board, sets)
    assert len(rejected) == 1 and message in rejected[0]["reason"], rejected


def test_truncated_samples_and_unknown_sets_are_rejected(board, sets):
    samples = board / "random-baseline" / "samples.jsonl"
    samples.write_text("".join(samples.read_text().splitlines(keepends=True)[:-10]))
    results_file = board / "most-frequent-answer-baseline" / "results.json"
    results = json.loads(results_file.read_text())
    results["dataset_hash"] = "f" * 64
    results_file.write_text(json.dumps(results))
    _, rejected = collect(board, sets)
    reasons = {r["slug"]: r["reason"] for r in rejected}
    assert "truncated, 10 of" in reasons["random-baseline"]
    assert "unknown question set" in reasons["most-frequent-answer-baseline"]


def test_hostile_names_cannot_escape_and_misnamed_folders_are_rejected(board, sets):
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("<script>alert(1)</script>") == "script-alert-1-script"
    with pytest.raises(SubmissionError):
        slugify("../..")
    shutil.copytree(board / "random-baseline", board / "not-its-name")
    _, rejected = collect(board, sets)
    assert [r["slug"] for r in rejected] == ["not-its-name"] and "must be named 'random-baseline'" in rejected[0][
        "reason"
    ]


def test_submit_writes_a_template_then_packages_and_ranks_a_strong_model(board, tmp_path, sets):
    run = gold_run(tmp_path)
    with pytest.raises(SubmissionError, match="written from results.json; complete it"):
        submit(run, None, ["mini"], into=board)
    filled_meta(run, display_name="Gold <b>standard</b>")
    target = submit(run, None, ["mini"], into=board)
    assert target == board / "gold-b-standard-b" and (target / "samples.jsonl").is_file()
    with pytest.raises(SubmissionError, match="exists"):
        submit(run, None, ["mini"], into=board)
    data = leaderboard_data(board, ["mini"])
    top, *rest = data["entries"]
    assert top["slug"] == "gold-b-standard-b" and top["rank"] == 1 and top["scores"]["overall"]["acc"] == 1.0
    assert top["tier"] == 1 and {e["tier"] for e in rest} == {2}  # the two baselines are not significantly apart
    assert top["status"] == "self-reported"  # a hub id, revision and commit string verify nothing by themselves


def _gold_entries(board: Path, tmp_path: Path, dates: list[str], names: list[str] | None = None) -> None:
    for i, date in enumerate(dates):
        run = gold_run(tmp_path, f"gold{i}")
        filled_meta(run, display_name=f"Gold {i}", date=date)
        if names:
            meta = json.loads((run / "submission.json").read_text())
            meta["model"]["hub_id"] = names[i]
            (run / "submission.json").write_text(json.dumps(meta))
        submit(run, None, ["mini"], into=board)


def test_a_later_entry_of_the_same_model_never_displaces_the_first_whatever_date_it_claims(board, tmp_path, sets):
    _gold_entries(board, tmp_path, ["2026-11-20", "2026-11-27"])
    accepted, _ = collect(board, sets)
    kept, duplicates = deduplicate(accepted)  # no git history: the claimed dates order them
    assert [(d["slug"], d["kept"]) for d in duplicates] == [("gold-1", "gold-0")]
    assert "the same model, revision and protocol version" in duplicates[0]["reason"]
    # git's record of arrival outranks a backdated claim: gold-1 claims an earlier date but came second
    (board / "gold-1" / "submission.json").write_text(
        (board / "gold-1" / "submission.json").read_text().replace("2026-11-27", "2020-01-01")
    )
    accepted, _ = collect(board, sets)
    _, duplicates = deduplicate(accepted, arrived={"gold-0": 100, "gold-1": 200})
    assert [(d["slug"], d["kept"]) for d in duplicates] == [("gold-1", "gold-0")]


def test_the_same_answers_under_another_model_name_are_a_duplicate(board, tmp_path, sets):
    _gold_entries(board, tmp_path, ["2026-11-20", "2026-11-21"], names=["org/gold", "org/copied"])
    lines = (board / "gold-1" / "samples.jsonl").read_text().splitlines()
    (board / "gold-1" / "samples.jsonl").write_text("\n".join(reversed(lines)) + "\n")  # reordered, same answers
    accepted, _ = collect(board, sets)
    kept, duplicates = deduplicate(accepted)
    assert [(d["slug"], d["kept"]) for d in duplicates] == [("gold-1", "gold-0")]
    assert "the same answers" in duplicates[0]["reason"]
    assert "already holds the same answers" in " ".join(check_submission(board / "gold-1", sets))


def test_a_verified_entry_stays_over_an_earlier_self_reported_one(board, tmp_path, sets):
    _gold_entries(board, tmp_path, ["2026-11-20", "2026-11-27"])
    accepted, _ = collect(board, sets)
    for sub in accepted:
        sub.status = "verified" if sub.slug == "gold-1" else sub.status
    kept, duplicates = deduplicate(accepted, arrived={"gold-0": 100, "gold-1": 200})
    assert [(d["slug"], d["kept"]) for d in duplicates] == [("gold-0", "gold-1")]


def test_arrival_is_when_git_first_saw_the_folder(tmp_path):
    from leaderboard.statuses import arrivals

    def git(*args, when):
        people = {f"GIT_{who}_{what}": "t" for who in ("AUTHOR", "COMMITTER") for what in ("NAME", "EMAIL")}
        dates = {f"GIT_{who}_DATE": f"@{when} +0000" for who in ("AUTHOR", "COMMITTER")}
        env = {**people, **dates, "HOME": str(tmp_path), "PATH": os.environ["PATH"]}
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, env=env)

    git("init", "-q", when=0)
    for when, slug in [(1000, "first"), (2000, "second")]:
        (tmp_path / "subs" / slug).mkdir(parents=True)
        (tmp_path / "subs" / slug / "submission.json").write_text("{}")
        git("add", ".", when=when)
        git("commit", "-qm", slug, when=when)
    (tmp_path / "subs" / "first" / "submission.json").write_text('{"edited": 1}')  # a later edit is not an arrival
    git("commit", "-qam", "edit", when=3000)
    (tmp_path / "subs" / "pending").mkdir()
    assert arrivals(tmp_path / "subs") == {"first": 1000, "second": 2000}


def test_training_claims_must_match_the_adapters_run_record(board, tmp_path):
    qs = load_question_set("mini")
    samples, _ = score_predictions(qs, {})
    adapter = {
        "path": "runs/sf2t/x/train/adapter",
        "sha256": "0" * 64,
        "training": {"kind": "sf2t", "contaminated": True, "data_hash": "abc", "base_model": {}},
    }
    run = tmp_path / "runs" / "tuned"
    write_results(
        run,
        build_results(
            qs, samples, ModelInfo("tuned", "pretrained=org/tuned", adapter=adapter), {"fps": 3.0, "max_frames": 24}
        ),
        samples,
    )
    template = metadata_template(json.loads((run / "results.json").read_text()))
    assert template["training"]["fine_tuned"] and template["training"]["sf2t"]
    assert template["training"]["seen_benchmark_videos"] is True
    meta = filled_meta(run, display_name="Tuned")
    edited = json.loads(meta.read_text())
    edited["training"]["seen_benchmark_videos"] = False
    meta.write_text(json.dumps(edited))
    with pytest.raises(SubmissionError, match=r"'training/seen_benchmark_videos' says False.*contaminated=True"):
        submit(run, None, ["mini"], into=board)


def _make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow(seconds=20)
def test_make_submit_check_accepts_a_valid_submission_and_names_what_is_wrong_with_a_tampered_one(board):
    ok = _make("submit-check", f"SUB={board / 'random-baseline'}")
    assert ok.returncode == 0 and "ok:" in ok.stdout, ok.stderr[-2000:]
    results_file = board / "random-baseline" / "results.json"
    results = json.loads(results_file.read_text())
    results["scores"]["by_type"]["speed"]["acc"] = 0.99
    results_file.write_text(json.dumps(results))
    bad = _make("submit-check", f"SUB={board / 'random-baseline'}")
    assert bad.returncode != 0
    lines = [line for line in bad.stderr.splitlines() if line.startswith("leaderboard check:")]
    assert len(lines) == 1 and "claimed speed accuracy 0.9900 does not match" in lines[0], bad.stderr[-2000:]
    missing = _make("submit-check")
    assert missing.returncode == 2 and "pass SUB=" in missing.stderr


def test_a_second_folder_for_the_same_model_is_a_problem_of_the_newcomer(board, sets):
    copy = board / "random-baseline-again"
    shutil.copytree(board / "random-baseline", copy)
    meta = json.loads((copy / "submission.json").read_text())
    meta["display_name"] = "Random baseline again"
    (copy / "submission.json").write_text(json.dumps(meta))
    problems = check_submission(copy, sets)
    assert len(problems) == 1 and "random-baseline already holds the same answers" in problems[0]
    assert check_submission(board / "most-frequent-answer-baseline", sets) == []


def test_the_submission_workflow_is_valid_yaml_calling_only_make_targets_that_exist():
    import re

    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "leaderboard.yml").read_text())
    assert {"check-submissions", "publish-site"} <= set(workflow["jobs"])
    assert workflow[True]["pull_request"]["paths"] == ["leaderboard/submissions/**"]  # YAML reads `on:` as True
    commands = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    called = {m for command in commands for m in re.findall(r"\bmake ([a-z][a-z0-9-]*)", command)}
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), flags=re.M))
    assert called == {"venv", "submit-check", "leaderboard"} and called <= targets


def _not_utf8(folder: Path) -> None:
    with (folder / "samples.jsonl").open("ab") as handle:
        handle.write(b"\xff\xfe not text\n")


def _too_deep(folder: Path) -> None:
    (folder / "submission.json").write_text("[" * 30_000)  # under the size limit, beyond json's recursion


def _wrong_type(folder: Path) -> None:
    results = json.loads((folder / "results.json").read_text())
    results["scores"]["by_type"]["speed"]["acc"] = "high"
    (folder / "results.json").write_text(json.dumps(results))


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (_not_utf8, "samples.jsonl:1054: not UTF-8 text"),
        (_too_deep, "submission.json: JSON nested too deeply"),
        (_wrong_type, "field 'scores/by_type/speed/acc': 'high' is not of type 'number'"),
    ],
)
def test_one_malformed_folder_is_rejected_with_its_reason_and_the_board_still_builds(board, tmp_path, spoil, reason):
    spoil(board / "random-baseline")
    index, data = build_site(board, tmp_path / "site", ["mini"])
    assert index.is_file() and [e["slug"] for e in data["entries"]] == ["most-frequent-answer-baseline"]
    assert [r["slug"] for r in data["rejected"]] == ["random-baseline"]
    assert reason in data["rejected"][0]["reason"]


def test_a_rebuild_reuses_unchanged_submissions_and_rescores_any_changed_byte(board, sets, tmp_path):
    from leaderboard.rescored import RescoreCache

    cache = tmp_path / "site" / ".rescored"
    first, _ = collect(board, sets, RescoreCache(cache))
    again = RescoreCache(cache)
    second, _ = collect(board, sets, again)
    assert again.reused == 2  # nothing rescored
    assert [(s.slug, s.scores, s.correct, s.wrong) for s in first] == [
        (s.slug, s.scores, s.correct, s.wrong) for s in second
    ]
    samples = board / "random-baseline" / "samples.jsonl"
    lines = samples.read_text().splitlines()
    right = next(i for i, line in enumerate(lines) if json.loads(line)["correct"] == 1)
    record = json.loads(lines[right])
    record["response"] = "Z"  # one right answer made wrong: the claims no longer hold, whatever the cache holds
    samples.write_text("\n".join([*lines[:right], json.dumps(record), *lines[right + 1 :]]) + "\n")
    third = RescoreCache(cache)
    accepted, rejected = collect(board, sets, third)
    assert third.reused == 1 and [r["slug"] for r in rejected] == ["random-baseline"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s["overall"].update(acc=float("nan")), "no usable claimed overall accuracy"),
        (lambda s: s["by_level"].pop("scene"), "no usable claimed scene accuracy"),
        (lambda s: s["by_type"]["speed"].update(acc="0.5"), "field 'scores/by_type/speed/acc': '0.5' is not of type"),
        (lambda s: s["by_level"]["fragment"].update(acc=0.99), "claimed fragment accuracy 0.9900 does not match"),
        (lambda s: s["by_type"].update(telepathy=dict(s["by_type"]["speed"], acc=0.5)), "claimed telepathy accuracy"),
    ],
)
def test_every_figure_the_board_shows_must_be_claimed_and_recomputed(board, sets, edit, message):
    results_file = board / "random-baseline" / "results.json"
    results = json.loads(results_file.read_text())
    edit(results["scores"])
    results_file.write_text(json.dumps(results))
    _, rejected = collect(board, sets)
    assert [r["slug"] for r in rejected] == ["random-baseline"] and message in rejected[0]["reason"]


def test_statuses_come_from_the_repository_not_from_the_submitter(board, sets, tmp_path, monkeypatch):
    import leaderboard.statuses as statuses_module
    from runners.verify import verify

    records = tmp_path / "statuses.json"
    records.write_text(json.dumps({"baselines": [], "verified": {}}))
    monkeypatch.setattr(statuses_module, "STATUS_FILE", records)
    accepted, _ = collect(board, sets)
    assert {(s.slug, s.status, s.baseline) for s in accepted} == {
        ("random-baseline", "self-reported", False),
        ("most-frequent-answer-baseline", "self-reported", False),
    }  # their submission.json says baseline: true; the repository's records say nothing
    verified, message = verify(board / "random-baseline")
    assert verified, message
    assert {s.slug: s.status for s in collect(board, sets)[0]}["random-baseline"] == "verified"
    samples = board / "random-baseline" / "samples.jsonl"
    samples.write_text(samples.read_text().replace('"response": "A"', '"response": "B"', 1))
    statuses = {s.slug: s.status for s in collect(board, sets)[0]}
    assert statuses.get("random-baseline", "rejected") != "verified"  # any edit after the rerun drops the badge


def test_a_rerun_that_differs_is_not_recorded_and_an_unknown_commit_gets_a_note(board, sets, tmp_path, monkeypatch):
    import leaderboard.statuses as statuses_module
    from runners.verify import verify

    records = tmp_path / "statuses.json"
    records.write_text(json.dumps({"baselines": ["random-baseline"], "verified": {}}))
    monkeypatch.setattr(statuses_module, "STATUS_FILE", records)
    results_file = board / "random-baseline" / "results.json"
    results = json.loads(results_file.read_text())
    results["model"]["name"] = "most_frequent"  # a claim about the model the answers do not come from
    results["provenance"]["git_commit"] = "f" * 40
    results_file.write_text(json.dumps(results))
    verified, message = verify(board / "random-baseline")
    assert not verified and "answers differ from the rerun" in message
    assert json.loads(records.read_text())["verified"] == {}
    entry = next(s for s in collect(board, sets)[0] if s.slug == "random-baseline")
    assert entry.baseline and entry.status == "self-reported"
    assert any("harness commit ffffffffffff is not in this repository's history" in n for n in entry.notes)


@pytest.mark.parametrize(
    "limit, name",
    [
        ("MAX_METADATA_BYTES", "submission.json"),
        ("MAX_RESULTS_BYTES", "results.json"),
        ("MAX_SAMPLES_BYTES", "samples.jsonl"),
    ],
)
def test_a_file_over_its_size_limit_is_refused_before_it_is_read(board, sets, monkeypatch, limit, name):
    monkeypatch.setattr(f"leaderboard.submission.{limit}", 100)
    _, rejected = collect(board, sets)
    assert {r["slug"] for r in rejected} == {"random-baseline", "most-frequent-answer-baseline"}
    assert all(f"{name}: " in r["reason"] and "more than the 100 allowed" in r["reason"] for r in rejected)
