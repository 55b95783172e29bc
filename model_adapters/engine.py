"""The serving engine's process: a vLLM engine in its own interpreter, fed prompts over a socket pair.

An engine is started for a run, answers its batches and is dropped when the run is over.

vLLM pins another transformers than ours, so the engine runs in `.venv-vllm`'s interpreter
(`model_adapters/vllm_worker.py`), or in one named by FINEVIDBENCH_VLLM_PYTHON, or in this one where
vLLM is installed beside us. A dropped engine's process stays, vLLM imported, for the next engine this
process starts (`IDLE_PROCESSES`): the arms of a fine-tuning comparison, or a test session, pay
vLLM's import once. Every process still running is stopped at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from model_adapters.loading import AdapterError


class Prompt(Protocol):
    """A prompt as it crosses to the engine's process (model_adapters/serving.py's EnginePrompt)."""

    def message(self) -> dict[str, Any]: ...


ENGINE_PYTHON_VARIABLE = "FINEVIDBENCH_VLLM_PYTHON"
"""An interpreter with vLLM installed, for checkouts whose serving engine's environment lives elsewhere."""
LOCAL_ENGINE_PYTHON = Path(__file__).resolve().parent.parent / ".venv-vllm" / "bin" / "python"


def checkpoint_repetition_penalty(pretrained: str) -> float:
    """A checkpoint's repetition penalty (generation_config.json), which transformers' greedy `generate` applies."""
    from transformers import GenerationConfig

    try:
        config = GenerationConfig.from_pretrained(pretrained)
    except OSError:
        return 1.0
    return float(config.repetition_penalty or 1.0)


def _rate(counters: dict[str, float], hits: str, queries: str) -> float | None:
    """A cache's hit rate from vLLM's counters (None where it kept none, or nothing was looked up)."""
    asked = counters.get(queries) or 0
    return round(counters.get(hits, 0) / asked, 4) if asked else None


def engine_python() -> str:
    """The interpreter that runs vLLM: the variable's, this one where vLLM is installed, else `.venv-vllm`'s."""
    if os.environ.get(ENGINE_PYTHON_VARIABLE):
        return os.environ[ENGINE_PYTHON_VARIABLE]
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    if LOCAL_ENGINE_PYTHON.is_file():
        return str(LOCAL_ENGINE_PYTHON)
    raise AdapterError(
        "backend=vllm needs vLLM, which this environment does not have (fix: make vllm-venv, which builds "
        f".venv-vllm from its lock, or set {ENGINE_PYTHON_VARIABLE} to a Python that has vLLM)"
    )


