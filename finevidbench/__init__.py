"""FineVidBench: fine-grained video understanding benchmark for Video-LLMs.

The core package: protocol, video decoding and sampling, corpus builder, dataset loading,
scoring and statistics, results files, training. It never imports lmms-eval; `tasks/` and
`model_adapters/` are the only lmms-eval-facing code.
"""

__version__ = "0.1.0"
