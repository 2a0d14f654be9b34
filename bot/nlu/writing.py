"""First step of the NLU pipeline: traditional characters, English words and sound-alike typos → the corpus's Chinese.

Rasa keeps the user's original words in the tracker event; the message the rest of the pipeline (tokenizer,
featurizers, classifier, entity extractors) sees is the normalized one, and so is ``parse_data["text"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.knowledge.writing import TypoRepair, normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    """Converts traditional characters (OpenCC t2s), the lexicon's English words, pinyin initials (gxqy) and
    sound-alike typos of its terms before tokenizing."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"lexicon": "policy_corpus/lexicon.yml"}

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._lexicon: dict[str, Any] | None = None
        self._glossary: dict[str, str] | None = None
        self._abbreviations: dict[str, str] | None = None
        self._dialect: dict[str, str] | None = None
        self._typos: TypoRepair | None = None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ChineseTextNormalizer:
        return cls(config)

    @property
    def lexicon(self) -> dict[str, Any]:
        """The lexicon's sections this step reads (read once)."""
        if self._lexicon is None:
            path = Path(self._config["lexicon"])
            self._lexicon = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
        return self._lexicon

    def _table(self, section: str, lower: bool = False) -> dict[str, str]:
        return {(str(k).lower() if lower else str(k)): str(v) for k, v in (self.lexicon.get(section) or {}).items()}

    @property
    def glossary(self) -> dict[str, str]:
        if self._glossary is None:
            self._glossary = self._table("english")
        return self._glossary

    @property
    def abbreviations(self) -> dict[str, str]:
        if self._abbreviations is None:
            self._abbreviations = self._table("abbreviations", lower=True)
        return self._abbreviations

    @property
    def dialect(self) -> dict[str, str]:
        if self._dialect is None:
            self._dialect = self._table("dialect")
        return self._dialect

    @property
    def typos(self) -> TypoRepair:
        if self._typos is None:
            from bot.knowledge.vocabulary import Vocabulary

            corpus = Path(self._config["lexicon"]).parent
            self._typos = Vocabulary.from_corpus(corpus).typos if corpus.is_dir() else TypoRepair([])
        return self._typos

    def _convert(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text and not text.startswith(("/", "／")):
            converted = normalize(text, self.glossary, self.typos, self.abbreviations, self.dialect)
            if converted != text:
                message.set(TEXT, converted)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._convert(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._convert(message)
        return messages
