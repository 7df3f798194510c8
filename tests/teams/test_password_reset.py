"""Password reset requests are limited per account (silently: the page never says whether an
account exists) and per address (the page says to wait)."""

from __future__ import annotations

from django.test import Client


def ask(email: str, *, peer: str = "198.51.100.7"):
    return Client().post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=peer)


def test_an_account_gets_a_few_reset_mails_an_hour_and_the_page_never_changes(alice, settings, mailoutbox):
    answers = [ask("alice@example.com", peer=f"203.0.113.{n}") for n in range(settings.PASSWORD_RESETS_PER_ACCOUNT + 3)]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/accounts/password_reset/done/")}
    assert len(mailoutbox) == settings.PASSWORD_RESETS_PER_ACCOUNT
    unknown = ask("nobody@example.com")
    assert (unknown.status_code, unknown["Location"]) == (302, "/accounts/password_reset/done/")


def test_one_address_asking_too_often_is_told_to_wait(alice, bob, settings, mailoutbox):
    for number in range(settings.PASSWORD_RESETS_PER_ADDRESS):
        assert ask(f"someone{number}@example.com").status_code == 302
    refused = ask("bob@example.com")
    assert refused.status_code == 429 and "try again in an hour" in refused.content.decode()
    assert mailoutbox == []
    assert ask("bob@example.com", peer="203.0.113.9").status_code == 302
    assert [mail.to for mail in mailoutbox] == [["bob@example.com"]]
