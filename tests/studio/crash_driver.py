"""A studio process for the crash test: opens a project, edits it as a person does, reports what is on screen
once it has been autosaved, then waits to be killed.

Usage: ``python crash_driver.py PROJECT.loom SCREEN_DUMP.json`` (offscreen). After each autosave it writes
the on-screen project's JSON (the engine's own serialisation) to SCREEN_DUMP.json and prints ``autosaved``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from engine.project import project_json_bytes
from studio.app import create_application, open_initial


def main() -> int:
    project_path, dump_path = sys.argv[1], Path(sys.argv[2])
    app = create_application()
    from studio.main_window import MainWindow

    window = MainWindow()
    window.resize(1366, 768)
    window.show()

    def dump(_path) -> None:
        dump_path.write_bytes(project_json_bytes(window.controller.project))
        print("autosaved", flush=True)

    def edit() -> None:
        open_initial(window, project_path)
        window.files.autosaver.written.connect(dump)
        doc = window.controller.doc
        relu = doc.node_by_name("relu1")
        window.scene.select_nodes([relu.id])
        window.view.setFocus()
        QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # duplicate relu1
        window.controller.set_param(doc.node_by_name("fc1").id, "out_features", 48)  # as the inspector does
        window.controller.rename(doc.node_by_name("fc2").id, "classifier")

    QTimer.singleShot(0, edit)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
