"""The profile facts one message states, read in context: which of several mentions the user means.

Rasa fills a slot with the *last* entity of its kind, and a message often names several: "总部在杭州 北京没有注册
主体", "注册在河北廊坊 北京只有个研发团队", "高企和中关村高新都还没有 今年刚递的高企材料". One resolver decides, for
every question action (:func:`profile_events`, applied in ``PolicyAction.run``) and the eligibility form:

- a place right after a registration cue (注册在, 注册地, 营业执照上) is the registration;
- a place the message denies being registered in (北京没有注册主体, 不在北京注册) is not;
- a place named in a question about the 示范区 itself (示范区范围咋界定, 有名单么) states no registration;
- a certificate applied for (刚递的高企材料, 在申请国高) or asked about as a requirement (需要是国高吗) is not held;
- a named kind (科研院所) beats one that needs asking (事业单位, 做园区运营的), which beats a generic word (公司).

Otherwise the more telling value wins (:data:`bot.knowledge.vocabulary.WEAK_VALUES`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.base import user_text
from actions.knowledge import get_vocabulary
from bot.knowledge.vocabulary import Vocabulary, is_counterpart, preferred

PROFILE = ("subject_type", "registration", "hightech")
AMBIGUOUS = "ambiguous"

#: what introduces the place an organisation is registered in
REGISTRATION_CUE = re.compile(r"(?:注册|登记)(?:地址|地)?(?:其实|实际上?|现在|目前|都|也|还|就)?(?:是|在|于|为|落在|位于)?|"
                              r"营业执照(?:上)?(?:的)?(?:注册)?(?:地址|地)?(?:是|在|写的是?|写着)?|工商(?:注册|登记)?(?:在|是)")
#: after a place: the organisation is not registered there ("北京没有注册主体", "北京这边没注册")
NOT_REGISTERED_AFTER = re.compile(r"^(?:这边|那边|本地|当地)?(?:并)?(?:没有|没|无|不)(?:注册|登记|主体|法人|公司|实体)"
                                  # "中关村这边只是个办事处 没有独立法人"
                                  r"|^(?:这边|那边)?(?:只是|只有|就是|只|仅有|就有)(?:个|一个)?.{0,4}?(?:办事处|代表处|研发团队|团队|项目组|分支|"
                                  r"研发中心|办公点|分部|办公室)")
#: before a place: "不在北京注册", "并非在示范区"
NOT_REGISTERED_BEFORE = re.compile(r"(?:不在|没在|并非|不是在|没有在)$")
#: a question about the 示范区 itself: a place named in it is not where the user is registered
PLACE_INQUIRY = re.compile(r"界定|名单|范围(?:是|有|包括|咋|怎么|在哪|多大)|哪些(?:园区|区|地方|街道|园)|包括哪|包不包括|"
                           r"有哪些园|哪几个(?:园|区)|怎么(?:查|确认|知道).{0,6}(?:示范区|范围)")
#: the user stating where they are (a place question that also states it still gives the fact)
STATES_PLACE = re.compile(r"我们在|我们是在|我司在|公司在|位于|我们.{0,4}注册")
#: a certificate being applied for, not held: "今年刚递的高企材料", "在申请国高"
APPLYING_BEFORE = re.compile(r"(?:正在|在|刚刚?|今年|准备|打算|计划|还在|已经)(?:申请|申报|递交?|交|提交|报|评)(?:了)?(?:的)?$")
#: … and after it: "国高刚递了材料还没批", "高企在申请中"
APPLYING_AFTER = re.compile(r"^(?:资质|证书|认定)?(?:的)?(?:材料)?(?:刚刚?|正在|在|已经|还在|今年)?(?:递|交|提交|申请|申报)(?!下来|到|成功|通过|好)"
                            r"|^.{0,10}(?:还没批|没批下来|还在审|在审|审核中|没下来|没评上|还没通过|没通过|(?<!没有)(?<!没)(?<!未)过期|已经到期|到期了|"
                            r"到期没续|到期未续|没续上|没有续|"
                            r"被取消|取消了|失效了|没复审|复审没|没通过复审)")
#: a certificate held once: "我们之前是国高 去年没复审通过"
LAPSED_BEFORE = re.compile(r"(?:之前|以前|原来|曾经|过去)(?:是|有|拿过|有过)?$")
#: a certificate asked about as a requirement: "需要是国高吗", "必须有高企吗"
REQUIREMENT_BEFORE = re.compile(r"(?:需要|要求|必须|一定要|得|非得)(?:是|有|具备|先有)?$")
#: a certificate named in a question about certificates: "国高跟中关村高新是不是都认", "国高和中关村高新有区别吗"
CERTIFICATE_QUESTION_AFTER = re.compile(r"^\s?[^\s，,。；;！!]{0,12}(?:是不是都|都认|都算|都行|都可以|认不认|哪个都|有(?:啥|什么)?区别|"
                                        r"区别(?:大|是)?|名单|名录|在哪查|怎么查|去哪查|都要有|都得有|两个都要|有一个就行|"
                                        r"有一个就可以|只要一个|要同时)")
#: before a kind: not theirs ("不是以公司名义", "并非企业")
NOT_THIS_KIND_BEFORE = re.compile(r"(?:不是以|不以|不是|并非|而非)$")
#: words for "an enterprise" that say nothing more (a kind that needs asking beats them)
GENERIC_SUBJECT = {"公司", "企业", "有限公司", "单位"}
#: a kind that needs asking, in a self-description: "我们是做园区运营的", "大学科技园的运营公司"
SELF_DESCRIPTION = re.compile(r"(?:是|做|搞|干|作为|属于|为)\S{0,3}$")
ROLE_AFTER = re.compile(r"^(?:的)?(?:运营)?(?:公司|方|机构|单位|主体)")


@dataclass(frozen=True)
class Mention:
    slot: str
    code: str
    start: int
    end: int
    surface: str


def mentions(vocabulary: Vocabulary, text: str, entities: list[dict[str, Any]], slot: str) -> list[Mention]:
    """Every mention of a profile fact in the message: the NLU's entities, then words it did not tag."""
    out: list[Mention] = []
    for e in entities:
        if e.get("entity") != slot:
            continue
        code = vocabulary.code(slot, str(e.get("value")))
        start, end = e.get("start"), e.get("end")
        if not code:
            continue
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            out.append(Mention(slot, code, start, end, text[start:end]))
        else:  # a button's entity, or offsets of another writing of the text: no context
            out.append(Mention(slot, code, len(text), len(text), str(e.get("value"))))
    for m in vocabulary.find(text, slot) if text else []:
        overlapping = [o for o in out if m.start < o.end and o.start < m.end]
        if all(m.end - m.start > o.end - o.start for o in overlapping):  # "北京以外" over the NLU's "北京"
            out = [o for o in out if o not in overlapping]
            out.append(Mention(slot, m.value, m.start, m.end, m.text))
    return sorted(out, key=lambda m: m.start)


