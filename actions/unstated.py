"""What the document does not state (amounts, deadlines, end date, parks, materials list): say so plainly, then
quote the clause nearest to the question, and point to the management method, the 申报指南, 12345 or a person."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import HOTLINE, say, shorten, steps
from actions.base import PolicyAction, previous_reply, user_text
from bot.knowledge.relevance import covered


#: "what do we do now", after the check
NEXT_STEP = re.compile(r"下一步|接下来|先干嘛|先做什么|先干什么|先得|怎么办|咋办|咋整|该怎么做|该干嘛|还能做什么|还能干嘛|有啥办法|有什么办法")
#: what a failed condition asks of the user first
REMEDIES = {
    "hightech": "先取得国家高新技术企业或中关村高新技术企业资质（认定办法不在本文件中），有了资质再按申报指南申报",
    "registration": "文件的支持对象须注册在北京（中关村示范区内直接适用，北京市其他地区参照执行），注册在北京以外的不在其列",
    "subject_type": "三（一）的支持对象是企业、高等学校、科研机构、服务机构及社会组织；个人或个体工商户须以这些主体之一申报",
}


def remedy(tracker: Tracker) -> str:
    """After a "not eligible" verdict, what the failed condition asks of the user first ("" otherwise)."""
    verdict = tracker.get_slot("eligibility_verdict")
    if not isinstance(verdict, dict) or verdict.get("outcome") != "not_eligible":
        return ""
    failing = [c for c in verdict.get("conditions") or [] if isinstance(c, dict) and c.get("status") == "not_met"]
    if not failing or failing[0].get("code") not in REMEDIES:
        return ""
    return f"按前面的判断，贵单位目前不满足“{failing[0].get('label')}”，下一步是{REMEDIES[failing[0]['code']]}（依据三（一））。\n"


def previous_measure(tracker: Tracker) -> int | None:
    """The one measure the bot's previous reply was about ("第12条 …" before "那一个项目最多能补多少钱")."""
    named = set(re.findall(r"第(\d{1,2})条", re.sub(r"另外[^\n]*|依据：[^\n]*", "", previous_reply(tracker))))
    return int(named.pop()) if len(named) == 1 else None


async def answer_unstated(action: PolicyAction, dispatcher: CollectingDispatcher, tracker: Tracker,
                          topic: dict | None = None) -> list[EventType]:  # type: ignore[type-arg]
    """"The document does not state this", what it does say nearest to it (cited), and where the answer is."""
    doc = await action.call(action.store.document)
    text = user_text(tracker)
    topic = topic or doc.unstated_topic(text)
    code = action.current(tracker, "fund")
    fund = await action.call(action.store.fund, code) if code else None
    where = f"《{fund.name}》" if fund else "对应的支持资金管理办法"
    extra: tuple[str, str, str, str] | None = None
    if topic:
        what = topic["topic"]
        citation = await action.call(action.store.section_citation, topic["section_id"])
        nearest = f"文件中与此最接近的规定是：「{topic['quote']}」。"
        rest = text
        for cue in topic.get("cues") or []:
            rest = rest.replace(cue, " ")
        hits = await action.call(action.store.search, rest, 1) if rest.strip() else []
        context = await _context_measure(action, tracker, text, hits)
        if context is not None:  # "那一个项目最多能补多少钱" right after 第12条: that measure, not a stray match
            extra = (f"第{context.number}条“{context.title}”（属{context.fund_name}资金）", context.text,
                     context.section_id, context.citation)
            hits = []
        if hits and covered(hits[0].score) and topic["code"] in ("amount", "deadline", "process", "materials"):
            best = hits[0]
            measure = await action.call(action.store.measure, best.title) if best.section_id.count("/") == 3 else None
            name = f"第{measure.number}条“{measure.title}”（属{measure.fund_name}资金）" if measure else best.citation
            nearest = f"相关的是{name}：「{shorten(best.text, 120)}」，其中没有写金额、时间或材料。"
            topic = {**topic, "section_id": best.section_id, "quote": best.text}
            citation = best.citation
        elif hits and covered(hits[0].score) and hits[0].section_id.count("/") == 3 \
                and topic["code"] != "parks":
            # "要评上标杆型孵化器 打分细则文件里有吗": the measure it is about, beside the nearest clause
            measure = await action.call(action.store.measure, hits[0].title)
            if measure and any(k in text for k in measure.keywords):  # the user named what the measure is about
                extra = (f"第{measure.number}条“{measure.title}”（属{measure.fund_name}资金）", measure.text,
                         measure.section_id, measure.citation)
        if topic["code"] == "end_date":
            nearest = f"文件只写明：「{topic['quote']}」，没有规定有效期或截止日期。"
        elif topic["code"] == "rules":
            # "那几个管理办法 一共几个 都叫啥": the document names them, and states none of their contents
            funds = await action.call(action.store.funds)
            names = "、".join(f"《{f.name}》" for f in funds)
            nearest = f"文件只写明各项资金“制定实施”的{len(funds)}个管理办法：{names}，没有写这些办法的内容。"
        elif topic["code"] == "parks":
            nearest = f"文件只写明：「{topic['quote']}」，没有列出示范区包括哪些园区或具体地址范围。"
        cites = [(citation, topic["quote"], topic["section_id"])]
        if extra:
            nearest += f"您问的事项属{extra[0]}，该条也没有写这些细节。"
            cites.append((extra[3], extra[1], extra[2]))
    else:
        what = "、".join(doc.silent_on) or "支持金额和申报时间"
        nearest, cites = "", []
        hits = await action.call(action.store.search, text, 1) if text else []
        if hits and covered(hits[0].score):  # "后补助多久到账": the clause it is about, quoted
            best = hits[0]
            nearest = f"相关的规定（{best.citation}）：「{shorten(best.text, 120)}」，其中没有写这些细节。"
            cites = [(best.citation, best.text, best.section_id)]
    where_line = ("请以主管部门的后续发文为准" if topic and topic["code"] == "end_date"
                  else f"这些由{where}和当年发布的申报指南确定，请以北京市科委、中关村管委会发布的官方申报通知为准")
    first = remedy(tracker) if text and NEXT_STEP.search(text) else ""
    say(dispatcher, f"{first}{doc.ref}没有写明{what}。{nearest}\n{where_line}；也可以转人工或拨打{HOTLINE}咨询。",
        citations=cites, buttons=steps("materials", "human"))
    return [SlotSet("unanswered_question", text or None)]


async def _context_measure(action: PolicyAction, tracker: Tracker, text: str, hits: list) -> object | None:  # type: ignore[type-arg]
    """The measure a follow-up question is about: the one the previous reply named, unless the message names a
    measure of its own (by number, or by the words of the measure the index found)."""
    number = previous_measure(tracker)
    if number is None or re.search(r"第\s*\d{1,2}\s*条", text):
        return None
    if hits and covered(hits[0].score) and hits[0].section_id.count("/") == 3:
        found = await action.call(action.store.measure, hits[0].title)
        if found is not None and (found.number == number or any(k in text for k in found.keywords)):
            return None if found.number != number else found
    return await action.call(action.store.measure, number)
