"""The sections of `layerloom bench`, in the order they run: the one place a section is registered.

A section is a module of `studio.bench` with a ``run_section(args) -> dict | list[dict]`` function;
`SECTIONS` names it, says what it measures and how to reach it. Each runner below imports its
module only when the section runs (so ``--only inference`` never loads torch or Qt), and does so
with a plain import statement, so import-linter sees every edge. To add a section: write the
module, add a runner here and a `Section` to `SECTIONS`; its options go in `cli.add_arguments`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Report = dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class Section:
    name: str
    help: str
    run: Callable[[argparse.Namespace], Report]
    qt: bool = False  # drives the studio (needs Qt; runs in a fresh process)
    default: bool = True  # part of a plain `layerloom bench` (else only with --only)


def _inference(args: argparse.Namespace) -> Report:
    from studio.bench import inference

    return inference.run_section(args)


def _canvas(args: argparse.Namespace) -> Report:
    from studio.bench import canvas

    return canvas.run_section(args)


def _canvas_scale(args: argparse.Namespace) -> Report:
    from studio.bench import canvas_scale

    return canvas_scale.run_section(args)


def _training(args: argparse.Namespace) -> Report:
    from studio.bench import limit

    return limit.run_section(args)


def _telemetry(args: argparse.Namespace) -> Report:
    from studio.bench import telemetry_cost

    return telemetry_cost.run_section(args)


def _tensorboard(args: argparse.Namespace) -> Report:
    from studio.bench import tensorboard_cost

    return tensorboard_cost.run_section(args)


def _run_diff(args: argparse.Namespace) -> Report:
    from studio.bench import run_diff

    return run_diff.run_section(args)


def _frameworks(args: argparse.Namespace) -> Report:
    from studio.bench import frameworks

    return frameworks.run_section(args)


def _train_start(args: argparse.Namespace) -> Report:
    from studio.bench import train_start

    return train_start.run_section(args)


def _import(args: argparse.Namespace) -> Report:
    from studio.bench import import_models

    return import_models.run_section(args)


def _studio_training(args: argparse.Namespace) -> Report:
    from studio.bench import studio_training

    return studio_training.run_section(args)


SECTIONS: tuple[Section, ...] = (
    Section("inference", "validate + infer a large network from scratch and after one edit", _inference),
    Section("canvas", "load, first paint, pan and zoom of a large network in the studio", _canvas, qt=True),
    Section("canvas_scale", "the canvas for 5,000 nodes and a frame at zoom-to-fit; opening and leaving "
            "ResNet-50's 16 blocks", _canvas_scale, qt=True),
    Section("training", "the engine against a hand-written loop (the limit), MLP and CNN", _training),
    Section("telemetry", "a studio worker with live telemetry on against off, read from another process",
            _telemetry),
    Section("tensorboard", "a run writing TensorBoard event files against one that does not", _tensorboard),
    Section("run_diff", "the diff of two runs of 2,000-node networks (flat and through blocks)", _run_diff),
    Section("frameworks", "the engine against Lightning and Keras, when installed (layerloom[bench])",
            _frameworks),
    Section("train_start", "from pressing Train to the first step metric, with a warm worker and cold",
            _train_start),
    Section("studio_training", "the same run from the studio's Train action and headless", _studio_training,
            qt=True),
    Section("import", "importing the twelve torchvision classifiers of issue 9 (import and check times)",
            _import),
)


def section_names() -> tuple[str, ...]:
    return tuple(s.name for s in SECTIONS)


def get_section(name: str) -> Section:
    return next(s for s in SECTIONS if s.name == name)
