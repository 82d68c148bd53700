"""How the state file writes times, one way for every record family.

Before `state/columns.py` the journal and the incident store each had their own copy: the journal refused
a naive time, while the store's `astimezone` silently read one as the host's local time, so an incident
saved with one would sort among the others by the host's timezone. Both now share `columns.text`, which
refuses it (today the incident codec refuses a naive time first; the store no longer relies on that).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from nodewarden.state import columns

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("desc", "moment", "written"),
    [
        ("UTC keeps its microseconds", T0, "2026-11-26T08:00:00.000000+00:00"),
        ("another offset is written in UTC", datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=1))),
         "2026-11-26T08:00:00.000000+00:00"),
        ("a fraction of a second keeps the width", T0 + timedelta(microseconds=5), "2026-11-26T08:00:00.000005+00:00"),
    ],
)  # fmt: skip
def test_times_are_written_in_utc_with_one_fixed_width(desc: str, moment: datetime, written: str) -> None:
    assert columns.text(moment) == written, desc
    assert columns.moment(written) == moment, desc


def test_a_naive_time_is_refused_rather_than_read_as_local_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        columns.text(datetime(2026, 11, 26, 8, 0))
