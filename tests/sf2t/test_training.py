import json
from pathlib import Path

import pytest
import torch

from finevidbench.specs import ModelSpec
from finevidbench.training import Recipe, RecipeError, RunRecord, TrainingRun, load_recipe, train
from finevidbench.training.examples import examples_of, request
from model_adapters.recipes import FOLDER as RECIPES
from model_adapters.recipes import recipe_for
from model_adapters.registry import families
from model_adapters.testing.tiny import build_tiny
from model_adapters.training import IGNORE
from model_adapters.training import load_for_training as _load

FAMILIES = list(families())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = {}

    def get(family: str):
        if family not in cache:
            cache[family] = build_tiny(family, tmp_path_factory.mktemp(f"tiny-{family}"))
        return cache[family]

    return get


@pytest.fixture(scope="module")
def examples(training_set):
    return examples_of(training_set)


def _recipe(**changes) -> Recipe:
    base = dict(
        model="fvb_qwen2_5_vl",
        lora_r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        learning_rate=5e-3,
        batch_size=4,
        grad_accum=1,
        max_steps=6,
        save_steps=2,
        logging_steps=1,
        warmup_ratio=0.0,
    )
    return Recipe(**{**base, **changes})


def load_for_training(model: str, model_args: str):
    return _load(ModelSpec.parse(model, model_args))


def _train(pretrained: str, examples, recipe: Recipe, out, data: dict, **options) -> RunRecord:
    """SF2T training of the tiny Qwen2.5-VL at `pretrained` (a MODEL_ARGS string)."""
    hook = load_for_training("fvb_qwen2_5_vl", pretrained)
    return train(hook, examples, TrainingRun("sf2t", recipe, out, data), progress=False, **options)


@pytest.mark.parametrize("family", FAMILIES)
def test_loss_falls_on_answer_tokens_only(family, tiny, examples):
    hook = load_for_training(f"fvb_{family}", f"pretrained={tiny(family)}")
    batch_examples = [e for e in examples if e.question.type == "frame_comparison"][:3]  # two frames each
    batch = hook.collate(batch_examples)
    tokenizer = hook.processor.tokenizer
    for row, example in enumerate(batch_examples):
        supervised = batch["labels"][row][batch["labels"][row] != IGNORE]
        text = tokenizer.decode(supervised)
        assert text.strip().startswith(example.answer), (text, example.answer)
        # the supervised span is the answer plus the template's end of turn, nothing of the prompt
        assert len(supervised) <= len(tokenizer(example.answer)["input_ids"]) + 3
    assert torch.isfinite(hook.model(**batch).loss)


def test_training_decodes_each_video_once_where_it_fits_and_batches_are_unchanged(tiny, examples, monkeypatch):
    """Planned, every example's frames are cut from one decode of its video; the batches are those unplanned."""
    from finevidbench.video import DEFAULT_CACHE, clip

    hook = load_for_training("fvb_qwen2_5_vl", f"pretrained={tiny('qwen2_5_vl')}")
    video = examples[0].question.video_path
    batch = [e for e in examples if e.question.video_path == video][:4]  # one video's questions: frames differ
    assert len(batch) == 4 and len({e.question.type for e in batch}) > 1
    decoded: list[str] = []
    real = clip.decode_frames
    monkeypatch.setattr(clip, "decode_frames", lambda path, *args: decoded.append(str(path)) or real(path, *args))
    DEFAULT_CACHE.clear()
    unplanned = hook.collate(batch)
    assert len(decoded) == len(batch)  # each example its own decode
    monkeypatch.setattr(DEFAULT_CACHE, "max_bytes", 1)
    assert hook.plan(examples) is False  # the decodes would not fit: each example keeps decoding its own
    monkeypatch.setattr(DEFAULT_CACHE, "max_bytes", 512 * 2**20)
    DEFAULT_CACHE.clear()
    decoded.clear()
    assert hook.plan(examples) is True
    planned = hook.collate(batch)
    hook.collate(list(reversed(batch)))  # another order, as the next epoch's shuffle: nothing decoded again
    assert decoded == [video]  # one decode for the video's four examples
    assert planned.keys() == unplanned.keys()
    for name in unplanned:
        assert torch.equal(unplanned[name], planned[name]), name


