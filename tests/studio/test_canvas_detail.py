"""Level of detail: what the canvas draws at each zoom, read back from a recording of the paint.

The view is rendered into a `QPicture`, which records every drawing command with its text, so a
test can say exactly which strings were drawn: full detail at 100%, titled boxes only when zoomed
out, no text at all when boxes are too small for a legible title.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPicture
from studio_gestures import node_id, open_project, view_pos
from studio_networks import lenet5

from studio.editor.canvas.overview import DETAIL_LOD, TITLE_MIN_PX, title_px


def drawn(view) -> bytes:
    """Everything the view paints, as QPicture's recording (strings are stored as UTF-16)."""
    picture = QPicture()
    painter = QPainter(picture)
    view.render(painter, QRectF(view.viewport().rect()), view.viewport().rect())
    painter.end()
    return bytes(picture.data())


def has_text(record: bytes, text: str) -> bool:
    return text.encode("utf-16-be") in record


def test_full_detail_draws_names_types_and_shapes(window):
    open_project(window, lenet5())
    window.view.set_zoom(1.0)
    window.view.center_on_node(node_id(window, "conv2"))
    assert not window.scene.overview_mode
    record = drawn(window.view)
    item = window.scene.nodes[node_id(window, "conv2")]
    assert has_text(record, "conv2") and has_text(record, "Conv2d")
    assert has_text(record, item.output_label)  # the shape in the footer and on its wire


def test_zoomed_out_draws_coloured_boxes_with_titles_only(window):
    open_project(window, lenet5())
    window.view.set_zoom(0.45)
    window.view.center_on_node(node_id(window, "conv2"))
    assert window.scene.overview_mode and DETAIL_LOD > 0.45
    record = drawn(window.view)
    item = window.scene.nodes[node_id(window, "conv2")]
    assert has_text(record, "conv2")  # the title, in a legible screen-sized font
    assert not has_text(record, item.output_label)  # no shapes, no wire labels
    assert not has_text(record, "Conv2d") and not has_text(record, "out_channels")
    assert window.scene.overview.title_draws >= 3
    assert title_px(item.size()[1] * 0.45) >= TITLE_MIN_PX


def test_far_out_draws_no_text_at_all(window):
    open_project(window, lenet5())
    window.view.set_zoom(0.05)
    record = drawn(window.view)
    for node in window.controller.doc.nodes.values():
        assert not has_text(record, node.name)
    assert window.scene.overview.title_draws == 0
    # ... but every node is still there, as a box of its category's colour.
    image = QImage(window.view.viewport().size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    window.view.render(painter)
    painter.end()
    for item in window.scene.nodes.values():
        centre = view_pos(window, item.sceneBoundingRect().center())
        assert image.pixelColor(centre) != image.pixelColor(centre.x(), 2), item.name


def test_zoomed_out_nodes_still_select_and_drag(window, qtbot):
    open_project(window, lenet5())
    window.view.set_zoom(0.4)
    assert window.scene.overview_mode
    item = window.scene.nodes[node_id(window, "fc1")]
    start = item.pos()
    point = view_pos(window, item.sceneBoundingRect().center())
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.scene.selected_node_ids() == [item.node_id]
    qtbot.mousePress(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    for step in range(1, 5):
        qtbot.mouseMove(window.view.viewport(), point + QPointF(0, 25 * step).toPoint())
    qtbot.mouseRelease(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point + QPointF(0, 100).toPoint())
    moved = window.controller.doc.nodes[item.node_id].position
    assert moved[1] > start.y() + 100  # 100 px on screen is 250 scene units at 40%
    assert window.scene.overview.boxes()[list(window.scene.nodes).index(item.node_id)].rect.top() == moved[1]
    window.view.set_zoom(1.0)  # back to full detail: the selection is kept
    assert not window.scene.overview_mode and item.isSelected()
