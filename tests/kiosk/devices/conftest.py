"""Fixtures shared by the driver tests."""
import pytest

from kiosk.events import EventBus


@pytest.fixture
def bus():
    """A fresh event bus for one driver."""
    return EventBus()
