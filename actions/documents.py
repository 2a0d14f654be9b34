"""Which document a question is about: a repealed one, or — when the store holds more than one — another document.

Every question-answering action asks :func:`answer_about_documents` first (``PolicyAction.run``). It answers

- a question that names a document the corpus repeals (中科园发〔2019〕11号 …): the repeal, cited, and what is in
  force now — never "not covered";
- a question that names a document other than the primary one (by 文号, title, short name, alias or fund name), or
  whose best passage stands in another document and which uses a word only that document uses: the answer from
  that document, naming it (《title》（文号）);
- a question that fits several documents: which document says what, each cited.

Otherwise it returns None and the action answers as before, from the primary document: with one document in the
store nothing changes but the repealed-document answer.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import HOTLINE, button, say, shorten, steps
from actions.base import PolicyAction, user_text
from actions.facts import HEADER_FACTS, header_answer
from bot.knowledge.records import DocumentInfo
from bot.knowledge.relevance import covered, related
from bot.knowledge.search import document_of
from bot.knowledge.store import parse_measure_number
from bot.knowledge.textindex import SearchHit
from bot.knowledge.vocabulary import MEASURE_PATTERN

#: the actions that answer a user's question (not the form's questions, not the handoff)
QUESTION_ACTIONS = frozenset({
    "action_search_policy", "action_fallback", "action_answer_out_of_scope", "action_answer_other_policy",
    "action_answer_doc_fact", "action_answer_unstated", "action_list_funds", "action_describe_fund",
    "action_describe_measure", "action_recommend_fund", "action_answer_capabilities", "action_route_eligibility",
    "action_handle_profile_facts", "action_list_materials", "action_check_eligibility", "action_acknowledge",
})
MATERIALS_ASK = re.compile(r"材料|资料|准备什么|准备啥|要交|提交什么")
WHO_ASK = re.compile(r"谁能|谁可以|哪些单位|哪类|什么样的|支持对象|申报条件|申请条件|什么条件|资格|门槛|"
                     r"能(?:不能)?(?:申请|报|申报|参与)|可(?:以|不可以)?(?:申请|报|申报)|符合(?:条件)?(?:吗|么|不)")
FUNDS_ASK = re.compile(r"哪些资金|什么资金|几项资金|资金有哪些|哪些措施|几条措施|措施有哪些|有哪些支持|支持哪些|支持什么|"
                       r"有啥支持|有什么支持|都有啥|都有什么|讲了什么|讲的什么|讲什么|说了什么|说的什么|主要内容|是什么文件|"
                       r"管什么|内容是什么|有哪些政策|什么政策")
_DOC_NUMBER = re.compile(r"\d{4}\D{0,3}\d{1,3}\s*号")
_NAMED_NUMBER = re.compile(r"[\u4e00-\u9fff]{0,3}发?\s*[〔\[［(（]?\d{4}[〕\]］)）年]?\s*第?\d{1,3}\s*号文?(?:件)?")
FIT_SHARE = 0.35


def without_names(text: str, docs: list[DocumentInfo]) -> str:
    """The question without the documents' 文号, titles and names (they would find the header, not the answer)."""
    text = _NAMED_NUMBER.sub(" ", text)
    for d in docs:
        for name in sorted({d.title, d.short_name or "", *d.aliases}, key=len, reverse=True):
            if name:
                text = text.replace(name, " ")
    return re.sub(r"[《》]", " ", text)


