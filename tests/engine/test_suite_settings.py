"""The suite is strict: warnings fail tests (our own deprecations included), Qt warnings fail tests,
and the third-party warnings let through are named by module."""

from __future__ import annotations

import warnings

import pytest


def test_a_deprecation_warning_from_our_code_fails_the_test():
    with pytest.raises(DeprecationWarning):
        warnings.warn("this call is deprecated", DeprecationWarning, stacklevel=1)
    with pytest.raises(FutureWarning):
        warnings.warn("this behaviour will change", FutureWarning, stacklevel=1)


def test_only_the_listed_third_party_warning_is_let_through():
    message = "The image decoding and encoding capabilities of TorchVision are deprecated since torchvision 0.29"
    warnings.warn_explicit(message, DeprecationWarning, "image.py", 33, module="torchvision.io.image")
    with pytest.raises(DeprecationWarning):  # the same text from anywhere else still fails
        warnings.warn_explicit(message, DeprecationWarning, "image_folder.py", 1, module="engine.data.image_folder")
    with pytest.raises(DeprecationWarning):  # and so does another deprecation from torchvision
        warnings.warn_explicit("something else", DeprecationWarning, "image.py", 1, module="torchvision.io.image")


def test_qt_warnings_fail_tests(request):
    assert request.config.getini("qt_log_level_fail") == "WARNING"
    ignored = request.config.getini("qt_log_ignore")
    assert len(ignored) == 1 and "This plugin does not support" in ignored[0]
    filters = request.config.getini("filterwarnings")
    assert filters[0] == "error"
    blanket = [f for f in filters if f.startswith("ignore::") and f.count(":") < 3]
    assert blanket == [], f"every ignored warning names its module: {blanket}"
