"""Pre-flight: every problem that keeps a network, a dataset and settings from training, with node ids.

One set of checks, used alike by ``layerloom train`` and ``layerloom validate``, by the worker
before it trains and by the studio's Training panel on every edit. `preflight(network, dataset,
training, ...)` takes the project's parts as stored (the dataset and training sections as JSON, so
a malformed section is a problem, not an exception) and returns `StartProblem`s: a message, the
node it is about (or None) and the section that must change (network, dataset or training). With
a `DatasetSummary` it also checks that the Input node, the loss, the metrics and the output fit
the data. It never loads a dataset and imports neither torch nor Qt: the worker loads the data
and calls it again with the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.data.availability import dataset_availability
from engine.data.checks import check_input_shape
from engine.data.config import DatasetConfig
from engine.data.errors import DatasetError
from engine.graph.analysis import Analysis, analyze
from engine.graph.document import GraphDocument, Node
from engine.train.recipes.declared import GAN, RECIPES, SUPERVISED
from engine.train.recipes.structure import data_inputs, output_nodes, recipe_problems
from engine.train.settings import SettingsError, TrainingSettings
from engine.train.tensorboard_log import tensorboard_problems

if TYPE_CHECKING:
    from engine.data.config import DatasetSummary

NETWORK, DATASET, TRAINING = "network", "dataset", "training"


@dataclass(frozen=True)
class StartProblem:
    """One reason a run cannot start."""

    message: str
    node_id: str | None = None
    section: str = NETWORK  # network, dataset or training: where the fix is made

    def text(self, document: GraphDocument | None = None) -> str:
        """The message, led by the node's name when it is about one (``'fc1': ...``)."""
        if document is not None and self.node_id in document.nodes:
            return f"'{document.nodes[self.node_id].name}': {self.message}"
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "node_id": self.node_id, "section": self.section}


def inputs_and_outputs(document: GraphDocument) -> tuple[list[Node], list[Node]]:
    """The network's Input nodes (the data's; a GAN's Noise node is not one) and Output nodes."""
    return data_inputs(document), output_nodes(document)


def recipe_kind(training: Mapping[str, Any] | TrainingSettings | None) -> str:
    """The recipe the settings choose (supervised when they do not say, or say something unknown)."""
    if isinstance(training, TrainingSettings):
        return training.recipe.kind
    recipe = training.get("recipe") if isinstance(training, Mapping) else None
    kind = recipe.get("kind") if isinstance(recipe, Mapping) else None
    return kind if kind in RECIPES else SUPERVISED


def network_problems(document: GraphDocument, analysis: Analysis, recipe: str = SUPERVISED) -> list[StartProblem]:
    """The network's errors and the one-Input, one-Output rule (a GAN's two networks are the recipe's)."""
    problems = [StartProblem(p.message, p.node_id, NETWORK) for p in analysis.errors]
    if recipe == GAN:
        return problems
    inputs, outputs = inputs_and_outputs(document)
    if len(inputs) > 1:
        problems.append(StartProblem(f"training needs exactly one Input node; the network has {len(inputs)}"))
    if len(outputs) > 1:
        problems.append(StartProblem(f"training needs exactly one Output node; the network has {len(outputs)}"))
    return problems


def dataset_problems(dataset: Mapping[str, Any] | None, base: Path | None = None) -> list[StartProblem]:
    """Why the stored dataset section cannot be used (empty when it can).

    With `base` (the project's folder, which relative paths are resolved against) it also checks
    that the data is available here: the files and folders named exist, and a standard set is on
    this machine or may be downloaded (`engine.data.availability`; nothing is loaded).
    """
    if not dataset:
        return [StartProblem("the project has no dataset: choose one before training", None, DATASET)]
    try:
        DatasetConfig.from_json(dict(dataset))
    except DatasetError as exc:
        return [StartProblem(f"dataset: {exc}", None, DATASET)]
    if base is not None:
        available = dataset_availability(dict(dataset), base)
        if not available.ready:
            return [StartProblem(f"dataset: {available.message}", None, DATASET)]
    return []


def settings_problems(document: GraphDocument, training: Mapping[str, Any] | TrainingSettings,
                      analysis: Analysis | None = None,
                      summary: DatasetSummary | None = None) -> list[StartProblem]:
    """The training settings' problems; with a summary, also whether they fit the data and the output."""
    if isinstance(training, TrainingSettings):
        settings = training
    else:
        try:
            settings = TrainingSettings.from_json(dict(training))
        except SettingsError as exc:
            return [StartProblem(str(exc), None, TRAINING)]
    _, outputs = inputs_and_outputs(document)
    output_node = outputs[0].id if len(outputs) == 1 else None
    output = analysis.output_of(output_node) if summary is not None and analysis and output_node else None
    out = []
    for message in settings.validate(summary, output, list(document.nodes)) + tensorboard_problems(settings):
        about_output = message.startswith(("the output ", "the output has"))
        out.append(StartProblem(message, output_node if about_output else None, TRAINING))
    if analysis is not None and analysis.ok:  # the recipe's structure, once the network itself is sound
        recipe = settings.recipe
        out += [StartProblem(message, node_id, NETWORK) for message, node_id in
                recipe_problems(document, analysis, recipe.kind, recipe.reconstruction_loss, summary)]
    return out


def data_problems(document: GraphDocument, analysis: Analysis, summary: DatasetSummary) -> list[StartProblem]:
    """Whether the Input node fits the loaded data, and whether any samples are left for training."""
    problems = []
    inputs, _ = inputs_and_outputs(document)
    if len(inputs) == 1 and analysis.output_of(inputs[0].id) is not None:
        node = inputs[0]
        problem = check_input_shape(summary, tuple(node.params["shape"]), node.params["dtype"], node.name)
        if problem:
            problems.append(StartProblem(problem, node.id, NETWORK))
    if summary.sizes.get("train", 0) == 0:
        problems.append(StartProblem("the dataset leaves no samples for training", None, DATASET))
    return problems


def preflight(document: GraphDocument, dataset: Mapping[str, Any] | None,
              training: Mapping[str, Any] | TrainingSettings, analysis: Analysis | None = None,
              summary: DatasetSummary | None = None, base: Path | None = None) -> list[StartProblem]:
    """Every problem that keeps this network, dataset and settings from training (empty: ready).

    Args:
        analysis: the network's analysis when the caller has it (the studio keeps one); else made here.
        summary: the loaded dataset's summary, to check that the network and settings fit the data.
        base: the project's folder; given, the dataset's availability on this machine is checked too.
    """
    analysis = analysis if analysis is not None else analyze(document)
    problems = network_problems(document, analysis, recipe_kind(training)) + dataset_problems(dataset, base)
    problems += settings_problems(document, training, analysis, summary)
    if summary is not None:
        problems += data_problems(document, analysis, summary)
    return problems


def problems_text(problems: list[StartProblem], document: GraphDocument | None = None) -> str:
    """The problems as the CLI and the worker write them: one indented line each."""
    return "training cannot start:\n  " + "\n  ".join(p.text(document) for p in problems)
