"""The parameter parser: spellings people type, normalised to one value; typed errors."""

from decimal import Decimal

import pytest

from plugins.electronics.units import (
    ParameterError,
    display_value,
    parse_value,
    unit_scale,
)

GOOD = [
    # resistance: one value, written many ways
    ("resistance", "10k", "10000", None),
    ("resistance", "10 kΩ", "10000", None),
    ("resistance", "10 kΩ", "10000", None),  # U+2126 OHM SIGN
    ("resistance", "10kohm", "10000", None),
    ("resistance", "10 k Ohms", "10000", None),
    ("resistance", "10000 ohm", "10000", None),
    ("resistance", "10K0", "10000", None),
    ("resistance", "10,000Ω", "10000", None),
    ("resistance", "１０ｋ", "10000", None),  # full-width
    ("resistance", "4K7", "4700", None),
    ("resistance", "4,7k", "4700", None),
    ("resistance", "R47", "0.47", None),
    ("resistance", "4R7", "4.7", None),
    ("resistance", "10R", "10", None),
    ("resistance", "1M", "1000000", None),
    ("resistance", "1MEG", "1000000", None),
    ("resistance", "1mΩ", "0.001", None),
    ("resistance", "1e3", "1000", None),
    # capacitance
    ("capacitance", "0.1µF", "1E-7", None),
    ("capacitance", "0.1μF", "1E-7", None),  # Greek mu
    ("capacitance", "0.1uF", "1E-7", None),
    ("capacitance", "100nF", "1E-7", None),
    ("capacitance", "100n", "1E-7", None),
    ("capacitance", "100NF", "1E-7", None),
    ("capacitance", "2n2", "2.2E-9", None),
    ("capacitance", "4u7", "0.0000047", None),
    ("capacitance", "100 pF", "1E-10", None),
    ("capacitance", "0.47fF", "4.7E-16", None),
    # inductance, voltage, current, power, frequency
    ("inductance", "10uH", "0.00001", None),
    ("inductance", "4u7", "0.0000047", None),
    ("voltage", "50V", "50", None),
    ("voltage", "50 VDC", "50", None),
    ("voltage", "6.3v", "6.3", None),
    ("voltage", "1kV", "1000", None),
    ("voltage", "50", "50", None),
    ("current", "500mA", "0.5", None),
    ("current", "2A", "2", None),
    ("power", "1/4W", "0.25", None),
    ("power", "100mW", "0.1", None),
    ("frequency", "32.768kHz", "32768", None),
    # tolerance, in percent
    ("tolerance", "±1%", "1", None),
    ("tolerance", "+/-1%", "1", None),
    ("tolerance", "±0.5 %", "0.5", None),
    ("tolerance", "1", "1", None),
    ("tolerance", "F", "1", None),
    ("tolerance", "J", "5", None),
    ("tolerance", "±50ppm", "0.005", None),
    ("tolerance", "+80/-20%", "80", None),
    # temperature ranges, in °C
    ("temperature_range", "-40~85°C", "-40", "85"),
    ("temperature_range", "-40°C to +85°C", "-40", "85"),
    ("temperature_range", "-40 - +85 ℃", "-40", "85"),
    ("temperature_range", "−40～85", "-40", "85"),
    ("temperature_range", "-55...125", "-55", "125"),
    ("temperature_range", "85~-40", "-40", "85"),
    ("temperature_range", "233.15K~358.15K", "-40", "85"),
    ("temperature_range", "-40°F~185°F", "-40", "85"),
]


@pytest.mark.parametrize(("quantity", "raw", "value", "value_max"), GOOD)
def test_good_values_normalise_to_si(quantity, raw, value, value_max):
    parsed = parse_value(quantity, raw, parameter="p")
    assert parsed.value == Decimal(value)
    assert parsed.value_max == (Decimal(value_max) if value_max else None)


@pytest.mark.parametrize(
    ("quantity", "raw", "text"),
    [
        ("package", "0603", "0603"),
        ("package", " sot23 ", "SOT-23"),
        ("package", "SOT-23", "SOT-23"),
        ("package", "soic 8", "SOIC-8"),
        ("choice", "x7r", "X7R"),
    ],
)
def test_text_values_are_normalised(quantity, raw, text):
    assert parse_value(quantity, raw).text == text


BAD = [
    ("resistance", "10xyz", "UNKNOWN_UNIT"),
    ("resistance", "10 mX", "UNKNOWN_UNIT"),
    ("capacitance", "100 qF", "UNKNOWN_UNIT"),
    ("resistance", "2n2", "UNKNOWN_UNIT"),  # an RKM code of another quantity
    ("temperature_range", "-40~85xyz", "UNKNOWN_UNIT"),
    ("capacitance", "10V", "WRONG_QUANTITY"),
    ("resistance", "10V", "WRONG_QUANTITY"),
    ("voltage", "100nF", "WRONG_QUANTITY"),
    ("tolerance", "5V", "WRONG_QUANTITY"),
    ("capacitance", "10°C", "WRONG_QUANTITY"),
    ("temperature_range", "-40~85V", "WRONG_QUANTITY"),
    ("resistance", "abc", "INVALID_VALUE"),
    ("resistance", "-10k", "INVALID_VALUE"),
    ("power", "1/0W", "INVALID_VALUE"),
    ("temperature_range", "85°C", "INVALID_VALUE"),
    ("resistance", "1e40", "OUT_OF_RANGE"),
    ("capacitance", "1e-30", "OUT_OF_RANGE"),
    ("resistance", "  ", "REQUIRED"),
]


@pytest.mark.parametrize(("quantity", "raw", "code"), BAD)
def test_bad_values_are_typed_errors_naming_the_parameter(quantity, raw, code):
    with pytest.raises(ParameterError) as exc:
        parse_value(quantity, raw, parameter="my_param")
    assert exc.value.code == code
    assert exc.value.field == "my_param"
    assert exc.value.params["parameter"] == "my_param"
    assert "my_param" in exc.value.message


def test_wrong_quantity_says_what_was_found():
    with pytest.raises(ParameterError) as exc:
        parse_value("capacitance", "10V", parameter="capacitance")
    assert exc.value.params["found"] == "voltage"
    assert exc.value.params["expected"] == "capacitance"


def test_display_in_engineering_notation_or_the_display_unit():
    assert parse_value("resistance", "10000 ohm").display() == "10kΩ"
    assert parse_value("capacitance", "0.1uF").display() == "100nF"
    assert parse_value("capacitance", "100n").display("µF") == "0.1µF"
    assert parse_value("temperature_range", "-40°C to +85°C").display() == "-40~85°C"
    assert display_value("tolerance", Decimal("1"), None) == "±1%"
    assert unit_scale("resistance", "kΩ") == 3
    assert unit_scale("capacitance", "kΩ") is None


def test_errors_are_translated():
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(ParameterError) as exc:
            parse_value("capacitance", "10V", parameter="capacitance")
    assert exc.value.message == "capacitance：“10V”是电压，不是容值。"