@pytest.mark.parametrize("family, refused", [("hf", True), ("qwen2_5_vl", False)])
def test_a_training_batch_a_processor_cannot_encode_exactly_is_refused(family, refused, tiny, mini):
    """SmolVLM's processor (fvb_hf) cannot hold a clip and images in one call, even of one frame count; Qwen's can."""
    hook = load_for_training(f"fvb_{family}", f"pretrained={tiny(family)}")
    mixed = examples_of(mini)
    fragment = next(e for e in mixed if e.question.type == "adjust_or_not")
    count = hook.adapter.frame_counts(hook.request(fragment))
    scene = next(
        e for e in mixed if e.question.level == "scene" and hook.adapter.frame_counts(hook.request(e)) == count
    )
    if refused:
        with pytest.raises(ValueError, match="cannot hold images and videos in one batch.*batch_size: 1"):
            hook.collate([scene, fragment])
    else:
        assert hook.collate([scene, fragment])["input_ids"].shape[0] == 2
    assert recipe_for("sf2t", f"fvb_{family}").batch_size == (1 if refused else 2)


def test_trainable_parts_are_found_per_family(tiny):
    hook = load_for_training("fvb_qwen2_5_vl", f"pretrained={tiny('qwen2_5_vl')}")
    language = hook.linear_modules(["language_model"], ["q_proj", "v_proj"])
    assert language and all(".language_model." in n for n in language)
    assert {n.rsplit(".", 1)[-1] for n in language} == {"q_proj", "v_proj"}
    projector = hook.linear_modules(["projector"], "all-linear")
    assert projector and all(".visual.merger." in n for n in projector)
    vision = hook.linear_modules(["vision_tower"], "all-linear")
    assert vision and not set(vision) & set(projector)


def test_recipes_of_every_family_load_and_name_their_adapter():
    for family in FAMILIES:
        recipe = recipe_for("sf2t", f"fvb_{family}")
        assert recipe.model == f"fvb_{family}" and recipe.tuner == "lora" and recipe.gradient_checkpointing
    # a family's declared overrides, and a demonstration file's, sit on the method's default
    assert recipe_for("sf2t", "fvb_llava_next_video").batch_size == 1
    assert recipe_for("sf2t", "fvb_qwen2_5_vl").batch_size == 2
    demo = recipe_for("sf2t", "fvb_qwen2_5_vl", RECIPES / "sf2t_demo_tiny.yaml")
    assert demo.model == "fvb_qwen2_5_vl" and demo.learning_rate == 5e-3 and demo.weight_decay == 0.0


def test_recipe_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: fvb_qwen2_5_vl\nlearning_rte: 0.1\n")
    with pytest.raises(RecipeError, match=r"unknown key\(s\) \['learning_rte'\]"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="subset of"):
        _recipe(train=("decoder",))
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "missing.yaml")
    assert _recipe().override("lora_r=4,train=[projector]").train == ("projector",)
    changed = _recipe().override("tasks=[counting,localization],extra.beta=0.2,learning_rate=1e-4")
    assert changed.tasks == ("counting", "localization") and changed.extra == {"beta": 0.2}
    assert changed.learning_rate == pytest.approx(1e-4)
    with pytest.raises(RecipeError, match="could not convert"):
        _recipe().override("learning_rate=fast")


class _Interrupt:
    """A Trainer callback that stops the run like a Ctrl-C after `step` optimiser steps."""

    def __new__(cls, step: int):
        from transformers import TrainerCallback

        class Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == step:
                    raise KeyboardInterrupt

        return Stop()


