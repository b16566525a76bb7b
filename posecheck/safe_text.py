"""Text that is safe to show: in a terminal, and in a spreadsheet opening our CSV.

- :func:`printable` escapes control characters (ESC sequences, carriage returns, ...) of a
  file name or an imported text before it is printed, so a name cannot move the cursor,
  recolour the terminal or hide a part of a message.
- :func:`escape_cell` / :func:`unescape_cell` neutralise CSV text cells the OWASP way: a
  cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (a formula to a
  spreadsheet) gets a leading ``'``; so does one that already starts with ``'``, so that
  removing the first ``'`` on import gives back exactly what was exported.

Standard library only.
"""

from __future__ import annotations

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def printable(text: object) -> str:
    """``text`` with every non-printable character written as a Python escape (``\\x1b``)."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def escape_cell(text: str) -> str:
    """A CSV text cell a spreadsheet shows as text (see the module docstring); a plain
    number ("-2.5") is no formula and stays as it is."""
    if text.startswith((*FORMULA_START, QUOTE)) and not _number(text):
        return QUOTE + text
    return text


def is_formula(text: str) -> bool:
    """True when a spreadsheet would evaluate ``text`` as a formula (not a plain number)."""
    return text.startswith(FORMULA_START) and not _number(text)


def unescape_cell(text: str) -> str:
    """Undo :func:`escape_cell` (callers reject :func:`is_formula` cells first)."""
    return text[1:] if text.startswith(QUOTE) else text
