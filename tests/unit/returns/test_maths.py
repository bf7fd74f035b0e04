"""services.returns.maths: the returns of CONTRACT §3, "Returns of a client on snapshot date D", and the
average capital the aggregate weights by ("Aggregates").

Every expected number is worked out by hand from the contract's definitions or taken from a published
worked example, with the arithmetic in the comments; none is copied from the code under test. Exact values
are written as fractions and compared to 1e-18; where an example publishes rounded figures, the rounded
figure is asserted too.

Date mapping of the published "day k" examples: the valuation of date t is taken at the end of day t and a
period is (S, E], so a flow "on day k" of a period starting after S is dated S + k and weighted
(E − (S + k)) / (E − S) = (CD − k) / CD. This is the mapping that reproduces the published average capital
591.23677 (the alternative (CD − k + 1) / CD gives 591.30871) and the published 7.8431 % and 13.3663 %.

Income and fee flows are not external flows (CONTRACT §3, `cash_flow.recorded`): the snapshotter filters
them out, so they never enter `Point.flows`; nothing to test here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from services.returns.maths import (
    NO_WINDOW,
    Flow,
    Point,
    PointReturns,
    Window,
    link,
    modified_dietz,
    series,
)

pytestmark = pytest.mark.unit

D = Decimal
date = dt.date
TINY = Fraction(1, 10**18)
ONE = Decimal(1)


def q(value: Decimal | None, places: str) -> Decimal:
    assert value is not None
    return value.quantize(D(places), rounding=ROUND_HALF_UP)


def exactly(actual: Decimal | None, expected: Fraction | int) -> bool:
    """`actual` equals the exact rational `expected` up to Decimal's 28-digit rounding."""
    assert actual is not None
    scale = max(Fraction(1), abs(Fraction(expected)))
    return abs(Fraction(actual) - Fraction(expected)) <= TINY * scale


def flow(day: dt.date, amount: str | int) -> Flow:
    return Flow(day, D(amount))


def point(day: dt.date, value: str | int, *flows: Flow) -> Point:
    return Point(day, D(value), tuple(flows))


def at(results: Sequence[PointReturns], day: dt.date) -> PointReturns:
    (found,) = [r for r in results if r.as_of == day]
    return found


# --- Modified Dietz of one period --------------------------------------------------------------------------


def test_published_monthly_example_with_a_mid_month_withdrawal() -> None:
    # BMV 50,000,000 at the end of Feb 28, 2025; EMV 51,500,000 on Mar 31; withdrawal −500,000 on Mar 15.
    # CD = 31 days; w = (Mar 31 − Mar 15) / 31 = 16/31.
    # gain = 51,500,000 − 50,000,000 − (−500,000) = 2,000,000
    # average capital = 50,000,000 − 500,000 × 16/31 = (1,550,000,000 − 8,000,000)/31 = 1,542,000,000/31
    #                 = 49,741,935.4838…
    # return = 100 × 2,000,000 × 31 / 1,542,000,000 = 6,200/1,542 = 3,100/771 = 4.020752… %
    d = modified_dietz(
        D(50_000_000), D(51_500_000), date(2025, 2, 28), date(2025, 3, 31), [flow(date(2025, 3, 15), -500_000)]
    )
    assert d.gain == D(2_000_000)
    assert exactly(d.average_capital, Fraction(1_542_000_000, 31))
    assert q(d.average_capital, "0.01") == D("49741935.48")
    assert exactly(d.percent, Fraction(3_100, 771))
    assert q(d.percent, "0.0001") == D("4.0208")


