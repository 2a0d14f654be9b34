"""Who may apply (三（一）): questions about a kind of applicant, the user's own check, and the verdict.

- A question about a *kind* of applicant ("民营企业能申请吗", "投资机构能申请哪些措施") is answered with the rule
  for that kind, or the measures that name it, cited — no interrogation.
- The user's own case ("我们能申请吗") uses every fact said anywhere in the conversation, gives the verdict as soon
  as one condition settles it, asks only what is still missing, asks a question the user could not answer once
  more at most (saying why it matters and what would settle it), and ends "不确定" in a conditional verdict.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from contextvars import ContextVar
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.answers import button, say, shorten, steps
from actions.base import PolicyAction, user_text
from actions.knowledge import get_store, get_vocabulary
from actions.profile import HYPOTHETICAL, PLACE_INQUIRY, ZONE_UNSURE, message_facts, own_facts, related_organisation
from bot.knowledge.store import PolicyStore, Verdict
from bot.knowledge.vocabulary import Vocabulary, preferred
from bot.knowledge.writing import ENGLISH_NOTE

UNKNOWN = "unknown"
AMBIGUOUS = "ambiguous"
PROFILE = ("subject_type", "registration", "hightech")
VALID = {
    "subject_type": {"enterprise", "university", "research_institute", "service_org", "social_org", "other",
                     AMBIGUOUS},
    "registration": {"zgc", "beijing_other", "beijing", "outside"},
    "hightech": {"national", "zgc", "certified", "none"},
}
#: a question the user could not answer is asked once more, then taken as "unknown"
MAX_ATTEMPTS = 2

#: "count it as unknown": the user will not find out now — take "unknown" at once
_SKIP = re.compile(r"(?:按|算|当|写)(?:我们|我|成|作|做)?不确定|先不确定|跳过|先这样算|不管了|先按.{0,4}算|直接给(?:个)?结论")
_DONT_KNOW = re.compile(r"不太?(确定|知道|清楚|了解)|没数|说不好|搞不清|不记得|不晓得|不懂|没概念|不好说|待确认")
#: the user speaks of their own organisation (not of a kind of applicant in general)
FIRST_PERSON = re.compile(r"我们|我司|咱们|咱|本公司|本单位|我单位|我方|俺们|我是|我这|我家|我哋|敝校|我校|本校|敝司|敝单位|"
                          r"我院|本院|我所|本所|我会|本会|"
                          r"我(?:的)?(?:公司|单位|企业|学校|机构|院|所|厂|协会|团队)")
#: the message states facts about the asker's own organisation ("公司注册在示范区 高企还没有", "海淀上地的国高，做工业
#: 软件的，能报不"), not about a kind of applicant in general ("没高企资质的民营企业能报么")
STATES_OWN = re.compile(r"(?:注册|登记)(?:地址|地)?(?:其实|实际上?|就|也|都)?(?:在|是|于|为)|营业执照|执照(?:上|地址)?(?:在|是)|总部(?:在|是)|"
                        r"刚(?:递|交|拿|评|申请|注册|成立)|是在.{1,12}(?:注册|登记)的|^(?:公司|单位|企业|学校)(?:就)?(?:在|是在)|"
                        r"今年|去年|已经|[，,。;；\s](?:做|搞|干)\S{1,10}的|^(?:做|搞|干)\S{1,10}的")
#: "注册在北京其他区、不在示范区的单位能申请吗": facts in a clause describing the kind asked about
RELATIVE_CLAUSE = re.compile(r"[^，,。；;！!？?\s]{0,20}的(?=[^，,。；;\s的]{1,8}(?:能|可以|可不可以|能不能|是否|算不算|有没有|有资格|符合))")
#: details of applying the document does not state, asked as "能申请吗" ("营收要达到多少才能申请")
RULES_OF_APPLYING = ("thresholds", "combining")
#: asks whether a need is supported ("有支持吗", "有补贴吗"), not who may apply
NEED_ASK = re.compile(r"有(?:什么|啥|哪些)?(?:支持|补贴|补助|资助|奖励|扶持|政策)(?:吗|么|没|不)?|能(?:给|拿到?)(?:支持|补贴)|支持(?:吗|么)")
#: which measures suit a kind of applicant
WHICH_MEASURES = re.compile(r"哪些\s*(?:措施|条|政策|支持|资金|项目|条款)|(?:政策|措施)支持(?:啥|什么|哪些)|哪几条|哪(?:一)?条|适用哪|适合哪|能(?:申请|报|申报|享受|拿)(?:什么|哪些|啥)"
                            r"|(?:什么|哪些|啥)(?:措施|政策|支持)(?:适用|适合|可以|能)|对口|有(?:哪些|什么|啥)(?:措施|支持|政策)"
                            r"|对应(?:的)?(?:条款|措施|政策)|有对应|能用的|能用啥|有啥能用|能享受(?:哪|什么|啥)|专门的(?:条款|措施|政策|支持)|能用(?:上)?哪|用得上|(?:条款|措施)(?:吗|没|不)")
#: asks whether someone may apply
ELIGIBILITY_ASK = re.compile(r"能(?:不能)?(?:申请|报|申报|参与|参加|享受)|可(?:以|不可以)?(?:申请|报|申报|参与)|有(?:没有)?资格|够格|"
                             r"(?:申请|申报|报)(?:一下)?.{0,2}(?:行不行|行吗|可以吗|可不可以|成不成|中不中)|有没有份|有份(?:吗|么|没)|"
                             r"(?:当|作为|做)申报(?:主体|单位)|申报(?:主体|单位)(?:吗|么|资格)|影响申请|影响申报|影不影响|"
                             r"(?:门槛|条件|资格)够不够|够不够(?:条件|资格|门槛)|有戏|有没有戏|有希望|"
                             r"符合(?:条件)?(?:吗|么|不)|算不算|属不属于|是不是支持对象|支持对象|有份|能拿|适用(?:吗|么|不)|"
                             r"沾得上|沾不沾|沾边|够得着|够得上|是否符合|是否属于|能否申请|可否申请|是否可以申请|符合的吧|符合吧|是符合的|"
                             r"够(?:条件|资格|格)(?:不|吗|么|没|了吧)|够格吧|应该能报吧|能报吧|(?:报|申请?|申报)得(?:了|上|成)|能(?:不能)?申(?:吗|么|不|吧|没|啊)")
#: a question whether a place counts as the 示范区 (not an answer to "where are you registered")
PLACE_QUESTION = re.compile(r"算不算|算.{0,8}(?:吗|么)|是不是.{0,8}(?:示范区|范围)|属不属于|属于.{0,8}(?:示范区|范围).{0,3}(?:吗|么)|"
                            r"在不在.{0,6}(?:示范区|范围)|包不包括|包括.{0,6}(?:吗|么)")
#: a question about who may apply in general
GENERAL_RULE = re.compile(r"谁|哪些单位|哪类|什么样的|什么单位|哪种|支持对象|申报条件|申请条件|什么条件|资格条件|条件是|门槛|"
                          r"要求是|有什么要求|算不算|属不属于|属于.{0,6}吗|在不在.{0,4}范围")
QUESTION = re.compile(r"[?？]|吗|么|呢|什么|啥|怎么|咋|怎样|如何|哪|是否|算不算|是不是|能不能|可不可以|有没有|在不在|属不属于")

ICONS = {"met": "✅", "not_met": "❌", "unknown": "❓", "conditional": "❓", "reference": "⚠️"}
STATUS_WORDS = {"met": "满足", "not_met": "不满足", "unknown": "待确认", "conditional": "待确认", "reference": "参照执行"}
SUBJECT_NAMES = {"enterprise": "企业", "university": "高等学校", "research_institute": "科研机构",
                 "service_org": "服务机构", "social_org": "社会组织", "other": "其他主体", AMBIGUOUS: "类别待确认的单位"}
HIGHTECH_NAMES = {"national": "国家高新技术企业", "zgc": "中关村高新技术企业",
                  "certified": "高新技术企业（未说明是国家高新还是中关村高新）", "none": "非高新技术企业"}

#: why each fact matters and what settles it (said when a question has to be asked again)
WHY = {
    "subject_type": "三（一）按单位类别确定支持对象：企业、高等学校、科研机构、服务机构、社会组织；其中企业还须有高新技术企业资质。",
    "registration": "三（一）规定：注册在中关村示范区范围内的直接适用；注册在北京市其他地区、符合支持条件的参照执行；北京以外的不在支持对象之列。",
    "hightech": "三（一）规定，企业须为国家高新技术企业或中关村高新技术企业。",
}
HOW = {
    "subject_type": "公立高校、科研院所即使是事业单位，也按“高等学校”“科研机构”对待。请选最接近的一类：",
    "registration": "文件只说示范区实行“一区多园”，没有列出具体园区；请以营业执照上的注册地址为准，或问所在园区管委会。不确定也可以选“不确定”，我按两种情况分别给出结论：",
    "hightech": "看是否持有《高新技术企业证书》（国家高新）或中关村高新技术企业证明，财务或资质负责人一般清楚。不确定也可以选“不确定”，我先给出有条件的结论：",
}
QUESTIONS = {
    "subject_type": "请问贵单位属于哪一类？",
    "registration": "贵单位注册在中关村示范区范围内吗？",
    "hightech": "贵企业是国家高新技术企业或中关村高新技术企业吗？",
}
AGAIN = {
    "subject_type": "换个问法：贵单位是企业、高校、科研机构、服务机构，还是社会组织？",
    "registration": "换个问法：营业执照上的注册地在示范区园区内、在北京其他区，还是在北京以外？",
    "hightech": "换个问法：贵企业有没有国家高新或中关村高新的资质证书？",
}
#: words that tie a question asked inside the check to the fact being asked
TOPIC_WORDS = {
    "subject_type": ("类", "算", "属于", "事业单位", "高校", "机构", "组织", "企业", "公司"),
    "registration": ("示范区", "园区", "范围", "注册", "一区多园", "区", "园"),
    "hightech": ("高新", "国高", "高企", "资质", "证书", "认定"),
}


def subject_buttons() -> list[dict[str, str]]:
    return [button(name, "inform", subject_type=code) for code, name in SUBJECT_NAMES.items()
            if code not in ("other", AMBIGUOUS)] + [button("其他", "inform", subject_type="other")]


def registration_buttons() -> list[dict[str, str]]:
    return [button("在中关村示范区内", "inform", registration="zgc"),
            button("在北京其他区", "inform", registration="beijing_other"),
            button("在北京以外", "inform", registration="outside"),
            button("不确定", "inform", registration=UNKNOWN)]


def hightech_buttons() -> list[dict[str, str]]:
    return [button("国家高新技术企业", "inform", hightech="national"),
            button("中关村高新技术企业", "inform", hightech="zgc"),
            button("都不是", "inform", hightech="none"),
            button("不确定", "inform", hightech=UNKNOWN)]


BUTTONS = {"subject_type": subject_buttons, "registration": registration_buttons, "hightech": hightech_buttons}


def implied(profile: dict[str, str | None]) -> dict[str, str | None]:
    """What the facts given imply: only enterprises hold (or lack) a high-tech certificate."""
    out = dict(profile)
    subject, hightech = out.get("subject_type"), out.get("hightech")
    if subject in (None, UNKNOWN) and hightech in VALID["hightech"]:
        out["subject_type"] = "enterprise"
    elif subject == AMBIGUOUS and hightech in ("national", "zgc", "certified"):
        out["subject_type"] = "enterprise"  # "园区运营公司，是国高": holding the certificate settles it
    return out


def asks_own_case(tracker: Tracker, vocabulary: Vocabulary) -> bool:
    """The message asks whether the user's own organisation may apply, with a fact about it: "我们在昌平 是中关村
    高新 想做概念验证 能报吗 给多少钱", "我们是协会 在示范区 能报吗 要啥材料"."""
    from actions.funds import WANTS_TO_APPLY

    text = user_text(tracker)
    if not text or not FIRST_PERSON.search(text) or not (ELIGIBILITY_ASK.search(text) or WANTS_TO_APPLY.search(text)):
        return False
    return any(message_facts(tracker, vocabulary).values())


