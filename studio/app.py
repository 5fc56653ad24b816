"""Start the studio: the QApplication, the theme, the main window, the first project.

`run_studio(path)` shows the window first and opens the project on the next
turn of the event loop, so a window is on screen before a big network is built.
With no path it opens the bundled LeNet-5 example (or a new network when the
examples are not installed). The editor never imports torch; training, which
does, runs in a worker process started later by the run controller.
"""

from __future__ import annotations

import atexit
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from studio.settings import APPLICATION, ORGANIZATION

DEFAULT_EXAMPLE = "lenet5"


_clipboard_guarded = False


WARM_WORKER_DELAY_MS = 1500  # after the window and the first project are up


def create_application(argv: list[str] | None = None) -> QApplication:
    """The process's QApplication, named so QSettings finds the studio's preferences."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Layerloom")
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    global _clipboard_guarded
    if not _clipboard_guarded:
        # Copied nodes leave a QMimeData on the clipboard. When the process ends without the event
        # loop quitting (scripts, tests), Python and Qt both free it during teardown and the process
        # dies with SIGSEGV; releasing it while Qt is still alive avoids that.
        atexit.register(_release_clipboard)
        _clipboard_guarded = True
    return app


def _release_clipboard() -> None:
    app = QApplication.instance()
    if app is not None:
        app.clipboard().clear()


def open_initial(window, path: str | None) -> None:
    """Offer to recover what a crashed session left; else open `path`, or the default example, or a blank network."""
    if window.files.offer_recovery():
        return
    if path:
        if window.open_path(path):
            return
    elif window.open_example(DEFAULT_EXAMPLE):
        return
    window.new_blank_document()


def run_studio(path: str | None = None) -> int:
    """Show the studio on `path` (or the default example) and run until it is closed."""
    app = create_application()
    from studio.main_window import MainWindow

    window = MainWindow()
    window.show()
    app.processEvents()
    QTimer.singleShot(0, lambda: open_initial(window, path))
    # a worker process imports torch while the person looks at the network, so Train starts at once
    QTimer.singleShot(WARM_WORKER_DELAY_MS, window.training.keep_worker_warm)
    return app.exec()