async def answer_about_documents(action: PolicyAction, dispatcher: CollectingDispatcher,
                                 tracker: Tracker) -> list[EventType] | None:
    """The answer when the question is about a repealed or a second document; None: the action answers."""
    if action.name() not in QUESTION_ACTIONS or answered_this_turn(tracker):
        return None
    text = user_text(tracker)
    if not text:
        return None
    store = action.store
    if repealed := await action.call(store.repeals_named, text):
        return await answer_repealed(action, dispatcher, text, repealed)
    docs = await action.call(store.documents_first_primary)
    if len(docs) < 2:
        return None
    primary = docs[0]
    named = await action.call(store.documents_named, text)
    if not named and action.name() == "action_list_funds" and not action.vocabulary.find(text, "topic"):
        return await funds_of_every_document(action, dispatcher, docs)  # "有哪些资金": each document's
    if named:
        if [d.id for d in named] == [primary.id]:
            return None  # the primary document, named: the actions' own answers
        if len(named) == 1:
            return await answer_from(action, dispatcher, tracker, named[0], text)
        return await which_says_what(action, dispatcher, text, named)
    scores: dict[str, float] = {}
    for d in docs:
        hits = await action.call(store.search, text, 1, d.id)
        scores[d.id] = hits[0].score if hits and covered(hits[0].score) else 0.0
    # BM25 scores of a small document run high (its words are rare in the index): a document fits when its best
    # passage is an answer (relevance.covered) and scores at least about a third of the best document's
    fitting = [d for d in docs if scores[d.id] and scores[d.id] >= FIT_SHARE * max(scores.values())]
    if not any([await action.call(store.distinctive_words, text, d.id) for d in fitting if d.id != primary.id]):
        return None  # only words every document uses ("有哪些支持资金", "什么时候施行"): the primary document's
    if not fitting or [d.id for d in fitting] == [primary.id]:
        return None
    if len(fitting) == 1:
        return await answer_from(action, dispatcher, tracker, fitting[0], text, implicit=True)
    return await which_says_what(action, dispatcher, text, fitting)


