"""The hooks' row rules (rows.py), vectorised over a pandas DataFrame's columns for the backtest path.

Each check returns a mask of the rows it refuses, and the column as ``Buffer.dataframe`` takes it. The common case
(clean columns of the usual dtypes) costs a few C-speed passes per column and no copy of the data: strings are tested
as one joined text (U+0000, lone surrogates) and one array of lengths, numbers with numpy, and per-value Python runs
only for object columns that hold something other than what the column's type takes. Rules, as in the hooks:
strings are ``str`` (symbols non-empty, at most 256 characters; text at most the VARCHAR limit), in the column's
vocabulary when it has one, without U+0000 or lone surrogates; numbers are numbers (not booleans), finite, FLOAT
within 32-bit range; integers are integral and within their type's range (floats only up to 2**53, where they are
exact); booleans are booleans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .catalog import CATALOG, Column
from .rows import _FLOAT32_MAX, _LONG_MAX, _SAFE_INT

if TYPE_CHECKING:
    import pandas as pd

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_TEXT_RULE = "contains U+0000 or a lone surrogate (QuestDB rejects or mangles both)"


@dataclass
class Refusal:
    """Rows one rule refuses: ``mask`` over the frame's rows, and the rule's words (the column named)."""

    mask: Any
    rule: str


@dataclass
class Checked:
    #: The column as the table takes it (a numpy array or pandas array, same length and order as the frame).
    values: Any
    #: Rows with no value (None, NaN, NaT, pd.NA).
    missing: Any
    refusals: list[Refusal]


def check_column(c: Column, series: pd.Series) -> Checked:
    check = _BY_TYPE.get(c.type)
    if check is None:  # a type the catalog gained without a rule here: refuse the column rather than guess
        raise ValueError(f"{c.name}: the backtest path has no rule for column type {c.type}")
    return check(c, series)


def constant_text_rule(c: Column, value: str) -> str | None:
    """The rule a run label's single value breaks (None: it is valid), checked once for the whole column."""
    limit = CATALOG.limits.max_symbol_chars if c.type == "SYMBOL" else CATALOG.limits.max_varchar_chars
    if type(value) is not str:
        return f"{c.name} must be a string"
    if c.type == "SYMBOL" and not value:
        return f"{c.name} must not be empty"
    if len(value) > limit:
        return f"{c.name} is longer than {limit} characters"
    if c.values is not None and value not in c.values:
        return f"{c.name} must be one of {', '.join(sorted(c.values))}"
    if _BAD_TEXT.search(value):
        return f"{c.name} {_TEXT_RULE}"
    return None


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _per_value(values: Any, test: Callable[[Any], bool]) -> Any:
    """A mask from a Python test of each value: only for the slow cases (object columns holding odd values)."""
    return np.fromiter(map(test, values), dtype=bool, count=len(values))


def _text(c: Column, series: pd.Series) -> Checked:
    import pandas as pd

    limit = CATALOG.limits.max_symbol_chars if c.type == "SYMBOL" else CATALOG.limits.max_varchar_chars
    refusals: list[Refusal] = []
    if isinstance(series.dtype, pd.CategoricalDtype) and \
            pd.api.types.infer_dtype(series.cat.categories, skipna=False) in ("string", "empty"):
        # The rules hold per category; a row breaks one when its category does (code -1: missing).
        cats = series.cat.categories.to_numpy(dtype=object)
        codes = series.cat.codes.to_numpy()
        missing = codes < 0
        for bad, rule in _text_rules(c, cats, limit):
            refusals.append(Refusal(np.append(bad, False)[codes], rule))  # code -1 indexes the appended False
        return Checked(series.array, missing, refusals)

    values = series.to_numpy() if series.dtype == object else series.astype(object).to_numpy()
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind == "string":  # every value a str, none missing: the common case
        missing = np.zeros(len(values), dtype=bool)
        strings, where = values, None
    else:
        missing = pd.isna(values)
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            not_str = np.zeros(len(values), dtype=bool)
        else:
            not_str = ~missing & ~_per_value(values, _is_str)
            refusals.append(Refusal(not_str, f"{c.name} must be a string"))
        where = np.flatnonzero(~missing & ~not_str)
        strings = values[where]
    for bad, rule in _rules_by_value(c, strings, limit) if c.type == "SYMBOL" else _text_rules(c, strings, limit):
        if where is None:
            refusals.append(Refusal(bad, rule))
        else:
            mask = np.zeros(len(values), dtype=bool)
            mask[where[bad]] = True
            refusals.append(Refusal(mask, rule))
    return Checked(values, missing, refusals)


def _rules_by_value(c: Column, strings: Any, limit: int) -> list[tuple[Any, str]]:
    """``_text_rules`` for a column of few distinct values (symbols): checked once per value, and a row mask only
    for a rule some value breaks. Distinct values by Python's own str equality (a set): pandas' string hash table
    compares strings only up to a U+0000, so it would take "buy\\x00" for "buy"."""
    values = list(set(strings))
    distinct = np.empty(len(values), dtype=object)  # filled in place: np.array(values) would strip a trailing U+0000
    distinct[:] = values
    out: list[tuple[Any, str]] = []
    for bad, rule in _text_rules(c, distinct, limit):
        breaking = set(distinct[bad])
        out.append((_per_value(strings, breaking.__contains__), rule))
    return out