def test_published_31_day_example_with_four_flows() -> None:
    # BMV 585.60 → EMV 602.34 over 31 days. Dates: S = 2024-12-31, E = 2025-01-31, "day k" = Jan k (S + k),
    # weight (31 − k)/31.
    # ΣF = −15.05 + 19.82 + 16.42 − 18.96 = 2.23; gain = 602.34 − 585.60 − 2.23 = 14.51
    # Σ F (31 − k) = −15.05×26 + 19.82×22 + 16.42×16 − 18.96×7 = −391.30 + 436.04 + 262.72 − 132.72 = 174.74
    # average capital = 585.60 + 174.74/31 = (18,153.60 + 174.74)/31 = 18,328.34/31 = 591.236774…
    # return = 100 × 14.51 × 31 / 18,328.34 = 44,981/18,328.34 = 2.454198… %
    # (weights (32 − k)/31 would give 585.60 + 176.97/31 = 591.308710…, not the published 591.23677.)
    flows = [
        flow(date(2025, 1, 5), "-15.05"),
        flow(date(2025, 1, 9), "19.82"),
        flow(date(2025, 1, 15), "16.42"),
        flow(date(2025, 1, 24), "-18.96"),
    ]
    d = modified_dietz(D("585.60"), D("602.34"), date(2024, 12, 31), date(2025, 1, 31), flows)
    assert d.gain == D("14.51")
    assert exactly(d.average_capital, Fraction(1_832_834, 3_100))
    assert q(d.average_capital, "0.00001") == D("591.23677")
    assert exactly(d.percent, Fraction(4_498_100, 1_832_834))
    assert q(d.percent, "0.0001") == D("2.4542")


def test_published_30_day_example_with_one_contribution() -> None:
    # BMV 500 → EMV 600 over 30 days, +60 on day 25. Dates: S = 2025-03-31, E = 2025-04-30, day 25 = Apr 25.
    # w = (30 − 25)/30 = 1/6; average capital = 500 + 60/6 = 510; gain = 600 − 500 − 60 = 40
    # return = 100 × 40/510 = 7.843137… %
    d = modified_dietz(D(500), D(600), date(2025, 3, 31), date(2025, 4, 30), [flow(date(2025, 4, 25), 60)])
    assert d.gain == D(40)
    assert d.average_capital == D(510)
    assert exactly(d.percent, Fraction(4_000, 510))
    assert q(d.percent, "0.0001") == D("7.8431")


def test_published_90_day_example_with_two_flows() -> None:
    # BMV 100,000 → EMV 125,000 over 90 days, +20,000 on day 20, −10,000 on day 60.
    # Dates: S = 2024-12-31, E = 2025-03-31 (31 + 28 + 31 = 90 days); day 20 = Jan 20; day 60 = Mar 1
    # (Jan 31 is day 31, Feb 28 is day 59).
    # weights 70/90 and 30/90; average capital = 100,000 + (20,000×70 − 10,000×30)/90 = 100,000 + 1,100,000/90
    #   = 10,100,000/90 = 112,222.22…; gain = 125,000 − 100,000 − 10,000 = 15,000
    # return = 100 × 15,000 × 90 / 10,100,000 = 135,000,000/10,100,000 = 13.366336… %
    flows = [flow(date(2025, 1, 20), 20_000), flow(date(2025, 3, 1), -10_000)]
    d = modified_dietz(D(100_000), D(125_000), date(2024, 12, 31), date(2025, 3, 31), flows)
    assert d.gain == D(15_000)
    assert exactly(d.average_capital, Fraction(10_100_000, 90))
    assert exactly(d.percent, Fraction(135_000_000, 10_100_000))
    assert q(d.percent, "0.0001") == D("13.3663")


def test_negative_average_capital_reports_the_gain_and_no_percent() -> None:
    # BMV 1,000 on 2025-03-31, withdrawal 1,200 on Apr 1 (early), EMV 250 on Apr 30. CD = 30, w = 29/30.
    # average capital = 1,000 − 1,200 × 29/30 = 1,000 − 1,160 = −160 ≤ 0 → percent null
    # gain = 250 − 1,000 + 1,200 = 450
    d = modified_dietz(D(1_000), D(250), date(2025, 3, 31), date(2025, 4, 30), [flow(date(2025, 4, 1), -1_200)])
    assert d.gain == D(450)
    assert d.average_capital == D(-160)
    assert d.percent is None


