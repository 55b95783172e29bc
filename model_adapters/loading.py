"""Loading a Hugging Face checkpoint and a PEFT adapter, with one clear error for each way it fails."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peft import PeftModel


class AdapterError(ValueError):
    """A model or adapter cannot be loaded as asked; the message names the path and the fix."""


@dataclass(frozen=True)
class Checkpoint:
    """The weights a model loads and how (`from_pretrained`'s arguments, as MODEL_ARGS name them)."""

    pretrained: str
    """A local folder or a hub id (ORG/NAME)."""
    revision: str | None = None
    dtype: str = "auto"
    """"auto": float32 on CPU, bfloat16 on a GPU."""
    attn_implementation: str | None = None
    device_map: str | None = None
    trust_remote_code: bool = False

    def hub_options(self) -> dict[str, Any]:
        """What every `from_pretrained` of these files takes: the revision and whether their code is trusted."""
        return {"revision": self.revision, "trust_remote_code": bool(self.trust_remote_code)}


def load_pretrained(checkpoint: Checkpoint, model_class: str, device: Any) -> tuple[Any, Any]:
    """(processor, model) of a checkpoint, `model_class` naming the transformers class."""
    import torch
    import transformers

    processor = load_processor(checkpoint)
    dtype = checkpoint.dtype
    load = {
        "dtype": {"auto": torch.float32 if device.type == "cpu" else torch.bfloat16}.get(dtype, dtype),
        "attn_implementation": checkpoint.attn_implementation,
        "device_map": checkpoint.device_map,
    }
    try:
        loader = getattr(transformers, model_class)
        options = checkpoint.hub_options() | {k: v for k, v in load.items() if v}
        model = loader.from_pretrained(checkpoint.pretrained, **options)
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"pretrained={checkpoint.pretrained}: cannot load it ({exc})".splitlines()[0]) from None
    if checkpoint.device_map is None:
        model = model.to(device)
    return processor, model


def load_processor(checkpoint: Checkpoint) -> Any:
    """The processor of a checkpoint, padding on the left (batched generation continues on the right)."""
    import transformers

    pretrained = checkpoint.pretrained
    looks_like_hub_id = pretrained.count("/") == 1 and not pretrained.startswith((".", "/", "~"))
    if not Path(pretrained).expanduser().exists() and not looks_like_hub_id:
        raise AdapterError(
            f"pretrained={pretrained}: no such folder, and not a hub id (fix: pass a local model folder or ORG/NAME)"
        )
    try:
        processor = transformers.AutoProcessor.from_pretrained(pretrained, **checkpoint.hub_options())
    except RecursionError:
        raise AdapterError(
            f"pretrained={pretrained}: transformers cannot build its processor from these files (it "
            "recursed: a folder with an image preprocessor_config.json and no video_preprocessor_config.json, "
            "as LLaVA-NeXT-Video-7B-hf ships) (fix: add the video processor's config, e.g. save "
            "LlavaNextVideoVideoProcessor's into the folder, or use a revision that has one)"
        ) from None
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"pretrained={pretrained}: cannot load its processor ({exc})".splitlines()[0]) from None
    processor.tokenizer.padding_side = "left"
    return processor


def local_weights_hash(path: str) -> str | None:
    """A hash of a local model's config and weight files (a stand-in for a hub revision)."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(folder.glob("*.json")) + sorted(folder.glob("*.safetensors")):
        digest.update(file.name.encode())
        digest.update(file.read_bytes() if file.stat().st_size < 64 * 2**20 else str(file.stat().st_size).encode())
    return "sha256:" + digest.hexdigest()[:16]


def attach_adapter(model: Any, adapter: str, pretrained: str) -> tuple[PeftModel, dict[str, Any]]:
    """Load a PEFT LoRA folder onto `model`, unmerged; returns the wrapped model and its record."""
    from peft import PeftModel

    record = adapter_record(adapter)
    try:
        wrapped = PeftModel.from_pretrained(model, adapter, is_trainable=False)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise AdapterError(f"adapter={adapter} does not fit pretrained={pretrained}: {exc}".splitlines()[0]) from None
    return wrapped, record


def adapter_record(adapter: str) -> dict[str, Any]:
    """What results.json records of a PEFT adapter folder: its path, hash, type, rank, targets and training."""
    folder = Path(adapter)
    config_file = folder / "adapter_config.json"
    if not config_file.is_file():
        raise AdapterError(f"adapter={adapter}: no adapter_config.json there (fix: pass a PEFT adapter folder)")
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        if file.is_file():
            digest.update(file.name.encode() + file.read_bytes())
    config = json.loads(config_file.read_text())
    record = {
        "path": str(folder),
        "sha256": digest.hexdigest(),
        "peft_type": config.get("peft_type"),
        "r": config.get("r"),
        "target_modules": config.get("target_modules"),
    }
    return {**record, **_training_provenance(folder)}


def _training_provenance(folder: Path) -> dict[str, Any]:
    """What the adapter's own run record says about its training (SF2T / self-alignment), if it has one."""
    from finevidbench.files import FileFormatError
    from finevidbench.training.record import RECORD_NAME, RunRecord

    if not (folder / RECORD_NAME).is_file():
        return {}
    try:
        run = RunRecord.read(folder)
    except FileFormatError as exc:
        raise AdapterError(f"adapter={folder}: its run record is unreadable ({exc})") from None
    return {
        "training": {
            "kind": run.kind,
            "contaminated": run.contaminated,
            "data_hash": run.data.get("dataset_hash"),
            "base_model": run.base_model,
        }
    }