def lists_own_credentials(vocabulary: Vocabulary, text: str, facts: dict[str, str | None]) -> bool:
    """Registration and certificate stated with no kind of applicant named ("示范区注册 有国高 能报吧", "不是国高
    但有中关村高新 示范区注册"): the user lists their own credentials. A kind asked about comes with its noun
    ("注册在示范区的国高企业能报吗" stays a question about that kind)."""
    return bool(facts.get("registration") and facts.get("hightech")) and not vocabulary.kinds_in(text) \
        and not related_organisation(text) and not HYPOTHETICAL.search(text)


def describes_own_case(tracker: Tracker, vocabulary: Vocabulary) -> bool:
    """The message describes the user's own organisation with two facts or more ("我们是示范区的国高 要申报的话得
    准备啥材料"): the verdict they settle is given beside the answer."""
    text = user_text(tracker)
    if not text:
        return False
    facts = message_facts(tracker, vocabulary)
    if not (FIRST_PERSON.search(text) or STATES_OWN.search(RELATIVE_CLAUSE.sub("", text))
            or lists_own_credentials(vocabulary, text, facts)):
        return False
    return sum(1 for v in facts.values() if v) >= 2


def asks_kind_rule(vocabulary: Vocabulary, text: str) -> bool:
    """The message asks whether a kind of applicant may apply: "事业单位能报不", "民非能报吗"."""
    return bool(ELIGIBILITY_ASK.search(text)) and bool(vocabulary.kinds_in(text) or vocabulary.best(text, "subject_type"))


