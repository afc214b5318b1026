"""Synthetic history for bench/dashboard.py: thirteen months of residents, engagement events,
tips, campaigns and their deliveries, and the messages counted, written in bulk.

Shaped like the product writes it, so that the rollup and the dashboard see what they would
in a province: residents arrive over the months (more lately, a surge around the 19/8
festival), each visit is a short walk through the menus (a `tap` on every button with the
item it opened after it, as `handlers` records them), campaign buttons are tapped in the
days after a run, tips are answered and closed as officers would (the deadline computed by
`bot.tips.actions.first_response_due`, the overdue ones escalated), and residents' creation
days have day precision (`bot.models.day_start`). The same seed gives the same history on every
backend (counted back from the moment it is made, so a few rows may fall on another day).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.campaigns.schedule import Schedule
from bot.db import Database
from bot.models import Campaign, CampaignRun, Delivery, Event, Resident, Tip
from bot.settings import Settings
from bot.stats.counters import MESSAGES_IN, MESSAGES_OUT, MessageCounter
from bot.tips.actions import first_response_due
from bot.tips.states import CATEGORIES, CLOSED
from content.library import load_library
from content.locality import fold, units

__all__ = ["Plan", "World", "generate"]

CHANNELS = (("telegram", 0.30), ("zalo_bot", 0.25), ("zalo_oa", 0.45))
#: Phường Quy Nhơn Đông and Phường Quy Nhơn: the officer's two communes, among the busiest.
OFFICER_COMMUNES = (21601, 21583)
CATEGORY_WEIGHTS = {
    "drugs": 15,
    "theft": 20,
    "gambling": 10,
    "loan_shark": 8,
    "online_fraud": 20,
    "weapons": 2,
    "violence": 7,
    "public_order": 12,
    "other": 6,
}
CLOSED_WEIGHTS = {"resolved": 50, "transferred": 20, "insufficient": 20, "false": 10}
#: Local hours of the day people write at (weights).
HOURS = [0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.2, 1.3, 1.5, 1.5, 1.4,
         1.2, 1.2, 1.3, 1.3, 1.4, 1.5, 1.8, 2.0, 2.0, 1.8, 1.2, 0.6]  # fmt: skip
TIP_TEXTS = (
    "Có người bán ma túy ở hẻm {n}, tối nào cũng có người lạ ra vào.",
    "Nhóm thanh niên tụ tập đánh bạc tại quán nước đầu ngõ {n}.",
    "Tôi bị lừa chuyển khoản {n} triệu qua mạng, kẻ gian giả danh công an.",
    "Xe máy bị mất trộm trước nhà số {n} lúc rạng sáng.",
    "Có đối tượng cho vay nặng lãi, đòi nợ bằng cách ném chất bẩn vào nhà số {n}.",
    "Nghi có người cất giấu vũ khí tự chế ở khu đất trống gần trường, lô {n}.",
    "Hàng xóm thường xuyên gây gổ, đánh nhau, mất trật tự sau {n} giờ đêm.",
    "Quán karaoke mở nhạc quá to đến khuya, đã nhắc {n} lần không được.",
)


@dataclass(frozen=True)
class Plan:
    residents: int = 200_000
    events: int = 1_000_000
    tips: int = 100_000
    deliveries: int = 200_000
    days: int = 395  # thirteen months
    seed: int = 20260819


@dataclass
class World:
    """What was made (for the report and the URLs to measure)."""

    first_day: date
    today: date
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


Log = Callable[[str], None]


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock(), zone).astimezone(UTC)


def _present(left: datetime | None, at: datetime) -> bool:
    """Still subscribed at `at`."""
    return left is None or left > at


def _spread(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders)."""
    s = sum(weights) or 1.0
    exact = [total * w / s for w in weights]
    out = [int(x) for x in exact]
    rest = sorted(range(len(weights)), key=lambda i: exact[i] - out[i], reverse=True)
    for i in rest[: total - sum(out)]:
        out[i] += 1
    return out


