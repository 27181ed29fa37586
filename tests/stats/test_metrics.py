"""The dashboard's numbers against hand-computed cases (docs/METRICS.md)."""

import pytest

from survey.stats.metrics import higher_p_value, rate, significantly_higher, wilson


def test_no_answers_is_no_rate():
    r = rate({})
    assert (r.n, r.value, r.mean_score, r.interval, r.enough) == (0, None, None, None, False)


def test_nine_answers_are_not_enough_ten_are():
    assert rate({5: 9}).value is None
    ten = rate({5: 9, 1: 1})
    assert ten.value == 0.9 and ten.mean_score == 92.0 and ten.enough


def test_satisfied_means_level_3_and_up_unless_the_project_says_otherwise():
    counts = {5: 2, 4: 3, 3: 5, 2: 6, 1: 4}  # n = 20
    assert rate(counts).value == 0.5
    assert rate(counts, satisfied_from=4).value == 0.25
    assert rate(counts).mean_score == (2 * 100 + 3 * 80 + 5 * 60 + 6 * 40 + 4 * 20) / 20


def test_all_one_level():
    assert rate({1: 12}).value == 0.0 and rate({1: 12}).mean_score == 20.0
    assert rate({5: 12}).value == 1.0 and rate({5: 12}).mean_score == 100.0


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # Wilson (1927); e.g. statsmodels proportion_confint
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (95, 100, 0.8883, 0.9785),
        (50, 100, 0.4038, 0.5962),
    ],
)
def test_wilson_bounds_match_known_values(k, n, low, high):
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_a_constructed_discrepancy_is_flagged_and_chance_is_not():
    qr, phone = rate({5: 40}), rate({5: 24, 2: 16})  # 100 % vs 60 %
    assert higher_p_value(qr, phone) < 0.001 and significantly_higher(qr, phone)
    close_qr, close_phone = rate({5: 18, 1: 2}), rate({5: 17, 1: 3})  # 90 % vs 85 %
    assert higher_p_value(close_qr, close_phone) > 0.3
    assert not significantly_higher(close_qr, close_phone)
    assert not significantly_higher(rate({5: 9}), rate({1: 30}))  # 9 answers: not enough


def test_the_two_proportion_test_is_one_sided():
    low, high = rate({5: 10, 1: 10}), rate({5: 20})
    assert higher_p_value(high, low) < 0.01 < higher_p_value(low, high)
    assert higher_p_value(rate({5: 10}), rate({5: 10})) == 1.0  # no spread at all
