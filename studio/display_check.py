"""Can Qt open a window here? A check made before the QApplication exists.

On Linux, Qt aborts the whole process (with a terse "could not load the Qt
platform plugin" message) when there is no display or when its xcb plugin is
missing system libraries. `display_problem()` finds both cases first and returns
a message that names the missing packages and the `apt-get install` line, so
`layerloom` can print it and exit with status 2 instead. Platforms that need no
display (``QT_QPA_PLATFORM=offscreen``, ``minimal``, ``vnc``, ...) and other
operating systems pass without a check. Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from collections.abc import Callable, Mapping

# soname -> Debian/Ubuntu package
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libEGL.so.1": "libegl1",
}
WAYLAND_LIBRARIES = {
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
}
HEADLESS_HINT = ("Without a display, the headless commands still work: "
                 "layerloom validate|summary|train|export|bench FILE.")

Finder = Callable[[str], bool]


def _ldconfig_sonames() -> set[str] | None:
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            return {line.split()[0] for line in out.stdout.splitlines()[1:] if line.strip()}
    return None


def system_finder() -> Finder:
    """A lookup of shared libraries by soname: the linker cache, then ctypes.util.find_library."""
    known = _ldconfig_sonames()

    def find(soname: str) -> bool:
        if known is not None and soname in known:
            return True
        stem = soname.removeprefix("lib").split(".so")[0]
        return ctypes.util.find_library(stem) is not None if known is None else False

    return find


def missing_packages(libraries: Mapping[str, str], finder: Finder) -> dict[str, str]:
    """The libraries (soname -> package) that `finder` cannot find."""
    return {soname: package for soname, package in libraries.items() if not finder(soname)}


def _missing_message(kind: str, missing: Mapping[str, str]) -> str:
    packages = " ".join(dict.fromkeys(missing.values()))
    return (
        f"Layerloom cannot open its window: Qt's {kind} platform needs system libraries that are "
        f"missing here: {', '.join(missing)}.\n"
        f"Install them (Debian/Ubuntu) with:\n\n    sudo apt-get install {packages}\n\n{HEADLESS_HINT}"
    )


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None,
                    finder: Finder | None = None) -> str | None:
    """Why Qt could not open a window in this environment, or None when it should."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if qpa and qpa not in ("xcb", "wayland", "wayland-egl"):
        return None  # offscreen, minimal, vnc, eglfs, linuxfb: no display server needed
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    wants_wayland = qpa.startswith("wayland") or (not qpa and bool(wayland))
    if (qpa == "xcb" and not display) or (qpa.startswith("wayland") and not wayland) or not (display or wayland):
        need = "DISPLAY" if qpa == "xcb" else "WAYLAND_DISPLAY" if qpa else "DISPLAY or WAYLAND_DISPLAY"
        return (f"Layerloom cannot open its window: there is no display ({need} is not set).\n"
                "Run it in a desktop session, or with QT_QPA_PLATFORM=offscreen for a window nobody sees.\n"
                f"{HEADLESS_HINT}")
    finder = finder or system_finder()
    if wants_wayland:
        missing = missing_packages(WAYLAND_LIBRARIES, finder)
        if not missing:
            return None
        if not display or qpa:
            return _missing_message("wayland", missing)
    missing = missing_packages(XCB_LIBRARIES, finder)
    return _missing_message("xcb", missing) if missing else None
