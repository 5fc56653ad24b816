"""The one error type of the datasets layer.

Every problem a person can fix (a missing file, a malformed CSV row, a wrong
parameter, an unknown dataset kind) is raised as `DatasetError` with a message
that says what is wrong and, where it can, what to do about it. Code that shows
errors to users catches this type only; anything else is a bug.
"""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset could not be loaded or configured; the message is meant for the user."""
