"""The thread pool the training UI runs its background work on: dataset previews, exports, run files.

Qt's global pool, named once so that every background job of the training UI shares it (and tests
can wait for it). Nothing on it touches a widget: results come back to the GUI thread by signals.
"""

from __future__ import annotations

from PySide6.QtCore import QThreadPool


def training_pool() -> QThreadPool:
    """The pool for the training UI's background work."""
    return QThreadPool.globalInstance()
