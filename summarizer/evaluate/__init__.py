"""``summarizer eval``: score the summarizer on labelled documents.

One concept per module: ``datasets`` (what a labelled document is and how it is
loaded), ``metrics`` (how one prediction is scored against its labels),
``report`` (totals, the printed table and the side-by-side comparison) and
``runner`` (running one ``Summarizer`` over a dataset).
"""

from summarizer.evaluate.datasets import EvalDocument, Expected, load_datasets
from summarizer.evaluate.report import compare_table, report_table, totals
from summarizer.evaluate.runner import rescore, run_eval

__all__ = [
    "EvalDocument",
    "Expected",
    "compare_table",
    "load_datasets",
    "report_table",
    "rescore",
    "run_eval",
    "totals",
]
