"""`make savi`: self-alignment by DPO on the model's own preference pairs, iterated, then evaluated.

    python -m runners.savi [--model fvb_internvl --model_args pretrained=...] [--recipe FILE.yaml]
        [--videos DIR [--labels CSV]] [--pairs savi|verifier|mixed] [--iterations N] [--data mini]
        [--out runs/savi/NAME] [--set key=value,...] [--allow-contaminated] [--positive-only]

Each iteration starts from the last adapter (the first from the base model) and makes pairs:
- `savi` (VideoSAVi, COLM 2025): for each training video the model asks itself spatial and
  temporal questions (32 frames by default), answers, critiques its answer against the video and
  revises it; (revised, initial) is a (chosen, rejected) pair when the revision differs materially;
- `verifier` (ours): the model answers SF2T fragment items whose answers are known by
  construction; (known answer, its wrong answer) is a pair;
then trains DPO (TRL's DPOTrainer, LoRA through PEFT). The pairs of iteration k are kept in
OUT/iter_k/pairs.jsonl (TRL's preference format) and its adapter in OUT/iter_k/train/adapter.
Unless the recipe says `control: false`, a control replays the same iterations on the same pairs
with uninformative visual input (another training video, random frames: finevidbench.sf2t.control)
into OUT/iter_k/control/. Finally the base, the last control adapter and the last adapter are
evaluated and compared (adapter - control is the verdict). With `positive_control: true` (the
demo's recipe) or --positive-only, one DPO round and its control first run on items whose answer is
planted in the frames' brightness (OUT/positive/), and the run stops with exit code 1 unless
adapter - control is detected there. With no --model it runs the CPU
demonstration on a tiny random Qwen2.5-VL. Running the command again reuses finished iterations,
resumes an interrupted one from its checkpoints and recomputes no finished answer.
Exit codes: 0 done, 1 failed, 2 bad input, 130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
from tqdm.auto import tqdm

from finevidbench.builder import find_videos
from finevidbench.dataset import QuestionSet, QuestionSetError, load_question_set
from finevidbench.model_args import format_model_args, merge_model_args
from finevidbench.protocol import get_type
from finevidbench.savi import QUESTION_KINDS, PreferencePair, Prompts, materially_different, read_pairs, write_pairs
from finevidbench.savi import verifier_pairs as make_verifier_pairs
from finevidbench.sf2t import (
    Contamination,
    ContaminationError,
    ControlVideo,
    build_training_set,
    check_videos,
    control_examples,
    control_hash,
    video_catalogue,
)
from finevidbench.taskdocs import doc_of, doc_to_text, request_of
from finevidbench.training import Recipe, RecipeError, RunRecord, train
from finevidbench.video import VideoError
from model_adapters.recipes import method_default
from runners import finetune
from runners.finetune import policy_args

PAIR_SOURCES = ("savi", "verifier", "mixed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments (model arguments as in `make eval`)."""
    parser = finetune.common_parser("savi", __doc__.splitlines()[0], "fvb_internvl")
    parser.add_argument("--pairs", choices=PAIR_SOURCES, default=None, help="which pairs (default: the recipe's)")
    parser.add_argument("--iterations", type=int, default=None, help="DPO rounds (default: the recipe's)")
    parser.add_argument("--init-adapter", default=None,
                        help="start from the base with this PEFT adapter merged in (e.g. an SF2T adapter)")  # fmt: skip
    return parser.parse_args(argv)


def fail(message: str, code: int = 2) -> int:
    """Print one `make savi:` error line and return its exit code."""
    return finetune.fail("savi", message, code)


