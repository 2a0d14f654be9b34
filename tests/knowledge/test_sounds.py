"""The readings table TypoRepair reads is pypinyin's readings, merged; it is regenerated, never edited by hand."""

import pytest

from bot.knowledge.sounds import TABLE, build_table, merged, sound_alike


def _build_tools() -> None:
    """pypinyin and jieba build the tables; they are installed in Rasa's environment, where this runs (the gateway's
    environment reads the tables only)."""
    pytest.importorskip("pypinyin", reason="build-time dependency, checked in Rasa's environment")
    pytest.importorskip("jieba", reason="build-time dependency, checked in Rasa's environment")


def test_the_committed_table_is_what_pypinyin_gives():
    _build_tools()
    assert TABLE.read_text(encoding="utf-8") == build_table(), "run: python -m bot.knowledge.sounds"


def test_confusable_initials_and_finals_are_merged():
    assert merged("zhuang") == "zuan"
    assert merged("qing") == "jin"
    assert merged("lan") == "nan"


def test_characters_that_pinyin_input_confuses_sound_alike():
    assert sound_alike("观", "关")
    assert sound_alike("劵", "券")  # juan ~ quan
    assert not sound_alike("的", "市")
    assert not sound_alike("a", "关")  # not in the table: sounds like nothing


def test_the_committed_common_characters_are_jiebas():
    _build_tools()
    from bot.knowledge.sounds import COMMON, build_common

    assert COMMON.read_text(encoding="utf-8") == build_common(), "run: python -m bot.knowledge.sounds"


def test_the_committed_slips_are_built_from_pypinyin_and_jieba():
    _build_tools()
    from bot.knowledge.sounds import SLIPS, build_slips

    assert SLIPS.read_text(encoding="utf-8") == build_slips(), "run: python -m bot.knowledge.sounds"