#: the message asks about an organisation tied to the user's, not about the user's own ("我们学校下面的校办企业呢
#: 也能报吗", "我们孵化的团队能不能申请"): what it says is no fact about the user
THIRD_PARTY = re.compile(r"(?<![做搞干是从])(?:下面|下属|底下|旗下|名下|孵化|投资|投|控股|参股|入驻)的(?:\S{0,4}?)"
                         r"(?:企业|公司|单位|机构|团队|项目|初创)|校办(?:企业|公司|工厂)|子公司|关联(?:公司|企业)|被投(?:企业|公司)|"
                         r"在孵(?:企业|团队|项目)")
#: the message supposes a fact ("要是注册在北京别的区不在示范区会咋样"): a question about the rule, no fact about the user
HYPOTHETICAL = re.compile(r"要是|如果|假如|假设|万一|若是|倘若|比方说|打个比方")
#: a group the user compares themselves with: "跟示范区里的企业待遇一样吗" states nothing about the user
COMPARED_WITH = re.compile(r"(?:跟|和|与|同|比起?)([^，,。；;？?！!\s]{1,12}?)(?:的?待遇|一样|相同|有区别|区别|不同|差别|比)")
#: a place that says where a parent organisation is, not the user's: "外地高校在北京的研究院"
PARENT_ELSEWHERE_AFTER = re.compile(r"^(?:的)?(?:高校|大学|公司|企业|集团|总部|母公司|总公司|单位)(?:在|设在|于)")
#: a place named for its own policies: "那天津本地的科技政策你这有吗" is no registration
PLACE_POLICY_AFTER = re.compile(r"^(?:本地|当地|那边|这边|市|省|区)?的?(?:科技|人才|产业|地方|本地)?(?:政策|措施|补贴|扶持|规定)")
#: asking whether a place is in the zone, not saying it is: "昌平算示范区吗", "在不在示范区", "是不是示范区"
ZONE_ASKED_BEFORE = re.compile(r"(?:算不算|是不是|属不属于|在不在|算|属于|在)$")
ZONE_ASKED_AFTER = re.compile(r"^(?:内|里|范围内?)?(?:吗|么|嘛|不|没)")


