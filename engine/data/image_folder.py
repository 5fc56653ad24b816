"""A dataset from a folder of images with one sub-folder per class.

``<path>/<class name>/<image file>``: class names are the sub-folder names in
sorted order; hidden entries are skipped. Every image is converted to 1 (grey)
or 3 (RGB) channels and resized to ``image_size`` × ``image_size`` (the aspect
ratio is not kept). Images are decoded with Pillow when it is installed (more
formats, quick to import) and with `torchvision.io.decode_image` otherwise.
Inputs are float32 (C, S, S) in [0, 1]. An empty class folder, an image that
cannot be read or a folder without class sub-folders is a `DatasetError`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.errors import DatasetError
from engine.data.kind import FILES, DatasetKindInfo
from engine.data.paths import existing_folder
from engine.data.source import CLASSIFICATION, SourceData
from engine.layers.spec import Param

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TORCHVISION_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


def has_pillow() -> bool:
    return importlib.util.find_spec("PIL") is not None


def read_with_pillow(path: Path, size: int, channels: int) -> np.ndarray:
    """One image as uint8 (C, S, S)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB").resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def read_with_torchvision(path: Path, size: int, channels: int) -> np.ndarray:
    """One image as uint8 (C, S, S), without Pillow."""
    import torch
    from torchvision.io import ImageReadMode, decode_image

    if path.suffix.lower() not in TORCHVISION_EXTENSIONS:
        raise ValueError(f"{path.suffix} images need Pillow (pip install pillow)")
    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    image = decode_image(str(path), mode=mode)[:channels].float().unsqueeze(0)
    resized = torch.nn.functional.interpolate(image, size=(size, size), mode="bilinear", antialias=True)
    return resized[0].round().clamp(0, 255).to(torch.uint8).numpy()


def class_folders(root: Path) -> list[Path]:
    """The class sub-folders of `root`, sorted by name."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(folders) < 2:
        raise DatasetError(f"{root} needs at least two sub-folders, one per class, each holding that "
                           f"class's images; found {len(folders)}")
    return folders


def image_files(folder: Path) -> list[Path]:
    """The image files in one class folder, sorted by name."""
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in EXTENSIONS)
    if not files:
        raise DatasetError(f"the class folder {folder} holds no images ({', '.join(sorted(EXTENSIONS))})")
    return files


def load_image_folder(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    import torch
    root = existing_folder(params["path"], base, "image")
    size, channels = params["image_size"], params["channels"]
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grey) or 3 (colour), got {channels}")
    read = read_with_pillow if has_pillow() else read_with_torchvision
    folders = class_folders(root)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, folder in enumerate(folders):
        for path in image_files(folder):
            try:
                images.append(read(path, size, channels))
            except Exception as err:  # decoders raise many types for broken or foreign files
                raise DatasetError(f"the image {path} could not be read: {err}") from err
            labels.append(label)
    x = torch.from_numpy(np.stack(images)).float().div_(255.0)
    return SourceData(root.name, x, torch.tensor(labels, dtype=torch.int64), task=CLASSIFICATION,
                      class_names=[f.name for f in folders])


KINDS = [
    DatasetKindInfo(
        "image_folder", "Image folder", FILES,
        "Your own images: a folder with one sub-folder per class (cats/, dogs/, ...), each holding that "
        "class's images (PNG, JPEG, ...). Images are resized to a square.",
        (Param("path", "str", "", help="The folder holding one sub-folder per class."),
         Param("image_size", "int", 32, help="Images are resized to this width and height.",
               minimum=4, maximum=1024),
         Param("channels", "int", 3, help="1 for grey, 3 for colour.", minimum=1, maximum=3)),
        load_image_folder, {"path": "folder"}),
]
