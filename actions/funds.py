"""Route a need to a fund and measures; list and describe funds and measures."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import button, say, shorten, steps
from actions.base import PolicyAction, previous_reply, user_text
from bot.knowledge.store import FundInfo, MeasureInfo


def measure_button(m: MeasureInfo) -> dict[str, str]:
    return button(f"第{m.number}条详情", "ask_measure", measure=str(m.number))


def fund_label(f: FundInfo) -> str:
    return f"【{f.short_name}】"


#: the user wants to apply (without naming a need): "我们学校想报"
WANTS_TO_APPLY = re.compile(r"想.{0,6}?(?:报|申请|申报|参与)|能(?:不能)?(?:报|申请|申报)|有资格")


class ActionRecommendFund(PolicyAction):
    """Pick the support fund and measures that match the user's need, citing the measures."""
    checks_scope = True

    def name(self) -> str:
        return "action_recommend_fund"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        need = user_text(tracker)
        if not need:
            dispatcher.utter_message(response="utter_ask_need")
            return []
        from actions.eligibility import (ELIGIBILITY_ASK, FIRST_PERSON, NEED_ASK, WHICH_MEASURES,
                                         ActionRouteEligibility, states_own_facts)
        from actions.profile import message_facts

        if (kinds := self.vocabulary.kinds_in(need)) and WHICH_MEASURES.search(need) and not self._topics(need):
            events = await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
            return [SlotSet("need_text", need), *events]
        if await self.own_case_first(need, tracker):
            # "我们是外企在京设的研发中心 持国家高新证 注册地在示范区 想报": they describe themselves and ask to apply
            return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        if not self._topics(need) and not NEED_ASK.search(need) and states_own_facts(tracker, self.vocabulary):
            # "等等 搞错了 是想以我们大学的名义报 大学也注册在示范区": facts about the user, no need named
            return await ActionHandleProfileFacts(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        if await self.spans_funds(topics := self._topics(need)):
            events = await self.several_needs(dispatcher, need, topics)
        elif not topics and (WANTS_TO_APPLY.search(need) or ELIGIBILITY_ASK.search(need)) and (
                kinds or self.vocabulary.best(need, "subject_type") or FIRST_PERSON.search(need) and (any(
                    message_facts(tracker, self.vocabulary).values())  # "我们手里有国高证书 想查查够不够格"
                    or ELIGIBILITY_ASK.search(need))):  # "想问下俺们够不够格": their own case, no need named
            return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        else:
            events = await self.recommend(dispatcher, tracker, need)
        return [*events, *await self.also_asked(dispatcher, tracker, domain, need, topics)]

    async def own_case_first(self, need: str, tracker: Tracker) -> bool:
        """The message describes the user's own organisation (two facts or more) and asks to apply."""
        from actions.eligibility import ELIGIBILITY_ASK

        if not (WANTS_TO_APPLY.search(need) or ELIGIBILITY_ASK.search(need)):
            return False
        from actions.eligibility import describes_own_case

        return describes_own_case(tracker, self.vocabulary)

    async def also_asked(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, need: str,
                         topics: list[str]) -> list[EventType]:
        """What a message asks besides its need (:mod:`actions.compound`)."""
        if not topics:
            return []
        from actions.compound import answer_the_rest

        return await answer_the_rest(self, dispatcher, tracker, domain, "need")

    async def recommend(self, dispatcher: CollectingDispatcher, tracker: Tracker, need: str) -> list[EventType]:
        match = await self.call(self.store.match_need, need)
        if match is None:
            hits = await self.call(self.store.search, need, 1)
            if hits:
                return [*await self._answer_from_hit(dispatcher, need, hits[0]), SlotSet("need_text", need)]
            dispatcher.utter_message(
                text="没有找到和您的需求直接对应的措施。可以说得具体些（比如融资、人才、专利、孵化器、出海），或看看全部资金。",
                buttons=steps("funds", "human"))
            return [SlotSet("need_text", need), SlotSet("unanswered_question", need)]
        fund = match.fund
        lines = [f"根据您的需求，对口的是{fund_label(fund)}支持资金（《{fund.name}》），相关措施："]
        for m in match.measures:
            why = "、".join(match.reasons.get(m.number, [])[:3])
            lines.append(f"· 第{m.number}条 {m.title}" + (f"（对应“{why}”）" if why else ""))
        if match.others:  # the user's words also name measures of another fund
            lines.append("另外，您提到的" + "；".join(
                f"“{'、'.join(match.reasons.get(m.number, [])[:2])}”对应第{m.number}条 {m.title}（属{m.fund_name}资金）"
                for m in match.others) + "。")
        lines.append("文件未写明支持金额和申报时间，以该资金管理办法和申报指南为准。")
        buttons = [*(measure_button(m) for m in match.measures[:3]), *steps("eligibility", "materials")]
        say(dispatcher, "\n".join(lines),
            citations=[(m.citation, shorten(m.text, 300), m.section_id) for m in [*match.measures, *match.others]],
            buttons=buttons)
        return [SlotSet("need_text", need), SlotSet("suggested_fund", fund.code), SlotSet("fund", fund.code),
                SlotSet("suggested_measures", [m.number for m in match.measures])]

    def _topics(self, text: str) -> list[str]:
        """The need topics a message names, in the order it names them, each once."""
        return list(dict.fromkeys(m.value for m in sorted(self.vocabulary.find(text, "topic"), key=lambda m: m.start)))

    async def spans_funds(self, topics: list[str]) -> bool:
        """Whether the needs named belong to more than one fund (then each is answered on its own)."""
        if len(topics) < 2:
            return False
        funds = set()
        for code in topics:
            funds.update(m.fund_code for m in await self.call(self.store.measures_for_topic, code))
        return len(funds) >= 2

    async def several_needs(self, dispatcher: CollectingDispatcher, need: str, topics: list[str]) -> list[EventType]:
        """"首台套跟北交所分别对应哪条": each need with its measures and fund."""
        lines, cited, numbers = ["您问到几方面，文件中分别对应："], [], []
        names = await self.call(self.store.topics)
        for code in topics:
            measures = await self.call(self.store.measures_for_topic, code)
            if not measures:
                continue
            # "海外研发中心" names 第17条 of the four international measures: those the user's words name, if any
            measures = [m for m in measures if any(k in need for k in m.keywords)] or measures
            lines.append(f"· {names.get(code, (code, []))[0]}：" + "；".join(
                f"第{m.number}条 {m.title}（{m.fund_name}资金）" for m in measures))
            for m in measures:
                if m.number not in numbers:
                    numbers.append(m.number)
                    cited.append((m.citation, shorten(m.text, 300), m.section_id))
        lines.append("文件未写明支持金额和申报时间，以对应资金管理办法和申报指南为准。")
        say(dispatcher, "\n".join(lines), citations=cited, buttons=[*steps("eligibility", "materials")])
        return [SlotSet("need_text", need), SlotSet("suggested_measures", numbers)]

    async def _answer_from_hit(self, dispatcher: CollectingDispatcher, need: str, hit) -> list[EventType]:  # type: ignore[no-untyped-def]
        measure = await self.call(self.store.measure, hit.title)
        if measure is None or measure.fund_code is None:
            say(dispatcher, f"文件中与此最相关的内容：\n「{shorten(hit.text)}」",
                citations=[(hit.citation, hit.text, hit.section_id)], buttons=steps("funds", "human"))
            return []
        fund = await self.call(self.store.fund, measure.fund_code)
        say(dispatcher,
            f"最相关的是第{measure.number}条“{measure.title}”，属于{fund_label(fund)}支持资金（《{fund.name}》）。\n"
            f"「{shorten(measure.text)}」",
            citations=[(measure.citation, measure.text, measure.section_id)],
            buttons=[*steps("eligibility", "materials")])
        return [SlotSet("suggested_fund", fund.code), SlotSet("fund", fund.code),
                SlotSet("suggested_measures", [measure.number])]


class ActionHandleProfileFacts(PolicyAction):
    """Facts about the user outside the form. With a need in the same message ("我们是示范区的高新企业，想解决贷款
    问题") the need is answered first — the facts are kept in the profile for the eligibility check; facts alone
    start (or redo) the eligibility check."""
    checks_scope = True

    def name(self) -> str:
        return "action_handle_profile_facts"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        if self.latest(tracker, "topic"):
            events = await ActionRecommendFund(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
            return [*events, FollowupAction("action_listen")]
        from actions.eligibility import ActionRouteEligibility

        # a kind of applicant in general, or the user's own case (verdict now, or the check for what is missing)
        return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)


ORDINALS = {"第一个": 0, "头一个": 0, "第一条": 0, "前一个": 0, "第二个": 1, "第二条": 1, "后一个": 1, "第三个": 2}


def ordinal_measures(tracker: Tracker, text: str) -> list[int]:
    """Measures the message points at by their place in the previous reply ("第二个", "跟第一个"), in the order the
    message names them."""
    said = [(text.find(word), index) for word, index in ORDINALS.items() if word in text]
    if not said:
        return []
    previous = previous_reply(tracker)
    listed = list(dict.fromkeys(int(n) for n in re.findall(r"第(\d{1,2})条", previous.split("依据：")[0])))
    if len(listed) < 2:
        return []
    return list(dict.fromkeys(listed[i] for _, i in sorted(said) if i < len(listed)))


async def reroute(action: PolicyAction, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                  doc) -> list[EventType] | None:  # type: ignore[no-untyped-def]
    """A question read as "list the funds" that says more: which measures suit a kind of applicant, a need
    ("科技保险补贴是哪个资金的"), a detail the document does not state, or a fact of the document."""
    text = user_text(tracker)
    if not text:
        return None
    if numbers := ordinal_measures(tracker, text):  # "第二个归哪个资金管 跟第一个是一个资金吗"
        measures = [m for n in numbers if (m := await action.call(action.store.measure, n))]
        funds = {m.fund_code: await action.call(action.store.fund, m.fund_code) for m in measures if m.fund_code}
        lines = [f"第{m.number}条 {m.title}：属【{m.fund_name}】支持资金"
                 + (f"（《{f.name}》）。" if (f := funds.get(m.fund_code)) else "。") for m in measures]
        if len(measures) >= 2:
            same = len({m.fund_code for m in measures}) == 1
            lines.append("两条属于同一项资金。" if same else "两条分属不同的资金。")
        say(dispatcher, "\n".join(lines), citations=[(m.citation, shorten(m.text, 300), m.section_id) for m in measures],
            buttons=[*(measure_button(m) for m in measures), *steps("eligibility")])
        return [SlotSet("measure", str(measures[0].number)), SlotSet("fund", measures[0].fund_code)] if measures else []
    from actions.eligibility import (ELIGIBILITY_ASK, PROFILE, WHICH_MEASURES, ActionRouteEligibility, own_kind,
                                     states_own_facts)

    router = ActionRouteEligibility(action._store, action._vocabulary)
    if (kinds := action.vocabulary.kinds_in(text) or own_kind(tracker, text)) and WHICH_MEASURES.search(text):
        return await router.answer(dispatcher, tracker, domain)  # the measures for the kind (and what else it asks)
    asks = ELIGIBILITY_ASK.search(text) or WANTS_TO_APPLY.search(text)
    if asks and (kinds or action.vocabulary.best(text, "subject_type") or any(tracker.get_slot(s) for s in PROFILE)):
        # "国企能参与吗", "咱学校也想报一下", "那咱们这情况直接就能报了吧" read as another intent
        return await router.answer(dispatcher, tracker, domain)
    if states_own_facts(tracker, action.vocabulary):
        # "等下 注册地其实不在示范区 在北京其他区", "营业执照地址就在示范区里": facts about the user — judged (again)
        return await ActionHandleProfileFacts(action._store, action._vocabulary).answer(dispatcher, tracker, domain)
    from actions.facts import asked_fact

    if asked_fact(action, tracker):
        from actions.facts import ActionAnswerDocFact

        return await ActionAnswerDocFact(action._store, action._vocabulary).answer(dispatcher, tracker, domain)
    if doc.unstated_topic(text):
        from actions.unstated import answer_unstated

        return await answer_unstated(action, dispatcher, tracker)
    if action.vocabulary.find(text, "topic"):  # the corpus's need words, not a generic "资金"
        return await ActionRecommendFund(action._store, action._vocabulary).answer(dispatcher, tracker, domain)
    return None


class ActionListFunds(PolicyAction):
    checks_scope = True

    def name(self) -> str:
        return "action_list_funds"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        doc = await self.call(self.store.document)
        if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
            return rerouted
        funds = await self.call(self.store.funds)
        total = sum(len(f.measures) for f in funds)
        lines = [f"{doc.ref}设立{len(funds)}项支持资金，共{total}条措施："]
        for i, f in enumerate(funds, 1):
            numbers = [m.number for m in f.measures]
            span = f"第{numbers[0]}–{numbers[-1]}条" if len(numbers) > 1 else f"第{numbers[0]}条"
            lines.append(f"{i}. {f.short_name}（{span}）")
        lines.append("想了解哪一项？")
        say(dispatcher, "\n".join(lines), citations=[(f.citation, f"制定实施《{f.name}》", f.section_id) for f in funds],
            buttons=[button(f.short_name, "ask_fund", fund=f.code) for f in funds])
        return []


class ActionDescribeFund(PolicyAction):
    def name(self) -> str:
        return "action_describe_fund"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        text = user_text(tracker)
        doc = await self.call(self.store.document)
        if text and doc.unstated_topic(text):
            from actions.unstated import answer_unstated

            return await answer_unstated(self, dispatcher, tracker)
        named = list(dict.fromkeys(m.value for m in sorted(self.vocabulary.find(text, "fund"), key=lambda m: m.start))) \
            if text else []
        codes = named if len(named) >= 2 else [self.current(tracker, "fund")]  # "科技金融和生态环境两个资金有啥区别"
        funds = [f for c in codes if c and (f := await self.call(self.store.fund, c))]
        if not funds:
            return await ActionListFunds(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        lines = []
        for fund in funds:
            measures = "；".join(f"第{m.number}条 {m.title}" for m in fund.measures)
            lines.append(f"{fund_label(fund)}依据《{fund.name}》，{shorten(self._purpose(fund.intro), 90)}\n"
                         f"包括：{measures}。")
        say(dispatcher, "\n".join(lines), citations=[(f.citation, f.intro, f.section_id) for f in funds],
            buttons=[*(measure_button(m) for m in funds[0].measures[:3]), *steps("eligibility", "materials")])
        return [SlotSet("fund", funds[-1].code)]

    @staticmethod
    def _purpose(intro: str) -> str:
        """The intro without the "制定实施《…》，" clause, which the answer already names."""
        head, sep, rest = intro.partition("》")
        return rest.lstrip("，,") if sep and head.startswith("制定实施") else intro


#: details of applying no measure states, asked about named measures: the answer is that they are not stated
OPEN_DETAILS = ("combining", "review", "payment", "thresholds", "rules", "contact", "budget", "quota", "method", "spending")


class ActionDescribeMeasure(PolicyAction):
    def name(self) -> str:
        return "action_describe_measure"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        text = user_text(tracker)
        doc = await self.call(self.store.document)
        if text and (topic := doc.unstated_topic(text)) and topic["code"] in OPEN_DETAILS:
            # "第8条和第10条能一块报吗 会不会算重复支持": a detail the measures leave open, not their text
            from actions.unstated import answer_unstated

            return await answer_unstated(self, dispatcher, tracker, topic)
        named = sorted(self.vocabulary.find(text, "measure"), key=lambda m: m.start) if text else []
        numbers = list(dict.fromkeys(m.value for m in named))
        if len(numbers) >= 2:  # "第5条和第6条分别属于哪个资金"
            return await self.several(dispatcher, tracker, domain, numbers)
        number = self.latest(tracker, "measure")
        measure = await self.call(self.store.measure, int(number)) if number else None
        if measure is None and (text := user_text(tracker)):
            measure = await self.call(self.store.measure, text)
            if measure is None:
                hits = [h for h in await self.call(self.store.search, text, 3) if h.section_id.count("/") == 3]
                measure = await self.call(self.store.measure, hits[0].title) if hits else None
        if measure is None and number is None and (slot := tracker.get_slot("measure")):
            measure = await self.call(self.store.measure, str(slot))
        if measure is None:
            count = len(await self.call(self.store.measures))
            dispatcher.utter_message(
                text=f"文件共有{count}条措施（第1–{count}条），没有找到您说的这一条。可以说“第5条”或措施名称。",
                buttons=steps("funds"))
            return []
        text = f"第{measure.number}条 {measure.title}（属{measure.fund_name}资金）：\n{measure.text}"
        named = list(dict.fromkeys(w["quote"] for w in measure.supports if w.get("kind") != "innovation_subject"))
        if not measure.supports:
            text += "\n本条没有点名特定的支持对象，申报主体按三（一）的规定。"
        elif not named:
            text += "\n本条面向各类“创新主体”，没有点名特定对象，申报主体按三（一）的规定。"
        say(dispatcher, text, citations=[(measure.citation, measure.text, measure.section_id)],
            buttons=steps("eligibility", "materials"))
        from actions.compound import answer_the_rest

        events = await answer_the_rest(self, dispatcher, tracker, domain, "measure")  # "第4条是啥 补多少"
        return [SlotSet("measure", str(measure.number)), SlotSet("fund", measure.fund_code), *events]


    async def several(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                      numbers: list[str]) -> list[EventType]:
        """Several measures named in one question: each with its fund and a short quote."""
        found = [m for n in numbers if n.isdigit() and (m := await self.call(self.store.measure, int(n)))]
        if not found:
            return []
        lines = [f"· 第{m.number}条 {m.title}（属{m.fund_name}资金）：「{shorten(m.text, 80)}」" for m in found]
        say(dispatcher, "\n".join(lines), citations=[(m.citation, m.text, m.section_id) for m in found],
            buttons=[*(measure_button(m) for m in found[:3]), *steps("eligibility")])
        from actions.compound import answer_the_rest

        events = await answer_the_rest(self, dispatcher, tracker, domain, "measure")
        return [SlotSet("measure", str(found[-1].number)), SlotSet("fund", found[-1].fund_code), *events]


class ActionAnswerCapabilities(PolicyAction):
    """"What can you do" — unless the question says more ("众创空间能用哪条"): then that is answered."""

    def name(self) -> str:
        return "action_answer_capabilities"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        doc = await self.call(self.store.document)
        if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
            return rerouted
        dispatcher.utter_message(response="utter_capabilities")
        return []