def answered_this_turn(tracker: Tracker) -> bool:
    """Whether a question-answering action already ran since the latest user message (then this one is a follow-up
    the policies predicted; the documents were already considered)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") in QUESTION_ACTIONS:
            return True
    return False


# --- repealed documents --------------------------------------------------------------------------------


async def answer_repealed(action: PolicyAction, dispatcher: CollectingDispatcher, text: str,
                          repealed: list[tuple[DocumentInfo, dict[str, str]]]) -> list[EventType]:
    """"中科园发〔2019〕11号还有效吗": repealed, by which document and clause, and what is in force now."""
    lines, cites = [], []
    for doc_id in dict.fromkeys(d.id for d, _ in repealed):
        doc = next(d for d, _ in repealed if d.id == doc_id)
        olds = [r for d, r in repealed if d.id == doc_id]
        section = await action.call(action.store.section_containing, "废止", doc.id) or doc.id
        citation = await action.call(action.store.section_citation, section) if section != doc.id \
            else doc.header_citation
        sentence = repeal_sentence(await action.call(action.store.section_text, section), olds) \
            if section != doc.id else ""
        names = "、".join(f"{r['number']}（《{r['title']}》）" for r in olds)
        when = doc.effective or "自印发之日起施行"
        day = (f"（{doc.effective_date.year}年{doc.effective_date.month}月{doc.effective_date.day}日）"
               if doc.effective_date else "")
        lines.append(f"{names}已经废止。")
        lines.append(f"{doc.ref}规定，本措施{when}{day}，" + (f"「{sentence}」。" if sentence else "原文件同时废止。"))
        lines.append(f"现在适用的是{doc.named}；文件没有写明旧措施与新措施如何对应，也没有写明按旧文件立项的在研项目如何衔接（以主管部门通知为准）。按新文件能申请什么，可以直接问我。")
        cites.append((citation, sentence or names, section))
    say(dispatcher, "\n".join(lines), citations=cites, buttons=steps("funds", "eligibility"))
    return []


def repeal_sentence(section_text: str, repealed: list[dict[str, str]]) -> str:
    """The sentence of the section that repeals these documents."""
    for sentence in re.split(r"(?<=。)", section_text):
        if "废止" in sentence and any(r["number"] in sentence for r in repealed):
            return sentence.strip().rstrip("。")
    return ""


# --- a second document ------------------------------------------------------------------------------------


async def answer_from(action: PolicyAction, dispatcher: CollectingDispatcher, tracker: Tracker, doc: DocumentInfo,
                      text: str, implicit: bool = False) -> list[EventType]:
    """The question answered from one document (not the primary one), naming it."""
    store = action.store
    facts = [m.value for m in action.vocabulary.find(text, "fact") if m.value in HEADER_FACTS]
    if facts and not implicit:
        return await header_facts(action, dispatcher, doc, facts)
    if MATERIALS_ASK.search(text):
        return await materials(action, dispatcher, doc)
    without_number = _DOC_NUMBER.sub(" ", text)
    if (ref := re.search(MEASURE_PATTERN, without_number)) and (number := parse_measure_number(ref.group(0))):
        measure = await action.call(store.measure, number, doc.id)
        if measure is not None:
            say(dispatcher, f"{doc.named}第{measure.number}条 {measure.title}（属{measure.fund_name}资金）：\n"
                            f"{measure.text}", citations=[(measure.citation, measure.text, measure.section_id)],
                buttons=steps("materials", "human"))
            return [SlotSet("fund", measure.fund_code)]
    if WHO_ASK.search(text):
        return await who_may_apply(action, dispatcher, tracker, doc)
    primary = await action.call(store.document)
    if topic := primary.unstated_topic(text):
        what = "、".join(doc.silent_on) or topic["topic"]
        say(dispatcher, f"{doc.named}没有写明{topic['topic']}（这份文件没有写{what}）。请以对应的资金管理办法和申报指南为准；"
                        f"也可以转人工或拨打{HOTLINE}咨询。", buttons=steps("materials", "human"))
        return [SlotSet("unanswered_question", text)]
    hits = await action.call(store.search, without_names(text, [doc]), 1, doc.id)
    if FUNDS_ASK.search(text) or not hits or (not implicit and not covered(hits[0].score)):
        return await funds(action, dispatcher, doc)
    return await passage(action, dispatcher, doc, hits[0])


async def passage(action: PolicyAction, dispatcher: CollectingDispatcher, doc: DocumentInfo,
                  hit: SearchHit) -> list[EventType]:
    measure = await action.call(action.store.measure, hit.title, doc.id) if hit.section_id.count("/") == 3 else None
    if measure is not None and measure.section_id == hit.section_id:
        head = f"{doc.named}第{measure.number}条“{measure.title}”（属{measure.fund_name}资金）有相关规定："
        events: list[EventType] = [SlotSet("fund", measure.fund_code)]
    else:
        head, events = f"{doc.named}中相关的规定（{hit.citation}）：", []
    say(dispatcher, f"{head}\n「{shorten(hit.text, 220)}」", citations=[(hit.citation, hit.text, hit.section_id)],
        buttons=steps("materials", "human"))
    return events


async def funds(action: PolicyAction, dispatcher: CollectingDispatcher, doc: DocumentInfo) -> list[EventType]:
    found = await action.call(action.store.funds, doc.id)
    if not found:
        hits = await action.call(action.store.search, doc.title, 1, doc.id)
        say(dispatcher, f"{doc.named}没有设立支持资金。" + (f"文件的主要内容：「{shorten(hits[0].text, 160)}」" if hits else ""),
            citations=[(h.citation, h.text, h.section_id) for h in hits[:1]], buttons=steps("human"))
        return []
    total = sum(len(f.measures) for f in found)
    lines = [f"{doc.named}设立{len(found)}项支持资金，共{total}条措施："]
    for f in found:
        lines.append(f"【{f.short_name}】（《{f.name}》）：" + "；".join(f"第{m.number}条 {m.title}" for m in f.measures))
    lines.append("文件未写明支持金额和申报时间，以对应资金管理办法和申报指南为准。")
    say(dispatcher, "\n".join(lines), citations=[(f.citation, f.intro, f.section_id) for f in found],
        buttons=steps("materials", "human"))
    return [SlotSet("fund", found[0].code)] if len(found) == 1 else []


async def funds_of_every_document(action: PolicyAction, dispatcher: CollectingDispatcher,
                                  docs: list[DocumentInfo]) -> list[EventType]:
    lines, cites, buttons = [], [], []
    for doc in docs:
        found = await action.call(action.store.funds, doc.id)
        if not found:
            continue
        lines.append(f"{doc.named}设立{len(found)}项支持资金：")
        for f in found:
            numbers = [m.number for m in f.measures]
            span = f"第{numbers[0]}–{numbers[-1]}条" if len(numbers) > 1 else f"第{numbers[0]}条" if numbers else ""
            lines.append(f"· {f.short_name}" + (f"（{span}）" if span else ""))
        cites += [(f.citation, f"制定实施《{f.name}》", f.section_id) for f in found]
        buttons += [button(f.short_name, "ask_fund", fund=f.code) for f in found]
    lines.append("想了解哪一项？")
    say(dispatcher, "\n".join(lines), citations=cites, buttons=buttons)
    return []


async def who_may_apply(action: PolicyAction, dispatcher: CollectingDispatcher, tracker: Tracker,
                        doc: DocumentInfo) -> list[EventType]:
    """The document's rule of who may apply, and for the facts the user gave, where they stand."""
    from actions.eligibility import ICONS, STATUS_WORDS, message_profile, profile_of

    profile = profile_of(tracker)
    said = message_profile(action.vocabulary, tracker, user_text(tracker))
    profile.update({k: v for k, v in said.items() if v})
    rule = await action.call(action.store.check_eligibility, {}, doc.id)
    if not rule.conditions:
        say(dispatcher, f"{doc.named}没有可供判断的申报条件，请以对应的资金管理办法和申报指南为准。",
            buttons=steps("human"))
        return []
    quotes = [q for q in dict.fromkeys(c.quote for c in rule.conditions)
              if not any(q != other and q in other for other in (c.quote for c in rule.conditions))]
    lines = [f"{doc.named}规定的支持对象：「{'……'.join(quotes)}」。"]
    if any(profile.values()):
        verdict = await action.call(action.store.check_eligibility, profile, doc.id)
        lines.append("就您说的情况：")
        lines += [f"{ICONS[c.status]} {c.label}：{STATUS_WORDS[c.status]}" for c in verdict.conditions]
    else:
        lines += [f"· {c.label}" for c in rule.conditions]
    say(dispatcher, "\n".join(lines), citations=[(rule.citation, "……".join(quotes), rule.section_id)],
        buttons=steps("materials", "human"))
    return []


