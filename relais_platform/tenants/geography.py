"""French postcodes, départements and regions (for territorial reporting)."""

from __future__ import annotations

import re

_POSTCODE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|97[1-6]|98[0-9])\d{2,3}$")

_REGIONS: dict[str, tuple[str, ...]] = {
    "Auvergne-Rhône-Alpes": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "Bourgogne-Franche-Comté": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "Bretagne": ("22", "29", "35", "56"),
    "Centre-Val de Loire": ("18", "28", "36", "37", "41", "45"),
    "Corse": ("2A", "2B"),
    "Grand Est": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "Hauts-de-France": ("02", "59", "60", "62", "80"),
    "Île-de-France": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "Normandie": ("14", "27", "50", "61", "76"),
    "Nouvelle-Aquitaine": (
        "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
    ),
    "Occitanie": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "Pays de la Loire": ("44", "49", "53", "72", "85"),
    "Provence-Alpes-Côte d'Azur": ("04", "05", "06", "13", "83", "84"),
    "Guadeloupe": ("971",),
    "Martinique": ("972",),
    "Guyane": ("973",),
    "La Réunion": ("974",),
    "Mayotte": ("976",),
}
_REGION_OF = {dep: region for region, deps in _REGIONS.items() for dep in deps}


def is_valid_postcode(postcode: str) -> bool:
    return len(postcode) == 5 and bool(_POSTCODE.match(postcode))


def departement_of(postcode: str) -> str:
    """Département code of a valid postcode (Corsica: 2A below 20200, 2B above)."""
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    if postcode.startswith(("97", "98")):
        return postcode[:3]
    return postcode[:2]


def region_of(departement: str) -> str:
    return _REGION_OF.get(departement, "Outre-mer")


def all_regions() -> list[str]:
    return sorted(_REGIONS)
