"""Sealing and chunked file encryption: round trips, owner binding, tampering, rotation."""

from __future__ import annotations

import io

import pytest

from veil.kit.crypto import FILE_MAGIC, DecryptionError, Keyring

SECRET = "first-secret-0123456789abcdef"
NEWER = "second-secret-0123456789abcdef"


def _encrypt(keyring: Keyring, chunks: list[bytes], owner: str = "ws_1:exp_1") -> bytes:
    out = io.BytesIO()
    keyring.encrypt_stream(iter(chunks), out, owner=owner)
    return out.getvalue()


def test_file_round_trip_and_no_plaintext_in_ciphertext() -> None:
    keyring = Keyring([SECRET], "files")
    chunks = [b'{"email": "ada@example.com"}', b"x" * 100_000, b"tail"]
    raw = _encrypt(keyring, chunks)
    assert raw.startswith(FILE_MAGIC)
    assert b"ada@example.com" not in raw
    assert b"".join(keyring.decrypt_stream(io.BytesIO(raw), owner="ws_1:exp_1")) == b"".join(chunks)


def test_empty_stream_round_trips() -> None:
    keyring = Keyring([SECRET], "files")
    raw = _encrypt(keyring, [])
    assert b"".join(keyring.decrypt_stream(io.BytesIO(raw), owner="ws_1:exp_1")) == b""


def test_file_moved_to_another_owner_does_not_open() -> None:
    keyring = Keyring([SECRET], "files")
    raw = _encrypt(keyring, [b"secret"], owner="ws_1:exp_1")
    with pytest.raises(DecryptionError):
        list(keyring.decrypt_stream(io.BytesIO(raw), owner="ws_1:exp_2"))
    with pytest.raises(DecryptionError):
        list(keyring.decrypt_stream(io.BytesIO(raw), owner="ws_2:exp_1"))


def test_truncated_file_is_detected() -> None:
    keyring = Keyring([SECRET], "files")
    raw = _encrypt(keyring, [b"a" * 10, b"b" * 10, b"c" * 10])
    # Drop the final record: every remaining chunk opens, but the stream must not end cleanly.
    first_two = raw[: len(raw) - (4 + 12 + 10 + 16)]
    with pytest.raises(DecryptionError):
        list(keyring.decrypt_stream(io.BytesIO(first_two), owner="ws_1:exp_1"))


def test_flipped_byte_is_detected() -> None:
    keyring = Keyring([SECRET], "files")
    raw = bytearray(_encrypt(keyring, [b"hello world"]))
    raw[-5] ^= 0x01
    with pytest.raises(DecryptionError):
        list(keyring.decrypt_stream(io.BytesIO(bytes(raw)), owner="ws_1:exp_1"))


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    old = Keyring([SECRET], "files")
    sealed = old.seal("Ada Lovelace", aad="del_1")
    raw = _encrypt(old, [b"payload"])
    rotated = Keyring([NEWER, SECRET], "files")
    assert rotated.unseal(sealed, aad="del_1") == "Ada Lovelace"
    assert b"".join(rotated.decrypt_stream(io.BytesIO(raw), owner="ws_1:exp_1")) == b"payload"
    assert rotated.current_kid != old.current_kid
    # Without the old secret, nothing opens.
    with pytest.raises(DecryptionError):
        Keyring([NEWER], "files").unseal(sealed, aad="del_1")


def test_seal_is_bound_to_its_associated_data_and_purpose() -> None:
    keyring = Keyring([SECRET], "seal")
    sealed = keyring.seal("ada@example.com", aad="ws_1:del_1")
    assert "ada" not in sealed
    with pytest.raises(DecryptionError):
        keyring.unseal(sealed, aad="ws_1:del_2")
    with pytest.raises(DecryptionError):
        Keyring([SECRET], "another-purpose").unseal(sealed, aad="ws_1:del_1")


def test_macs_verify_under_current_and_old_keys() -> None:
    old = Keyring([SECRET], "links")
    tag = old.mac("click|tok|https://shop.example.com")
    assert old.verify_mac("click|tok|https://shop.example.com", tag)
    assert not old.verify_mac("click|tok|https://evil.example.com", tag)
    assert Keyring([NEWER, SECRET], "links").verify_mac("click|tok|https://shop.example.com", tag)


def test_a_tag_with_non_ascii_characters_is_refused_not_an_error() -> None:
    keyring = Keyring([SECRET], "links")
    assert not keyring.verify_mac("rcp_1|https://shop.example.com/", "\x80é")
