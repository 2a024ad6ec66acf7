"""The command line: a thin adapter over the Python API.

Results go to stdout (or ``--out``), progress and diagnostics to stderr.
This is the boundary where the project's errors become one line on stderr
and an exit code: 2 for misuse (bad input, options, prompts), 1 for run-time
failures, 130 for Ctrl-C. No traceback reaches the user.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from summarizer import __version__
from summarizer.api import Result, Summarizer
from summarizer.config import Settings, resolve_settings
from summarizer.engine.build import installed_server
from summarizer.engine.model import DEFAULT_MODEL, assembled_path
from summarizer.engine.server import EmbeddedEngine, prepare_engine
from summarizer.errors import BatchFailedError, SummarizerError
from summarizer.inputs import load_document
from summarizer.render import to_markdown
from summarizer.schemas.meeting import MeetingSummary

if TYPE_CHECKING:
    from summarizer.evaluate import EvalDocument

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Evidence-grounded structured summaries of meeting documents.",
)
engine_app = typer.Typer(no_args_is_help=True, help="Install or inspect the embedded engine.")
app.add_typer(engine_app, name="engine")
_err = Console(stderr=True, highlight=False)

# Options every model-running command takes, declared once so their names and help
# cannot drift apart between commands.
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name (env SUMMARIZER_MODEL).")]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1."),
]
ModeOpt = Annotated[
    str | None,
    typer.Option("--mode", help="Structured-output mode: json_schema, tools or json."),
]
PromptOpt = Annotated[str | None, typer.Option("--prompt", help="Prompt template name.")]
PromptsDirOpt = Annotated[
    Path | None, typer.Option("--prompts-dir", help="Folder searched for prompt templates first.")
]
EngineModelOpt = Annotated[
    Path | None, typer.Option("--engine-model", help="GGUF file for the embedded engine.")
]
MaxOutputTokensOpt = Annotated[
    int | None, typer.Option("--max-output-tokens", help="Output token limit.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
ContextTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--context-tokens",
        help="The model's context window; longer documents are summarized in parts.",
    ),
]
AllowPartialOpt = Annotated[
    bool,
    typer.Option(
        "--allow-partial",
        help="Keep a long document's summary when a part failed (listing the missing parts).",
    ),
]


def _model_settings(
    model: str | None,
    base_url: str | None,
    mode: str | None,
    prompt: str | None,
    prompts_dir: Path | None,
    engine_model: Path | None,
    max_output_tokens: int | None,
    context_tokens: int | None = None,
    allow_partial: bool = False,
) -> Settings:
    """Settings from the shared model options (None: environment, then defaults)."""
    return resolve_settings(
        model=model,
        base_url=base_url,
        mode=mode,
        prompt=prompt,
        prompts_dir=prompts_dir,
        max_output_tokens=max_output_tokens,
        engine_model_path=engine_model,
        context_tokens=context_tokens,
        allow_partial=allow_partial or None,
    )


class OutputFormat(StrEnum):
    """Output formats of ``summarize``."""

    json = "json"
    md = "md"


def _progress(message: str) -> None:
    _err.print(f"[dim]{message}[/dim]")


def _fail(error: SummarizerError) -> NoReturn:
    _err.print(f"[red]error:[/red] {error}", soft_wrap=True)
    raise typer.Exit(error.exit_code)


def _version(value: bool) -> None:
    if value:
        print(f"summarizer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Evidence-grounded structured summaries of meeting documents."""


def _write(text: str, out: Path | None, *, quiet: bool = False) -> None:
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)  # readers never see a half-written file
    if not quiet:
        _progress(f"wrote {out}")


