"""The SDK's tests run against a real `tally serve` (`.ci/python-sdk.sh` starts one on
127.0.0.1 over the demo warehouse with today pinned to 2026-11-23, and mints the tokens).

    TALLY_BASE_URL=http://127.0.0.1:PORT TALLY_ANALYST_TOKEN=… TALLY_ADMIN_TOKEN=… pytest tests
"""

import os
import sys
from pathlib import Path

import pytest

# The packages live beside the tests, uninstalled: `tally` and the generated `tally_client`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tally import Tally  # noqa: E402


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through .ci/python-sdk.sh", pytrace=False)
    return value


@pytest.fixture(scope="session")
def base_url() -> str:
    return _env("TALLY_BASE_URL")


@pytest.fixture
def analyst(base_url):
    with Tally(base_url, _env("TALLY_ANALYST_TOKEN")) as t:
        yield t


@pytest.fixture
def admin(base_url):
    with Tally(base_url, _env("TALLY_ADMIN_TOKEN")) as t:
        yield t
