"""`qwencfg estimate SOURCE`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import EXIT_OK
from ..render import Format
from .app import FormatOption, SourceArg, app, finish, handles_errors, warn

EPILOG = """From the config alone, offline, without torch. Training follows accelerate's estimate_training_usage
(Adam: fp32 peak = 4x the fp32 weights; bf16/fp16 mixed precision peak = 2x). The KV cache counts
full- and sliding-attention layers; linear-attention layers (Qwen3.5) keep a fixed-size state instead.

Examples:

  qwencfg estimate qwen2.5-vl-7b-instruct --context 32768

  qwencfg estimate qwen3-vl-30b-a3b-instruct --tp 2,4 --image 1280x720 --format json
"""


@app.command(epilog=EPILOG)
@handles_errors
def estimate(
    source: SourceArg,
    context: Annotated[int, typer.Option("--context", help="Tokens per sequence in the KV cache.")] = 32768,
    batch: Annotated[int, typer.Option("--batch", help="Sequences in the KV cache.")] = 1,
    image: Annotated[str, typer.Option("--image", help="Vision tokens for an image of WIDTHxHEIGHT pixels.")] = "448x448",
    tp: Annotated[Optional[str], typer.Option("--tp", help="Each rank's share for these tensor-parallel sizes, e.g. 2,4,8.")] = None,
    dtype: Annotated[Optional[str], typer.Option("--dtype", help="dtype of the KV cache and the tp shares: bf16, fp16, fp32, fp8 (default: the config's).")] = None,
    min_pixels: Annotated[int, typer.Option("--min-pixels", help="The processor's smallest image, in pixels (transformers' default).")] = 56 * 56,
    max_pixels: Annotated[int, typer.Option("--max-pixels", help="The processor's largest image, in pixels (transformers' default; checkpoints often set their own).")] = 28 * 28 * 1280,
    format: FormatOption = Format.table,
) -> None:
    """Memory for the weights (per dtype), training with Adam, the KV cache and tensor-parallel ranks."""
    from .. import load
    from ..estimate import estimate as run_estimate
    from ..estimate import parse_image
    from ..render import spinner, stdout_console
    from ..render.estimate import render_estimate
    from .show import refuse_type_problems
    from .validate import parse_tp

    config = load(source, progress=spinner)
    refuse_type_problems(config)
    warn(config.warnings)
    result = run_estimate(config, context=context, batch=batch, image=parse_image(image), tp=parse_tp(tp), dtype=dtype, min_pixels=min_pixels, max_pixels=max_pixels)
    finish(lambda: render_estimate(result, format, stdout_console()), EXIT_OK)
