"""The layer catalog: one declaration per layer type (`spec.py`), checked parameters, the registry."""
