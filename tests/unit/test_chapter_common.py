"""The one Back on Track windows function (rrlib.chapters.common), on dates counted by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from rrlib.chapters.common import WINDOWS, back_on_track_windows, count_in_windows


def _episodes():
    d = pd.to_datetime
    return pd.DataFrame({
        "episode_id": ["E1", "E2", "E3", "E4"],
        "person_id": ["P1", "P2", "P3", "P4"],
        "start_date": d(["2018-01-10", "2019-06-01", "2020-09-01", None]),
        "end_date": d(["2018-07-10", None, None, None]),   # E2 still open, E3 starts after the cut-off
    })


def test_windows_bounds_by_hand():
    w = back_on_track_windows(_episodes(), cutoff="2020-08-31", before_days=365, after_days=365)
    assert list(w["episode_id"]) == ["E1"] * 3 + ["E2"] * 3  # E3 after the cut-off, E4 never started
    assert list(w["window"].astype(str)) == list(WINDOWS) * 2
    e1 = w[w["episode_id"] == "E1"].set_index(w["window"].astype(str)[:3])
    assert e1.loc["before", "from"] == pd.Timestamp("2017-01-10")   # 365 days before 2018-01-10
    assert e1.loc["during", "to"] == pd.Timestamp("2018-07-10")
    assert e1.loc["after", "to"] == pd.Timestamp("2019-07-10")      # 365 days after the end
    assert e1.loc["during", "years"] == pytest.approx(181 / 365.25)
    e2 = w[w["episode_id"] == "E2"].reset_index(drop=True)
    # open at the cut-off: during runs to the cut-off, after is empty (0 years)
    assert e2.loc[1, "to"] == pd.Timestamp("2020-08-31")
    assert e2.loc[2, "from"] == e2.loc[2, "to"] == pd.Timestamp("2020-08-31")
    assert e2.loc[2, "years"] == 0


def test_after_window_cut_at_cutoff_and_no_cutoff_needs_ended_episodes():
    w = back_on_track_windows(_episodes().iloc[:1], cutoff="2019-01-09")
    after = w[w["window"] == "after"].iloc[0]
    assert after["to"] == pd.Timestamp("2019-01-09")
    assert after["years"] == pytest.approx((pd.Timestamp("2019-01-09") - pd.Timestamp("2018-07-10")).days / 365.25)
    w = back_on_track_windows(_episodes().iloc[:1], cutoff=None, before_days=30, after_days=10)
    assert w["years"].tolist() == pytest.approx([30 / 365.25, 181 / 365.25, 10 / 365.25])
    with pytest.raises(ValueError, match="still open"):
        back_on_track_windows(_episodes().iloc[:2], cutoff=None)


def test_count_in_windows_edges():
    w = back_on_track_windows(_episodes().iloc[:1], cutoff="2020-08-31")
    ev = pd.DataFrame({"pupil_id": ["P1"] * 6 + ["P2"],
                       "exclusion_date": pd.to_datetime([
                           "2017-01-10",   # first day of before: in
                           "2018-01-10",   # start day: during, not before
                           "2018-07-10",   # end day: during, not after
                           "2019-07-10",   # last day of after: in
                           "2019-07-11",   # after the after window: out
                           "2017-01-09",   # before the before window: out
                           "2018-02-01"]),  # another young person
                       "category": ["suspension", "suspension", "permanent", "suspension", "suspension",
                                    "suspension", "suspension"]})
    c = count_in_windows(w, ev)
    assert c["events"].tolist() == [1, 2, 1]
    c = count_in_windows(w, ev, by="category", levels=["suspension", "permanent"])
    assert c["suspension"].tolist() == [1, 1, 1] and c["permanent"].tolist() == [0, 1, 0]
