"""Stand-ins for real models, for tests, demonstrations and benchmarks (never for scores anyone reports).

specs.py and families/ declare each family's tiny random model and its checkpoints' processor files,
by family name; tiny.py builds the tiny model offline, hub.py lays a checkpoint's files over it;
zero_cost.py is a model that decodes exactly as the adapters do and answers at no cost, to measure the
harness's own overhead (`make bench`). The product (model_adapters outside this package) never imports it.
"""
