"""The keyring at rest: encrypted under a secret key file or by a PKCS#11 token (SoftHSM2)."""

from __future__ import annotations

import base64
import getpass
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from audit.models import AuditEntry
from gateway.cli import main
from gateway.db import make_engine
from gateway.keys import Keyring, KeyringError, KeyringSealer
from gateway.keystore import Pkcs11Sealer, SecretKeySealer, keyring_sealer, seal_keyring_file
from gateway.settings import Settings
from tests.conftest import BACKENDS, instance_database

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                   "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_LABEL, PIN = "ketenpoort-test", "20261206"


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _secrets_in(path: Path, keyring: Keyring) -> list[str]:
    """Which of the keyring's secrets can be read in the file as it lies on disk."""
    return _secrets_in_text(path.read_text(), keyring)


def _secrets_in_text(text: str, keyring: Keyring) -> list[str]:
    found = [name for name, versions in keyring.symmetric.items()
             if any(base64.b64encode(k).decode() in text for k in versions.values())]
    return found + [name for name in keyring.signing if "PRIVATE KEY" in text]


def _round_trip(sealer: KeyringSealer, path: Path) -> None:
    keyring = Keyring.generate()
    keyring.save(path, sealer)
    assert _secrets_in(path, keyring) == []
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Keyring.load(path, sealer).to_json() == keyring.to_json()
    with pytest.raises(KeyringError, match="encrypted"):
        Keyring.load(path)


def test_a_secret_key_seals_the_keyring_and_only_that_key_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    _round_trip(SecretKeySealer.from_base64(_new_key()), path)
    with pytest.raises(KeyringError, match="does not open"):
        Keyring.load(path, SecretKeySealer.from_base64(_new_key()))


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_keyring_key_is_refused(bad: str) -> None:
    with pytest.raises(KeyringError, match="keyring_key"):
        SecretKeySealer.from_base64(bad)


