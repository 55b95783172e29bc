"""Thin lmms-eval bindings: every function calls into `finevidbench.taskdocs`, where the logic lives."""

import datasets

from finevidbench import taskdocs
from finevidbench.protocol import QUESTION_TYPES


def _docs_of(type_name):
    def process_docs(dataset):
        return datasets.Dataset.from_list(taskdocs.docs_for(type_name))

    process_docs.__name__ = f"docs_{type_name}"
    return process_docs


# one `docs_<type>` per registered question type, named in the generated YAMLs
globals().update({f"docs_{name}": _docs_of(name) for name in QUESTION_TYPES})


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return taskdocs.doc_to_text(doc)


def doc_to_visual(doc):
    return taskdocs.doc_to_visual(doc)


def doc_to_visual_novideo(doc):
    return taskdocs.doc_to_visual(doc, "novideo")


def doc_to_visual_oneframe(doc):
    return taskdocs.doc_to_visual(doc, "oneframe")


def doc_to_visual_shuffled(doc):
    return taskdocs.doc_to_visual(doc, "shuffled")


def process_results(doc, results):
    return taskdocs.process_result(doc, results[0])
