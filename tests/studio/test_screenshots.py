"""Screenshots of the studio with the bundled examples, light and dark, for people to look at.

Each is saved to the session's screenshot folder (``build/screenshots/``, git-ignored, or
``$LAYERLOOM_SCREENSHOTS``). The test checks the pictures are real renders of the whole window.
"""

from __future__ import annotations

import pytest
from studio_gestures import node_id, open_project
from studio_networks import lenet5, mlp_with_missing_flatten, resnet_small

CASES = {
    "lenet5": (lenet5, "conv2"),
    "resnet_small": (resnet_small, "block1_add"),
    "fix_suggested": (mlp_with_missing_flatten, "fc1"),
}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("case", list(CASES))
def test_screenshot(window, qtbot, screenshots, case, theme):
    build, selected = CASES[case]
    window.resize(1500, 940)
    window.set_theme(theme, remember=False)
    open_project(window, build())
    window.reveal_node(node_id(window, selected))
    qtbot.wait(10)  # let the dock layout settle after the resize
    image = window.grab()
    assert image.width() >= 1500 and image.height() >= 940
    path = screenshots / f"{case}_{theme}.png"
    assert image.save(str(path))
    assert path.stat().st_size > 20_000
