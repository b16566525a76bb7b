"""Text and shapes on an image, sized in pixels: the drawing kit of :mod:`posecheck.render`.

Fonts (Hershey Simplex sized by the digits' height in pixels), the colours, the ASCII
fallback of OpenCV < 5 (whose Hershey fonts draw ASCII only: "°" is spelled " deg"),
cached text widths and word wrap, darkened rectangles, and :class:`Canvas`, the per-image
helper that records every text box it draws (tests check that none leaves the image).

Images are (H, W, 3) uint8 RGB; colours are RGB. Imports cv2 and numpy only.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
AA = cv2.LINE_AA

WHITE = (255, 255, 255)
GREY = (170, 170, 170)
GREEN = (60, 210, 90)
DARK_GREEN = (25, 95, 45)
AMBER = (255, 185, 0)
CYAN = (0, 200, 255)
RED = (255, 90, 80)

# OpenCV < 5 draws ASCII only (Hershey fonts): there, spell out the few non-ASCII
# characters our texts use. OpenCV 5 draws them as they are.
_ASCII = str.maketrans({"°": " deg", "…": "...", "–": "-", "—": "-", "−": "-", "’": "'",
                        "×": "x", "±": "+/-", "≥": ">=", "≤": "<="})
UNICODE = int(cv2.__version__.split(".")[0]) >= 5
DEG = "°" if UNICODE else " deg"

def ascii_text(text: str) -> str:
    """``text`` made drawable by the Hershey fonts (ASCII only; degree sign -> " deg")."""
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def drawable(text: str) -> str:
    """``text`` as this OpenCV can draw it: unchanged on OpenCV 5, else :func:`ascii_text`."""
    return text if UNICODE else ascii_text(text)


_BASE_H = cv2.getTextSize("0", FONT, 1.0, 1)[0][1]  # digit height at scale 1, pixels


def _font(height: float) -> tuple[float, int]:
    """(scale, thickness) of Hershey Simplex whose digits are ``height`` pixels tall."""
    return height / _BASE_H, max(1, round(height / 11.0))


@lru_cache(maxsize=4096)
def _width(text: str, height: float, bold: bool) -> int:
    scale, thick = _font(height)
    return cv2.getTextSize(text, FONT, scale, thick + int(bold))[0][0]


@lru_cache(maxsize=512)
def _wrap(text: str, height: float, bold: bool, max_w: int) -> tuple[str, ...]:
    """Greedy word wrap of ``text`` to lines at most ``max_w`` pixels wide; a word wider
    than a line is split."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while _width(word, height, bold) > max_w and len(word) > 1:
            cut = max(1, len(word) * max_w // max(1, _width(word, height, bold)))
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        trial = f"{line} {word}" if line else word
        if line and _width(trial, height, bold) > max_w:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return tuple(lines)


def shade(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, keep: float = 0.4) -> None:
    """Darken a rectangle in place (keep = fraction of the original brightness)."""
    h, w = img.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = img[y0:y1, x0:x1]
        cv2.convertScaleAbs(roi, dst=roi, alpha=keep)


Line = tuple[str, float, bool, tuple[int, int, int]]  # text, height px, bold, colour


class Canvas:
    """Per-image drawing helpers: text sized in pixels, every text box recorded."""

    def __init__(self, img: np.ndarray, font_scale: float) -> None:
        self.img = img
        self.w = img.shape[1]
        self.s = min(img.shape[0], img.shape[1]) / 480.0  # line widths, markers
        self.font_scale = font_scale
        self.pad = max(3, round(img.shape[0] * 0.012))
        self.boxes: list[tuple[int, int, int, int, str]] = []

    def h(self, fraction: float) -> float:
        """A text height in pixels: ``fraction`` of the image height (of 1.25 x the width
        in a narrow, portrait image, where the height would make the text too wide)."""
        h, w = self.img.shape[:2]
        return fraction * min(h, 1.25 * w) * self.font_scale

    def width(self, text: str, height: float, bold: bool = False) -> int:
        """Width in pixels of ``text`` with digits ``height`` pixels tall."""
        return _width(text, round(height, 2), bold)

    def line_h(self, height: float) -> int:
        """Height of a text line, descenders included."""
        return round(height * 1.3)

    def wrap(self, text: str, height: float, bold: bool, max_w: int) -> tuple[str, ...]:
        """``text`` wrapped to ``max_w`` pixels."""
        return _wrap(text, round(height, 2), bold, max_w)

    def text(self, text: str, x: int, y: int, height: float, color: tuple[int, int, int],
             *, bold: bool = False, outline: bool = False) -> None:
        """Draw ``text`` with its baseline-left at (x, y), digits ``height`` pixels tall;
        ``outline`` adds a dark edge."""
        scale, thick = _font(round(height, 2))
        thick += int(bold)
        self.boxes.append((x, y - round(height) - 1, x + self.width(text, height, bold),
                           y + round(height * 0.3), text))
        if outline:
            cv2.putText(self.img, text, (x, y), FONT, scale, (0, 0, 0), thick + 2, AA)
        cv2.putText(self.img, text, (x, y), FONT, scale, color, thick, AA)

    def block_height(self, lines: list[Line]) -> int:
        """Height of a banner holding ``lines``."""
        return self.pad + sum(self.line_h(h) + self.pad for _, h, _, _ in lines)

    def block(self, lines: list[Line], y: int, x0: int, x1: int) -> int:
        """Draw a shaded banner from y with ``lines``; returns its bottom y."""
        bottom = y + self.block_height(lines)
        shade(self.img, x0, y, x1, bottom)
        cy = y + self.pad
        for text, height, bold, color in lines:
            cy += round(height)
            self.text(text, x0 + self.pad, cy, height, color, bold=bold)
            cy += self.line_h(height) - round(height) + self.pad
        return bottom


def pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))