#: "到底算不算在示范区里 大兴不是有个…": the question word alone makes it a question
ZONE_QUESTION_BEFORE = re.compile(r"(?:算不算|是不是|属不属于|在不在)(?:在)?$")
#: the zone named after a denial: "不在中关村示范区范围内" (with a place in Beijing: elsewhere in Beijing)
ZONE_DENIED_BEFORE = re.compile(r"(?:不在|没在|不属于|并非在|不是在|唔喺|唔在)$")
#: two registrations compared, not stated: "注册在示范区和注册在北京别的区 结果有什么不一样"
COMPARISON = re.compile(r"不一样|区别|不同|差别|差异|有啥两样")


def _asks_zone(text: str, m: Mention) -> bool:
    if m.surface.startswith("不在") and text[max(0, m.start - 1):m.start] == "在":
        return True  # "在不在示范区": the entity "不在示范区" inside a question
    if m.code == "zgc" and ZONE_QUESTION_BEFORE.search(text[max(0, m.start - 4):m.start]):
        return True
    return m.code == "zgc" and bool(ZONE_ASKED_BEFORE.search(text[max(0, m.start - 3):m.start])) \
        and bool(ZONE_ASKED_AFTER.search(text[m.end:m.end + 5]))


def _registration(text: str, found: list[Mention]) -> str | None:
    kept = [m for m in found
            if not NOT_REGISTERED_AFTER.search(text[m.end:m.end + 8])
            and not NOT_REGISTERED_BEFORE.search(text[max(0, m.start - 4):m.start])
            and not _asks_zone(text, m)]
    if PLACE_INQUIRY.search(text) and not REGISTRATION_CUE.search(text) and not STATES_PLACE.search(text):
        kept = []  # "示范区范围咋界定的 有名单么" asks about the zone
    cues = list(REGISTRATION_CUE.finditer(text))
    if len({m.code for m in kept}) >= 2 and len(cues) >= 2 and COMPARISON.search(text):
        return None  # two registrations compared: a question about the rule
    denied = any(m.code == "zgc" and ZONE_DENIED_BEFORE.search(text[max(0, m.start - 4):m.start]) for m in found)
    if denied and any(m.code == "beijing" for m in kept):
        return "beijing_other"  # "登记地址在北京丰台 查过了不在中关村示范区范围里面"
    for cue in cues:
        # the places named right after the cue: "注册在北京 但不在示范区范围内" → the more telling one
        after = [m for m in kept if 0 <= m.start - cue.end() <= 14]
        # … or right before "注册" after 在: "总公司在苏州工业园区注册"
        before = [m for m in kept if cue.start() == m.end  # "成都注册的"
                  or 0 <= cue.start() - m.end <= 6 and text[max(0, m.start - 1):m.start] == "在"]
        if before and text[cue.start():cue.start() + 3] in ("注册的", "登记的"):
            # "公司是河北廊坊注册的 …北京这边只有个研发中心", "顺义注册的一家科技社团 确认过不在示范区范围"
            return preferred("registration", [m.code for m in before + after])
        if after:
            return preferred("registration", [m.code for m in after])
        if before:
            return preferred("registration", [m.code for m in before])
    return preferred("registration", [m.code for m in kept])


