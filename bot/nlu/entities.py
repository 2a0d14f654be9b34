"""The entities of the spaCy pipeline (``bot/nlu/spacy_pipeline.py``), as Rasa entities.

Rasa's own ``SpacyEntityExtractor`` would do the same, but ``rasa test nlu`` counts it among the "pretrained"
extractors and drops its entities from the evaluation; this component has its own name, so the figures of
``make bench`` come from ``rasa test nlu``. The value is the code the entity_ruler's pattern carries
(国高 → national, 不是国高 → none, 第五条 → 5); an entity of the trained ``ner`` keeps its text, which
``EntitySynonymMapper`` and the actions map to a code with the corpus vocabulary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.spacy_pipeline import register

# SpacyNLP loads the pipeline by path; its tokenizer must be registered with spaCy before that happens. Rasa imports
# every component's module while it builds the graph, before any component is created.
register()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class CorpusEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Emits the entities of the spaCy doc (entity_ruler from the corpus, trained ner)."""

    @staticmethod
    def required_components() -> list[type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CorpusEntityExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            if doc is None:
                continue
            found = [{"entity": ent.label_, "value": ent.ent_id_ or ent.text, "start": ent.start_char,
                      "end": ent.end_char, "confidence": None} for ent in doc.ents]
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class EntityKindFeaturizer(SparseFeaturizer, GraphComponent):
    """Features for the intent classifier: which kinds of entity the spaCy doc holds, per token and per message.

    What ``RegexFeaturizer`` gave the classifier when the entities were regexes ("the message names a
    certificate", "… a measure"): "我们是国高，想申请" is a check, "第五条呢" a question about a measure."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # the entity kinds of policy_corpus/lexicon.yml and the measures, in a fixed order (the feature columns)
        return {**SparseFeaturizer.get_default_config(),
                "labels": ["fact", "fund", "hightech", "measure", "registration", "subject_type", "topic"]}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._labels = list(config["labels"])

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EntityKindFeaturizer:
        return cls(config, execution_context.node_name)

    def _featurize(self, message: Message) -> None:
        doc = message.get(SPACY_DOCS[TEXT])
        tokens = message.get(TOKENS_NAMES[TEXT], [])
        if doc is None or not tokens:
            return
        sequence = np.zeros([len(tokens), len(self._labels)])
        sentence = np.zeros([1, len(self._labels)])
        for ent in doc.ents:
            if ent.label_ not in self._labels:
                continue
            column = self._labels.index(ent.label_)
            sentence[0][column] = 1.0
            for i, token in enumerate(tokens):
                if token.start < ent.end_char and token.end > ent.start_char:
                    sequence[i][column] = 1.0
        self.add_features_to_message(scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence),
                                     TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._featurize(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._featurize(message)
        return messages

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass
