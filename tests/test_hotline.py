"""The hotline as a link a phone dials in one tap."""

import pytest

from survey.hotline import hotline_link


@pytest.mark.parametrize(
    ("printed", "dialled"),
    [
        ("12345", "12345"),
        ("0578-2123456", "05782123456"),
        ("（0577）8888 6666", "057788886666"),
        ("０５７８－２１２３４５６", "05782123456"),  # full-width, as typed on a Chinese keyboard
        ("0578-2123456 转 8", "05782123456,8"),  # the extension after a pause
        ("12345、0578-2123456", "12345"),  # two numbers: the first
    ],
)
def test_a_hotline_dials_what_it_shows(printed, dialled):
    assert hotline_link(printed) == f'<a class="tel" href="tel:{dialled}">{printed}</a>'


def test_a_hotline_without_digits_stays_text_and_is_escaped():
    assert hotline_link("<b>转</b>") == "&lt;b&gt;转&lt;/b&gt;"