def settings(recipe: Recipe, args: argparse.Namespace) -> dict[str, Any]:
    """The recipe's self-alignment settings, command-line choices applied; unknown keys are refused."""
    defaults = method_default("savi")["extra"]  # every setting, with its default (model_adapters/recipes/savi.yaml)
    unknown = sorted(set(recipe.extra) - set(defaults))
    if unknown:
        raise RecipeError(f"extra: unknown self-alignment key(s) {unknown}; known: {sorted(defaults)}")
    found = {**defaults, **recipe.extra}
    found["pairs"] = args.pairs or found["pairs"]
    found["iterations"] = args.iterations or found["iterations"]
    if found["pairs"] not in PAIR_SOURCES or int(found["iterations"]) < 1:
        raise RecipeError(f"pairs must be one of {PAIR_SOURCES} and iterations at least 1, got {found}")
    return found


_T = TypeVar("_T")


def rotating(items: list[_T], count: int, iteration: int) -> list[_T]:
    """`count` items for this iteration, a different window each time (all when count is 0)."""
    if not count or count >= len(items):
        return list(items)
    start = (iteration - 1) * count % len(items)
    return [items[(start + i) % len(items)] for i in range(count)]


class Asker:
    """Batched generation with the current model (base, or base + the last adapter), with progress."""

    def __init__(self, model: str, model_args: str, device: str, batch_size: int = 4) -> None:
        from model_adapters.registry import adapter_class

        self.adapter = adapter_class(model).create_from_arg_string(model_args, {"device": device})
        self.batch_size = batch_size

    def ask(self, docs: list[dict[str, Any]], prompts: list[str], generation: dict[str, Any], desc: str) -> list[str]:
        """One answer per (doc, prompt)."""
        policy = self.adapter.frame_policy
        requests = [request_of(d, p, policy, "savi", generation) for d, p in zip(docs, prompts, strict=True)]
        answers: list[str] = []
        for start in tqdm(range(0, len(requests), self.batch_size), desc=desc, unit="batch"):
            answers += self.adapter.answer_batch(requests[start : start + self.batch_size])
        return answers


def video_doc(path: Path) -> dict[str, Any]:
    """A whole-clip document for a training video (played at normal speed)."""
    return {"question_id": f"savi-{path.stem}", "type": "savi", "level": "scene", "video": path.stem,
            "video_path": str(path.resolve()), "speed": 1.0, "frames": [], "prompt": "", "options": [],
            "answer_type": "free"}  # fmt: skip


def savi_pairs(
    asker: Asker, videos: list[Path], prompts: Prompts, config: dict[str, Any], iteration: int
) -> list[PreferencePair]:
    """VideoSAVi's pairs: question, initial answer, self-critique, revision; (revision, initial) when they differ."""
    import torch

    torch.manual_seed(iteration)  # sampled questions, reproducibly
    per_kind = range(config["questions_per_kind"])
    slots = [(video, kind, i) for video in videos for kind in QUESTION_KINDS for i in per_kind]
    docs = [video_doc(video) for video, _, _ in slots]
    greedy = {"max_new_tokens": config["max_new_tokens"]}
    sampled = {**greedy, "do_sample": True, "temperature": config["question_temperature"]}
    asked = [prompts.question.format(kind=kind, focus=QUESTION_KINDS[kind]) for _, kind, _ in slots]
    questions = asker.ask(docs, asked, sampled, "savi: questions")
    answer_prompts = [prompts.answer.format(question=q) for q in questions]
    initial = asker.ask(docs, answer_prompts, greedy, "savi: answers")
    steps = list(zip(slots, questions, initial, strict=True))
    critique_prompts = [prompts.critique.format(question=q, answer=a, focus=QUESTION_KINDS[kind])
                        for (_, kind, _), q, a in steps]  # fmt: skip
    critiques = asker.ask(docs, critique_prompts, greedy, "savi: critiques")
    revise_prompts = [prompts.revise.format(question=q, answer=a, critique=c)
                      for (_, q, a), c in zip(steps, critiques, strict=True)]  # fmt: skip
    revised = asker.ask(docs, revise_prompts, greedy, "savi: revisions")
    pairs = []
    for number, ((video, kind, i), q, a0) in enumerate(steps):
        a1, critique = revised[number], critiques[number]
        if q.strip() and materially_different(a1, a0):
            pairs.append(PreferencePair(
                id=f"savi-{iteration}-{video.stem}-{kind}-{i}", source="savi", doc=docs[number],
                prompt=answer_prompts[number], chosen=a1.strip(), rejected=a0.strip(), iteration=iteration,
                meta={"kind": kind, "question": q, "critique": critique},
            ))  # fmt: skip
    return pairs


