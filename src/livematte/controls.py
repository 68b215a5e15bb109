"""Live key controls: what each key does, and a terminal reader for when there is no window.

Keys: ``b`` next background, ``m`` next mode (image / blur / colour / passthrough),
``+``/``-`` blur strength, ``p`` privacy (freeze the picture until pressed again), ``q``
quit. The preview window and the terminal reader feed the same :class:`LiveControls`, so
the keys behave alike in both. Every background is built once at start; switching only
swaps which one the compositor uses, so nothing is reallocated per frame.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from .composite import Background, BlurBackground, ColourBackground, Compositor
from .config import BLUR_RANGE, blur_problem
from .io.partials import add_abort_hook, remove_abort_hook

log = logging.getLogger("livematte")

MODES = ("image", "blur", "colour", "passthrough")
# The colour mode's default: a chroma-key green OBS keys out well.
DEFAULT_COLOUR = (0, 177, 64)
BLUR_STEP = 1.25
KEY_HELP = "keys: b background, m mode, +/- blur, p privacy, q quit"
# What apply() takes, in the order it applies them (a background after the blur it may set).
CHANGE_KEYS = ("blur", "colour", "background", "mode", "privacy", "quality")
# The matte qualities the page can switch between (--model auto only; see matting.quality).
QUALITIES = ("fast", "best")
_COLOUR_SPEC = re.compile(r"^#([0-9a-fA-F]{6})$")
_BLUR_SPEC = re.compile(r"^blur(?::(\d+(?:\.\d+)?))?$")


class LiveControls:
    """The one live state (background, mode, blur, colour, privacy) behind keys and page.

    Keys and the control page both go through :meth:`apply`, under one lock, from any
    thread; the live loop notices the change (:meth:`take_change`) at its next frame and
    points the compositor at the new background (a reference swap, no copy).
    """

    def __init__(self, backgrounds: list[Background], blur: float = 25.0) -> None:
        self.backgrounds = backgrounds
        self.index = 0
        self.mode = "image"
        self.privacy = False
        # The matte quality ("fast"/"best") where it can be switched (--model auto), else "".
        self.quality = ""
        self.quit = False
        self.message = ""
        self._lock = threading.RLock()
        self._changed = False
        self.blur: BlurBackground = next(
            (b for b in backgrounds if isinstance(b, BlurBackground)), None
        ) or BlurBackground(blur)
        self.colour: ColourBackground = next(
            (b for b in backgrounds if isinstance(b, ColourBackground)), None
        ) or ColourBackground(DEFAULT_COLOUR)

    @property
    def background(self) -> Background:
        """The background the current mode shows (passthrough shows none)."""
        if self.mode == "blur":
            return self.blur
        if self.mode == "colour":
            return self.colour
        return self.backgrounds[self.index]

    @property
    def passthrough(self) -> bool:
        return self.mode == "passthrough"

    def press(self, key: str) -> str | None:
        """Act on one key; returns a short description of the change, None if ignored."""
        with self._lock:
            if key in ("q", "Q"):
                self.quit = True
                return "quit"
            change = self._key_change(key)
            return None if change is None else self.apply(change)

    def _key_change(self, key: str) -> dict[str, Any] | None:
        if key == "b":
            return {"background": (self.index + 1) % len(self.backgrounds)}
        if key == "m":
            return {"mode": MODES[(MODES.index(self.mode) + 1) % len(MODES)]}
        if key in ("+", "="):
            return {"blur": self._clamp_blur(self.blur.strength * BLUR_STEP)}
        if key in ("-", "_"):
            return {"blur": self._clamp_blur(self.blur.strength / BLUR_STEP)}
        if key == "p":
            return {"privacy": not self.privacy}
        return None

    def apply(self, changes: dict[str, Any]) -> str:
        """Apply ``{"background"|"mode"|"blur"|"colour"|"privacy"|"quality": value}`` from
        any thread.

        ``background`` is a gallery index or spec, a colour ``#RRGGBB`` (colour mode) or
        ``blur``/``blur:N`` (blur mode). Every value is checked before any is applied, so
        a bad request changes nothing; a ValueError says what is wrong.
        """
        if not changes:
            raise ValueError(f"nothing to change; give one of {', '.join(CHANGE_KEYS)}")
        unknown = sorted(set(changes) - set(CHANGE_KEYS))
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}; known: {', '.join(CHANGE_KEYS)}")
        with self._lock:
            steps = [self._plan(key, changes[key]) for key in CHANGE_KEYS if key in changes]
            messages = [step() for step in steps]
            self.message = ", ".join(messages)
            self._changed = True
            return self.message

    def _plan(self, key: str, value: Any) -> Callable[[], str]:
        """Check one change and return the function that makes it."""
        if key == "mode":
            if value not in MODES:
                raise ValueError(f"mode must be one of {', '.join(MODES)}, not {value!r}")
            return lambda: self._set_mode(value)
        if key == "blur":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"blur must be a number, not {value!r}")
            problem = blur_problem(value)
            if problem is not None:
                raise ValueError(problem)
            return lambda: self._set_blur(float(value))
        if key == "privacy":
            if not isinstance(value, bool):
                raise ValueError(f"privacy must be true or false, not {value!r}")
            return lambda: self._set_privacy(value)
        if key == "colour":
            colour = parse_colour(value)
            return lambda: self._set_colour(colour, "colour")
        if key == "quality":
            if not self.quality:
                raise ValueError("the quality switches under --model auto only")
            if value not in QUALITIES:
                raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {value!r}")
            return lambda: self._set_quality(value)
        return self._plan_background(value)

    def _set_quality(self, quality: str) -> str:
        self.quality = quality
        return f"quality {quality}"

    def _plan_background(self, value: Any) -> Callable[[], str]:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self.backgrounds):
                raise ValueError(f"background index must be 0 to {len(self.backgrounds) - 1}")
            return lambda: self._select(value)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"background must be a spec or an index, not {value!r}")
        spec = value.strip()
        specs = [b.spec for b in self.backgrounds]
        if spec in specs:
            return lambda: self._select(specs.index(spec))
        if spec.startswith("#"):
            colour = parse_colour(spec)
            return lambda: self._set_colour(colour, "mode")
        blur = _BLUR_SPEC.match(spec.lower())
        if blur:
            strength = float(blur.group(1)) if blur.group(1) else self.blur.strength
            self._plan("blur", strength)  # the range check

            def blur_mode() -> str:
                self._set_blur(strength)
                return self._set_mode("blur")

            return blur_mode
        raise ValueError(f"background {spec!r} is not in the gallery, nor #RRGGBB, blur or blur:N")

    def _select(self, index: int) -> str:
        self.index = index
        self.mode = "image"
        return f"background {self.index + 1}/{len(self.backgrounds)}: {self.background.spec}"

    def _set_mode(self, mode: str) -> str:
        self.mode = mode
        shown = self.shown_index()
        if shown is not None:
            self.index = shown  # the gallery's own blur or colour: 'b' goes on from it
        return f"mode {self.mode}"

    def shown_index(self) -> int | None:
        """The gallery index of what shows: the selected picture in image mode, the
        gallery's own blur or colour entry in those modes; None when the mode shows
        something the gallery does not hold (a blur or colour set on the page, or none)."""
        if self.mode == "image":
            return self.index
        if self.passthrough:
            return None
        shown = self.background
        return next((i for i, b in enumerate(self.backgrounds) if b is shown), None)

    def _set_privacy(self, on: bool) -> str:
        self.privacy = on
        return "privacy on (picture frozen)" if on else "privacy off"

    def _set_colour(self, colour: tuple[int, int, int], say: str) -> str:
        # A new object (its canvas is made once, on the next frame), swapped in whole.
        if colour != self.colour.colour:
            self.colour = ColourBackground(colour)
        self.mode = "colour"
        return f"colour {self.colour.spec}" if say == "colour" else "mode colour"

    @staticmethod
    def _clamp_blur(strength: float) -> float:
        return min(BLUR_RANGE[1], max(BLUR_RANGE[0], strength))

    def _set_blur(self, strength: float) -> str:
        value = self._clamp_blur(strength)
        self.blur.strength = value
        self.blur.spec = f"blur:{value:g}"  # what the page shows and a restart restores
        shown = self.backgrounds[self.index]
        if isinstance(shown, BlurBackground):
            shown.strength = value
        return f"blur {value:.0f}"

    def add_background(self, background: Background) -> int:
        """Add one to the gallery (an upload) and return its index; it is not selected."""
        with self._lock:
            self.backgrounds.append(background)
            return len(self.backgrounds) - 1

    def take_change(self) -> bool:
        """True once after each :meth:`apply` (the live loop's cue to act on it)."""
        with self._lock:
            changed, self._changed = self._changed, False
            return changed

    def state(self) -> dict[str, Any]:
        """The settings a page shows and a settings file keeps (JSON types only)."""
        with self._lock:
            return {
                "background": self.background.spec,
                "backgrounds": [b.spec for b in self.backgrounds],
                "index": self.shown_index(),
                "mode": self.mode,
                "blur": round(self.blur.strength, 2),
                "blur_range": list(BLUR_RANGE),
                "colour": self.colour.spec,
                "privacy": self.privacy,
                "quality": self.quality,
            }

    def point(self, compositor: Compositor) -> None:
        """Point the compositor at the current background (a reference swap, no copy)."""
        with self._lock:
            if not self.passthrough:
                compositor.background = self.background


def parse_colour(value: Any) -> tuple[int, int, int]:
    """``#RRGGBB`` as an RGB triple, or a ValueError saying the form."""
    match = _COLOUR_SPEC.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"colour must be #RRGGBB (e.g. #00b140), not {value!r}")
    text = match.group(1)
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


