"""The node-graph canvas: scene, view, items and the gestures that turn into undo commands."""
