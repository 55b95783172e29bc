"""Tiny random Video-LLMs of the real transformers architectures, built offline for tests and demonstrations.

`build_tiny(family, out)` saves a family's tiny model (hidden 64, 2 layers, a 2-layer width-32 vision
tower; its `TinySpec`, declared in `model_adapters/testing/families/`) and its processor (tokenizer and
chat template included) into `out`; both reload with `AutoModelForImageTextToText.from_pretrained(out)` /
`AutoProcessor.from_pretrained(out)` under `HF_HUB_OFFLINE=1`. Nothing is downloaded: the tokenizer is
a byte-level BPE trained in-process on `SENTENCES`, and the processors are configured for tiny frames
so that token counts stay small. This module holds what every family's tiny model shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_adapters.testing.specs import tiny_specs

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

    from model_adapters.testing.specs import TinyModel

# Fixed training text: answers (letters A-D, digits, yes/no) and the usual prompt words become tokens.
SENTENCES: tuple[str, ...] = (
    "yes no yes no Yes No yes. no. yes\nno\n",
    "A B C D A. B. C. D. (A) (B) (C) (D) A\nB\nC\nD\n",
    "0 1 2 3 4 5 6 7 8 9 10 12 16 24 32 64 100 0.5 1.0 2.0 seconds",
    "Answer with the option's letter from the given choices directly.",
    "Answer the question using a single word or phrase. Answer yes or no.",
    "How many times does the action happen in the video? Count the repetitions.",
    "Which frame comes first? Image 1: Image 2: Image 3: Image 4: Frame1: Frame2:",
    "What is the person doing? Is the object moving to the left or to the right?",
    "system user assistant USER: ASSISTANT: User: Assistant: You are a helpful assistant.",
    "The video shows a man and a woman who open the door, then close it again.",
)

# LLaVA-OneVision, LLaVA-NeXT-Video, InternVL and SmolVLM see frames and images as SIDE x SIDE with
# 8-px patches (4x4 patches); the Qwen-style families size them by pixel budgets (see their builders).
SIDE = 32
NUM_MERGES = 64  # BPE merges on top of the 256 bytes and the specials: vocabularies of ~330-370 tokens

# Text side and vision tower shared by every family.
TEXT = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
)
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
# The text side of a checkpoint a serving engine runs on CPU (`EngineLayout`): vLLM's CPU attention takes head
# sizes 32 to 512, and weights drawn at 0.1 give answers that follow the input.
ENGINE_TEXT = dict(hidden_size=128, num_attention_heads=2, num_key_value_heads=1, head_dim=64, initializer_range=0.1)


def make_tokenizer(
    specials: list[str], eos: str, pad: str, extra_special_tokens: Mapping[str, str] | None = None
) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on `SENTENCES` (deterministic); `specials` become atomic tokens.

    Every byte is a token, so any text encodes and digits 0-9 and letters A-D are single tokens;
    "yes" and "no" are learned merges.
    """
    import transformers as hf
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=256 + len(specials) + NUM_MERGES,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(SENTENCES) * 4, trainer)
    return hf.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=eos, pad_token=pad, extra_special_tokens=dict(extra_special_tokens or {})
    )


def chat_template(
    video: str,
    image: str,
    turn: str = "<|im_start|>{role}\n",
    end: str = "<|im_end|>\n",
    roles: dict[str, Any] | None = None,
    start: str = "",
    gen: str | None = None,
) -> str:
    """A Jinja chat template: `video`/`image` for video/image blocks, the text of text blocks.

    `start` opens the conversation; `turn` opens each message (`{role}` is the message's role, renamed
    through `roles`) and `end` closes it; the generation prompt is `gen` (default: the assistant's `turn`).
    """
    roles = roles or {}
    gen = turn.replace("{role}", roles.get("assistant", "assistant")) if gen is None else gen
    return (
        start
        + f"{{% for message in messages %}}{{% set role = {roles!r}.get(message['role'], message['role']) %}}"
        + turn.replace("{role}", "{{ role }}")
        + "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
        "{% for c in message['content'] %}"
        f"{{% if c['type'] == 'video' %}}{video}{{% elif c['type'] == 'image' %}}{image}"
        "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
        + end
        + f"{{% endfor %}}{{% if add_generation_prompt %}}{gen}{{% endif %}}"
    )


def token_ids(tok: PreTrainedTokenizerBase, names: list[str]) -> dict[str, int]:
    """The ids of `names` in `tok`."""
    ids = {n: tok.convert_tokens_to_ids(n) for n in names}
    several = [n for n, i in ids.items() if not isinstance(i, int)]
    if several:
        raise ValueError(f"{several}: not single tokens of the tiny tokenizer")
    return {n: i for n, i in ids.items() if isinstance(i, int)}


def tiny_families() -> list[str]:
    """The registered families that declare a tiny model (every one this project ships), in declaration order."""
    from model_adapters.registry import families

    specs = tiny_specs()
    return [name for name in families() if name in specs]


def make_tiny(family: str, seed: int = 0) -> TinyModel:
    """The tiny random `(model, processor)` of `family`, in eval mode; the weights depend only on `seed`.

    Only a registered family's: the product's registry is consulted first, so every family module is
    imported (and reaches lmms-eval) before a test evaluates the model it built.
    """
    import torch

    spec = tiny_specs().get(family) if family in tiny_families() else None
    if spec is None:
        raise ValueError(f"unknown family {family!r}; expected one of {tiny_families()}")
    tok = make_tokenizer(list(spec.specials), eos=spec.eos, pad=spec.pad, extra_special_tokens=spec.named_tokens)
    torch.manual_seed(seed)
    model, proc = spec.build(tok)
    model.eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, proc


def build_tiny(family: str, out: str | Path, seed: int = 0) -> Path:
    """Build the tiny random model of `family` and save model and processor into `out`; returns `out`."""
    model, proc = make_tiny(family, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out