def test_zero_average_capital_is_not_computable() -> None:
    # Withdrawal 1,200 on Apr 5: w = 25/30 = 5/6; average capital = 1,000 − 1,000 = 0 → percent null.
    # gain = 250 − 1,000 + 1,200 = 450
    d = modified_dietz(D(1_000), D(250), date(2025, 3, 31), date(2025, 4, 30), [flow(date(2025, 4, 5), -1_200)])
    assert d.gain == D(450)
    assert d.average_capital == 0
    assert d.percent is None


def test_a_flow_on_the_end_date_has_weight_zero() -> None:
    # E − t = 0: average capital = BMV = 1,000; gain = 1,100 − 1,000 − 100 = 0 → 0 %
    d = modified_dietz(D(1_000), D(1_100), date(2025, 3, 31), date(2025, 4, 30), [flow(date(2025, 4, 30), 100)])
    assert d == modified_dietz(D(1_000), D(1_000), date(2025, 3, 31), date(2025, 4, 30), [])
    assert d.average_capital == D(1_000)
    assert d.percent == 0


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="ends after"):
        modified_dietz(D(1), D(1), date(2025, 1, 1), date(2025, 1, 1), [])


# --- Linking -----------------------------------------------------------------------------------------------


def test_published_linking_example() -> None:
    # 1.162484 × 0.944430 = 1.162484 − 1.162484 × 0.05557 = 1.162484 − 0.06459923588 = 1.09788476412
    # → 9.788476412 % (9.7885 % published)
    linked = link([D("16.2484"), D("-5.5570")])
    assert linked == D("9.788476412")
    assert q(linked, "0.0001") == D("9.7885")


def test_linking_edge_cases() -> None:
    assert link([]) == 0
    assert link([D(10), None, D(5)]) is None
    # 1.1 × 0 × 1.5 = 0 → −100 %
    assert link([D(10), D(-100), D(50)]) == D(-100)


# --- Windows over a client's snapshots ---------------------------------------------------------------------


def q1_history() -> list[Point]:
    """The published monthly example as the third month of Q1 2025, after January +2.3 % and February −1.0 %.

    2024-12-31: 50,000,000
    2025-01-31: 51,150,000 (no flows: gain 1,150,000 / 50,000,000 = +2.3 %)
    2025-02-28: 50,000,000 with a withdrawal of 638,500 on Feb 28 (w = 0, average capital = 51,150,000,
                gain = 50,000,000 − 51,150,000 + 638,500 = −511,500 = −1.0 % of 51,150,000)
    2025-03-31: 51,500,000 with a withdrawal of 500,000 on Mar 15 (4.0208 %, above)
    """
    return [
        point(date(2024, 12, 31), 50_000_000),
        point(date(2025, 1, 31), 51_150_000),
        point(date(2025, 2, 28), 50_000_000, flow(date(2025, 2, 28), -638_500)),
        point(date(2025, 3, 31), 51_500_000, flow(date(2025, 3, 15), -500_000)),
    ]


