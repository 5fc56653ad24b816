"""A block instance on the canvas: a node drawn as a stack of cards.

`BlockNodeItem` is a `NodeItem` whose declaration is the block's synthesised
spec (its ports are the definition's Block Input and Block Output nodes, its
key parameters the block parameters and ``repeat``). It draws one card behind
itself, two when the block repeats, shows its name as ``name ×N`` for a repeat
other than 1, and its problem badge counts every problem inside the block as
well as its own (the tooltip names each one's path). A double-click opens the
block in place: the scene reports it, the item never navigates or edits.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from engine.graph.blocks import REPEAT
from engine.graph.document import Node
from studio.editor.canvas.node_item import RADIUS, NodeItem

STACK = 4.0  # how far each card behind the block is offset


class BlockNodeItem(NodeItem):
    """One block instance."""

    counts_problems = True

    def __init__(self, node: Node, spec, info=None, problems=None) -> None:
        super().__init__(node, spec, info, problems)
        self.setToolTip(f"{spec.title} (block): double-click to open it")

    @property
    def repeat(self) -> int:
        try:  # inside an open block a block parameter may set it (a ResNet block's downsample)
            return int(self.bound.get(REPEAT, self.params.get(REPEAT, 1)))
        except (TypeError, ValueError):
            return 1

    def cards(self) -> int:
        """How many cards are drawn behind the node: two for a repeated block, else one."""
        return 2 if self.repeat > 1 else 1

    def overview_badge(self) -> str:
        return str(len(self.problems)) if self.problems else ""

    def display_name(self) -> str:
        return self.name if self.repeat == 1 else f"{self.name} ×{self.repeat}"

    def boundingRect(self) -> QRectF:
        extra = STACK * 2
        return self._rect.adjusted(-2, -2, 2 + extra, 2 + extra)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self.scene().colors
        edge = QColor(self._color)
        edge.setAlpha(170)
        painter.setPen(QPen(edge, 1.2))
        painter.setBrush(QColor(colors.node_body))
        for i in range(self.cards(), 0, -1):
            painter.drawRoundedRect(self._rect.translated(STACK * i, STACK * i), RADIUS, RADIUS)
        super().paint(painter, option, widget)
