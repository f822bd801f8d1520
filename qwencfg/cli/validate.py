"""`qwencfg validate SOURCE...`."""

from __future__ import annotations

import click

from ..errors import BadValue, QwencfgError
from ..units import BUILD_DTYPES
from .app import SOURCE_HELP, app, finish, format_option, handles_errors, report_error, source_argument, warn

EPILOG = """Stages: rules, transformers (the config class), meta (the real model on the meta device),
weights (with --weights: the checkpoint's safetensors headers), device (with --device: real, written
storage, optionally --forward), tp (with --tp), tp-run (with --tp and --device: real ranks).
Exit codes: 0 valid, 1 a rule or stage failed, 2 bad input or usage. Warnings fail only with --strict;
--allow RULE waives a rule by its id.

Examples:

\b
  qwencfg validate ./checkpoint --expect-params 8.29B --format junit > qwencfg.xml
  qwencfg validate tiny:qwen2_5_vl --device cpu --forward --tp 2
  qwencfg validate qwen2.5-vl-7b-instruct --tp 2,4,8
  qwencfg validate ./my-finetune --weights-from Qwen/Qwen2.5-VL-7B-Instruct
  qwencfg validate */config.json --quiet --strict --allow unknown-keys"""


def _complete_device(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    from .complete import complete_device

    return complete_device(incomplete)


def parse_tp(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise BadValue(f"--tp {text!r}: give sizes like 2,4,8") from None
    if any(not 1 <= size <= 4096 for size in sizes):
        raise BadValue(f"--tp {text!r}: sizes are between 1 and 4096")
    return sizes


@app.command(help="Check a config: static rules, the transformers config class, the real model on meta and on a device.\n\nEach SOURCE is " + SOURCE_HELP, epilog=EPILOG)
@source_argument("sources", metavar="SOURCE...", nargs=-1, required=True)
@click.option("--device", "-d", shell_complete=_complete_device, help="Also build on this device: cpu, cuda, cuda:N, auto (all GPUs via accelerate) or meta.")
@click.option("--dtype", type=click.Choice(BUILD_DTYPES), default="bf16", show_default=True, help="Weight dtype for --device.")
@click.option("--forward", is_flag=True, help="With --device: run one tiny forward pass and check the logits.")
@click.option("--tp", help="Check tensor parallelism for these sizes, e.g. 2,4,8 (with --device: on real ranks).")
@click.option("--expect-params", help="Fail unless the model, or the checkpoint with its MTP layers, has this many parameters: 8292166656, or 8.29B (rounding tolerated).")
@click.option("--keep-going", is_flag=True, help="Run every stage even after one fails.")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option("--allow", multiple=True, help="Waive this rule (its id, e.g. unknown-keys; repeatable).")
@click.option("--force", is_flag=True, help="Allocate even when the weights look too big for the device (a build that runs out of memory still fails).")
@click.option("--quiet", "-q", is_flag=True, help="One line per valid config; the full report only for the ones that fail.")
@click.option("--weights", is_flag=True, help="Check the config against the safetensors beside it (the same folder, or Hub repo and revision); reads headers only.")
@click.option("--weights-from", help="Check against the safetensors of this folder or REPO[@REV] instead (implies --weights).")
@format_option(("table", "json", "junit", "markdown"))
@handles_errors
def validate(sources: tuple[str, ...], device, dtype, forward, tp, expect_params, keep_going, strict, allow, force, quiet, weights, weights_from, output_format) -> None:
    from .. import load
    from ..render import spinner, stdout_console
    from ..sources import refuse_stdin_twice
    from ..render.validate import render_validate
    from ..tp_run import is_secondary_rank
    from ..validation import Options, check_options
    from ..validation import validate as run_validation

    output_format = output_format.lower()
    if forward and device in (None, "meta"):
        raise BadValue("--forward needs --device cpu, cuda, cuda:N or auto")
    if weights_from == "":
        raise BadValue("--weights-from is empty", hint="give a folder or REPO[@REV]")
    refuse_stdin_twice(sources)
    options = Options(device=device, dtype=dtype, forward=forward, tp=parse_tp(tp), keep_going=keep_going,
                      expect_params=expect_params, force=force, strict=strict, allow=tuple(allow),
                      weights=weights or weights_from is not None, weights_from=weights_from)
    check_options(options)
    reports, unreadable, exit_code = [], [], 0
    for source in sources:
        try:
            config = load(source, progress=spinner)
        except QwencfgError as exc:
            if len(sources) == 1:
                raise
            exit_code = max(exit_code, report_error(exc))  # report it, then check the other configs
            unreadable.append((source, str(exc)))  # and keep it in the report, so CI sees it too
            continue
        if output_format == "table" and not quiet and not is_secondary_rank():
            warn(config.warnings)
        reports.append(run_validation(config, options, progress=spinner))
    code = max([exit_code] + [r.exit_code for r in reports])
    if is_secondary_rank():  # started by torchrun: every rank checks, rank 0 alone reports
        finish(lambda: None, code)
    finish(lambda: render_validate(reports, output_format, stdout_console(), several=len(sources) > 1, quiet=quiet, unreadable=unreadable), code)
