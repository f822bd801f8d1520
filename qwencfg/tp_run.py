"""Real tensor parallelism: N ranks on torch.distributed load the config's model with transformers'
own tensor-parallel plan, and each reports the bytes of its local shards (and, asked, its logits).

qwencfg writes a checkpoint of random weights once, to a temporary folder, then either starts the
ranks itself (gloo on the CPU, nccl on CUDA) or, when a launcher started it (`torchrun`, with
WORLD_SIZE and RANK set), joins the process group it is part of. Every way out (success, a rank
that fails, a deadline, Ctrl-C) ends every rank and removes the checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .canonical import Config
from .errors import BadValue
from .units import seconds_setting
from .tp_worker import backend_for, rank_body

# Seconds a whole run may take (QWENCFG_TP_TIMEOUT overrides), and that ranks get to finish once one failed.
RUN_TIMEOUT = 600.0
GRACE = 5.0
# How close the sharded logits must be to one unsharded process's, relative to the largest logit.
TOLERANCE = {"fp32": 1e-4, "bf16": 3e-2, "fp16": 1e-2}


@dataclass
class RankResult:
    rank: int
    ok: bool
    param_bytes: int = 0  # bytes of the parameters this rank holds (its shards, and what it replicates)
    error: str = ""  # one sentence
    error_text: str = ""  # the original exception, for programs
    logits: dict[str, Any] | None = None  # rank 0 with --forward: the comparison with one unsharded process

    @staticmethod
    def from_json(data: dict) -> "RankResult":
        return RankResult(**{k: data.get(k) for k in ("rank", "ok", "param_bytes", "error", "error_text", "logits") if k in data})


@dataclass
class TensorParallelRun:
    size: int
    backend: str
    device: str
    launched_by: str  # "qwencfg" (it started the ranks) or "launcher" (torchrun or Slurm started them)
    predicted_bytes: int
    ranks: list[RankResult] = field(default_factory=list)
    seconds: float = 0.0
    tolerance: float = 0.0

    @property
    def failed(self) -> list[RankResult]:
        return [r for r in self.ranks if not r.ok]

    @property
    def logits(self) -> dict[str, Any] | None:
        """The logits comparison (rank 0 reports it, with --forward)."""
        return next((r.logits for r in self.ranks if r.logits), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size, "backend": self.backend, "device": self.device, "launched_by": self.launched_by, "seconds": round(self.seconds, 3),
            "predicted_bytes_per_rank": self.predicted_bytes, "logits_tolerance": self.tolerance,
            "ranks": [{"rank": r.rank, "ok": r.ok, "param_bytes": r.param_bytes, "error": r.error, "error_text": r.error_text, "logits": r.logits} for r in self.ranks],
        }


def launched_ranks() -> tuple[int, int, int] | None:
    """(rank, local rank, world size) when a launcher started this process, else None."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return None
    try:
        return int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"])), int(os.environ["WORLD_SIZE"])
    except ValueError:
        raise BadValue("RANK, LOCAL_RANK and WORLD_SIZE must be whole numbers (as torchrun sets them)") from None


def is_secondary_rank() -> bool:
    """A launched process other than rank 0: it checks along, rank 0 alone writes the report."""
    launched = launched_ranks()
    return launched is not None and launched[0] != 0


def run_timeout() -> float:
    return seconds_setting("QWENCFG_TP_TIMEOUT", RUN_TIMEOUT)


def write_random_checkpoint(config: Config, hf_config: Any, dtype: str, folder: Path) -> None:
    """The model with transformers' own random initialisation (seed 0), saved as safetensors."""
    import torch

    from .build import model_class, quiet_transformers
    from .units import DTYPES

    quiet_transformers()
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    torch.manual_seed(0)
    with torch.device("cpu"), contextlib.redirect_stderr(open(os.devnull, "w")):  # noqa: SIM115
        model = model_class(config)(hf_config).to(getattr(torch, DTYPES[dtype].torch_name))
        model.save_pretrained(folder)


def run_tensor_parallel(config: Config, hf_config: Any, size: int, device: str, dtype: str, forward: bool, predicted_bytes: int) -> TensorParallelRun:
    """Starts `size` ranks (or joins the launcher's), loads the model sharded, and collects each rank's result."""
    launched = launched_ranks()
    run = TensorParallelRun(size, backend_for(device), device, "launcher" if launched else "qwencfg", predicted_bytes, tolerance=TOLERANCE[dtype])
    started = time.perf_counter()
    if launched:
        run.ranks = _join_launcher(config, hf_config, size, device, dtype, forward, launched)
    else:
        run.ranks = _spawn_ranks(config, hf_config, size, device, dtype, forward)
    run.seconds = time.perf_counter() - started
    return run