def states_own_facts(tracker: Tracker, vocabulary: Vocabulary) -> bool:
    """The latest message states a fact about the user's own organisation, whatever the NLU read: a correction after
    the verdict, a registration stated with its cue ("行 营业执照地址就在示范区里"), facts in the first person, or a
    certificate's news while their case is being talked about ("证书去年就过期了 一直没续")."""
    text = user_text(tracker)
    if not text:
        return False
    facts = message_facts(tracker, vocabulary)
    if not any(facts.values()):
        return False
    if corrects_verdict(tracker, vocabulary) or STATES_OWN.search(text) or FIRST_PERSON.search(text):
        return True
    from actions.profile import slot_before_turn

    return bool(facts.get("hightech")) and any(slot_before_turn(tracker, slot) for slot in PROFILE)


def corrects_verdict(tracker: Tracker, vocabulary: Vocabulary) -> bool:
    """A fact the verdict rests on, stated after the verdict ("等下 注册地其实不在示范区 在北京其他区")."""
    if not tracker.get_slot("eligibility_verdict") or not user_text(tracker):
        return False
    facts = message_facts(tracker, vocabulary)
    return any(facts.get(slot) for slot in ("registration", "hightech"))


def profile_of(tracker: Tracker) -> dict[str, str | None]:
    """The profile for the store; "unknown" stays "unknown" (asked, and the user could not say)."""
    out: dict[str, str | None] = {}
    for slot in PROFILE:
        value = tracker.get_slot(slot)
        out[slot] = value if isinstance(value, str) and (value in VALID[slot] or value == UNKNOWN) else None
    return implied(out)


