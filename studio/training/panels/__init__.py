"""Dock panels of the training UI; `studio.training.panels.registry` names them all."""
