"""Signing in, in a real browser, on a desktop and on a 375-pixel-wide phone."""

from __future__ import annotations

from playwright.sync_api import expect

from conftest import People


def test_sign_in_and_out(people: People) -> None:
    page = people.signed_in("bank.analyst")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Rheinbank AG").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(people.server.url + "/sign-in?next=%2F")
    assert people.problems == []


def test_wrong_password_is_told_next_to_the_form(people: People) -> None:
    page = people.page()
    page.goto("/sign-in")
    page.get_by_label("E-mail").fill(people.server.world.members["bank.analyst"].email)
    page.get_by_label("Password").fill("not the password")
    page.keyboard.press("Enter")  # keyboard only
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")


def test_dashboard_fits_a_phone(people: People) -> None:
    page = people.signed_in("bank.analyst", width=375)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    expect(page.get_by_role("link", name="Reports")).to_be_visible()
    assert people.problems == []
