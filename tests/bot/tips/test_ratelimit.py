from datetime import date

from bot.tips.ratelimit import DailyLimit


def test_limit_per_resident_per_day() -> None:
    limit = DailyLimit(2)
    day, next_day = date(2026, 8, 19), date(2026, 8, 20)
    for _ in range(2):
        assert limit.allowed("telegram", "1", day)
        limit.count("telegram", "1", day)
    assert not limit.allowed("telegram", "1", day)
    assert limit.allowed("telegram", "2", day)  # one abuser does not block others
    assert limit.allowed("zalo_bot", "1", day)
    assert limit.allowed("telegram", "1", next_day)  # a new day starts afresh


def test_no_chat_id_is_kept() -> None:
    limit = DailyLimit(5)
    limit.count("telegram", "123456789", date(2026, 8, 19))
    assert "123456789" not in repr(vars(limit))
