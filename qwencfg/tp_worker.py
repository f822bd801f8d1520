"""One rank of a tensor-parallel run: `python -m qwencfg.tp_worker JOB.json`, started by `tp_run`.

It loads the random-weights checkpoint with transformers' tensor-parallel plan, adds up the bytes
of the parameters it holds, optionally runs the forward pass (rank 0 also runs one unsharded
process's and compares the logits), and writes its result as JSON. It ends itself when the
process that started it is gone, so no rank outlives a run.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Tests make one rank fail with this (a rank that fails must be reported and the rest ended).
FAIL_RANK_VARIABLE = "QWENCFG_TEST_FAIL_RANK"
_MISMATCH = re.compile(r"^\s*(\S.*?)\s*\|\s*MISMATCH\s*\|.*ckpt:\s*torch\.Size\((\[[^\]]*\])\)\s*vs\s*model:\s*torch\.Size\((\[[^\]]*\])\)")


def rank_body(job: dict, rank: int, local_rank: int) -> dict:
    """This rank's result; never raises (a failure is a result with one sentence)."""
    records: list[str] = []
    try:
        if os.environ.get(FAIL_RANK_VARIABLE) == str(rank):
            raise RuntimeError(f"rank {rank} was told to fail ({FAIL_RANK_VARIABLE})")
        return _run(job, rank, local_rank, records)
    except Exception as exc:  # noqa: BLE001 - the rank's verdict
        return {"rank": rank, "ok": False, "error": _sentence(exc, records, job), "error_text": f"{type(exc).__name__}: {exc}"[:2000]}


def _run(job: dict, rank: int, local_rank: int, records: list[str]) -> dict:
    import torch
    import transformers
    from torch.distributed.tensor import DTensor

    from . import build, load
    from .units import DTYPES

    transformers.logging.set_verbosity_warning()
    transformers.utils.logging.disable_progress_bar()

    class Collect(logging.Handler):
        def emit(self, record):
            records.extend(record.getMessage().splitlines())

    logging.getLogger("transformers").addHandler(Collect(level=logging.WARNING))
    config = load(job["checkpoint"])
    model_class = build.model_class(config)
    dtype = getattr(torch, DTYPES[job["dtype"]].torch_name)
    if job["device"].startswith("cuda"):
        torch.cuda.set_device(local_rank)
    said = io.StringIO()  # transformers prints its loading report; a failure is read from it
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            model = model_class.from_pretrained(job["checkpoint"], dtype=dtype, distributed_config=transformers.DistributedConfig(tp_size=job["size"]))
    finally:
        records.extend(said.getvalue().splitlines())
    held = 0
    for parameter in model.parameters():
        local = parameter.to_local() if isinstance(parameter, DTensor) else parameter
        held += local.numel() * local.element_size()
    result: dict[str, Any] = {"rank": rank, "ok": True, "param_bytes": held}
    if job["forward"]:
        device = next(model.parameters()).device
        inputs = build.forward_inputs(config, str(device), dtype)
        with torch.no_grad():
            logits = model(**inputs).logits
        logits = logits.full_tensor() if isinstance(logits, DTensor) else logits
        if rank == 0:
            result["logits"] = _compare_with_unsharded(model_class, job, config, dtype, logits)
    return result


def _compare_with_unsharded(model_class: Any, job: dict, config: Any, dtype: Any, logits: Any) -> dict:
    import torch

    from .build import forward_inputs

    with contextlib.redirect_stderr(io.StringIO()):
        reference = model_class.from_pretrained(job["checkpoint"], dtype=dtype, device_map="cpu")
    with torch.no_grad():
        expected = reference(**forward_inputs(config, "cpu", dtype)).logits
    got, expected = logits.float().cpu(), expected.float()
    difference = float((got - expected).abs().max())
    scale = float(expected.abs().max()) or 1.0
    finite = bool(torch.isfinite(got).all())
    return {
        "shape": list(got.shape),
        "max_abs_difference": difference,
        "relative_difference": difference / scale,
        "tolerance": job["tolerance"],
        "finite": finite,
        "ok": difference / scale <= job["tolerance"] and finite and list(got.shape) == list(expected.shape),
    }


def _sentence(exc: Exception, records: list[str], job: dict) -> str:
    """One sentence: the tensors transformers could not shard, when its loading report names them."""
    mismatched = sorted(set(m.groups() for m in (_MISMATCH.search(line) for line in records) if m))
    if mismatched:
        names = "; ".join(f"{name} (checkpoint shard {ckpt}, model {model})" for name, ckpt, model in mismatched[:3])
        return f"transformers could not load the tensor-parallel shards of {names}"
    from .explain import last_line

    return last_line(exc) or type(exc).__name__


def backend_for(device: str) -> str:
    """torch.distributed's backend for a device: nccl for CUDA, gloo on the CPU."""
    return "nccl" if device.startswith("cuda") else "gloo"


def _watch_parent() -> None:
    """Ends this rank when the qwencfg that started it is gone (killed, or ended without us)."""
    parent = int(os.environ.get("QWENCFG_TP_PARENT", "0") or 0)
    if not parent:
        return

    def watch() -> None:
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="qwencfg-parent-watch", daemon=True).start()


def main(job_file: str) -> int:
    _watch_parent()
    job = json.loads(Path(job_file).read_text())
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    import datetime

    import torch.distributed as dist

    dist.init_process_group(backend_for(job["device"]), timeout=datetime.timedelta(seconds=120))
    result = rank_body(job, rank, local_rank)
    (Path(job["results"]) / f"rank{rank}.json").write_text(json.dumps(result))
    if result["ok"]:
        with contextlib.suppress(Exception):
            dist.barrier()
            dist.destroy_process_group()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
