"""Checkpoints as C2SP signed notes, checked against the reference implementation's vectors.

The vectors are those of ``golang.org/x/mod/sumdb/note`` (``note_test.go``: ``TestSign`` and
``TestNewVerifier``): Ed25519 is deterministic, so the same key and text must give the same
bytes, which is what makes our notes verifiable by stock witnesses.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.note import signed_note, verifier_key

GO_SIGNER_KEY = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # PeterNeumann's, type byte first
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_SIGNED = GO_TEXT + (
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
    "otpRZb6KE6RyyBwJnAM=\n"
)


def _go_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(GO_SIGNER_KEY)[1:])


def test_the_verifier_key_is_the_reference_one() -> None:
    assert verifier_key("PeterNeumann", _go_key().public_key()) == GO_VERIFIER_KEY


def test_a_signed_note_is_byte_for_byte_the_reference_one() -> None:
    key = _go_key()
    signature = key.sign(GO_TEXT.encode())

    assert signed_note(GO_TEXT, "PeterNeumann", key.public_key(), signature) == GO_SIGNED


@pytest.mark.parametrize(("text", "name"), [
    ("no final newline", "PeterNeumann"),
    (GO_TEXT, "Peter+Neumann"),
    (GO_TEXT, "Peter Neumann"),
])
def test_a_malformed_note_or_key_name_is_refused(text: str, name: str) -> None:
    key = _go_key()
    with pytest.raises(ValueError, match="newline"):
        signed_note(text, name, key.public_key(), key.sign(text.encode()))