class _Writer:
    """Rows into a table in chunks of `chunk`, one transaction per 100,000 rows."""

    def __init__(self, db: Database, table: Any, chunk: int = 10_000) -> None:
        self.db, self.table, self.chunk = db, table, chunk
        self.rows: list[dict[str, Any]] = []
        self.written = 0

    async def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= 100_000:
            await self.flush()

    async def flush(self) -> None:
        if not self.rows:
            return
        async with self.db.session() as session:
            for at in range(0, len(self.rows), self.chunk):
                await session.execute(insert(self.table), self.rows[at : at + self.chunk])
        self.written += len(self.rows)
        self.rows = []


@dataclass
class _Residents:
    channel: list[str]
    commune: list[int | None]
    chat: list[str]
    day: list[int]  # day index of arrival
    left: list[datetime | None]  # unsubscribed at
    by_day: list[int]  # residents arrived by the end of each day (ids 1..n)


class _Generator:
    def __init__(self, plan: Plan, db: Database, settings: Settings, log: Log) -> None:
        self.plan, self.db, self.settings, self.log = plan, db, settings, log
        self.rng = random.Random(plan.seed)
        self.zone = ZoneInfo(settings.timezone)
        self.now = datetime.now(UTC)
        self.today = self.now.astimezone(self.zone).date()
        self.first = self.today - timedelta(days=plan.days - 1)
        self.starts = [
            _day_start(self.first + timedelta(days=d), self.zone) for d in range(plan.days)
        ]
        self.communes = [u.code for u in units(settings.province_code)]
        self.commune_weights = [
            6.0 if code in OFFICER_COMMUNES else self.rng.lognormvariate(0, 0.8)
            for code in self.communes
        ]
        library = load_library()
        self.topics = [t.id for t in library.topics]
        self.items_of = {t: [i.id for i in library.items_by_topic(t)] for t in self.topics}
        self.items = [i for t in self.topics for i in self.items_of[t]]
        self.topic_weights = [1 / (k + 1) ** 0.8 for k in range(len(self.topics))]
        self.rng.shuffle(self.topic_weights)
        self.item_weights = [1 / (k + 1) ** 0.9 for k in range(len(self.items))]
        self.rng.shuffle(self.item_weights)
        self.counter = MessageCounter(settings.timezone)
        self.festival = {  # 19/8 and the days around it
            d
            for d in range(plan.days)
            if (self.first + timedelta(days=d)).month == 8
            and 15 <= (self.first + timedelta(days=d)).day <= 21
        }
        self.runs: list[tuple[int, int, datetime, list[str]]] = []  # campaign, day, start, items
        #: day -> the runs of the last three days (their buttons are being tapped)
        self.recent_runs: dict[int, list[tuple[int, int, datetime, list[str]]]] = {}
        self.hours = list(itertools.accumulate(HOURS))

    # --- helpers --------------------------------------------------------------------------

    def moment(self, d: int, not_before: datetime | None = None) -> datetime:
        """A time on local day `d`, at the hours people write; before now on the last day."""
        start = self.starts[d]
        for _ in range(20):
            hour = self.rng.choices(range(24), cum_weights=self.hours)[0]
            t = start + timedelta(seconds=hour * 3600 + self.rng.random() * 3600)
            if (not_before is None or t >= not_before) and t < self.now:
                return t
        low = max(start, not_before or start)
        high = min(start + timedelta(days=1), self.now)
        return low + (high - low) * self.rng.random()

    def day_of(self, moment: datetime) -> int:
        return (moment.astimezone(self.zone).date() - self.first).days

    # --- residents -------------------------------------------------------------------------

    async def residents(self) -> _Residents:
        n, days, rng = self.plan.residents, self.plan.days, self.rng
        weights = [0.35 + d / days + (3.0 if d in self.festival else 0.0) for d in range(days)]
        weights[-1] *= (self.now - self.starts[-1]).total_seconds() / 86400
        per_day = _spread(n, weights)
        r = _Residents([], [], [], [], [], [])
        names = [c for c, _w in CHANNELS]
        channel_weights = [w for _c, w in CHANNELS]
        writer = _Writer(self.db, Resident.__table__)  # type: ignore[attr-defined]
        serial = Counter[str]()
        for d, count in enumerate(per_day):
            # day precision: the UTC midnight inside the local day (07:00 in Vietnam)
            created = datetime.combine(self.first + timedelta(days=d), clock(), UTC)
            if created < self.starts[d]:
                created += timedelta(days=1)
            created = min(created, self.now)
            for _ in range(count):
                channel = rng.choices(names, weights=channel_weights)[0]
                commune = (
                    None
                    if rng.random() < 0.03
                    else rng.choices(self.communes, weights=self.commune_weights)[0]
                )
                serial[channel] += 1
                chat = str(40_000_000 + serial[channel])
                left = None
                if rng.random() < 0.05:
                    left = created + timedelta(days=rng.expovariate(1 / 40), hours=rng.random())
                    if left >= self.now:
                        left = created + (self.now - created) * rng.random()
                r.channel.append(channel)
                r.commune.append(commune)
                r.chat.append(chat)
                r.day.append(d)
                r.left.append(left)
                await writer.add(
                    {
                        # ids 1..n, which the events and deliveries below refer to (the
                        # product gives random ones; made-up history may count)
                        "id": len(r.channel),
                        "channel": channel,
                        "chat_id": chat,
                        "language": "en" if rng.random() < 0.03 else "vi",
                        "commune_code": commune,
                        "subscribed": left is None,
                        "onboarded": True,
                        "state": "",
                        "state_data": {},
                        "created_at": created,
                        "last_seen_at": created,
                        "unsubscribed_at": left,
                    }
                )
            if writer.written and d % 60 == 0:
                self.log(f"  residents {writer.written + len(writer.rows):,}/{n:,}")
        await writer.flush()
        total = 0
        for count in per_day:
            total += count
            r.by_day.append(total)
        return r

    # --- campaigns and deliveries ----------------------------------------------------------

    async def campaigns(self, r: _Residents) -> int:
        days, rng = self.plan.days, self.rng
        festival_day = min(self.festival) + 2 if self.festival else days // 2
        one_off = [
            ("Cảnh giác lừa đảo qua mạng dịp cuối năm", int(days * 0.10), ["khi-bi-lua-dao"]),
            ("Tết an toàn: phòng chống pháo nổ, trộm cắp", int(days * 0.25), []),
            ("Giao nộp vũ khí, vật liệu nổ", int(days * 0.40), ["giao-nop-vu-khi"]),
            ("Phòng chống ma túy trong thanh thiếu niên", int(days * 0.55), []),
            ("Ngày hội toàn dân bảo vệ an ninh Tổ quốc 19/8", festival_day, []),
            ("Lắp camera an ninh cùng khu phố", int(days * 0.85), ["camera-an-ninh"]),
            ("Cảnh giác chiếm đoạt tài khoản ngân hàng", days - 6, ["lua-dao-chiem-tai-khoan"]),
        ]
        known = set(self.items)
        plans: list[tuple[str, list[int], list[str]]] = [
            (t, [d], [i for i in items if i in known]) for t, d, items in one_off
        ]
        monthly = [d for d in range(5, days, 30)]
        plans.append(("Bản tin an ninh trật tự hằng tháng", monthly, []))
        runs = [(k, d) for k, (_t, ds, _i) in enumerate(plans) for d in ds]
        sizes = _spread(self.plan.deliveries, [float(r.by_day[d]) for _k, d in runs])
        ids: list[int] = []
        async with self.db.session() as session:
            for title, ds, items in plans:
                started = self.starts[ds[0]] + timedelta(hours=9)
                campaign = Campaign(
                    title=title,
                    text_vi=title + ". Mời bà con xem chi tiết bên dưới.",
                    items=items,
                    audience={},
                    schedule=Schedule.now().to_json(),
                    status="done",
                    created_at=started - timedelta(days=2),
                    updated_at=started,
                    approved_at=started - timedelta(days=1),
                )
                session.add(campaign)
                await session.flush()
                assert campaign.id is not None
                ids.append(campaign.id)
        writer = _Writer(self.db, Delivery.__table__)  # type: ignore[attr-defined]
        for (k, d), size in zip(runs, sizes, strict=True):
            started = self.starts[d] + timedelta(hours=9, minutes=rng.randrange(0, 30))
            if started >= self.now:
                started = self.now - timedelta(minutes=30)
            existing = r.by_day[d - 1] if d else 0
            pool = rng.sample(range(existing), min(existing, int(size * 1.08) + 10))
            chosen = [i for i in pool if _present(r.left[i], started)][:size]
            async with self.db.session() as session:
                run = CampaignRun(
                    campaign_id=ids[k],
                    scheduled_for=started,
                    status="done",
                    total=len(chosen),
                    started_at=started,
                    finished_at=started + timedelta(seconds=len(chosen) / 30),
                )
                session.add(run)
                await session.flush()
                run_id = run.id
            sent_by_channel: Counter[str] = Counter()
            for n, i in enumerate(chosen):
                channel = r.channel[i]
                roll = rng.random()
                if channel == "zalo_oa" and roll < 0.08:
                    status = "out_of_window"
                elif roll < 0.11:
                    status = "blocked"
                elif roll < 0.13:
                    status = "failed"
                elif roll < 0.131:
                    status = "interrupted"
                else:
                    status = "sent"
                at = started + timedelta(seconds=n / 30)
                if status == "sent":
                    sent_by_channel[channel] += 1
                await writer.add(
                    {
                        "run_id": run_id,
                        "resident_id": i + 1,
                        "channel": channel,
                        "chat_id": r.chat[i],
                        "language": "vi",
                        "commune_code": r.commune[i],
                        "status": status,
                        "attempts": 1,
                        "next_attempt_at": at,
                        "lease_until": None,
                        "error": "" if status == "sent" else status,
                        "sent_at": at if status == "sent" else None,
                    }
                )
            for channel, n in sent_by_channel.items():
                self.counter.add(MESSAGES_OUT, channel, None, n, moment=started)
            items = plans[k][2] or self.rng.sample(self.items, 2)
            self.runs.append((ids[k], d, started, items))
            for later in range(d, min(d + 4, days)):
                self.recent_runs.setdefault(later, []).append(self.runs[-1])
        await writer.flush()
        self.log(f"  {len(plans)} campaigns, {len(runs)} runs, {writer.written:,} deliveries")
        return writer.written

    # --- events ----------------------------------------------------------------------------

    def topic(self) -> str:
        return self.rng.choices(self.topics, weights=self.topic_weights)[0]

    def item(self, topic: str | None = None) -> str:
        if topic and self.items_of.get(topic):
            return self.rng.choice(self.items_of[topic])
        return self.rng.choices(self.items, weights=self.item_weights)[0]

    def visit(self, d: int) -> list[list[tuple[str, str | None]]]:
        """One visit: the steps (each one message from the resident, with its events)."""
        rng = self.rng
        steps: list[list[tuple[str, str | None]]] = []
        if rng.random() < 0.5:
            steps.append([("tap", "m")])
        campaign = self.recent_runs.get(d, [])
        roll = rng.random()
        if campaign and roll < 0.35:
            cid, _d, _s, items = rng.choice(campaign)
            steps.append([("tap", "cmp"), ("campaign_tap", str(cid))])
            for _ in range(rng.choice((0, 1, 1, 2))):
                steps.append([("tap", "lib"), ("content", rng.choice(items))])
        elif d in self.festival and roll < 0.5:
            steps.append([("tap", "fest"), ("festival", None)])
            if rng.random() < 0.4:
                steps.append([("tap", "lib"), ("topic", "movement")])
        elif roll < 0.55:
            steps.append([("tap", "lib")])
            for _ in range(rng.choice((1, 1, 1, 2))):
                topic = self.topic()
                steps.append([("tap", "lib"), ("topic", topic)])
                for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
                    steps.append([("tap", "lib"), ("content", self.item(topic))])
        elif roll < 0.70:
            steps.append([("tap", "hot"), ("hotlines", None)])
        elif roll < 0.76:
            steps.append([("tap", "fest"), ("festival", None)])
        elif roll < 0.86:
            steps.append([("content", self.item())])  # a question typed, an item found
        elif roll < 0.89:
            steps.append([("tap", "fb"), ("feedback", None)])
        elif roll < 0.92:
            steps.append([("tap", "set"), ("tap", "sub"), ("subscribe", None)])
        else:
            steps.append([("tap", rng.choice(("help", "set", "lang", "com", "cancel")))])
        return steps

    async def events(self, r: _Residents) -> int:
        plan, rng = self.plan, self.rng
        leaving: dict[int, list[int]] = {}
        for i, left in enumerate(r.left):
            if left is not None:
                leaving.setdefault(self.day_of(left), []).append(i)
        weights = []
        for d in range(plan.days):
            w = float(r.by_day[d]) * (2.5 if d in self.festival else 1.0)
            if self.recent_runs.get(d):
                w *= 1.6
            weights.append(w)
        weights[-1] *= (self.now - self.starts[-1]).total_seconds() / 86400
        per_day = _spread(plan.events, weights)
        writer = _Writer(self.db, Event.__table__)  # type: ignore[attr-defined]
        started = time.monotonic()
        logged = 0
        for d, target in enumerate(per_day):
            rows: list[tuple[datetime, str, str | None, int]] = []
            messages: Counter[tuple[str, int | None]] = Counter()
            for i in leaving.get(d, []):
                left = r.left[i]
                assert left is not None
                rows.append((left, "unsubscribe", None, i))
            existing = r.by_day[d]
            while len(rows) < target and existing:
                i = rng.randrange(existing)
                arrived = min(
                    datetime.combine(self.first + timedelta(days=r.day[i]), clock(), UTC), self.now
                )
                t = self.moment(d, not_before=arrived if r.day[i] == d else None)
                for step in self.visit(d):
                    messages[r.channel[i], r.commune[i]] += 1
                    for kind, ref in step:
                        rows.append((t, kind, ref, i))
                    t += timedelta(seconds=rng.uniform(4, 50))
            rows = rows[:target]
            rows.sort(key=lambda row: row[0])
            for t, kind, ref, i in rows:
                await writer.add(
                    {
                        "kind": kind,
                        "ref": ref,
                        "channel": r.channel[i],
                        "commune_code": r.commune[i],
                        "resident_id": i + 1,
                        "created_at": min(t, self.now),
                    }
                )
            noon = self.starts[d] + timedelta(hours=12)
            for (channel, commune), n in messages.items():
                self.counter.add(MESSAGES_IN, channel, commune, n, moment=noon)
                out = n + sum(rng.random() < 0.3 for _ in range(min(n, 20)))
                self.counter.add(MESSAGES_OUT, channel, commune, out, moment=noon)
            done = writer.written + len(writer.rows)
            if done - logged >= 100_000:
                logged = done
                rate = done / max(time.monotonic() - started, 1e-3)
                self.log(f"  events {done:,}/{plan.events:,} ({rate:,.0f}/s)")
            if d % 30 == 29:
                await self.counter.flush(self.db)
        await writer.flush()
        await self.counter.flush(self.db)
        return writer.written

    # --- tips ------------------------------------------------------------------------------

    async def tips(self, r: _Residents) -> int:
        plan, rng = self.plan, self.rng
        weights = [math.sqrt(max(r.by_day[d], 1)) for d in range(plan.days)]
        weights[-1] *= (self.now - self.starts[-1]).total_seconds() / 86400
        per_day = _spread(plan.tips, weights)
        alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O (ambiguous)
        codes = rng.sample(range(len(alphabet) ** 8), plan.tips)
        categories = list(CATEGORY_WEIGHTS)
        assert set(categories) == set(CATEGORIES)
        closed_statuses = list(CLOSED_WEIGHTS)
        assert set(closed_statuses) == set(CLOSED)
        writer = _Writer(self.db, Tip.__table__, chunk=5_000)  # type: ignore[attr-defined]
        n = 0
        for d, count in enumerate(per_day):
            for _ in range(count):
                value, code = codes[n], ""
                for _k in range(8):
                    value, digit = divmod(value, len(alphabet))
                    code += alphabet[digit]
                n += 1
                created = self.moment(d)
                urgent = rng.random() < 0.08
                due = first_response_due(created, urgent, self.settings)
                # officers answer within hours (urgent ones faster), some late, a few never
                delay = timedelta(hours=rng.lognormvariate(math.log(1.0 if urgent else 3.5), 1.1))
                responded: datetime | None = created + delay
                if responded is not None and (responded >= self.now or rng.random() < 0.01):
                    responded = None
                closed = None
                status = "new"
                if responded is not None:
                    status = rng.choice(("accepted", "verifying", "verifying"))
                    close_at = responded + timedelta(days=rng.lognormvariate(math.log(5), 0.9))
                    if close_at < self.now and rng.random() < 0.95:
                        closed = close_at
                        status = rng.choices(
                            closed_statuses, weights=list(CLOSED_WEIGHTS.values())
                        )[0]
                late = responded is None or responded > due
                escalated = due + timedelta(minutes=rng.uniform(0.5, 5)) if late else None
                if escalated is not None and escalated >= self.now:
                    escalated = None
                commune = (
                    None
                    if rng.random() < 0.04
                    else rng.choices(self.communes, weights=self.commune_weights)[0]
                )
                description = rng.choice(TIP_TEXTS).format(n=rng.randrange(2, 99))
                await writer.add(
                    {
                        "code": code,
                        "pin_hash": "bench",
                        "category": rng.choices(
                            categories, weights=list(CATEGORY_WEIGHTS.values())
                        )[0],
                        "commune_code": commune,
                        "place_detail": "",
                        "occurred": "",
                        "description": description,
                        "urgent": urgent,
                        "status": status,
                        "created_at": created,
                        "updated_at": max(t for t in (created, responded, closed) if t is not None),
                        "first_response_due": due,
                        "closed_at": closed,
                        "pin_failures": 0,
                        "pin_locked_until": None,
                        "assigned_to": None,
                        "duplicate_of": None,
                        "first_response_at": responded,
                        "response_seconds": None
                        if responded is None
                        else int((responded - created).total_seconds()),
                        "close_seconds": None
                        if closed is None
                        else int((closed - created).total_seconds()),
                        "escalated_at": escalated,
                        "outcome": "Đã xác minh, xử lý theo quy định." if closed else "",
                        "search_text": fold(f"{code} {description}"),
                    }
                )
            if d % 60 == 59:
                self.log(f"  tips {n:,}/{plan.tips:,}")
        await writer.flush()
        return writer.written


async def generate(plan: Plan, db: Database, settings: Settings, log: Log) -> World:
    """Write the whole history into an empty, migrated database."""
    g = _Generator(plan, db, settings, log)
    world = World(first_day=g.first, today=g.today)
    t = time.monotonic()
    residents = await g.residents()
    world.counts["residents"] = len(residents.channel)
    world.seconds["residents"] = round(time.monotonic() - t, 1)
    log(f"  residents: {len(residents.channel):,} in {world.seconds['residents']}s")
    for name, step in (("deliveries", g.campaigns), ("events", g.events), ("tips", g.tips)):
        t = time.monotonic()
        world.counts[name] = await step(residents)
        world.seconds[name] = round(time.monotonic() - t, 1)
        log(f"  {name}: {world.counts[name]:,} in {world.seconds[name]}s")
    world.counts["campaign_runs"] = len(g.runs)
    return world
