"""The training log: what the run said (logs, errors) and what the studio did (started, finished).

Errors are shown in the error colour with the first lines of their traceback; the log keeps the
last few thousand lines. `append(text, level)` is how the training UI adds its own lines.
"""

from __future__ import annotations

import html
import time

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext

MAX_LINES = 5000
TRACEBACK_LINES = 12


class LogPanel(Panel):
    """A read-only, coloured log of the runs."""

    name, title = "log", "Training Log"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(9.0)
        self.text.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.text)
        self._theme = context.theme
        self.lines: list[str] = []
        context.runs.logs_arrived.connect(self._logs)
        context.runs.error_arrived.connect(self._error)

    def append(self, text: str, level: str = "info", detail: str = "") -> None:
        """Add a line (and optional detail lines in a muted colour)."""
        colors = {"error": self._theme.canvas.error, "warning": self._theme.canvas.warning}
        color = colors.get(level, self._theme.text)
        stamp = time.strftime("%H:%M:%S")
        self.lines.append(text)
        body = html.escape(text).replace("\n", "<br>&nbsp;&nbsp;")
        self.text.appendHtml(f"<span style='color:{self._theme.muted}'>{stamp}</span> "
                             f"<span style='color:{color}'>{body}</span>")
        if detail:
            shown = html.escape("\n".join(detail.rstrip().splitlines()[-TRACEBACK_LINES:]))
            self.text.appendHtml(f"<pre style='color:{self._theme.muted}'>{shown}</pre>")

    def _logs(self, messages: list[t.Log]) -> None:
        for m in messages:
            self.append(m.text, m.level)

    def _error(self, message: t.Error) -> None:
        self.append(f"error: {message.message}", "error", message.traceback)

    def clear(self) -> None:
        """Runs share one log: a new run starts with a separator rather than an empty log."""
        if self.lines:
            self.text.appendHtml(f"<span style='color:{self._theme.muted}'>{'─' * 40}</span>")

    def apply_theme(self, t: Theme) -> None:
        self._theme = t