async def materials(action: PolicyAction, dispatcher: CollectingDispatcher, doc: DocumentInfo) -> list[EventType]:
    from actions.materials import checklist

    items = await action.call(action.store.materials, None, None, None, doc.id)
    lines = [f"{doc.named}没有列出申报材料清单，完整材料以申报指南为准。建议准备：", *checklist(items, cite=False)]
    dispatcher.utter_message(text="\n".join(line for line in lines if line), buttons=steps("human"))
    return []


async def header_facts(action: PolicyAction, dispatcher: CollectingDispatcher, doc: DocumentInfo,
                       facts: list[str]) -> list[EventType]:
    lines, cites = [], []
    for fact in dict.fromkeys(facts):
        answer, quote = header_answer(doc, fact)
        lines.append(answer if doc.title in answer else f"{doc.named}：{answer}")
        section = None
        if fact in ("effective_date", "repealed"):
            section = await action.call(action.store.section_containing, "起施行" if fact == "effective_date"
                                        else "废止", doc.id)
        citation = await action.call(action.store.section_citation, section) if section else doc.header_citation
        cites.append((citation, quote, section or doc.id))
    say(dispatcher, "\n".join(lines), citations=cites, buttons=steps("human"))
    return []


async def which_says_what(action: PolicyAction, dispatcher: CollectingDispatcher, text: str,
                          docs: list[DocumentInfo]) -> list[EventType]:
    """A question that fits several documents: each document's passage, named and cited."""
    lines, cites = [f"这个问题涉及{len(docs)}份文件，分别来看："], []
    question = without_names(text, docs)
    for doc in docs:
        hits = [h for h in await action.call(action.store.search, question, 1, doc.id) if related(h.score)]
        if not hits:
            lines.append(f"· {doc.named}：没有找到与此直接相关的条款")
            continue
        hit = hits[0]
        measure = await action.call(action.store.measure, hit.title, doc.id) \
            if document_of(hit.section_id) == doc.id and hit.section_id.count("/") == 3 else None
        where = (f"第{measure.number}条“{measure.title}”（属{measure.fund_name}资金）" if measure is not None
                 and measure.section_id == hit.section_id else hit.citation.removeprefix(doc.ref).strip())
        lines.append(f"· {doc.named}{where}：「{shorten(hit.text, 100)}」")
        cites.append((hit.citation, hit.text, hit.section_id))
    say(dispatcher, "\n".join(lines), citations=cites, buttons=steps("materials", "human"))
    return []