@app.command()
def summarize(
    source: Annotated[str, typer.Argument(help="Document path, or - for stdin.")],
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    prompt: PromptOpt = None,
    prompts_dir: PromptsDirOpt = None,
    engine_model: EngineModelOpt = None,
    max_output_tokens: MaxOutputTokensOpt = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="json or md (readable minutes).")
    ] = OutputFormat.json,
    out: Annotated[
        Path | None, typer.Option(help="Write the result here instead of stdout.")
    ] = None,
    context_tokens: ContextTokensOpt = None,
    allow_partial: AllowPartialOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Summarize one meeting document."""
    try:
        settings = _model_settings(
            model,
            base_url,
            mode,
            prompt,
            prompts_dir,
            engine_model,
            max_output_tokens,
            context_tokens,
            allow_partial,
        )
        document = load_document(source, max_bytes=settings.max_input_bytes)
        progress = None if quiet else _progress
        with Summarizer(settings=settings, progress=progress) as summarizer:
            if progress:
                model_name = settings.model or "(server default)"
                progress(f"summarizing {document.name} with {settings.provider} model {model_name}")
            result: Result[MeetingSummary] = summarizer.summarize(document)
    except SummarizerError as error:
        _fail(error)
    except KeyboardInterrupt:
        # typer turns Ctrl-C into a silent exit 130; say why (the engine is stopped by now).
        _err.print("interrupted")
        raise typer.Exit(130) from None
    if output_format is OutputFormat.md:
        text = to_markdown(result.summary, result.run)
    else:
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    _write(text, out, quiet=quiet)
    chunking = result.run.chunking
    if chunking is not None and chunking.missing:
        # Asked for with --allow-partial, but never silent: say it even with --quiet.
        _err.print(
            f"[yellow]warning:[/yellow] {len(chunking.missing)} part(s) missing from the "
            f"summary: {', '.join(chunking.missing)}",
            soft_wrap=True,
        )
    if not quiet:
        run = result.run
        _progress(
            f"done in {run.duration_s:.1f}s: {run.completions} completion(s), "
            f"{run.usage['total_tokens']} tokens, {len(run.dropped)} item(s) dropped"
        )


class Via(StrEnum):
    """How ``batch`` reaches the model."""

    sync = "sync"
    batch_api = "batch-api"


def _dump(obj: Any) -> None:
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj.model_dump(mode="json")
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _batch_api_command(verb: str, out: Path, settings: Settings) -> None:
    from summarizer.batch import batch_api
    from summarizer.batch.results import errors_path

    if verb == "status":
        _dump(batch_api.status(out, settings))
        return
    report = batch_api.collect(out, settings)
    _dump(report)
    if report.errors_written:
        # Like a synchronous batch: the report is out, but a failed item is exit 1.
        raise BatchFailedError(
            f"{report.errors_written} of {report.items} document(s) failed "
            f"(reasons in {errors_path(out)})"
        )


@app.command(no_args_is_help=True)
def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders, globs or .jsonl files of {id, text} records; "
            "or `status` / `collect` for a --via batch-api job.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="Results file (JSON Lines), appended and resumed.")],
    concurrency: Annotated[
        int | None,
        typer.Option(help="Documents in flight (default 8; embedded engine: 1, one per slot)."),
    ] = None,
    rpm: Annotated[float | None, typer.Option(help="Provider requests-per-minute limit.")] = None,
    tpm: Annotated[float | None, typer.Option(help="Provider tokens-per-minute limit.")] = None,
    budget_usd: Annotated[
        float | None, typer.Option(help="Stop before the job could cost more (USD).")
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option(help="Stop before the job could use more tokens.")
    ] = None,
    shard: Annotated[
        str | None, typer.Option(help="K/N: do only this machine's share of the job.")
    ] = None,
    cache: Annotated[bool, typer.Option(help="Reuse and store results in the cache.")] = True,
    prices: Annotated[
        Path | None,
        typer.Option(help='JSON {"model": {"input": X, "output": Y}}, USD per 1M tokens.'),
    ] = None,
    via: Annotated[
        Via, typer.Option(help="sync (requests now) or batch-api (provider Batch API).")
    ] = Via.sync,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    prompt: PromptOpt = None,
    prompts_dir: PromptsDirOpt = None,
    engine_model: EngineModelOpt = None,
    max_output_tokens: MaxOutputTokensOpt = None,
    context_tokens: ContextTokensOpt = None,
    allow_partial: AllowPartialOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Summarize many documents into a JSON Lines file: resumable, cached, rate-limited."""
    from summarizer.batch import Batch, BatchOptions, batch_api
    from summarizer.batch.cost import load_prices
    from summarizer.batch.items import collect_items, parse_shard
    from summarizer.batch.progress import BatchProgress, report_table
    from summarizer.batch.results import ResultsWriter

    try:
        settings = _model_settings(
            model,
            base_url,
            mode,
            prompt,
            prompts_dir,
            engine_model,
            max_output_tokens,
            context_tokens,
            allow_partial,
        )
        if len(inputs) == 1 and inputs[0] in ("status", "collect"):
            _batch_api_command(inputs[0], out, settings)
            return
        items = collect_items(
            inputs,
            max_bytes=settings.max_input_bytes,
            shard=parse_shard(shard) if shard else None,
        )
        if via is Via.batch_api:
            documents = []
            with ResultsWriter(out) as writer:
                for item in items:
                    if item.id in writer.done:
                        continue
                    try:
                        documents.append((item.id, item.load()))
                    except SummarizerError as error:
                        writer.write_error(item.id, None, error)
            _dump(batch_api.submit(documents, settings, out))
            return
        options = BatchOptions(
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
            cache=cache,
            prices=load_prices(prices) if prices else None,
        )
        display = BatchProgress(_err, total=len(items), enabled=not quiet)
        job: Batch[MeetingSummary] = Batch(
            items,
            settings=settings,
            options=options,
            out=out,
            on_result=display,
            progress=None if quiet else _progress,
        )

        async def run() -> None:
            try:
                await job.run()
            finally:
                await job.aclose()

        try:
            with display:
                display.start(job.report)
                asyncio.run(run())
        finally:
            if not quiet:
                _err.print(report_table(job.report))
        job.report.raise_for_outcome(out)
    except SummarizerError as error:
        _fail(error)


