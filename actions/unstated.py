"""What the document does not state (amounts, deadlines, end date, parks, materials list): say so plainly, then
quote the clause nearest to the question, and point to the management method, the 申报指南, 12345 or a person."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import HOTLINE, say, shorten, steps
from actions.base import PolicyAction, user_text
from bot.knowledge.relevance import covered


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
        if hits and covered(hits[0].score) and topic["code"] in ("amount", "deadline", "process", "materials"):
            best = hits[0]
            measure = await action.call(action.store.measure, best.title) if best.section_id.count("/") == 3 else None
            name = f"第{measure.number}条“{measure.title}”" if measure else best.citation
            nearest = f"相关的是{name}：「{shorten(best.text, 120)}」，其中没有写金额、时间或材料。"
            topic = {**topic, "section_id": best.section_id, "quote": best.text}
            citation = best.citation
        elif hits and covered(hits[0].score) and hits[0].section_id.count("/") == 3 \
                and topic["code"] not in ("end_date", "parks"):
            # "要评上标杆型孵化器 打分细则文件里有吗": the measure it is about, beside the nearest clause
            measure = await action.call(action.store.measure, hits[0].title)
            if measure and any(k in text for k in measure.keywords):  # the user named what the measure is about
                extra = (f"第{measure.number}条“{measure.title}”", measure.text, measure.section_id,
                         measure.citation)
        if topic["code"] == "end_date":
            nearest = f"文件只写明：「{topic['quote']}」，没有规定有效期或截止日期。"
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
    say(dispatcher, f"{doc.ref}没有写明{what}。{nearest}\n{where_line}；也可以转人工或拨打{HOTLINE}咨询。",
        citations=cites, buttons=steps("materials", "human"))
    return [SlotSet("unanswered_question", text or None)]