#: no certificate of any kind: "没有任何资质", "啥资质都没有"
NO_CERTIFICATE = re.compile(r"(?:没有|没|无|还没有)(?:任何|什么|啥)?(?:资质|认定|证书)|(?:啥|什么|任何)(?:资质|认定|证书)(?:都|也)(?:没有|没)"
                            # a certificate that lapsed: "证书去年就过期了 一直没续" (the only one the check asks about)
                            r"|(?:证书|资质|认定)(?:[^，,。；;\s]{0,5}?)(?:就|都|也)?(?:已经)?"
                            r"(?:过期|到期|失效|被取消|取消了|没续|没有续)(?!.{0,12}(?:续没续|续上没|不清楚|不确定|不知道|说不好|不好说))")


#: a certificate asked about: "先问下国高和中关村高新 是两个都要有…"
ASKING_BEFORE = re.compile(r"问(?:下|一下|问)$")
#: a kind that only modifies the organisation named after it: "院所投资的一家公司", "学校控股的科技园公司"
MODIFIER_AFTER = re.compile(r"^(?:投资|控股|下属|下面|孵化|设立|成立|创办|举办|主办|出资|参股|旗下)的")
#: a certificate denied after it is named: "国高好像没有", "国高和中关村高新 都没有"
DENIED_AFTER = re.compile(r"^(?:\s*(?:和|与|跟|及|、|,|，|还有)\s*(?:国家高新|国高|中关村高新|高企|高新)(?:技术企业|企业|资质|认定)?)*"
                          r"(?:资质|认定|证书)?\s*(?:好像|应该|也|都|均|暂时|目前|还|都还|也还|我们|咱|从来|一直|根本)*(?:没有|没|无|不是)(?!有?(?:问题|关系|事|过期|到期|失效|被取消))"
                          # "有国高 没有中关村高新": the denial is of the certificate after it
                          r"(?![^\s，,；;。]{0,3}(?:国家高新|国高|中关村高新|高企|高新))")
#: a certificate the user must ask about: "中关村高新得问下财务", "国高不太清楚"
UNSURE_AFTER = re.compile(r"^(?:的)?(?:资质|认定|证书)?(?:的话|这块|这个|方面|这事|这个事|的事|这一块|这方面)?\s*(?:我|我们)?(?:也|还)?"
                          r"(?:(?:得|要|需要|还得|还要|得去|要去)(?:问下|问问|问一下|确认|查一下|查下|核实)|"
                          # "高新证书应该有吧 我问问": a hedge, then a check the user still has to make
                          r"(?:应该有吧|应该是有的吧|好像有|可能有|大概有)\s*(?:我|我们)?(?:再)?(?:问问|问下|问一下|确认下|确认一下|查查|查一下)|"
                          r"不确定|不清楚|不知道|说不准|待确认|不太清楚|不记得|不太确定)"
                          r"(?![^\s，,；;。]{0,3}(?:国家高新|国高|中关村高新|高企|高新))")


#: a clause about the user's parent organisation ("集团母公司是示范区注册的国高"), and one about the user
PARENT_CLAUSE = re.compile(r"(?:母公司|集团公司|集团|总公司|上级单位|上级公司|控股股东|大股东|股东)[^，,。；;\s]*")
SELF_CLAUSE = re.compile(r"(?:我们|咱们|我司|自己|本公司)(?:是|自己|单独|也|就)")
#: "有没有" / "是不是" / "有无" right before a certificate: the sentence asks, it does not deny
EMBEDDED_QUESTION = re.compile(r"有没有|是不是|有无|有没|是否")


