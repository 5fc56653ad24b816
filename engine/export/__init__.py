"""Exports of a built network: ONNX, torch.export (.pt2), safetensors weights, readable PyTorch code.

Every export is checked after it is written, by loading the file back and
comparing its outputs with the torch module on a fresh batch (onnxruntime for
ONNX, `torch.export.load` for .pt2, a fresh import for code). A failure raises
`ExportError` with what went wrong; an export never silently succeeds.
"""

from engine.export.common import ExportError, ExportReport
from engine.export.exporters import EXPORTERS, export_network
from engine.export.project_export import RunChoiceError, export_project

__all__ = ["EXPORTERS", "ExportError", "ExportReport", "RunChoiceError", "export_network", "export_project"]
