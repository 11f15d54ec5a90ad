"""Hypothesis strategies for session fields: JSON data, user ids and aware datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from hypothesis import strategies as st

__all__ = ["ZONES", "aware_datetimes", "json_objects", "json_values", "texts"]

ZONES = (
    timezone.utc,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-9, minutes=-30)),
)
"""Fixed offsets: the result must not depend on a time zone database being installed."""

# Surrogates cannot be encoded; NUL is left out because PostgreSQL's jsonb and text refuse it
# (the core does not promise it). `codec="utf-8"` would say the same but costs seconds to set up.
_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
texts = st.text(
    st.characters(exclude_categories=_SURROGATES, exclude_characters="\x00"), max_size=12
)
"""Short texts of any Unicode character but NUL."""

_scalars: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)

json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=10,
)
"""Any JSON value: nested arrays and objects of every scalar type."""

json_objects: st.SearchStrategy[dict[str, Any]] = st.dictionaries(texts, json_values, max_size=4)
"""JSON objects, as session data."""

aware_datetimes: st.SearchStrategy[datetime] = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(ZONES),
)
"""Aware datetimes with microseconds, in several fixed offsets."""
