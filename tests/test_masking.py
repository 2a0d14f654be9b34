"""Phone, 身份证 and 统一社会信用代码 numbers never reach a log line unmasked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.gateway.logs import JsonFormatter, configure_logging, conversation_id
from bot.masking import MaskingFilter, mask_personal_data

ID_NUMBER = "11010519491231002X"
CREDIT_CODE = "91110108MA01ABCD2K"


@pytest.mark.parametrize(("text", "masked"), [
    ("我的手机13812345678，打给我", "我的手机138****5678，打给我"),
    ("电话 138-1234-5678 或 139 8765 4321", "电话 138****5678 或 139****4321"),
    ("+8613812345678 / +86 139-8765-4321", "+86138****5678 / +86 139****4321"),
    (f"身份证{ID_NUMBER}。", "身份证110***********002X。"),
    ("身份证号 110105194912310021", "身份证号 110***********0021"),
    (f"统一社会信用代码：{CREDIT_CODE}", "统一社会信用代码：911***********CD2K"),
])
def test_personal_numbers_are_masked_keeping_the_ends(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize("text", [
    "第5条 第12条 2022年 京科发〔2022〕4号",
    "12345市民服务热线",
    "timestamp 1700000000 nonce 1357924680",
    "MsgId 1234567890123456789",  # 19 digits: not an 18-digit id
    "12812345678",  # not a mobile prefix (12x)
    "session 3f2b9a4c1d8e4f6a9b0c1d2e3f4a5b6c",
    "web:Ab3dEf7hIj",
])
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad phone {args[0] if args else ''}")
        except ValueError:
            import sys
            exc_info = sys.exc_info()
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)


def test_the_filter_masks_message_args_and_traceback() -> None:
    record = _record("user %s said %r", "13812345678", {"id": ID_NUMBER, "code": CREDIT_CODE}, exc=True)
    assert MaskingFilter().filter(record) is True
    text = record.getMessage() + (record.exc_text or "")
    for secret in ("13812345678", ID_NUMBER, CREDIT_CODE):
        assert secret not in text
    assert "138****5678" in text and record.args == ()
    assert "ValueError: bad phone 138****5678" in record.exc_text  # the traceback too


def test_a_broken_format_string_is_still_logged_and_masked() -> None:
    record = _record("%d items for %s", "not a number", "13812345678")
    assert MaskingFilter().filter(record) is True
    assert "13812345678" not in record.getMessage() and "138****5678" in record.getMessage()


def test_gateway_log_lines_are_json_with_conversation_id_and_masked() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    handler = configure_logging("json")
    handler.setStream(stream)
    try:
        token = conversation_id.set("web:abc12345")
        try:
            logging.getLogger("bot.gateway.test").info("联系电话 %s", "13912345678")
        finally:
            conversation_id.reset(token)
        logging.getLogger("bot.gateway.test").warning("没有会话")
        try:
            raise RuntimeError(f"id {ID_NUMBER}")
        except RuntimeError:
            logging.getLogger("x").exception("failed")
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "联系电话 139****5678" and lines[0]["conversation_id"] == "web:abc12345"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "bot.gateway.test" and "T" in lines[0]["time"]
    assert "conversation_id" not in lines[1]
    assert ID_NUMBER not in lines[2]["exception"] and "110***********002X" in lines[2]["exception"]


def test_the_formatter_takes_an_explicit_conversation_id() -> None:
    record = _record("hello")
    record.conversation_id = "wechat:o123"
    assert json.loads(JsonFormatter().format(record))["conversation_id"] == "wechat:o123"
