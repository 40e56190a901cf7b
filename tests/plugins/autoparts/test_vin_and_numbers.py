"""VIN validation and decoding, and part-number normalisation (no database)."""

import datetime

import pytest

from plugins.autoparts import vin as vins
from plugins.autoparts.numbers import normalise_number
from plugins.autoparts.vin import InvalidVin, decode_vin, with_check_digit

TODAY = datetime.date(2025, 6, 1)


@pytest.mark.parametrize(
    "typed",
    [
        "04465-33450",
        "0446533450",
        "04465 33450",
        " 04465.33450 ",
        "04465/33450",
        "０４４６５－３３４５０",
        "04465–33450",
    ],
)
def test_number_forms_normalise_to_one(typed):
    assert normalise_number(typed) == "0446533450"


def test_number_normalisation_upper_cases_letters():
    assert normalise_number("w 68/3") == "W683"
    assert normalise_number("04e 115 561 h") == "04E115561H"
    assert normalise_number(" - . ") == ""


def test_check_digit_of_the_reference_vin():
    # The worked example of 49 CFR 565: check digit X.
    assert vins.check_digit("1M8GDM9AXKP042788") == "X"
    decoded = decode_vin("1m8gdm9a-xkp042788", today=TODAY)
    assert decoded.vin == "1M8GDM9AXKP042788"
    assert decoded.check_digit_valid and decoded.check_digit_required
    assert decoded.region == "north_america"
    assert decoded.manufacturer.name == "Motor Coach Industries"
    assert decoded.model_year == 1989  # position 7 "9" is a digit: the 1980-2009 cycle
    assert decoded.warnings == ()


@pytest.mark.parametrize(
    ("value", "reason", "position"),
    [
        ("1M8GDM9AXKP04278", vins.LENGTH, None),
        ("1M8GDM9AXKP0427888", vins.LENGTH, None),
        ("", vins.LENGTH, None),
        ("1M8GDM9AXKP04278O", vins.CHARACTERS, 17),
        ("IM8GDM9AXKP042788", vins.CHARACTERS, 1),
        ("1M8GDM9AXKQ042788", vins.CHARACTERS, 11),
        ("1M8GDM9AXKP04278*", vins.CHARACTERS, 17),
        ("1M8GDM9A1KP042788", vins.CHECK_DIGIT, 9),
    ],
)
def test_malformed_vins_give_the_reason(value, reason, position):
    with pytest.raises(InvalidVin) as exc:
        decode_vin(value, today=TODAY)
    assert exc.value.reason == reason
    assert exc.value.position == position
    assert exc.value.message


def test_chinese_vin_requires_its_check_digit_and_decodes_the_joint_venture():
    good = with_check_digit("LSVAB41Z0J2123456")
    decoded = decode_vin(good, today=TODAY)
    assert decoded.manufacturer.name == "SAIC Volkswagen"
    assert decoded.makes == ("Volkswagen", "Skoda")
    assert decoded.region == "china" and decoded.check_digit_required
    assert decoded.model_year == 2018  # "J": 1988 or 2018, the latest not after next year
    wrong = good[:8] + ("0" if good[8] != "0" else "1") + good[9:]
    with pytest.raises(InvalidVin) as exc:
        decode_vin(wrong, today=TODAY)
    assert exc.value.reason == vins.CHECK_DIGIT


@pytest.mark.parametrize(
    ("wmi", "maker", "makes"),
    [
        ("LFV", "FAW-Volkswagen", ("Volkswagen", "Audi")),
        ("LVS", "Changan Ford", ("Ford",)),
        ("LSG", "SAIC-GM", ("Buick", "Chevrolet", "Cadillac")),
        ("LBV", "BMW Brilliance", ("BMW",)),
        ("WVW", "Volkswagen", ("Volkswagen",)),
        ("WBA", "BMW", ("BMW",)),
        ("JTD", "Toyota", ("Toyota",)),
    ],
)
def test_wmi_table(wmi, maker, makes):
    decoded = decode_vin(with_check_digit(f"{wmi}AB41Z0L2123456"), today=TODAY)
    assert (decoded.manufacturer.name, decoded.makes) == (maker, makes)
    assert decoded.model_year == 2020  # "L"


def test_european_vin_without_check_digit_is_a_warning_not_an_error():
    vin = "WVWZZZ1KZAW000001"  # German makers put Z at position 9
    assert vins.check_digit(vin) != "Z"
    decoded = decode_vin(vin, today=TODAY)
    assert not decoded.check_digit_valid and not decoded.check_digit_required
    assert [code for code, _m in decoded.warnings] == [vins.CHECK_DIGIT_NOT_VERIFIED]
    assert decoded.model_year == 2010
    with pytest.raises(InvalidVin) as exc:
        decode_vin(vin, policy=vins.STRICT, today=TODAY)
    assert exc.value.reason == vins.CHECK_DIGIT


def test_warn_policy_never_refuses_for_the_check_digit():
    decoded = decode_vin("1M8GDM9A1KP042788", policy=vins.WARN, today=TODAY)
    assert not decoded.check_digit_valid
    assert decoded.warnings[0][0] == vins.CHECK_DIGIT_NOT_VERIFIED


def test_model_year_cycle_uses_position_7_in_north_america():
    letter = with_check_digit("1HGCM8A20A3004352")  # position 7 "A": 2010-2039
    digit = with_check_digit("1HGCM8320A3004352")  # position 7 "3": 1980-2009
    assert decode_vin(letter, today=TODAY).model_year == 2010
    assert decode_vin(digit, today=TODAY).model_year == 1980


def test_model_year_elsewhere_is_the_latest_not_after_next_year():
    assert vins.model_year("JTDKB20U0S3012345", region="asia", today=TODAY) == 2025
    assert vins.model_year("JTDKB20U0T3012345", region="asia", today=TODAY) == 2026
    assert vins.model_year("JTDKB20U0V3012345", region="asia", today=TODAY) == 1997


def test_model_year_code_that_is_no_year():
    with pytest.raises(InvalidVin) as exc:
        decode_vin(with_check_digit("LSVAB41Z0Z2123456"), today=TODAY)
    assert exc.value.reason == vins.MODEL_YEAR and exc.value.position == 10
    decoded = decode_vin("WVWZZZ1KZ0W000001", today=TODAY)
    assert decoded.model_year is None
    assert vins.MODEL_YEAR_UNKNOWN in [code for code, _m in decoded.warnings]


def test_unknown_manufacturer_is_decoded_with_a_warning():
    decoded = decode_vin(with_check_digit("1ZZAB41Z0J2123456"), today=TODAY)
    assert decoded.manufacturer is None and decoded.makes == ()
    assert vins.UNKNOWN_MANUFACTURER in [code for code, _m in decoded.warnings]


def test_make_aliases():
    assert vins.make_names(("Volkswagen", "Skoda")) == [
        "Volkswagen",
        "VW",
        "大众",
        "Skoda",
        "Škoda",
        "斯柯达",
    ]


def test_messages_are_translated():
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(InvalidVin) as exc:
            decode_vin("LSV123")
    assert exc.value.message == "VIN 应为 17 位；此 VIN 为 6 位。"
