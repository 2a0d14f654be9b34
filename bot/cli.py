"""`python -m bot`: build the policy store and index, and query them from the terminal."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from bot.settings import Settings


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import make_engine
    from bot.knowledge.corpus import CorpusError, load_corpus
    from bot.knowledge.ingest import ingest

    corpus_dir = Path(args.corpus or settings.corpus_dir)
    started = time.perf_counter()
    _err(f"reading {corpus_dir} …")
    try:
        corpus = load_corpus(corpus_dir)
    except CorpusError as exc:
        _err("ingest failed; the store was not changed:")
        for problem in exc.problems:
            _err(f"  - {problem}")
        return 1
    for warning in corpus.warnings:
        _err(f"warning: {warning}")
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        report = ingest(engine, corpus, progress=lambda line: _err(f"  {line}"))
    finally:
        engine.dispose()
    _err(f"ingested {report.documents} document(s): {report.sections} sections, {report.measures} measures, "
         f"{report.funds} funds, {report.passages} passages in {time.perf_counter() - started:.1f}s "
         f"→ {_safe_url(settings.database_url)}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.knowledge.corpus import CorpusError, load_corpus

    try:
        corpus = load_corpus(Path(args.corpus or settings.corpus_dir))
    except CorpusError as exc:
        for problem in exc.problems:
            _err(f"  - {problem}")
        return 1
    for warning in corpus.warnings:
        _err(f"warning: {warning}")
    for cdoc in corpus.documents:
        print(f"{cdoc.doc.doc_id}: ok ({len(cdoc.doc.measures)} measures, {len(cdoc.doc.funds)} funds)")
    return 0


def cmd_sections(args: argparse.Namespace, settings: Settings) -> int:
    from bot.knowledge.corpus import CorpusError, load_corpus

    try:
        corpus = load_corpus(Path(args.corpus or settings.corpus_dir))
    except CorpusError as exc:
        for problem in exc.problems:
            _err(f"  - {problem}")
        return 1
    for cdoc in corpus.documents:
        if args.doc and cdoc.doc.doc_id != args.doc:
            continue
        for s in cdoc.doc.sections:
            print(f"{'  ' * s.level}{s.id}  {s.title}")
    return 0


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.knowledge.store import PolicyStore

    return PolicyStore.from_url(settings.database_url)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    hits = _store(settings).search(args.question, top=args.top)
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("没有找到相关条款。")
    for i, h in enumerate(hits, 1):
        print(f"{i}. [{h.score:.2f}] {h.citation}\n   {h.text[:120]}{'…' if len(h.text) > 120 else ''}")
    return 0


def cmd_eligibility(args: argparse.Namespace, settings: Settings) -> int:
    profile = {"subject_type": args.subject_type, "registration": args.registration, "hightech": args.hightech}
    verdict = _store(settings).check_eligibility(profile)
    print(json.dumps({"outcome": verdict.outcome, "missing": verdict.missing, "citation": verdict.citation,
                      "conditions": [c.__dict__ for c in verdict.conditions]}, ensure_ascii=False, indent=2))
    return 0


def cmd_materials(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    fund = store.fund(args.fund) if args.fund else None
    if args.fund and fund is None:
        _err(f"no fund matches {args.fund!r}; known: {', '.join(f.short_name for f in store.funds())}")
        return 2
    items = store.materials(fund_code=fund.code if fund else None, measure_number=args.measure,
                            subject_type=args.subject_type)
    for item in items:
        source = f"与文件条款相关：{item.citation}" if item.source == "clause" else "典型材料，请以官方申报指南为准"
        print(f"- {item.name}  [{source}]")
    return 0


def cmd_export_nlu(args: argparse.Namespace, settings: Settings) -> int:
    """Write data/nlu/entities.yml (synonyms) and the jieba user dictionary (for the bench's JiebaTokenizer pipelines)."""
    from bot.knowledge.corpus import CorpusError, load_corpus
    from bot.knowledge.ingest import tokenizer_terms
    from bot.knowledge.vocabulary import Vocabulary, export_nlu
    from bot.settings import PROJECT_DIR

    corpus_dir = Path(args.corpus or settings.corpus_dir)
    vocab = Vocabulary.from_corpus(corpus_dir)
    learned = vocab.learn(PROJECT_DIR / "data" / "nlu")
    if conflicts := vocab.conflicts():
        _err("a word maps to two codes; the NLU synonym table cannot hold both:")
        for c in conflicts:
            _err(f"  - {c}")
        return 1
    target = PROJECT_DIR / "data" / "nlu" / "entities.yml"
    text = export_nlu(vocab)
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            _err(f"{target} is out of date: run `python -m bot export-nlu`")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    try:
        terms = tokenizer_terms(load_corpus(corpus_dir))
    except CorpusError as exc:
        for problem in exc.problems:
            _err(f"  - {problem}")
        return 1
    terms = sorted({*terms, *(w for table in vocab.entities.values() for ws in table.values() for w in ws)})
    userdict = PROJECT_DIR / "var" / "jieba" / "userdict.txt"
    userdict.parent.mkdir(parents=True, exist_ok=True)
    userdict.write_text("".join(f"{t} 2000\n" for t in terms if len(t) > 1 and " " not in t), encoding="utf-8")
    _err(f"wrote {target.relative_to(PROJECT_DIR)} ({learned} entity words learned from the training examples) "
         f"and {userdict.relative_to(PROJECT_DIR)} ({len(terms)} terms)")
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Export the NLU vocabulary, then `rasa train` (Rasa skips training when nothing changed)."""
    from bot.training import train

    code = cmd_export_nlu(argparse.Namespace(corpus=None, check=False), settings)
    return code or train(config=args.config, name=args.name, out=args.out, force=args.force)


def cmd_serve_actions(args: argparse.Namespace, settings: Settings) -> int:
    """`python -m actions.server` in this process's place (bot/ does not import the actions)."""
    from bot.launcher import actions_command

    command = actions_command(args.port)
    os.execv(command[0], command)


def cmd_serve_rasa(args: argparse.Namespace, settings: Settings) -> int:
    from bot.launcher import serve_rasa

    serve_rasa(args.rasa_args)
    return 0


def cmd_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from bot.app import run

    run(replace(settings, gateway_port=args.port or settings.gateway_port))
    return 0


def cmd_wechat_sim(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.gateway.channels.wxcrypto import WxCrypto
    from bot.gateway.wechat_sim import WeChatUser, chat

    if not settings.wechat_token or not settings.wechat_app_id:
        _err("set WECHAT_TOKEN and WECHAT_APP_ID (the same values as the gateway's); see docs/wechat.md")
        return 2
    if args.aes and not settings.wechat_aes_key:
        _err("--aes needs WECHAT_AES_KEY (the gateway's EncodingAESKey)")
        return 2
    try:
        crypto = WxCrypto(settings.wechat_aes_key, settings.wechat_app_id) if args.aes else None
    except ValueError as exc:
        _err(f"WECHAT_AES_KEY: {exc}")
        return 2
    url = args.url or f"http://{settings.gateway_host}:{settings.gateway_port}/wechat"
    user = WeChatUser(url, settings.wechat_token, settings.wechat_app_id, crypto)
    if args.openid:
        user.openid = args.openid
    return asyncio.run(chat(user, args.say, api_port=args.api_port))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.launcher import ServerConfig, embedded_rasa_servers, run_foreground, scaled_config

    if args.profile == "scaled":
        return run_foreground(scaled_config(**({"rasa_instances": args.rasa_servers} if args.rasa_servers else {})))
    return run_foreground(ServerConfig(rasa_instances=args.rasa_servers or embedded_rasa_servers()))


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    from bot.launcher import shell

    return shell()


def cmd_staff_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Lock a staff account out and end its sessions (its open consoles are closed within the sweep, 30 s)."""
    from bot.helpdesk.service import HelpdeskService

    service = HelpdeskService.from_url(settings.helpdesk_database_url or settings.database_url)
    try:
        ended = service.disable_staff(args.name)
    except ValueError as exc:
        _err(str(exc))
        return 2
    finally:
        service.engine.dispose()
    _err(f"staff account {args.name!r} disabled; {ended} session(s) revoked")
    return 0


def cmd_staff(args: argparse.Namespace, settings: Settings) -> int:
    """Create a helpdesk staff account (the password is read without echo, or from stdin)."""
    import getpass

    from bot.helpdesk.service import HelpdeskService

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            _err("the passwords differ")
            return 2
    service = HelpdeskService.from_url(settings.helpdesk_database_url or settings.database_url)
    try:
        staff = service.add_staff(args.name, password, args.display_name, roles=args.role or [])
    except ValueError as exc:
        _err(str(exc))
        return 2
    finally:
        service.engine.dispose()
    _err(f"staff account {staff.username!r} ({staff.display_name}) created"
         + (f", roles: {', '.join(sorted(staff.roles))}" if staff.roles else ""))
    return 0


def cmd_staff_roles(args: argparse.Namespace, settings: Settings) -> int:
    """Set a staff account's roles (analyst, lead: the insights view); none makes it an agent."""
    from bot.helpdesk.service import HelpdeskService

    service = HelpdeskService.from_url(settings.helpdesk_database_url or settings.database_url)
    try:
        staff = service.set_roles(args.name, args.roles)
    except ValueError as exc:
        _err(str(exc))
        return 2
    finally:
        service.engine.dispose()
    _err(f"staff account {staff.username!r}: roles {', '.join(sorted(staff.roles)) or '(none: agent)'}")
    return 0


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Delete tracker events, closed/returned handoffs, expired staff sessions and labels older than the retention."""
    from bot.retention import prune

    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        _err("--days (RETENTION_DAYS) must be at least 1")
        return 2
    helpdesk_url = settings.helpdesk_database_url or settings.database_url
    report = prune(settings.tracker_store_url, helpdesk_url, days, dry_run=args.dry_run)
    verb = "would be deleted (dry run)" if report.dry_run else "deleted"
    print(f"retention {days} days: everything before {report.cutoff:%Y-%m-%d %H:%M} UTC")
    t = report.tracker
    print(f"tracker store {_safe_url(settings.tracker_store_url)}: " + (
        "no events table" if t is None else f"{t.events} events ({t.conversations} whole conversations) {verb}"))
    h = report.helpdesk
    print(f"helpdesk {_safe_url(helpdesk_url)}: " + ("no helpdesk tables" if h is None else
          f"{h.handoffs} handoffs with {h.messages} messages, {h.staff_sessions} expired staff sessions, "
          f"{h.labels} labels {verb}"))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Insights over a period: figures per channel and in total, unanswered questions clustered."""
    from bot.insights.report import build_report, parse_since
    from bot.db import existing_engine

    try:
        since = parse_since(args.since)
    except ValueError as exc:
        _err(str(exc))
        return 2
    tracker = existing_engine(settings.tracker_store_url)
    if tracker is None:
        _err(f"no tracker store at {_safe_url(settings.tracker_store_url)} (TRACKER_STORE_URL): nothing to report")
        return 1
    helpdesk = existing_engine(settings.helpdesk_database_url or settings.database_url)
    try:
        report = build_report(tracker, helpdesk, since=since)
    finally:
        tracker.dispose()
        if helpdesk is not None:
            helpdesk.dispose()
    if args.html:
        from bot.insights.html import render_html

        Path(args.html).write_text(render_html(report), encoding="utf-8")
        _err(f"wrote {args.html}")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif not args.html:
        from bot.insights.text import render_text

        print(render_text(report))
    return 0


def _helpdesk_engine(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.db import make_engine

    from bot.helpdesk.migrations import upgrade

    url = settings.helpdesk_database_url or settings.database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    upgrade(engine)  # the helpdesk schema at its newest (labels, roles)
    return engine


def cmd_label(args: argparse.Namespace, settings: Settings) -> int:
    """Label questions (given, or a cluster of the report) with an intent, a section, or out of scope."""
    from bot.insights.labels import add_labels, domain_intents
    from bot.settings import PROJECT_DIR

    texts = list(args.text or [])
    if args.cluster is not None:
        from bot.insights.report import build_report, parse_since
        from bot.db import existing_engine

        tracker = existing_engine(settings.tracker_store_url)
        if tracker is None:
            _err("no tracker store (TRACKER_STORE_URL)")
            return 1
        try:
            report = build_report(tracker, None, since=parse_since(args.since), members=True, max_clusters=10**6)
        finally:
            tracker.dispose()
        if not 1 <= args.cluster <= len(report["unanswered"]):
            _err(f"no cluster {args.cluster}: the report has {len(report['unanswered'])} (numbered from 1)")
            return 2
        texts += report["unanswered"][args.cluster - 1]["members"]
    if not texts:
        _err("give questions, or --cluster N")
        return 2
    section = args.section
    sections: set[str] | None = None
    try:
        from bot.knowledge.corpus import load_corpus

        docs = [c.doc for c in load_corpus(Path(settings.corpus_dir)).documents]
        sections = {s.id for d in docs for s in d.sections}
        if args.measure is not None:
            found = [s.id for d in docs for s in d.measures if s.number == args.measure]
            if not found:
                _err(f"no measure {args.measure}")
                return 2
            section = found[0]
    except Exception as exc:  # noqa: BLE001 - labels still work without the corpus at hand
        if args.measure is not None:
            _err(f"the corpus cannot be read to find measure {args.measure}: {exc}")
            return 1
    engine = _helpdesk_engine(settings)
    try:
        staff_id = None
        if args.by:
            from bot.helpdesk.models import Staff
            from sqlalchemy import select

            with engine.connect() as conn:
                staff_id = conn.execute(select(Staff.id).where(Staff.username == args.by)).scalar()
            if staff_id is None:
                _err(f"no staff account {args.by!r}")
                return 2
        labels = add_labels(engine, texts, intent=args.intent, section_id=section, out_of_scope=args.out_of_scope,
                            staff_id=staff_id, intents=domain_intents(PROJECT_DIR / "domain.yml"),
                            sections=sections)
    except ValueError as exc:
        _err(str(exc))
        return 2
    finally:
        engine.dispose()
    _err(f"{len(labels)} question(s) labelled; `python -m bot export-labels` writes them for review")
    return 0


def cmd_labels(args: argparse.Namespace, settings: Settings) -> int:
    from bot.insights.labels import list_labels

    engine = _helpdesk_engine(settings)
    try:
        labels = list_labels(engine)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([lab.as_dict() for lab in labels], ensure_ascii=False, indent=2))
        return 0
    for lab in labels:
        what = "out of scope" if lab.out_of_scope else " ".join(x for x in (lab.intent, lab.section_id) if x)
        print(f"{lab.text}\t{what}")
    return 0


def cmd_export_labels(args: argparse.Namespace, settings: Settings) -> int:
    """Write the labels as Rasa NLU YAML and labelled search questions, for review in a normal commit."""
    from bot.insights.labels import export_labels
    from bot.settings import PROJECT_DIR

    nlu = Path(args.nlu or PROJECT_DIR / "data" / "nlu" / "reviewed.yml")
    search = Path(args.search or PROJECT_DIR / "tests" / "data" / "search_reviewed.yml")
    engine = _helpdesk_engine(settings)
    try:
        result = export_labels(engine, nlu, search)
    finally:
        engine.dispose()
    _err(f"wrote {nlu} ({result.nlu_examples} NLU examples) and {search} ({result.search_questions} search "
         f"questions); review, commit, then `make train`")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="政策助手: policy store and index")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="rebuild the store and index from policy_corpus/")
    p.add_argument("--corpus", help="corpus folder (default: policy_corpus/ or POLICY_CORPUS_DIR)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("check", help="parse the corpus and check curated citations; writes nothing")
    p.add_argument("--corpus")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("sections", help="list the section ids a knowledge.yml can cite")
    p.add_argument("doc", nargs="?")
    p.add_argument("--corpus")
    p.set_defaults(func=cmd_sections)

    p = sub.add_parser("search", help="search the document index")
    p.add_argument("question")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eligibility", help="verdict per condition for a profile")
    p.add_argument("--subject-type", choices=["enterprise", "university", "research_institute", "service_org",
                                              "social_org", "other"])
    p.add_argument("--registration", choices=["zgc", "beijing_other", "outside"])
    p.add_argument("--hightech", choices=["national", "zgc", "none"])
    p.set_defaults(func=cmd_eligibility)

    p = sub.add_parser("materials", help="materials to prepare for a fund or measure")
    p.add_argument("--fund")
    p.add_argument("--measure", type=int)
    p.add_argument("--subject-type")
    p.set_defaults(func=cmd_materials)

    p = sub.add_parser("export-nlu", help="write data/nlu/entities.yml and the jieba user dictionary")
    p.add_argument("--corpus")
    p.add_argument("--check", action="store_true", help="fail if data/nlu/entities.yml is out of date")
    p.set_defaults(func=cmd_export_nlu)

    p = sub.add_parser("train", help="export the NLU vocabulary and train the Rasa model if data changed")
    p.add_argument("--config", default="config.yml")
    p.add_argument("--name", default="policy-bot")
    p.add_argument("--out", default="models")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("serve-actions", help="the Rasa action server on 127.0.0.1 (store loaded first)")
    p.add_argument("--port", type=int, default=5055)
    p.set_defaults(func=cmd_serve_actions)

    p = sub.add_parser("serve-rasa", help="`rasa run ARGS` with the API token from RASA_TOKEN (not the command line)")
    p.add_argument("rasa_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_serve_rasa)

    p = sub.add_parser("shell", help="talk to the bot in the terminal (starts the action server)")
    p.set_defaults(func=cmd_shell)

    p = sub.add_parser("gateway", help="the conversation gateway (widget, channels) on 127.0.0.1:8080")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_gateway)

    p = sub.add_parser("wechat-sim", help="chat with the gateway's /wechat as a WeChat user (signed, real XML)")
    p.add_argument("--url", help="callback URL (default: http://GATEWAY_HOST:GATEWAY_PORT/wechat)")
    p.add_argument("--aes", action="store_true", help="safe mode: encrypt with WECHAT_AES_KEY")
    p.add_argument("--openid", help="the simulated user's OpenID (default: a random sim-…)")
    p.add_argument("--say", action="append", help="send this line and exit (repeatable); default: interactive")
    p.add_argument("--api-port", type=int, help="also stand in for the customer-service API on this port")
    p.set_defaults(func=cmd_wechat_sim)

    p = sub.add_parser("staff", help="helpdesk staff accounts")
    staff_sub = p.add_subparsers(dest="staff_command", required=True)
    q = staff_sub.add_parser("add", help="create a staff account")
    q.add_argument("name")
    q.add_argument("--display-name", help="shown to users, e.g. 王老师 (default: the name)")
    q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    q.add_argument("--role", action="append", choices=["analyst", "lead"],
                   help="analyst or lead: may open /helpdesk/insights (repeatable)")
    q.set_defaults(func=cmd_staff)
    q = staff_sub.add_parser("roles", help="set a staff account's roles (none: an agent)")
    q.add_argument("name")
    q.add_argument("roles", nargs="*", help="analyst, lead, or nothing (an agent)")
    q.set_defaults(func=cmd_staff_roles)
    q = staff_sub.add_parser("disable", help="lock a staff account out and revoke its sessions")
    q.add_argument("name")
    q.set_defaults(func=cmd_staff_disable)

    p = sub.add_parser("prune", help="delete conversations and closed handoffs older than RETENTION_DAYS")
    p.add_argument("--days", type=int, help="keep this many days (default: RETENTION_DAYS, 180)")
    p.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("report", help="insights: conversations, handoffs, fallbacks, unanswered questions clustered")
    p.add_argument("--since", default="7d", help="period before now: 7d (default), 24h, 30m, 2w")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--html", metavar="FILE", help="write a self-contained page with charts")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("label", help="label unanswered questions: an intent, a section/measure, or out of scope")
    p.add_argument("text", nargs="*", help="the questions (as shown in the report)")
    p.add_argument("--cluster", type=int, help="every question of this cluster of the report (numbered from 1)")
    p.add_argument("--since", default="7d", help="the report's period for --cluster (default 7d)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--out-of-scope", action="store_true", help="truly out of scope")
    what.add_argument("--intent", help="the intent it should have been (domain.yml)")
    what.add_argument("--section", help="the section that answers it (python -m bot sections)")
    what.add_argument("--measure", type=int, help="the measure (by number) that answers it")
    p.add_argument("--by", help="the staff account labelling")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("labels", help="list the labels (the newest per question)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_labels)

    p = sub.add_parser("export-labels", help="write labels to data/nlu/reviewed.yml and labelled search questions")
    p.add_argument("--nlu", help="NLU YAML file (default data/nlu/reviewed.yml)")
    p.add_argument("--search", help="search questions file (default tests/data/search_reviewed.yml)")
    p.set_defaults(func=cmd_export_labels)

    p = sub.add_parser("run", help="start the action server, Rasa and the gateway; Ctrl-C stops them")
    p.add_argument("--profile", choices=["embedded", "scaled"], default="embedded",
                   help="scaled: PostgreSQL + Redis, 2 action servers, 2 Rasa servers, 2 gateways")
    p.add_argument("--rasa-servers", type=int, metavar="N",
                   help="this many Rasa servers on one tracker store, ports from 5005, nothing else doubled (embedded "
                        "default: 2, up to the cores; RASA_SERVERS)")
    p.set_defaults(func=cmd_run)
    return parser


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    # Every file the bot's processes create (SQLite stores, logs, secrets under var/) is readable by this user
    # only; the servers started from here (Rasa, the action server, the gateway) inherit it.
    os.umask(0o077)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve-rasa"]:  # everything after it is Rasa's, options included
        return cmd_serve_rasa(argparse.Namespace(rasa_args=argv[1:]), Settings.from_env())
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    from bot.knowledge.store import StoreNotReady

    try:
        return int(args.func(args, Settings.from_env()))
    except StoreNotReady as exc:
        _err(str(exc))
        return 1
