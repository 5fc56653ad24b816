"""Screenshots of blocks for people to look at, on a laptop-sized 1366×768 window: the bundled
ResNet-18 fitted with its stages collapsed, one stage opened in place, and the palette's Blocks section.

Saved to the session's screenshot folder (``build/screenshots/``). Beyond the pictures, the test checks
what makes them useful: at zoom-to-fit every top-level block's title is drawn, in a legible font, and
fits inside its box.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPicture
from studio_gestures import node_id

from studio.editor.canvas.block_item import BlockNodeItem
from studio.editor.canvas.overview import TITLE_MIN_PX, fit_title


def _texts_drawn(view) -> bytes:
    picture = QPicture()
    painter = QPainter(picture)
    view.render(painter, QRectF(view.viewport().rect()), view.viewport().rect())
    painter.end()
    return bytes(picture.data())


def test_resnet18_collapsed_opened_and_the_blocks_palette(window, qtbot, screenshots):
    window.resize(1366, 768)
    qtbot.wait(10)
    assert window.open_example("resnet18")
    window.controller.flush_analysis()
    view, scene = window.view, window.scene
    view.fit_to_view()
    blocks = [item for item in scene.nodes.values() if isinstance(item, BlockNodeItem)]
    assert [b.name for b in blocks] == ["layer1", "layer2", "layer3", "layer4"]
    record = _texts_drawn(view)
    zoom = view.zoom()
    for item in blocks:
        width, height = item.size()
        fitted = fit_title(item.display_name(), width * zoom - 6, height * zoom)
        assert fitted is not None and fitted[0] >= TITLE_MIN_PX, (item.name, zoom)
        for line in fitted[1].split("\n"):
            assert line.encode("utf-16-be") in record, (item.name, line)
        assert view.viewport().rect().contains(view.mapFromScene(item.sceneBoundingRect()).boundingRect())
    assert window.grab().save(str(screenshots / "blocks_resnet18_collapsed.png"))

    layer2 = node_id(window, "layer2")
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(scene.nodes[layer2].sceneBoundingRect().center()))
    assert window.controller.block_path == [layer2]
    window.controller.flush_analysis()
    assert view.breadcrumb.isVisible()
    assert window.grab().save(str(screenshots / "blocks_resnet18_layer2_open.png"))

    window.controller.go_up(0)
    palette = window.palette
    palette.tree.scrollToTop()
    entries = palette.block_entries()
    assert ("project", "BasicBlock") in entries and ("bundled", "TransformerEncoderBlock") in entries
    assert window.docks["palette"].grab().save(str(screenshots / "blocks_palette.png"))