def test_published_quarter_links_january_february_and_march() -> None:
    results = series(q1_history())
    jan, feb, mar = (at(results, date(2025, m, d)) for m, d in ((1, 31), (2, 28), (3, 31)))

    assert jan.period == Window(date(2024, 12, 31), D(1_150_000), D("2.3"), D(50_000_000))
    assert jan.monthly == jan.period  # last snapshot of December = the previous one
    assert feb.period.percent == D(-1)
    assert feb.net_external_flows == D(-638_500)
    # 1.023 × 0.99 = 1.01277
    assert feb.ytd.start == date(2024, 12, 31)
    assert feb.ytd.percent == D("1.277")

    # March: period = monthly = the published example.
    assert mar.net_external_flows == D(-500_000)
    assert mar.period.start == mar.monthly.start == date(2025, 2, 28)
    assert mar.period.dollar == mar.monthly.dollar == D(2_000_000)
    assert exactly(mar.monthly.percent, Fraction(3_100, 771))
    assert exactly(mar.monthly.average_capital, Fraction(1_542_000_000, 31))

    # Q1 = ytd from 2024-12-31: 1.023 × 0.99 × (1 + 31/771) = 1.01277 × 802/771 = 812.24154/771 = 1.0534909…
    # → 5.3491 % ("5.349 %" published).
    q1 = Fraction(1023, 1000) * Fraction(99, 100) * Fraction(802, 771)
    assert mar.ytd.start == date(2024, 12, 31)
    assert exactly(mar.ytd.percent, 100 * (q1 - 1))
    assert q(mar.ytd.percent, "0.001") == D("5.349")
    # dollar = 51,500,000 − 50,000,000 − (−638,500 − 500,000) = 2,638,500
    assert mar.ytd.dollar == D(2_638_500)
    # average capital over the quarter (E − S = 90 days): flows −638,500 on Feb 28 (E − t = 31) and −500,000
    # on Mar 15 (E − t = 16): 50,000,000 − (638,500×31 + 500,000×16)/90 = 50,000,000 − (19,793,500 + 8,000,000)/90
    # = 50,000,000 − 27,793,500/90 = 49,691,183.33…
    assert exactly(mar.ytd.average_capital, 50_000_000 - Fraction(27_793_500, 90))
    assert mar.inception == mar.ytd  # the first snapshot is 2024-12-31 too


def test_old_system_example() -> None:
    # 1,000,000 on 2025-09-30, 1,050,000 on 2025-10-08; deposits of 15,000 on Oct 2 and Oct 6 (chosen dates).
    # monthly from Sep 30 (the last snapshot of September): CD = 8; w = 6/8 and 2/8
    # gain = 1,050,000 − 1,000,000 − 30,000 = 20,000
    # average capital = 1,000,000 + 15,000 × (6 + 2)/8 = 1,015,000
    # return = 100 × 20,000 / 1,015,000 = 400/203 = 1.970443… %
    results = series(
        [
            point(date(2025, 9, 30), 1_000_000),
            point(date(2025, 10, 8), 1_050_000, flow(date(2025, 10, 2), 15_000), flow(date(2025, 10, 6), 15_000)),
        ]
    )
    oct8 = at(results, date(2025, 10, 8))
    assert oct8.net_external_flows == D(30_000)
    assert oct8.monthly.start == date(2025, 9, 30)
    assert oct8.monthly.dollar == D(20_000)
    assert oct8.monthly.average_capital == D(1_015_000)
    assert exactly(oct8.monthly.percent, Fraction(400, 203))
    assert q(oct8.monthly.percent, "0.0001") == D("1.9704")
    assert oct8.ytd == NO_WINDOW  # no snapshot in 2024


def test_first_snapshot_has_no_windows_and_ignores_its_flows() -> None:
    # Contract: "The first snapshot of a client has 0, 0 and 0, and period_start_date null."
    (first,) = series([point(date(2025, 3, 10), 1_000, flow(date(2025, 3, 10), 1_000))])
    assert first.as_of == date(2025, 3, 10)
    assert first.net_external_flows == 0
    for w in (first.period, first.monthly, first.ytd, first.inception):
        assert w.start is None
        assert w.dollar == 0
        assert w.percent == 0


def window_history() -> list[Point]:
    """No flows, so each period's percent is value / previous − 1:
    2024-12-20:  80
    2024-12-28: 100   (+25 %)
    2025-01-10:  90   (−10 %)
    2025-01-25: 100   (+11.11… %)
    2025-02-10: 110   (+10 %)
    2025-02-20: 121   (+10 %)
    2025-04-05: 133.1 (+10 %)   — no snapshot in March
    """
    return [
        point(date(2024, 12, 20), 80),
        point(date(2024, 12, 28), 100),
        point(date(2025, 1, 10), 90),
        point(date(2025, 1, 25), 100),
        point(date(2025, 2, 10), 110),
        point(date(2025, 2, 20), 121),
        point(date(2025, 4, 5), "133.1"),
    ]


