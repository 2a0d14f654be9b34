"""The Chinese spaCy pipeline Rasa's ``SpacyNLP`` loads: jieba with the policy dictionary, rules, a trained ``ner``.

Built from the corpus at ``make train`` (``python -m bot train`` calls :func:`ensure`):

- tokenizer: spaCy's Chinese tokenizer on jieba, with the policy user dictionary (lexicon terms, entity words,
  measure references). spaCy's own zh tokenizer uses the global jieba and saves no user dictionary, so
  :class:`PolicyChineseTokenizer` keeps its words with the pipeline and loads them into a jieba of its own;
- ``entity_ruler``: phrase patterns for every entity word of ``policy_corpus/lexicon.yml``, the funds of each
  ``knowledge.yml`` and the spans annotated with a code in ``data/nlu`` (the pattern id is the code: 国高 →
  hightech/national), less the words the annotations show to depend on context (see :func:`context_dependent`), token patterns for the measures the
  corpus numbers (第5条, 措施五 → measure/5) and for negated or pending certificates (不是国高, 还没认定高新,
  国高还在审 → hightech/none);
- ``ner``: trained on the entity spans annotated in ``data/nlu``, for the forms the vocabulary does not list.
  It runs after the ruler and keeps the ruler's entities.

The pipeline is saved as ``models/spacy/zh-policy-<hash>``, the hash covering everything it is built from (so a
changed input is a new path: Rasa knows a spaCy model only by its path and would reuse a stale one from its cache),
and is rebuilt only when that hash changes. Nothing here downloads a model.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from bot.knowledge.corpus import KNOWLEDGE_NAME, LEXICON_NAME, document_dirs
from bot.knowledge.vocabulary import HIGHTECH_NONE, Vocabulary

NAME = "zh-policy"
#: Training settings of the ``ner`` (part of the hash).
NER_SETTINGS = {"epochs": 8, "dropout": 0.2, "seed": 42, "batch": 16, "width": 64, "depth": 2}
#: Words around a negation cue that keep the certificate in its scope: 还没[认定]高新, 不是[国家级]的国高.
_NEG_VERBS = ["认定", "评上", "评为", "认定为", "评定", "拿到", "通过", "获得", "取得", "申请到", "属于", "是", "被",
              "有", "具备", "具有", "算", "拿", "评", "的"]
_CERT_NOUNS = ["资质", "证书", "认定", "资格", "证"]
_BOTH = ["和", "、", "跟", "与", "或", "还是", "或者"]
_ALL = ["都", "也", "全", "全都", "均"]
_MEASURE_UNITS = ["条", "项", "款", "点"]
_CN = "零一二三四五六七八九"
#: Kinds whose words may be left to the ner when the annotations show they depend on context.
CONTEXT_LABELS = ("subject_type", "topic", "fact", "fund")


def chinese_number(n: int) -> list[str]:
    """5 → [五], 12 → [十二], 20 → [二十] (what users write besides the digits)."""
    if n < 10:
        return [_CN[n]]
    tens, ones = divmod(n, 10)
    head = "十" if tens == 1 else _CN[tens] + "十"
    return [head + (_CN[ones] if ones else "")]


@dataclass(frozen=True)
class Example:
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, entity)


_LINK = re.compile(r"\[([^\]]+)\](?:\{([^}]*)\}|\(([^)]+)\))")


def parse_example(line: str) -> Example:
    """``我们是[国高]{"entity": "hightech", "value": "national"}`` → text and character spans."""
    text, spans, pos = [], [], 0
    for m in _LINK.finditer(line):
        text.append(line[pos:m.start()])
        start = sum(len(t) for t in text)
        entity = (m.group(3) or "").split(":")[0].strip()
        if m.group(2) is not None:
            found = re.search(r'"entity":\s*"(\w+)"', m.group(2))
            entity = found.group(1) if found else ""
        text.append(m.group(1))
        if entity:
            spans.append((start, start + len(m.group(1)), entity))
        pos = m.end()
    text.append(line[pos:])
    return Example("".join(text), spans)


def training_examples(data_dir: Path, skip: str = "entities.yml") -> list[Example]:
    out = []
    for path in sorted(data_dir.glob("*.yml")):
        if path.name == skip:
            continue
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" not in item:
                continue
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.append(parse_example(line[2:].strip()))
    return out


def measure_numbers(corpus_dir: Path) -> list[int]:
    """The measure numbers of every document in the corpus (the store's measures, read from the same source)."""
    from bot.knowledge.corpus import load_corpus

    return sorted({m.number for d in load_corpus(corpus_dir).documents for m in d.doc.measures if m.number})


# --- tokenizer -------------------------------------------------------------------------------------------------


#: jieba's words the pipeline keeps, most frequent first: its whole dictionary (349,046 words) costs 73 MB in every
#: Rasa process, the 100,000 most frequent 21 MB; the words of this corpus are added to them
JIEBA_WORDS = 100_000
#: one jieba per dictionary in the process: Rasa loads the spaCy pipeline twice (SpacyNLP is two nodes of its graph)
_SEGMENTERS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _segmenter(dictionary: str, words: tuple[str, ...]) -> Any:
    if (dictionary, words) not in _SEGMENTERS:
        import jieba

        seg = jieba.Tokenizer(dictionary=dictionary) if dictionary else jieba.Tokenizer()
        for word in words:
            seg.add_word(word, freq=2000)
        _SEGMENTERS[(dictionary, words)] = seg
    return _SEGMENTERS[(dictionary, words)]


def frequent_words(target: Path, count: int = JIEBA_WORDS) -> Path:
    """jieba's ``count`` most frequent words (its own dictionary format), written to ``target``."""
    import jieba

    source = Path(jieba.__file__).parent / "dict.txt"
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines.sort(key=lambda line: -int(line.split()[1]))
    target.write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return target


def _tokenizer_classes() -> Any:
    """Defined on first use: importing this module must not import spaCy (the CLI imports it for the hash)."""
    global PolicyChineseTokenizer
    if "PolicyChineseTokenizer" in globals():
        return PolicyChineseTokenizer
    import srsly
    from spacy.lang.zh import ChineseTokenizer, Segmenter
    from spacy.util import registry

    class _PolicyChineseTokenizer(ChineseTokenizer):  # type: ignore[misc]
        """spaCy's jieba tokenizer on a jieba of its own, whose user dictionary is saved with the pipeline."""

        def __init__(self, vocab: Any, words: Iterable[str] = ()) -> None:
            # spaCy's jieba mode warms up the global jieba (its whole dictionary): start in char mode and segment
            # with a jieba of our own (nothing else in the process is changed), loaded on first use
            super().__init__(vocab, segmenter=Segmenter.char)
            self.segmenter = Segmenter.jieba.value
            self.jieba_seg = None
            self.dictionary = ""  # jieba's own dictionary until set_dictionary
            self.words: list[str] = []
            self.add_words(words)

        def set_dictionary(self, path: Path) -> None:
            self.dictionary = str(path)
            self.jieba_seg = None

        def add_words(self, words: Iterable[str]) -> None:
            known = set(self.words)
            for word in words:
                if len(word) > 1 and " " not in word and word not in known:
                    known.add(word)
                    self.words.append(word)
            self.jieba_seg = None  # segmented with these words from now on

        def __call__(self, text: str) -> Any:
            if self.jieba_seg is None:
                self.jieba_seg = _segmenter(self.dictionary, tuple(self.words))
            return super().__call__(text)

        def to_bytes(self, **kwargs: Any) -> bytes:
            return srsly.msgpack_dumps({"words": self.words})

        def from_bytes(self, data: bytes, **kwargs: Any) -> _PolicyChineseTokenizer:
            self.add_words(srsly.msgpack_loads(data)["words"])
            return self

        def to_disk(self, path: Any, **kwargs: Any) -> None:
            path = Path(path)
            path.mkdir(parents=True, exist_ok=True)
            (path / "userdict.txt").write_text("".join(f"{w} 2000\n" for w in self.words), encoding="utf-8")
            if self.dictionary:
                shutil.copyfile(self.dictionary, path / "dictionary.txt")

        def from_disk(self, path: Any, **kwargs: Any) -> _PolicyChineseTokenizer:
            lines = (Path(path) / "userdict.txt").read_text(encoding="utf-8").splitlines()
            self.add_words(line.rsplit(" ", 1)[0] for line in lines if line.strip())
            if (Path(path) / "dictionary.txt").exists():
                self.set_dictionary((Path(path) / "dictionary.txt").resolve())
            return self

    @registry.tokenizers("policy.zh_jieba_tokenizer.v1")
    def create_tokenizer() -> Any:
        def factory(nlp: Any) -> _PolicyChineseTokenizer:
            return _PolicyChineseTokenizer(nlp.vocab)
        return factory

    PolicyChineseTokenizer = _PolicyChineseTokenizer
    return _PolicyChineseTokenizer


#: a span the ``ner`` tags needs a Chinese character: emoji, "Good", "nope" are no entity of this corpus
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _guard_ner(doc: Any) -> Any:
    """Keep the ``ner``'s spans only for the kinds it is there for (:data:`CONTEXT_LABELS`): a certificate, a place
    or a measure comes from the ruler's patterns, which carry its code and read its negation ("申请中" is no place,
    "第几条" no measure); and only spans with a Chinese character."""
    doc.ents = [e for e in doc.ents if e.ent_id_ or (e.label_ in CONTEXT_LABELS and _CJK.search(e.text))]
    return doc


def register() -> None:
    """Make the pipeline loadable (``spacy.load`` looks the tokenizer and the ner guard up by name); called before
    loading it."""
    _tokenizer_classes()
    from spacy.language import Language

    if "policy_ner_guard" not in Language.factories:
        Language.component("policy_ner_guard", func=_guard_ner)


# --- patterns --------------------------------------------------------------------------------------------------


def _token_shapes(words: list[str]) -> list[list[dict[str, Any]]]:
    """Token patterns matching each word as one token or split into its characters (不是 / 不+是)."""
    shapes: list[list[dict[str, Any]]] = [[{"LOWER": {"IN": sorted(set(words))}}]]
    for length in sorted({len(w) for w in words if len(w) > 1}):
        chars = [sorted({w[i] for w in words if len(w) == length}) for i in range(length)]
        shapes.append([{"LOWER": {"IN": c}} for c in chars])
    return shapes


def user_words(vocab: Vocabulary, terms: Iterable[str], numbers: list[int]) -> list[str]:
    """jieba's extra words: terms, entity words, cue words, a guarded word with what blocks it (中关村论坛), and
    measure references (第5条, 措施五)."""
    words = [*terms, *(w for table in vocab.entities.values() for ws in table.values() for w in ws),
             *vocab.negations, *vocab.pending, *_NEG_VERBS, *_CERT_NOUNS]
    words += [w + b for w, blocked in vocab.not_followed_by.items() for b in blocked]
    for n in numbers:
        for num in (str(n), *chinese_number(n)):
            words += [f"第{num}{u}" for u in _MEASURE_UNITS] + [f"措施{num}", f"{num}号措施", f"条款{num}"]
            words += [f"{num}条"] if num != "一" else []
    return sorted({w for w in words if len(w) > 1}, key=lambda w: (len(w), w))


def patterns(vocab: Vocabulary, numbers: list[int]) -> list[dict[str, Any]]:
    """entity_ruler patterns: phrases for the vocabulary, tokens for measures and negated certificates."""
    out: list[dict[str, Any]] = []
    for entity, table in vocab.entities.items():
        for code, words in table.items():
            out += [{"label": entity, "pattern": w, "id": code} for w in words]
    # a certificate denied or not (yet) held is no certificate: hightech/none
    terms = sorted({w.lower() for code, ws in vocab.entities.get("hightech", {}).items() if code != HIGHTECH_NONE
                    for w in ws})
    negs = sorted(set(vocab.negations))
    term = {"LOWER": {"IN": terms}}
    cert = {"LOWER": {"IN": _CERT_NOUNS}, "OP": "?"}
    before = [{"LOWER": {"IN": ["还", "暂时", "目前", "尚"]}, "OP": "?"}]
    verbs = [{"LOWER": {"IN": _NEG_VERBS}, "OP": "?"}, {"LOWER": {"IN": _NEG_VERBS}, "OP": "?"}]
    none = [
        # 不是国高 · 还没认定高新 · 没有被评为国家高新 · 非高新企业 (a cue, at most two verbs, the certificate);
        # jieba keeps a cue whole or splits it (不是 / 不+是), so each cue comes as one token or as its characters
        *([*before, *cue, *verbs, term, cert] for cue in _token_shapes(negs)),
        # 没评上国高 · 没评下来的高企 (a pending word before the certificate)
        [{"LOWER": {"IN": vocab.pending}}, {"LOWER": "的", "OP": "?"}, term, cert],
        # 国高还在审 · 高企证书过期了 · 高新资质没评下来 (the certificate, then a pending word)
        *([term, cert, {"LOWER": {"IN": ["还", "也", "都"]}, "OP": "?"}, *cue] for cue in _token_shapes(vocab.pending)),
        # 高企和中关村高新都没有: every certificate named, then denied
        [term, cert, {"LOWER": {"IN": _BOTH}}, term, cert, {"LOWER": {"IN": _ALL}}, {"LOWER": "还", "OP": "?"},
         {"LOWER": {"IN": ["没有", "没", "不是", "没评上"]}}],
        # … the same with "都没有" as one word (a pending word of the lexicon, so jieba keeps it whole)
        [term, cert, {"LOWER": {"IN": _BOTH}}, term, cert,
         {"LOWER": {"IN": [a + n for a in _ALL for n in ("没有", "没", "不是", "还没有", "还没")]}}],
    ]
    out += [{"label": "hightech", "pattern": p, "id": HIGHTECH_NONE} for p in none]
    for n in numbers:
        nums = [str(n), *chinese_number(n)]
        whole = [f"第{x}{u}" for x in nums for u in _MEASURE_UNITS] + [f"措施{x}" for x in nums] + \
                [f"{x}号措施" for x in nums] + [f"条款{x}" for x in nums] + [f"{x}条" for x in nums if x != "一"]
        split = [
            [{"TEXT": "第"}, {"TEXT": {"IN": nums}}, {"TEXT": {"IN": _MEASURE_UNITS}, "OP": "?"}],
            [{"TEXT": {"IN": [f"第{x}" for x in nums]}}, {"TEXT": {"IN": _MEASURE_UNITS}}],
            [{"TEXT": {"IN": ["措施", "条款"]}}, {"TEXT": {"IN": nums}}],
            [{"TEXT": {"IN": [x for x in nums if x != "一"]}}, {"TEXT": {"IN": ["条", "号措施"]}}],
            [{"TEXT": {"IN": nums}}, {"TEXT": "号"}, {"TEXT": "措施"}],
            [{"TEXT": {"IN": whole}}],
        ]
        out += [{"label": "measure", "pattern": p, "id": str(n)} for p in split]
    return out


def context_dependent(nlp: Any, candidates: list[dict[str, Any]], examples: list[Example],
                      min_uses: int = 2) -> set[tuple[str, str]]:
    """(label, word) of the phrase patterns the annotated training data tags in fewer than half of their uses.

    公司, 企业, 研发 are an entity in "我们公司能报吗" but not in "企业所得税能减免吗": a ruler would tag every use, so
    these words are left to the ``ner``, which learned from the same data when they are one. Only for the kinds in
    :data:`CONTEXT_LABELS`: a certificate, a place or a measure decides a verdict or an answer, and one missed costs
    more than one tagged where the annotators did not (深圳 in "We are … registered in Shenzhen")."""
    probe = nlp.add_pipe("entity_ruler", name="probe", first=True, config={"phrase_matcher_attr": "LOWER"})
    probe.add_patterns([p for p in candidates if isinstance(p["pattern"], str)])
    uses: dict[tuple[str, str], list[int]] = {}
    try:
        for ex in examples:
            for ent in probe(nlp.make_doc(ex.text)).ents:
                tagged = any(s < ent.end_char and ent.start_char < e and label == ent.label_ for s, e, label in ex.spans)
                uses.setdefault((ent.label_, ent.text.lower()), [0, 0])[int(tagged)] += 1
    finally:
        nlp.remove_pipe("probe")
    return {key for key, (untagged, tagged) in uses.items()
            if untagged >= min_uses and tagged < untagged and key[0] in CONTEXT_LABELS}


# --- inputs, hash, build ---------------------------------------------------------------------------------------


def _inputs(project_dir: Path, corpus_dir: Path) -> list[Path]:
    data = [p for p in sorted((project_dir / "data" / "nlu").glob("*.yml")) if p.name != "entities.yml"]
    knowledge = [d / KNOWLEDGE_NAME for d in document_dirs(corpus_dir)]
    sources = [d / "source.txt" for d in document_dirs(corpus_dir)]
    return [corpus_dir / LEXICON_NAME, *knowledge, *sources, *data, Path(__file__)]


def input_hash(project_dir: Path, corpus_dir: Path) -> str:
    """sha256 over everything the pipeline is built from: corpus, training data, this builder, spaCy's version."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(f"spacy {version('spacy')} jieba {version('jieba')} {JIEBA_WORDS} {sorted(NER_SETTINGS.items())}"
                  .encode())
    for path in _inputs(project_dir, corpus_dir):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def pipeline_dir(project_dir: Path, corpus_dir: Path) -> Path:
    return project_dir / "models" / "spacy" / f"{NAME}-{input_hash(project_dir, corpus_dir)}"


def build(project_dir: Path, corpus_dir: Path, *, log: Any = None) -> Any:
    """Build and train the pipeline in memory (spacy.Language)."""
    import spacy
    from spacy.training import Example as SpacyExample
    from spacy.util import minibatch

    from bot.knowledge.ingest import tokenizer_terms
    from bot.knowledge.corpus import load_corpus

    register()
    vocab = Vocabulary.from_corpus(corpus_dir)
    vocab.learn(project_dir / "data" / "nlu")  # the annotated spans (国搞, 高效 …), as the synonyms table has them
    numbers = measure_numbers(corpus_dir)
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "policy.zh_jieba_tokenizer.v1"}}})
    nlp.tokenizer.set_dictionary(frequent_words(Path(tempfile.mkdtemp()) / "dictionary.txt"))
    nlp.tokenizer.add_words(user_words(vocab, tokenizer_terms(load_corpus(corpus_dir)), numbers))
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": True})
    s = NER_SETTINGS
    ner = nlp.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 64, "maxout_pieces": 2, "use_upper": True, "nO": None,
        "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": s["width"],
                    "depth": s["depth"], "embed_size": 2000, "window_size": 1, "maxout_pieces": 3,
                    "subword_features": True}}})
    examples = []
    parsed = training_examples(project_dir / "data" / "nlu")
    for ex in parsed:
        doc = nlp.make_doc(ex.text)
        ents = []
        for start, end, label in ex.spans:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            if span is not None and not any(span.start < e.end and e.start < span.end for e in ents):
                ents.append(span)
        examples.append(SpacyExample.from_dict(doc, {"entities": [(e.start_char, e.end_char, e.label_)
                                                                  for e in ents]}))
    for label in sorted({e for table in (vocab.entities, {"measure": 1}) for e in table}):
        ner.add_label(label)
    random.seed(s["seed"])
    spacy.util.fix_random_seed(s["seed"])
    with nlp.select_pipes(enable=["ner"]):
        optimizer = nlp.initialize(lambda: examples)
    candidates = patterns(vocab, numbers)
    ambiguous = context_dependent(nlp, candidates, parsed)
    if log and ambiguous:
        log(f"  left to the ner (annotated in fewer than half of their uses): {sorted(ambiguous)}")
    # after initialize, which would clear them
    ruler.add_patterns([p for p in candidates if not (isinstance(p["pattern"], str)
                                                      and (p["label"], p["pattern"].lower()) in ambiguous)])
    for epoch in range(s["epochs"]):
        random.shuffle(examples)
        losses: dict[str, float] = {}
        with nlp.select_pipes(enable=["ner"]):
            for batch in minibatch(examples, size=s["batch"]):
                nlp.update(batch, drop=s["dropout"], sgd=optimizer, losses=losses)
        if log:
            log(f"  ner epoch {epoch + 1}/{s['epochs']}: loss {losses.get('ner', 0):.1f}")
    nlp.add_pipe("policy_ner_guard", after="ner")
    nlp.meta.update({"name": NAME.replace("-", "_"), "version": "1.0.0",
                     "description": "政策助手: jieba + policy dictionary, entity_ruler from the corpus, trained ner"})
    return nlp


def ensure(project_dir: Path, corpus_dir: Path, *, force: bool = False) -> Path:
    """The pipeline's directory, built if its inputs changed (older builds are removed)."""
    target = pipeline_dir(project_dir, corpus_dir)
    if target.joinpath("meta.json").exists() and not force:
        return target
    started = time.perf_counter()
    print(f"building spaCy pipeline {target.relative_to(project_dir)} …", file=sys.stderr, flush=True)
    nlp = build(project_dir, corpus_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    nlp.to_disk(tmp)
    built_with = Path(nlp.tokenizer.dictionary)
    if built_with.parent.parent == Path(tempfile.gettempdir()):  # the dictionary is saved with the pipeline now
        shutil.rmtree(built_with.parent, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for old in target.parent.glob(f"{NAME}-*"):
        if old != target and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    print(f"spaCy pipeline ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return target