def _text_rules(c: Column, strings: Any, limit: int) -> list[tuple[Any, str]]:
    """(mask over ``strings``, rule) for each rule some of them break; ``strings`` is an object array of str."""
    out: list[tuple[Any, str]] = []
    if len(strings) == 0:
        return out
    # max/min over map(len) run at C speed; the per-value mask is made only for a rule that is broken.
    if max(map(len, strings)) > limit:
        out.append((_per_value(strings, lambda s: len(s) > limit), f"{c.name} is longer than {limit} characters"))
    if c.type == "SYMBOL" and min(map(len, strings)) == 0:
        out.append((_per_value(strings, lambda s: len(s) == 0), f"{c.name} must not be empty"))
    vocabulary = c.values
    if vocabulary is not None:
        outside = _per_value(strings, lambda s: s not in vocabulary)
        if outside.any():
            out.append((outside, f"{c.name} must be one of {', '.join(sorted(vocabulary))}"))
    # One search over the joined text; ASCII text (known without a scan) cannot hold a surrogate.
    joined = "".join(strings)
    if ("\x00" in joined) if joined.isascii() else (_BAD_TEXT.search(joined) is not None):
        out.append((_per_value(strings, lambda s: _BAD_TEXT.search(s) is not None), f"{c.name} {_TEXT_RULE}"))
    return out


def _numbers(series: pd.Series, c: Column) -> tuple[Any, Any, list[Refusal]]:
    """(float64 values, missing, refusals of values that are not numbers): the shared start of the number rules."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        return values, missing, [Refusal(~missing, f"{c.name} must be a number, not a boolean")]
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return values, np.isnan(values), []
    raw = series.to_numpy(dtype=object)
    missing = pd.isna(raw)
    not_number = ~missing & ~_per_value(raw, _is_number)
    values = np.where(missing | not_number, np.nan, raw).astype("float64")
    return values, missing, [Refusal(not_number, f"{c.name} must be a number")] if not_number.any() else []


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _double(c: Column, series: pd.Series) -> Checked:
    values, missing, refusals = _numbers(series, c)
    if series.dtype == np.float64:
        values = series.to_numpy()  # as given, no copy (NaN travels as NULL, as in the hooks' absent value)
    infinite = np.isinf(values)
    if infinite.any():
        refusals.append(Refusal(infinite, f"{c.name} must be a finite number (NaN and Infinity are rejected)"))
    if c.type == "FLOAT":
        refusals.append(Refusal(np.abs(np.nan_to_num(values, posinf=0, neginf=0)) > _FLOAT32_MAX,
                                f"{c.name} is outside the 32-bit FLOAT range"))
    return Checked(values, missing, refusals)


def _integer(c: Column, series: pd.Series) -> Checked:
    import pandas as pd

    bound = CATALOG.limits.int_max if c.type == "INT" else _LONG_MAX
    rule = f"{c.name} must be an integer within ±{bound}"
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        # Integers as integers (a LONG does not survive a trip through float64).
        missing = series.isna().to_numpy()
        if pd.api.types.is_unsigned_integer_dtype(dtype):
            ints = series.to_numpy(dtype="uint64", na_value=0)
            out_of_range = ints > np.uint64(bound)
        else:
            ints = series.to_numpy(dtype="int64", na_value=0)
            out_of_range = (ints > bound) | (ints < -bound)
        refusals = [Refusal(out_of_range, rule)] if out_of_range.any() else []
        if missing.any() or pd.api.types.is_unsigned_integer_dtype(dtype):
            return Checked(_nullable_ints(ints, missing), missing, refusals)  # out-of-range values are refused rows
        return Checked(series.to_numpy(), missing, refusals)
    values, missing, refusals = _numbers(series, c)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) <= _SAFE_INT)
    not_integral = ~missing & ~integral
    if not_integral.any():
        refusals.append(Refusal(not_integral, f"{c.name} must be an integer"))
    within = np.abs(np.where(integral, values, 0)) <= bound
    if not within.all():
        refusals.append(Refusal(~within, rule))
    ints = np.where(integral & within, values, 0).astype(np.int64)
    return Checked(_nullable_ints(ints, missing | ~integral), missing, refusals)


def _nullable_ints(ints: Any, missing: Any) -> Any:
    import pandas as pd

    return pd.arrays.IntegerArray(ints.astype(np.int64, copy=False), np.asarray(missing, dtype=bool))


def _boolean(c: Column, series: pd.Series) -> Checked:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return Checked(series.array, series.isna().to_numpy(), [])
    raw = series.to_numpy(dtype=object)
    missing = pd.isna(raw)
    not_bool = ~missing & ~_per_value(raw, lambda v: isinstance(v, (bool, np.bool_)))
    refusals = [Refusal(not_bool, f"{c.name} must be a boolean")] if not_bool.any() else []
    kept = raw.copy()
    kept[missing | not_bool] = None
    return Checked(pd.array(kept, dtype="boolean"), missing, refusals)


def _timestamp(c: Column, series: pd.Series) -> Checked:
    import pandas as pd

    missing = series.isna().to_numpy()
    times = pd.to_datetime(series, utc=True, errors="coerce")
    unparsed = ~missing & times.isna().to_numpy()
    refusals = [Refusal(unparsed, f"{c.name} must be a time (datetime64 or parseable)")] if unparsed.any() else []
    return Checked(times.to_numpy(dtype="datetime64[ns]"), missing, refusals)


_BY_TYPE: dict[str, Callable[[Column, "pd.Series"], Checked]] = {
    "SYMBOL": _text,
    "VARCHAR": _text,
    "DOUBLE": _double,
    "FLOAT": _double,
    "LONG": _integer,
    "INT": _integer,
    "BOOLEAN": _boolean,
    "TIMESTAMP": _timestamp,
}
