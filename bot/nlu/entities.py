"""The entities of the spaCy pipeline (``bot/nlu/spacy_pipeline.py``), as Rasa entities.

Rasa's own ``SpacyEntityExtractor`` would do the same, but ``rasa test nlu`` counts it among the "pretrained"
extractors and drops its entities from the evaluation; this component has its own name, so the figures of
``make bench`` come from ``rasa test nlu``. The value is the code the entity_ruler's pattern carries
(国高 → national, 不是国高 → none, 第五条 → 5); an entity of the trained ``ner`` keeps its text, which
``EntitySynonymMapper`` and the actions map to a code with the corpus vocabulary.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

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
