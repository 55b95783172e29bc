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
