"""The table of training panels: name -> class, title and where its dock starts.

The View menu, the dock object names (``dock_<name>``, which is what the saved window state
refers to) and the default layout all come from `PANELS`, so adding a panel is one line here.
Groups say which docks start tabbed together: ``settings`` beside the inspector, ``curves``,
``pictures`` and ``history`` in the bottom area.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.training.panels.base import Panel
from studio.training.panels.confusion import ConfusionPanel
from studio.training.panels.dataset import DatasetPanel
from studio.training.panels.explain import ExplainPanel
from studio.training.panels.feature_maps import FeatureMapPanel
from studio.training.panels.generated import GeneratedPanel
from studio.training.panels.latent import LatentPanel
from studio.training.panels.log import LogPanel
from studio.training.panels.predictions import PredictionsPanel
from studio.training.panels.reconstructions import ReconstructionsPanel
from studio.training.panels.run_diff import RunDiffPanel
from studio.training.panels.runs import RunsPanel
from studio.training.panels.scalar_plots import LearningRatePanel, LossPanel, MetricsPanel, ThroughputPanel
from studio.training.panels.stats_plots import GradientFlowPanel, HistogramPanel
from studio.training.panels.training_settings import TrainingSettingsPanel


@dataclass(frozen=True)
class PanelInfo:
    name: str
    cls: type[Panel]
    group: str  # settings, curves, pictures, history

    @property
    def title(self) -> str:
        return self.cls.title

    @property
    def dock_name(self) -> str:
        return f"dock_{self.name}"


PANELS: dict[str, PanelInfo] = {info.name: info for info in (
    PanelInfo("dataset", DatasetPanel, "settings"),
    PanelInfo("training", TrainingSettingsPanel, "settings"),
    PanelInfo("loss", LossPanel, "curves"),
    PanelInfo("metrics", MetricsPanel, "curves"),
    PanelInfo("learning_rate", LearningRatePanel, "curves"),
    PanelInfo("throughput", ThroughputPanel, "curves"),
    PanelInfo("gradient_flow", GradientFlowPanel, "curves"),
    PanelInfo("feature_maps", FeatureMapPanel, "pictures"),
    PanelInfo("histograms", HistogramPanel, "pictures"),
    PanelInfo("confusion", ConfusionPanel, "pictures"),
    PanelInfo("predictions", PredictionsPanel, "pictures"),
    PanelInfo("run_diff", RunDiffPanel, "pictures"),
    PanelInfo("explain", ExplainPanel, "pictures"),
    PanelInfo("reconstructions", ReconstructionsPanel, "pictures"),
    PanelInfo("generated", GeneratedPanel, "pictures"),
    PanelInfo("latent", LatentPanel, "pictures"),
    PanelInfo("runs", RunsPanel, "history"),
    PanelInfo("log", LogPanel, "history"),
)}

GROUPS = ("settings", "curves", "pictures", "history")


def panel_names() -> list[str]:
    return list(PANELS)


def check_registry() -> None:
    """Every class's own name matches its entry (saved layouts refer to these names)."""
    for name, info in PANELS.items():
        if info.cls.name != name:
            raise ValueError(f"panel {name!r} is registered with class {info.cls.__name__} named {info.cls.name!r}")
