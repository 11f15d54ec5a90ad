"""`credentials_from_dsn`: a PostgreSQL URL split into Tortoise's asyncpg credentials."""

from __future__ import annotations

import pytest

from anchor_tortoise import credentials_from_dsn, skip_reset


def test_a_tcp_url_with_everything() -> None:
    assert credentials_from_dsn("postgresql://app:secret@db.internal:6543/sessions") == {
        "host": "db.internal",
        "port": 6543,
        "user": "app",
        "password": "secret",
        "database": "sessions",
    }


def test_defaults_and_percent_encoded_user_and_password() -> None:
    credentials = credentials_from_dsn("postgres://us%40er:p%2Fw%3A@localhost/app")
    assert (credentials["user"], credentials["password"]) == ("us@er", "p/w:")
    assert (credentials["host"], credentials["port"]) == ("localhost", 5432)


def test_a_unix_socket_directory_from_the_query() -> None:
    credentials = credentials_from_dsn("postgresql:///app?host=/run/postgresql&user=web")
    assert credentials["host"] == "/run/postgresql"
    assert (credentials["user"], credentials["database"]) == ("web", "app")


def test_options_are_added_to_the_credentials() -> None:
    credentials = credentials_from_dsn(
        "postgresql://app@127.0.0.1/app", reset=skip_reset, minsize=2, schema="auth"
    )
    assert credentials["reset"] is skip_reset
    assert (credentials["minsize"], credentials["schema"]) == (2, "auth")


@pytest.mark.parametrize("dsn", ["mysql://app@db/app", "db.internal:5432/app", ""])
def test_a_url_of_another_kind_is_refused(dsn: str) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        credentials_from_dsn(dsn)