def test_window_starts() -> None:
    results = series(window_history())

    dec28 = at(results, date(2024, 12, 28))
    assert dec28.period == Window(date(2024, 12, 20), D(20), D(25), D(80))
    assert dec28.monthly == NO_WINDOW  # no snapshot in November 2024
    assert dec28.ytd == NO_WINDOW  # no snapshot in 2023
    assert dec28.inception == dec28.period

    jan10 = at(results, date(2025, 1, 10))
    assert jan10.monthly == Window(date(2024, 12, 28), D(-10), D(-10), D(100))  # LAST snapshot of December
    assert jan10.ytd == jan10.monthly  # last snapshot of 2024

    feb20 = at(results, date(2025, 2, 20))
    assert feb20.period == Window(date(2025, 2, 10), D(11), D(10), D(110))
    # monthly from Jan 25 (the last January snapshot, not Jan 10): 1.1 × 1.1 = 1.21 → 21 %; dollar 121 − 100
    assert feb20.monthly.start == date(2025, 1, 25)
    assert feb20.monthly.dollar == D(21)
    assert exactly(feb20.monthly.percent, 21)
    assert feb20.monthly.average_capital == D(100)
    # ytd from Dec 28: 0.9 × 10/9 × 1.1 × 1.1 = 1.21 → 21 %; dollar 121 − 100 = 21
    assert feb20.ytd.start == date(2024, 12, 28)
    assert feb20.ytd.dollar == D(21)
    assert exactly(feb20.ytd.percent, 21)
    # inception from Dec 20: 1.25 × 1.21 = 1.5125 → 51.25 %; dollar 121 − 80 = 41
    assert feb20.inception.start == date(2024, 12, 20)
    assert feb20.inception.dollar == D(41)
    assert exactly(feb20.inception.percent, Fraction(5125, 100))
    assert feb20.inception.average_capital == D(80)

    apr5 = at(results, date(2025, 4, 5))
    assert apr5.monthly == NO_WINDOW  # no snapshot in March
    # ytd from Dec 28: 1.331 → 33.1 %; dollar 33.1
    assert apr5.ytd.start == date(2024, 12, 28)
    assert apr5.ytd.dollar == D("33.1")
    assert exactly(apr5.ytd.percent, Fraction(331, 10))


def test_average_capital_of_a_two_period_window() -> None:
    # 2025-01-31: 1,000
    # 2025-02-10: 1,600, +500 on Feb 5  — period: CD 10, w 5/10, avg 1,250, gain 100 → 8 %
    # 2025-03-02: 1,400, −300 on Feb 20 — period: CD 20, w 10/20, avg 1,600 − 150 = 1,450, gain 100 → 6.8966 %
    # Inception on Mar 2 (S = Jan 31, E − S = 30 days): E − t = 25 for Feb 5 and 10 for Feb 20
    #   average capital = 1,000 + (500×25 − 300×10)/30 = 1,000 + 9,500/30 = 1,316.66…
    #   dollar = 1,400 − 1,000 − (500 − 300) = 200
    #   percent = 100 × (1.08 × 1,550/1,450 − 1) = 100 × (1.08 × 31/29 − 1) = 100 × (33.48/29 − 1) = 15.4483 %
    results = series(
        [
            point(date(2025, 1, 31), 1_000),
            point(date(2025, 2, 10), 1_600, flow(date(2025, 2, 5), 500)),
            point(date(2025, 3, 2), 1_400, flow(date(2025, 2, 20), -300)),
        ]
    )
    feb10, mar2 = results[1], results[2]
    assert feb10.period == Window(date(2025, 1, 31), D(100), D(8), D(1_250))
    assert mar2.period.average_capital == D(1_450)
    assert exactly(mar2.period.percent, Fraction(10_000, 1_450))
    # monthly: from the last February snapshot, Feb 10 = the period (its percent via factor division, so only
    # equal to 28 digits)
    assert mar2.monthly.start == date(2025, 2, 10)
    assert (mar2.monthly.dollar, mar2.monthly.average_capital) == (D(100), D(1_450))
    assert exactly(mar2.monthly.percent, Fraction(10_000, 1_450))
    assert mar2.ytd == NO_WINDOW
    assert mar2.inception.start == date(2025, 1, 31)
    assert mar2.inception.dollar == D(200)
    assert exactly(mar2.inception.average_capital, 1_000 + Fraction(9_500, 30))
    assert exactly(mar2.inception.percent, 100 * (Fraction(108, 100) * Fraction(31, 29) - 1))
    assert q(mar2.inception.percent, "0.0001") == D("15.4483")


