"""Parsing parameter values as people write them into normalised numbers.

Every numeric value is stored in the SI unit of its quantity (Ω, F, H, V, A, W,
Hz), tolerances in percent and temperatures in °C, as an exact
:class:`~decimal.Decimal` with at most :data:`DECIMAL_PLACES` decimal places
(1e-18 of the unit, so 0.1 fF is exact) and an absolute value below
:data:`MAXIMUM`; anything else is ``OUT_OF_RANGE``. Search documents carry the
same numbers as floats (15 significant digits).

Accepted spellings (after Unicode NFKC, so ``µ``/``μ``, ``Ω``/``Ω``, full-width
digits and ``℃`` are all the same):

* ``10k``, ``10 kΩ``, ``10kohm``, ``10000 ohm``, ``10K0`` / ``4K7`` / ``R47`` /
  ``4R7`` (RKM codes, resistance: ``R`` ``K`` ``M`` ``G``; capacitance and
  inductance: ``p`` ``n`` ``u`` ``µ``, e.g. ``2n2``, ``4u7``);
* ``0.1µF``, ``0.1uF``, ``100nF``, ``100n``: a bare SI prefix takes the
  parameter's own unit; ``m`` is milli and ``M`` mega, ``K`` is kilo and
  ``U``/``N``/``P`` micro/nano/pico, ``meg`` mega (SPICE);
* ``1/4W`` (fractions), ``1e3``, ``10,000`` (thousands separators), ``4,7`` (a
  decimal comma);
* tolerances ``±1%``, ``+/-0.5 %``, ``1``, ``±50ppm``, ``+80/-20%`` (the wider
  side) and the letter codes ``B C D F G J K M``;
* temperature ranges ``-40~85°C``, ``-40°C to +85°C``, ``-55...125``,
  ``-40 - +85 ℃``, ``-40～85``, in °C, K or °F;
* packages (``0603``, ``SOT23`` → ``SOT-23``) and other choices (``x7r`` →
  ``X7R``) as upper-case text.

A unit the parser does not know is ``UNKNOWN_UNIT``; a unit of another
quantity (``10V`` for a capacitance) is ``WRONG_QUANTITY``; text that is not a
number is ``INVALID_VALUE``. Each error names the parameter (``field``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError

DECIMAL_PLACES = 18
MAX_DIGITS = 36
MAXIMUM = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)
QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)

UNKNOWN_UNIT = "UNKNOWN_UNIT"
WRONG_QUANTITY = "WRONG_QUANTITY"
INVALID_VALUE = "INVALID_VALUE"
OUT_OF_RANGE = "OUT_OF_RANGE"
REQUIRED = "REQUIRED"
PARSE_ERROR_CODES = (UNKNOWN_UNIT, WRONG_QUANTITY, INVALID_VALUE, OUT_OF_RANGE, REQUIRED)


class Quantity(StrEnum):
    """The kind of a parameter: how its values are parsed, stored and compared."""

    RESISTANCE = "resistance"
    CAPACITANCE = "capacitance"
    INDUCTANCE = "inductance"
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER = "power"
    FREQUENCY = "frequency"
    TOLERANCE = "tolerance"
    TEMPERATURE_RANGE = "temperature_range"
    PACKAGE = "package"
    CHOICE = "choice"


QUANTITY_LABELS = {
    Quantity.RESISTANCE: gettext_lazy("Resistance"),
    Quantity.CAPACITANCE: gettext_lazy("Capacitance"),
    Quantity.INDUCTANCE: gettext_lazy("Inductance"),
    Quantity.VOLTAGE: gettext_lazy("Voltage"),
    Quantity.CURRENT: gettext_lazy("Current"),
    Quantity.POWER: gettext_lazy("Power"),
    Quantity.FREQUENCY: gettext_lazy("Frequency"),
    Quantity.TOLERANCE: gettext_lazy("Tolerance"),
    Quantity.TEMPERATURE_RANGE: gettext_lazy("Temperature range"),
    Quantity.PACKAGE: gettext_lazy("Package"),
    Quantity.CHOICE: gettext_lazy("Choice"),
}

#: The unit values of each numeric quantity are stored in.
BASE_UNITS = {
    Quantity.RESISTANCE: "Ω",
    Quantity.CAPACITANCE: "F",
    Quantity.INDUCTANCE: "H",
    Quantity.VOLTAGE: "V",
    Quantity.CURRENT: "A",
    Quantity.POWER: "W",
    Quantity.FREQUENCY: "Hz",
    Quantity.TOLERANCE: "%",
    Quantity.TEMPERATURE_RANGE: "°C",
}
SCALAR_QUANTITIES = frozenset(BASE_UNITS) - {Quantity.TEMPERATURE_RANGE}
NON_NEGATIVE = SCALAR_QUANTITIES - {Quantity.VOLTAGE, Quantity.CURRENT}
TEXT_QUANTITIES = frozenset({Quantity.PACKAGE, Quantity.CHOICE})

# Unit spellings (after NFKC and with spaces removed). Symbols are matched as
# written; the words (and a few lower-case symbols) in any case.
_UNIT_SYMBOLS: dict[str, Quantity] = {
    "Ω": Quantity.RESISTANCE,
    "F": Quantity.CAPACITANCE,
    "H": Quantity.INDUCTANCE,
    "h": Quantity.INDUCTANCE,
    "V": Quantity.VOLTAGE,
    "v": Quantity.VOLTAGE,
    "A": Quantity.CURRENT,
    "a": Quantity.CURRENT,
    "W": Quantity.POWER,
    "w": Quantity.POWER,
    "%": Quantity.TOLERANCE,
    "°C": Quantity.TEMPERATURE_RANGE,
    "°F": Quantity.TEMPERATURE_RANGE,
}
_UNIT_WORDS: dict[str, Quantity] = {
    "ohm": Quantity.RESISTANCE,
    "ohms": Quantity.RESISTANCE,
    "欧": Quantity.RESISTANCE,
    "欧姆": Quantity.RESISTANCE,
    "farad": Quantity.CAPACITANCE,
    "farads": Quantity.CAPACITANCE,
    "法": Quantity.CAPACITANCE,
    "henry": Quantity.INDUCTANCE,
    "henries": Quantity.INDUCTANCE,
    "henrys": Quantity.INDUCTANCE,
    "volt": Quantity.VOLTAGE,
    "volts": Quantity.VOLTAGE,
    "vdc": Quantity.VOLTAGE,
    "vac": Quantity.VOLTAGE,
    "伏": Quantity.VOLTAGE,
    "amp": Quantity.CURRENT,
    "amps": Quantity.CURRENT,
    "ampere": Quantity.CURRENT,
    "amperes": Quantity.CURRENT,
    "安": Quantity.CURRENT,
    "watt": Quantity.POWER,
    "watts": Quantity.POWER,
    "瓦": Quantity.POWER,
    "hz": Quantity.FREQUENCY,
    "hertz": Quantity.FREQUENCY,
    "ppm": Quantity.TOLERANCE,
    "degc": Quantity.TEMPERATURE_RANGE,
    "degf": Quantity.TEMPERATURE_RANGE,
    "celsius": Quantity.TEMPERATURE_RANGE,
}
_PREFIXES: dict[str, int] = {
    "f": -15,
    "p": -12,
    "P": -12,
    "n": -9,
    "N": -9,
    "u": -6,
    "U": -6,
    "µ": -6,
    "μ": -6,
    "m": -3,
    "k": 3,
    "K": 3,
    "M": 6,
    "G": 9,
    "T": 12,
}
_MEGA_WORD = "meg"
# RKM (IEC 60062) letters standing for the decimal point, per quantity.
_RKM_LETTERS: dict[Quantity, dict[str, int]] = {
    Quantity.RESISTANCE: {"R": 0, "r": 0, "K": 3, "k": 3, "M": 6, "G": 9, "T": 12},
    Quantity.CAPACITANCE: {"p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6, "m": -3},
    Quantity.INDUCTANCE: {"p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6, "m": -3},
}
_TOLERANCE_LETTERS = {
    "B": Decimal("0.1"),
    "C": Decimal("0.25"),
    "D": Decimal("0.5"),
    "F": Decimal("1"),
    "G": Decimal("2"),
    "J": Decimal("5"),
    "K": Decimal("10"),
    "M": Decimal("20"),
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"^(?P<number>{_NUMBER})(?P<suffix>.*)$")
_FRACTION_RE = re.compile(r"^(?P<num>\d+)/(?P<den>\d+)(?P<suffix>\D.*|)$")
_RKM_RE = re.compile(r"^(?P<whole>\d*)(?P<letter>[A-Za-zµμ])(?P<decimals>\d*)$")
_THOUSANDS_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?![\d,])")
_RANGE_RE = re.compile(
    rf"^(?P<low>{_NUMBER})(?P<low_unit>[^\d~～+\-.]*?)"
    r"(?:~|～|to|\.\.\.?|–|—|-|/|至|…)"
    rf"(?P<high>{_NUMBER})(?P<high_unit>\D*)$",
    re.IGNORECASE,
)
_PACKAGE_RE = re.compile(
    r"^(SOT|SOD|SOIC|SOP|SSOP|TSSOP|MSOP|QFN|DFN|QFP|LQFP|TQFP|TO|SC|DO)-?(\d.*)$"
)


@dataclass(frozen=True)
class ParsedValue:
    """A normalised parameter value: ``value`` (and ``value_max`` for a range)
    in ``unit``, or ``text`` for packages and choices."""

    quantity: Quantity
    value: Decimal | None = None
    value_max: Decimal | None = None
    text: str = ""

    @property
    def unit(self) -> str:
        return BASE_UNITS.get(self.quantity, "")

    def display(self, display_unit: str = "") -> str:
        """A short human form (``10kΩ``, ``100nF``, ``-40~85°C``), in ``display_unit``
        when one is given (``0.1µF``)."""
        return display_value(self.quantity, self.value, self.value_max, self.text, display_unit)


def display_value(
    quantity: Quantity | str,
    value: Decimal | None,
    value_max: Decimal | None,
    text: str = "",
    display_unit: str = "",
) -> str:
    """How a stored value is shown: engineering notation, or ``display_unit``."""
    quantity = Quantity(quantity)
    if quantity in TEXT_QUANTITIES:
        return text
    if quantity == Quantity.TEMPERATURE_RANGE:
        return f"{_plain(value)}~{_plain(value_max)}°C"
    if quantity == Quantity.TOLERANCE:
        return f"±{_plain(value)}%"
    exponent = unit_scale(quantity, display_unit) if display_unit else None
    if exponent is not None and value is not None:
        return f"{_plain(value.scaleb(-exponent))}{display_unit.strip()}"
    return format_si(value, BASE_UNITS[quantity])


def unit_scale(quantity: Quantity | str, unit: str) -> int | None:
    """The power of ten of ``unit`` (``kΩ`` → 3) when it is a unit of ``quantity``, else ``None``."""
    quantity = Quantity(quantity)
    text = _normalise(unit)
    if quantity == Quantity.TOLERANCE:
        return 0 if text == "%" else None
    if quantity == Quantity.TEMPERATURE_RANGE:
        return 0 if text == "°C" else None
    found = _unit_of(text) if text else None
    if found is None or found[1] != quantity:
        return None
    return found[0]


class ParameterError(DomainError):
    """A value that cannot be read for a parameter; ``field`` is the parameter's code."""


