"""MODEL_ARGS strings: one parser, lmms-eval's rules, values with `=` and `,` intact, clear errors."""

import pytest
from lmms_eval.utils import simple_parse_args_string

from finevidbench.model_args import ModelArgsError, format_model_args, merge_model_args, parse_model_args, typed

AGREED = [
    "pretrained=Qwen/Qwen2.5-VL-7B-Instruct,revision=abc123,batch_size=4",
    "pretrained=/models/m,max_new_tokens=16,trust_remote_code=true,fps=2.5",
    'gen_kwargs={"temperature":0,"top_p":1.0},num_frames=8',
    "lora_target=[q_proj,v_proj],device_map=auto",
    "path=/a/b=c,dtype=bfloat16",
    "",
]


@pytest.mark.parametrize("text", AGREED)
def test_parsing_agrees_with_lmms_eval(text):
    ours = {key: typed(value) for key, value in parse_model_args(text).items()}
    assert ours == simple_parse_args_string(text)


def test_values_keep_their_equals_signs_commas_in_brackets_and_quotes():
    args = parse_model_args('a=x=y,b=[1,2],c=\'p,q\',d={"k":1,"l":2}')
    assert args == {"a": "x=y", "b": "[1,2]", "c": "'p,q'", "d": '{"k":1,"l":2}'}


def test_a_part_without_a_key_is_one_clear_error():
    with pytest.raises(ModelArgsError, match=r"MODEL_ARGS=pretrained=a,oops: 'oops' is not key=value \(fix:"):
        parse_model_args("pretrained=a,oops")
    with pytest.raises(ModelArgsError):
        parse_model_args("=value")


def test_writer_round_trips_and_refuses_what_would_not_parse_back():
    args = {"pretrained": "/m", "num_frames": 8, "fps": None, "lora": "[a,b]"}
    assert parse_model_args(format_model_args(args)) == {"pretrained": "/m", "num_frames": "8", "lora": "[a,b]"}
    with pytest.raises(ModelArgsError, match="comma"):
        format_model_args({"pretrained": "/models/a,b"})


def test_merge_lets_later_keys_win_and_skips_empty_strings():
    assert merge_model_args("pretrained=/m,num_frames=8", "", None, "num_frames=16,adapter=/a") == (
        "pretrained=/m,num_frames=16,adapter=/a"
    )


def test_typed_values_are_what_a_model_receives():
    assert [typed(v) for v in ("true", "False", "8", "0.5", "Qwen/Qwen2-VL")] == [True, False, 8, 0.5, "Qwen/Qwen2-VL"]


# -- the specs built once from the command line -------------------------------------------------


def test_a_model_spec_holds_each_argument_by_what_it_is_and_writes_them_back():
    from finevidbench.specs import ModelSpec

    text = "pretrained=/models/m,revision=abc,backend=vllm,num_frames=8,adapter=/runs/a"
    spec = ModelSpec.parse("fvb_qwen2_5_vl", text)
    assert (spec.pretrained, spec.adapter, spec.backend) == ("/models/m", "/runs/a", "vllm")
    assert dict(spec.args) == {"revision": "abc", "backend": "vllm", "num_frames": "8"}
    assert spec.model_args() == text
    assert ModelSpec.parse("random", "").model_args() == ""
    # the trainer always loads transformers: the serving engine stays with the evaluation
    assert "backend" not in spec.for_training().model_args() and spec.backend == "vllm"
    merged = spec.with_weights("/runs/merged")
    assert merged.model_args() == "pretrained=/runs/merged,backend=vllm,num_frames=8"


def test_a_recipe_frame_policy_travels_whole_and_replaces_the_frame_arguments():
    from finevidbench.specs import ModelSpec
    from finevidbench.video import FramePolicy

    spec = ModelSpec.parse("fvb_qwen2_5_vl", "pretrained=/m,fps=2,max_new_tokens=4")
    policy = FramePolicy.parse("num_frames=8,mode=segment")
    assert spec.with_frames(policy).model_args() == "pretrained=/m,max_new_tokens=4,num_frames=8,frame_mode=segment"
    assert spec.with_frames(None) == spec
    # the policy is kept whole in the spec, min_frames and multiple included
    whole = FramePolicy.parse("fps=2,max_frames=16,min_frames=4,multiple=2,mode=segment")
    kept = spec.with_frames(whole).with_adapter("/a").for_training()
    assert kept.frames == whole and (kept.frames.min_frames, kept.frames.multiple) == (4, 2)
    assert FramePolicy.parse(str(whole)) == whole
    # where the model's arguments cannot carry a field, the spec says so instead of dropping it: the model's
    # temporal patch sets `multiple`
    with pytest.raises(ValueError, match="multiple cannot reach the model"):
        kept.model_args()
    bounded = spec.with_frames(FramePolicy.parse("fps=2,max_frames=16,min_frames=4,mode=segment"))
    frame_args = "fps=2.0,max_frames=16,min_frames=4,frame_mode=segment"
    assert bounded.model_args() == f"pretrained=/m,max_new_tokens=4,{frame_args}"


def test_every_frame_argument_reaches_the_policy_of_every_model_that_shows_frames(tmp_path):
    """The adapters, the pixel oracle and the bench's model take one group of frame arguments, read one way."""
    from dataclasses import fields

    from finevidbench.specs import FrameArgs
    from finevidbench.video import FramePolicy
    from model_adapters.baselines import PixelOracle
    from model_adapters.registry import adapter_class
    from model_adapters.testing.tiny import build_tiny
    from model_adapters.testing.zero_cost import ZeroCostModel

    names = {f.name for f in fields(FrameArgs)}
    adapter = adapter_class("fvb_qwen2_5_vl")
    for model in (adapter, PixelOracle, ZeroCostModel):
        assert names <= model.accepted_args(), model
    policy = FramePolicy.parse("fps=1,max_frames=16,min_frames=6,mode=segment")
    args = FrameArgs.of(policy).model_args()
    qwen = adapter(pretrained=str(build_tiny("qwen2_5_vl", tmp_path / "qwen")), **args)
    assert qwen.frame_policy == FramePolicy.parse({**policy.to_dict(), "multiple": 2})
    assert PixelOracle(size="internvl", **args).frame_policy == policy
    assert ZeroCostModel(**args).frame_policy == policy
    with pytest.raises(ValueError, match="min_frames needs fps"):
        PixelOracle(size="internvl", num_frames=8, min_frames=4)


def test_an_evaluation_spec_writes_its_generation_overrides_as_lmms_eval_takes_them():
    from finevidbench.specs import EvaluationSpec

    assert EvaluationSpec().gen_kwargs is None
    spec = EvaluationSpec(generation=parse_model_args('max_new_tokens=8,until=["a,b"]'))
    assert spec.gen_kwargs == 'max_new_tokens=8,until=["a,b"]'
