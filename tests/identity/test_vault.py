"""The identity vault on every backend: round trip, matching, merging, secrecy, tamper, shred."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.identity.interfaces import (
    Identifiers,
    IdentityError,
    IdentityIntegrityError,
    SubjectNotFoundError,
)
from gateway.identity.models import Subject
from gateway.identity.services import IdentityVault
from gateway.keys import Keyring
from gateway.ports import SubjectShreddedError
from tests.identity.factories import identifiers, next_bsn, registered_subject


def test_round_trip(session: Session, vault: IdentityVault) -> None:
    subject_id, person = registered_subject(session, vault)
    session.expire_all()
    assert vault.reveal(session, subject_id) == person


def test_round_trip_keeps_any_script(session: Session, vault: IdentityVault) -> None:
    subject_id, person = registered_subject(
        session, vault, family_name="Щукин", given_names="Oksana Ĳsbrand", address="Straße 1"
    )
    session.expire_all()
    assert vault.reveal(session, subject_id) == person


def test_the_same_bsn_registers_to_the_same_subject(session: Session, vault: IdentityVault) -> None:
    subject_id, person = registered_subject(session, vault)
    assert vault.register(session, {"bsn": person["bsn"]}) == subject_id
    assert vault.register(session, person) == subject_id
    assert vault.register(session, identifiers()) != subject_id
    assert uuid.UUID(subject_id).version == 8  # derived from the key, not random


def test_name_and_birth_date_without_bsn_find_the_same_subject(
    session: Session, vault: IdentityVault
) -> None:
    person: Identifiers = {
        "family_name": "Berg", "prefix": "van der", "given_names": "Anna",
        "birth_date": "1990-05-06",
    }
    subject_id = vault.register(session, person)
    variant: Identifiers = {
        "family_name": "v.d. BERG", "given_names": "anna", "birth_date": "1990-05-06",
    }
    assert vault.register(session, variant) == subject_id
    assert vault.register(session, {**person, "birth_date": "1990-05-07"}) != subject_id


def test_new_fields_are_merged_and_stored_fields_are_kept(
    session: Session, vault: IdentityVault
) -> None:
    bsn = next_bsn()
    subject_id = vault.register(session, {"bsn": bsn, "family_name": "Jansen"})
    vault.register(session, {"bsn": bsn, "family_name": "Janssen", "nationality": "NLD"})
    session.expire_all()
    assert vault.reveal(session, subject_id) == {
        "bsn": bsn, "family_name": "Jansen", "nationality": "NLD",
    }


def test_registering_what_is_known_does_not_rewrite_the_row(
    session: Session, vault: IdentityVault
) -> None:
    subject_id, person = registered_subject(session, vault)
    before = session.execute(_raw_row(subject_id)).one()
    vault.register(session, {"bsn": person["bsn"], "family_name": "Anders"})
    session.expire_all()
    assert session.execute(_raw_row(subject_id)).one() == before


@pytest.mark.parametrize("nobody", [{}, {"birth_date": "1999-04-02"},
                                    {"approximate_age": "25", "nationality": "NL"}])
def test_identifiers_naming_nobody_are_refused(
    session: Session, vault: IdentityVault, nobody: Identifiers
) -> None:
    with pytest.raises(IdentityError):
        vault.register(session, nobody)


def test_a_person_known_only_by_first_name_is_a_subject_of_their_own_every_time(
    session: Session, vault: IdentityVault
) -> None:
    first = vault.register(session, {"given_names": "Jan"})
    second = vault.register(session, {"given_names": "Jan"})

    assert first != second
    assert vault.reveal(session, first) == {"given_names": "Jan"}
    assert vault.audit_pseudonym_for({"given_names": "Jan"}) is None


def test_an_address_is_one_subject_however_it_is_written(
    session: Session, vault: IdentityVault
) -> None:
    first = vault.register(session, {"postcode": "3011 ab", "house_number": "12",
                                     "house_number_addition": "a", "description": "achterhuis"})
    second = vault.register(session, {"postcode": "3011AB", "house_number": "12",
                                      "house_number_addition": "A"})
    company = vault.register(session, {"kvk_number": "69599084"})

    assert first == second
    assert company != first
    assert vault.reveal(session, first)["description"] == "achterhuis"


def test_no_plaintext_identity_in_any_column(session: Session, vault: IdentityVault) -> None:
    subject_ids = [registered_subject(session, vault)[0]]
    person = identifiers(family_name="Zwanenburg", given_names="Marieke Fenna")
    subject_ids.append(vault.register(session, person))
    needles = [person["bsn"], person["family_name"], person["given_names"], person["birth_date"]]
    rows = session.execute(text("SELECT * FROM identity_subject")).all()
    assert len(rows) >= len(subject_ids)
    for row in rows:
        for value in row:
            stored = _as_bytes(value)
            for needle in needles:
                for form in _encodings(needle):
                    assert form not in stored, f"{needle!r} found in a stored column"


@pytest.mark.parametrize("offset", range(3))
@pytest.mark.parametrize("encode", [bytes, base64.b64encode, bytes.hex])
def test_the_scan_finds_plaintext_planted_inside_a_longer_value(
    offset: int, encode: Callable[[bytes], object]
) -> None:
    needle = "Zwanenburg"
    stored = _as_bytes(encode(b"x" * offset + needle.encode() + b"trailing"))
    assert any(form in stored for form in _encodings(needle))


def test_blind_index_is_keyed_not_a_plain_hash(session: Session, vault: IdentityVault) -> None:
    subject_id, person = registered_subject(session, vault)
    blind_index = session.get_one(Subject, subject_id).blind_index
    for guess in (person["bsn"], f"bsn:{person['bsn']}"):
        assert blind_index != hashlib.sha256(guess.encode()).hexdigest()


def test_modified_ciphertext_fails_to_decrypt(session: Session, vault: IdentityVault) -> None:
    subject_id, _person = registered_subject(session, vault)
    ciphertext = session.get_one(Subject, subject_id).ciphertext
    assert ciphertext is not None
    tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    session.execute(
        text("UPDATE identity_subject SET ciphertext = :c WHERE id = :id"),
        {"c": tampered, "id": subject_id},
    )
    session.expire_all()
    with pytest.raises(IdentityIntegrityError):
        vault.reveal(session, subject_id)


@pytest.mark.parametrize(
    "columns",
    [("wrapped_data_key", "nonce", "ciphertext"), ("wrapped_data_key",), ("nonce",)],
)
def test_key_material_moved_to_another_subject_fails_to_decrypt(
    session: Session, vault: IdentityVault, columns: tuple[str, ...]
) -> None:
    victim, _ = registered_subject(session, vault)
    target, _ = registered_subject(session, vault)
    # Column names come from the parametrize list above, never from input.
    assignments = ", ".join(
        f"{c} = (SELECT {c} FROM identity_subject WHERE id = :victim)"  # noqa: S608 -- see above
        for c in columns
    )
    statement = f"UPDATE identity_subject SET {assignments} WHERE id = :target"  # noqa: S608 -- see above
    session.execute(text(statement), {"victim": victim, "target": target})
    session.expire_all()
    with pytest.raises(IdentityIntegrityError):
        vault.reveal(session, target)


def test_a_foreign_keyring_cannot_reveal(session: Session, vault: IdentityVault) -> None:
    subject_id, _ = registered_subject(session, vault)
    with pytest.raises(IdentityIntegrityError):
        IdentityVault(Keyring.generate()).reveal(session, subject_id)


def test_shred_makes_reveal_fail_and_leaves_no_key_material(
    session: Session, vault: IdentityVault
) -> None:
    subject_id, _person = registered_subject(session, vault)
    vault.shred(session, subject_id)
    vault.shred(session, subject_id)
    session.expire_all()
    with pytest.raises(SubjectShreddedError):
        vault.reveal(session, subject_id)
    row = session.execute(_raw_row(subject_id)).one()
    assert row.wrapped_data_key is None
    assert row.ciphertext is None
    assert row.blind_index is None
    assert row.shredded_at is not None


def test_a_shredded_person_registered_again_has_only_the_new_identifiers(
    session: Session, vault: IdentityVault
) -> None:
    subject_id, person = registered_subject(session, vault)
    audit_pseudonym = vault.audit_pseudonym(subject_id)
    vault.shred(session, subject_id)
    assert vault.register(session, {"bsn": person["bsn"]}) == subject_id
    session.expire_all()
    assert vault.reveal(session, subject_id) == {"bsn": person["bsn"]}
    assert vault.audit_pseudonym(subject_id) == audit_pseudonym


@pytest.mark.parametrize(
    "assignment",
    ["wrapped_data_key = NULL", "shredded_at = created_at", "blind_index = NULL"],
)
def test_the_database_refuses_a_half_shredded_row(
    session: Session, vault: IdentityVault, assignment: str
) -> None:
    subject_id, _ = registered_subject(session, vault)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            text(f"UPDATE identity_subject SET {assignment} WHERE id = :id"),  # noqa: S608 -- fixed statements from the parametrize list above
            {"id": subject_id},
        )


def test_unknown_subjects_are_reported(session: Session, vault: IdentityVault) -> None:
    with pytest.raises(SubjectNotFoundError):
        vault.reveal(session, "00000000-0000-8000-8000-000000000000")
    with pytest.raises(SubjectNotFoundError):
        vault.shred(session, "00000000-0000-8000-8000-000000000000")


def test_audit_pseudonym_from_identifiers_matches_the_registered_subject(
    session: Session, vault: IdentityVault
) -> None:
    subject_id, person = registered_subject(session, vault)
    assert vault.audit_pseudonym_for({"bsn": person["bsn"]}) == vault.audit_pseudonym(subject_id)
    assert vault.audit_pseudonym_for(person) == vault.audit_pseudonym(subject_id)


def test_register_writes_in_the_callers_transaction(
    session: Session, vault: IdentityVault
) -> None:
    savepoint = session.begin_nested()
    subject_id, _ = registered_subject(session, vault)
    savepoint.rollback()
    with pytest.raises(SubjectNotFoundError):
        vault.reveal(session, subject_id)


def _raw_row(subject_id: str) -> text:
    return text("SELECT * FROM identity_subject WHERE id = :id").bindparams(id=subject_id)


def _as_bytes(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    return str(value).encode()


def _encodings(needle: str) -> Iterator[bytes]:
    """The needle raw, in other cases and encodings, and base64 at every byte alignment."""
    for variant in {needle, needle.casefold(), needle.upper()}:
        raw = variant.encode()
        yield raw
        yield variant.encode("utf-16-le")
        yield raw.hex().encode()
        for offset in range(3):
            # base64 of the needle inside a longer value: drop the characters that depend on
            # the bytes before and after it.
            encoded = base64.b64encode(b"\0" * offset + raw)
            start = (offset * 4 + 2) // 3
            yield encoded[start : len(encoded) - 4].rstrip(b"=")


def _sent(session: Session, vault: IdentityVault, person: Identifiers, exchange_id: str
          ) -> dict[str, str]:
    sealed = vault.seal(person)
    new_subject = vault.store(session, sealed)
    return vault.seal_sent(session, sealed, exchange_id, new_subject=new_subject)


def test_a_sent_copy_holds_what_that_exchange_sent_whatever_was_merged_later(
    session: Session, vault: IdentityVault
) -> None:
    bsn = next_bsn()
    first = _sent(session, vault, {"bsn": bsn, "family_name": "Jansen"}, "exchange-1")
    second = _sent(session, vault, {"bsn": bsn, "address": "Kade 1"}, "exchange-2")
    session.expire_all()

    assert vault.reveal_sent(session, "exchange-1", first) == {"bsn": bsn, "family_name": "Jansen"}
    assert vault.reveal_sent(session, "exchange-2", second) == {"bsn": bsn, "address": "Kade 1"}
    assert vault.reveal(session, first["subject_id"]) == {
        "bsn": bsn, "family_name": "Jansen", "address": "Kade 1"}


def test_a_sent_copy_moved_to_another_exchange_or_person_does_not_open(
    session: Session, vault: IdentityVault
) -> None:
    copy = _sent(session, vault, identifiers(), "exchange-1")
    other = vault.register(session, identifiers())

    with pytest.raises(IdentityIntegrityError):
        vault.reveal_sent(session, "exchange-2", copy)
    with pytest.raises(IdentityIntegrityError):
        vault.reveal_sent(session, "exchange-1", {**copy, "subject_id": other})


def test_shredding_a_subject_makes_its_sent_copies_unreadable(
    session: Session, vault: IdentityVault
) -> None:
    person = identifiers()
    copy = _sent(session, vault, person, "exchange-1")
    vault.shred(session, copy["subject_id"])

    with pytest.raises(SubjectShreddedError):
        vault.reveal_sent(session, "exchange-1", copy)
    vault.register(session, person)  # revived, under a fresh data key
    with pytest.raises(IdentityIntegrityError):
        vault.reveal_sent(session, "exchange-1", copy)