def _job(checkpoint: Path, results: Path, size: int, device: str, dtype: str, forward: bool) -> dict:
    return {"checkpoint": str(checkpoint), "results": str(results), "size": size, "device": device, "dtype": dtype, "forward": forward, "tolerance": TOLERANCE[dtype]}


def _spawn_ranks(config: Config, hf_config: Any, size: int, device: str, dtype: str, forward: bool) -> list[RankResult]:
    folder = Path(tempfile.mkdtemp(prefix="qwencfg-tp-"))
    processes: list[subprocess.Popen] = []
    try:
        checkpoint, results = folder / "checkpoint", folder / "results"
        results.mkdir()
        write_random_checkpoint(config, hf_config, dtype, checkpoint)
        job_file = folder / "job.json"
        job_file.write_text(json.dumps(_job(checkpoint, results, size, device, dtype, forward)))
        port = _free_port()
        for rank in range(size):
            env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(size), "LOCAL_WORLD_SIZE": str(size),
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "QWENCFG_TP_PARENT": str(os.getpid()),
                   "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
            log = open(folder / f"rank{rank}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append(subprocess.Popen([sys.executable, "-m", "qwencfg.tp_worker", str(job_file)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        _wait(processes, run_timeout())
        return _collect(results, size, folder)
    finally:
        _end(processes)
        shutil.rmtree(folder, ignore_errors=True)


def _wait(processes: list[subprocess.Popen], timeout: float) -> None:
    """Until every rank ends; once one fails the others get GRACE seconds, then all are ended."""
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in processes):
        if any(p.returncode not in (None, 0) for p in processes):
            deadline = min(deadline, time.monotonic() + GRACE)
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _end(processes: list[subprocess.Popen]) -> None:
    """Ends every rank still running, and whatever it started (each rank leads its own session)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [p for p in processes if p.poll() is None]
        for p in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, sig)
        until = time.monotonic() + 2
        while any(p.poll() is None for p in alive) and time.monotonic() < until:
            time.sleep(0.05)
    for p in processes:
        with contextlib.suppress(Exception):
            p.wait(timeout=1)
        if p.stdout:
            p.stdout.close()


def _collect(results: Path, size: int, folder: Path) -> list[RankResult]:
    out = []
    for rank in range(size):
        path = results / f"rank{rank}.json"
        if path.is_file():
            out.append(RankResult.from_json(json.loads(path.read_text())))
            continue
        log = (folder / f"rank{rank}.log").read_text(errors="replace") if (folder / f"rank{rank}.log").exists() else ""
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
        out.append(RankResult(rank, False, error="it stopped before reporting (ended when another rank failed, or past the deadline)", error_text=last[0][:500]))
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _join_launcher(config: Config, hf_config: Any, size: int, device: str, dtype: str, forward: bool, launched: tuple[int, int, int]) -> list[RankResult]:
    """The run when torchrun (or Slurm through it) started every rank: join its process group."""
    import torch.distributed as dist

    rank, local_rank, world = launched
    if world != size:
        raise BadValue(f"--tp {size} but the launcher started {world} processes (WORLD_SIZE)", hint=f"give --tp {world}")
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device))
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "none") + "-" + os.environ.get("MASTER_PORT", "0")
    folder = Path(tempfile.gettempdir()) / f"qwencfg-tp-{run_id}-{os.getuid()}"
    try:
        if local_rank == 0:  # one checkpoint per machine, the same everywhere (seed 0)
            shutil.rmtree(folder, ignore_errors=True)
            (folder / "results").mkdir(parents=True)
            write_random_checkpoint(config, hf_config, dtype, folder / "checkpoint")
        dist.barrier()
        result = rank_body(_job(folder / "checkpoint", folder / "results", size, device, dtype, forward), rank, local_rank)
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, result)  # every rank reaches the same verdict; rank 0 reports it
        dist.barrier()
        return [RankResult.from_json(r) for r in gathered]
    finally:
        if local_rank == 0:
            shutil.rmtree(folder, ignore_errors=True)
