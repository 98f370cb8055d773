"""The sample run as a fixture; builders live in report_fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from report_fixtures import make_run


@pytest.fixture
def run() -> dict[str, Any]:
    return make_run()