class VLLMEngine:
    """A vLLM engine in its own process: started once, answers batches of prompts, stopped at exit."""

    def __init__(self, engine_args: dict[str, Any], python: str | None = None, lora: str | None = None) -> None:
        self.version = ""
        self.prompts = 0
        self.prompt_tokens = 0
        self.counters: dict[str, float] = {}
        """vLLM's cumulative cache counters (model_adapters/vllm_worker.py COUNTERS), as of the last batch."""
        self.last_prompt_ids: list[list[int]] = []
        """The prompt tokens vLLM's processor made of the last batch it was handed."""
        self.repetition_penalty = checkpoint_repetition_penalty(str(engine_args["model"]))
        """The checkpoint's own (generation_config.json), which transformers' greedy `generate` applies too."""
        started = time.perf_counter()
        self.python = python or engine_python()
        self._process, self._connection = _engine_process(self.python)
        self._closed = False
        atexit.register(self._stop_at_exit)
        with contextlib.suppress(OSError):  # if it died already, _receive says how
            self._connection.send({"engine": engine_args, "lora": lora})
        self.version = str(self._receive("starting vLLM" + (f" with adapter={lora}" if lora else ""))["vllm"])
        self.start_seconds = round(time.perf_counter() - started, 2)
        """From asking for the engine to its first answer possible: vLLM's import where its process is new, and
        the engine's start."""

    def _receive(self, doing: str) -> Any:
        try:
            reply = self._connection.recv()
        except (EOFError, OSError):
            code = self._process.wait()
            raise AdapterError(
                f"backend=vllm: the engine's process exited ({code}) while {doing}; its log is above (fix: make "
                f"vllm-venv, or check the interpreter in {ENGINE_PYTHON_VARIABLE})"
            ) from None
        if isinstance(reply, dict) and "error" in reply:
            print(reply["error"], file=sys.stderr)  # the engine's traceback, which the line below points to
            cause = reply["error"].strip().splitlines()[-1]
            raise AdapterError(
                f"backend=vllm: vLLM failed while {doing}: {cause} (vLLM's traceback is above; for an adapter vLLM "
                "cannot apply, e.g. LoRA on the vision tower or the output layer, fix: backend=transformers, which "
                "loads it unmerged)"
            )
        return reply

    def generate(self, prompts: list[Prompt]) -> list[list[int]]:
        """The tokens the engine generates for each of `prompts`, in order (vLLM schedules them as it likes)."""
        self._connection.send([prompt.message() for prompt in prompts])
        reply = self._receive(f"answering {len(prompts)} prompt(s)")
        answers, self.counters = reply["answers"], reply["counters"]
        self.prompts += len(answers)
        self.last_prompt_ids = [list(answer["prompt_token_ids"]) for answer in answers]
        self.prompt_tokens += sum(len(ids) for ids in self.last_prompt_ids)
        return [[int(token) for token in answer["token_ids"]] for answer in answers]

    def usage(self) -> dict[str, Any]:
        """What the engine answered in this process: prompts, prompt tokens, and its caches' hit rates."""
        return {
            "name": "vllm",
            "version": self.version,
            "start_seconds": self.start_seconds,
            "prompts": self.prompts,
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_per_prompt": round(self.prompt_tokens / self.prompts, 1) if self.prompts else None,
            "prefix_cache_hit_rate": _rate(self.counters, "vllm:prefix_cache_hits", "vllm:prefix_cache_queries"),
            "mm_cache_hit_rate": _rate(self.counters, "vllm:mm_cache_hits", "vllm:mm_cache_queries"),
        }

    def _stop_at_exit(self) -> None:
        """At exit, an engine still open stops with its process (no next engine to keep it for)."""
        if not self._closed:
            self._closed = True
            _stop(self._process, self._connection)

    def close(self) -> None:
        """Drop the engine; its process waits, vLLM imported, for this process's next engine."""
        if self._closed:
            return
        self._closed = True
        if self._process.poll() is None:
            with contextlib.suppress(OSError, EOFError):
                self._connection.send({"release": True})
                if self._connection.poll(RELEASE_SECONDS) and self._connection.recv() == {"released": True}:
                    IDLE_PROCESSES.setdefault(self.python, []).append((self._process, self._connection))
                    return
        _stop(self._process, self._connection)


RELEASE_SECONDS = 60
"""How long a dropped engine may take to free its memory before its process is stopped instead."""
IDLE_PROCESSES: dict[str, list[tuple[subprocess.Popen[bytes], Connection]]] = {}
"""Engine processes whose engine was dropped, by interpreter: the next engine starts in one of them without
importing vLLM again (7 s of a 2-core CPU's 11 s engine start; more on a GPU node). Stopped at exit."""


def _engine_process(python: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """An idle engine process of `python`, else a new one, with our end of its socket."""
    idle = IDLE_PROCESSES.get(python, [])
    while idle:
        process, connection = idle.pop()
        if process.poll() is None:
            return process, connection
        connection.close()
    ours, theirs = socket.socketpair()
    command = [python, str(Path(__file__).with_name("vllm_worker.py")), str(theirs.fileno())]
    # vLLM logs to standard output: the worker's goes to this process's standard error (descriptor 2), leaving
    # ours to the results; its warnings only, unless VLLM_LOGGING_LEVEL says otherwise
    env = {"VLLM_LOGGING_LEVEL": "WARNING", **os.environ}
    try:
        process = subprocess.Popen(command, env=env, stdout=2, pass_fds=(theirs.fileno(),))
    except OSError as exc:
        raise AdapterError(f"backend=vllm: cannot start {command[0]} ({exc.strerror})") from None
    finally:
        theirs.close()  # the worker holds its end: when it exits, our reads end instead of waiting
    return process, Connection(ours.detach())


def _stop(process: subprocess.Popen[bytes], connection: Connection) -> None:
    """Stop an engine process: asked first, killed if it does not exit."""
    if process.poll() is None:
        try:
            connection.send(None)
            process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
    connection.close()


@atexit.register
def _stop_idle_processes() -> None:
    """At exit, stop every idle engine process (an engine still open stops its own)."""
    for idle in IDLE_PROCESSES.values():
        while idle:
            _stop(*idle.pop())