def _plain(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


_DISPLAY_PREFIXES = [
    (12, "T"),
    (9, "G"),
    (6, "M"),
    (3, "k"),
    (0, ""),
    (-3, "m"),
    (-6, "µ"),
    (-9, "n"),
    (-12, "p"),
    (-15, "f"),
]


def format_si(value: Decimal | None, unit: str) -> str:
    """``Decimal("1E-7"), "F"`` → ``"100nF"``."""
    if value is None:
        return ""
    if value == 0:
        return f"0{unit}"
    magnitude = abs(value)
    exponent, prefix = _DISPLAY_PREFIXES[-1]
    for exponent, prefix in _DISPLAY_PREFIXES:  # noqa: B007 - the loop finds them
        scaled = magnitude.scaleb(-exponent)
        if scaled >= 1:
            break
    sign = "-" if value < 0 else ""
    return f"{sign}{_plain(scaled)}{prefix}{unit}"


# --- the parser --------------------------------------------------------------------------
def _normalise(raw: str) -> str:
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    text = text.replace("−", "-").replace("‐", "-")
    text = text.replace("℃", "°C").replace("º", "°")
    return re.sub(r"\s+", "", text)


def _error(code: str, message: str, parameter: str, raw: str, **params) -> ParameterError:
    return ParameterError(
        message, code=code, field=parameter, parameter=parameter, value=raw, **params
    )


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite():
        raise ValueError(text)
    return number


def _bounded(value: Decimal, parameter: str, raw: str) -> Decimal:
    if abs(value) >= MAXIMUM or (value != 0 and abs(value) < QUANTUM):
        raise _error(
            OUT_OF_RANGE,
            _("%(parameter)s: “%(value)s” is too large or too small to store.")
            % {"parameter": parameter, "value": raw},
            parameter,
            raw,
        )
    quantised = value.quantize(QUANTUM)
    return quantised.normalize() if quantised else Decimal(0)


def _unit_of(suffix: str) -> tuple[int, Quantity | None] | None:
    """``(power of ten, quantity)`` of a unit suffix; quantity ``None`` for a bare
    prefix; ``None`` when the suffix is not understood."""
    if suffix == "":
        return 0, None
    if suffix in _UNIT_SYMBOLS:
        return 0, _UNIT_SYMBOLS[suffix]
    if suffix.lower() in _UNIT_WORDS:
        return 0, _UNIT_WORDS[suffix.lower()]
    if suffix in _PREFIXES:
        return _PREFIXES[suffix], None
    if suffix.lower().startswith(_MEGA_WORD):
        rest = suffix[len(_MEGA_WORD) :]
        unit = _unit_of(rest) if rest else (0, None)
        if unit is not None and (unit[0] == 0):
            return 6, unit[1]
    head, rest = suffix[0], suffix[1:]
    if head in _PREFIXES and rest:
        if rest in _UNIT_SYMBOLS:
            return _PREFIXES[head], _UNIT_SYMBOLS[rest]
        if rest.lower() in _UNIT_WORDS:
            return _PREFIXES[head], _UNIT_WORDS[rest.lower()]
    return None


def _check_unit(
    quantity: Quantity, found: Quantity | None, suffix: str, parameter: str, raw: str
) -> None:
    if found is None or found == quantity:
        return
    raise _error(
        WRONG_QUANTITY,
        _("%(parameter)s: “%(value)s” is a %(found)s, not a %(expected)s.")
        % {
            "parameter": parameter,
            "value": raw,
            "found": QUANTITY_LABELS[found].lower(),
            "expected": QUANTITY_LABELS[quantity].lower(),
        },
        parameter,
        raw,
        unit=suffix,
        expected=str(quantity),
        found=str(found),
    )


def _unknown_unit(suffix: str, parameter: str, raw: str, quantity: Quantity) -> ParameterError:
    return _error(
        UNKNOWN_UNIT,
        _("%(parameter)s: “%(unit)s” in “%(value)s” is not a unit of %(expected)s.")
        % {
            "parameter": parameter,
            "unit": suffix,
            "value": raw,
            "expected": QUANTITY_LABELS[quantity].lower(),
        },
        parameter,
        raw,
        unit=suffix,
        expected=str(quantity),
    )


def _invalid(parameter: str, raw: str, quantity: Quantity) -> ParameterError:
    return _error(
        INVALID_VALUE,
        _("%(parameter)s: “%(value)s” is not a %(expected)s value.")
        % {"parameter": parameter, "value": raw, "expected": QUANTITY_LABELS[quantity].lower()},
        parameter,
        raw,
        expected=str(quantity),
    )


def _plain_number(text: str) -> str:
    """Thousands separators out (``10,000``), a lone decimal comma in (``4,7``)."""
    text = _THOUSANDS_RE.sub(lambda m: m.group(1).replace(",", ""), text)
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text


def _scalar(quantity: Quantity, text: str, parameter: str, raw: str) -> Decimal:
    """One number with an optional prefix and unit, in the quantity's base unit."""
    rkm = _RKM_RE.match(text)
    letters = _RKM_LETTERS.get(quantity, {})
    if rkm and rkm["letter"] in letters and (rkm["whole"] or rkm["decimals"]):
        if rkm["decimals"] or rkm["letter"] in "Rr":
            number = _decimal(f"{rkm['whole'] or '0'}.{rkm['decimals'] or '0'}")
            return number.scaleb(letters[rkm["letter"]])
    fraction = _FRACTION_RE.match(text)
    if fraction:
        denominator = _decimal(fraction["den"])
        if denominator == 0:
            raise _invalid(parameter, raw, quantity)
        number = _decimal(fraction["num"]) / denominator
        suffix = fraction["suffix"]
    else:
        match = _NUMBER_RE.match(text)
        if not match:
            raise _invalid(parameter, raw, quantity)
        number = _decimal(match["number"])
        suffix = match["suffix"]
    unit = _unit_of(suffix)
    if unit is None:
        if suffix and suffix[0].isdigit():
            raise _invalid(parameter, raw, quantity)
        raise _unknown_unit(suffix, parameter, raw, quantity)
    exponent, found = unit
    _check_unit(quantity, found, suffix, parameter, raw)
    if quantity == Quantity.TOLERANCE and suffix.lower() == "ppm":
        return number / Decimal(10000)
    return number.scaleb(exponent)


def _tolerance(text: str, parameter: str, raw: str) -> Decimal:
    if text.upper() in _TOLERANCE_LETTERS and len(text) == 1:
        return _TOLERANCE_LETTERS[text.upper()]
    text = text.replace("+/-", "±").replace("+-", "±").lstrip("±")
    sides = re.match(r"^\+?(?P<up>[\d.]+)(?P<u1>%|ppm)?/-(?P<down>[\d.]+)(?P<u2>%|ppm)?$", text)
    if sides:
        unit = sides["u2"] or sides["u1"] or ""
        return max(
            abs(_scalar(Quantity.TOLERANCE, sides["up"] + (sides["u1"] or unit), parameter, raw)),
            abs(_scalar(Quantity.TOLERANCE, sides["down"] + unit, parameter, raw)),
        )
    return abs(_scalar(Quantity.TOLERANCE, text, parameter, raw))


def _temperature(
    low: str, high: str, unit: str, parameter: str, raw: str
) -> tuple[Decimal, Decimal]:
    key = unit.lower().replace("°", "deg")
    if key in ("", "degc", "c", "celsius"):
        convert = lambda v: v  # noqa: E731 - a one-line table entry
    elif key in ("degf", "f"):
        convert = lambda v: (v - 32) * 5 / 9  # noqa: E731
    elif key == "k":
        convert = lambda v: v - Decimal("273.15")  # noqa: E731
    else:
        found = _unit_of(unit)
        if found is not None and found[1] is not None:
            _check_unit(Quantity.TEMPERATURE_RANGE, found[1], unit, parameter, raw)
        raise _unknown_unit(unit, parameter, raw, Quantity.TEMPERATURE_RANGE)
    return convert(_decimal(low)), convert(_decimal(high))


def _temperature_range(text: str, parameter: str, raw: str) -> tuple[Decimal, Decimal]:
    match = _RANGE_RE.match(text)
    if not match:
        if _NUMBER_RE.match(text):
            number = _NUMBER_RE.match(text)
            suffix = number["suffix"]
            found = _unit_of(suffix)
            if found is not None and found[1] not in (None, Quantity.TEMPERATURE_RANGE):
                _check_unit(Quantity.TEMPERATURE_RANGE, found[1], suffix, parameter, raw)
        raise _error(
            INVALID_VALUE,
            _("%(parameter)s: write a range such as -40~85°C, not “%(value)s”.")
            % {"parameter": parameter, "value": raw},
            parameter,
            raw,
            expected=str(Quantity.TEMPERATURE_RANGE),
        )
    low_unit, high_unit = match["low_unit"], match["high_unit"]
    if low_unit and high_unit and low_unit.lower() != high_unit.lower():
        raise _invalid(parameter, raw, Quantity.TEMPERATURE_RANGE)
    low, high = _temperature(match["low"], match["high"], high_unit or low_unit, parameter, raw)
    if low > high:
        low, high = high, low
    return low, high


def normalise_text(quantity: Quantity, raw: str) -> str:
    """Packages and choices: upper case, no spaces; ``SOT23`` → ``SOT-23``."""
    text = _normalise(raw).upper()
    if quantity == Quantity.PACKAGE:
        match = _PACKAGE_RE.match(text)
        if match:
            text = f"{match[1]}-{match[2]}"
    return text


def parse_value(
    quantity: Quantity | str, raw: str | int | float | Decimal, *, parameter: str = ""
) -> ParsedValue:
    """Read ``raw`` as a value of ``quantity``; :class:`ParameterError` when it cannot be."""
    quantity = Quantity(quantity)
    parameter = parameter or str(quantity)
    shown = str(raw).strip()
    if isinstance(raw, bool):
        raise _invalid(parameter, shown, quantity)
    text = _normalise(str(raw))
    if not text:
        raise _error(
            REQUIRED,
            _("%(parameter)s: enter a value.") % {"parameter": parameter},
            parameter,
            shown,
        )
    if quantity in TEXT_QUANTITIES:
        if len(text) > 40:
            raise _invalid(parameter, shown, quantity)
        return ParsedValue(quantity, text=normalise_text(quantity, shown))
    try:
        if quantity == Quantity.TEMPERATURE_RANGE:
            low, high = _temperature_range(text, parameter, shown)
            return ParsedValue(
                quantity,
                value=_bounded(low, parameter, shown),
                value_max=_bounded(high, parameter, shown),
            )
        text = _plain_number(text)
        if quantity == Quantity.TOLERANCE:
            value = _tolerance(text, parameter, shown)
        else:
            value = _scalar(quantity, text, parameter, shown)
        if value < 0 and quantity in NON_NEGATIVE:
            raise _invalid(parameter, shown, quantity)
    except ValueError:
        raise _invalid(parameter, shown, quantity) from None
    return ParsedValue(quantity, value=_bounded(value, parameter, shown))
