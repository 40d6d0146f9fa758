"""RFC 8785 canonical JSON: the RFC's own example, and the fast path equal to the reference."""

import json
import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from teaplatform.trace.canonical import CanonicalError, canonical

pytestmark = pytest.mark.unit


def test_rfc_8785_section_3_2_4_example() -> None:
    text = (
        '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals":[null,true,false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical(json.loads(text)) == expected.encode()


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB01 there, after it by code point
    value = {"\ufb01": 1, "\U0001f600": 2}
    assert canonical(value) == '{"\U0001f600":2,"\ufb01":1}'.encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.0, b"12"), (-0.0, b"0"), (1e16, b"10000000000000000"), (1e-7, b"1e-7"), (12.5, b"12.5")],
)
def test_numbers_take_the_ecmascript_form(value: float, text: bytes) -> None:
    assert canonical(value) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, 2**53, {1: "non-string key"}, object()])
def test_values_without_a_canonical_form_are_rejected(value: object) -> None:
    with pytest.raises(CanonicalError):
        canonical(value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_fast_path_equals_the_reference_implementation(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises(CanonicalError):
            canonical(value)
        return
    assert canonical(value) == expected
