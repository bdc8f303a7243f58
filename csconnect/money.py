"""Money: integer minor units plus an ISO 4217 code, converted and shown correctly."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that are not 2 (the default for any other code).
EXPONENTS: dict[str, int] = {
    **{c: 0 for c in "BIF CLP DJF GNF ISK JPY KMF KRW MGA PYG RWF UGX UYI VND VUV XAF XOF XPF".split()},
    **{c: 3 for c in "BHD IQD JOD KWD LYD OMR TND".split()},
    **{c: 4 for c in "CLF UYW".split()},
}
ZERO_DECIMAL = frozenset(c for c, e in EXPONENTS.items() if e == 0)
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def exponent(currency: str | None) -> int:
    """Digits after the decimal point in `currency` (JPY 0, USD 2, KWD 3)."""
    return EXPONENTS.get((currency or "").upper(), 2)


def to_minor(amount: str | float | int | Decimal | None, currency: str | None) -> int | None:
    """A major-unit amount (12.50, "1,234.50", "$99") -> integer minor units; None stays None."""
    if amount is None or amount == "":
        return None
    if isinstance(amount, str):
        text = amount.strip().replace(",", "").replace("_", "")
        for sym in list(SYMBOLS.values()) + [(currency or "").upper()]:
            if sym:
                text = text.replace(sym, "")
        text = text.strip()
        negative = text.startswith("(") and text.endswith(")")
        text = text.strip("()").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not an amount: {amount!r}") from None
        if negative:
            value = -value
    else:
        value = Decimal(str(amount))
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    return int((value * (10 ** exponent(currency))).to_integral_value(ROUND_HALF_EVEN))


def to_major(minor: float | int | None, currency: str | None) -> float | None:
    return None if minor is None else minor / (10 ** exponent(currency))


def format_money(minor: float | int | None, currency: str | None) -> str:
    if minor is None:
        return ""
    cur = (currency or "").upper()
    places = exponent(cur)
    major = minor / (10 ** places)
    text = f"{abs(major):,.{places}f}"
    sign = "-" if major < 0 else ""
    return f"{sign}{SYMBOLS[cur]}{text}" if cur in SYMBOLS else f"{sign}{text} {cur}"
