"""RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes that are hashed and signed.

`canonical` returns the JCS serialisation of a JSON value. The reference is the pinned
`rfc8785` package; for speed we first try the standard library's C encoder, which yields the
same bytes whenever no number needs ECMAScript formatting that differs from Python's ``repr``
(exponents, ``12.0``, ``-0.0``) and no key sorts differently by UTF-16 code units than by
code points (only keys with characters beyond U+FFFF can). One walk over the value decides;
anything else goes to `rfc8785`. A property test pins the two paths to identical output.
"""

import json
import math
from typing import Any

import rfc8785

_MAX_SAFE_INT = 2**53 - 1
_dumps = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


class CanonicalError(ValueError):
    """The value has no JCS form (NaN, a huge integer, a non-string key, bad Unicode...)."""


def canonical(value: Any) -> bytes:
    """The RFC 8785 bytes of `value` (dicts, lists, str, int, float, bool, None)."""
    try:
        if _stdlib_safe(value):
            return _dumps(value).encode("utf-8")
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError, TypeError) as exc:
        raise CanonicalError(str(exc)) from exc


def _stdlib_safe(value: Any) -> bool:
    """True when json.dumps(sort_keys=True) gives exactly the JCS bytes for `value`.

    Exact type checks (not isinstance): subclasses such as enums go to the reference path.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                return False
            if type(item) is not str and not _stdlib_safe(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _stdlib_safe(item) for item in value)
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is float:
        if not math.isfinite(value):
            return False
        text = repr(value)  # shortest round-trip digits, as ECMAScript when in fixed notation
        return "e" not in text and not text.endswith(".0")
    return False  # let rfc8785 handle or reject it
