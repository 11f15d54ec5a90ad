"""The shared table's DDL helpers and the JSON encoding of session data."""

from __future__ import annotations

import json

import pytest

from fastapi_anchor.schema import create_table_sql, dump_data, index_name, load_data, quote_table


def test_large_floats_are_written_so_jsonb_keeps_them_floats() -> None:
    data = {"big": 1e16, "nested": [{"huge": -2.5e20}], "small": 1e-7, "int": 10**20}
    text = dump_data(data)
    assert '"big":10000000000000000.0' in text
    assert '"huge":-250000000000000000000.0' in text
    assert "e+" not in text
    assert load_data(text) == data
    assert isinstance(load_data(text)["big"], float)
    assert isinstance(load_data(text)["int"], int)


def test_the_slow_path_encodes_like_json_dumps() -> None:
    data = {"s": "1e+16 in a string", 1: True, "n": None, "u": "Zoë 🚀", "t": (1, 2.5)}
    assert dump_data(data) == json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}, object()])
def test_what_jsonb_would_refuse_is_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        dump_data({"bad": bad})
    with pytest.raises((TypeError, ValueError)):
        dump_data({"big": 1e20, "bad": bad})


def test_data_must_be_a_mapping_and_load_a_json_object() -> None:
    with pytest.raises(TypeError):
        dump_data([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        load_data("[1, 2]")


def test_table_names_are_validated_and_quoted() -> None:
    assert quote_table() == '"anchor_sessions"'
    assert quote_table("s", "auth") == '"auth"."s"'
    assert index_name("s", "user_id") == "s_user_id_idx"
    for bad in ("drop table x", 'a"b', "", "1abc", "x" * 64):
        with pytest.raises(ValueError, match="plain identifier"):
            quote_table(bad)
    statements = create_table_sql("s", "auth")
    assert statements[0].startswith('CREATE TABLE IF NOT EXISTS "auth"."s"')
    assert 'CREATE INDEX IF NOT EXISTS "s_expires_at_idx" ON "auth"."s" (expires_at)' in statements


def test_nul_characters_are_refused_like_jsonb_does() -> None:
    with pytest.raises(ValueError, match="NUL"):
        dump_data({"a": "x\x00y"})
    with pytest.raises(ValueError, match="NUL"):
        dump_data({"k\x00": 1})
    assert load_data(dump_data({"a": "\\u0000 is just text"})) == {"a": "\\u0000 is just text"}
