"""The one call that adds training to the studio's main window.

``install_training(window)`` builds a `TrainingUi` (docks, Run menu, toolbar actions, status
bar progress, banners, canvas health) on the window's public Qt API and returns it; the window
keeps it alive as a child QObject. What training knows of the editor comes from the window's
``session`` (`studio.editor.session.EditorSession`): project opened, selection, document and
edit-mode changes; training never reads the window's menus, undo group or editing widgets.
MainWindow calls it at the end of ``__init__``::

    self.training = install_training(self)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.training.training_ui import TrainingUi

if TYPE_CHECKING:  # the window is above training: named for annotations only, never imported
    from studio.main_window import MainWindow


def install_training(window: MainWindow) -> TrainingUi:
    """Add training to `window` (a studio MainWindow); returns the training UI."""
    return TrainingUi(window)