def test_a_null_period_makes_the_linked_percent_null_but_keeps_the_dollar() -> None:
    # 2024-12-31: 1,000
    # 2025-01-31: 250, −1,200 on Jan 1: avg = 1,000 − 1,200 × 30/31 < 0 → null; gain 450
    # 2025-02-28: 300, no flows: +20 %, dollar 50
    results = series(
        [
            point(date(2024, 12, 31), 1_000),
            point(date(2025, 1, 31), 250, flow(date(2025, 1, 1), -1_200)),
            point(date(2025, 2, 28), 300),
        ]
    )
    jan, feb = results[1], results[2]
    assert jan.period.percent is None
    assert jan.period.dollar == D(450)
    assert jan.monthly.percent is None
    assert feb.monthly == Window(date(2025, 1, 31), D(50), D(20), D(250))  # the null period is outside it
    # ytd from Dec 31: percent null; dollar = 300 − 1,000 − (−1,200) = 500
    assert feb.ytd.start == date(2024, 12, 31)
    assert feb.ytd.percent is None
    assert feb.ytd.dollar == D(500)
    # average capital over 59 days: 1,000 − 1,200 × (Feb 28 − Jan 1 = 58)/59
    assert exactly(feb.ytd.average_capital, 1_000 - Fraction(1_200 * 58, 59))
    assert feb.inception == feb.ytd


def test_a_total_loss_makes_later_windows_containing_it_minus_100() -> None:
    # 2024-12-31: 1,000
    # 2025-01-31: 0 (no flows): gain −1,000 on 1,000 → −100 %
    # 2025-02-28: 550, +500 on Feb 14: w = 14/28, avg 250, gain 50 → +20 %
    # 2025-03-31: 660, no flows: +20 %
    # 2025-04-30: 330, −1,000 on Apr 1 → avg 660 − 1,000 × 29/30 < 0: null; gain 670
    results = series(
        [
            point(date(2024, 12, 31), 1_000),
            point(date(2025, 1, 31), 0),
            point(date(2025, 2, 28), 550, flow(date(2025, 2, 14), 500)),
            point(date(2025, 3, 31), 660),
            point(date(2025, 4, 30), 330, flow(date(2025, 4, 1), -1_000)),
        ]
    )
    jan, feb, mar, apr = results[1:]
    assert jan.period == Window(date(2024, 12, 31), D(-1_000), D(-100), D(1_000))
    assert feb.period == Window(date(2025, 1, 31), D(50), D(20), D(250))
    assert feb.monthly == feb.period
    # ytd on Feb 28: 0 × 1.2 → −100 %; dollar 550 − 1,000 − 500 = −950
    assert feb.ytd.percent == D(-100)
    assert feb.ytd.dollar == D(-950)
    # ytd on Mar 31: 0 × 1.2 × 1.2 → −100 %; dollar 660 − 1,000 − 500 = −840; monthly (from Feb 28) +20 %
    assert mar.ytd.percent == D(-100)
    assert mar.ytd.dollar == D(-840)
    assert mar.monthly == Window(date(2025, 2, 28), D(110), D(20), D(550))
    # Apr 30: a null period too → null wins over −100 % (any null period makes the linked percent null)
    assert apr.period.percent is None
    assert apr.ytd.percent is None
    assert apr.ytd.dollar == D(330 - 1_000 - 500 + 1_000)
    assert apr.inception.percent is None


# --- The aggregate's weighting -----------------------------------------------------------------------------


