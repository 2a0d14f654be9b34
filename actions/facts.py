"""Facts of the document itself, what it does not say, and policies it does not cover."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import HOTLINE, say, shorten, steps
from actions.base import PolicyAction, user_text
from actions.policy_search import DETAIL_WORDS, ActionSearchPolicy, answer_from_index
from actions.unstated import answer_unstated
from bot.knowledge.relevance import covered, strong
from bot.knowledge.store import DocumentInfo, FactInfo

#: words that put a question inside the policy domain: the NLU's "out of scope" is overridden only with one of them
POLICY_DOMAIN = re.compile(r"政策|措施|文件|资金|补贴|补助|资助|奖励|支持|扶持|申报|申请|中关村|示范区|园区|第.{1,3}条|京科发|"
                           r"批下来|拨下来|拨付|中期检查|验收|结项|立项")

#: words that point at this document ("文件对成立年限有要求没")
THIS_DOCUMENT = re.compile(r"中关村|示范区|京科发|支持资金|第.{1,3}条|措施|文件|这个政策|本政策|这政策|该政策|这笔钱|拨下来|拨款")
#: the support this document gives, as the subject of a question ("补助到账了要交所得税吗")
SUPPORT_MONEY = re.compile(r"补助|补贴|资助|奖励|支持资金|这笔钱|这笔资金|拿到的钱|给的钱")

#: "参照执行到底是啥意思 / 算能报还是不能报": the reference clause of 三（一） asked about (not an NLU entity: the words
#: 参照执行 also stand in statements, "我们注册在北京其他区，能参照执行吗")
REFERENCE_ASK = re.compile(r"参照执行.{0,10}(?:啥意思|什么意思|是啥|是什么|怎么理解|是指|指的是|指啥|算能报|算不算|能报还是|"
                           r"待遇|一样|区别)|(?:啥|什么)(?:叫|是)参照执行")


#: "以前2019年那个…措施还有效不 被替掉了吗": the documents this one repealed, asked about by their year or look
REPEAL_ASK = re.compile(r"(?:2019|19年|中科园发|11号|25号|以前(?:的|那个)|原来(?:的|那个)|老的?(?:文件|措施|政策)).{0,24}"
                        r"(?:还有效|还管用|还能用|作废|废止|替掉|替代|取代|失效|还算数)")


def asked_fact(action: PolicyAction, tracker: Tracker) -> str | None:
    """The fact of the document the message asks about: an NLU/vocabulary fact, the reference clause, or the
    documents it repealed."""
    text = user_text(tracker)
    if text and REPEAL_ASK.search(text):
        return "repealed"
    return action.latest(tracker, "fact") or ("reference" if text and REFERENCE_ASK.search(text) else None)


#: how the bot reads a clause whose words users ask about (said beside the quote, never instead of it)
FACT_READINGS = {
    "reference": "“参照执行”即注册在示范区以外、北京市其他地区的创新主体，符合支持条件的参照本措施办理——不是直接适用，"
                 "也不是不能申报；文件没有进一步规定参照的具体办法，以对应资金管理办法、申报指南和主管部门的确认为准。",
}
#: facts that name a way of working without its rules: a question about how it works is told they are not stated
MECHANISMS = ("support_methods", "milestone", "case_by_case", "integrity_ethics", "policy_evaluation")
DETAIL_ASK = re.compile(DETAIL_WORDS + r"|几天|几年|多少年|退出|比例|几成|收费|费用|是不是要|具体|流程|玩法|操作|运作|资质|占")

#: details of an application ("从交申请到批下来得等几天"): asked with words of applying, they are about these funds
APPLYING_DETAILS = ("deadline", "materials", "review", "payment", "quota", "combining")
APPLYING = re.compile(r"交申请|递申请|交了申请|申报|报上去|批下来|审批下来|立项|中期检查|验收|结项|拨付")

HEADER_FACTS = ("title", "doc_number", "issuers", "issue_date", "effective_date", "repealed", "approval")


def curated_answer(info: FactInfo, fact: str) -> str:
    """A curated fact: the clause quoted, then how to read it."""
    return f"文件规定：「{info.quote}」。{FACT_READINGS.get(fact, '')}"


def header_answer(doc: DocumentInfo, fact: str) -> tuple[str, str]:
    """(answer, quoted words) for a fact read from the document's header."""
    title = f"《{doc.title}》"
    if fact == "title":
        return f"文件全称是{title}（{doc.ref}）。", doc.title
    if fact == "doc_number":
        return f"{title}的文号是{doc.doc_number}。", doc.doc_number or ""
    if fact == "issuers":
        who = "、".join(doc.issuers)
        return f"{title}由{who}{'联合' if len(doc.issuers) > 1 else ''}印发。", who
    if fact == "approval":
        if not doc.approval:
            return f"{title}的印发通知没有写明经哪次会议审议。", ""
        return f"印发通知写明：{title}{doc.approval}。", doc.approval
    if fact == "issue_date":
        day = f"{doc.issued.year}年{doc.issued.month}月{doc.issued.day}日" if doc.issued else "（文件未写明）"
        return f"{title}的印发日期是{day}。", day
    if fact == "effective_date":
        when = doc.effective or "文件未写明施行日期"
        day = (f"，即{doc.effective_date.year}年{doc.effective_date.month}月{doc.effective_date.day}日"
               if doc.effective_date and "年" not in when else "")
        return (f"本措施{when}{day}。文件没有规定有效期或截止日期，也没有写明执行到哪一年；"
                "如有调整，以主管部门后续发文为准。"), when
    repeals = "；".join(f"《{r['title']}》（{r['number']}）" for r in doc.repeals)
    return (f"本措施施行后，以下文件同时废止：{repeals}。" if repeals else "文件没有写明废止其他文件。"), repeals