def _hightech(text: str, found: list[Mention]) -> str | None:
    codes = [] if found or not NO_CERTIFICATE.search(text) else ["none"]
    for m in found:
        before = text[max(0, m.start - 8):m.start]
        if REQUIREMENT_BEFORE.search(before) or CERTIFICATE_QUESTION_AFTER.search(text[m.end:m.end + 16]) \
                or ASKING_BEFORE.search(before):
            continue  # asked about, not stated
        after = text[m.end:m.end + 20]
        if EMBEDDED_QUESTION.search(text[max(0, m.start - 3):m.start + 2]):
            # "有没有高新我不清楚": a question inside the sentence, no denial; unknown when the user says so
            if UNSURE_AFTER.search(after) or UNSURE_AFTER.search(text[m.end:].lstrip("的资质证书 ")):
                codes.append("unknown")
            continue
        applying = (APPLYING_BEFORE.search(before) or APPLYING_AFTER.search(after[:14])
                    or LAPSED_BEFORE.search(before) or DENIED_AFTER.search(after))
        if m.code != "none" and UNSURE_AFTER.search(after):
            codes.append("unknown")
            continue
        codes.append("none" if m.code != "none" and applying else m.code)
    held = [c for c in codes if c in ("national", "zgc", "certified")]
    if held:
        return preferred("hightech", held)
    return "unknown" if "unknown" in codes else preferred("hightech", codes)


def _subject(vocabulary: Vocabulary, text: str, found: list[Mention]) -> str | None:
    roles = _ambiguous_roles(vocabulary, text)
    # "大学科技园的运营公司" is no 大学: a word inside such a term does not name the kind
    inside = [(m.start(), m.end()) for key in vocabulary.ambiguous_subjects if len(key) >= 3
              for m in re.finditer(re.escape(key), text)]
    found = [m for m in found if not any(s <= m.start and m.end <= e and e - s > m.end - m.start for s, e in inside)]

    def rank(m: Mention) -> int:
        if m.code == AMBIGUOUS:
            return 2
        return 1 if m.code == "enterprise" and m.surface in GENERIC_SUBJECT else 3

    # "不是以公司名义" is no kind of theirs; "三十来个人" is a head count, not an individual applicant; "院所投资的
    # 公司" is a company
    found = [m for m in found if not NOT_THIS_KIND_BEFORE.search(text[max(0, m.start - 4):m.start])
             and not MODIFIER_AFTER.search(text[m.end:m.end + 4])
             and not is_counterpart(text, m.start, m.end)
             and not (m.code == "other" and re.search(r"[0-9一二三四五六七八九十百千来几多两余]$", text[:m.start]))]
    # what the user says they are ("我们是做园区运营的公司 …园区运营服务机构有啥支持") beats a kind they ask about
    cues = [m.end() for m in SELF_CUE.finditer(text)]
    said = [m for m in found if any(0 <= m.start - e <= 2 for e in cues)]
    said_role = any(any(0 <= start - e <= 2 for e in cues) for start, _ in roles)
    if said_role and not any(rank(m) == 3 for m in said):
        return AMBIGUOUS
    best = max(said or found, key=rank, default=None)
    if (best is None or rank(best) == 1) and roles:
        return AMBIGUOUS
    return best.code if best else None


#: the user saying what they are: "我们是", "我司属于一家"
SELF_CUE = re.compile(r"(?:我们|我司|咱们|本单位|我单位|本公司|本所|本院|我所|我院|敝司|敝单位)(?:这边)?(?:是|为|系|属于|算)"
                      r"(?:一家|一个|个|家)?(?:做|搞|干|[^，,。；;\s]{1,20}的)?")


