"""Shared test fixtures and paths."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
MODELS = ROOT / "models"


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT

# Test-support modules (e.g. the synthetic skeleton generator tests/skeleton.py) are
# importable from every test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def berlin_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Europe/Berlin (CET/CEST) and no $POSECHECK_PERSON is set."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.delenv("POSECHECK_PERSON", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
