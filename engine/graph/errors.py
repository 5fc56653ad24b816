"""Typed errors raised by the document and by project files, with messages for people."""

from __future__ import annotations


class DocumentError(ValueError):
    """An edit that would break the document's invariants."""


class UnknownNodeError(DocumentError):
    """No node has this id."""


class DuplicateNodeError(DocumentError):
    """A node id or name is already taken."""


class WireError(DocumentError):
    """A wire that cannot be made (unknown port, occupied input, self-loop, cycle)."""


class ProjectFileError(ValueError):
    """A project file that cannot be read: malformed, from a newer version, or inconsistent."""
