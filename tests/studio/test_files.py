"""Files: the New gallery, Open Recent, the title, and the unsaved-changes question on every path that
replaces the open document (New, Open, Open Recent, Open Example, a dropped file, and the one route
any import will take)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from studio_dialogs import answer_dialog, answer_unsaved, click
from studio_networks import small_net

from engine.graph.analysis import NetworkAnalyzer
from engine.project import load_project, project_json_bytes, save_project
from engine.resources import example_names
from engine.templates import TEMPLATES
from studio.files.gallery import gallery_entries
from studio.files.gallery_dialog import GalleryDialog
from studio.files.recent import MAX_RECENT
from studio.main_window import MainWindow
from studio.number_format import format_count


@pytest.fixture
def asking(app, qtbot):
    """A shown main window that asks about unsaved changes (the shared `window` does not); pytest-qt
    closes it without asking once the test is over."""
    w = MainWindow(prompt_unsaved=True)
    qtbot.addWidget(w, before_close_func=lambda w: setattr(w, "prompt_unsaved", False))
    w.resize(1440, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def saved_project(folder: Path, name: str, layers: int = 1) -> Path:
    project = small_net()
    project.name = name
    for i in range(layers - 1):
        project.network.add_node("ReLU", name=f"extra{i}", position=(0.0, 300.0 + 80 * i))
    return save_project(project, folder / f"{name}.loom")


def edit(window) -> None:
    """An unsaved change: add a layer, as the palette does."""
    window.controller.add_node("ReLU", (0.0, 500.0))
    assert window.isWindowModified()


def pixels(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).copy()


def test_gallery_offers_blank_templates_and_examples_with_pictures_descriptions_and_sizes(app, qtbot):
    entries = gallery_entries()
    keys = [e.key for e in entries]
    assert keys[0] == "blank"
    assert [k for k in keys if k.startswith("template:")] == [f"template:{t.key}" for t in TEMPLATES]
    assert [k.split(":", 1)[1] for k in keys if k.startswith("example:")] == example_names()
    dialog = GalleryDialog(None, "dark")
    qtbot.addWidget(dialog)
    dialog.show()
    for row, entry in enumerate(dialog.entries):
        preview = dialog.previews[entry.key]
        picture = pixels(preview.image)
        drawn = np.abs(picture[..., :3].astype(int) - picture[0, 0, :3]).sum(-1) > 30
        assert drawn.mean() > 0.03  # the network is drawn, not an empty card
        analysis = NetworkAnalyzer(entry.make().network).analyze()
        assert preview.params == analysis.total_params
        assert preview.nodes == len(entry.make().network.nodes)
        dialog.cards.setCurrentRow(row)
        details = dialog.details.text()
        assert entry.title in details and entry.description in details
        if entry.key != "blank":
            assert f"{format_count(analysis.total_params)} parameters" in dialog.cards.item(row).text()
    dialog.select("blank")
    assert "no layers yet" in dialog.cards.currentItem().text()
    # each make() is a fresh project: editing one never changes the next
    first = entries[1].make()
    first.network.add_node("ReLU")
    assert len(entries[1].make().network.nodes) == len(first.network.nodes) - 1


def test_new_opens_the_gallery_and_asks_before_replacing_unsaved_work(asking, qtbot):
    window = asking
    window.open_project(small_net())
    edit(window)
    before = project_json_bytes(window.controller.project)

    def choose(dialog):
        dialog.select("template:point_classifier")
        click(qtbot, dialog.create_button)

    # Cancel at the question: the edited document stays, still unsaved
    shown = answer_dialog(qtbot, "galleryDialog", choose)
    asked = answer_unsaved(qtbot, "cancel")
    window.actions.new.trigger()
    assert shown == ["galleryDialog"] and asked == ["unsavedChangesPrompt"]
    assert project_json_bytes(window.controller.project) == before and window.isWindowModified()
    # Don't Save: the template opens, clean, laid out and valid
    shown = answer_dialog(qtbot, "galleryDialog", choose)
    asked = answer_unsaved(qtbot, "discard")
    window.actions.new.trigger()
    assert shown and asked
    assert window.controller.project.name == "Point classifier"
    assert window.controller.path is None and not window.isWindowModified()
    assert window.controller.flush_analysis().ok
    # Cancel in the gallery: nothing is asked and nothing changes
    edit(window)
    shown = answer_dialog(qtbot, "galleryDialog", lambda d: d.reject())
    window.actions.new.trigger()
    assert shown and window.isWindowModified() and window.controller.project.name == "Point classifier"


def test_blank_network_from_the_gallery(window, qtbot):
    window.open_project(small_net())
    answer_dialog(qtbot, "galleryDialog", lambda d: (d.select("blank"), click(qtbot, d.create_button)))
    assert window.new_document()
    assert sorted(n.type_id for n in window.controller.doc.nodes.values()) == ["Input", "Output"]


def _open_via_dialog(window, qtbot, path: Path) -> None:
    def pick(dialog) -> None:
        dialog.selectFile(str(path))
        dialog.accept()

    answer_dialog(qtbot, "openProjectDialog", pick)
    window.actions.open.trigger()


def _drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    target = window.view.viewport()
    where = QPointF(target.rect().center())
    enter = QDragEnterEvent(QPoint(int(where.x()), int(where.y())), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)


def _open_recent(window, path: Path) -> None:
    menu = window.files.recent_menu
    menu.rebuild()
    (action,) = [a for a in menu.path_actions() if a.data() == str(path.resolve())]
    action.trigger()


def _open_example(window, _path: Path) -> None:
    (action,) = [a for m in window.menuBar().actions() if m.menu() for a in m.menu().actions()
                 if a.menu() is not None and a.text().replace("&", "") == "Open Example"]
    (entry,) = [a for a in action.menu().actions() if a.text() == "lenet5"]
    entry.trigger()


def _import(window, path: Path) -> None:
    window.replace_document(load_project(path), None)  # the route an importer must take


PATHS = {"open": None, "open_recent": _open_recent, "open_example": _open_example, "drop": _drop,
         "import": _import}


@pytest.mark.parametrize("route", list(PATHS))
def test_every_path_that_replaces_the_document_asks_first(asking, qtbot, tmp_path, route):
    window = asking
    other = saved_project(tmp_path, "other", layers=3)
    window.files.recent.add(other)
    mine = saved_project(tmp_path, "mine")
    assert window.open_path(mine)
    edit(window)
    before = project_json_bytes(window.controller.project)
    act = (lambda: _open_via_dialog(window, qtbot, other)) if route == "open" else (lambda: PATHS[route](window, other))

    asked = answer_unsaved(qtbot, "cancel")
    act()
    qtbot.waitUntil(lambda: asked == ["unsavedChangesPrompt"], timeout=5000)
    assert project_json_bytes(window.controller.project) == before and window.controller.path == mine
    assert window.isWindowModified()

    asked = answer_unsaved(qtbot, "save")
    act()
    qtbot.waitUntil(lambda: asked == ["unsavedChangesPrompt"], timeout=5000)
    assert load_project(mine).network.node_by_name("relu2") is not None  # the edit was saved first
    expected = "LeNet-5 on shapes" if route == "open_example" else "other"
    assert window.controller.project.name == expected and not window.isWindowModified()

    edit(window)
    asked = answer_unsaved(qtbot, "discard")
    assert window.open_path(mine)
    assert asked and window.controller.path == mine


def test_open_recent_keeps_the_last_ten_newest_first_and_prunes_missing_files(window, qtbot, tmp_path,
                                                                                  isolated_settings):
    assert Path(window.settings.fileName()).is_relative_to(isolated_settings)
    paths = [saved_project(tmp_path, f"p{i}") for i in range(MAX_RECENT + 2)]
    for path in paths:
        assert window.open_path(path)
    menu = window.files.recent_menu
    menu.rebuild()
    listed = [Path(a.data()) for a in menu.path_actions()]
    assert listed == [p.resolve() for p in reversed(paths)][:MAX_RECENT]
    assert menu.path_actions()[0].text().startswith("&1 p11.loom")
    paths[-2].unlink()
    menu.rebuild()
    listed = [Path(a.data()) for a in menu.path_actions()]
    assert paths[-2].resolve() not in listed and len(listed) == MAX_RECENT - 1
    assert window.settings.value("recentFiles")[0] == str(paths[-1].resolve())
    menu.path_actions()[3].trigger()
    assert window.controller.path == Path(listed[3])
    # a save puts the file first too
    window.save_to(tmp_path / "saved_as.loom")
    menu.rebuild()
    assert menu.path_actions()[0].data() == str((tmp_path / "saved_as.loom").resolve())
    (clear,) = [a for a in menu.actions() if a.objectName() == "action_clear_recent"]
    clear.trigger()
    assert menu.path_actions() == []


def test_the_title_shows_the_file_name_and_an_unsaved_marker(window, tmp_path):
    path = saved_project(tmp_path, "titled")
    assert window.open_path(path)
    assert window.windowHandle().title() == "titled.loom — Layerloom"
    edit(window)
    assert window.windowHandle().title() == "titled.loom* — Layerloom"
    window.save()
    assert window.windowHandle().title() == "titled.loom — Layerloom"
    assert window.new_blank_document()
    assert window.windowHandle().title() == "untitled (not saved yet) — Layerloom"


def test_no_path_replaces_the_project_while_a_run_trains_it(window, qtbot, tmp_path):
    from test_training_support import ScriptedRun, started

    mine, other = saved_project(tmp_path, "mine"), saved_project(tmp_path, "other")
    assert window.open_path(mine)
    window.files.recent.add(other)
    window.training.runs.attach(ScriptedRun([[started()]] + [[]] * 1000), "scripted")
    assert window.training.runs.active
    assert not window.files.recent_menu.menuAction().isEnabled()  # greyed like New and Open
    assert not window.open_path(other)
    _open_recent(window, other)
    _drop(window, other)
    assert window.controller.path == mine
    assert "Stop the run" in window.statusBar().currentMessage()
    window.training.runs.stop()
    window.training.shutdown()
    qtbot.waitUntil(lambda: window.files.recent_menu.menuAction().isEnabled(), timeout=10_000)
