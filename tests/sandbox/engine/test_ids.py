"""Exchange ids: 12 characters of [0-9A-Z] (API.md 2.3, section 8 #16)."""

from __future__ import annotations

import random

from sandbox.engine import ID_ALPHABET, is_exchange_id, new_id


def test_shape_matches_the_real_drop_copy_sample():
    assert is_exchange_id("BT3DNMHB94XJ")
    assert is_exchange_id("BW9QY8RWN52Z")
    assert not is_exchange_id("ord_abc123")
    assert not is_exchange_id("bt3dnmhb94xj")
    assert not is_exchange_id("BT3DNMHB94XJK")


def test_ids_come_from_the_given_random_source():
    assert new_id(random.Random(7)) == new_id(random.Random(7))
    rng = random.Random(7)
    ids = {new_id(rng) for _ in range(2000)}
    assert len(ids) == 2000
    assert all(is_exchange_id(i) for i in ids)
    assert set("".join(ids)) == set(ID_ALPHABET)
