"""Database tables (SQLModel). Every schema change comes with an Alembic migration.

Anonymity: nothing here links a resident to a tip. `InboundUpdate` keeps only the platform's
update id (for deduplication), never the message text; `Feedback` keeps no resident id.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "AuditEntry",
    "Campaign",
    "CampaignRun",
    "CommuneChat",
    "ContentHotline",
    "ContentItem",
    "ContentRevision",
    "ContentVersion",
    "Delivery",
    "Event",
    "Feedback",
    "InboundUpdate",
    "OAToken",
    "OutboxMessage",
    "Resident",
    "StaffCommune",
    "StaffSession",
    "StaffUser",
    "StatDaily",
    "StatPeriod",
    "StatTip",
    "Tip",
    "TipMessage",
    "TipPhoto",
    "TipPhotoDraft",
    "TipRelay",
    "TipShare",
    "UTCDateTime",
    "UnansweredQuestion",
    "WebChatMessage",
    "day_start",
    "local_day",
    "random_id",
    "set_day_zone",
    "utcnow",
]


def random_id() -> int:
    """A random row id (62 bits): for rows whose order must not be the order of events."""
    return secrets.randbits(62) + 1


def utcnow() -> datetime:
    return datetime.now(UTC)


#: The zone whose days `day_start` gives (the TIMEZONE setting: `set_day_zone` at start).
_day_zone = ZoneInfo("Asia/Ho_Chi_Minh")


def set_day_zone(name: str) -> None:
    """Days recorded from now on are days of `name` (the statistics count local days)."""
    global _day_zone
    _day_zone = ZoneInfo(name)


def day_start(moment: datetime | None = None) -> datetime:
    """The start of the local day of `moment`, in UTC: the only precision with which a row
    that names a resident or a chat may say when something happened, once it has done its
    job. An exact time would line up with the time of an anonymous tip and name its sender
    (see docs/anonymity.md; tests/test_anonymity_attack.py enforces it on every table).
    """
    local = (moment or utcnow()).astimezone(_day_zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=_day_zone)
    return midnight.astimezone(UTC)


def local_day(moment: datetime | None = None) -> date:
    """The local day of `moment` (default: now), for `date` columns of that precision."""
    return (moment or utcnow()).astimezone(_day_zone).date()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: 64-bit ids on PostgreSQL (random ones: `_random_pk`), and the columns referencing them.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def _random_pk() -> Any:
    """A primary key of random 62-bit ids (`random_id`), for rows whose order would say in
    which order residents joined or acted."""
    return Field(
        default=None,
        sa_column=Column(_BigId, primary_key=True, autoincrement=False, default=random_id),
    )


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


class Resident(SQLModel, table=True):
    """A person talking to the bot on one channel, with their conversation state."""

    __tablename__ = "resident"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id", name="uq_resident_channel_chat"),
        Index("ix_resident_created", "created_at"),
        Index("ix_resident_subscribed", "subscribed", "channel", "commune_code"),
        Index("ix_resident_unsubscribed", "unsubscribed_at"),
    )

    #: Random, not a sequence: the order of the ids would be the order residents joined in,
    #: and a resident who joined to send a tip would sit next to its time.
    id: int | None = _random_pk()
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    language: str = Field(default="vi", sa_column=Column(String(5), nullable=False))
    commune_code: int | None = Field(default=None, index=True)
    subscribed: bool = Field(default=True)
    onboarded: bool = Field(default=False)
    state: str = Field(default="", sa_column=Column(String(64), nullable=False, default=""))
    state_data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: Day precision only (see `day_start`).
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    unsubscribed_at: datetime | None = _ts(nullable=True)


class InboundUpdate(SQLModel, table=True):
    """One row per platform update handled: the deduplication record. No content is kept."""

    __tablename__ = "inbound_update"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_inbound_channel_update"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    update_id: str = Field(sa_column=Column(String(80), nullable=False))
    received_at: datetime = _ts(index=True)


class OutboxMessage(SQLModel, table=True):
    """A message to send. Written in the same transaction as the update that caused it.

    `lease_until` is a claim: the process that wrote the row sends it at once and holds the
    lease; if it dies, any process may claim the row once the lease has run out.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "lease_until"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(default="reply", sa_column=Column(String(16), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", sa_column=Column(String(12), nullable=False))
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    lease_until: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class Feedback(SQLModel, table=True):
    """Feedback to the police. Deliberately without a resident id."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    language: str = Field(sa_column=Column(String(5), nullable=False))
    commune_code: int | None = None
    text: str = Field(sa_column=Column(String(4000), nullable=False))
    created_at: datetime = _ts(index=True)


class Event(SQLModel, table=True):
    """An engagement event (menu opened, content read…) for the statistics: who, on which
    (local) day, nothing finer (`bot.actions.record_event`)."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_kind_created", "kind", "created_at"),
        Index("ix_event_created", "created_at"),
    )

    #: Random, not a sequence: the table's order must not be the order residents acted in.
    id: int | None = _random_pk()
    #: The place of the event among its resident's events of that day (menu paths).
    seq: int = 0
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    ref: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    commune_code: int | None = None
    resident_id: int | None = Field(
        default=None, foreign_key="resident.id", ondelete="SET NULL", sa_type=_BigId
    )
    created_at: datetime = _ts()


