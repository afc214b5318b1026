"""Two months (or `days`) of a living movement, for the statistics pages in a browser and the
README's screenshots: a few hundred residents on three channels in six communes of Gia Lai,
their menus, topics and readings day by day, messages in and out, campaigns with deliveries,
taps and unsubscribes (three in two months, five in a year), and tips in several categories
and statuses, then the rollup rebuilt as `antq stats rebuild` does.

Deterministic (a seeded random generator), relative to `now`. Known facts for the tests:

- exactly one weapons tip, in Phường Quy Nhơn Đông (`LONE`), filed `LONE_DAYS_AGO` days ago:
  a count the tips page must mask ("<3");
- in the last 30 days Phường Quy Nhơn Đông has the most tips and Phường Quy Nhơn the most
  subscribers, so sorting the commune table by tips or by subscribers changes its order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot.models import Campaign, CampaignRun, Delivery, Event, Resident, Tip, utcnow
from bot.runtime import Runtime
from bot.stats.counters import MESSAGES_IN, MESSAGES_OUT
from bot.stats.rollup import rebuild
from bot.tips.actions import first_response_due
from bot.tips.states import CLOSED
from tests.admin.panel import QN, QN_DONG

__all__ = ["COMMUNES", "LONE", "LONE_DAYS_AGO", "Seeded", "seed_statistics"]

#: Communes with residents (code, weight): Quy Nhơn first, then Quy Nhơn Đông.
COMMUNES = ((QN, 30), (QN_DONG, 24), (21589, 15), (21592, 12), (21553, 10), (21907, 9))
CHANNELS = (("telegram", 45), ("zalo_oa", 35), ("zalo_bot", 20))
#: The lone tip of its category in the whole province.
LONE = (QN_DONG, "weapons")
LONE_DAYS_AGO = 6
#: (commune, weight) of the other tips: Quy Nhơn Đông files the most.
TIP_COMMUNES = ((QN_DONG, 34), (QN, 20), (21589, 14), (21592, 12), (21553, 10), (21907, 10))
TIP_CATEGORIES = (
    ("online_fraud", 30),
    ("drugs", 18),
    ("theft", 18),
    ("loan_shark", 12),
    ("gambling", 9),
    ("public_order", 8),
    ("other", 5),
)
#: What residents read, by topic (ids of the shipped library).
READING = {
    "fraud": (
        "khi-bi-lua-dao",
        "lua-dao-gia-danh-cong-an",
        "lua-dao-chiem-tai-khoan",
        "lua-dao-dau-tu",
        "lua-dao-viec-nhe-luong-cao",
        "lua-dao-gia-danh-ngan-hang",
    ),
    "credit": ("tin-dung-den", "vay-tien-qua-app"),
    "drugs": ("ma-tuy-dau-hieu", "ma-tuy-tac-hai-to-giac"),
    "theft": ("phong-trom-nha-o", "phong-trom-xe-tai-san"),
    "movement": ("phong-trao-toan-dan", "to-bao-ve-antt-co-so"),
    "report": ("to-giac-toi-pham",),
    "models": ("camera-an-ninh", "to-tu-quan"),
    "weapons": ("giao-nop-vu-khi", "phao-no"),
}
TOPIC_WEIGHTS = (
    ("fraud", 34),
    ("credit", 12),
    ("drugs", 12),
    ("theft", 12),
    ("movement", 10),
    ("report", 8),
    ("models", 7),
    ("weapons", 5),
)
CAMPAIGNS = (
    # title, days ago it was sent, share of residents who tap its button (those further back
    # than the seeded days are left out)
    ("Tết an toàn: không pháo nổ", 300, 0.12),
    ("Tháng hành động phòng, chống ma túy", 160, 0.14),
    ("Phòng chống tín dụng đen", 45, 0.10),
    ("Ngày hội Toàn dân bảo vệ ANTQ 19/8", 21, 0.22),
    ("Cảnh báo lừa đảo giả danh công an", 8, 0.16),
)


@dataclass
class Seeded:
    residents: int = 0
    events: int = 0
    tips: int = 0
    messages_in: int = 0
    messages_out: int = 0
    campaigns: list[str] = field(default_factory=list)
    #: tips filed in the last 30 days, by commune
    recent_tips: dict[int, int] = field(default_factory=dict)


def _pick(rng: random.Random, weighted: tuple[tuple[object, int], ...]) -> object:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _at(rng: random.Random, day_start: datetime, now: datetime) -> datetime:
    """A moment in the resident's waking hours (6–22 local) of the day starting at
    `day_start` (UTC), never after `now`."""
    moment = day_start + timedelta(hours=6 + 16 * rng.random())
    return min(moment, now - timedelta(seconds=rng.randint(30, 3600)))


async def seed_statistics(
    runtime: Runtime,
    *,
    days: int = 60,
    residents: int = 300,
    seed: int = 6,
    now: datetime | None = None,
) -> Seeded:
    """Write the data, count the messages, rebuild the rollup; returns what was written."""
    rng = random.Random(seed)
    db = runtime.db
    settings = runtime.settings
    zone = ZoneInfo(settings.timezone)
    now = now or utcnow()
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)

    def day_start(n: int) -> datetime:  # local midnight of day n (0 = first day), in UTC
        local = datetime.combine(first_day + timedelta(days=n), datetime.min.time(), zone)
        return local.astimezone(UTC)

    out = Seeded()
    counter = runtime.counter
    assert counter is not None

    # --- residents: a launch wave, then a slow rise, with a bump after each campaign ------
    people: list[Resident] = []
    joined: list[int] = []
    sent = [(title, ago, share) for title, ago, share in CAMPAIGNS if ago < days]
    campaign_days = [days - 1 - ago for _t, ago, _s in sent]
    for i in range(residents):
        if i < residents * 0.35:
            n = rng.randint(0, 3)
        else:
            n = min(days - 1, int((days - 1) * rng.random() ** 0.8))
            if rng.random() < 0.25:
                n = min(days - 1, rng.choice(campaign_days) + rng.randint(0, 2))
        channel = str(_pick(rng, CHANNELS))
        commune = int(str(_pick(rng, COMMUNES)))
        created = _at(rng, day_start(n), now)
        people.append(
            Resident(
                channel=channel,
                chat_id=f"seed-{channel}-{i:04d}",
                commune_code=commune,
                language="vi" if rng.random() < 0.93 else "en",
                onboarded=True,
                created_at=created,
                last_seen_at=created,
            )
        )
        joined.append(n)
    async with db.session() as session:
        session.add_all(people)
        await session.flush()
    out.residents = len(people)

    events: list[dict[str, object]] = []

    def event(r: Resident, kind: str, ref: str | None, at: datetime) -> None:
        events.append(
            {
                "kind": kind,
                "ref": ref,
                "channel": r.channel,
                "commune_code": r.commune_code,
                "resident_id": r.id,
                "created_at": at,
            }
        )
        counter.add(MESSAGES_IN, r.channel, r.commune_code, moment=at)
        replies = 1 if kind in ("tap", "topic") else 2
        counter.add(MESSAGES_OUT, r.channel, r.commune_code, replies, moment=at)
        out.messages_in += 1
        out.messages_out += replies

    # --- what they do, day by day: weekends busier, campaign days much busier -------------
    for r, start in zip(people, joined, strict=True):
        assert r.id is not None
        keen = rng.random()
        event(r, "onboarded", None, r.created_at)
        event(r, "commune", str(r.commune_code), r.created_at + timedelta(seconds=20))
        for n in range(start, days):
            weekday = (first_day + timedelta(days=n)).weekday()
            chance = 0.05 + 0.22 * keen
            if weekday >= 5:
                chance *= 1.4
            if any(0 <= n - c <= 1 for c in campaign_days):
                chance *= 2.2
            if rng.random() > chance and n != start:
                continue
            at = _at(rng, day_start(n), now)
            if at < r.created_at:
                at = r.created_at + timedelta(minutes=1)
            if at > now:
                continue
            event(r, "tap", "m", at)
            for _ in range(1 + int(rng.random() < 0.35)):
                topic = str(_pick(rng, TOPIC_WEIGHTS))
                at += timedelta(seconds=rng.randint(5, 40))
                event(r, "tap", "lib", at)
                event(r, "topic", topic, at + timedelta(seconds=3))
                if rng.random() < 0.8:
                    item = rng.choice(READING[topic])
                    at += timedelta(seconds=rng.randint(10, 90))
                    event(r, "content", item, at)
            extra = rng.random()
            if extra < 0.12:
                event(r, "tap", "hot", at + timedelta(seconds=30))
                event(r, "hotlines", None, at + timedelta(seconds=31))
            elif extra < 0.18:
                event(r, "tap", "fest", at + timedelta(seconds=30))
                event(r, "festival", None, at + timedelta(seconds=31))
            elif extra < 0.20:
                event(r, "tap", "fb", at + timedelta(seconds=30))
                event(r, "feedback", None, at + timedelta(seconds=60))

    # --- campaigns: every subscriber of the day gets one; a few taps, a few leave ----------
    left: dict[int, datetime] = {}
    deliveries: list[dict[str, object]] = []
    async with db.session() as session:
        for title, ago, tap_share in sent:
            n = days - 1 - ago
            sent_at = day_start(n) + timedelta(hours=8, minutes=30)
            campaign = Campaign(
                title=title,
                text_vi=f"{title}: thông tin và khuyến cáo của Công an tỉnh.",
                status="done",
                created_at=sent_at - timedelta(days=2),
                updated_at=sent_at,
            )
            session.add(campaign)
            await session.flush()
            assert campaign.id is not None
            out.campaigns.append(title)
            recipients = [r for r in people if r.created_at < sent_at and r.id not in left]
            run = CampaignRun(
                campaign_id=campaign.id,
                scheduled_for=sent_at,
                status="done",
                total=len(recipients),
                started_at=sent_at,
                finished_at=sent_at + timedelta(minutes=12),
            )
            session.add(run)
            await session.flush()
            assert run.id is not None
            for r in recipients:
                assert r.id is not None
                roll = rng.random()
                if r.channel == "zalo_oa" and roll < 0.12:
                    status = "out_of_window"
                elif roll < 0.03:
                    status = "blocked"
                elif roll < 0.05:
                    status = "failed"
                else:
                    status = "sent"
                at = sent_at + timedelta(seconds=rng.randint(1, 700))
                deliveries.append(
                    {
                        "run_id": run.id,
                        "resident_id": r.id,
                        "channel": r.channel,
                        "chat_id": r.chat_id,
                        "language": r.language,
                        "status": status,
                        "attempts": 1,
                        "next_attempt_at": at,
                        "sent_at": at if status == "sent" else None,
                    }
                )
                if status != "sent":
                    continue
                counter.add(MESSAGES_OUT, r.channel, r.commune_code, moment=at)
                out.messages_out += 1
                if rng.random() < tap_share:
                    event(
                        r,
                        "campaign_tap",
                        str(campaign.id),
                        at + timedelta(minutes=rng.randint(1, 600)),
                    )
                elif rng.random() < 0.03:
                    left[r.id] = at + timedelta(hours=rng.randint(1, 30))
        await session.execute(insert(Delivery.__table__), deliveries)  # type: ignore[attr-defined]
        # a few leave without a campaign too
        for r in rng.sample(people, k=max(1, residents // 40)):
            if r.id is not None and r.id not in left:
                left[r.id] = r.created_at + timedelta(days=rng.randint(1, 30))
        for resident in (
            await session.execute(select(Resident).where(Resident.id.in_(list(left))))  # type: ignore[union-attr]
        ).scalars():
            at = min(left[resident.id or 0], now - timedelta(minutes=5))
            resident.subscribed = False
            resident.unsubscribed_at = at
            for r in people:
                if r.id == resident.id:
                    event(r, "unsubscribe", None, at)
        for first in range(0, len(events), 5000):
            await session.execute(insert(Event.__table__), events[first : first + 5000])  # type: ignore[attr-defined]
    out.events = len(events)

    # --- tips: older ones worked and closed, recent ones open, a few overdue ----------------
    statuses_closed = (("resolved", 45), ("transferred", 20), ("insufficient", 20), ("false", 15))
    statuses_open = (("accepted", 45), ("verifying", 40), ("new", 15))
    tips: list[Tip] = []
    count = max(40, residents // 6) * max(1, days // 60)
    plan = [
        (int(str(_pick(rng, TIP_COMMUNES))), str(_pick(rng, TIP_CATEGORIES))) for _ in range(count)
    ]
    for i, (commune, category) in enumerate([LONE, *plan]):
        age = float(LONE_DAYS_AGO) if i == 0 else rng.uniform(0.2, days - 1)
        created = min(now - timedelta(days=age), now - timedelta(hours=1))
        urgent = rng.random() < 0.1
        due = first_response_due(created, urgent, settings)
        if age > 12:
            status = str(_pick(rng, statuses_closed))
        elif age > 3:
            status = str(_pick(rng, statuses_open + statuses_closed[:2]))
        else:
            status = str(_pick(rng, statuses_open))
        responded = None
        if status != "new":
            late = rng.random() < 0.15
            hours = rng.uniform(9, 30) if late else rng.uniform(0.3, 7)
            responded = min(created + timedelta(hours=hours), now - timedelta(minutes=1))
        closed = None
        if status in CLOSED:
            closed = min(created + timedelta(days=rng.uniform(1, 10)), now - timedelta(minutes=1))
        tip = Tip(
            code=f"TG-S{i:05d}",
            pin_hash="seeded",
            category=category,
            commune_code=commune,
            description="Tin báo mẫu cho thống kê.",
            urgent=urgent,
            status=status,
            created_at=created,
            updated_at=closed or responded or created,
            first_response_due=due,
            first_response_at=responded,
            closed_at=closed,
            response_seconds=None
            if responded is None
            else int((responded - created).total_seconds()),
            close_seconds=None if closed is None else int((closed - created).total_seconds()),
            outcome="Đã xác minh." if closed else "",
            search_text="tin bao mau",
        )
        tips.append(tip)
        if now - created <= timedelta(days=29):
            out.recent_tips[commune] = out.recent_tips.get(commune, 0) + 1
    async with db.session() as session:
        session.add_all(tips)
    out.tips = len(tips)

    await counter.flush(db)
    await rebuild(db, settings.timezone, now=now)
    return out
