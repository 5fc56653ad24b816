"""The network document: nodes, edges, events, validation and shape inference.

`document` (nodes, wires, checked mutators, events), `blocks` (block definitions in a
library, used by reference from instances), `hierarchy` (group, ungroup, make unique,
repeat, edit inside: each a reversible `Step`), `restore` (applying saved data in place),
`serialize` (the versioned JSON form), `analysis` and `block_inference` (validation and
shape inference, per block instance with its real inputs), `bulk` (bulk work without the
cyclic collector).
"""

from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.errors import DocumentError

__all__ = ["DocumentError", "Edge", "GraphDocument", "Node"]
