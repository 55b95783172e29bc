"""The serving engine's side of `backend=vllm`: one vLLM engine answering batches of prompts.

It runs in the serving engine's own environment (`make vllm-venv`: vLLM pins another transformers
than ours), started by `model_adapters.serving.VLLMEngine` with its end of a socket pair, and imports
only the standard library, numpy, PIL and vLLM. vLLM writes its log to standard output, so prompts
and answers travel over that socket as `multiprocessing.connection` messages instead:

- first message: {"engine": the keyword arguments of `vllm.LLM`, "lora": a PEFT LoRA folder or None};
  the answer, once the engine has answered one prompt through the adapter: vLLM's version, or an error;
- then a list of prompts ({"text", "images", "videos", "processor_kwargs", "sampling"}) per message,
  answered with {"answers": one {"token_ids", "prompt_token_ids"} per prompt, "counters": vLLM's cache
  counters so far}, or {"error": ...} (the adapter decodes the tokens with its own tokenizer, as for
  transformers);
- None, or the connection closing, ends the process.

Every image arrives as an (H, W, 3) uint8 array and every video as (frames, metadata): the frames
the policy chose, already sized, with the metadata of the clip the model is shown, so that vLLM's
processor neither samples nor resizes them (`do_sample_frames=False` in the processor kwargs).
"""

from __future__ import annotations

import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any


def vllm_prompt(prompt: dict[str, Any]) -> dict[str, Any]:
    """One prompt in the form `vllm.LLM.generate` takes."""
    from PIL import Image

    data: dict[str, Any] = {}
    if prompt["images"]:
        data["image"] = [Image.fromarray(image) for image in prompt["images"]]
    if prompt["videos"]:
        data["video"] = [(frames, dict(metadata)) for frames, metadata in prompt["videos"]]
    out = {"prompt": prompt["text"], "multi_modal_data": data}
    if prompt["processor_kwargs"]:
        out["mm_processor_kwargs"] = dict(prompt["processor_kwargs"])
    return out


def answer(llm: Any, prompts: list[dict[str, Any]], lora: Any = None) -> list[dict[str, Any]]:
    """The engine's answer to each prompt, with its prompt's length and how much of it the prefix cache held."""
    from vllm import SamplingParams

    sampling = [SamplingParams(**prompt["sampling"]) for prompt in prompts]
    outputs = llm.generate(
        [vllm_prompt(p) for p in prompts], sampling_params=sampling, use_tqdm=False, lora_request=lora
    )
    return [
        {"token_ids": list(output.outputs[0].token_ids), "prompt_token_ids": list(output.prompt_token_ids or ())}
        for output in outputs
    ]


COUNTERS = ("vllm:prefix_cache_queries", "vllm:prefix_cache_hits", "vllm:mm_cache_queries", "vllm:mm_cache_hits")
"""vLLM's cumulative cache counters: prompt tokens looked up in and found in the prefix cache, then images and
videos looked up in and found in the multimodal cache (processed once, reused by the questions on a video)."""


def counters(llm: Any) -> dict[str, float]:
    """The cache counters so far (summed over engines), empty where vLLM keeps no statistics."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    try:
        metrics = llm.get_metrics()
    except AssertionError:  # statistics switched off (disable_log_stats)
        return {}
    for metric in metrics:
        if metric.name in totals:
            totals[metric.name] += float(getattr(metric, "value", 0) or 0)
    return totals


def serve(connection: Any) -> None:
    """Start the engine the first message describes, then answer each batch until told to stop."""
    try:
        import vllm
        from vllm.lora.request import LoRARequest

        start = connection.recv()
        llm = vllm.LLM(**start["engine"])
        lora = LoRARequest("adapter", 1, start["lora"]) if start["lora"] else None
        if lora is not None:  # vLLM loads an adapter on its first request: a failure to apply it shows now
            probe = {"text": "0", "images": [], "videos": [], "processor_kwargs": {}, "sampling": {"max_tokens": 1}}
            answer(llm, [probe], lora)
    except Exception:  # noqa: BLE001 - every failure to start is reported to the caller, which raises it
        connection.send({"error": traceback.format_exc()})
        return
    connection.send({"vllm": vllm.__version__})
    while True:
        try:
            prompts = connection.recv()
        except EOFError:
            return
        if prompts is None:
            return
        try:
            connection.send({"answers": answer(llm, prompts, lora), "counters": counters(llm)})
        except Exception:  # noqa: BLE001 - the caller raises it with the prompts' identity
            connection.send({"error": traceback.format_exc()})


def main() -> None:
    """Serve the adapter at the other end of the socket whose descriptor is given."""
    with Connection(int(sys.argv[1])) as connection:
        serve(connection)


if __name__ == "__main__":
    main()
