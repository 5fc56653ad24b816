"""The small training networks, kept importable here for older imports: they are built in `engine.examples`.

Every example network (bundled projects, test and benchmark networks) is built in one place,
`engine.examples`; import from there.
"""

from __future__ import annotations

from engine.examples import Layer, chain_document, cnn_document, image_mlp_document, mlp_document

__all__ = ["Layer", "chain_document", "cnn_document", "image_mlp_document", "mlp_document"]
