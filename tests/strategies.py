"""Hypothesis strategies shared by the tests of several input files."""

from __future__ import annotations

from hypothesis import strategies as st

# any scalar a hand-edited YAML file can hold where a number, duration or share is expected
HOSTILE_SCALARS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.integers(-(10**4000), 10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,40}[hms]?", fullmatch=True),
    st.booleans(),
    st.none(),
)