def _ambiguous_roles(vocabulary: Vocabulary, text: str) -> list[tuple[int, int]]:
    """Spans of a kind 三（一） does not settle, describing the user: "我们是做园区运营的", "大学科技园的运营公司"."""
    spans: list[tuple[int, int]] = []
    for key in sorted(vocabulary.ambiguous_subjects, key=len, reverse=True):
        if len(key) < 3:
            continue
        for m in re.finditer(re.escape(key), text):
            if any(s <= m.start() < e for s, e in spans):
                continue
            if SELF_DESCRIPTION.search(text[max(0, m.start() - 5):m.start()]) or ROLE_AFTER.search(text[m.end():]):
                spans.append((m.start(), m.end()))
    return spans


#: the user corrects what they just said: the facts after it stand ("我们是科研院所 … 哦不对不对 说错了 是院所投资的一家公司")
CORRECTION = re.compile(r"说错了|不对不对|更正一下|纠正一下|搞错了|打错了|不是不是")


#: the user does not know whether they are in the zone
ZONE_UNSURE = re.compile(r"(?:说不准|不确定|不清楚|不知道|搞不清|拿不准|吃不准)(?:是不是|在不在|是否在|算不算|有没有在)?.{0,4}(?:示范区|范围)")
#: "注册地在哪我确实不知道", "执照地址得问行政": the user does not know where they are registered
PLACE_UNKNOWN = re.compile(r"(?:注册地址?|注册在哪|执照(?:上的)?地址)(?:在哪|是哪|在哪儿)?(?:里)?[我们也还确实真]{0,4}"
                           r"(?:不知道|不清楚|不确定|说不准|搞不清|记不清|不记得|得问|要问)")
#: words quoted from the document ("文件里这句 符合支持条件的注册在北京市其他地区的创新主体参照执行 是啥意思"): no fact
QUOTED = re.compile(r"[“\"「『][^”\"」』]{4,}[”\"」』]|这句话?[：:\s]*\S{8,}?(?=\s*(?:是啥意思|是什么意思|啥意思|什么意思|怎么理解))")


def resolve(vocabulary: Vocabulary, text: str, entities: list[dict[str, Any]]) -> dict[str, str | None]:
    """slot → the code this message states (None: the message states nothing about it)."""
    if QUOTED.search(text):  # blanked, offsets kept
        text = QUOTED.sub(lambda m: " " * len(m.group(0)), text)
        entities = [e for e in entities if not (isinstance(e.get("start"), int) and not text[e["start"]:e["end"]].strip())]
    cuts = [m.end() for m in CORRECTION.finditer(text)]
    if cuts and cuts[-1] < len(text) - 2:
        later = text[cuts[-1]:]
        shifted = [{**e, "start": e["start"] - cuts[-1], "end": e["end"] - cuts[-1]} for e in entities
                   if isinstance(e.get("start"), int) and e["start"] >= cuts[-1]]
        corrected = resolve(vocabulary, later, shifted)
        if any(corrected.values()):
            earlier = resolve(vocabulary, text[:cuts[-1]], [e for e in entities if not isinstance(e.get("start"), int)
                                                             or e.get("end", 0) <= cuts[-1]])
            return {slot: corrected[slot] or earlier[slot] for slot in corrected}
    found = {slot: mentions(vocabulary, text, entities, slot) for slot in PROFILE}
    # spans about others: a group compared with, a parent organisation's clause
    others = [(m.start(1), m.end(1)) for m in COMPARED_WITH.finditer(text)]
    if SELF_CLAUSE.search(text):  # "集团母公司是示范区注册的国高 我们是下面的子公司 …": the parent's facts are not theirs
        others += [(m.start(), m.end()) for m in PARENT_CLAUSE.finditer(text)]
    found = {slot: [m for m in ms if not any(s <= m.start and m.end <= e for s, e in others)]
             for slot, ms in found.items()}
    found["registration"] = [m for m in found["registration"] if not PLACE_POLICY_AFTER.search(text[m.end:m.end + 8])
                             and not PARENT_ELSEWHERE_AFTER.search(text[m.end:m.end + 8])]
    registration = _registration(text, found["registration"])
    if registration in (None, "beijing") and (ZONE_UNSURE.search(text) or PLACE_UNKNOWN.search(text)):
        registration = "unknown"  # "注册地址我也说不准在不在示范区里头"
    out = {
        "subject_type": _subject(vocabulary, text, found["subject_type"]),
        "registration": registration,
        "hightech": _hightech(text, found["hightech"]),
    }
    if out["hightech"] in ("national", "zgc", "certified") and out["subject_type"] not in (None, "enterprise") \
            and any(m.code == "enterprise" for m in found["subject_type"]):
        # "本人系某研究院退休返聘…本公司为…国家高新技术企业": only enterprises hold the certificate
        out["subject_type"] = "enterprise"
    return out


