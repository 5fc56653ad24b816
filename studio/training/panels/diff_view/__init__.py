"""The pieces of the Run Diff panel: read-only diff canvases, the settings table and the overlaid curves."""