def test_aggregate_weights_by_average_capital_not_by_end_aum() -> None:
    # One 30-day period (2025-03-31, 2025-04-30]:
    #   A: 100 → 110, no flows: avg 100, gain 10, +10 %
    #   B: 300 → 290, +20 on Apr 15 (w = 15/30): avg 310, gain 290 − 300 − 20 = −30, −30/310 = −9.677419… %
    # Σcᵢrᵢ/Σcᵢ = (100 × 10 + 310 × (−3,000/310)) / 410 = (1,000 − 3,000)/410 = −200/41 = −4.878049 %
    # (= the Modified Dietz of the summed book: gain −20 over avg 400 + 20/2 = 410.)
    # dollar = 10 + (−30) = −20
    # End-AUM weighting instead: (110 × 10 + 290 × (−3,000/31)) / 400 = (34,100 − 87,000)/(31 × 400)
    #   = −52,900/12,400 = −529/124 = −4.266129 % — different.
    a = series([point(date(2025, 3, 31), 100), point(date(2025, 4, 30), 110)])[-1]
    b = series([point(date(2025, 3, 31), 300), point(date(2025, 4, 30), 290, flow(date(2025, 4, 15), 20))])[-1]
    assert a.period == Window(date(2025, 3, 31), D(10), D(10), D(100))
    assert b.period.average_capital == D(310)
    assert b.period.dollar == D(-30)
    assert exactly(b.period.percent, Fraction(-3_000, 310))

    numerator = Fraction(0)
    weights = Fraction(0)
    for r in (a, b):
        c, pct = r.period.average_capital, r.period.percent
        if c is not None and c > 0 and pct is not None:
            numerator += Fraction(c) * Fraction(pct)
            weights += Fraction(c)
    weighted = numerator / weights
    assert abs(weighted - Fraction(-200, 41)) <= TINY
    assert round(float(weighted), 4) == -4.8780
    assert a.period.dollar + b.period.dollar == D(-20)

    by_aum = (110 * Fraction(a.period.percent or 0) + 290 * Fraction(b.period.percent or 0)) / 400
    assert abs(by_aum - Fraction(-529, 124)) <= TINY
    assert round(float(by_aum), 4) == -4.2661
    assert abs(by_aum - weighted) > Fraction(1, 2)


# --- Property: the O(1) windows equal a brute-force recomputation from the contract's definitions -----------


@dataclass(frozen=True)
class Expected:
    start: dt.date | None
    dollar: Decimal
    percent: Decimal | None
    average_capital: Decimal | None


def brute_dietz(bmv: Decimal, emv: Decimal, s: dt.date, e: dt.date, flows: Sequence[Flow]) -> Decimal | None:
    cd = D((e - s).days)
    average = bmv + sum((f.amount * D((e - f.date).days) / cd for f in flows), start=D(0))
    gain = emv - bmv - sum((f.amount for f in flows), start=D(0))
    return 100 * gain / average if average > 0 else None


def brute_window(points: Sequence[Point], i: int | None, j: int) -> Expected:
    if i is None:
        return Expected(None, D(0), D(0), None)
    s, e = points[i], points[j]
    flows = [f for p in points[i + 1 : j + 1] for f in p.flows]
    assert all(s.as_of < f.date <= e.as_of for f in flows)
    span = D((e.as_of - s.as_of).days)
    dollar = e.value - s.value - sum((f.amount for f in flows), start=D(0))
    average = s.value + sum((f.amount * D((e.as_of - f.date).days) / span for f in flows), start=D(0))
    factor: Decimal | None = D(1)
    for k in range(i + 1, j + 1):
        r = brute_dietz(points[k - 1].value, points[k].value, points[k - 1].as_of, points[k].as_of, points[k].flows)
        if r is None:
            factor = None
            break
        assert factor is not None
        factor *= 1 + r / 100
    return Expected(s.as_of, dollar, None if factor is None else 100 * (factor - 1), average)


def last_in(points: Sequence[Point], j: int, year: int, month: int | None) -> int | None:
    """The index of the last point before j dated in that calendar month (or year, if month is None)."""
    found = None
    for i in range(j):
        d = points[i].as_of
        if d.year == year and (month is None or d.month == month):
            found = i
    return found


