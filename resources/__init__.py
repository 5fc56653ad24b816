"""Layerloom's bundled examples (``examples/*.loom``), icons (``icons/*.svg``) and styles (``styles/*.qss``).

Installed, this folder is the package `layerloom_resources`; `engine.resources` finds it either way.
"""
