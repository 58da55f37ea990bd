"""rrlib.stats.funnel against the test data of PHEindicatormethods (PHE's funnel-plot method for DSRs).

Reference values: PHEindicatormethods (ukhsa-collaboration/PHEindicatormethods, commit 093fd28),
tests/testthat/testdata_funnel_rate_dsr_inputs.csv (column ``dsr_per_100000_with_0``, the
significance that ``assign_funnel_significance(statistic = "rate", rate_type = "dsr",
multiplier = 1e5)`` gives) and testdata_funnel_rate_input_funnels.csv ->
testdata_funnel_rate_outputs.csv (``calculate_funnel_limits(..., rate_type = "dsr",
years_of_data = 3)``).
"""
import math

import numpy as np
import pytest

from rrlib.stats.funnel import derived_denominator, dsr_funnel_limits, dsr_funnel_significance

L = {"H3": "High (0.001)", "H2": "High (0.025)", "L3": "Low (0.001)", "L2": "Low (0.025)",
     "NS": "Not significant", "NA": "Not applicable for events less than 10 for dsrs"}
SIG = [(2419, 907.6174266, 'H3'), (2337, 948.5620216, 'H3'), (2291, 799.9690496, 'H3'), (2242, 852.5637927, 'H3'),
       (2218, 868.5358183, 'H3'), (2159, 769.6242217, 'H3'), (2130, 752.3254955, 'H2'), (2111, 710.2689402, 'NS'),
       (2105, 815.3530325, 'H3'), (2083, 717.7035916, 'NS'), (2078, 755.8016993, 'H3'), (2062, 825.9742848, 'H3'),
       (2061, 702.2972468, 'NS'), (2033, 785.6210132, 'H3'), (2033, 743.6763018, 'H2'), (2010, 781.8323058, 'H3'),
       (2004, 772.6781064, 'H3'), (2002, 652.3391553, 'L3'), (1977, 648.4969973, 'L3'), (1944, 727.5777428, 'NS'),
       (1932, 625.6551186, 'L3'), (1922, 688.5582424, 'NS'), (1912, 662.4465438, 'L2'), (1881, 627.1624732, 'L3'),
       (1844, 657.1114147, 'L2'), (1835, 724.8456714, 'NS'), (1833, 659.7820553, 'L2'), (1825, 654.7053631, 'L3'),
       (1816, 624.4435507, 'L3'), (1809, 646.7588823, 'L3'), (1798, 703.1689982, 'NS'), (1754, 567.9922764, 'L3'),
       (1746, 617.7750715, 'L3'), (1709, 610.8327232, 'L3'), (1694, 608.5089462, 'L3'), (1688, 662.3775859, 'L2'),
       (1649, 667.6454503, 'L2'), (1553, 604.1141693, 'L3'), (1332, 469.5645784, 'L3'), (0, math.nan, 'NA')]
EV = [414, 462, 178, 525, 194, 937, 817, 117, 298, 228, 243, 13, 373, 664, 601, 602, 767, 708, 90, 952, 347, 648, 988,
      354, 839, 25, 518, 425, 648, 765, 210, 931, 589, 592, 554, 870, 372, 843, 142, 543, 489, 620, 774, 904, 936, 841,
      22, 922, 955, 308]
RATE = [184, 102, 83, 118, 121, 125, 112, 190, 146, 140, 87, 70, 90, 139, 109, 65, 165, 143, 55, 135, 135, 88, 167, 99,
        83, 53, 62, 118, 176, 101, 71, 138, 74, 84, 161, 79, 189, 170, 159, 113, 191, 116, 200, 171, 128, 134, 185, 100,
        123, 155]
# rows Events = 1, 10 and 1360 of testdata_funnel_rate_outputs.csv
LIMITS = {
    1: (1598.675694, 20.85059119, 7.264481402, 4588.535848, 2649.348525, 12.58170943, 0.287087625, 116108.569),
    10: (5276.757672, 63.17010446, 1375.943768, 242.2579623, 6924.776769, 48.13632908, 849.4639547, 392.4043292),
    1360: (411529.9259, 110.158048, 369759.5622, 122.6021934, 424043.2424, 106.9073359, 358342.3275, 126.5084525),
}
COLS = ["lower_2s_population_1_year", "lower_2s_limit", "upper_2s_population_1_year", "upper_2s_limit",
        "lower_3s_population_1_year", "lower_3s_limit", "upper_3s_population_1_year", "upper_3s_limit"]


def test_significance_matches_phe():
    ev, rate, want = zip(*SIG)
    got = dsr_funnel_significance(ev, rate)
    assert list(got["significance"]) == [L[w] for w in want]


def test_limits_match_phe():
    f = dsr_funnel_limits(EV, RATE, years_of_data=3)
    assert len(f) == 100 and f["events"].iloc[0] == 1 and f["events"].iloc[-1] == 1360
    assert f["baseline"].iloc[0] == pytest.approx(116.1720835, rel=1e-8)
    for ev, vals in LIMITS.items():
        row = f[f["events"] == ev].iloc[0]
        # the package finds the Poisson means by bisection to 1e-7; scipy's chi-squared quantiles are exact
        assert [row[c] for c in COLS] == pytest.approx(list(vals), rel=1e-4)


def test_derived_denominator_and_hand_counted_case():
    assert list(derived_denominator([50, 0], [500.0, 10.0])) == pytest.approx([10000.0, math.nan], nan_ok=True)
    # two areas of 10,000 people: 100 events (1000 per 100,000) against a centre of 550 per 100,000:
    # Byar's 99.8% lower limit of 100 events is 75.6 > 55 expected events -> High (0.001)
    g = dsr_funnel_significance([100, 10], [1000.0, 100.0])
    assert g["centre"].iloc[0] == pytest.approx(110 / 20000 * 1e5)
    assert g["significance"].iloc[0] == "High (0.001)"
    assert g["significance"].iloc[1] == "Low (0.001)"
    # a target replaces the weighted average
    assert dsr_funnel_significance([100], [1000.0], target=1000.0)["significance"].iloc[0] == "Not significant"


def test_no_area_with_enough_events_is_an_error():
    with pytest.raises(ValueError, match="10 or more events"):
        dsr_funnel_limits([3, 4], [100.0, 200.0])
    assert np.isnan(derived_denominator([1], [np.nan])[0])