def _adapter_weights(folder) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_interrupted_training_resumes_to_the_same_result(tiny, examples, training_set, tmp_path):
    pretrained = f"pretrained={tiny('qwen2_5_vl')}"
    data = {"dataset_hash": training_set.dataset_hash}
    recipe = _recipe()
    straight = _train(pretrained, examples, recipe, tmp_path / "a", data)
    with pytest.raises(KeyboardInterrupt):
        _train(pretrained, examples, recipe, tmp_path / "b", data, callbacks=[_Interrupt(5)])
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == ["checkpoint-2", "checkpoint-4"]
    resumed = _train(pretrained, examples, recipe, tmp_path / "b", data)
    assert resumed.resumed_from == "checkpoint-4" and resumed.steps == straight.steps == 6
    after_resume = {e["step"]: e["loss"] for e in resumed.losses}
    for entry in straight.losses:
        if entry["step"] > 4:
            assert after_resume[entry["step"]] == pytest.approx(entry["loss"], rel=1e-4)
    a, b = _adapter_weights(tmp_path / "a" / "adapter"), _adapter_weights(tmp_path / "b" / "adapter")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-6)
    # the loss log is written as it comes, and holds the interrupted run's first steps too
    logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "loss.jsonl").read_text().splitlines()]
    assert logged[:4] == [1, 2, 3, 4] and logged[-1] == 6


def test_resume_refuses_another_recipe(tiny, examples, training_set, tmp_path):
    pretrained = f"pretrained={tiny('qwen2_5_vl')}"
    data = {"dataset_hash": training_set.dataset_hash}
    _train(pretrained, examples, _recipe(max_steps=2), tmp_path, data)
    with pytest.raises(RecipeError, match="different recipe"):
        _train(pretrained, examples, _recipe(max_steps=2, lora_r=4), tmp_path, data)


def test_adapter_reloads_through_adapter_arg_with_its_provenance(tiny, examples, training_set, tmp_path):
    from model_adapters.families.qwen import Qwen2_5VL

    pretrained = tiny("qwen2_5_vl")
    data = {"dataset_hash": training_set.dataset_hash, "guard": {"contaminated": False}}
    record = _train(f"pretrained={pretrained}", examples, _recipe(max_steps=20, save_steps=50), tmp_path, data)
    assert record.losses[-1]["loss"] < record.losses[0]["loss"]
    assert RunRecord.read(tmp_path / "adapter").data["dataset_hash"] == training_set.dataset_hash
    base = Qwen2_5VL(pretrained=str(pretrained), max_new_tokens=4)
    tuned = Qwen2_5VL(pretrained=str(pretrained), adapter=str(tmp_path / "adapter"), max_new_tokens=4)
    assert tuned.adapter_info["training"] == {
        "kind": "sf2t",
        "contaminated": False,
        "data_hash": training_set.dataset_hash,
        "base_model": record.base_model,
    }
    requests = [request(e.question, e.prompt, base.frame_policy) for e in examples[:6]]
    assert base.answer_batch(requests) != tuned.answer_batch(requests)


def test_full_fine_tuning_trains_only_the_chosen_part(tiny, examples, training_set, tmp_path):
    from transformers import AutoModelForImageTextToText

    pretrained = tiny("qwen2_5_vl")
    recipe = _recipe(tuner="full", train=("projector",), max_steps=2, learning_rate=1e-2)
    record = _train(f"pretrained={pretrained}", examples, recipe, tmp_path, {"dataset_hash": training_set.dataset_hash})
    before = AutoModelForImageTextToText.from_pretrained(pretrained).state_dict()
    after = AutoModelForImageTextToText.from_pretrained(tmp_path / "model").state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(".visual.merger." in k for k in changed)
    assert record.trainable_parameters < record.total_parameters


def test_vision_demo_recipe_trains_the_vision_tower_and_projector_in_full(tiny, examples, training_set, tmp_path):
    from transformers import AutoModelForImageTextToText

    recipe = recipe_for("sf2t", "fvb_qwen2_5_vl", RECIPES / "sf2t_demo_tiny_vision.yaml")
    assert recipe.tuner == "full" and {"vision_tower", "projector"} <= set(recipe.train)
    pretrained = tiny("qwen2_5_vl")
    short = recipe.override("max_steps=1,logging_steps=1,save_steps=1,warmup_ratio=0")  # no zero-rate first step
    _train(f"pretrained={pretrained}", examples[:8], short, tmp_path, {"dataset_hash": training_set.dataset_hash})
    before = AutoModelForImageTextToText.from_pretrained(pretrained).state_dict()
    after = AutoModelForImageTextToText.from_pretrained(tmp_path / "model").state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(".visual.blocks." in k for k in changed) and any(".visual.merger." in k for k in changed)
    assert any(".language_model." in k for k in changed)


