"""The node-graph editor: canvas, palette, inspector, problems, undo commands, the document controller,
clipboard, parameter editors and automatic layout. It never imports `studio.training`."""
