"""The shared callback protocol (bot/gateway/channels/wxcrypto.py) against the published algorithm, written out
independently in tencent_standin.py, and against Tencent's own published WXBizMsgCrypt sample values."""

from __future__ import annotations

import base64
import os
from xml.etree import ElementTree

import pytest

from bot.gateway.channels.wxcrypto import (
    CryptoError,
    ReceiveIdError,
    SignatureError,
    WxCrypto,
    XmlError,
    build_xml,
    cdata,
    check_signature,
    parse_xml,
    seal,
    signature,
)

from .tencent_standin import BILLION_LAUGHS, XXE, sha1_sorted, tencent_decrypt, tencent_encrypt

KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters
APP_ID = "wx0123456789abcdef"

# Tencent's published sample (WXBizMsgCrypt Sample.py, "验证回调URL"): these values verify and decrypt
SAMPLE_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
SAMPLE_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SAMPLE_CORP_ID = "ww1436e0e65a779aee"
SAMPLE_MSG_SIGNATURE = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
SAMPLE_TIMESTAMP, SAMPLE_NONCE = "1476416373", "47744683"
SAMPLE_ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="


def test_key_is_43_characters():
    assert len(KEY) == 43


@pytest.mark.parametrize("parts", [
    ("token", "1700000000", "123456"),
    ("测试token", "1", "nonce", "ENCRYPTED+/=="),
    ("b", "a", "c"),
])
def test_signature_is_sha1_of_the_sorted_joined_parts(parts):
    assert signature(*parts) == sha1_sorted(*parts)
    assert signature(*parts) == signature(*reversed(parts))  # order of the inputs does not matter
    check_signature(sha1_sorted(*parts), *parts)
    check_signature(sha1_sorted(*parts).upper(), *parts)


def test_the_published_sample_signature_and_echostr():
    assert signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ECHOSTR) == SAMPLE_MSG_SIGNATURE
    assert WxCrypto(SAMPLE_KEY, SAMPLE_CORP_ID).decrypt(SAMPLE_ECHOSTR) == b"1288432023552776189"
    # the older published example (token QDG6eK)
    assert signature("QDG6eK", "1409659589", "263014780",
                     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==") \
        == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"


@pytest.mark.parametrize("given, message", [(None, "missing"), ("", "missing"), ("0" * 40, "wrong"),
                                            ("不是签名", "wrong")])
def test_a_missing_or_wrong_signature_raises(given, message):
    with pytest.raises(SignatureError, match=message):
        check_signature(given, "token", "1", "2")


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 43, 44, 45, 100, 1000])
def test_encryption_is_byte_identical_to_the_published_algorithm(size):
    message = os.urandom(size)
    random16 = os.urandom(16)
    ours = WxCrypto(KEY, APP_ID).encrypt(message, random16=random16)
    assert ours == tencent_encrypt(KEY, APP_ID, message, random16)
    assert tencent_decrypt(KEY, ours) == (message, APP_ID.encode())
    assert len(base64.b64decode(ours)) % 32 == 0  # padded to 32-byte blocks, not 16


@pytest.mark.parametrize("size", [0, 12, 13, 44, 45, 300])  # 12 and 44: the plaintext is whole 32-byte blocks
def test_decryption_of_what_tencent_encrypts(size):
    message = "中文消息".encode() * size
    assert WxCrypto(KEY, APP_ID).decrypt(tencent_encrypt(KEY, APP_ID, message)) == message


def test_random_prefix_differs_between_encryptions():
    crypto = WxCrypto(KEY, APP_ID)
    assert crypto.encrypt(b"same") != crypto.encrypt(b"same")


def test_another_receive_id_is_refused():
    with pytest.raises(ReceiveIdError, match="wxffffffffffffffff"):
        WxCrypto(KEY, APP_ID).decrypt(tencent_encrypt(KEY, "wxffffffffffffffff", b"<xml/>"))


@pytest.mark.parametrize("encrypted", [
    "not base64 !!",
    "",
    base64.b64encode(b"x" * 20).decode(),  # not whole AES blocks
    tencent_encrypt(base64.b64encode(bytes(32 * [7])).decode().rstrip("="), APP_ID, b"<xml/>"),  # other key
    tencent_encrypt(KEY, APP_ID, b"<xml/>", length=10_000),  # length beyond the plaintext
])
def test_garbage_is_a_crypto_error(encrypted):
    with pytest.raises(CryptoError):
        WxCrypto(KEY, APP_ID).decrypt(encrypted)


@pytest.mark.parametrize("key", [KEY[:-1], KEY + "A", "!" * 43, ""])
def test_an_unusable_encoding_aes_key_is_refused(key):
    with pytest.raises(ValueError):
        WxCrypto(key, APP_ID)


def test_seal_wraps_an_encrypted_signed_reply():
    reply = build_xml({"Content": "你好"})
    sealed = parse_xml(seal(WxCrypto(KEY, APP_ID), "token", reply, "1700000000", "42"))
    assert set(sealed) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert sealed["MsgSignature"] == sha1_sorted("token", "1700000000", "42", sealed["Encrypt"])
    assert tencent_decrypt(KEY, sealed["Encrypt"]) == (reply, APP_ID.encode())


def test_parse_xml_reads_a_flat_message():
    body = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1348831860</CreateTime>"
            "<Content><![CDATA[有哪些资金 <&>]]></Content><MsgId>1234567890123456</MsgId></xml>").encode()
    assert parse_xml(body) == {"ToUserName": "gh_1", "CreateTime": "1348831860", "Content": "有哪些资金 <&>",
                               "MsgId": "1234567890123456"}


@pytest.mark.parametrize("body, reason", [
    (BILLION_LAUGHS, "forbidden"),
    (XXE, "forbidden"),
    (b'<!DOCTYPE xml><xml><a>1</a></xml>', "forbidden"),
    (b"<xml><a>1</a>", "malformed"),
    (b"", "malformed"),
    (b"\xff\xfe garbage", "malformed"),
    (b"<html><a>1</a></html>", "root"),
    (b"<xml>" + b"<a>1</a>" * 65 + b"</xml>", "fields"),
])
def test_parse_xml_refuses_bombs_entities_and_garbage(body, reason):
    with pytest.raises(XmlError, match=reason):
        parse_xml(body)


@pytest.mark.parametrize("text", ["a]]>b", "]]>", "]]]]>", "<script>&amp;</script>", "依据：第5条 \"引号\" 'x'"])
def test_cdata_survives_any_text(text):
    body = build_xml({"Content": text, "CreateTime": 7})
    assert ElementTree.fromstring(body).find("Content").text == text  # the stdlib parser agrees
    assert parse_xml(body) == {"Content": text.strip(), "CreateTime": "7"}


def test_characters_xml_cannot_carry_are_dropped():
    assert cdata("a\x00b\x1fc\td") == "<![CDATA[abc\td]]>"
    assert parse_xml(build_xml({"Content": "响应\x08内容"})) == {"Content": "响应内容"}


def test_build_xml_refuses_odd_tags():
    with pytest.raises(ValueError):
        build_xml({"a><b": "x"})
