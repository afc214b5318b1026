from datetime import UTC, datetime, timedelta

from bot.tips.unknown_codes import UnknownCodeLocks

NOW = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_locks_after_as_many_wrong_pins_as_a_tip_then_counts_afresh() -> None:
    locks = UnknownCodeLocks(3, HOUR)
    for _ in range(2):
        locks.failed("TG-2222AA", NOW)
        assert not locks.locked("TG-2222AA", NOW)
    locks.failed("TG-2222AA", NOW)
    assert locks.locked("TG-2222AA", NOW) and locks.locked("TG-2222AA", NOW + HOUR / 2)
    assert not locks.locked("TG-2222AB", NOW)  # per code
    later = NOW + HOUR
    assert not locks.locked("TG-2222AA", later)  # the lock ends, and the count starts again
    for _ in range(2):
        locks.failed("TG-2222AA", later)
    assert not locks.locked("TG-2222AA", later)


def test_memory_is_bounded_and_holds_no_code() -> None:
    locks = UnknownCodeLocks(1, HOUR, capacity=2)
    for code in ("TG-XYZWQA", "TG-XYZWQB", "TG-XYZWQC"):
        locks.failed(code, NOW)
    assert not locks.locked("TG-XYZWQA", NOW)  # the least recently tried is forgotten
    assert locks.locked("TG-XYZWQB", NOW) and locks.locked("TG-XYZWQC", NOW)
    assert "XYZWQ" not in repr(vars(locks))