def test_a_plaintext_keyring_is_refused_once_a_key_is_configured(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    with pytest.raises(KeyringError, match="keys seal"):
        Keyring.load(path, SecretKeySealer.from_base64(_new_key()))


def test_the_key_comes_from_a_secret_file_and_the_cli_seals_rotates_and_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(instance))
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0  # plaintext, as before this setting
    plaintext = Keyring.load(instance / "keyring.json")
    key_file = tmp_path / "keyring.key"
    key_file.write_text(_new_key() + "\n")
    monkeypatch.setenv("KETENPOORT_KEYRING_KEY_FILE", str(key_file))

    sealed = runner.invoke(main, ["keys", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert _secrets_in(instance / "keyring.json", plaintext) == []
    again = runner.invoke(main, ["keys", "seal"])
    assert again.exit_code != 0
    rotated = runner.invoke(main, ["keys", "rotate", "--kind", "webhook"])
    assert rotated.exit_code == 0, rotated.output
    assert runner.invoke(main, ["keys", "status"]).exit_code == 0
    assert runner.invoke(main, ["init"]).exit_code == 0

    sealer = keyring_sealer(Settings.from_env())
    assert sealer is not None
    reopened = Keyring.load(instance / "keyring.json", sealer)
    assert reopened.secret("identity-master") == plaintext.secret("identity-master")
    assert len(reopened.previous_keys("webhook-signing")) == 1
    monkeypatch.delenv("KETENPOORT_KEYRING_KEY_FILE")
    refused = runner.invoke(main, ["keys", "status"])
    assert refused.exit_code != 0
    assert "encrypted" in refused.output


def test_keyring_key_and_pkcs11_are_exclusive() -> None:
    with pytest.raises(KeyringError, match="not both"):
        keyring_sealer(Settings(keyring_key=_new_key(), pkcs11_module="/x.so",
                                pkcs11_token_label="t", pkcs11_pin="1"))
    with pytest.raises(KeyringError, match="pkcs11_token_label"):
        keyring_sealer(Settings(pkcs11_module="/x.so"))


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM2 token of its own (Debian's softhsm2 package); its library path."""
    pytest.importorskip("pkcs11")
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    config = folder / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n")
    # The library reads its configuration when this process first loads it.
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    subprocess.run(  # noqa: S603  # fixed arguments, the test's own token
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN,  # noqa: S607
         "--so-pin", "0" + PIN], check=True, capture_output=True, timeout=60)
    yield module
    if previous is None:
        del os.environ["SOFTHSM2_CONF"]
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_a_pkcs11_token_seals_the_keyring_with_a_key_that_never_leaves_it(
    softhsm: str, tmp_path: Path
) -> None:
    sealer = Pkcs11Sealer(softhsm, TOKEN_LABEL, PIN, key_label="keyring-a")
    with pytest.raises(KeyringError, match="no single AES key"):
        sealer.seal(b"{}")
    assert sealer.create_key() is True
    assert sealer.create_key() is False
    _round_trip(sealer, tmp_path / "keyring.json")

    import pkcs11  # noqa: PLC0415  # only where SoftHSM2 is present (the fixture checked)
    with pkcs11.lib(softhsm).get_token(token_label=TOKEN_LABEL).open(user_pin=PIN) as session:
        key = session.get_key(pkcs11.ObjectClass.SECRET_KEY, label="keyring-a")
        assert key[pkcs11.Attribute.EXTRACTABLE] is False
        assert key[pkcs11.Attribute.SENSITIVE] is True
    other = Pkcs11Sealer(softhsm, TOKEN_LABEL, PIN, key_label="keyring-b")
    other.create_key()
    with pytest.raises(KeyringError, match="does not open"):
        Keyring.load(tmp_path / "keyring.json", other)
    with pytest.raises(KeyringError, match="token"):
        Keyring.load(tmp_path / "keyring.json",
                     Pkcs11Sealer(softhsm, TOKEN_LABEL, "wrong-pin", key_label="keyring-a"))


def test_the_cli_seals_an_instance_keyring_into_the_token(
    softhsm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(instance))
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    plaintext = Keyring.load(instance / "keyring.json")
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN)
    for name, value in {"PKCS11_MODULE": softhsm, "PKCS11_TOKEN_LABEL": TOKEN_LABEL,
                        "PKCS11_PIN_FILE": str(pin_file), "PKCS11_KEY_LABEL": "instance"}.items():
        monkeypatch.setenv(f"KETENPOORT_{name}", value)

    sealed = runner.invoke(main, ["keys", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert _secrets_in(instance / "keyring.json", plaintext) == []
    rotated = runner.invoke(main, ["keys", "rotate", "--kind", "token"])
    assert rotated.exit_code == 0, rotated.output
    reopened = Keyring.load(instance / "keyring.json", keyring_sealer(Settings.from_env()))
    assert reopened.previous_keys("token-signing")[0].public_key == (
        plaintext.signing_key("token-signing").public_key())
    logged = [json.loads(entry) for entry in _logged(Settings.from_env())]
    assert [(e["action"], e.get("method")) for e in logged[-2:]] == [
        ("keys.sealed", "pkcs11-aes-gcm"), ("keys.rotated", None)]
    assert PIN not in json.dumps(logged)


def test_sealing_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    sealer = SecretKeySealer.from_base64(_new_key())
    seal_keyring_file(path, sealer)
    with pytest.raises(KeyringError, match="already encrypted"):
        seal_keyring_file(path, sealer)


@pytest.fixture(params=BACKENDS)
def instance_settings(request: pytest.FixtureRequest, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch, test_policies_path: Path
                      ) -> Iterator[Settings]:
    """An instance made by ``ketenpoort init``, its database on the backend of the run."""
    monkeypatch.setenv("KETENPOORT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("KETENPOORT_POLICIES_PATH", str(test_policies_path))
    with instance_database(request.param, monkeypatch, "keystore"):
        assert CliRunner().invoke(main, ["init"]).exit_code == 0
        yield Settings.from_env()


def _logged(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(AuditEntry.entry).order_by(AuditEntry.id)))
    finally:
        engine.dispose()


def test_sealing_rotating_and_unsealing_are_audited_without_key_material(
    instance_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    path = instance_settings.keyring_path
    key = _new_key()
    key_file = tmp_path / "keyring.key"
    key_file.write_text(key)
    monkeypatch.setenv("KETENPOORT_KEYRING_KEY_FILE", str(key_file))

    for command in (["keys", "seal"], ["keys", "rotate", "--kind", "token"], ["keys", "unseal"]):
        done = runner.invoke(main, command)
        assert done.exit_code == 0, done.output
    unsealed = Keyring.read(path)  # plaintext again, and the rotation kept
    assert len(unsealed.previous_keys("token-signing")) == 1

    entries = _logged(instance_settings)
    logged = [json.loads(entry) for entry in entries]
    assert [(e["action"], e.get("method")) for e in logged[-3:]] == [
        ("keys.sealed", "aes-256-gcm"), ("keys.rotated", None), ("keys.unsealed", "aes-256-gcm")]
    assert all(e["actor"] == {"operator": getpass.getuser()} for e in logged[-3:])
    text = "".join(entries)
    assert key not in text
    assert "PRIVATE KEY" not in text
    assert _secrets_in_text(text, unsealed) == []


def test_unsealing_needs_the_key_that_sealed_and_a_sealed_keyring(
    instance_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    key_file = tmp_path / "keyring.key"
    key_file.write_text(_new_key())
    monkeypatch.setenv("KETENPOORT_KEYRING_KEY_FILE", str(key_file))
    plaintext = runner.invoke(main, ["keys", "unseal"])
    assert plaintext.exit_code != 0
    assert "not encrypted" in plaintext.output
    assert runner.invoke(main, ["keys", "seal"]).exit_code == 0
    before = instance_settings.keyring_path.read_bytes()
    key_file.write_text(_new_key())

    wrong = runner.invoke(main, ["keys", "unseal"])

    assert wrong.exit_code != 0
    assert "does not open" in wrong.output
    assert instance_settings.keyring_path.read_bytes() == before
    assert [json.loads(e)["action"] for e in _logged(instance_settings)].count(
        "keys.unsealed") == 0