@app.command("eval", no_args_is_help=True)
def eval_command(
    datasets: Annotated[
        list[Path],
        typer.Argument(
            help="User .jsonl datasets, meeting .json files or folders of them.",
            show_default=False,
        ),
    ],
    labels: Annotated[
        Path | None, typer.Option(help="Labels JSONL ({id, expected}) for meeting .json files.")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="Only meeting files of this kind (repeatable).")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="An earlier report to show side by side.")
    ] = None,
    rescore: Annotated[
        Path | None,
        typer.Option(help="Score this earlier report's summaries again (no model calls)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    prompt: PromptOpt = None,
    prompts_dir: PromptsDirOpt = None,
    engine_model: EngineModelOpt = None,
    max_output_tokens: MaxOutputTokensOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Summarize labelled documents and score the results (see README: Measuring quality)."""
    from summarizer.evaluate import compare_table, load_datasets, report_table
    from summarizer.evaluate import rescore as rescore_report
    from summarizer.evaluate.report import load_report

    try:
        documents = load_datasets(datasets, labels=labels, kinds=kind)
        other = load_report(compare) if compare else None
        if rescore is not None:
            report = rescore_report(documents, load_report(rescore))
        else:
            settings = _model_settings(
                model, base_url, mode, prompt, prompts_dir, engine_model, max_output_tokens
            )
            report = _eval_run(documents, settings, quiet, out)
    except SummarizerError as error:
        _fail(error)
    except KeyboardInterrupt:
        _err.print("interrupted")
        raise typer.Exit(130) from None
    if out is not None:
        _write(_json(report), out, quiet=quiet)
    sys.stdout.write(report_table(report))
    if other is not None:
        sys.stdout.write("\n" + compare_table(report, other))


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _eval_run(
    documents: list[EvalDocument], settings: Settings, quiet: bool, out: Path | None
) -> dict[str, Any]:
    from summarizer.evaluate import run_eval

    with Summarizer(settings=settings, progress=None if quiet else _progress) as summarizer:
        return run_eval(
            documents,
            summarizer,
            progress=None if quiet else _progress,
            # Saved after every document: an interrupted run keeps what it measured.
            on_report=(lambda r: _write(_json(r), out, quiet=True)) if out else None,
        )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
    engine_model: Annotated[Path | None, typer.Option(help="GGUF file to serve.")] = None,
    parallel: Annotated[int, typer.Option(help="Parallel slots.")] = 1,
) -> None:
    """Run the embedded engine until Ctrl-C, for repeated use via --base-url."""
    try:
        settings = resolve_settings(engine_model_path=engine_model)
        engine = EmbeddedEngine(settings, progress=_progress, port=port, parallel=parallel)
        engine.start()
    except SummarizerError as error:
        _fail(error)
    # SIGTERM ends the loop like Ctrl-C does, so the engine is always stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    _err.print(f"engine ready: [bold]{engine.base_url}[/bold] (model {engine.alias})")
    _err.print(f"use it: summarizer summarize FILE --base-url {engine.base_url}")
    try:
        while engine.running:
            time.sleep(0.5)
        _err.print(f"[red]error:[/red] the engine exited: {engine.log_tail()}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        _err.print("stopping the engine")
    finally:
        engine.stop()


@engine_app.command("install")
def engine_install(
    engine_model: Annotated[Path | None, typer.Option(help="Use this GGUF file instead.")] = None,
) -> None:
    """Assemble and verify the default model and build llama-server (once per machine)."""
    try:
        settings = resolve_settings(engine_model_path=engine_model)
        binary, model_path = prepare_engine(settings, _progress)
    except SummarizerError as error:
        _fail(error)
    _err.print(f"engine: {binary}\nmodel:  {model_path}")


@engine_app.command("status")
def engine_status() -> None:
    """Say whether the engine and model are installed, and where (changes nothing)."""
    try:
        settings = resolve_settings()
    except SummarizerError as error:
        _fail(error)
    binary = settings.engine_bin or installed_server(settings.cache_dir)
    model_path = settings.engine_model_path or assembled_path(DEFAULT_MODEL, settings.cache_dir)
    ready = binary.is_file() and model_path.is_file()
    for label, path in (("engine", binary), ("model", model_path)):
        print(f"{label}: {path} ({'present' if path.is_file() else 'missing'})")
    if not ready:
        _err.print("run `summarizer engine install` to build what is missing")
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
