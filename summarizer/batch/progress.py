"""The batch's face on stderr: a live progress bar and the final report table.

This is the only batch module that imports ``rich``; the runner reports
through a plain callback (``on_result``) and knows nothing about terminals.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from summarizer.batch.runner import BatchReport, ItemResult

__all__ = ["BatchProgress", "report_table"]


def _cost(report: BatchReport) -> str:
    cost = report.tally.cost_usd
    return "unknown" if cost is None else f"${cost:.4f}"


def _rate(report: BatchReport) -> float:
    elapsed = report.elapsed_s
    return report.settled / elapsed if elapsed > 0 else 0.0


class BatchProgress:
    """A rich progress bar fed by ``Batch.on_result``: done/failed, docs/s, tokens, cost, ETA."""

    def __init__(self, console: Console, *, total: int, enabled: bool = True) -> None:
        self.console = console
        self._progress = Progress(
            TextColumn("[bold]batch[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task("batch", total=total, stats="")

    def start(self, report: BatchReport) -> None:
        """Show the bar, counting documents already done by an earlier run."""
        self._progress.start()
        self._progress.update(self._task, completed=report.skipped, stats=self._stats(report))

    def _stats(self, report: BatchReport) -> str:
        return (
            f"ok {report.done + report.cached} ([dim]cache {report.cached}[/dim]) "
            f"[red]failed {report.failed}[/red]  {_rate(report):.1f} docs/s  "
            f"{report.tally.total_tokens:,} tok  {_cost(report)}"
        )

    def __call__(self, outcome: ItemResult[Any], report: BatchReport) -> None:
        """One document finished."""
        self._progress.update(
            self._task, completed=report.skipped + report.settled, stats=self._stats(report)
        )

    def __enter__(self) -> BatchProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()


def report_table(report: BatchReport) -> Table:
    """The final report: what happened to the documents, and what it cost."""
    table = Table(title="batch report", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("documents", f"{report.total}"),
        ("already done (skipped)", f"{report.skipped}"),
        ("summarised", f"{report.done}"),
        ("from cache", f"{report.cached}"),
        ("failed", f"{report.failed}"),
        ("not started (budget)", f"{report.not_started}"),
        ("model completions", f"{report.completions}"),
        ("prompt tokens", f"{report.tally.prompt_tokens:,}"),
        ("completion tokens", f"{report.tally.completion_tokens:,}"),
        ("cost", _cost(report)),
        ("429 pauses", f"{report.throttles}"),
        ("elapsed", f"{report.elapsed_s:.1f}s"),
        ("docs/s", f"{_rate(report):.2f}"),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table
