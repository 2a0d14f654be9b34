"""The gateway's logs: one JSON object a line (time, level, logger, message, conversation_id when known),
personal data masked in every record (bot/masking.py).

The conversation id comes from a context variable that the channels set when they start on a user's message;
asyncio copies it into the tasks started from there, so everything logged while handling that message carries it.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from bot.masking import MaskingFilter

conversation_id: ContextVar[str | None] = ContextVar("conversation_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "conversation_id", None) or conversation_id.get()
        if cid:
            line["conversation_id"] = cid
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(fmt: str = "json", level: int = logging.INFO) -> logging.Handler:
    """Replace the root handlers with one on stderr, masking personal data, in ``fmt`` ("json" or "text")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
