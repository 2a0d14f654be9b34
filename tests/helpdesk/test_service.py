"""Handoff state machine, staff accounts and sessions on a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.helpdesk.service import CLAIMED, CLOSED, QUEUED, RETURNED, HelpdeskError, HelpdeskService, WorkingHours


@pytest.fixture
def service(tmp_path) -> HelpdeskService:
    return HelpdeskService.from_url(f"sqlite:///{tmp_path / 'helpdesk.db'}")


@pytest.fixture
def alice(service):  # type: ignore[no-untyped-def]
    return service.add_staff("alice", "correct horse battery", "王老师")


@pytest.fixture
def bob(service):  # type: ignore[no-untyped-def]
    return service.add_staff("bob", "another long password")


def test_queue_claim_relay_return(service, alice):
    h = service.enqueue("web:s1", "web", "user_request", {"need": "融资"})
    assert h.status == QUEUED and service.position(h.id) == 1
    assert service.open_handoff("web:s1").id == h.id
    claimed = service.claim(h.id, alice)
    assert claimed.status == CLAIMED and claimed.claimed_by == alice.id and service.position(h.id) == 0
    service.add_message(h.id, "user", "你好，我想问材料")
    service.add_message(h.id, "staff", "您好，我是王老师", staff=alice)
    assert [m.sender for m in service.messages(h.id)] == ["user", "staff"]
    ended = service.end(h.id, RETURNED, alice)
    assert ended.status == RETURNED and service.open_handoff("web:s1") is None


def test_a_second_claim_is_refused(service, alice, bob):
    h = service.enqueue("web:s2", "web", "user_request", {})
    service.claim(h.id, alice)
    with pytest.raises(HelpdeskError, match="其他工作人员"):
        service.claim(h.id, bob)
    with pytest.raises(HelpdeskError, match="其他工作人员"):
        service.add_message(h.id, "staff", "插话", staff=bob)
    with pytest.raises(HelpdeskError):
        service.end(h.id, CLOSED, bob)


def test_closed_handoffs_cannot_be_claimed_or_ended_again(service, alice):
    h = service.enqueue("web:s3", "web", "user_request", {})
    service.claim(h.id, alice)
    service.end(h.id, CLOSED, alice, resolution="已电话联系")
    assert service.get(h.id).resolution == "已电话联系"
    with pytest.raises(HelpdeskError):
        service.claim(h.id, alice)
    with pytest.raises(HelpdeskError):
        service.end(h.id, RETURNED, None)


def test_enqueue_twice_keeps_one_open_handoff(service):
    a = service.enqueue("wechat:o1", "wechat", "user_request", {"need": "a"})
    b = service.enqueue("wechat:o1", "wechat", "fallback", {"question": "b"})
    assert a.id == b.id and b.context == {"need": "a", "question": "b"}
    assert len(service.queue()) == 1


def test_queue_is_ordered_by_waiting_time_with_positions(service):
    ids = [service.enqueue(f"web:q{i}", "web", "user_request", {}).id for i in range(3)]
    assert [h.id for h in service.queue()] == ids
    assert [service.position(i) for i in ids] == [1, 2, 3]


def test_state_survives_a_restart(tmp_path, alice, service):
    h = service.enqueue("web:r1", "web", "user_request", {"need": "人才"})
    service.claim(h.id, alice)
    service.add_message(h.id, "staff", "稍等", staff=alice)
    again = HelpdeskService.from_url(f"sqlite:///{tmp_path / 'helpdesk.db'}")
    assert again.open_handoff("web:r1").status == CLAIMED
    assert [m.text for m in again.messages(h.id)] == ["稍等"]


def test_passwords_are_hashed_and_checked(service, alice):
    from sqlalchemy import select

    from bot.helpdesk.models import Staff

    with service._session() as s:
        stored = s.scalars(select(Staff.password_hash)).first()
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert service.authenticate("alice", "correct horse battery") == alice
    assert service.authenticate("alice", "wrong") is None
    assert service.authenticate("nobody", "correct horse battery") is None
    with pytest.raises(ValueError, match="already exists"):
        service.add_staff("alice", "yet another password")
    with pytest.raises(ValueError, match="at least 10"):
        service.add_staff("carol", "short")


def test_sessions(service, alice):
    token, csrf = service.create_session(alice)
    staff, stored_csrf = service.session(token)
    assert staff == alice and stored_csrf == csrf
    assert service.session("forged") is None and service.session(None) is None
    service.end_session(token)
    assert service.session(token) is None


def test_working_hours():
    hours = WorkingHours.parse("mon-fri 09:00-18:00")
    monday_10_beijing = datetime(2026, 11, 30, 2, 0)  # UTC
    saturday = datetime(2026, 11, 28, 2, 0)
    assert hours.is_open(monday_10_beijing) and not hours.is_open(saturday)
    assert hours.next_open(saturday).strftime("%m-%d %H:%M") == "11-30 09:00"
    assert WorkingHours.parse("mon-sun 00:00-24:00").is_open(saturday)
    with pytest.raises(ValueError):
        WorkingHours.parse("weekdays")


def test_timeouts_hand_back_unanswered_conversations(service, alice):
    always = WorkingHours.parse("mon-sun 00:00-24:00")
    never = WorkingHours.parse("mon-mon 00:00-00:00")
    h = service.enqueue("web:t1", "web", "user_request", {})
    later = datetime.utcnow() + timedelta(minutes=11)
    assert [x.id for x in service.timed_out(later, timedelta(minutes=10), always)] == [h.id]
    assert service.timed_out(later, timedelta(minutes=10), never) == []  # outside hours it waits
    service.claim(h.id, alice)
    service.add_message(h.id, "staff", "在的", staff=alice)
    assert service.timed_out(datetime.utcnow() + timedelta(minutes=5), timedelta(minutes=10), always) == []
    assert len(service.timed_out(later, timedelta(minutes=10), always)) == 1


def test_a_request_just_before_midnight_times_out_when_the_helpdesk_never_closes(service):
    """mon-sun 00:00-24:00: the queue wait runs across midnight (the opening at 00:00 is no new start)."""
    from datetime import datetime as dt

    always = WorkingHours.parse("mon-sun 00:00-24:00")
    service.enqueue("web:midnight", "web", "user_request", {})
    created = dt(2026, 12, 3, 15, 55)  # 23:55 in Beijing
    later = created + timedelta(minutes=11)  # 00:06 the next day
    from bot.helpdesk.service import _last_opening

    assert _last_opening(later, always) <= created
