"""`python -m actions.server --port 5055`: the rasa_sdk action server on 127.0.0.1, with the store and index loaded
before it listens, and its connections let go when it stops. bot/launcher.py starts it as a process (nothing in
bot/ imports the actions)."""

from __future__ import annotations

import argparse
import os
import time


def serve(port: int) -> None:
    os.environ.setdefault("SANIC_HOST", "127.0.0.1")
    from rasa_sdk import endpoint
    from sqlalchemy.exc import DBAPIError

    from actions.knowledge import get_store, warm_up
    from bot.knowledge.store import StoreNotReady

    deadline = time.monotonic() + 30
    while True:  # a database restarting as the action server starts (the fault suite does that) is waited out
        try:
            warm_up()
            break
        except (DBAPIError, StoreNotReady):  # StoreNotReady: also what a failed read looks like
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        endpoint.run("actions", port=port, cors_origins=None)
    finally:  # the server has stopped: let the store's connections go
        get_store().engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__)
    parser.add_argument("--port", type=int, default=5055)
    serve(parser.parse_args(argv).port)


if __name__ == "__main__":
    main()