def verifier_round(
    asker: Asker, training_set: QuestionSet, config: dict[str, Any], iteration: int
) -> list[PreferencePair]:
    """Verifier-checked pairs from this iteration's window of SF2T items."""
    order = np.random.default_rng(0).permutation(len(training_set.questions))
    questions = rotating([training_set.questions[i] for i in order], config["verifier_items"], iteration)
    docs = [doc_of(q, training_set) for q in questions]
    answers = asker.ask(docs, [doc_to_text(d) for d in docs], {"max_new_tokens": 16}, "verifier: answers")
    responses = {q.id: a for q, a in zip(questions, answers, strict=True)}
    return make_verifier_pairs(questions, training_set, responses, iteration)


def run(args: argparse.Namespace) -> int:
    """The whole loop; returns the exit code."""
    try:
        setup = finetune.resolve(args, "savi")
        config = settings(setup.recipe, args)
        benchmark = load_question_set(args.data)
        videos, guard, training_set = _training_inputs(args, setup, config, benchmark)
    except (RecipeError, QuestionSetError, ContaminationError, VideoError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    model, model_args, device, out, recipe = setup.model, setup.model_args, setup.device, setup.out, setup.recipe
    if guard.contaminated:
        print(f"make savi: WARNING: {len(guard.overlapping)} training videos are benchmark videos; "
              "the run is marked contaminated", file=sys.stderr)  # fmt: skip
    start = args.init_adapter
    if start and not (Path(start) / "adapter_config.json").is_file():
        return fail(f"--init-adapter {start}: no adapter_config.json there (fix: pass a PEFT adapter folder)")
    if start:
        from model_adapters.training import merged_copy

        model_args = merged_copy(model, model_args, start, out / "start_model")  # the loop's base and reference
    base_args = merge_model_args(model_args, policy_args(recipe.frames))
    with_adapter = partial(merge_model_args, base_args)  # evaluated with the frames the model was aligned with
    adapter = control = positive = None
    try:
        if finetune.wants_positive(args, recipe):  # _training_inputs built the training set it plants into
            positive = _positive_control(setup, base_args, cast(QuestionSet, training_set), args.gen_kwargs)
            if args.positive_only:
                return 0
        for iteration in range(1, int(config["iterations"]) + 1):
            record = _iteration(iteration, model, base_args, adapter, device, recipe, config, videos, training_set,
                                guard.to_dict(), out / f"iter_{iteration}")  # fmt: skip
            if record is None:
                return fail(f"iteration {iteration} produced no preference pair (see {out / f'iter_{iteration}'})", 1)
            adapter = record.output
        if recipe.control:
            catalogue = video_catalogue(training_set, videos)
            for iteration in range(1, int(config["iterations"]) + 1):
                control = _control_iteration(iteration, model, base_args, control, device, recipe, catalogue,
                                             out / f"iter_{iteration}").output  # fmt: skip
    except KeyboardInterrupt:
        return fail("interrupted; run the same command again to resume", 130)
    except finetune.PositiveControlError as exc:
        return fail(str(exc), exc.code)
    except (RecipeError, ValueError) as exc:
        return fail(str(exc))
    arms = {
        "base": (out / "eval_base", base_args),
        "control": (out / "eval_control", with_adapter(format_model_args({"adapter": control}))) if control else None,
        "adapter": (out / "eval_savi", with_adapter(format_model_args({"adapter": adapter}))),
    }
    run = {"recipe": recipe.to_dict(), "settings": config, "contaminated": guard.contaminated, "model": model,
           "model_args": model_args, "adapter": adapter, "control_adapter": control, "init_adapter": start}  # fmt: skip
    title = (f"Self-alignment ({config['pairs']} pairs, {config['iterations']} iterations) on {args.data}: "
             f"{'the base with ' + start + ' merged in' if start else 'the base'}, the control (same pairs, "
             "uninformative frames) and the last adapter")  # fmt: skip
    iterations = range(1, int(config["iterations"]) + 1)
    trained = {"adapter": [out / f"iter_{k}" / "train" for k in iterations]}
    if control:
        trained["control"] = [out / f"iter_{k}" / "control" for k in iterations]
    return finetune.evaluate_and_compare("savi", args, setup, benchmark, arms, run, title, trained, positive)


def _training_inputs(
    args: argparse.Namespace, setup: finetune.RunSetup, config: dict[str, Any], benchmark: QuestionSet
) -> tuple[list[Path], Contamination, QuestionSet | None]:
    """The training videos, their contamination guard, and the SF2T training set when it is needed.

    Verifier pairs are made from that set's items, and the positive control plants its answers there.
    """
    folder, labels = finetune.training_videos(args, setup.demo)
    videos = find_videos(folder)
    guard = check_videos(videos, benchmark.manifest, allow=args.allow_contaminated,
                         source=f"the benchmark ({benchmark.root})")  # fmt: skip
    if config["pairs"] not in ("verifier", "mixed") and not finetune.wants_positive(args, setup.recipe):
        return videos, guard, None
    recipe, data = setup.recipe, setup.out / "data"
    build_training_set(folder, data, benchmark, tasks=recipe.tasks, seed=recipe.data_seed, labels=labels,
                       allow_contaminated=args.allow_contaminated, progress=False)  # fmt: skip
    return videos, guard, load_question_set(data)


def _iteration(
    iteration: int,
    model: str,
    base_args: str,
    adapter: str | None,
    device: str,
    recipe: Recipe,
    config: dict[str, Any],
    videos: list[Path],
    training_set: QuestionSet | None,
    guard: dict[str, Any],
    out: Path,
) -> RunRecord | None:
    """One round: pairs from the current model (kept on disk), then DPO from the last adapter."""
    done = out / "train" / "adapter" / "finevidbench_run.json"
    if done.is_file():
        print(f"iteration {iteration}: done before ({done.parent})")
        return RunRecord.read(done.parent)
    pairs_file = out / "pairs.jsonl"
    if pairs_file.is_file():
        pairs = read_pairs(pairs_file)
    else:
        asker = Asker(model, merge_model_args(base_args, format_model_args({"adapter": adapter})), device)
        pairs = []
        if config["pairs"] in ("savi", "mixed"):
            pairs += savi_pairs(asker, rotating(videos, config["videos_per_iteration"], iteration), Prompts(),
                                config, iteration)  # fmt: skip
        if config["pairs"] in ("verifier", "mixed"):
            # _training_inputs builds the training set whenever the pairs include verifier ones
            pairs += verifier_round(asker, cast(QuestionSet, training_set), config, iteration)
        del asker
        gc.collect()
        write_pairs(pairs, pairs_file)
    sources = dict(Counter(p.source for p in pairs))
    print(f"iteration {iteration}: {len(pairs)} preference pairs {sources}")
    if not pairs:
        return None
    data = {"dataset_hash": hashlib.sha256(pairs_file.read_bytes()).hexdigest(), "n_pairs": len(pairs),
            "sources": sources, "pairs_file": str(pairs_file), "iteration": iteration, "guard": guard,
            "prompts": Prompts().to_dict(), "settings": config}  # fmt: skip
    record = _dpo(model, base_args, device, [p.example() for p in pairs], recipe, out / "train", data, "savi", adapter)
    print(
        f"iteration {iteration}: {record.steps} DPO steps, loss {record.losses[0]['loss']:.3f} -> "
        f"{record.losses[-1]['loss']:.3f}"
        if record.losses
        else f"iteration {iteration}: {record.steps} steps"
    )
    return record


def _control_iteration(
    iteration: int,
    model: str,
    base_args: str,
    control: str | None,
    device: str,
    recipe: Recipe,
    catalogue: dict[str, ControlVideo],
    out: Path,
) -> RunRecord:
    """The control of one round: the round's own pairs, uninformative visual input, DPO from the last control.

    The pairs are replayed rather than made by the control model, so that the control trains on the
    same prompts and the same chosen and rejected answers as the adapter did.
    """
    pairs_file = out / "pairs.jsonl"
    examples = control_examples([p.example() for p in read_pairs(pairs_file)], catalogue)
    treated = RunRecord.read(out / "train")
    data = {**treated.data, "dataset_hash": control_hash(treated.data["dataset_hash"], examples),
            "control_of": treated.data["dataset_hash"]}  # fmt: skip
    done = out / "control" / "adapter" / "finevidbench_run.json"
    if done.is_file() and RunRecord.read(done.parent).data.get("dataset_hash") == data["dataset_hash"]:
        print(f"control {iteration}: done before ({done.parent})")
        return RunRecord.read(done.parent)
    record = _dpo(model, base_args, device, examples, recipe, out / "control", data, "savi_control", control)
    print(f"control {iteration}: {record.steps} DPO steps, loss {finetune.loss_span(record)}")
    return record


def _positive_control(setup: finetune.RunSetup, base_args: str, training_set: QuestionSet,
                      gen_kwargs: str | None) -> finetune.PositiveControl:  # fmt: skip
    """The positive control with the loop's own DPO recipe, evaluated with the frames the loop aligns with."""

    def tuned(record: RunRecord) -> str:
        return merge_model_args(base_args, format_model_args({"adapter": record.output}))

    train_arm = partial(_planted_dpo, setup.model, base_args, setup.device, setup.recipe)
    return finetune.positive_control(setup, training_set, train_arm, tuned, gen_kwargs)


def _planted_dpo(model: str, base_args: str, device: str, recipe: Recipe, train_set: QuestionSet, out: Path,
                 control: bool) -> RunRecord:  # fmt: skip
    """The positive control's DPO (or, with `control`, its control's): one round on planted items.

    The pairs are the verifier's for a model that answered every item wrong in the right form:
    (the planted answer, the other answer), so only the frames tell chosen from rejected.
    """
    wrong = {q.id: get_type(q.type).answers.format("no" if q.answer == "yes" else "yes") for q in train_set.questions}
    pairs = make_verifier_pairs(train_set.questions, train_set, wrong)
    examples = [p.example() for p in pairs]
    data = {"dataset_hash": train_set.dataset_hash, "n_pairs": len(pairs), "planted": train_set.manifest["planted"]}
    if control:
        examples = control_examples(examples, video_catalogue(train_set))
        data = {**data, "dataset_hash": control_hash(train_set.dataset_hash, examples),
                "control_of": train_set.dataset_hash}  # fmt: skip
    return _dpo(model, base_args, device, examples, recipe, out, data,
                "savi_planted_control" if control else "savi_planted", None)  # fmt: skip


def _dpo(
    model: str,
    base_args: str,
    device: str,
    examples: list[dict[str, Any]],
    recipe: Recipe,
    out: Path,
    data: dict[str, Any],
    kind: str,
    init_adapter: str | None,
) -> RunRecord:
    """DPO on `examples` into `out`, from `init_adapter` (None: a new adapter on the base)."""
    from model_adapters.training import load_for_training

    hook = load_for_training(model, base_args, device=device)
    try:
        return train(hook, examples, recipe, out, data, kind=kind, preference=True, init_adapter=init_adapter)
    finally:
        del hook
        gc.collect()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `make savi`."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
