"""Training from the studio: run controls, the dock panels (`panels/`), the edit lock and canvas health.

It sits above the editor and follows it only through `studio.editor.session.EditorSession`
(wrapped as `workspace.Workspace`)."""