class ActionAnswerDocFact(PolicyAction):
    checks_scope = True

    def name(self) -> str:
        return "action_answer_doc_fact"

    async def header_source(self, doc: DocumentInfo, fact: str) -> tuple[str, str]:
        """(citation, section id) of a header fact: 施行 and 废止 stand in 三（二）; 文号, issuers and date in the
        notice that issues the measures."""
        if fact in ("effective_date", "repealed"):
            words = "起施行" if fact == "effective_date" else "废止"
            section = await self.call(self.store.section_containing, words) or doc.id
            return await self.call(self.store.section_citation, section), section
        return doc.header_citation, doc.id

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        """"文号是多少？另外孵化器能申请不", "谁发的 首台套有支持吗": the other question leads, and its action answers
        the fact beside it (actions/compound.py); a fact asked alone is answered here."""
        text = user_text(tracker)
        if text:
            from actions.eligibility import ELIGIBILITY_ASK, ActionRouteEligibility, need_mentions

            rest = self.vocabulary.without(text, "fact")
            if ELIGIBILITY_ASK.search(rest) and (self.vocabulary.kinds_in(rest)
                                                 or self.vocabulary.best(rest, "subject_type")):
                return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
            if need_mentions(self.vocabulary, rest):
                from actions.funds import ActionRecommendFund

                return await ActionRecommendFund(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        events = await self.answer_fact(dispatcher, tracker, domain)
        from actions.compound import answer_the_rest

        return events + await answer_the_rest(self, dispatcher, tracker, domain, "fact")  # "…哪天施行 谁负责解释"

    async def answer_fact(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> list[EventType]:
        """The fact the message names, from the header or the curated facts (else the index)."""
        fact = asked_fact(self, tracker)
        doc = await self.call(self.store.document)
        text = user_text(tracker)
        several = list(dict.fromkeys(m.value for m in sorted(self.vocabulary.find(text, "fact"), key=lambda m: m.start)))
        curated: dict[str, FactInfo] = await self.call(self.store.facts) if len(several) >= 2 else {}
        if len(several) >= 2 and all(f in HEADER_FACTS or f in curated for f in several):
            # "文号多少 谁发的", "这个文编号是啥 资金哪出的": each fact, from the header or the curated facts
            lines, cites = [], []
            for f in several:
                if f in HEADER_FACTS:
                    answer_text, quote = header_answer(doc, f)
                    citation, section = await self.header_source(doc, f)
                else:
                    info = curated[f]
                    answer_text, quote = curated_answer(info, f), info.quote
                    citation, section = info.citation, info.section_id
                lines.append(answer_text)
                cites.append((citation, quote, section))
            say(dispatcher, "\n".join(lines), citations=cites, buttons=steps("funds", "need"))
            return []
        if fact in HEADER_FACTS:
            text, quote = header_answer(doc, fact)
            citation, section = await self.header_source(doc, fact)
            say(dispatcher, text, citations=[(citation, quote, section)], buttons=steps("funds", "need"))
            return []
        facts: dict[str, FactInfo] = await self.call(self.store.facts)
        if fact in facts:
            f = facts[fact]
            detail = ""
            if fact in MECHANISMS and DETAIL_ASK.search(self.vocabulary.without(text, "fact")):
                # "股权投入是市里直接投还是走引导基金", "伦理审查去哪做 审多久": the document names the mechanism only
                detail = (f"\n文件只写到这一层，没有规定具体怎么操作（由谁办理、条件、流程、时限或费用等）；"
                          f"这些以对应资金管理办法和申报指南为准，也可以转人工或拨打{HOTLINE}咨询。")
            say(dispatcher, curated_answer(f, fact) + detail, citations=[(f.citation, f.quote, f.section_id)],
                buttons=steps("funds", "need"))
            return []
        return await ActionSearchPolicy(self._store, self._vocabulary).answer(dispatcher, tracker, domain)


class ActionAnswerUnstated(PolicyAction):
    """Amounts, deadlines, windows, where to submit: the document does not say; never guess."""
    checks_scope = True

    def name(self) -> str:
        return "action_answer_unstated"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        doc = await self.call(self.store.document)
        text = user_text(tracker)
        from actions.eligibility import ActionRouteEligibility, asks_own_case

        if asks_own_case(tracker, self.vocabulary):
            # "我们在昌平 是中关村高新 想做概念验证 能报吗 给多少钱": the verdict and the need lead, the detail follows
            return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        if text and not doc.unstated_topic(text):  # read as "unstated", but no detail named: maybe it asks more
            from actions.funds import reroute

            if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
                return rerouted
        events = await answer_unstated(self, dispatcher, tracker)
        from actions.compound import answer_the_rest

        return events + await answer_the_rest(self, dispatcher, tracker, domain, "unstated")  # "…另外事业单位影响申请吗"


class ActionAnswerOtherPolicy(PolicyAction):
    """A policy this document does not name. Said only after the index was asked: a question the document does
    cover (above the calibrated threshold, once the other policy's name is set aside) gets the passage instead."""

    def name(self) -> str:
        return "action_answer_other_policy"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        doc = await self.call(self.store.document)
        text = user_text(tracker)
        topic = doc.unstated_topic(text) if text else None
        if topic and topic["code"] == "payment" and SUPPORT_MONEY.search(text):
            # "财政补助到账了要交企业所得税吗": how this money is paid and taxed, not the tax law itself
            return await answer_unstated(self, dispatcher, tracker, topic)
        term = self.vocabulary.other_policy_in(text)
        if not term and text:  # read as "another policy", but none is named: answer it as a question about this one
            from actions.policy_search import ActionSearchPolicy

            return await ActionSearchPolicy(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        rest = text.replace(term, " ") if term else text
        from actions.eligibility import need_mentions

        if term and need_mentions(self.vocabulary, rest):
            # "个税有没有优惠啊 还有我们核心技术骨干想出国交流培训 有没有支持": the other policy is not covered,
            # the need is
            from actions.funds import ActionRecommendFund

            if not self.checks_scope:  # (a question action said so already)
                dispatcher.utter_message(text=f"本文件（中关村支持资金政策）没有涉及“{term}”，可咨询{HOTLINE}或转人工。"
                                              "您问的其他事项：")
            return await ActionRecommendFund(self._store, self._vocabulary).recommend(dispatcher, tracker, rest)
        hits = await self.call(self.store.search, rest, 3) if rest.strip() else []
        if hits and covered(hits[0].score) and (not term or self.latest(tracker, "topic")):
            prefix = f"{doc.ref}没有涉及“{term}”本身（可咨询{HOTLINE}或转人工）；" if term else ""
            return await answer_from_index(self, dispatcher, tracker, hits, prefix=prefix)
        topic = f"“{term}”" if term else "这项政策"
        dispatcher.utter_message(
            text=(f"{doc.ref}（中关村支持资金政策）没有涉及{topic}，我不能替其他政策作答。"
                  f"请咨询{HOTLINE}市民服务热线或转人工。"),
            buttons=steps("human", "funds"))
        return [SlotSet("unanswered_question", user_text(tracker) or None)]


class ActionAnswerOutOfScope(PolicyAction):
    """Off-topic: say what the assistant covers — after asking the index, which may know better than the NLU."""

    checks_scope = True

    def name(self) -> str:
        return "action_answer_out_of_scope"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        text = user_text(tracker)
        from actions.eligibility import ELIGIBILITY_ASK

        if text and ELIGIBILITY_ASK.search(text) and (self.vocabulary.kinds_in(text)
                                                     or self.vocabulary.best(text, "subject_type")):
            from actions.eligibility import ActionRouteEligibility  # "个人能申请吗" read as off-topic

            return await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        from actions.eligibility import states_own_facts

        if states_own_facts(tracker, self.vocabulary):  # "等下 注册地其实不在示范区" read as off-topic
            from actions.funds import ActionHandleProfileFacts

            return await ActionHandleProfileFacts(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        if text and (self.vocabulary.find(text, "fact") or asked_fact(self, tracker)) \
                and not self.vocabulary.off_topic_in(text):
            # "这笔钱拨下来以后谁来监管 用错了会不会追回": a fact of the document (and what it leaves open)
            return await ActionAnswerDocFact(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        from actions.eligibility import need_mentions

        if text and need_mentions(self.vocabulary, text):  # "天使投资机构投早期项目有奖励吗 我们注册在上海": a need
            from actions.funds import ActionRecommendFund

            return await ActionRecommendFund(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        elsewhere = any(m.value == "outside" for m in self.vocabulary.find(text, "registration")) if text else False
        from actions.policy_search import asked_slot

        if text and (slot := asked_slot(tracker)):
            from actions.eligibility import ASKERS, TOPIC_WORDS

            if any(w in text for w in TOPIC_WORDS[slot]):  # "注册地得翻营业执照" while the check asks for it
                dispatcher.utter_message(text=await ASKERS[slot](self._store, self._vocabulary).context_answer(text))
                return []
        # the document's need words count too: "人才落户 公寓 还有核心技术人员去境外培训 有对应的么"
        in_domain = bool(POLICY_DOMAIN.search(text) or SUPPORT_MONEY.search(text) or THIS_DOCUMENT.search(text)
                         or self.vocabulary.find(text, "topic") or self.vocabulary.find(text, "fund")) if text else False
        if text and not elsewhere and not self.vocabulary.other_policy_in(text) \
                and not self.vocabulary.off_topic_in(text):
            doc = await self.call(self.store.document)
            topic = doc.unstated_topic(text)
            # "2023年以后还能报吗 还是只管2022年": how long the measures hold, and whom to contact, are about them
            if topic is not None and topic["code"] in ("end_date", "contact"):  # "受理部门的办公地址和邮箱能给一下吗"
                return await answer_unstated(self, dispatcher, tracker, topic)
            found = await self.call(self.store.search, text, 3)
            hits = found if in_domain else []
            # "公司成立不到两年 文件对成立年限有要求没": a detail of applying that this document leaves open — when
            # the message points at it (not "国家自然科学基金怎么申请")
            # … or a follow-up in a conversation about the document ("好 那接下来我该找谁 具体怎么报" after a verdict)
            from actions.unstated import previous_measure

            about_document = any(tracker.get_slot(s) for s in ("eligibility_verdict", "suggested_fund", "need_text")) \
                or previous_measure(tracker) is not None  # "那这块活动经费怎么算" right after 第10条
            applying = topic is not None and topic["code"] in APPLYING_DETAILS and bool(APPLYING.search(text))
            # the support itself as the subject ("补贴有没有上限", "补助能用来发工资吗") points at this document too
            if topic is not None and (in_domain or about_document) and (
                    THIS_DOCUMENT.search(text) or SUPPORT_MONEY.search(text) or about_document or applying
                    or hits and covered(hits[0].score)):
                return await answer_unstated(self, dispatcher, tracker)
            if hits and covered(hits[0].score):
                return await answer_from_index(self, dispatcher, tracker, hits)
            if found and strong(found[0].score):
                # a passage this close answers it even with none of the document's words ("准备组织一个品牌性的
                # 国际科技交流活动", "那中心城区的机构呢" after 第9条)
                return await answer_from_index(self, dispatcher, tracker, found)
        return out_of_scope(dispatcher, tracker)


def out_of_scope(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """What the assistant covers, and where else to ask; the question is kept for the insights report."""
    dispatcher.utter_message(response="utter_out_of_scope")
    return [SlotSet("unanswered_question", user_text(tracker) or None)]

