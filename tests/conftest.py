"""Settings shared by every test: Qt runs offscreen (set before anything imports Qt).

Nothing here imports Qt, so the engine tests can still check that the engine never does.
"""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_QUICK_BACKEND", "software")
