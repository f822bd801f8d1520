"""`qwencfg estimate SOURCE`."""

from __future__ import annotations

import click

from ..errors import EXIT_OK
from .app import SOURCE_HELP, app, finish, format_option, handles_errors, source_argument, warn

EPILOG = """From the config alone, offline, without torch. Training follows accelerate's estimate_training_usage
(Adam: fp32 peak = 4x the fp32 weights; bf16/fp16 mixed precision peak = 2x). The KV cache counts
full- and sliding-attention layers; linear-attention layers (Qwen3.5) keep a fixed-size state instead.

Examples:

\b
  qwencfg estimate qwen2.5-vl-7b-instruct --context 32768
  qwencfg estimate qwen3-vl-30b-a3b-instruct --tp 2,4 --image 1280x720 --format json"""


@app.command(help="Memory for the weights (per dtype), training with Adam, the KV cache and tensor-parallel ranks.\n\nSOURCE is " + SOURCE_HELP, epilog=EPILOG)
@source_argument()
@click.option("--context", type=int, default=32768, show_default=True, help="Tokens per sequence in the KV cache.")
@click.option("--batch", type=int, default=1, show_default=True, help="Sequences in the KV cache.")
@click.option("--image", default="448x448", show_default=True, help="Vision tokens for an image of WIDTHxHEIGHT pixels.")
@click.option("--tp", help="Each rank's share for these tensor-parallel sizes, e.g. 2,4,8.")
@click.option("--dtype", type=click.Choice(("bf16", "fp16", "fp32", "fp8")), help="dtype of the KV cache and the tp shares (default: the config's).")
@click.option("--min-pixels", type=int, default=56 * 56, show_default=True, help="The processor's smallest image, in pixels (transformers' default).")
@click.option("--max-pixels", type=int, default=28 * 28 * 1280, show_default=True, help="The processor's largest image, in pixels (transformers' default; checkpoints often set their own).")
@format_option()
@handles_errors
def estimate(source: str, context: int, batch: int, image: str, tp: str | None, dtype: str | None, min_pixels: int, max_pixels: int, output_format: str) -> None:
    from .. import load
    from ..memory import estimate as run_estimate
    from ..memory import parse_image
    from ..render import Format, spinner, stdout_console
    from ..render.estimate import render_estimate
    from .show import refuse_type_problems
    from .validate import parse_tp

    config = load(source, progress=spinner)
    refuse_type_problems(config)
    warn(config.warnings)
    result = run_estimate(config, context=context, batch=batch, image=parse_image(image), tp=parse_tp(tp), dtype=dtype, min_pixels=min_pixels, max_pixels=max_pixels)
    finish(lambda: render_estimate(result, Format(output_format.lower()), stdout_console()), EXIT_OK)
