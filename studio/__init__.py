"""The Qt studio, in layers (import-linter keeps them, and forbids package cycles):

- `launch`, `app`, `main_window`, `window_actions`: the shell that composes the window;
- `training/`: run controls, the run's dock panels (`training/panels/`), the edit lock and canvas
  health; it learns about the editor only through `editor.session.EditorSession`;
- `editor/`: the node-graph editor (canvas, palette, inspector, problems, undo commands, the document
  controller with its read-only mode, clipboard, parameter editors, automatic layout);
- `theme`, `icons`, `number_format`, `settings`: look and feel shared by all of them.
"""
