"""Vehicle identification numbers (VIN, ISO 3779): validation and decoding.

A VIN has 17 characters from ``0-9`` and ``A-Z`` without ``I``, ``O`` and
``Q``. Positions 1-3 are the World Manufacturer Identifier (WMI), position 9
a check digit, position 10 the model year.

**The check digit.** North America (FMVSS 115, 49 CFR 565: WMIs starting with
``1``-``5``) and China (GB 16735: WMIs starting with ``L``) require it, so a
wrong one there refuses the VIN (``INVALID_VIN``, reason ``CHECK_DIGIT``).
Most other makers (Europe, Japan, Korea's domestic market …) do not use one
and put any character at position 9, so there a mismatch is reported as the
warning ``CHECK_DIGIT_NOT_VERIFIED`` and the VIN is still decoded. The tenant
setting ``vin_check_digit`` changes this: ``strict`` requires the check digit
everywhere, ``warn`` never refuses for it.

**The model year.** Position 10 repeats every 30 years (``A`` is 1980 and
2010). For North-American VINs, position 7 tells the cycles apart (a letter:
2010-2039, a digit: 1980-2009, for cars, MPVs and light trucks). Elsewhere the
latest year that is not after next year is chosen. A position 10 that is no
year code (``0``, ``U``, ``Z``) refuses a North-American or Chinese VIN
(reason ``MODEL_YEAR``) and is a warning (``MODEL_YEAR_UNKNOWN``) elsewhere,
where position 10 is optional.

Nothing here touches the database.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

VIN_LENGTH = 17
_ALLOWED = re.compile(r"^[A-HJ-NPR-Z0-9]+$")
_SPACES = re.compile(r"[\s\-]+")

_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 1980 … 2009, then again from 2010

# Reasons a VIN is refused (INVALID_VIN) and warnings about one that is accepted.
LENGTH = "LENGTH"
CHARACTERS = "CHARACTERS"
CHECK_DIGIT = "CHECK_DIGIT"
MODEL_YEAR = "MODEL_YEAR"
CHECK_DIGIT_NOT_VERIFIED = "CHECK_DIGIT_NOT_VERIFIED"
MODEL_YEAR_UNKNOWN = "MODEL_YEAR_UNKNOWN"
UNKNOWN_MANUFACTURER = "UNKNOWN_MANUFACTURER"

# Check-digit policies (the tenant setting ``vin_check_digit``).
AUTO, STRICT, WARN = "auto", "strict", "warn"


@dataclass(frozen=True)
class Manufacturer:
    """What a WMI stands for: the manufacturer and the makes (brands) it builds."""

    name: str
    makes: tuple[str, ...]
    country: str


def _m(name: str, makes: str, country: str) -> Manufacturer:
    return Manufacturer(
        name=name, makes=tuple(m.strip() for m in makes.split(",")), country=country
    )


# The common WMIs. Chinese joint ventures build several makes under one WMI.
WMI: dict[str, Manufacturer] = {
    # China (GB 16735: check digit required)
    "LSV": _m("SAIC Volkswagen", "Volkswagen, Skoda", "CN"),
    "LFV": _m("FAW-Volkswagen", "Volkswagen, Audi", "CN"),
    "LVS": _m("Changan Ford", "Ford", "CN"),
    "LSG": _m("SAIC-GM", "Buick, Chevrolet, Cadillac", "CN"),
    "LBV": _m("BMW Brilliance", "BMW", "CN"),
    "LE4": _m("Beijing Benz", "Mercedes-Benz", "CN"),
    "LDC": _m("Dongfeng Peugeot Citroën", "Peugeot, Citroën", "CN"),
    "LGB": _m("Dongfeng Nissan", "Nissan", "CN"),
    "LHG": _m("GAC Honda", "Honda", "CN"),
    "LVH": _m("Dongfeng Honda", "Honda", "CN"),
    "LFM": _m("FAW Toyota", "Toyota", "CN"),
    "LTV": _m("FAW Toyota (Tianjin)", "Toyota", "CN"),
    "LVG": _m("GAC Toyota", "Toyota", "CN"),
    "LBE": _m("Beijing Hyundai", "Hyundai", "CN"),
    "LJD": _m("Dongfeng Yueda Kia", "Kia", "CN"),
    "LGX": _m("BYD Auto", "BYD", "CN"),
    "LC0": _m("BYD Auto", "BYD", "CN"),
    "LB3": _m("Geely Automobile", "Geely", "CN"),
    "LGW": _m("Great Wall Motor", "Great Wall, Haval", "CN"),
    "LVV": _m("Chery Automobile", "Chery", "CN"),
    "LS5": _m("Changan Automobile", "Changan", "CN"),
    "LRW": _m("Tesla Shanghai", "Tesla", "CN"),
    "LZW": _m("SAIC-GM-Wuling", "Wuling, Baojun", "CN"),
    "LSJ": _m("SAIC Motor", "MG, Roewe", "CN"),
    "LYV": _m("Volvo Car Asia", "Volvo", "CN"),
    "LMG": _m("GAC Motor", "Trumpchi", "CN"),
    # Germany and the rest of Europe
    "WVW": _m("Volkswagen", "Volkswagen", "DE"),
    "WV1": _m("Volkswagen Commercial Vehicles", "Volkswagen", "DE"),
    "WV2": _m("Volkswagen Commercial Vehicles", "Volkswagen", "DE"),
    "WAU": _m("Audi", "Audi", "DE"),
    "WBA": _m("BMW", "BMW", "DE"),
    "WBS": _m("BMW M", "BMW", "DE"),
    "WMW": _m("MINI", "MINI", "DE"),
    "WDB": _m("Mercedes-Benz", "Mercedes-Benz", "DE"),
    "WDD": _m("Mercedes-Benz", "Mercedes-Benz", "DE"),
    "WDC": _m("Mercedes-Benz", "Mercedes-Benz", "DE"),
    "W1K": _m("Mercedes-Benz", "Mercedes-Benz", "DE"),
    "WP0": _m("Porsche", "Porsche", "DE"),
    "W0L": _m("Opel", "Opel", "DE"),
    "WF0": _m("Ford Germany", "Ford", "DE"),
    "TMB": _m("Škoda", "Skoda", "CZ"),
    "VSS": _m("SEAT", "SEAT", "ES"),
    "VF1": _m("Renault", "Renault", "FR"),
    "VF3": _m("Peugeot", "Peugeot", "FR"),
    "VF7": _m("Citroën", "Citroën", "FR"),
    "ZFA": _m("Fiat", "Fiat", "IT"),
    "ZAR": _m("Alfa Romeo", "Alfa Romeo", "IT"),
    "YV1": _m("Volvo Cars", "Volvo", "SE"),
    "SAL": _m("Land Rover", "Land Rover", "GB"),
    "SAJ": _m("Jaguar", "Jaguar", "GB"),
    # Japan and Korea
    "JTD": _m("Toyota", "Toyota", "JP"),
    "JTE": _m("Toyota", "Toyota", "JP"),
    "JTM": _m("Toyota", "Toyota", "JP"),
    "JTN": _m("Toyota", "Toyota", "JP"),
    "JT2": _m("Toyota", "Toyota", "JP"),
    "JTH": _m("Lexus", "Lexus", "JP"),
    "JHM": _m("Honda", "Honda", "JP"),
    "JN1": _m("Nissan", "Nissan", "JP"),
    "JM1": _m("Mazda", "Mazda", "JP"),
    "JF1": _m("Subaru", "Subaru", "JP"),
    "JS2": _m("Suzuki", "Suzuki", "JP"),
    "JA3": _m("Mitsubishi", "Mitsubishi", "JP"),
    "KMH": _m("Hyundai", "Hyundai", "KR"),
    "KNA": _m("Kia", "Kia", "KR"),
    "KND": _m("Kia", "Kia", "KR"),
    # North America (check digit required)
    "1FA": _m("Ford", "Ford", "US"),
    "1FM": _m("Ford", "Ford", "US"),
    "1FT": _m("Ford", "Ford", "US"),
    "1G1": _m("Chevrolet", "Chevrolet", "US"),
    "1GC": _m("Chevrolet", "Chevrolet", "US"),
    "1G4": _m("Buick", "Buick", "US"),
    "1G6": _m("Cadillac", "Cadillac", "US"),
    "1GT": _m("GMC", "GMC", "US"),
    "1HG": _m("Honda of America", "Honda", "US"),
    "1J4": _m("Jeep", "Jeep", "US"),
    "1C4": _m("Chrysler", "Chrysler, Dodge, Jeep", "US"),
    "1N4": _m("Nissan North America", "Nissan", "US"),
    "1VW": _m("Volkswagen of America", "Volkswagen", "US"),
    "1M8": _m("Motor Coach Industries", "MCI", "US"),
    "2HG": _m("Honda of Canada", "Honda", "CA"),
    "2T1": _m("Toyota Canada", "Toyota", "CA"),
    "3VW": _m("Volkswagen de México", "Volkswagen", "MX"),
    "3N1": _m("Nissan Mexicana", "Nissan", "MX"),
    "4T1": _m("Toyota Motor Manufacturing", "Toyota", "US"),
    "4S3": _m("Subaru of America", "Subaru", "US"),
    "4JG": _m("Mercedes-Benz US", "Mercedes-Benz", "US"),
    "5YJ": _m("Tesla", "Tesla", "US"),
    "5UX": _m("BMW US", "BMW", "US"),
    "5NP": _m("Hyundai US", "Hyundai", "US"),
    "5XY": _m("Kia US", "Kia", "US"),
}

# Other names tenants write for a make (matched case-insensitively with the make itself).
MAKE_ALIASES: dict[str, tuple[str, ...]] = {
    "Volkswagen": ("VW", "大众"),
    "Mercedes-Benz": ("Mercedes", "Benz", "奔驰"),
    "BMW": ("宝马",),
    "Audi": ("奥迪",),
    "Toyota": ("丰田",),
    "Honda": ("本田",),
    "Nissan": ("日产",),
    "Ford": ("福特",),
    "Buick": ("别克",),
    "Chevrolet": ("Chevy", "雪佛兰"),
    "Skoda": ("Škoda", "斯柯达"),
    "Citroën": ("Citroen", "雪铁龙"),
    "Peugeot": ("标致",),
    "Hyundai": ("现代",),
    "Kia": ("起亚",),
    "BYD": ("比亚迪",),
    "Geely": ("吉利",),
    "Great Wall": ("长城",),
    "Haval": ("哈弗",),
    "Chery": ("奇瑞",),
    "Changan": ("长安",),
    "Tesla": ("特斯拉",),
    "Wuling": ("五菱",),
}


def make_names(makes: tuple[str, ...] | list[str]) -> list[str]:
    """The makes with their aliases, for a case-insensitive match on ``Vehicle.make``."""
    names: list[str] = []
    for make in makes:
        for name in (make, *MAKE_ALIASES.get(make, ())):
            if name not in names:
                names.append(name)
    return names


def region_of(vin_or_wmi: str) -> str:
    """The region its first character assigns: ``north_america``, ``china``, ``europe`` …"""
    first = vin_or_wmi[:1]
    if first in "12345":
        return "north_america"
    if first == "L":
        return "china"
    if first in "STUVWXYZ":
        return "europe"
    if first in "HJKLMNPR":
        return "asia"
    if first in "67":
        return "oceania"
    if first in "89":
        return "south_america"
    return "africa"


CHECK_DIGIT_REGIONS = frozenset({"north_america", "china"})


def check_digit(vin: str) -> str:
    """The check digit (``0``-``9`` or ``X``) of a 17-character VIN of allowed characters."""
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin: str) -> str:
    """``vin`` with position 9 set to its check digit (for building test and demo VINs)."""
    vin = vin.upper()
    return vin[:8] + check_digit(vin[:8] + "0" + vin[9:]) + vin[9:]


def normalise_vin(value: str) -> str:
    """Upper-case, without spaces and dashes (as VINs are often written in groups)."""
    return _SPACES.sub("", (value or "").strip()).upper()


class InvalidVin(ValueError):
    """The VIN is malformed; ``reason`` is one of LENGTH, CHARACTERS, CHECK_DIGIT, MODEL_YEAR."""

    def __init__(self, reason: str, message: str, position: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.position = position


@dataclass(frozen=True)
class DecodedVin:
    vin: str
    wmi: str
    region: str
    manufacturer: Manufacturer | None
    model_year: int | None
    check_digit_valid: bool
    check_digit_required: bool
    warnings: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (code, message)

    @property
    def makes(self) -> tuple[str, ...]:
        return self.manufacturer.makes if self.manufacturer else ()


def model_year(vin: str, *, region: str, today: datetime.date | None = None) -> int | None:
    """The model year position 10 encodes, or None when it is no year code."""
    code = vin[9]
    index = YEAR_CODES.find(code)
    if index < 0:
        return None
    if region == "north_america":
        # Position 7 is a letter for 2010-2039 models and a digit for 1980-2009 ones.
        return 2010 + index if vin[6].isalpha() else 1980 + index
    latest = (today or datetime.date.today()).year + 1
    candidates = [start + index for start in (1980, 2010, 2040)]
    return max((y for y in candidates if y <= latest), default=candidates[0])


def decode_vin(value: str, *, policy: str = AUTO, today: datetime.date | None = None) -> DecodedVin:
    """Validate and decode a VIN; raise :class:`InvalidVin` with the reason when malformed."""
    vin = normalise_vin(value)
    if len(vin) != VIN_LENGTH:
        raise InvalidVin(
            LENGTH,
            _("A VIN has 17 characters; this one has %(n)d.") % {"n": len(vin)},
        )
    if not _ALLOWED.match(vin):
        position = next(i for i, c in enumerate(vin, start=1) if not _ALLOWED.match(c))
        bad = vin[position - 1]
        if bad in "IOQ":
            message = _(
                "Position %(position)d is “%(char)s”: VINs never contain I, O or Q "
                "(did you mean 1 or 0?)."
            )
        else:
            message = _("Position %(position)d is “%(char)s”: only letters and digits are used.")
        raise InvalidVin(CHARACTERS, message % {"position": position, "char": bad}, position)
    region = region_of(vin)
    required = policy == STRICT or (policy == AUTO and region in CHECK_DIGIT_REGIONS)
    expected = check_digit(vin)
    valid = vin[8] == expected
    warnings: list[tuple[str, str]] = []
    if not valid:
        if required:
            raise InvalidVin(
                CHECK_DIGIT,
                _(
                    "The check digit (position 9) is “%(found)s” but should be “%(expected)s”: "
                    "a character was probably mistyped."
                )
                % {"found": vin[8], "expected": expected},
                9,
            )
        warnings.append(
            (
                CHECK_DIGIT_NOT_VERIFIED,
                _(
                    "Position 9 is not a valid check digit; makers in this region often "
                    "do not use one."
                ),
            )
        )
    year = model_year(vin, region=region, today=today)
    if year is None:
        if region in CHECK_DIGIT_REGIONS:
            raise InvalidVin(
                MODEL_YEAR,
                _("Position 10 (“%(char)s”) is not a model-year code.") % {"char": vin[9]},
                10,
            )
        warnings.append(
            (
                MODEL_YEAR_UNKNOWN,
                _("Position 10 does not encode a model year; parts of every year are listed."),
            )
        )
    manufacturer = WMI.get(vin[:3])
    if manufacturer is None:
        warnings.append(
            (
                UNKNOWN_MANUFACTURER,
                _("The manufacturer code %(wmi)s is not in the table.") % {"wmi": vin[:3]},
            )
        )
    return DecodedVin(
        vin=vin,
        wmi=vin[:3],
        region=region,
        manufacturer=manufacturer,
        model_year=year,
        check_digit_valid=valid,
        check_digit_required=required,
        warnings=tuple(warnings),
    )
