"""The tables. Plain mapped classes: no behaviour here, services hold the use cases.

Integer primary keys join the tables; the UUIDs are what the API and exports show.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid_module.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))
    sector: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(300))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SharingGroup(Base):
    __tablename__ = "sharing_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SharingGroupMember(Base):
    __tablename__ = "sharing_group_member"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_group.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_sharing_group_member_org_id", "org_id"),)


class Report(Base):
    __tablename__ = "report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    threat_level: Mapped[str] = mapped_column(String(20), default="undefined")
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    loss_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    loss_currency: Mapped[str | None] = mapped_column(String(3))
    tlp: Mapped[str] = mapped_column(String(20))
    distribution: Mapped[str] = mapped_column(String(30))
    sharing_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_group.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="draft")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Its identity in the format it was imported from (a STIX report id, a MISP event uuid), so that
    # importing it again updates it.
    source_id: Mapped[str | None] = mapped_column(String(200))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    sharing_group: Mapped[SharingGroup | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_report_org_id_source_id", "org_id", "source_id"),)


class ReportCountry(Base):
    """A victim country of a report (ISO 3166-1 alpha-2)."""

    __tablename__ = "report_country"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)

    __table_args__ = (Index("ix_report_country_country", "country"),)


class ReportSector(Base):
    """A victim sector of a report."""

    __tablename__ = "report_sector"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), primary_key=True)
    sector: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_report_sector_sector", "sector"),)


class Indicator(Base):
    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(Text)
    canonical: Mapped[str] = mapped_column(String(2048))
    # Where the value sits among hosts, so that "X and everything under it" is one index range scan:
    # the reversed labels of a domain, or of a URL's or an e-mail address's domain ("com.example.www."),
    # so that a domain finds its subdomains; the (first) address of an IP or a network as fixed-width
    # hex after its family ("4:c0000207", "6:20010db8..."), so that a network finds the addresses and
    # networks inside it. The two kinds never meet in a range: a label has no ":" and a top-level
    # domain is never all digits.
    # In byte order on PostgreSQL too: a language collation may ignore the dots the range relies on.
    host_key: Mapped[str | None] = mapped_column(
        String(260).with_variant(String(260, collation="C"), "postgresql")
    )
    # Prefix length of a network, so that an IP query asks only for the prefix lengths that exist.
    prefix_len: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    to_detect: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confidence: Mapped[int | None] = mapped_column(Integer)
    # Narrowing of the report's distribution; None means "as the report".
    distribution: Mapped[str | None] = mapped_column(String(30))
    sharing_group_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_group.id", ondelete="RESTRICT"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where it was imported from (a STIX indicator or observable id, a MISP attribute uuid), and the
    # relation of a MISP object attribute.
    source_id: Mapped[str | None] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(100))
    # The ids of the warninglists the value was on when it was stored or last checked (None: on none).
    warninglists: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        UniqueConstraint("report_id", "type", "canonical"),
        # On PostgreSQL it covers what correlation reads of the indicators holding a value: its look-ups
        # are index-only scans (see migration 0006).
        Index(
            "ix_indicator_canonical",
            "canonical",
            postgresql_include=[
                "type",
                "report_id",
                "id",
                "uuid",
                "distribution",
                "sharing_group_id",
                "warninglists",
            ],
        ),
        Index("ix_indicator_host_key", "host_key"),
        Index("ix_indicator_type_prefix_len", "type", "prefix_len"),
    )


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)


class ReportTag(Base):
    __tablename__ = "report_tag"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_report_tag_tag_id", "tag_id"),)


class IndicatorTag(Base):
    __tablename__ = "indicator_tag"

    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_indicator_tag_tag_id", "tag_id"),)


class Sighting(Base):
    __tablename__ = "sighting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(300), default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(20), default="sighting")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what, when, with which key, through which path."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_uuid: Mapped[str | None] = mapped_column(String(36))
    # The organisation that owns the object: lets an org admin list who accessed its reports.
    object_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_event_object_org_id_at", "object_org_id", "at"),)


class Job(Base):
    """Durable long work: imports, log matching, later federation."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_job_state_id", "state", "id"),)


class InstanceSetting(Base):
    """A value this instance generates once and keeps (e.g. the key that signs session cookies)."""

    __tablename__ = "instance_setting"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebSession(Base):
    """A signed-in browser. The cookie carries the token; only its SHA-256 is kept here."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)


class Topic(Base):
    """A forum topic, not tied to a report: seen by the community or by one sharing group."""

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    title: Mapped[str] = mapped_column(String(300))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    distribution: Mapped[str] = mapped_column(String(30))
    sharing_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_group.id", ondelete="RESTRICT"), index=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_post: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    sharing_group: Mapped[SharingGroup | None] = relationship(lazy="joined")


class Post(Base):
    """A message in a report's discussion thread or in a forum topic (exactly one of the two)."""

    __tablename__ = "post"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    # The author's organisation when posting: its org admins moderate the post.
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    author: Mapped[Member | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(report_id IS NULL) <> (topic_id IS NULL)", name="one_parent"),
        Index("ix_post_report_id_created", "report_id", "created"),
        Index("ix_post_topic_id_created", "topic_id", "created"),
    )


class StoredObject(Base):
    """An imported object kept exactly as it came (a STIX attack-pattern, malware, relationship, the STIX
    report itself...), linked to the report it arrived with, so that export gives it back. It is seen by
    whoever sees that report. Versions are told apart by ``modified``, as STIX does."""

    __tablename__ = "stored_object"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    object_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    modified: Mapped[str] = mapped_column(String(40), default="")  # as written; "" when it has none
    body: Mapped[str] = mapped_column(Text)  # the object's JSON, byte for byte as imported
    added: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("report_id", "object_id", "modified"),
        Index("ix_stored_object_object_id", "object_id"),
        Index("ix_stored_object_added", "added"),
    )


class CorrelationValue(Base):
    """How many reports hold a value: one row per distinct (canonical value, type), never one per pair of
    reports. Kept in step with the indicators in the transaction that adds or deletes them, and rebuilt
    from them by ``commonspace correlate --rebuild``. It knows of every report, so it is the operator's
    view; what a member is shown is counted among the reports they may see, never read from here."""

    __tablename__ = "correlation_value"

    canonical: Mapped[str] = mapped_column(String(2048), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), primary_key=True)
    reports: Mapped[int] = mapped_column(Integer)

    # On SQLite the rows live in the primary key's b-tree itself: one b-tree, not a table and an index.
    __table_args__ = ({"sqlite_with_rowid": False},)
