"""The network document: nodes, edges, events, validation and shape inference."""

from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.errors import DocumentError

__all__ = ["DocumentError", "Edge", "GraphDocument", "Node"]
