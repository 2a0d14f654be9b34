"""Tencent's callback protocol, shared by the WeChat Official Account and WeCom channels.

* Signatures: SHA1 of the sorted, concatenated strings — ``token, timestamp, nonce`` for the plain
  ``signature``; ``token, timestamp, nonce, Encrypt`` for ``msg_signature``.
* Safe mode (WXBizMsgCrypt): AES-256-CBC with the 43-character EncodingAESKey, key = base64decode(key + "="),
  IV = the key's first 16 bytes, PKCS#7 padding to 32-byte blocks; the plaintext is 16 random bytes, the
  message length (4 bytes, big-endian), the message and the receive id (the AppID, or WeCom's CorpID).
* XML: parsed with defusedxml (no DTDs, so no entity expansion and no external entities), built with CDATA
  sections that survive any text, "]]>" included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from xml.etree.ElementTree import ParseError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

BLOCK = 32  # Tencent pads to 32 bytes, not AES's 16
MAX_FIELDS = 64
# characters XML 1.0 cannot carry at all, even in CDATA
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class WxProtocolError(ValueError):
    """A callback request that does not follow the protocol (the reason is safe to log)."""


class SignatureError(WxProtocolError):
    """A missing or wrong (msg_)signature, or a stale timestamp: the request is not from Tencent."""


class CryptoError(WxProtocolError):
    """A ciphertext that does not decrypt to a well-formed message."""


class ReceiveIdError(CryptoError):
    """A message that decrypts, but for another AppID/CorpID."""


class XmlError(WxProtocolError):
    """A body that is not a flat ``<xml>…</xml>`` document, or one with a DTD or entities."""


def signature(*parts: str) -> str:
    """SHA1 hex digest of the parts, sorted and joined (both the plain signature and msg_signature)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(given: str | None, *parts: str) -> None:
    if not given:
        raise SignatureError("missing signature")
    if not hmac.compare_digest(given.lower().encode("utf-8", "replace"), signature(*parts).encode("ascii")):
        raise SignatureError("wrong signature")


class WxCrypto:
    """Encrypt and decrypt message bodies for one receive id (an AppID or a CorpID)."""

    def __init__(self, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("an EncodingAESKey has 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError(f"the EncodingAESKey is not base64: {exc}") from None
        if len(key) != 32:
            raise ValueError("the EncodingAESKey does not decode to 32 bytes")
        self._key = key
        self.receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        """The base64 ``Encrypt`` value for a message (``random16`` only for reproducible tests)."""
        nonce = os.urandom(16) if random16 is None else random16
        if len(nonce) != 16:
            raise ValueError("random16 must be 16 bytes")
        plain = nonce + struct.pack(">I", len(message)) + message + self.receive_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside an ``Encrypt`` value; raises CryptoError, or ReceiveIdError for another app."""
        try:
            data = base64.b64decode(encrypted.replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("Encrypt is not base64") from None
        if not data or len(data) % 16:
            raise CryptoError(f"ciphertext of {len(data)} bytes is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding (wrong EncodingAESKey?)")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("message length exceeds the plaintext")
        message, receive_id = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            shown = receive_id[:64].decode("utf-8", "replace")
            raise ReceiveIdError(f"message is for receive id {shown!r}, not ours")
        return message


def parse_xml(body: bytes) -> dict[str, str]:
    """The child elements of a flat ``<xml>`` document as {tag: text}; nested elements are ignored."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlError(f"forbidden XML construct: {exc.__class__.__name__}") from None
    except (ParseError, ValueError) as exc:
        raise XmlError(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise XmlError(f"root element is <{str(root.tag)[:40]}>, not <xml>")
    if len(root) > MAX_FIELDS:
        raise XmlError(f"{len(root)} fields, more than {MAX_FIELDS}")
    return {child.tag: (child.text or "").strip() for child in root if isinstance(child.tag, str)}


def cdata(text: str) -> str:
    """A CDATA section holding any text: "]]>" is split across two sections, unusable characters dropped."""
    return "<![CDATA[" + _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: dict[str, str | int]) -> bytes:
    """``<xml>`` with one element per field: integers as digits, strings in CDATA. Tags are ours, not input."""
    parts = []
    for tag, value in fields.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", tag):
            raise ValueError(f"bad tag {tag!r}")
        inner = str(value) if isinstance(value, int) else cdata(value)
        parts.append(f"<{tag}>{inner}</{tag}>")
    return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8")


def seal(crypto: WxCrypto, token: str, reply: bytes, timestamp: str, nonce: str) -> bytes:
    """An encrypted reply: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
    encrypted = crypto.encrypt(reply)
    return build_xml({"Encrypt": encrypted, "MsgSignature": signature(token, timestamp, nonce, encrypted),
                      "TimeStamp": int(timestamp), "Nonce": nonce})
