"""Nearest commune to a shared location (Zalo OA sends coordinates), offline."""

import pytest

from content._locality.nearest import centroids, distance_km
from content.locality import nearest, units


def test_every_commune_has_a_centre() -> None:
    assert len(centroids(52)) == len(units(52)) == 135


def test_a_communes_own_centre_finds_it_first() -> None:
    names = {unit.name for unit in units(52)}
    for _folded, lat, lon in centroids(52):
        best = nearest(lat, lon)[0]
        assert best.name in names and best.score == 1.0


def test_quy_nhon() -> None:
    found = nearest(13.7843, 109.233)
    assert found[0].name == "Phường Quy Nhơn"
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


@pytest.mark.parametrize("lat, lon", [(21.03, 105.85), (10.78, 106.7), (91.0, 0.0), (0.0, 181.0)])
def test_outside_the_province_or_invalid(lat: float, lon: float) -> None:
    assert nearest(lat, lon) == []


def test_haversine() -> None:
    assert distance_km(13.7843, 109.233, 13.7843, 109.233) == 0
    assert 420 < distance_km(13.7843, 109.233, 10.78, 106.7) < 445  # Quy Nhơn - Sài Gòn ≈ 432 km
