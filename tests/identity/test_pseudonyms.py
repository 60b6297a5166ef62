"""Per-recipient pseudonyms and audit pseudonyms: stable, unlinkable, keyed, never BSN-shaped."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.identity.services import IdentityVault, Pseudonymiser
from gateway.keys import Keyring
from tests.identity.factories import valid_bsns

PSEUDONYM_SHAPE = re.compile(r"PSN1-[A-Z2-7]{5}(?:-[A-Z2-7]{5}){4}")
AUDIT_PSEUDONYM_SHAPE = re.compile(r"AUD1-[A-Z2-7]{5}(?:-[A-Z2-7]{5}){4}")
NINE_DIGITS = re.compile(r"[0-9]{9}")

subject_ids = st.uuids().map(str)
recipients = st.text(min_size=1, max_size=40)


@given(subject_ids, recipients)
def test_same_subject_same_recipient_same_pseudonym(
    keyring: Keyring, subject_id: str, recipient: str
) -> None:
    first = Pseudonymiser(keyring).pseudonym(subject_id, recipient)
    assert Pseudonymiser(keyring).pseudonym(subject_id, recipient) == first
    assert PSEUDONYM_SHAPE.fullmatch(first)


@given(subject_ids, recipients, recipients)
def test_recipients_see_different_pseudonyms(
    keyring: Keyring, subject_id: str, one: str, other: str
) -> None:
    pseudonymiser = Pseudonymiser(keyring)
    same = pseudonymiser.pseudonym(subject_id, one) == pseudonymiser.pseudonym(subject_id, other)
    assert same == (one == other)


@given(subject_ids, subject_ids, recipients)
def test_different_subjects_get_different_pseudonyms(
    keyring: Keyring, one: str, other: str, recipient: str
) -> None:
    pseudonymiser = Pseudonymiser(keyring)
    same = pseudonymiser.pseudonym(one, recipient) == pseudonymiser.pseudonym(other, recipient)
    assert same == (one == other)


@given(valid_bsns(), recipients)
def test_a_pseudonym_never_holds_nine_digits_even_of_a_bsn_fed_in(
    keyring: Keyring, bsn: str, recipient: str
) -> None:
    # The worst case: a caller bug passes the BSN itself where the subject id belongs.
    pseudonym = Pseudonymiser(keyring).pseudonym(bsn, recipient)
    assert bsn not in pseudonym
    assert NINE_DIGITS.search(pseudonym) is None


def test_pseudonyms_depend_on_the_key() -> None:
    subject_id = "5b6e9a0c-2f1e-4c8e-9d3b-7a1f0e2d4c6b"
    one = Pseudonymiser(Keyring.generate()).pseudonym(subject_id, "politie")
    other = Pseudonymiser(Keyring.generate()).pseudonym(subject_id, "politie")
    assert one != other


def test_pseudonyms_carry_the_key_version(keyring: Keyring) -> None:
    versions = {1: b"\x01" * 32, 2: b"\x02" * 32}
    rotated = Keyring(symmetric={**keyring.symmetric, "pseudonym": versions})
    assert Pseudonymiser(rotated).pseudonym("subject", "politie").startswith("PSN2-")


def test_an_empty_recipient_is_refused(pseudonymiser: Pseudonymiser) -> None:
    with pytest.raises(ValueError, match="named recipient"):
        pseudonymiser.pseudonym("subject", "")


@given(valid_bsns())
def test_audit_pseudonym_from_a_bsn_is_keyed_and_never_bsn_shaped(
    keyring: Keyring, bsn: str
) -> None:
    audit_pseudonym = IdentityVault(keyring).audit_pseudonym_for({"bsn": bsn})
    assert audit_pseudonym is not None
    assert AUDIT_PSEUDONYM_SHAPE.fullmatch(audit_pseudonym)
    assert NINE_DIGITS.search(audit_pseudonym) is None
    assert IdentityVault(Keyring.generate()).audit_pseudonym_for({"bsn": bsn}) != audit_pseudonym


def test_no_audit_pseudonym_for_identifiers_that_name_nobody(vault: IdentityVault) -> None:
    assert vault.audit_pseudonym_for({"given_names": "Jan"}) is None
    assert vault.audit_pseudonym_for({"bsn": "111222334"}) is None
