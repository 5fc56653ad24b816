"""A grid of captioned thumbnails that reflows with its width (dataset samples, predictions).

`ThumbnailGrid.set_items([(image, caption_html, tooltip, flagged), ...])` shows uint8 images
(H×W×C, C = 1 or 3) scaled up with sharp pixels; flagged items get a frame in the error colour.
A click on a tile emits `clicked(index)` and marks that tile as selected (a frame in the
selection colour) until another is clicked or `select(None)`.
Tiles are made once and reused; at most `MAX_NEW_TILES` are made per call, so a first update
never holds the GUI long (`set_items` says when it must be called again).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

THUMB = 64
TILE_W = THUMB + 26

MAX_NEW_TILES = 4  # making and showing a tile costs about a millisecond: a few at a time

Item = tuple[np.ndarray, str, str, bool]


def to_pixmap(image: np.ndarray, side: int = THUMB) -> QPixmap:
    """A uint8 (H, W, C) image (C = 1 or 3) as a pixmap scaled to `side` pixels, pixels kept sharp."""
    image = np.ascontiguousarray(image)
    h, w, c = image.shape
    fmt = QImage.Format.Format_Grayscale8 if c == 1 else QImage.Format.Format_RGB888
    qimage = QImage(image.data, w, h, w * c, fmt).copy()
    return QPixmap.fromImage(qimage).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation)


class _Tile(QFrame):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("thumbnailTile")
        self.setFixedWidth(TILE_W)
        self.flag_color, self.select_color, self.selected = "transparent", "#2563eb", False
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedHeight(THUMB + 4)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        layout.addWidget(self.picture)
        layout.addWidget(self.caption)
        layout.addStretch(1)

    def show_item(self, item: Item, flag_color: str) -> None:
        image, caption, tooltip, flagged = item
        self.picture.setPixmap(to_pixmap(image))
        self.caption.setText(caption)
        self.setToolTip(tooltip)
        self.flag_color = flag_color if flagged else "transparent"
        self.show_selected(self.selected, self.select_color)

    def show_selected(self, selected: bool, color: str) -> None:
        self.selected, self.select_color = selected, color
        border = color if selected else self.flag_color
        style = "dashed" if selected else "solid"
        self.setStyleSheet(f"#thumbnailTile {{ border: 2px {style} {border}; border-radius: 4px; }}")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            grid = self.parent()
            while grid is not None and not isinstance(grid, ThumbnailGrid):
                grid = grid.parent()
            if grid is not None:
                grid.tile_clicked(self)
        super().mousePressEvent(event)


class ThumbnailGrid(QScrollArea):
    """Captioned thumbnails in as many columns as fit."""

    clicked = Signal(int)  # the index of the clicked item

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.host = QWidget()
        self.grid = QGridLayout(self.host)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.grid.setSpacing(4)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self.host)
        self.tiles: list[_Tile] = []
        self.flag_color = "#dc2626"
        self.select_color = "#2563eb"
        self.selected: int | None = None
        self._columns = 0

    def tile_clicked(self, tile: _Tile) -> None:
        index = self.tiles.index(tile)
        self.select(index)
        self.clicked.emit(index)

    def select(self, index: int | None) -> None:
        """Mark the item at `index` as selected (None: no item)."""
        self.selected = index
        for i, tile in enumerate(self.tiles):
            tile.show_selected(i == index, self.select_color)

    def set_items(self, items: list[Item]) -> bool:
        """Show `items`; False when only some could be made this time (call again on the next tick)."""
        complete = len(self.tiles) + MAX_NEW_TILES >= len(items)
        for _ in range(min(len(items) - len(self.tiles), MAX_NEW_TILES)):
            self.tiles.append(_Tile(self.host))
        items = items[:len(self.tiles)]
        for i, tile in enumerate(self.tiles):
            if i < len(items):
                tile.selected = i == self.selected
                tile.show_item(items[i], self.flag_color)
                tile.show()
            else:
                tile.hide()
        self._reflow(force=True)
        return complete

    def visible_count(self) -> int:
        return sum(1 for t in self.tiles if not t.isHidden())

    def _reflow(self, force: bool = False) -> None:
        columns = max(1, (self.viewport().width() - 8) // (TILE_W + 4))
        if columns == self._columns and not force:
            return
        self._columns = columns
        shown = [t for t in self.tiles if not t.isHidden()]
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for i, tile in enumerate(shown):
            self.grid.addWidget(tile, *divmod(i, columns))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.tiles:
            self._reflow()
