"""Dock panels of the training UI; `studio.panels.registry` names them all."""