class Tip(SQLModel, table=True):
    """An anonymous tip. Deliberately without any resident, platform, chat or name column:
    the way back to the tipster is the separate, encrypted `TipRelay`."""

    __tablename__ = "tip"
    __table_args__ = (
        Index("ix_tip_queue", "commune_code", "status", "created_at"),
        Index("ix_tip_created", "created_at"),
        # covers the statistics' one pass over a period's tips (no description pages read)
        Index(
            "ix_tip_stats",
            "created_at",
            "commune_code",
            "category",
            "status",
            "urgent",
            "first_response_due",
            "first_response_at",
            "closed_at",
            "escalated_at",
            "response_seconds",
            "close_seconds",
        ),
        # the few tips still waiting for a first response (overdue counts, read live)
        Index(
            "ix_tip_unanswered",
            "first_response_at",
            "created_at",
            "commune_code",
            "status",
            "first_response_due",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    pin_hash: str = Field(sa_column=Column(String(200), nullable=False))
    category: str = Field(sa_column=Column(String(24), nullable=False))
    #: None: the place is unknown, the tip goes to the province triage queue.
    commune_code: int | None = None
    place_detail: str = Field(default="", sa_column=Column(String(500), nullable=False))
    occurred: str = Field(default="", sa_column=Column(String(200), nullable=False))
    description: str = Field(sa_column=Column(String(4000), nullable=False))
    urgent: bool = False
    status: str = Field(default="new", sa_column=Column(String(24), nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    first_response_due: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    #: Wrong PINs in a row, and until when following up is locked after too many.
    pin_failures: int = 0
    pin_locked_until: datetime | None = _ts(nullable=True)
    #: The officer working the tip.
    assigned_to: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    #: This tip reports the same thing as another one.
    duplicate_of: int | None = Field(default=None, foreign_key="tip.id", ondelete="SET NULL")
    #: When an officer first took it up (a status change or a question to the tipster).
    first_response_at: datetime | None = _ts(nullable=True)
    #: Seconds from arrival to the first response, and to closing (kept for the statistics).
    response_seconds: int | None = None
    close_seconds: int | None = None
    #: When it was reported to the province administrators as overdue.
    escalated_at: datetime | None = _ts(nullable=True)
    #: Required when the tip is closed: what came of it.
    outcome: str = Field(default="", sa_column=Column(String(2000), nullable=False, default=""))
    #: Code, place and description folded (no diacritics, lower case) for the queue search.
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class TipRelay(SQLModel, table=True):
    """The sealed (channel, chat id) of a tip's sender; opened only by the relay code and
    deleted `delete_after` (set when the tip is closed)."""

    __tablename__ = "tip_relay"

    tip_id: int = Field(foreign_key="tip.id", primary_key=True, ondelete="CASCADE")
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    delete_after: datetime | None = _ts(nullable=True)


class TipMessage(SQLModel, table=True):
    """The thread of a tip: from the tipster, from an officer, or an internal note."""

    __tablename__ = "tip_message"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tip.id", index=True, ondelete="CASCADE")
    kind: str = Field(sa_column=Column(String(12), nullable=False))  # tipster|officer|note
    text: str = Field(sa_column=Column(String(4000), nullable=False))
    #: The staff account that wrote an officer question or a note (never set for the tipster).
    author_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    created_at: datetime = _ts()


class TipPhoto(SQLModel, table=True):
    """A photo sent with a tip, re-encoded without any metadata before it is stored."""

    __tablename__ = "tip_photo"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tip.id", index=True, ondelete="CASCADE")
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    mime: str = Field(sa_column=Column(String(32), nullable=False))
    width: int
    height: int
    created_at: datetime = _ts()


class OAToken(SQLModel, table=True):
    """The Zalo OA OAuth pair. The refresh token is single-use: a new pair is committed here
    before the new access token is used, so a crash never loses the grant."""

    __tablename__ = "oa_token"

    app_id: str = Field(sa_column=Column(String(32), primary_key=True))
    access_token: str = Field(sa_column=Column(String(2000), nullable=False))
    refresh_token: str = Field(sa_column=Column(String(2000), nullable=False))
    expires_at: datetime = _ts()
    updated_at: datetime = _ts()


class WebChatMessage(SQLModel, table=True):
    """Messages the bot sent to a web-chat session, read by the page."""

    __tablename__ = "webchat_message"
    # Ids only grow (the page asks for "messages after id N"); without AUTOINCREMENT SQLite
    # would reuse the id of a read-once message that was deleted.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: Read once: deleted as soon as the page has fetched it (tip codes, PINs…).
    private: bool = False
    created_at: datetime = _ts()


class TipPhotoDraft(SQLModel, table=True):
    """A clean photo attached to a tip that is still being written.

    Keyed by a random id that appears only inside the resident's sealed draft: no resident,
    chat or tip column, so the table alone says nothing about who sent what. Moved to
    `TipPhoto` when the tip is sent, deleted when it is cancelled, and pruned by housekeeping
    a day after `created_at` when the draft was abandoned.
    """

    __tablename__ = "tip_photo_draft"

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    mime: str = Field(sa_column=Column(String(32), nullable=False))
    width: int
    height: int
    created_at: datetime = _ts(index=True)


# --- staff panel -----------------------------------------------------------------------------


class StaffUser(SQLModel, table=True):
    """An account of the staff panel: province administrator, commune officer or propaganda
    staff. Passwords are argon2 hashes."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    display_name: str = Field(default="", sa_column=Column(String(120), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))  # admin|officer|propaganda
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    language: str = Field(default="vi", sa_column=Column(String(5), nullable=False))
    #: Base32 TOTP secret once a second factor is set up.
    totp_secret: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    #: The TOTP time step (30 s) of the last code accepted: that code, and any older one, is
    #: refused from then on, so a code seen over a shoulder or in a proxy cannot be replayed.
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    active: bool = True
    #: Wrong passwords in a row, and until when the account refuses logins after too many.
    failed_logins: int = 0
    locked_until: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    last_login_at: datetime | None = _ts(nullable=True)


class StaffCommune(SQLModel, table=True):
    """A commune whose queue an officer works."""

    __tablename__ = "staff_commune"

    user_id: int = Field(foreign_key="staff_user.id", primary_key=True, ondelete="CASCADE")
    commune_code: int = Field(primary_key=True)


class StaffSession(SQLModel, table=True):
    """A logged-in browser. The id is the SHA-256 of the cookie's token: a copy of the
    database does not give anyone a session."""

    __tablename__ = "staff_session"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    csrf: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)


class CommuneChat(SQLModel, table=True):
    """Where a commune's officers are alerted to new tips (a Telegram group, a Zalo chat)."""

    __tablename__ = "commune_chat"

    commune_code: int = Field(primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    updated_at: datetime = _ts()


class TipShare(SQLModel, table=True):
    """An "info only" copy of a tip for another commune: its officers can read, not act."""

    __tablename__ = "tip_share"
    __table_args__ = (UniqueConstraint("tip_id", "commune_code", name="uq_tip_share"),)

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tip.id", index=True, ondelete="CASCADE")
    commune_code: int = Field(index=True)
    note: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = _ts()


class AuditEntry(SQLModel, table=True):
    """Who did what in the staff panel, and when: every view and change of a tip."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_tip", "tip_id", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    user_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    #: Kept as written, so the log still names an account that was renamed or deleted.
    username: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    tip_id: int | None = None
    #: The commune the tip belonged to at the time (which officers may read the entry).
    commune_code: int | None = Field(default=None, index=True)
    detail: str = Field(default="", sa_column=Column(String(1000), nullable=False))
    created_at: datetime = _ts(index=True)


# --- campaigns -----------------------------------------------------------------------------


class Campaign(SQLModel, table=True):
    """A message propaganda staff plan: content, audience, schedule, status.

    Status: draft → (approval) → scheduled → sending → done; paused and cancelled at any time.
    A recurring campaign goes back to scheduled after each run until its rule is over.
    """

    __tablename__ = "campaign"
    __table_args__ = (Index("ix_campaign_due", "status", "next_run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(String(200), nullable=False))
    text_vi: str = Field(sa_column=Column(String(4000), nullable=False))
    #: Empty: English-speaking residents get the Vietnamese text.
    text_en: str = Field(default="", sa_column=Column(String(4000), nullable=False, default=""))
    #: An image sent before the text (a URL the platforms can fetch), or empty.
    image_url: str = Field(default="", sa_column=Column(String(1000), nullable=False, default=""))
    #: Content items (ids in the library) offered as buttons under the message.
    items: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: {"communes": [codes], "channels": [names], "languages": ["vi", "en"]}; empty = all.
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: `bot.campaigns.schedule.Schedule.to_json()`.
    schedule: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="draft", sa_column=Column(String(16), nullable=False))
    #: The built-in template it was made from ("ngay-hoi-19-8"), if any, and its step.
    template: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    next_run_at: datetime | None = _ts(nullable=True)
    created_by: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    approved_by: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    approved_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class CampaignRun(SQLModel, table=True):
    """One sending of a campaign (a recurring campaign has one per occurrence). Made once per
    (campaign, occurrence) whichever process gets there first."""

    __tablename__ = "campaign_run"
    __table_args__ = (
        UniqueConstraint("campaign_id", "scheduled_for", name="uq_campaign_run"),
        Index("ix_campaign_run_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    scheduled_for: datetime = _ts()
    #: sending | paused | done | cancelled
    status: str = Field(default="sending", sa_column=Column(String(16), nullable=False))
    total: int = 0
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)


class Delivery(SQLModel, table=True):
    """One campaign message to one resident: made when the run starts (unique per run and
    resident), claimed by one sender at a time, its outcome recorded.

    Status: pending → sending → sent | failed | blocked | out_of_window; `interrupted` when
    the sender died between claiming and recording (never sent again: nobody gets a campaign
    twice); `cancelled` when the campaign was cancelled first."""

    __tablename__ = "campaign_delivery"
    __table_args__ = (
        UniqueConstraint("run_id", "resident_id", name="uq_delivery_run_resident"),
        Index("ix_delivery_claim", "status", "channel", "next_attempt_at"),
        Index("ix_delivery_results", "run_id", "status", "commune_code"),
        # from the few residents who unsubscribed to what they were sent
        Index("ix_delivery_resident", "resident_id", "status"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    run_id: int = Field(foreign_key="campaign_run.id", index=True, ondelete="CASCADE")
    resident_id: int = Field(foreign_key="resident.id", ondelete="CASCADE", sa_type=_BigId)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    language: str = Field(default="vi", sa_column=Column(String(5), nullable=False))
    #: The resident's commune when the run started (for results by commune).
    commune_code: int | None = None
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    lease_until: datetime | None = _ts(nullable=True)
    error: str = Field(default="", sa_column=Column(String(300), nullable=False, default=""))
    sent_at: datetime | None = _ts(nullable=True)


class StatDaily(SQLModel, table=True):
    """An engagement figure of a local day (`grain` "d"), week ("w", from Monday) or month
    ("m", from the 1st; `day` is the first day): events by kind and reference, new residents,
    residents who left, active residents (summed over days), menu paths, messages in and out.
    Per channel and commune (0: none); figures by reference (what was read, tapped…) are for
    all channels together (channel "").

    Days are rebuilt from `event` and `resident` (`bot.stats.rollup`), except `messages_in`
    and `messages_out`, which are counted as they happen; weeks and months are sums of days.
    A range is read as whole months, whole weeks and the days left over: the dashboard never
    scans the raw events, and a year is a few dozen periods, not 365 days.
    """

    __tablename__ = "stat_daily"
    __table_args__ = (
        UniqueConstraint(
            "grain", "day", "metric", "ref", "channel", "commune_code", name="uq_stat_daily_key"
        ),
        # covering: a page's sums are read from the index alone
        Index(
            "ix_stat_daily_metric_day",
            "metric",
            "grain",
            "day",
            "commune_code",
            "channel",
            "ref",
            "value",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    grain: str = Field(default="d", sa_column=Column(String(1), nullable=False, default="d"))
    day: date
    metric: str = Field(sa_column=Column(String(32), nullable=False))
    ref: str = Field(default="", sa_column=Column(String(120), nullable=False, default=""))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    commune_code: int = 0
    value: int = 0


class StatPeriod(SQLModel, table=True):
    """Residents active in a week (`period` "w", weeks start on Monday) or a month ("m"), per
    channel and commune: distinct counts cannot be added up from days, so they are kept."""

    __tablename__ = "stat_period"
    __table_args__ = (
        UniqueConstraint("period", "start", "channel", "commune_code", name="uq_stat_period_key"),
        Index("ix_stat_period_start", "period", "start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(sa_column=Column(String(1), nullable=False))
    start: date
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    commune_code: int = 0
    residents: int = 0


class StatTip(SQLModel, table=True):
    """Tips by local month of arrival: per commune (0: place unknown) and status (category
    ""), per commune and category (status ""), and per category for the whole province
    (commune -1, status ""); with the sums the statistics show (escalated, urgent, answered,
    answered in time, seconds to the first response, closed, seconds to close). Kept up to
    date in the same transaction as every change of a tip (`bot.stats.tip_rollup`), rebuilt
    whole by `antq stats rebuild`, so a year of tips is read as a few thousand rows. Counts
    only: nothing here names a tip."""

    __tablename__ = "stat_tip"
    __table_args__ = (
        UniqueConstraint("month", "commune_code", "category", "status", name="uq_stat_tip_key"),
        Index("ix_stat_tip_by_status", "category", "month", "commune_code"),
        Index("ix_stat_tip_by_category", "status", "commune_code", "month"),
    )

    id: int | None = Field(default=None, primary_key=True)
    month: date
    commune_code: int = 0
    category: str = Field(sa_column=Column(String(24), nullable=False))
    status: str = Field(sa_column=Column(String(24), nullable=False))
    tips: int = 0
    escalated: int = 0
    urgent: int = 0
    responded: int = 0
    responded_in_time: int = 0
    response_seconds: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    closed: int = 0
    close_seconds: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


# --- content management ----------------------------------------------------------------------


class ContentItem(SQLModel, table=True):
    """The live copy of a library item (`content.library.Item`): its current version's
    content, and whether residents see it. Seeded from content/items/*.yaml once per id."""

    __tablename__ = "content_item"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    topic: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    #: The current version's number and content (an `Item` as JSON).
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    published: bool = True
    #: Who changed it last ("" for the content files), as written.
    updated_by: str = Field(default="", sa_column=Column(String(64), nullable=False, default=""))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ContentHotline(SQLModel, table=True):
    """The live copy of a national hotline (`content.library.Hotline`), keyed by its number;
    `position` orders the list residents see. Seeded from content/hotlines.yaml."""

    __tablename__ = "content_hotline"

    number: str = Field(sa_column=Column(String(8), primary_key=True))
    position: int = 0
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    published: bool = True
    updated_by: str = Field(default="", sa_column=Column(String(64), nullable=False, default=""))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ContentVersion(SQLModel, table=True):
    """Every saved version of an item or a hotline, in full, both languages: nothing is lost
    by an edit, and any version can be restored (as a new version)."""

    __tablename__ = "content_version"
    __table_args__ = (UniqueConstraint("kind", "key", "number", name="uq_content_version"),)

    id: int | None = Field(default=None, primary_key=True)
    #: "item" or "hotline", and the item id or hotline number.
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    key: str = Field(sa_column=Column(String(64), nullable=False))
    number: int
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    #: The author's user name as written; "" for the content files.
    author: str = Field(default="", sa_column=Column(String(64), nullable=False, default=""))
    note: str = Field(default="", sa_column=Column(String(500), nullable=False, default=""))
    #: The version this one restored, if it is a restore.
    restored_from: int | None = None
    created_at: datetime = _ts()


class ContentRevision(SQLModel, table=True):
    """One row (id 1) counting content changes: every process compares it with the copy it
    serves, a cheap query, and reloads the library only when it moved."""

    __tablename__ = "content_revision"

    id: int = Field(default=1, primary_key=True)
    revision: int = 0


class UnansweredQuestion(SQLModel, table=True):
    """Questions residents typed that the bot could not answer, for propaganda staff
    (`content.unanswered`): identifiers masked, one row per local day and question (its
    words folded, `key`) with how often it was asked that day. No resident, chat, channel or
    commune, and the day only: a question can say as much as a tip. Deleted after 30 days."""

    __tablename__ = "unanswered_question"
    # also the index of housekeeping's and the panel's reads by day
    __table_args__ = (UniqueConstraint("day", "key", name="uq_unanswered_question_day_key"),)

    #: Random, not a sequence: the order of the rows must not be the order of the askers.
    id: int | None = _random_pk()
    day: date
    key: str = Field(sa_column=Column(String(200), nullable=False))
    #: The question as the first asker of the day typed it, identifiers masked.
    text: str = Field(sa_column=Column(String(500), nullable=False))
    language: str = Field(default="vi", sa_column=Column(String(5), nullable=False))
    asked: int = 1