def attempts_of(tracker: Tracker) -> dict[str, int]:
    value = tracker.get_slot("profile_attempts")
    return {k: int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _condition_clause(c: Any) -> str:
    """What a still-open condition decides, for a conditional verdict."""
    if c.code == "registration":
        return "注册地址在中关村示范区范围内的直接适用，在北京市其他地区的参照执行（文件只说“一区多园”，未列出具体园区）"
    if c.code == "hightech":
        return "须持有国家高新技术企业或中关村高新技术企业资质，有则满足，没有则不属于支持对象"
    if c.code == "subject_type":
        return "以申报主体的类别为准：企业须有高新资质；高等学校、科研机构、服务机构、社会组织注册在示范区内即属支持对象"
    return c.label


def describe_verdict(verdict: Verdict, profile: dict[str, str | None]) -> str:
    who = SUBJECT_NAMES.get(profile.get("subject_type") or "", "贵单位")
    failing = [c for c in verdict.conditions if c.status == "not_met"]
    open_ = [c for c in verdict.conditions if c.status in ("conditional", "unknown")]
    if verdict.outcome == "eligible":
        out = [f"初步判断：贵单位（{who}）属于文件规定的支持对象，可以申报。"]
    elif verdict.outcome == "not_eligible":
        out = [f"初步判断：按文件规定，贵单位目前不属于支持对象——不满足“{failing[0].label}”。"]
    elif verdict.outcome == "reference":
        out = ["初步判断：贵单位注册在北京市其他地区，按文件“参照执行”——不是直接适用，也不是不能申报，需向主管部门确认。"]
    else:
        out = ["初步判断（有条件）：其余条件满足，结论取决于待确认的一项——"]
        out += [f"· {_condition_clause(c)}。" for c in open_]
    for c in verdict.conditions:
        line = f"{ICONS[c.status]} {c.label}：{STATUS_WORDS[c.status]}"
        if c.code == "hightech" and c.value == "certified":
            line += "（您说是高新企业：国家高新或中关村高新证书均可，申报时以证书为准）"
        out.append(line)
    if verdict.outcome == "eligible":
        out.append("具体项目还须符合对应资金管理办法和申报指南的要求。")
    if any(c.code == "hightech" and c.status == "not_met" for c in failing):
        out.append("企业须先取得国家高新技术企业或中关村高新技术企业资质。")
    return "\n".join(out)


def settled(verdict: Verdict) -> bool:
    """The verdict will not change with the facts still missing."""
    return verdict.outcome != "unknown" or any(c.status == "not_met" for c in verdict.conditions)


async def give_verdict(action: PolicyAction, dispatcher: CollectingDispatcher,
                       profile: dict[str, str | None]) -> list[EventType]:
    verdict = await action.call(action.store.check_eligibility, profile)
    quotes = list(dict.fromkeys(c.quote for c in verdict.conditions))
    next_steps = (steps("materials", "need") if verdict.outcome in ("eligible", "reference", "conditional")
                  else steps("human"))
    say(dispatcher, describe_verdict(verdict, profile),
        citations=[(verdict.citation, "……".join(quotes), verdict.section_id)], buttons=next_steps)
    record = {"outcome": verdict.outcome,
              "conditions": [{"code": c.code, "label": c.label, "status": c.status, "value": c.value}
                             for c in verdict.conditions],
              "citation": verdict.citation}
    return [SlotSet("eligibility_verdict", record)]


def message_profile(vocabulary: Vocabulary, tracker: Tracker, text: str) -> dict[str, str | None]:
    """The profile facts this message gives, each mention read in context (:mod:`actions.profile`)."""
    facts = message_facts(tracker, vocabulary)
    return implied({slot: code if code in VALID[slot] else None for slot, code in facts.items()})


#: set while the router answers a message (see :meth:`ActionRouteEligibility.answer`)
_ROUTING: ContextVar[bool] = ContextVar("routing", default=False)


class ActionRouteEligibility(PolicyAction):
    """"能申请吗": a kind of applicant gets its rule or its measures; the user's own case gets the check."""
    checks_scope = True

    def name(self) -> str:
        return "action_route_eligibility"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        # handed back by an action this one handed the message to (the recommender saw the user's own case):
        # it is not handed on again, or the two would pass it back and forth
        returned = _ROUTING.get()
        token = _ROUTING.set(True)
        try:
            return await self._answer(dispatcher, tracker, domain, returned)
        finally:
            _ROUTING.reset(token)

    async def _answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                      returned: bool) -> list[EventType]:
        text = user_text(tracker)
        kinds = self.vocabulary.kinds_in(text) if text else []
        facts = message_profile(self.vocabulary, tracker, text)
        if text and (related := related_organisation(text)):  # "我们学校下面的校办企业呢": that organisation's kind
            facts = implied({slot: code if code in VALID[slot] else None
                             for slot, code in message_facts_of(self.vocabulary, related.group(0)).items()})
            kinds = self.vocabulary.kinds_in(related.group(0)) or kinds
        from actions.funds import WANTS_TO_APPLY, ActionRecommendFund

        needs = need_mentions(self.vocabulary, text)
        if (which := kinds or own_kind(tracker, text)) and WHICH_MEASURES.search(text):
            kinds = which
            named = await self.measures_for_kinds(dispatcher, kinds)
            events: list[EventType] = []
            wanted = await self.call(lambda: {m.number for code in needs for m in self.store.measures_for_topic(code)})
            if wanted - named:
                # "孵化器跟投资这两块分别是哪条", "首台套跟人才公寓各是哪条": the needs the kinds leave out, too
                recommender = ActionRecommendFund(self._store, self._vocabulary)
                if await recommender.spans_funds(topics := recommender._topics(text)):
                    events += await recommender.several_needs(dispatcher, text, topics)
                else:
                    events += await recommender.recommend(dispatcher, tracker, text)
            # "我们能报吗" asks about their own case; "我们是孵化器运营方 孵化器能申请哪几条" asks for the measures only
            own = FIRST_PERSON.search(text) and not related_organisation(text) and any(
                not re.match(r"哪|什么|啥|几|些", text[m.end():m.end() + 2]) for m in ELIGIBILITY_ASK.finditer(text))
            if own:  # "科技型社会组织这块政策支持啥 我们协会自己能申报吗": their own case as well
                profile = profile_of(tracker)
                verdict = await self.call(self.store.check_eligibility, profile)
                unasked = profile.get("subject_type") == AMBIGUOUS and attempts_of(tracker).get("subject_type", 0) == 0
                if not settled(verdict) or unasked and not any(c.status == "not_met" for c in verdict.conditions):
                    return [*events, FollowupAction("eligibility_form")]
                events += await give_verdict(self, dispatcher, profile)
            elif ELIGIBILITY_ASK.search(text) and (facts.get("registration") or facts.get("hightech")):
                # "该看哪一条 还有注册在北京但不在示范区的孵化器能不能申请": the rule for those facts too
                await self.general_answer(dispatcher, text, facts, [])
            from actions.compound import answer_the_rest

            # "投资机构能申请哪几条 还有支持方式是直接拨钱还是股权投入": a fact or open detail beside them
            events += await answer_the_rest(self, dispatcher, tracker, domain, "own_case" if own else "rule")
            return [*events, FollowupAction("action_listen")]
        if not returned and (needs and not GENERAL_RULE.search(text) and not FIRST_PERSON.search(text) or (
                text and NEED_ASK.search(text) and not ELIGIBILITY_ASK.search(text) and not WANTS_TO_APPLY.search(text))):
            # "企业参与国际标准制定能支持吗", "我们要办个国际学术会议 有支持吗": a need, not who may apply
            events = await ActionRecommendFund(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
            return [*events, FollowupAction("action_listen")]
        doc = await self.call(self.store.document) if text else None
        topic = doc.unstated_topic(text) if doc else None
        # facts that decide a verdict ("朝阳这边" alone does not: the zone is still open)
        settling = facts.get("registration") in ("zgc", "beijing_other", "outside") or facts.get("hightech")
        # "昌平算示范区吗": what they ask, facts or not ("注册在示范区范围内，能申请吗" states, it does not ask)
        asks_place = bool(topic) and topic["code"] == "parks" and bool(PLACE_QUESTION.search(text)
                                                                        or PLACE_INQUIRY.search(text)) \
            and not ZONE_UNSURE.search(text)  # "注册地址我也说不准在不在示范区里头" says it, it does not ask
        if topic and (asks_place or not settling and (not ELIGIBILITY_ASK.search(text)
                                                       or topic["code"] in RULES_OF_APPLYING)):
            # "哪些园区属于示范区", "营收要达到多少才能申请", "可以同时申请好几项吗": the document does not say
            from actions.compound import answer_the_rest
            from actions.unstated import answer_unstated

            events = await answer_unstated(self, dispatcher, tracker)
            events += await answer_the_rest(self, dispatcher, tracker, domain, "unstated")  # "…事业单位影响申请吗"
            return [*events, FollowupAction("action_listen")]
        named = any(facts.values()) or bool(kinds)
        own = STATES_OWN.search(RELATIVE_CLAUSE.sub("", text))  # "注册在深圳的公司能申请吗" describes a kind
        personal = (bool(FIRST_PERSON.search(text)) or bool(own) or corrects_verdict(tracker, self.vocabulary)
                    or lists_own_credentials(self.vocabulary, text, facts)
                    or (not named and not GENERAL_RULE.search(text))) and not (
            named and (related_organisation(text) or HYPOTHETICAL.search(text) and not any(own_facts(tracker).values())))
        if not personal:
            events = await self.general_answer(dispatcher, text, facts, kinds)
            from actions.compound import answer_the_rest

            events += await answer_the_rest(self, dispatcher, tracker, domain, "rule")
            return [*events, FollowupAction("action_listen")]
        profile = profile_of(tracker)
        verdict = await self.call(self.store.check_eligibility, profile)
        unasked = profile.get("subject_type") == AMBIGUOUS and attempts_of(tracker).get("subject_type", 0) == 0
        if settled(verdict) and (not unasked or any(c.status == "not_met" for c in verdict.conditions)):
            events = await give_verdict(self, dispatcher, profile)
            if needs:
                # "我们是国高 注册在海淀 想申请首台套 能报吗", "… which measure is it and can we apply": the need too
                events += await ActionRecommendFund(self._store, self._vocabulary).recommend(dispatcher, tracker, text)
            from actions.compound import answer_the_rest

            events += await answer_the_rest(self, dispatcher, tracker, domain, "own_case")  # "…能报吗 流程是啥"
            return [*events, FollowupAction("action_listen")]
        if needs and not answered_this_turn(tracker):
            # "孵化器有支持吗 我们就是做孵化的 注册在海淀 能不能报": the need is answered, then the check asks
            events = await ActionRecommendFund(self._store, self._vocabulary).recommend(dispatcher, tracker, text)
            return [*events, FollowupAction("eligibility_form")]
        return [FollowupAction("eligibility_form")]

    async def measures_for_kinds(self, dispatcher: CollectingDispatcher, kinds: list[str]) -> set[int]:
        """The measures that name these kinds, listed with the words that name them; returns their numbers."""
        found = await self.call(self.store.measures_for_kinds, kinds)
        names = "、".join(self.vocabulary.kind_name(k) for k in kinds)
        measures = await self.call(self.store.measures)
        unnamed = [m.number for m in measures if not m.supports]
        open_to_all = [m.number for m in measures
                       if m.supports and {w["kind"] for w in m.supports} <= {"innovation_subject"}]
        if found:
            lines = [f"文件中点名{names}的措施："]
            lines += [f"· 第{m.number}条 {m.title}（属{m.fund_name}资金）：「{'」「'.join(q)}」" for m, q in found]
        else:
            lines = [f"文件的措施没有点名{names}。"]
        note = []
        if unnamed:
            note.append("第" + "、".join(map(str, unnamed)) + "条没有点名特定对象")
        if open_to_all:
            note.append("第" + "、".join(map(str, open_to_all)) + "条面向各类“创新主体”")
        if note:
            lines.append("另外，" + "，".join(note) + "，是否适用以对应资金管理办法和申报指南为准。")
        lines.append("申报主体资格按三（一）：注册在中关村示范区范围内的企业（须为国家高新或中关村高新）、高等学校、科研机构、服务机构及社会组织。")
        say(dispatcher, "\n".join(lines),
            citations=[(m.citation, shorten(m.text, 300), m.section_id) for m, _ in found],
            buttons=[*(button(f"第{m.number}条详情", "ask_measure", measure=str(m.number)) for m, _ in found[:3]),
                     *steps("eligibility")])
        return {m.number for m, _ in found}

    async def general_answer(self, dispatcher: CollectingDispatcher, text: str, facts: dict[str, str | None],
                             kinds: list[str]) -> list[EventType]:
        """The rule of 三（一） for the kind of applicant asked about (a verdict only when the facts settle it)."""
        rule = await self.call(self.store.check_eligibility, {})
        citation = rule.citation
        quote = ("支持对象为注册在中关村示范区范围内的企业、高等学校、科研机构、服务机构及社会组织,其中企业是指国家高新技术企业和"
                 "中关村高新技术企业。符合支持条件的注册在北京市其他地区的创新主体参照执行。")
        events: list[EventType] = []
        subject = facts.get("subject_type")
        lines: list[str] = []
        if any(v for k, v in facts.items() if k != "subject_type"):
            verdict = await self.call(self.store.check_eligibility, facts)
            failing = [c for c in verdict.conditions if c.status == "not_met"]
            if failing:  # the rule for that kind, not a verdict on the asker: they did not speak of themselves
                lines.append(f"按三（一），{kind_description(facts, kinds, self.vocabulary)}不属于支持对象——不满足“{failing[0].label}”。")
        if subject == "enterprise" or (not subject and kinds and set(kinds) <= {"enterprise", "small_enterprise",
                                                                                  "leading_enterprise"}):
            lines.append("企业可以申请，但须同时满足：① 是国家高新技术企业或中关村高新技术企业；② 注册在中关村示范区范围内"
                         "（注册在北京市其他地区、符合条件的参照执行）。民营、国有、外资企业一样，看资质和注册地，不看所有制。")
            if facts.get("hightech") in ("national", "zgc", "certified"):
                lines.append("有高新资质这一条已满足，还要看注册地。")
        elif subject in ("university", "research_institute", "service_org", "social_org"):
            name = SUBJECT_NAMES[subject]
            lines.append(f"{name}属于三（一）列明的支持对象：注册在中关村示范区范围内即可申请，没有高新技术企业资质的要求；"
                         "注册在北京市其他地区的参照执行。")
            if subject in ("university", "research_institute"):
                lines.append("公立高校、科研院所多为事业单位，仍按“高等学校”“科研机构”对待。")
        elif subject in (AMBIGUOUS, None) and (amb := self.vocabulary.ambiguity(text)):  # 孵化器, 投资机构
            word, info = amb
            options = "、".join(SUBJECT_NAMES.get(o, o) for o in info.get("options") or [])
            lines.append(f"“{word}”要看以什么类别申报（{options}）：{info.get('note', '')}")
        elif subject == "other":
            lines.append("个人、个体工商户不在三（一）列举的支持对象之中：支持对象是注册在中关村示范区范围内的企业（须为国家高新技术企业"
                         "或中关村高新技术企业）、高等学校、科研机构、服务机构及社会组织。")
        else:
            lines.append("三（一）规定的支持对象：注册在中关村示范区范围内的企业、高等学校、科研机构、服务机构及社会组织；"
                         "其中企业须为国家高新技术企业或中关村高新技术企业；注册在北京市其他地区、符合支持条件的创新主体参照执行。")
        registration = facts.get("registration")
        if registration == "beijing":
            lines.append("注册在北京的，在中关村示范区范围内的直接适用，在北京市其他地区的参照执行；文件只说示范区“一区多园”，"
                         "没有列出具体园区，是否在范围内以注册地址和园区管委会的确认为准。")
        elif registration == "beijing_other" and not any("参照执行" in line for line in lines[:1]):
            lines.append("注册在北京市其他地区（示范区以外）的，符合支持条件的“参照执行”——不是直接适用，也不是不能申报。")
        if kinds:
            found = await self.call(self.store.measures_for_kinds, kinds)
            if found:
                lines.append("文件中点名" + "、".join(self.vocabulary.kind_name(k) for k in kinds) + "的措施："
                             + "；".join(f"第{m.number}条 {m.title}（{m.fund_name}资金）" for m, _ in found[:6]) + "。")
        lines.append("想判断贵单位自己是否符合，点“查一下我们能不能申请”，我只问还不知道的情况。")
        say(dispatcher, "\n".join(lines), citations=[(citation, quote, rule.section_id)],
            buttons=[button("查一下我们能不能申请", "check_eligibility"), *steps("funds")])
        return events


#: the applicant kinds (lexicon ``applicant_kinds``) of each kind of 三（一）
KIND_OF_SUBJECT = {"enterprise": "enterprise", "university": "university", "research_institute": "research_institute",
                   "service_org": "service_org", "social_org": "social_org"}


#: how the name of an institution ends (天使投资 is an activity and a need; 大学科技园 is an applicant)
INSTITUTION = ("园", "器", "机构", "中心", "组织", "空间", "基地", "医院")


def need_mentions(vocabulary: Vocabulary, text: str) -> list[str]:
    """The need topics a message names, leaving out words that are part of a kind of applicant (外资企业 is no 外资
    need: it asks whether a foreign-invested enterprise may apply)."""
    if not text:
        return []
    spans = [(m.start, m.end) for m in vocabulary.find(text, "subject_type")]
    # "大学科技园可以申请吗", "孵化器能申请吗": a kind of applicant the measures name, not a need
    spans += [(m.start(), m.end()) for k in vocabulary.applicant_kinds.values() for w in k.get("words") or []
              if len(w) >= 3 and w.endswith(INSTITUTION) for m in re.finditer(re.escape(w), text)]
    return [m.value for m in vocabulary.find(text, "topic")
            if not any(s <= m.start and m.end <= e for s, e in spans)]


def own_kind(tracker: Tracker, text: str) -> list[str]:
    """"我们能对应哪几条" after the check: the kind the user said they are, when the message names none."""
    subject = tracker.get_slot("subject_type")
    if subject not in KIND_OF_SUBJECT or not FIRST_PERSON.search(text):  # "有哪些资金" asks for the funds
        return []
    return [KIND_OF_SUBJECT[subject]]


async def failing_note(action: PolicyAction, tracker: Tracker) -> tuple[str, str] | None:
    """(a line, the citation) when the facts the latest message gives about the asker fail 三（一） — said beside
    an answer about a need ("天使投资机构投早期项目有奖励吗 我们注册在上海")."""
    facts = message_profile(action.vocabulary, tracker, user_text(tracker))
    if not any(v for k, v in facts.items() if k != "subject_type"):
        return None
    verdict = await action.call(action.store.check_eligibility, facts)
    failing = [c for c in verdict.conditions if c.status == "not_met"]
    if not failing:
        return None
    return (f"另外请注意：按三（一），{kind_description(facts, [], action.vocabulary)}不属于支持对象——"
            f"不满足“{failing[0].label}”（依据：{verdict.citation}）。", verdict.citation)


def kind_description(facts: dict[str, str | None], kinds: list[str], vocabulary: Vocabulary) -> str:
    """"注册在北京以外的高等学校", "没有高新资质的企业": the kind of applicant a general question describes."""
    words = []
    if facts.get("registration") == "outside":
        words.append("注册在北京以外的")
    if facts.get("hightech") == "none":
        words.append("没有国家高新或中关村高新资质的")
    subject = facts.get("subject_type")
    name = (SUBJECT_NAMES.get(subject) if subject and subject != AMBIGUOUS
            else "、".join(vocabulary.kind_name(k) for k in kinds) if kinds else "单位")
    return "".join(words) + (name or "单位")


class ValidateEligibilityForm(FormValidationAction):
    """Fills the profile from entities, words the NLU did not tag and yes/no answers; stops as soon as it is settled."""

    def __init__(self, vocabulary: Vocabulary | None = None, store: PolicyStore | None = None) -> None:
        self._vocabulary = vocabulary
        self._store = store

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary or get_vocabulary()

    @property
    def store(self) -> PolicyStore:
        return self._store or get_store()

    def name(self) -> str:
        return "validate_eligibility_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        import asyncio

        profile = profile_of(tracker)
        verdict = await asyncio.to_thread(self.store.check_eligibility, profile)
        if any(c.status == "not_met" for c in verdict.conditions):
            return []  # one condition already settles it: the verdict now
        attempts = attempts_of(tracker)
        subject = profile.get("subject_type")
        out = []
        for slot in domain_slots:
            if slot not in PROFILE:
                continue
            if slot == "hightech" and subject not in (None, "enterprise"):
                continue  # the high-tech condition is for enterprises
            if tracker.get_slot(slot) is None and attempts.get(slot, 0) >= MAX_ATTEMPTS:
                continue
            out.append(slot)
        return out

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> list[EventType]:
        """Every profile fact extracted this turn is validated and kept — also when it settles the verdict and so
        leaves no slot to ask for (rasa_sdk would drop facts that are no longer required)."""
        slots = {k: v for k, v in tracker.slots_to_validate().items() if k in PROFILE}
        for slot, value in list(slots.items()):
            if slot in PROFILE:
                slots.update(await getattr(self, f"validate_{slot}")(value, dispatcher, tracker, domain))
        return [SlotSet(slot, value) for slot, value in slots.items()]

    # extraction: what the NLU left out ----------------------------------------------------------

    def _from_text(self, tracker: Tracker, slot: str) -> dict[str, Any]:
        text = user_text(tracker)
        stated = own_facts(tracker, self.vocabulary)  # a button's entities too (the slots map nothing themselves)
        if text and HYPOTHETICAL.search(text) and not stated.get(slot) and message_facts(tracker, self.vocabulary).get(slot):
            return {}  # "要是注册在北京别的区会咋样": a question about the rule; the ask action answers it
        if stated.get(slot):
            return {} if stated[slot] == tracker.get_slot(slot) else {slot: stated[slot]}
        if tracker.get_slot("requested_slot") != slot:
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if text and (_DONT_KNOW.search(text) or _SKIP.search(text)):
            return {slot: UNKNOWN}
        if slot == "hightech" and intent == "affirm":
            return {slot: "certified"}
        if slot == "hightech" and intent == "deny":
            return {slot: "none"}
        if slot == "registration" and intent == "affirm":
            return {slot: "zgc"}
        if slot == "registration" and intent == "deny":
            return {slot: UNKNOWN}  # "not in the 示范区" does not say whether elsewhere in Beijing
        if any(tracker.get_slot(s) is not None and s in tracker.slots_to_validate() for s in PROFILE):
            return {}  # the answer gave another fact: not a failed attempt
        if any(list(tracker.get_latest_entity_values(s)) or stated.get(s) for s in PROFILE):
            return {}
        attempts = attempts_of(tracker)
        attempts[slot] = attempts.get(slot, 0) + 1
        out: dict[str, Any] = {"profile_attempts": attempts}
        if attempts[slot] >= MAX_ATTEMPTS:
            out[slot] = UNKNOWN
        return out

    async def extract_subject_type(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("subject_type") is None:
            hightech = tracker.get_slot("hightech")
            text = user_text(tracker)
            if hightech in VALID["hightech"] or (text and message_facts(tracker, self.vocabulary).get("hightech")):
                return {"subject_type": "enterprise"}  # only enterprises hold (or lack) the certificate
        return self._from_text(tracker, "subject_type")

    async def extract_registration(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        return self._from_text(tracker, "registration")

    async def extract_hightech(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return self._from_text(tracker, "hightech")

    # validation: codes only; "unknown" is asked once more with the reason --------------------

    def _code(self, slot: str, value: Any) -> str | None:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        codes = [str(v) if str(v) == UNKNOWN or str(v) in VALID[slot] else self.vocabulary.code(slot, str(v))
                 for v in values]
        return preferred(slot, [c for c in codes if c])

    def _unknown(self, slot: str, tracker: Tracker) -> dict[str, Any]:
        """A first "不确定" is asked once more (the ask action says why); a second one, or "按不确定算", stands."""
        attempts = attempts_of(tracker)
        if attempts.get(slot, 0) >= MAX_ATTEMPTS - 1 or _SKIP.search(user_text(tracker)):
            return {slot: UNKNOWN}
        attempts[slot] = attempts.get(slot, 0) + 1
        return {slot: None, "profile_attempts": attempts}

    async def validate_subject_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        code = self._code("subject_type", value)
        if code == UNKNOWN:
            return self._unknown("subject_type", tracker)
        if code == AMBIGUOUS:
            attempts = attempts_of(tracker)
            if attempts.get("subject_type", 0) >= MAX_ATTEMPTS - 1:
                return {"subject_type": AMBIGUOUS}
            amb = self.vocabulary.ambiguity(user_text(tracker))
            from actions.profile import slot_before_turn

            asked = slot_before_turn(tracker, "requested_slot") == "subject_type"
            said_before = previous_user_text(tracker)
            if asked and amb and said_before and amb[0] in said_before and attempts.get("subject_type", 0) == 0:
                # the same word again ("投资公司 … 就是投资公司啊"): the user cannot say more — it stands as open
                return {"subject_type": AMBIGUOUS}
            if amb:
                word, info = amb
                options = "、".join(SUBJECT_NAMES.get(o, o) for o in info.get("options") or [])
                dispatcher.utter_message(text=f"“{word}”要看以什么类别申报（{options}）。{info.get('note', '')}")
            if not asked:
                # "我们是一家医院 能申报吗": said before the question was asked; the question is still to come
                return {"subject_type": None}
            attempts["subject_type"] = attempts.get("subject_type", 0) + 1
            return {"subject_type": None, "profile_attempts": attempts}
        return {"subject_type": code if code in VALID["subject_type"] else None}

    async def validate_registration(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        text = user_text(tracker)
        if text and PLACE_QUESTION.search(text) and tracker.get_slot("requested_slot") == "registration" \
                and not _DONT_KNOW.search(text):
            return {"registration": None}  # "海淀算示范区吗" asks; the ask action answers it in context
        code = self._code("registration", value)
        if code == UNKNOWN:
            return self._unknown("registration", tracker)
        return {"registration": code if code in VALID["registration"] else None}

    async def validate_hightech(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        code = self._code("hightech", value)
        if code == UNKNOWN:
            return self._unknown("hightech", tracker)
        return {"hightech": code if code in VALID["hightech"] else None}


class AskProfileFact(PolicyAction):
    """Asks for one fact; asked again, it says why the fact matters and what would settle it, and answers a
    question the user asked instead, in the context of the check."""

    reads_profile_facts = False  # the form's extraction read the message

    @property
    @abstractmethod
    def slot(self) -> str:
        """The profile fact this action asks for."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        attempts = attempts_of(tracker).get(self.slot, 0)
        text = user_text(tracker)
        buttons = BUTTONS[self.slot]()
        noted = facts_this_turn(tracker, exclude=self.slot)
        answered = answered_this_turn(tracker)
        from actions.profile import slot_before_turn

        waiting = slot_before_turn(tracker, "requested_slot") == self.slot or attempts  # asked in an earlier turn
        if answered and waiting:  # "插一句 有效期到什么时候" was answered by its own action: back to the check
            dispatcher.utter_message(text=f"回到刚才的问题：{QUESTIONS[self.slot]}", buttons=buttons)
        elif waiting and text and QUESTION.search(text) and not _DONT_KNOW.search(text):
            # "插个话 国高跟中关村高新是不是都认": the question first, then the one the check is waiting for
            answer = await self.context_answer(text)
            kept = f"（已记下：{noted}）" if noted else ""
            dispatcher.utter_message(text=f"{answer}{kept}\n{AGAIN[self.slot]}", buttons=buttons)
        elif noted and text and QUESTION.search(text) and "subject_type" in facts_slots_this_turn(tracker):
            # "民非算你们说的哪一类啊 算社会组织吗": the answer to their question is the kind, per 三（一）
            kind = SUBJECT_NAMES.get(tracker.get_slot("subject_type") or "", "")
            rule = (f"按三（一），{kind}属于列明的支持对象（企业另须为国家高新或中关村高新）。" if kind and kind not in ("其他主体", "类别待确认的单位")
                    else "")
            dispatcher.utter_message(text=f"{rule}已记下：{noted}。{QUESTIONS[self.slot]}", buttons=buttons)
        elif noted:
            dispatcher.utter_message(text=f"好的，已记下：{noted}。{QUESTIONS[self.slot]}", buttons=buttons)
        elif attempts == 0 or answered:  # first time asked (an explanation may stand above it)
            dispatcher.utter_message(text=QUESTIONS[self.slot], buttons=buttons)
        else:
            said = f"没能从“{shorten(text, 20)}”判断出来。" if text and not _DONT_KNOW.search(text) else ""
            dispatcher.utter_message(text=f"{said}之所以要问：{WHY[self.slot]}\n{HOW[self.slot]}", buttons=buttons)
        return []

    async def context_answer(self, text: str) -> str:
        """A question asked while the check waits for this fact: about the fact, or else from the document."""
        supposed = (message_facts_of(self.vocabulary, text).get(self.slot) or "") if HYPOTHETICAL.search(text) else ""
        if supposed in SUPPOSED_RULES.get(self.slot, {}):  # "要是注册在北京别的区会咋样": the rule for that case
            return SUPPOSED_RULES[self.slot][supposed]
        if any(w in text for w in TOPIC_WORDS[self.slot]):
            if self.slot == "registration":
                return ("文件只说中关村示范区实行“一区多园”（二（三）），没有列出具体园区或街道范围，所以我没法替您判断某个区或园区"
                        "是否在范围内。" + WHY["registration"])
            return WHY[self.slot] + HOW[self.slot].rstrip("：")
        hits = await self.call(self.store.search, text, 1)
        from bot.knowledge.relevance import related

        if hits and related(hits[0].score):
            return f"文件中相关的规定（{hits[0].citation}）：「{shorten(hits[0].text, 120)}」"
        return "这个问题文件里没有直接对应的规定，可以稍后转人工细问。"


#: what 三（一） says of a supposed fact ("要是…会怎样"), asked while the check waits for that fact
SUPPOSED_RULES = {
    "registration": {
        "zgc": "按三（一），注册在中关村示范区范围内的（企业还须为国家高新或中关村高新）属于支持对象。",
        "beijing_other": "按三（一），注册在北京市其他地区、符合支持条件的创新主体“参照执行”——不是直接适用，也不是不能申报。",
        "outside": "按三（一），支持对象须注册在北京（示范区内直接适用，北京市其他地区参照执行），注册在北京以外的不属于支持对象。",
    },
    "hightech": {
        "none": "按三（一），企业须为国家高新技术企业或中关村高新技术企业；没有这两种资质的企业不属于支持对象。",
        "national": "按三（一），国家高新技术企业满足资质条件，还要看注册地。",
        "zgc": "按三（一），中关村高新技术企业满足资质条件，还要看注册地。",
    },
}


def message_facts_of(vocabulary: Vocabulary, text: str) -> dict[str, str | None]:
    """The profile facts a text states, read in context, without a tracker (the NLU's entities aside)."""
    from actions.profile import resolve

    return resolve(vocabulary, text, [])


def answered_this_turn(tracker: Tracker) -> bool:
    """Whether another action already answered the latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("text") or "").strip() not in ("", ENGLISH_NOTE):
            return True
    return False


def previous_user_text(tracker: Tracker) -> str:
    """The user's message before the latest one, in the corpus's writing ("" if none)."""
    from actions.base import _normalized

    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen += 1
            if seen == 2:
                text = event.get("text") or ""
                return "" if text.startswith("/") else _normalized(text)
    return ""


def facts_slots_this_turn(tracker: Tracker) -> set[str]:
    """The profile slots set since the latest user message."""
    out: set[str] = set()
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") in PROFILE and event.get("value"):
            out.add(event["name"])
    return out


def facts_this_turn(tracker: Tracker, exclude: str) -> str:
    """The profile facts the latest message gave (other than the one being asked), in words."""
    from actions.profile import slot_before_turn

    seen: dict[str, str] = {}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") in PROFILE and event.get("name") != exclude:
            seen.setdefault(event["name"], event.get("value"))
    # a slot put back to what it was (an entity the message only asked about) is no news
    seen = {k: v for k, v in seen.items() if v != slot_before_turn(tracker, k)}
    names = {"subject_type": SUBJECT_NAMES, "hightech": HIGHTECH_NAMES,
             "registration": {"zgc": "注册在中关村示范区", "beijing_other": "注册在北京其他地区", "outside": "注册在北京以外",
                              "beijing": "注册在北京（是否在示范区待确认）"}}
    return "；".join(names[k].get(v, "") for k, v in seen.items() if isinstance(v, str) and names[k].get(v))


class ActionAskSubjectType(AskProfileFact):
    slot = "subject_type"  # type: ignore[assignment]


class ActionAskRegistration(AskProfileFact):
    slot = "registration"  # type: ignore[assignment]


class ActionAskHightech(AskProfileFact):
    slot = "hightech"  # type: ignore[assignment]


ASKERS: dict[str, type[AskProfileFact]] = {"subject_type": ActionAskSubjectType, "registration": ActionAskRegistration,
                                           "hightech": ActionAskHightech}


class ActionCheckEligibility(PolicyAction):
    """A verdict per condition of section 三（一）, with the words each rests on."""

    def name(self) -> str:
        return "action_check_eligibility"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        already = answered_this_turn(tracker)
        profile = profile_of(tracker)
        events = [*await give_verdict(self, dispatcher, profile), SlotSet("profile_attempts", None)]
        text = user_text(tracker)
        if text and not already:
            # "在示范区登记的 对了我们想办个国际学术会议 有对应条款不": the check ends, and the rest is answered too
            verdict = events[0]["value"] if events and events[0].get("name") == "eligibility_verdict" else {}
            if need_mentions(self.vocabulary, text) and (verdict or {}).get("outcome") != "not_eligible":
                from actions.funds import ActionRecommendFund

                events += await ActionRecommendFund(self._store, self._vocabulary).recommend(dispatcher, tracker, text)
            from actions.compound import answer_the_rest

            events += await answer_the_rest(self, dispatcher, tracker, domain, "own_case")
        return events
