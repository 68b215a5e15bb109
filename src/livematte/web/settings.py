"""Where the page's choices live between runs: settings in the config folder, uploads in
the data folder (XDG base directories; ``~/.config`` and ``~/.local/share`` by default)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import read_toml
from ..errors import UserError

log = logging.getLogger("livematte")

# The settings a run restores: each is skipped when its flag was given (flags win).
SAVED_KEYS = ("background", "mode", "blur", "colour")
# Which command-line flag overrides which saved settings: -b says what to show, so none
# of the page's saved look is restored over it; --blur sets the blur strength.
FLAG_OVERRIDES = {"background": SAVED_KEYS, "blur": ("blur",)}


@dataclass
class SavedSettings:
    """The page's saved choices as this run uses them: where they live, whether this run
    reads and writes them (--no-saved-settings: neither), and which it restored."""

    path: Path
    enabled: bool = True
    restored: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "enabled": self.enabled, "restored": self.restored}


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def settings_path() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "livematte" / "live.toml"


def uploads_folder() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "livematte" / "backgrounds"


def load_settings(
    path: Path | None = None, flags_given: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The saved settings less those a given flag overrides; {} when none or unreadable."""
    path = path or settings_path()
    if not path.is_file():
        return {}
    try:
        saved = read_toml(path)
    except UserError as exc:
        log.warning("ignoring the saved page settings: %s", exc)
        return {}
    skip = {key for flag in flags_given for key in FLAG_OVERRIDES.get(flag, ())}
    return {k: v for k, v in saved.items() if k in SAVED_KEYS and k not in skip}


def forget_settings(path: Path | None = None) -> bool:
    """Delete the saved settings (the page's "forget" button); False when there were none."""
    path = path or settings_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def save_settings(state: dict[str, Any], path: Path | None = None) -> None:
    """Write the restorable part of ``state`` (atomically: a crash leaves the old file)."""
    path = path or settings_path()
    lines = ["# Written by livematte's control page; restored at the next live run."]
    for key in SAVED_KEYS:
        if key in state:
            # JSON strings and numbers are valid TOML values.
            lines.append(f"{key} = {json.dumps(state[key])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:12]}")  # per writer
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(partial, path)
