"""FineVidBench's models as lmms-eval models: the reference baselines and the Video-LLM families.

Registered with lmms-eval through the `lmms_eval.models` entry point (`manifests.py`), so
`python -m lmms_eval --model fvb_qwen2_5_vl ...` finds them once the package is installed. A family
is one module in `families/` (`registry.py` says how); `hf.py` is what they share, `training.py` the
fine-tuning hook, `recipes/` the training recipes, `testing/` the stand-ins tests use.
"""
