"""The launcher's server layouts: which ports each server gets and which servers each one is told about."""

from __future__ import annotations

from bot.launcher import ServerConfig


def test_several_rasa_servers_share_the_one_action_server_and_gateway() -> None:
    config = ServerConfig(rasa_port=31005, action_port=31055, gateway_port=31080, rasa_instances=2)
    assert config.rasa_urls() == ["http://127.0.0.1:31005", "http://127.0.0.1:31006"]
    for rasa in range(2):  # both Rasa servers call the one action server and write the one tracker store
        env = config.env(rasa)
        assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:31055/webhook"
        assert env["TRACKER_STORE_URL"] == config.env(0)["TRACKER_STORE_URL"]
    assert config.env(0)["RASA_URLS"] == "http://127.0.0.1:31005,http://127.0.0.1:31006"  # the gateway knows both


def test_the_scaled_layout_pairs_each_rasa_server_with_its_action_server() -> None:
    config = ServerConfig(rasa_port=31005, action_port=31055, instances=2)
    assert config.rasa_urls() == ["http://127.0.0.1:31005", "http://127.0.0.1:31006"]
    assert [config.env(i)["ACTION_ENDPOINT_URL"] for i in range(2)] == [
        "http://127.0.0.1:31055/webhook", "http://127.0.0.1:31056/webhook"]


def test_make_run_starts_two_rasa_servers_unless_told_otherwise(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.launcher import embedded_rasa_servers

    monkeypatch.delenv("RASA_SERVERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert embedded_rasa_servers() == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # not more Rasa servers than cores
    assert embedded_rasa_servers() == 1
    monkeypatch.setenv("RASA_SERVERS", "1")
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert embedded_rasa_servers() == 1
