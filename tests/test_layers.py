"""The import graph has no upward arrow: each package of bot/ imports only from the layers below it.

Layers, lowest first: base (settings, db, masking) ← knowledge ← conversation (and Rasa's plug-ins: nlu,
rasa_stores) ← gateway, helpdesk ← insights (reads the helpdesk's tables; its page sits in the staff console) ←
entry points (app, cli, launcher, retention, training), which may import anything in bot/. actions/ imports
bot.knowledge and base only, and nothing in bot/ imports actions/. Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE = {"settings", "db", "masking"}
ENTRY_POINTS = {"__main__", "app", "cli", "launcher", "retention", "training"}
ALLOWED: dict[str, set[str]] = {
    **{name: set() for name in BASE},
    "knowledge": BASE,
    "conversation": BASE | {"knowledge"},
    "nlu": BASE | {"knowledge"},
    "rasa_stores": BASE | {"knowledge"},
    "gateway": BASE | {"knowledge", "conversation"},
    "helpdesk": BASE | {"knowledge", "conversation"},
    "insights": BASE | {"knowledge", "conversation", "helpdesk"},
    "actions": BASE | {"knowledge"},
}


def package_of(module: str) -> str | None:
    """bot.gateway.channels.web → gateway; bot.settings → settings; actions.funds → actions; others: None."""
    parts = module.split(".")
    if parts[0] == "actions":
        return "actions"
    if parts[0] == "bot" and len(parts) > 1:
        return parts[1]
    return None


def imported_modules(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = module.split(".")[: -node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)  # `from bot import gateway`
    return found


def modules() -> list[tuple[str, Path]]:
    out = []
    for top in ("bot", "actions"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
            out.append((".".join(parts), path))
    return out


def upward_imports(module: str, path: Path) -> list[str]:
    own = package_of(module)
    if own is None:  # bot/__init__.py
        return []
    wrong = []
    for target in sorted(imported_modules(path, module)):
        other = package_of(target)
        if other is None or other == own or target in ("bot", "actions"):
            continue
        if other == "actions":
            wrong.append(f"{module} imports {target}: nothing in bot/ imports actions/")
        elif own not in ENTRY_POINTS and other not in ALLOWED.get(own, set()):
            wrong.append(f"{module} ({own}) imports {target} ({other})")
    return wrong


def test_every_package_of_bot_has_a_layer() -> None:
    packages = {package_of(module) for module, _ in modules()} - {None}
    assert packages - set(ALLOWED) - ENTRY_POINTS == set(), "place a new package in a layer (tests/test_layers.py)"


def test_no_package_imports_from_a_layer_above_or_beside_it() -> None:
    assert [w for module, path in modules() for w in upward_imports(module, path)] == []


@pytest.mark.parametrize("module, source, wrong", [
    ("bot.gateway.hub", "from bot.helpdesk.relay import HandoffRelay",
     "bot.gateway.hub (gateway) imports bot.helpdesk.relay (helpdesk)"),
    ("bot.conversation.messages", "import bot.gateway.app", "bot.conversation.messages (conversation) imports"),
    ("bot.launcher", "    from actions.knowledge import warm_up", "nothing in bot/ imports actions/"),
    ("actions.funds", "from bot.gateway import hub", "actions.funds (actions) imports bot.gateway"),
])
def test_the_check_sees_an_upward_import(tmp_path: Path, module: str, source: str, wrong: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(f"def f():\n{source if source.startswith(' ') else '    ' + source}\n", encoding="utf-8")
    found = upward_imports(module, path)
    assert found and wrong in found[0]
