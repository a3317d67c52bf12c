"""What the API accepts and returns for discussion threads, forum topics and their posts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from commonspace.domain.vocab import Distribution
from commonspace.reports.schemas import GroupRef, OrgRef

# Surrounding white space is removed before the length is checked: a body of blanks is empty.
Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000),
    Field(description="Markdown, 1 to 20,000 characters."),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
TopicDistribution = Literal["community", "sharing-group"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostIn(Strict):
    body: Body


class PostPatch(Strict):
    body: Body


class TopicIn(Strict):
    title: Title
    distribution: TopicDistribution = "community"
    sharing_group: str | None = Field(
        None, description="UUID or name of one of your organisation's groups, for sharing-group."
    )
    body: Body = Field(description="The first post, in Markdown.")

    @model_validator(mode="after")
    def _group_with_sharing_group(self) -> TopicIn:
        if self.distribution == "sharing-group" and not self.sharing_group:
            raise ValueError("distribution 'sharing-group' needs a sharing_group")
        if self.distribution != "sharing-group" and self.sharing_group:
            raise ValueError("a sharing_group is only given with distribution 'sharing-group'")
        return self


class MemberRef(BaseModel):
    uuid: str
    name: str


class PostOut(BaseModel):
    uuid: str
    report: str | None = Field(description="The UUID of the report whose thread holds the post.")
    topic: str | None = Field(description="The UUID of the forum topic that holds the post.")
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="The body rendered as sanitised HTML, safe to show as it is.")
    author: MemberRef | None = Field(description="None when the author's account is gone.")
    organisation: OrgRef = Field(description="The author's organisation when posting.")
    created: datetime
    edited: datetime | None
    can_edit: bool = Field(description="Whether you may edit or delete the post.")


class TopicOut(BaseModel):
    uuid: str
    title: str
    distribution: Distribution = Field(description="community or sharing-group.")
    sharing_group: GroupRef | None
    organisation: OrgRef
    author: MemberRef | None
    created: datetime
    last_post: datetime
    post_count: int


class PostPage(BaseModel):
    items: list[PostOut]
    next_cursor: str | None


class TopicPage(BaseModel):
    items: list[TopicOut]
    next_cursor: str | None