class TerminalKeys:
    """Single key presses from a terminal, read on a thread, without waiting for Enter.

    Only starts when stdin is a terminal; the terminal's settings are restored on close.
    Ctrl-C still reaches the process as SIGINT (the terminal keeps its signal keys).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.keys: queue.Queue[str] = queue.Queue()
        self._saved: list[Any] | None = None  # termios.tcgetattr's attributes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def start(self) -> bool:
        """Start reading keys; False (and nothing started) when stdin is not a terminal."""
        if not self.available:
            return False
        if os.name == "posix":
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            add_abort_hook(self._restore_terminal)
        self._thread = threading.Thread(target=self._read, name="livematte-keys", daemon=True)
        self._thread.start()
        return True

    def _read(self) -> None:
        while not self._stop.is_set():
            key = self._read_key(0.1)
            if key:
                self.keys.put(key)

    def _read_key(self, timeout: float) -> str:
        if sys.platform == "win32":  # pragma: no cover - Windows only
            import msvcrt
            import time

            if msvcrt.kbhit():
                return msvcrt.getwch()
            time.sleep(timeout)
            return ""
        import select

        ready, _, _ = select.select([self.stream], [], [], timeout)
        return os.read(self.stream.fileno(), 1).decode(errors="ignore") if ready else ""

    def poll(self) -> list[str]:
        """Keys pressed since the last call."""
        pressed = []
        while True:
            try:
                pressed.append(self.keys.get_nowait())
            except queue.Empty:
                return pressed

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        self._restore_terminal()

    def _restore_terminal(self) -> None:
        """Give the terminal back its line mode (also on an abort, via the abort hook)."""
        remove_abort_hook(self._restore_terminal)
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
