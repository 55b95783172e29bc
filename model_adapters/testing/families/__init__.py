"""One module per family's tiny model and hub layouts; each calls `register_tiny` (model_adapters/testing/specs.py).

Every module here is imported by `specs.discover()`, and the tiny spec is found by the family's registered
name: a family's fixtures are a new module here, nothing else (its adapter is a module of model_adapters/families/).
"""
