"""The sign-in limiter's window, per e-mail and per client."""

from __future__ import annotations

from commonspace.web.ratelimit import SignInLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_email_opens_again_after_the_window() -> None:
    clock = Clock()
    limiter = SignInLimiter(per_email=3, per_client=100, window=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("A@x.example", "10.0.0.1") == 0
        limiter.failed("a@x.example ", "10.0.0.1")
    assert limiter.retry_after("a@x.example", "10.0.0.2") == 61  # another client, same e-mail
    assert limiter.retry_after("b@x.example", "10.0.0.1") == 0
    clock.now += 30
    assert 0 < limiter.retry_after("a@x.example", "10.0.0.1") <= 31
    clock.now += 31
    assert limiter.retry_after("a@x.example", "10.0.0.1") == 0


def test_limit_per_client_covers_many_e_mails() -> None:
    limiter = SignInLimiter(per_email=100, per_client=4, window=60, clock=Clock())
    for i in range(4):
        limiter.failed(f"user{i}@x.example", "10.0.0.9")
    assert limiter.retry_after("new@x.example", "10.0.0.9") > 0
    assert limiter.retry_after("new@x.example", "10.0.0.8") == 0


def test_success_clears_the_e_mail_count() -> None:
    limiter = SignInLimiter(per_email=2, per_client=100, window=60, clock=Clock())
    limiter.failed("a@x.example", "c")
    limiter.succeeded("A@x.example")
    limiter.failed("a@x.example", "c")
    assert limiter.retry_after("a@x.example", "c") == 0
