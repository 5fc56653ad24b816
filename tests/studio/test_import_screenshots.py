"""Screenshots of an imported ResNet-50 for people to look at: the network as it opens (stages
collapsed, fitted to the view) and one bottleneck opened in place (``layer1 ▸ 0``).

Saved to the session's screenshot folder (``build/screenshots/``). Beyond the pictures, the test checks
what makes them useful: the top level is the model's children, every one of them in view, and the
opened bottleneck shows its layers under their source names with the breadcrumb naming the path.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.importing.sources import import_source, project_from_import
from studio.editor.canvas.block_item import BlockNodeItem


def _open_block(window, qtbot, node_id: str) -> None:
    view, scene = window.view, window.scene
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(scene.nodes[node_id].sceneBoundingRect().center()))
    window.controller.flush_analysis()


def test_resnet50_imported_collapsed_and_one_bottleneck_opened(window, qtbot, screenshots):
    result = import_source("torchvision:resnet50", check=False)
    window.replace_document(project_from_import(result, "resnet50"), None)
    window.controller.flush_analysis()
    view, scene = window.view, window.scene
    view.fit_to_view()
    qtbot.wait(50)
    top = [n.id for n in window.controller.doc.nodes.values() if n.type_id not in ("Input", "Output")]
    assert top == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
                   "flatten", "fc"]
    stages = [item for item in scene.nodes.values() if isinstance(item, BlockNodeItem)]
    assert [s.name for s in stages] == ["layer1", "layer2", "layer3", "layer4"]
    for item in scene.nodes.values():
        assert view.viewport().rect().contains(view.mapFromScene(item.sceneBoundingRect()).boundingRect())
    assert window.grab().save(str(screenshots / "import_resnet50_collapsed.png"))

    _open_block(window, qtbot, "layer1")
    assert window.controller.block_path == ["layer1"]
    _open_block(window, qtbot, "0")
    assert window.controller.block_path == ["layer1", "0"]
    inside = {n.id for n in window.controller.doc.nodes.values()}
    assert {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample"} <= inside
    bar = view.breadcrumb
    assert bar.isVisible() and bar.labels == ["resnet50", "layer1", "0"]
    assert bar.width() > 150 and all(b.isVisible() for b in bar.buttons)  # the whole path, not a sliver
    view.fit_to_view()
    qtbot.wait(50)
    assert window.grab().save(str(screenshots / "import_resnet50_bottleneck_open.png"))
