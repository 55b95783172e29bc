"""Stand-ins for real models, for tests, demonstrations and benchmarks (never for scores anyone reports).

tiny.py builds a family's tiny random model offline; zero_cost.py is a model that decodes exactly as the
adapters do and answers at no cost, to measure the harness's own overhead (`make bench`).
"""
