"""The one call that adds training to the studio's main window.

``install_training(window)`` builds a `TrainingUi` (docks, Run menu, toolbar actions, status
bar progress, banners, canvas health) on the window's public API and returns it; the window
keeps it alive as a child QObject. MainWindow calls it at the end of ``__init__``::

    self.training = install_training(self)
"""

from __future__ import annotations

from typing import Any

from studio.training.training_ui import TrainingUi


def install_training(window: Any) -> TrainingUi:
    """Add training to `window` (a studio MainWindow); returns the training UI."""
    return TrainingUi(window)
