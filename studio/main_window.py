"""The studio's main window: canvas in the middle, palette, inspector, problems and history docks.

`MainWindow` holds one open project at a time. Opening one makes a
`DocumentController` (document, undo stack, live analysis) and a `GraphScene`
for it, hands them to the view, the inspector and the problems panel, and puts
the undo stack into the window's `QUndoGroup` so the Undo/Redo actions and the
History view follow it. Everything outside the editor (the training UI) learns
about the open project through `self.session` (`studio.editor.session.EditorSession`):
project opened, selection changed, document changed, editable changed. When the
open project turns read-only (its controller refuses every edit, e.g. while a run
trains it), the window follows that one `editable_changed` signal: the palette,
inspector, problems and history are disabled, so are the edit actions and those
that would replace the project, and Undo/Redo leave the stack alone. Every user action that replaces
the open project (New's gallery, Open, Open Recent, examples, dropped files, recovery, imports to
come) goes through `replace_document`, which asks about unsaved changes; `self.files`
(`studio.files.file_ui.FileUi`) adds Open Recent, drops, autosave and recovery, and
`studio.window_layout` the first layout, which leaves the canvas most of the window.

Window geometry, the dock layout and the theme are kept
in QSettings (`studio.settings`); the canvas zoom and centre are kept in the
project's ``ui`` section. A network whose stored layout is a muddle (all nodes
at the origin, nodes on top of each other, wires through nodes) is arranged left
to right as it opens, before the undo history starts. Editing never imports torch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QCursor, QGuiApplication, QUndoGroup
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QLabel, QMainWindow, QMessageBox, QUndoView, QWidget

from engine.graph.errors import ProjectFileError
from engine.project import Project, load_project, save_project
from engine.resources import example_path
from studio.editor import clipboard
from studio.editor.auto_layout import layout_is_broken
from studio.editor.canvas.scene import GraphScene
from studio.editor.canvas.view import GraphView
from studio.editor.document_controller import DocumentController
from studio.editor.inspector import Inspector
from studio.editor.palette import PaletteWidget, bundled_block_entries
from studio.editor.problems import ProblemsPanel
from studio.editor.session import EditorSession
from studio.files.file_ui import FileUi
from studio.files.unsaved_prompt import ask_unsaved
from studio.number_format import format_count, validity_text
from studio.settings import make_settings
from studio.sweep.integration import install_sweep
from studio.theme import DEFAULT_THEME, apply_theme, theme
from studio.training.integration import install_training
from studio.window_actions import WindowActions, build_menus, build_toolbar

APP_TITLE = "Layerloom"
OPEN_MIN_ZOOM = 0.7  # opening a long network shows its start readably rather than all of it tiny


class MainWindow(QMainWindow):
    """The node-graph editor window."""

    def __init__(self, *, prompt_unsaved: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt_unsaved = prompt_unsaved
        self.settings = make_settings()
        self.controller: DocumentController | None = None
        self.scene: GraphScene | None = None
        self.undo_group = QUndoGroup(self)
        self.session = EditorSession(self)
        self.theme_name = str(self.settings.value("theme", DEFAULT_THEME))
        self._view_pending = False
        self._shown_path: list[str] = []
        self._level_views: dict[tuple[str, ...], tuple[float, QPointF]] = {}
        self.setObjectName("mainWindow")
        self.view = GraphView(self)
        self.setCentralWidget(self.view)
        self._make_docks()
        self._make_status_bar()
        self.actions = WindowActions(self)
        build_menus(self, self.actions)
        self.toolbar = build_toolbar(self, self.actions)
        self.palette.layer_activated.connect(self._add_at_centre)
        self.palette.block_activated.connect(self._add_block_at_centre)
        self.view.breadcrumb.level_chosen.connect(self._go_to_level)
        self.problems.node_activated.connect(self.reveal_node)
        self.problems.count_changed.connect(self._update_problem_title)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{round(z * 100)}%"))
        self.view.minimap.close_requested.connect(lambda: self.actions.minimap.setChecked(False))
        self.actions.minimap.setChecked(self.settings.value("minimap", True, type=bool))
        self.session.editable_changed.connect(self._editable_changed)
        self.session.reveal_requested.connect(self.reveal_node)
        self.training = install_training(self)  # docks, Run menu and toolbar; torch loads only when needed
        self.sweep = install_sweep(self)  # the Sweep dock and Run ▸ Sweep entries
        self.files = FileUi(self)  # Open Recent, dropped files, autosave and recovery
        self.import_dialog: QDialog | None = None  # File ▸ Import Model… while it is open
        self.training.saver.saved.connect(lambda _run_id: self.files.run_stored())
        self.set_theme(self.theme_name, remember=False)
        self._restore_layout()  # after every dock exists, so saved layouts place the training docks too

    # ---- construction --------------------------------------------------------------
    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def _make_docks(self) -> None:
        from engine.layers.registry import default_registry

        self.docks: dict[str, QDockWidget] = {}
        self.palette = PaletteWidget(default_registry())
        self.inspector = Inspector()
        self.problems = ProblemsPanel()
        self.history = QUndoView(self.undo_group)
        self.history.setEmptyLabel("<opened>")
        self._dock("palette", "Layers", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("inspector", "Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)
        # Problems and History sit under the palette, so the row under the canvas is left to training
        # (studio.window_layout): the canvas keeps most of a small screen.
        self._dock("problems", "Problems", self.problems, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("history", "History", self.history, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.docks["problems"], self.docks["history"])
        self.docks["problems"].raise_()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.zoom_label = QLabel("100%")
        self.zoom_label.setObjectName("muted")
        self.params_label = QLabel("")
        self.validity_label = QLabel("")
        self.validity_label.setObjectName("validity")
        for label in (self.zoom_label, self.params_label, self.validity_label):
            bar.addPermanentWidget(label)

    # ---- documents ----------------------------------------------------------------------
    def replace_document(self, project: Project, path: Path | None = None, *, recovered: bool = False) -> bool:
        """The one way a user action replaces the open document (New, Open, Open Recent, Open Example, a
        dropped file, recovery, and any import to come): refused while a run trains, and only after the
        unsaved changes are saved or knowingly discarded. False when the document stays."""
        if self.training.runs.active:
            self.show_error("A run is training", "Stop the run before opening another project.")
            return False
        if self.sweep.active:
            self.show_error("A sweep is running", "Stop the sweep before opening another project.")
            return False
        if not self.maybe_save():
            return False
        self.open_project(project, path, recovered=recovered)
        return True

    def open_project(self, project: Project, path: Path | None = None, *, recovered: bool = False) -> None:
        """Show `project` (replacing the open one without asking: user actions go through
        `replace_document`). A `recovered` project starts marked unsaved."""
        old_controller, old_scene = self.controller, self.scene
        self.controller = DocumentController(project, path, self)
        self.scene = self._make_scene()
        self.controller.status_message.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.controller.analysis_changed.connect(self._show_totals)
        self.controller.level_changed.connect(self._level_changed)
        self.controller.undo_stack.indexChanged.connect(self._refresh_blocks)
        self._level_views, self._shown_path = {}, []
        self._level_views: dict[tuple[str, ...], tuple[float, QPointF]] = {}
        if layout_is_broken(project.network, self.scene.node_sizes()):
            self.controller.auto_arrange(self.scene.node_sizes(), undoable=False)
        self.view.set_graph_scene(self.scene)
        self.inspector.set_controller(self.controller)
        self.problems.set_controller(self.controller)
        if old_controller is not None:
            self.undo_group.removeStack(old_controller.undo_stack)
            old_controller.close()
            old_controller.deleteLater()
        if old_scene is not None:
            old_scene.detach()
            old_scene.deleteLater()
        if recovered:
            self.controller.undo_stack.resetClean()
        self.undo_group.addStack(self.controller.undo_stack)
        self.undo_group.setActiveStack(self.controller.undo_stack)
        self.controller.undo_stack.cleanChanged.connect(self._update_title)
        self._show_totals(self.controller.analysis)
        self._update_title()
        if self.isVisible():
            self.layout().activate()  # docks settle first, so the view fits its final size
        self._restore_view()
        self.session.open(self.controller, self.scene)
        self.view.breadcrumb.set_path([])
        self._refresh_blocks()

    def _make_scene(self) -> GraphScene:
        """A scene for the document the controller shows (the network, or an open block's body)."""
        scene = GraphScene(self.controller, theme(self.theme_name).canvas)
        scene.setParent(self.view)  # dies with the view, never after it (see GraphView.setScene)
        scene.snap_enabled = self.actions.snap.isChecked()
        scene.selectionChanged.connect(self._scene_selection)
        scene.block_open_requested.connect(self.open_block)
        return scene

    def _scene_selection(self) -> None:
        if self.scene is not None and self.sender() is self.scene:  # (a block's body too, unlike the session)
            self._show_selection(self.scene.selected_node_ids())

    # ---- blocks ---------------------------------------------------------------------------
    def _level_changed(self) -> None:
        """A block was opened or left: show that document on the canvas, with the breadcrumb."""
        old = self.scene
        if old is not None:
            path = tuple(self._shown_path)
            self._level_views[path] = (self.view.zoom(), self.view.center())
            old.detach()
            old.blockSignals(True)
        self.scene = self._make_scene()
        if self.controller.editable and layout_is_broken(self.controller.doc, self.scene.node_sizes()):
            # a block written in code (a bundled one) is laid out with real node sizes the first time
            self.controller.auto_arrange(self.scene.node_sizes(), undoable=False)
        self.view.set_graph_scene(self.scene)
        self.inspector.show_nodes([])
        self.session.show_scene(self.scene)
        self._shown_path = list(self.controller.block_path)
        self.view.breadcrumb.set_path(self.controller.level_names())
        saved = self._level_views.get(tuple(self._shown_path))
        if saved is not None:
            self.view.set_zoom(saved[0])
            self.view.center_on_point(saved[1])
        else:
            self.view.fit_to_view(min_zoom=OPEN_MIN_ZOOM)
        if old is not None:
            old.deleteLater()
        self.view.setFocus()

    def open_block(self, instance_id: str) -> None:
        """Open a block instance of the shown document in place (double-click, Ctrl+Down)."""
        if self.controller is not None:
            self.controller.open_block(instance_id)

    def open_selected_block(self) -> None:
        blocks = [n for n in self.selected() if self.controller.doc.is_block(n)]
        if len(blocks) != 1:
            self.statusBar().showMessage("Select one block to open", 4000)
            return
        self.open_block(blocks[0])

    def block_up(self) -> None:
        if self.controller is not None:
            self.controller.go_up()

    def _go_to_level(self, depth: int) -> None:
        if self.controller is not None:
            self.controller.go_up(depth)

    def group_selection(self) -> None:
        ids = self.selected()
        if not ids:
            self.statusBar().showMessage("Select the nodes to group into a block", 4000)
            return
        instance = self.controller.group_into_block(ids)
        if instance is not None:
            self.scene.select_nodes([instance])

    def _selected_block(self, verb: str) -> str | None:
        blocks = [n for n in self.selected() if self.controller.doc.is_block(n)]
        if len(blocks) != 1:
            self.statusBar().showMessage(f"Select one block to {verb}", 4000)
            return None
        return blocks[0]

    def ungroup_selection(self) -> None:
        instance = self._selected_block("ungroup") if self.controller else None
        if instance is not None:
            self.scene.select_nodes(self.controller.ungroup(instance))

    def make_unique_selection(self) -> None:
        instance = self._selected_block("make unique") if self.controller else None
        if instance is not None and self.controller.make_unique(instance) is not None:
            self.scene.select_nodes([instance])

    def save_block_dialog(self, path: str | Path | None = None) -> Path | None:
        """Write the selected block (and the blocks it uses) to a .loomblock file."""
        from PySide6.QtWidgets import QFileDialog

        from engine.graph.block_file import SUFFIX, save_block_file

        instance = self._selected_block("save") if self.controller else None
        if instance is None:
            return None
        name = self.controller.doc.nodes[instance].type_id
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save block", f"{name}{SUFFIX}",
                                                  f"Layerloom blocks (*{SUFFIX})")
            if not path:
                return None
        try:
            written = save_block_file(self.controller.doc.library, name, path)
        except OSError as exc:
            self.show_error("Cannot save the block", str(exc))
            return None
        self.statusBar().showMessage(f"Saved block {name} to {written.name}", 5000)
        return written

    def load_block_dialog(self, path: str | Path | None = None) -> str | None:
        """Add the blocks of a .loomblock file to the project (they appear in the palette's Blocks)."""
        from PySide6.QtWidgets import QFileDialog

        from engine.graph.block_file import SUFFIX, read_block_file

        if self.controller is None:
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load block", "", f"Layerloom blocks (*{SUFFIX})")
            if not path:
                return None
        try:
            records = read_block_file(path)
        except ProjectFileError as exc:
            self.show_error("Cannot load the block", str(exc))
            return None
        return self.controller.add_blocks(records)

    def _refresh_blocks(self, *_: object) -> None:
        """List the project's blocks and the bundled ones in the palette's Blocks section."""
        if self.controller is None:
            return
        library = self.controller.network.library
        project = [(d.name, d.display_title, d.help) for d in library]
        self.palette.set_blocks(project, bundled_block_entries())

    def _add_block_at_centre(self, source: str, name: str) -> None:
        self.view.add_block_at(source, name, self.view.center())

    def _restore_view(self) -> None:
        canvas = self.controller.project.ui.get("canvas") if self.controller else None
        if isinstance(canvas, dict) and "zoom" in canvas and "center" in canvas:
            try:
                zoom, (x, y) = float(canvas["zoom"]), canvas["center"]
                self.view.set_zoom(zoom)
                self.view.center_on_point(QPointF(float(x), float(y)))
                return
            except (TypeError, ValueError):
                pass
        self.view.fit_to_view(min_zoom=OPEN_MIN_ZOOM)
        self._view_pending = not self.isVisible()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.scene is not None:
            self.scene.blockSignals(False)
        if self._view_pending:  # the viewport had no final size when the project opened
            self._view_pending = False
            self._restore_view()

    def open_path(self, path: str | Path) -> bool:
        """Open a .loom file; a file that cannot be read is reported, and the open project stays."""
        try:
            project = load_project(path)
        except (ProjectFileError, OSError) as exc:
            self.show_error("Cannot open the project", str(exc))
            return False
        return self.replace_document(project, Path(path))

    def open_example(self, name: str) -> bool:
        try:
            project = load_project(example_path(name))
        except (FileNotFoundError, ProjectFileError) as exc:
            self.show_error("Cannot open the example", str(exc))
            return False
        return self.replace_document(project, None)  # saved elsewhere, never over the bundled file

    def import_model(self) -> None:
        """File ▸ Import Model…: import off the GUI thread, then open the result as a new project."""
        from studio.files.import_dialog import ImportDialog

        dialog = ImportDialog(self)
        dialog.imported.connect(lambda project: self.replace_document(project, None))
        self.import_dialog = dialog  # tests and the screenshot reach it here

        def closed() -> None:
            self.import_dialog = None
            dialog.deleteLater()

        dialog.finished.connect(closed)
        dialog.open()

    def new_document(self) -> bool:
        """File ▸ New: choose a blank network, a template or an example in the gallery."""
        from studio.files.gallery_dialog import GalleryDialog

        dialog = GalleryDialog(self, self.theme_name)
        try:
            entry = dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()
        if entry is None:
            return False
        try:
            project = entry.make()
        except (ProjectFileError, OSError) as exc:
            self.show_error("Cannot create the project", str(exc))
            return False
        return self.replace_document(project, None)

    def new_blank_document(self) -> bool:
        from engine.templates import blank

        return self.replace_document(blank(), None)

    def open_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = str(self.controller.path.parent) if self.controller is not None and self.controller.path else ""
        dialog = QFileDialog(self, "Open project", folder, "Layerloom projects (*.loom)")
        dialog.setObjectName("openProjectDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        try:
            chosen = dialog.selectedFiles() if dialog.exec() == QDialog.DialogCode.Accepted else []
        finally:
            dialog.deleteLater()
        if chosen:
            self.open_path(chosen[0])

    def save(self) -> bool:
        if self.controller is None:
            return False
        if self.controller.path is None:
            return self.save_as_dialog()
        return self.save_to(self.controller.path)

    def save_as_dialog(self) -> bool:
        from PySide6.QtWidgets import QFileDialog

        if self.controller is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self, "Save project", f"{self.controller.project.name}.loom",
                                              "Layerloom projects (*.loom)")
        return self.save_to(Path(path)) if path else False

    def store_view_state(self) -> None:
        """Keep the canvas zoom and centre in the project's ``ui`` section (before a save or autosave)."""
        if self.controller is None:
            return
        centre = self.view.center()
        self.controller.project.ui["canvas"] = {"zoom": round(self.view.zoom(), 4),
                                                "center": [round(centre.x(), 1), round(centre.y(), 1)]}

    def save_to(self, path: Path) -> bool:
        """Save the project (with the canvas zoom and centre) to `path`."""
        controller = self.controller
        self.store_view_state()
        try:
            controller.path = save_project(controller.project, path)
        except OSError as exc:
            self.show_error("Cannot save the project", str(exc))
            return False
        controller.undo_stack.setClean()
        self.files.project_saved(controller.path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {controller.path.name}", 4000)
        return True

    def maybe_save(self) -> bool:
        """True when it is fine to drop the open project (saved, discarded, or nothing to lose)."""
        if not self.prompt_unsaved or self.controller is None or self.controller.undo_stack.isClean():
            return True
        answer = ask_unsaved(self, self.document_name(), running=self.training.runs.active)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def show_error(self, title: str, text: str) -> None:
        self.statusBar().showMessage(text, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ---- edit actions ---------------------------------------------------------------------
    def selected(self) -> list[str]:
        return self.scene.selected_node_ids() if self.scene else []

    def delete_selection(self) -> None:
        if self.scene is not None:
            self.controller.delete(self.scene.selected_node_ids(), self.scene.selected_edges())

    def copy_selection(self) -> bool:
        ids = self.selected()
        if not ids:
            return False
        QGuiApplication.clipboard().setMimeData(clipboard.to_mime(self.controller.copy_data(ids)))
        self.statusBar().showMessage(f"Copied {len(ids)} node" + ("s" if len(ids) > 1 else ""), 3000)
        return True

    def cut_selection(self) -> None:
        ids = self.selected()
        if ids and self.copy_selection():
            self.controller.delete(ids, verb="Cut")

    def paste(self) -> None:
        data = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
        if data is None or self.controller is None:
            self.statusBar().showMessage("The clipboard holds no Layerloom nodes", 3000)
            return
        xs = [r["position"][0] for r in data["nodes"] if "position" in r] or [0.0]
        ys = [r["position"][1] for r in data["nodes"] if "position" in r] or [0.0]
        cursor = self.view.viewport().mapFromGlobal(QCursor.pos())
        if self.view.viewport().rect().contains(cursor):
            target = self.scene.snap_point(self.view.mapToScene(cursor))
            offset = (target.x() - min(xs), target.y() - min(ys))
        else:
            offset = (40.0, 40.0)
        self.scene.select_nodes(self.controller.paste(data, offset))

    def duplicate_selection(self) -> None:
        ids = self.selected()
        if ids:
            self.scene.select_nodes(self.controller.duplicate(ids))

    def select_all(self) -> None:
        if self.scene is not None:
            self.scene.select_nodes(self.scene.nodes)

    def quick_add(self) -> None:
        self.view.open_quick_add()

    def auto_arrange(self) -> None:
        if self.scene is not None:
            self.controller.auto_arrange(self.scene.node_sizes())
            self.view.fit_to_view()

    def show_history(self) -> None:
        dock = self.docks["history"]
        dock.show()
        dock.raise_()

    def zoom_in(self) -> None:
        self.view.zoom_in()

    def zoom_out(self) -> None:
        self.view.zoom_out()

    def fit_to_view(self) -> None:
        self.view.fit_to_view()

    def set_snap(self, on: bool) -> None:
        if self.scene is not None:
            self.scene.snap_enabled = on

    def set_minimap_visible(self, on: bool) -> None:
        self.view.minimap.wanted = on
        self.view.minimap.refresh()
        self.settings.setValue("minimap", on)

    def _show_selection(self, node_ids: list[str]) -> None:
        """The Inspector shows the selection, and comes to the front of its tabs when a node is selected."""
        self.inspector.show_nodes(node_ids)
        if node_ids:
            self.docks["inspector"].raise_()

    def reveal_node(self, node_id: str) -> None:
        """Select a node of the network and centre the view on it (double-click in Problems)."""
        if self.controller is not None and self.controller.block_path:
            self.controller.go_up(0)  # problems and runs name the network's nodes
        if self.scene is not None and node_id in self.scene.nodes:
            self.scene.select_nodes([node_id])
            self.view.center_on_node(node_id)

    def _add_at_centre(self, type_id: str) -> None:
        self.view.add_layer_at(type_id, self.view.center())

    # ---- theme, status, title ---------------------------------------------------------------
    def set_theme(self, name: str, remember: bool = True) -> None:
        t = apply_theme(QApplication.instance(), name)
        self.theme_name = t.name
        self.actions.themes[t.name].setChecked(True)
        self.actions.tint(t.text)
        if self.scene is not None:
            self.scene.set_colors(t.canvas)
        self.view.viewport().update()
        self.view.minimap.refresh()
        self.training.apply_theme(t.name)
        self.sweep.apply_theme(t)
        if remember:
            self.settings.setValue("theme", t.name)

    def _show_totals(self, analysis) -> None:
        known = all(info.output is not None for info in analysis.nodes.values())
        total = format_count(analysis.total_params)
        if known:
            self.params_label.setText(f"{total} parameters")
        else:  # layers after an error have no shape yet, so no size either
            self.params_label.setText(f"≥ {total} parameters" if analysis.total_params else "— parameters")
        self.params_label.setToolTip("Trainable and fixed parameters of every layer whose input shape is known")
        self.validity_label.setText(validity_text(len(analysis.errors), len(analysis.warnings)))
        self.validity_label.setProperty("ok", analysis.ok)
        self.validity_label.style().unpolish(self.validity_label)
        self.validity_label.style().polish(self.validity_label)

    def _update_problem_title(self, errors: int, warnings: int) -> None:
        count = errors + warnings
        self.docks["problems"].setWindowTitle(f"Problems ({count})" if count else "Problems")

    def document_name(self) -> str:
        """The open document as the title names it: its file name, or its project name before a first save."""
        if self.controller is None:
            return ""
        path = self.controller.path
        return path.name if path else f"{self.controller.project.name} (not saved yet)"

    def _update_title(self) -> None:
        if self.controller is None:
            self.setWindowTitle(APP_TITLE)
            return
        self.setWindowTitle(f"{self.document_name()}[*] — {APP_TITLE}")
        self.setWindowModified(not self.controller.undo_stack.isClean())

    def _editable_changed(self, editable: bool) -> None:
        """Follow the open project's read-only mode (the controller refuses the edits themselves)."""
        for widget in (self.palette, self.inspector, self.problems, self.history):
            widget.setEnabled(editable)
        for action in self.actions.read_only_disabled():
            action.setEnabled(editable)
        stack = self.controller.undo_stack if self.controller is not None else None
        self.undo_group.setActiveStack(stack if editable else None)

    # ---- settings -----------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("windowState")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        if state is not None:
            self.restoreState(state)
        else:
            # Dock sizes only stick once the window has its real size on screen (on xcb the docks
            # added later would otherwise squeeze the palette to a sliver): apply them after showing.
            QTimer.singleShot(0, self._apply_default_dock_sizes)

    def _apply_default_dock_sizes(self) -> None:
        from studio.window_layout import default_sizes

        default_sizes(self)

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.setValue("theme", self.theme_name)
        self.settings.sync()

    def closeEvent(self, event) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.training.shutdown()  # a run must not outlive its window
        self.sweep.shutdown()  # nor a sweep's trials
        self.files.closed()
        if self.scene is not None:
            # A closed window may be destroyed next, and a scene being destroyed reports its
            # selection emptying to panels that are already gone.
            self.scene.blockSignals(True)
        super().closeEvent(event)
