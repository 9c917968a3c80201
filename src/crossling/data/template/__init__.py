"""The built-in multilingual template benchmark: one seeded meaning sampler, realized in 12 languages, seven tasks."""

from crossling.data.template.realize import LANGUAGES, realize, realize_question
from crossling.data.template.source import TemplateParams, TemplateSource

__all__ = ["LANGUAGES", "TemplateParams", "TemplateSource", "realize", "realize_question"]
