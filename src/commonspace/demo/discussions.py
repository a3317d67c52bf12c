"""The demo world's discussions: comments under reports that others sighted, and a few forum topics.

Written through the forum service, as the members who would have written them; their dates are then set
to when the generator says the sightings happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from commonspace.demo.generate import ReportSpec
from commonspace.forum import schemas
from commonspace.forum import service as forum
from commonspace.policy import Subject
from commonspace.store import tables as t

SEEN = (
    "We see this in our {source} too: {count} hit{s} since {day}. Blocked at our perimeter.",
    "Confirmed on our side ({source}, {count} hit{s} on {day}). Thanks for sharing.",
    "{count} match{es} in our {source} on {day}. We are notifying the affected customers.",
)
FALSE_POSITIVE = (
    "This matched in our {source} on {day}, but it is legitimate traffic for us: a false positive."
)
REPLY = "Thanks. We will update the report if the infrastructure moves."


@dataclass(frozen=True)
class TopicSpec:
    org: str
    title: str
    group: str | None
    posts: tuple[tuple[str, str], ...]  # (organisation, body); the first is the topic's opening post


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "International Cybercrime Coordination Directorate",
        "Coordinated takedown of bulletproof hosting: call for participants",
        None,
        (
            ("International Cybercrime Coordination Directorate",
             "We are preparing a coordinated action against a bulletproof hosting provider seen in many "
             "reports here. Organisations that hold **preservation-worthy logs** please reply."),
            ("CERT-Marianne", "We can contribute netflow for the ranges in question, under TLP:AMBER."),
            ("Nordwind Telecom", "Our abuse desk has complaints going back six months; count us in."),
        ),
    ),
    TopicSpec(
        "Banco Atlântico Sul",
        "Mule accounts: which fields do you need in reports?",
        "Financial Fraud Task Force",
        (
            ("Banco Atlântico Sul",
             "To make freezing requests faster, which fields should fraud reports always carry? We propose "
             "IBAN, first-seen date and the phishing domain."),
            ("Unidade Lusa de Cibercrime", "Add the amount and the currency: prosecutors ask for it first."),
        ),
    ),
    TopicSpec(
        "CERT-Rhein",
        "Scanning waves after the new VPN vulnerability",
        "Critical Infrastructure CERT Circle",
        (
            ("CERT-Rhein",
             "Since Monday we see mass scanning for the VPN flaw. Please report sources hitting essential "
             "services; we correlate them here."),
            ("CERT-Sakura", "Same here, mostly from residential ranges. Our report follows today."),
        ),
    ),
)  # fmt: skip


def _say(session: Session, subject: Subject, report: t.Report, body: str, when: object) -> None:
    post = forum.add_report_post(session, subject, report.uuid, schemas.PostIn(body=body))
    post.created = when  # type: ignore[assignment]


def comment(session: Session, speakers: dict[str, Subject], report: t.Report, spec: ReportSpec) -> None:
    """Each organisation that sighted a report's indicator says so under it; the author thanks them."""
    for i, s in enumerate(spec.sightings):
        words = {
            "source": s.source,
            "count": s.count,
            "s": "s" * (s.count != 1),
            "es": "es" * (s.count != 1),
            "day": s.seen.strftime("%d %B %Y"),
        }
        text = FALSE_POSITIVE if s.false_positive else SEEN[(len(spec.title) + i) % len(SEEN)]
        _say(session, speakers[s.org], report, text.format(**words), s.seen + timedelta(minutes=7))
    if spec.sightings:
        _say(session, speakers[spec.org], report, REPLY, spec.sightings[-1].seen + timedelta(hours=2))


def topics(session: Session, speakers: dict[str, Subject]) -> None:
    for spec in TOPICS:
        (first_org, first), *rest = spec.posts
        distribution = "sharing-group" if spec.group else "community"
        data = schemas.TopicIn(
            title=spec.title,
            distribution=distribution,
            sharing_group=spec.group,
            body=first,
        )
        topic = forum.create_topic(session, speakers[first_org], data)
        for org, body in rest:
            forum.add_topic_post(session, speakers[org], topic.uuid, schemas.PostIn(body=body))
