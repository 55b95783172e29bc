"""FineVidBench models as lmms-eval models: reference baselines now, Video-LLM adapters next.

Registered with lmms-eval through the `lmms_eval.models` entry point (see `manifests.py`), so
`python -m lmms_eval --model random ...` finds them once the package is installed.
"""
