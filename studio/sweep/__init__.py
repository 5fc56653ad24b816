"""Sweeps in the studio: the Sweep panel, its search-space form, running a sweep and applying its best trial.

`integration.install_sweep(window)` adds it all to the main window. The engine (`engine.sweep`) owns
what a sweep is: the search space, the study kept in the project, the trials in worker processes;
this package shows it, edits it as undo steps and drives it without ever blocking the GUI thread.
"""
