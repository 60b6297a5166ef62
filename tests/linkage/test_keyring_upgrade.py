"""Old keyrings gain the "linkage" key on load, once, and keep every other key."""

from __future__ import annotations

from pathlib import Path

from gateway.keys import SYMMETRIC_KEYS, Keyring


def _old_keyring(path: Path) -> Keyring:
    keyring = Keyring.generate()
    del keyring.symmetric["linkage"]
    keyring.save(path)
    return keyring


def test_loading_an_old_keyring_adds_the_missing_key_and_saves_it(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    old = _old_keyring(path)

    loaded = Keyring.load(path)

    assert set(loaded.symmetric) == set(SYMMETRIC_KEYS)
    assert {name: loaded.symmetric[name] for name in old.symmetric} == old.symmetric
    assert Keyring.load(path).secret("linkage") == loaded.secret("linkage")


def test_loading_a_complete_keyring_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    written = path.read_text()

    Keyring.load(path)

    assert path.read_text() == written
    assert not path.with_suffix(".lock").exists()


def test_ensure_adds_only_what_is_missing() -> None:
    keyring = Keyring.generate()
    linkage = keyring.secret("linkage")

    assert keyring.ensure("linkage") is False
    assert keyring.secret("linkage") == linkage
    del keyring.symmetric["linkage"]
    assert keyring.ensure("linkage") is True
    assert len(keyring.secret("linkage")) == 32
