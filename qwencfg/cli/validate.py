"""`qwencfg validate SOURCE...`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..errors import BadValue, QwencfgError
from .app import SOURCE_HELP, _complete_source, app, finish, handles_errors, report_error, warn
from .complete import complete_device


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    junit = "junit"
    markdown = "markdown"


class Dtype(str, Enum):
    bf16 = "bf16"
    fp16 = "fp16"
    fp32 = "fp32"


EPILOG = """Stages: rules, transformers (the config class), meta (the real model on the meta device),
weights (with --weights: the checkpoint's safetensors headers), device (with --device: real, written
storage, optionally --forward), tp (with --tp).
Exit codes: 0 valid, 1 a rule or stage failed, 2 bad input or usage. Warnings fail only with --strict;
--allow RULE waives a rule by its id.

Examples:

  qwencfg validate ./checkpoint --expect-params 8.29B --format junit > qwencfg.xml

  qwencfg validate tiny/ --device cpu --forward

  qwencfg validate qwen2.5-vl-7b-instruct --tp 2,4,8

  qwencfg validate ./my-finetune --weights-from Qwen/Qwen2.5-VL-7B-Instruct

  qwencfg validate */config.json --quiet --strict --allow unknown-keys
"""


def parse_tp(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise BadValue(f"--tp {text!r}: give sizes like 2,4,8") from None
    if any(not 1 <= size <= 4096 for size in sizes):
        raise BadValue(f"--tp {text!r}: sizes are between 1 and 4096")
    return sizes


@app.command(epilog=EPILOG)
@handles_errors
def validate(
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE...", help=SOURCE_HELP + " Several: each is validated in turn.", show_default=False, autocompletion=_complete_source)],
    device: Annotated[Optional[str], typer.Option("--device", "-d", help="Also build on this device: cpu, cuda, cuda:N, auto (all GPUs via accelerate) or meta.", autocompletion=complete_device)] = None,
    dtype: Annotated[Dtype, typer.Option("--dtype", help="Weight dtype for --device.")] = Dtype.bf16,
    forward: Annotated[bool, typer.Option("--forward", help="With --device: run one tiny forward pass and check the logits.")] = False,
    tp: Annotated[Optional[str], typer.Option("--tp", help="Check tensor parallelism for these sizes, e.g. 2,4,8.")] = None,
    expect_params: Annotated[Optional[str], typer.Option("--expect-params", help="Fail unless the model, or the checkpoint with its MTP layers, has this many parameters: 8292166656, or 8.29B (rounding tolerated).")] = None,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Run every stage even after one fails.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    allow: Annotated[Optional[list[str]], typer.Option("--allow", help="Waive this rule (its id, e.g. unknown-keys; repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Allocate even when the weights look too big for the device (a build that runs out of memory still fails).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="One line per valid config; the full report only for the ones that fail.")] = False,
    weights: Annotated[bool, typer.Option("--weights", help="Check the config against the safetensors beside it (the same folder, or Hub repo and revision); reads headers only.")] = False,
    weights_from: Annotated[Optional[str], typer.Option("--weights-from", help="Check against the safetensors of this folder or REPO[@REV] instead (implies --weights).")] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.", case_sensitive=False)] = ReportFormat.table,
) -> None:
    """Check a config: static rules, the transformers config class, the real model on meta and on a device."""
    from .. import load
    from ..render import spinner, stdout_console
    from ..render.validate import render_validate
    from ..tp_run import is_secondary_rank
    from ..validation import Options, check_options
    from ..validation import validate as run_validation

    if forward and device in (None, "meta"):
        raise BadValue("--forward needs --device cpu, cuda, cuda:N or auto")
    if sources.count("-") > 1:
        raise BadValue("- (standard input) is given twice, but stdin can be read once", hint="save one config to a file")
    options = Options(device=device, dtype=dtype.value, forward=forward, tp=parse_tp(tp), keep_going=keep_going,
                      expect_params=expect_params, force=force, strict=strict, allow=tuple(allow or ()),
                      weights=weights or weights_from is not None, weights_from=weights_from)
    check_options(options)
    reports, exit_code = [], 0
    for source in sources:
        try:
            config = load(source, progress=spinner)
        except QwencfgError as exc:
            if len(sources) == 1:
                raise
            exit_code = max(exit_code, report_error(exc))  # report it, then check the other configs
            continue
        if format is ReportFormat.table and not quiet and not is_secondary_rank():
            warn(config.warnings)
        reports.append(run_validation(config, options, progress=spinner))
    code = max([exit_code] + [r.exit_code for r in reports])
    if is_secondary_rank():  # started by torchrun: every rank checks, rank 0 alone reports
        finish(lambda: None, code)
    finish(lambda: render_validate(reports, format.value, stdout_console(), several=len(sources) > 1, quiet=quiet) if reports else None, code)
