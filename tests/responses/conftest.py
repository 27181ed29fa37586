"""What the resident form's browser tests share: a phone in WeChat."""

import pytest

from tests.browser import PHONE


@pytest.fixture
def phone(chromium, live_server):
    """A page in a fresh phone context (its own cookies and localStorage)."""
    context = chromium.new_context(**PHONE)
    yield context.new_page()
    context.close()
