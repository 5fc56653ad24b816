"""The wire-drawing gesture: press on a port, drag, release on another port.

Three ways to start, one object to carry the gesture:
  - from an output port: a new wire, looking for an input port;
  - from an input port that has a wire: that wire is lifted off (re-route) and
    follows the mouse from its source, looking for another input port;
    released over empty canvas, the wire is deleted;
  - from an unconnected input port: a new wire drawn backwards, looking for an
    output port.
While dragging, the port under the mouse (or the first free-fitting port of the
node under it) is ringed green when the wire would be accepted and red when not,
with the reason, from `GraphDocument.wire_problem`, shown in the status bar. On
release the gesture asks the controller for exactly one undo step; it never
writes the document itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF

from engine.graph.document import Edge
from studio.editor.canvas.edge_item import WirePreview
from studio.editor.canvas.node_item import NodeItem
from studio.editor.canvas.port_item import INVALID, NO_HIGHLIGHT, VALID, PortItem

if TYPE_CHECKING:
    from studio.editor.canvas.scene import GraphScene

SNAP_RADIUS = 14.0


class WireDrag:
    """One wire drag in progress."""

    def __init__(self, scene: GraphScene, port: PortItem) -> None:
        self.scene = scene
        self.controller = scene.controller
        self.lifted: Edge | None = None
        if port.is_input:
            wires = scene.controller.doc.edges_into(port.node_id, port.name)
            if wires:
                self.lifted = wires[-1]
                self.fixed = scene.nodes[self.lifted.source].out_ports[self.lifted.source_port]
                scene.edges[self.lifted].hide()
            else:
                self.fixed = port
        else:
            self.fixed = port
        self.candidate: PortItem | None = None
        self.problem: str | None = None
        self.preview = WirePreview(scene.colors.wire_selected)
        scene.addItem(self.preview)
        self._update_preview(port.anchor())

    @property
    def wants_input(self) -> bool:
        """True when the free end looks for an input port."""
        return not self.fixed.is_input

    # ---- gesture ---------------------------------------------------------------------
    def move(self, pos: QPointF) -> None:
        candidate = self._port_at(pos)
        if candidate is not self.candidate:
            if self.candidate is not None:
                self.candidate.set_highlight(NO_HIGHLIGHT)
            self.candidate = candidate
            self.problem = self._problem(candidate) if candidate is not None else None
            if candidate is not None:
                candidate.set_highlight(INVALID if self.problem else VALID)
                if self.problem:
                    self.controller.hint(f"Cannot connect: {self.problem}")
                else:
                    self.controller.hint(f"Release to connect {self._describe(candidate)}")
        end = self.candidate.anchor() if self.candidate is not None and not self.problem else pos
        self._update_preview(end)
        color = self.scene.colors.invalid if self.problem else self.scene.colors.wire_selected
        self.preview.set_color(color)

    def finish(self, pos: QPointF) -> None:
        self.move(pos)
        candidate, lifted = self.candidate, self.lifted
        self.cancel()
        if candidate is None:
            if lifted is not None:
                self.controller.disconnect(lifted)
            return
        if self.problem:
            self.controller.hint(f"Cannot connect: {self.problem}")
            return
        if lifted is not None:
            self.controller.reconnect(lifted, candidate.node_id, candidate.name)
        elif self.wants_input:
            self.controller.connect(self.fixed.node_id, self.fixed.name, candidate.node_id, candidate.name)
        else:
            self.controller.connect(candidate.node_id, candidate.name, self.fixed.node_id, self.fixed.name)

    def cancel(self) -> None:
        if self.candidate is not None:
            self.candidate.set_highlight(NO_HIGHLIGHT)
        if self.preview.scene() is not None:
            self.scene.removeItem(self.preview)
        if self.lifted is not None and self.lifted in self.scene.edges:
            self.scene.edges[self.lifted].show()

    # ---- helpers -----------------------------------------------------------------------
    def _update_preview(self, free_end: QPointF) -> None:
        if self.wants_input:
            self.preview.set_ends(self.fixed.anchor(), free_end)
        else:
            self.preview.set_ends(free_end, self.fixed.anchor())

    def _port_at(self, pos: QPointF) -> PortItem | None:
        """The fitting port nearest `pos`, or the first fitting port of the node under `pos`."""
        area = QRectF(pos.x() - SNAP_RADIUS, pos.y() - SNAP_RADIUS, 2 * SNAP_RADIUS, 2 * SNAP_RADIUS)
        best, best_d = None, SNAP_RADIUS ** 2 + 1
        node_under = None
        for item in self.scene.items(area):
            if isinstance(item, PortItem) and item.is_input == self.wants_input and item is not self.fixed:
                d = (item.anchor() - pos)
                dist = d.x() ** 2 + d.y() ** 2
                if dist < best_d:
                    best, best_d = item, dist
            elif isinstance(item, NodeItem) and node_under is None and item.contains(item.mapFromScene(pos)):
                node_under = item
        if best is not None:
            return best
        if node_under is not None and node_under.node_id != self.fixed.node_id:
            ports = node_under.in_ports if self.wants_input else node_under.out_ports
            for port in ports.values():
                if self._problem(port) is None:
                    return port
            return next(iter(ports.values()), None)
        return None

    def _problem(self, port: PortItem) -> str | None:
        lifted = self.lifted
        if lifted is not None and (port.node_id, port.name) == (lifted.target, lifted.target_port):
            return None  # dropping a lifted wire back where it was
        if self.wants_input:
            return self.controller.wire_problem(self.fixed.node_id, self.fixed.name, port.node_id, port.name)
        return self.controller.wire_problem(port.node_id, port.name, self.fixed.node_id, self.fixed.name)

    def _describe(self, port: PortItem) -> str:
        names = self.controller.doc.nodes
        if self.wants_input:
            return f"{names[self.fixed.node_id].name} → {names[port.node_id].name}"
        return f"{names[port.node_id].name} → {names[self.fixed.node_id].name}"
