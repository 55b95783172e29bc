"""The serving engine's side of `backend=vllm`: one vLLM engine answering batches of prompts.

It runs in the serving engine's own environment (`make vllm-venv`: vLLM pins another transformers
than ours), started by `model_adapters.engine.VLLMEngine` with its end of a socket pair, and imports
only the standard library, numpy, PIL and vLLM. vLLM writes its log to standard output, so prompts
and answers travel over that socket as `multiprocessing.connection` messages instead:

- first message: {"engine": the keyword arguments of `vllm.LLM`, "lora": a PEFT LoRA folder or None};
  the answer, once the engine has answered one prompt through the adapter: vLLM's version, or an error;
- then a list of prompts ({"text", "images", "videos", "processor_kwargs", "sampling"}) per message,
  answered with {"answers": one {"token_ids", "prompt_token_ids"} per prompt, "counters": vLLM's cache
  counters so far}, or {"error": ...} (the adapter decodes the tokens with its own tokenizer, as for
  transformers);
- {"release": True} drops the engine, answered with {"released": True}; the next message starts another
  engine in the same process (vLLM imported once), or None stops it;
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
    """Start the engine each start message describes and answer its batches, until told to stop.

    A release message drops the engine and waits for the next start message in this same process, so
    a process that evaluates several models one after another (the arms of a fine-tuning comparison,
    a test session) imports vLLM once.
    """
    while True:
        try:
            start = connection.recv()
        except EOFError:
            return
        if start is None:
            return
        started = start_engine(connection, start)
        if started is None:
            return
        llm, lora = started
        released = answer_batches(connection, llm, lora)
        del llm, lora, started
        if not released:
            return
        drop_engine()
        connection.send({"released": True})


def start_engine(connection: Any, start: dict[str, Any]) -> tuple[Any, Any] | None:
    """The engine and LoRA request of a start message, its version sent back; None (the error sent) if it failed."""
    try:
        import vllm
        from vllm.lora.request import LoRARequest

        llm = vllm.LLM(**start["engine"])
        lora = LoRARequest("adapter", 1, start["lora"]) if start["lora"] else None
        if lora is not None:  # vLLM loads an adapter on its first request: a failure to apply it shows now
            probe = {"text": "0", "images": [], "videos": [], "processor_kwargs": {}, "sampling": {"max_tokens": 1}}
            answer(llm, [probe], lora)
    except Exception:  # noqa: BLE001 - every failure to start is reported to the caller, which raises it
        connection.send({"error": traceback.format_exc()})
        return None
    connection.send({"vllm": vllm.__version__})
    return llm, lora


def answer_batches(connection: Any, llm: Any, lora: Any) -> bool:
    """Answer each batch of prompts; True when told to release the engine, False when told to stop."""
    while True:
        try:
            prompts = connection.recv()
        except EOFError:
            return False
        if prompts is None:
            return False
        if isinstance(prompts, dict) and prompts.get("release"):
            return True
        try:
            connection.send({"answers": answer(llm, prompts, lora), "counters": counters(llm)})
        except Exception:  # noqa: BLE001 - the caller raises it with the prompts' identity
            connection.send({"error": traceback.format_exc()})


def drop_engine() -> None:
    """Free what a dropped engine held, so the next one starts as in a fresh process (vLLM's process groups)."""
    import gc

    from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

    gc.collect()
    destroy_model_parallel()
    destroy_distributed_environment()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def main() -> None:
    """Serve the adapter at the other end of the socket whose descriptor is given."""
    with Connection(int(sys.argv[1])) as connection:
        serve(connection)


if __name__ == "__main__":
    main()
