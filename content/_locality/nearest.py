"""Nearest communes to a shared location, from the ward centroids in vietnamadminunits'
offline ``dataset.db`` (no geocoder, nothing leaves the server)."""

from __future__ import annotations

import functools
import math

from content._locality.data import _db, _province_key
from content._locality.text import fold

__all__ = ["Centroid", "centroids", "distance_km", "nearest_codes"]

EARTH_RADIUS_KM = 6371.0
Centroid = tuple[str, float, float]  # folded name, latitude, longitude


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@functools.cache
def centroids(province_code: int) -> tuple[Centroid, ...]:
    """(folded commune name, lat, lon) for the province's communes that have a centroid.

    Matched to vietnam_provinces by name: a few codes differ between the two packages."""
    with _db() as con:
        rows = con.execute(
            "SELECT ward, wardLat, wardLon FROM admin_units WHERE provinceKey = ?"
            " AND wardLat IS NOT NULL AND wardLon IS NOT NULL",
            (_province_key(province_code),),
        ).fetchall()
    return tuple((fold(str(name)), float(lat), float(lon)) for name, lat, lon in rows)


def nearest_codes(
    latitude: float, longitude: float, by_name: dict[str, int], province_code: int, limit: int
) -> list[tuple[int, float]]:
    """(commune code, distance km) of the closest communes, nearest first."""
    found = [
        (by_name[name], distance_km(latitude, longitude, lat, lon))
        for name, lat, lon in centroids(province_code)
        if name in by_name
    ]
    found.sort(key=lambda item: item[1])
    return found[:limit]
