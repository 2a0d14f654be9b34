"""Personal data kept out of the logs: Chinese mobile numbers, 身份证 numbers, 统一社会信用代码.

``MaskingFilter`` goes on a log *handler*, so it sees every record that handler writes, from any logger. It
renders the message with its arguments, masks it and the traceback, and leaves nothing unmasked behind
(``args`` is emptied), so no formatter can put the original back.

What is masked (the first 3 and last 4 characters stay, to tell records apart):

* mobile numbers: ``1[3-9]`` + 9 digits, also right after ``86`` (``+8613…``) and with spaces or hyphens as
  3-4-4;
* 身份证 numbers: 17 digits and a digit or X;
* 统一社会信用代码: 18 characters of the code's alphabet (digits and capitals without I, O, S, V, Z), with
  the 6-digit administrative area code in the 3rd–8th place.

Each must stand alone: not inside a longer run of letters or digits.
"""

from __future__ import annotations

import logging
import re

_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
_CODE_CHAR = "[0-9A-HJ-NPQRTUWXY]"

RESIDENT_ID = re.compile(_EDGE_BEFORE + r"\d{17}[\dXx]" + _EDGE_AFTER)
CREDIT_CODE = re.compile(_EDGE_BEFORE + f"{_CODE_CHAR}{{2}}\\d{{6}}{_CODE_CHAR}{{10}}" + _EDGE_AFTER)
MOBILE = re.compile(r"(?:(?<=86)|(?<![0-9A-Za-z]))1[3-9]\d(?:\d{8}|[- ]\d{4}[- ]\d{4})" + _EDGE_AFTER)


def _keep_ends(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"[^0-9A-Za-z]", "", text)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_personal_data(text: str) -> str:
    """``text`` with every mobile, 身份证 and credit-code number masked."""
    if not any(ch.isdigit() for ch in text):
        return text
    text = RESIDENT_ID.sub(_keep_ends, text)
    text = CREDIT_CODE.sub(_keep_ends, text)
    return MOBILE.sub(_keep_ends, text)


class MaskingFilter(logging.Filter):
    """Masks personal data in a record's message, arguments and traceback (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: mask what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = mask_personal_data(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        return True