def test_self_alignment_recipes_of_every_family_load():
    for family in FAMILIES:
        recipe = recipe_for("savi", f"fvb_{family}")
        assert recipe.model == f"fvb_{family}" and recipe.frames == "num_frames=32,mode=segment"
        assert recipe.extra["iterations"] == 4 and "lm_head" not in recipe.lora_target


def test_recipe_layers_default_family_file_then_overrides(tmp_path):
    file = tmp_path / "mine.yaml"
    file.write_text("grad_accum: 4\nextra:\n  iterations: 2\n")
    recipe = recipe_for("savi", "fvb_llava_next_video", file, {"learning_rate": "3e-5", "extra.pairs": "mixed"})
    assert (recipe.grad_accum, recipe.learning_rate, recipe.batch_size) == (4, 3e-5, 1)  # file, SET, default
    assert recipe.extra["iterations"] == 2 and recipe.extra["pairs"] == "mixed"  # `extra:` merged key by key
    assert recipe.extra["beta"] == 0.1 and recipe.frames == "num_frames=32,mode=segment"  # the method default
    sf2t = recipe_for("sf2t", "fvb_llava_next_video", file)
    assert (sf2t.batch_size, sf2t.grad_accum) == (1, 4)  # the family's key stays; the file's replaces its other


def test_a_recipe_file_for_another_model_or_method_default_is_refused(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("model: fvb_internvl\n")
    with pytest.raises(RecipeError, match="the recipe is for fvb_internvl, not fvb_qwen2_vl"):
        recipe_for("sf2t", "fvb_qwen2_vl", other)
    with pytest.raises(RecipeError, match="no default recipe for 'dpo'"):
        recipe_for("dpo", "fvb_qwen2_vl")


def test_a_recipe_that_still_says_method_lora_gets_one_error_naming_the_file_and_the_fix(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("model: fvb_qwen2_5_vl\nmethod: lora\n")
    with pytest.raises(RecipeError) as caught:
        recipe_for("sf2t", "fvb_qwen2_5_vl", old)
    assert str(caught.value).startswith(f"{old}: `method: lora` is now `tuner: lora`")
    assert "make sf2t or make savi" in str(caught.value)
    full = tmp_path / "full.yaml"
    full.write_text("model: fvb_qwen2_5_vl\nmethod: full\n")
    with pytest.raises(RecipeError, match=f"{full}: `method: full` is now `tuner: full`"):
        load_recipe(full)
    with pytest.raises(RecipeError, match="`method:` is not a recipe key"):
        _recipe().override("method=sf2t")
    with pytest.raises(RecipeError, match="tuner: 'dpo' is not one of"):
        _recipe(tuner="dpo")
    for name in ("sf2t.yaml", "savi.yaml", "sf2t_demo_tiny.yaml", "sf2t_demo_tiny_vision.yaml", "savi_demo_tiny.yaml"):
        assert "method" not in load_recipe_keys(RECIPES / name), name


def load_recipe_keys(path) -> set:
    import yaml

    return set(yaml.safe_load(path.read_text()))


def test_the_objective_follows_from_the_method():
    run = TrainingRun("savi", _recipe(), Path("out"), arm="planted_control", init_adapter="a")
    assert run.preference and run.kind == "savi_planted_control"
    assert not TrainingRun("sf2t", _recipe(), Path("out")).preference
    with pytest.raises(RecipeError, match="DPO\\) runs with tuner: lora"):
        TrainingRun("savi", _recipe(tuner="full"), Path("out"))
    with pytest.raises(ValueError, match="only a DPO run"):
        TrainingRun("sf2t", _recipe(), Path("out"), init_adapter="a")
    with pytest.raises(RecipeError, match="method 'lora' is not one of"):
        TrainingRun("lora", _recipe(), Path("out"))
