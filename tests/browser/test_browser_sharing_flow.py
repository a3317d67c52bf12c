"""The whole sharing flow in a real browser: write a report from pasted text, publish it to a sharing
group, a member organisation's analyst reads and discusses it, an outsider finds nothing there, and a
hostile comment stays inert."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from conftest import People

TITLE = "Credential phishing against the tax portal"
PASTED = """Victims received mail from phisher@evil-mail[.]xyz pointing to
hxxps://login-tax[.]top/verify?id=7 and the kit called home to 203.0.113[.]7."""
HOSTILE = (
    "Seen in our proxy logs too. <script>window.pwned = 1</script> "
    '<img src="x" onerror="window.pwned = 2"> [details](javascript:window.pwned=3)'
)


def _comments_in_list(page: Page) -> str | None:
    """The report's comment count in the list of reports, or None when the list does not show it."""
    page.goto("/reports")
    expect(page.get_by_role("status")).to_be_visible()  # the result count: the list is there
    row = page.locator("table.report-list tbody tr", has_text=TITLE)
    return row.locator("td").nth(5).inner_text().strip() if row.count() else None


def _write_and_publish(page: Page, group: str) -> str:
    page.get_by_role("button", name="New report").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary").fill("A kit imitating the **tax portal**; see the indicators.")
    page.get_by_label("TLP (Traffic Light Protocol 2.0)").select_option("AMBER")
    page.get_by_label("Distribution").select_option("sharing-group")
    page.get_by_label("Sharing group").select_option(label=group)
    page.get_by_label("Paste text, a list or a report").fill(PASTED)
    page.get_by_role("button", name="Find indicators").click()
    found = page.locator("table.editor-found tbody tr")
    expect(found).to_have_count(3)
    types = sorted(found.nth(i).locator("td").nth(1).inner_text() for i in range(3))
    assert types == ["email", "ipv4", "url"]
    page.get_by_role("button", name="Save and publish").click()
    page.wait_for_url(re.compile(r".*/reports/[0-9a-f-]{36}$"))
    expect(page.locator(".tlp-banner")).to_contain_text("TLP:AMBER")
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    return page.url


def test_publish_to_a_group_discuss_and_keep_outsiders_out(people: People) -> None:
    group = "ministry-bank"
    author = people.signed_in("ministry.publisher")
    url = _write_and_publish(author, group)
    expect(author.locator("code", has_text="203[.]0[.]113[.]7")).to_be_visible()  # shown defanged

    # An analyst of the other member organisation reads it and comments.
    analyst = people.signed_in("bank.analyst")
    assert _comments_in_list(analyst) == "0"
    analyst.goto(url)
    expect(analyst.get_by_role("heading", name=TITLE)).to_be_visible()
    analyst.get_by_label("Add a comment").fill(HOSTILE)
    analyst.get_by_role("button", name="Post comment").click()
    expect(analyst.locator("#comment-count")).to_have_text("(1 comment)")
    post = analyst.locator("article.post")
    expect(post).to_contain_text("Seen in our proxy logs too.")
    expect(post).to_contain_text("Rheinbank AG")
    # The script, the handler and the javascript: link are all inert, before and after a reload.
    analyst.reload()
    link = analyst.locator("article.post a", has_text="details")
    if link.count():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript")
        link.click()
    assert analyst.evaluate("window.pwned") is None
    assert _comments_in_list(analyst) == "1"

    # The author sees the comment count change on their list too.
    assert _comments_in_list(author) == "1"

    # An organisation outside the group gets the very page a random UUID gets.
    outsider = people.signed_in("ngo.analyst")
    outsider.goto(url)
    hidden = outsider.locator("main").inner_text()
    outsider.goto(re.sub(r"[0-9a-f-]{36}$", str(uuid.uuid4()), url))
    assert outsider.locator("main").inner_text() == hidden
    expect(outsider.get_by_role("heading", name="Not found")).to_be_visible()
    assert TITLE not in outsider.content()
    assert _comments_in_list(outsider) is None
    assert people.problems == []