def message_facts(tracker: Tracker, vocabulary: Vocabulary | None = None) -> dict[str, str | None]:
    """The profile facts of the latest user message (resolved once per message: several steps of a turn ask)."""
    entities = tuple((e.get("entity"), str(e.get("value")), e.get("start"), e.get("end"))
                     for e in tracker.latest_message.get("entities") or [])
    return dict(_resolved(vocabulary or get_vocabulary(), user_text(tracker), entities))


@lru_cache(maxsize=256)
def _resolved(vocabulary: Vocabulary, text: str,
              entities: tuple[tuple[Any, str, Any, Any], ...]) -> tuple[tuple[str, str | None], ...]:
    found = [{"entity": e, "value": v, "start": s, "end": n} for e, v, s, n in entities]
    return tuple(resolve(vocabulary, text, found).items())


def related_organisation(text: str) -> re.Match[str] | None:
    """An organisation tied to the user's that the message asks about ("我们学校下面的校办企业呢"), unless the
    user says that is what they are ("我们是学校控股的科技园公司", "说错了 是院所投资的一家公司")."""
    for m in THIRD_PARTY.finditer(text or ""):
        if not SELF_BEFORE.search(text[:m.start()]):
            return m
    return None


SELF_BEFORE = re.compile(r"(?:^|[\s，,。；;]|我们|我司|咱们|本单位|本公司)(?:就)?(?:是|为|系)[^，,。；;\s]{0,8}$")


def own_facts(tracker: Tracker, vocabulary: Vocabulary | None = None) -> dict[str, str | None]:
    """The facts the latest message states about the user's own organisation: none when it supposes them ("要是注册在
    外地呢") or speaks of an organisation tied to theirs ("我们学校下面的校办企业呢")."""
    text = user_text(tracker)
    if text and related_organisation(text):
        return {}
    if text and HYPOTHETICAL.search(text):  # the supposed clause aside: "我们现在还不是国高 如果明年评上了能报吗"
        return supposed_aside(vocabulary or get_vocabulary(), text)
    return message_facts(tracker, vocabulary)


def supposed_aside(vocabulary: Vocabulary, text: str) -> dict[str, str | None]:
    """The facts of a message outside its supposing clauses ("要是…", "如果…" up to the next clause break)."""
    plain = re.sub(r"(?:要是|如果|假如|假设|万一|若是|倘若|比方说|打个比方)[^，,。；;！!？?\s]*", " ", text)
    return resolve(vocabulary, plain, [])


def slot_before_turn(tracker: Tracker, slot: str) -> Any:
    """A slot's value before the latest user message."""
    value = before = None
    for event in tracker.events:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
        elif event.get("event") == "user":
            before = value
    return before


def profile_events(tracker: Tracker, vocabulary: Vocabulary | None = None) -> list[dict[str, Any]]:
    """The profile facts the latest message states, as slot events: every question action applies them before it
    answers (the slots have custom mappings, so Rasa fills nothing itself). A button's entities count too."""
    stated = own_facts(tracker, vocabulary)
    return [SlotSet(slot, code) for slot, code in stated.items()
            if code is not None and code != tracker.get_slot(slot)]
