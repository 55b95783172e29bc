"""One module per Video-LLM family; each declares its adapter class with `@family` (model_adapters/registry.py).

Every module here is imported by `registry.discover()`: a new family is a new module, nothing else.
"""