def random_history(rng: random.Random) -> list[Point]:
    day = date(2024, 10, 1) + dt.timedelta(days=rng.randrange(90))
    last_day = day + dt.timedelta(days=425)  # ~14 months, across a year end
    value = D(rng.randrange(0, 10_000_000)) / 100
    first_flows = (Flow(day, D(rng.randrange(1, 100_000)) / 100),) if rng.random() < 0.2 else ()
    points = [Point(day, value, first_flows)]
    for _ in range(rng.randrange(0, 40)):
        gap = rng.choice([rng.randint(1, 10), rng.randint(1, 10), rng.randint(11, 35), rng.randint(36, 75)])
        start, day = day, day + dt.timedelta(days=gap)
        if day > last_day:
            break
        flows: list[Flow] = []
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            when = start + dt.timedelta(days=rng.randint(1, gap))
            size = D(rng.randrange(1, 1 + int(value * 60) + 100_000)) / 100
            if rng.random() < 0.5:
                size = -min(size, value) if value > 0 else size
            if rng.random() < 0.1:
                size = -(value * D("1.5") + 100)  # a big early-ish withdrawal: average capital ≤ 0 likely
            flows.append(Flow(when, size.quantize(D("0.01"))))
        net = sum((f.amount for f in flows), start=D(0))
        if rng.random() < 0.05 and not flows:
            value = D(0)  # a total loss: −100 %
        else:
            growth = D(rng.randrange(80_000, 125_000)) / 100_000
            value = max(D(0), (value * growth + net).quantize(D("0.01")))
        points.append(Point(day, value, tuple(flows)))
    return points


def close(actual: Decimal | None, expected: Decimal | None, floor: Decimal = ONE) -> bool:
    """Equal to 1e-12 relative (with an absolute floor for values near 0)."""
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= D("1e-12") * max(floor, abs(actual), abs(expected))


def same(window: Window, expected: Expected) -> bool:
    if window.start != expected.start or window.dollar != expected.dollar:
        return False
    if (window.average_capital is None) != (expected.average_capital is None):
        return False
    if window.average_capital is not None and not close(window.average_capital, expected.average_capital):
        return False
    # Compare the growth factors 1 + r/100 (what is multiplied and divided) to 1e-12 relative.
    if window.percent is None or expected.percent is None:
        return window.percent is None and expected.percent is None
    return close(1 + window.percent / 100, 1 + expected.percent / 100, floor=D("1e-6"))


def test_series_equals_a_brute_force_recomputation() -> None:
    rng = random.Random(20250331)
    seen = {"points": 0, "null periods": 0, "total losses": 0, "no monthly": 0, "ytd": 0, "long monthly": 0}
    for client in range(200):
        points = random_history(rng)
        results = series(points)
        assert [r.as_of for r in results] == [p.as_of for p in points]
        first = results[0]
        assert first.net_external_flows == 0
        assert first.period == first.monthly == first.ytd == first.inception == NO_WINDOW
        for j in range(1, len(points)):
            d, r = points[j].as_of, results[j]
            where = f"client {client}, point {j} ({d})"
            prev_month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
            month_start = last_in(points, j, *prev_month)
            year_start = last_in(points, j, d.year - 1, None)
            assert r.net_external_flows == sum((f.amount for f in points[j].flows), start=D(0)), where
            assert same(r.period, brute_window(points, j - 1, j)), where
            assert same(r.monthly, brute_window(points, month_start, j)), where
            assert same(r.ytd, brute_window(points, year_start, j)), where
            assert same(r.inception, brute_window(points, 0, j)), where
            seen["points"] += 1
            seen["null periods"] += r.period.percent is None
            seen["total losses"] += r.period.percent == -100
            seen["no monthly"] += month_start is None
            seen["ytd"] += year_start is not None
            seen["long monthly"] += month_start is not None and month_start < j - 1
    # The generator reaches every case the property is about.
    assert all(count > 10 for count in seen.values()), seen
