"""Which augmentations to apply to training batches: the settings, declared once, without torch.

`AUGMENT_SETTINGS` declares every augmentation setting (kind, default, range, help); the
`AugmentConfig` dataclass holds them, and its JSON form is parsed and checked against the
declaration. The batch functions that apply them live in `engine.data.augment` (torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.data.errors import DatasetError
from engine.settings_schema import SettingValueError, by_path, parse_tree, setting

SECTION = "Augmentation"
AUGMENT_SETTINGS = (
    setting("hflip", "bool", False, "Horizontal flips", SECTION, "Flip half the images left to right (images only)."),
    setting("crop_padding", "int", 0, "Crop padding", SECTION,
            "Pixels of zero padding around the image before a random crop back to size.", minimum=0, maximum=64),
    setting("rotation", "float", 0.0, "Rotation", SECTION, "Largest random rotation in degrees, either way.",
            minimum=0.0, maximum=180.0),
    setting("color_jitter", "float", 0.0, "Colour jitter", SECTION,
            "Brightness and contrast strength: factors are drawn from [1 - s, 1 + s].", minimum=0.0, maximum=1.0),
)
_TABLE = by_path(AUGMENT_SETTINGS)


def _d(path: str) -> Any:
    return _TABLE[path].default


@dataclass
class AugmentConfig:
    """Which augmentations to apply to training batches (see `AUGMENT_SETTINGS`)."""

    hflip: bool = _d("hflip")
    crop_padding: int = _d("crop_padding")
    rotation: float = _d("rotation")
    color_jitter: float = _d("color_jitter")

    @property
    def enabled(self) -> bool:
        return self.hflip or self.crop_padding > 0 or self.rotation > 0 or self.color_jitter > 0

    def validate(self) -> None:
        """Raise `DatasetError` when a value does not fit its declaration."""
        try:
            for s in AUGMENT_SETTINGS:
                s.coerce(getattr(self, s.path))
        except SettingValueError as exc:
            raise DatasetError(str(exc)) from None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> AugmentConfig:
        try:
            values = parse_tree(AUGMENT_SETTINGS, data, "augmentation")
        except SettingValueError as exc:
            raise DatasetError(str(exc)) from None
        return cls(**values)
