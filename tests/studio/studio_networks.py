"""The editor tests' networks under the names these tests use; every one is built in `engine.examples`."""

from __future__ import annotations

from engine.examples import add_chain as chain
from engine.examples import flat_resnet_small, lenet5, loose_parts, missing_flatten_mlp

resnet_small = flat_resnet_small  # loose layers to edit (the bundled example is made of blocks)

mlp_with_missing_flatten = missing_flatten_mlp
small_net = loose_parts

__all__ = ["chain", "lenet5", "mlp_with_missing_flatten", "resnet_small", "small_net"]
