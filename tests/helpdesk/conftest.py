from __future__ import annotations

import dataclasses

import pytest

from bot.helpdesk.service import HelpdeskService

PASSWORD = "correct horse battery"


@pytest.fixture
def hd_settings(gateway_settings, tmp_path):  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    service = HelpdeskService.from_url(db)
    service.add_staff("alice", PASSWORD, "王老师")
    service.add_staff("bob", PASSWORD, "李老师")
    service.engine.dispose()
    return dataclasses.replace(gateway_settings, helpdesk_database_url=db, helpdesk_hours="mon-sun 00:00-24:00",
                               helpdesk_cookie_secure=False)
