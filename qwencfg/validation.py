"""`validate`: rules, the transformers config class, a meta build, a real-device build, tensor parallelism.

Stages run in order; the first that fails stops the rest unless keep_going. The report says what
each stage found and how long it took, and decides the verdict (`--strict`, `--allow`); the CLI
turns it into a table, JSON, JUnit or markdown.
"""

from __future__ import annotations

import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, ContextManager

from .canonical import Config
from .count import CheckpointCount, CountUnavailable, ParameterCount, try_count_checkpoint
from .errors import BadValue
from .explain import explain, original_text
from .rules import Finding, Rule, Severity, check_rules, rule_ids
from .units import DTYPES, format_bytes

ALL_STAGES = ("rules", "transformers", "meta", "weights", "device", "tp", "tp-run")


class StageStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Stage:
    name: str
    status: StageStatus
    summary: str  # one sentence; for a failure it names the key and what is wrong
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "summary": self.summary, "seconds": round(self.seconds, 3), "details": self.details}


@dataclass
class Report:
    config: Config
    stages: list[Stage]
    rule_results: list[tuple[Rule, list[Finding]]]
    analytic: CheckpointCount | None  # counted from the config: the model, and the MTP layers its checkpoint adds
    meta: ParameterCount | None  # counted on the model built on meta
    strict: bool = False
    allowed: frozenset[str] = frozenset()  # rule ids waived with --allow

    @property
    def findings(self) -> list[Finding]:
        return [f for _, found in self.rule_results for f in found]

    def fails(self, finding: Finding) -> bool:
        """Whether a finding fails the config: an error, or a warning under --strict, unless waived."""
        if finding.rule in self.allowed:
            return False
        return finding.severity is Severity.ERROR or (self.strict and finding.severity is Severity.WARNING)

    def rule_status(self, found: list[Finding]) -> StageStatus:
        return StageStatus.FAILED if any(self.fails(f) for f in found) else StageStatus.PASSED

    @property
    def failing_findings(self) -> list[Finding]:
        return [f for f in self.findings if self.fails(f)]

    @property
    def valid(self) -> bool:
        return not any(s.status is StageStatus.FAILED for s in self.stages) and not self.failing_findings

    @property
    def exit_code(self) -> int:
        return 0 if self.valid else 1


@dataclass(frozen=True)
class Options:
    device: str | None = None  # cpu | cuda | cuda:N | auto | meta
    dtype: str = "bf16"
    forward: bool = False
    tp: tuple[int, ...] = ()
    keep_going: bool = False
    expect_params: str | None = None
    force: bool = False
    strict: bool = False
    allow: tuple[str, ...] = ()
    weights: bool = False  # check the config against its checkpoint's safetensors headers
    weights_from: str | None = None  # another folder or REPO[@REV] to take the checkpoint from
    stages: tuple[str, ...] = ALL_STAGES


def parse_expected_params(text: str) -> tuple[int, int]:
    """`8292166656` -> exact; `8.29B` -> (8.29e9, half a unit of the last digit: 0.005e9)."""
    match = re.fullmatch(r"\s*(\d[\d_,]{0,30}(?:\.\d{1,12})?|\.\d{1,12})\s*([KkMmBbTt]?)\s*", text or "")
    if not match:
        raise BadValue(f"--expect-params {text!r} is not a count", hint="write 8292166656 or 8.29B")
    number, suffix = match.group(1).replace("_", "").replace(",", ""), match.group(2).upper()
    scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}[suffix]
    whole, _, fraction = number.partition(".")
    value = (int(whole or 0) * 10 ** len(fraction) + int(fraction or 0)) * scale // 10 ** len(fraction)
    tolerance = 0 if not suffix and not fraction else scale // 10 ** len(fraction) // 2
    return value, tolerance


def check_options(options: Options) -> None:
    """Bad usage fails before any stage runs (exit 2)."""
    if options.expect_params is not None:
        parse_expected_params(options.expect_params)
    unknown = [r for r in options.allow if r not in rule_ids()]
    if unknown:
        raise BadValue(f"--allow {unknown[0]}: no such rule", hint=f"rules: {', '.join(rule_ids())}")
    wants_build = (options.device is not None or options.weights) and any(s in options.stages for s in ("meta", "device", "weights"))
    if wants_build:
        from .build import require_torch

        require_torch()  # the user asked for a build that cannot run: say so instead of skipping it


def validate(config: Config, options: Options | None = None, progress: Callable[[str], ContextManager] | None = None) -> Report:
    """Runs the validation stages on `config` and returns the report (never raises for a bad config)."""
    options = options or Options()
    check_options(options)
    progress = progress or (lambda message: nullcontext())
    run_device = options.device not in (None, "meta") and "device" in options.stages
    report = Report(config, [], [], None, None, strict=options.strict, allowed=frozenset(options.allow))
    report.analytic, _ = try_count_checkpoint(config)
    state: dict[str, Any] = {}
    plan: list[tuple[str, Callable[[], Stage]]] = [
        ("rules", lambda: _rules_stage(config, report)),
        ("transformers", lambda: _transformers_stage(config, report, state)),
        ("meta", lambda: _meta_stage(config, report, state, options)),
    ]
    if options.weights:
        plan.append(("weights", lambda: _weights_stage(config, report, state, options, progress)))
    if run_device:
        plan.append(("device", lambda: _device_stage(config, state, options)))
    if options.tp and "tp" in options.stages:
        plan.append(("tp", lambda: _tp_stage(config, state, options)))
        if options.device not in (None, "meta", "auto") and "tp-run" in options.stages:
            plan.append(("tp-run", lambda: _tp_run_stage(config, state, options)))
    stopped = None
    for name, run in plan:
        if name not in options.stages:
            continue
        if stopped is not None:
            report.stages.append(Stage(name, StageStatus.SKIPPED, f"skipped: the {stopped} stage failed (--keep-going runs it anyway)"))
            continue
        started = time.perf_counter()
        with progress(f"validate: {name}"):
            stage = run()
        stage.seconds = time.perf_counter() - started
        report.stages.append(stage)
        if stage.status is StageStatus.FAILED and not options.keep_going:
            stopped = name
    if options.expect_params is not None and report.meta is None and stopped is None:
        report.stages.append(_expected_params_stage(report, options))  # not built: counted from the config
    return report


def _rules_stage(config: Config, report: Report) -> Stage:
    report.rule_results = check_rules(config)
    failing = report.failing_findings
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    warnings = [f for f in report.findings if f.severity is Severity.WARNING]
    passed = sum(1 for _, found in report.rule_results if not any(f.severity is not Severity.INFO and f.rule not in report.allowed for f in found))
    summary = f"{passed}/{len(report.rule_results)} rules pass"
    for found, noun in ((errors, "error"), (warnings, "warning")):
        if found:
            summary += f"; {len(found)} {noun}{'s' if len(found) > 1 else ''}"
    waived = sorted({f.rule for f in report.findings if f.rule in report.allowed and f.severity is not Severity.INFO})
    if waived:
        summary += f" (allowed: {', '.join(waived)})"
    status = StageStatus.FAILED if any(f.severity is Severity.ERROR for f in failing) else StageStatus.PASSED
    return Stage("rules", status, summary, details={"findings": [f.to_json() for f in report.findings]})


def _too_big(report: Report) -> str | None:
    """Why a later stage must not run: the size limits that protect the rules protect it too."""
    too_big = [f.message for f in report.findings if f.rule == "size-limits"]
    return f"not run: {too_big[0]}" if too_big else None


def _transformers_stage(config: Config, report: Report, state: dict) -> Stage:
    from .schema import installed_transformers_version
    from .sources.hub import check_hub_environment

    guard = _too_big(report)
    if guard:
        return Stage("transformers", StageStatus.FAILED, guard)
    check_hub_environment()  # importing transformers imports huggingface_hub, which reads these
    from .build import check_with_transformers

    version = installed_transformers_version()
    try:
        state["hf_config"], logged = check_with_transformers(config)
    except Exception as exc:  # noqa: BLE001 - whatever the config class raises is the finding
        summary = f"{config.family.config_class} of transformers {version} refuses it: {explain(exc, config)}"
        return Stage("transformers", StageStatus.FAILED, summary, details={"error": original_text(exc)})
    summary = f"{config.family.config_class} of transformers {version} accepts it"
    if logged:
        summary += f" ({len(logged)} warning{'s' if len(logged) > 1 else ''})"
    warnings = [{"category": w.category, "message": w.message} for w in logged]
    return Stage("transformers", StageStatus.PASSED, summary, details={"warnings": warnings, "transformers_version": version})


def _expected(options: Options, count: CheckpointCount, details: dict) -> tuple[str | None, str]:
    """(the problem with --expect-params or None, what it matched): the model's or the checkpoint's total."""
    if options.expect_params is None:
        return None, ""
    expected, tolerance = parse_expected_params(options.expect_params)
    matched = count.matching(expected, tolerance)
    details["expected_parameters"] = {"value": expected, "tolerance": tolerance, "matched": matched}
    if matched is None:
        has = f"the model (transformers) has {count.model.total:,}" + (f", the checkpoint {count.total:,} with its MTP layers" if count.mtp else "")
        return f"expected {options.expect_params} parameters: {has}", ""
    if matched == "checkpoint":
        return None, f"; --expect-params {options.expect_params} matches the checkpoint total {count.total:,} (model + MTP)"
    return None, f"; --expect-params {options.expect_params} matches the model" + (f" (the checkpoint holds {count.total:,} with MTP)" if count.mtp else "")


def _expected_params_stage(report: Report, options: Options) -> Stage:
    details: dict[str, Any] = {}
    if report.analytic is None:
        return Stage("parameters", StageStatus.FAILED, "--expect-params: the config cannot be counted without the meta stage")
    problem, matched = _expected(options, report.analytic, details)
    status = StageStatus.FAILED if problem else StageStatus.PASSED
    return Stage("parameters", status, problem or f"counted from the config{matched}", details=details)


def _meta_stage(config: Config, report: Report, state: dict, options: Options) -> Stage:
    from .build import build_on_meta, missing_build_packages

    missing = missing_build_packages()
    if missing:
        return Stage("meta", StageStatus.SKIPPED, f"skipped: {' and '.join(missing)} not installed (pip install 'qwencfg[build]')")
    if "hf_config" not in state:
        return Stage("meta", StageStatus.SKIPPED, "skipped: needs the transformers stage")
    guard = _too_big(report)
    if guard:
        return Stage("meta", StageStatus.FAILED, guard)
    try:
        meta = build_on_meta(config, state["hf_config"])
    except Exception as exc:  # noqa: BLE001 - the modeling code refused the config
        summary = f"{config.family.architecture} could not be built: {explain(exc, config)}"
        return Stage("meta", StageStatus.FAILED, summary, details={"error": original_text(exc)})
    state["meta"] = meta
    report.meta = meta.count
    details: dict[str, Any] = {"parameters": meta.count.to_json()}
    problems = []
    checkpoint = report.analytic
    if checkpoint is not None:
        details["analytic_total"] = checkpoint.model.total
        if checkpoint.model.total != meta.count.total:
            problems.append(f"the analytic count {checkpoint.model.total:,} differs from the meta count {meta.count.total:,} (a qwencfg bug, please report it)")
    else:
        checkpoint = CheckpointCount(meta.count, 0, 0)
    summary = f"{config.family.architecture} builds on meta: {meta.count.total:,} parameters" + (" (lm_head tied, counted once)" if meta.count.tied else "")
    if checkpoint.mtp:
        summary = f"{config.family.architecture} builds on meta: model (transformers) {meta.count.total:,}; checkpoint {checkpoint.total:,} = {meta.count.total:,} + MTP {checkpoint.mtp:,}"
    expected, matched = _expected(options, CheckpointCount(meta.count, checkpoint.mtp, checkpoint.mtp_layers), details)
    summary += matched
    if expected:
        problems.append(expected)
    if problems:
        return Stage("meta", StageStatus.FAILED, "; ".join(problems), details=details)
    return Stage("meta", StageStatus.PASSED, summary, details=details)


def _weights_stage(config: Config, report: Report, state: dict, options: Options, progress: Callable) -> Stage:
    from .sources.hub import hub_timeout
    from .weights import check_weights, describe_checkpoint, read_checkpoint

    meta = state.get("meta")
    if meta is None:
        return Stage("weights", StageStatus.SKIPPED, "skipped: needs the meta stage")
    quantization = config.model.get("quantization_config")
    if isinstance(quantization, dict) and quantization.get("quant_method"):
        scheme = quantization["quant_method"]
        return Stage("weights", StageStatus.SKIPPED, f"not checked for {scheme}: its packed tensors are not compared with the config", details={"quant_method": scheme})
    with progress("validate: reading the checkpoint's safetensors headers"):
        checkpoint = read_checkpoint(config, options.weights_from, hub_timeout())
    try:
        result = check_weights(config, meta.model, checkpoint)
    except Exception as exc:  # noqa: BLE001 - transformers refused the checkpoint's names or shapes
        return Stage("weights", StageStatus.FAILED, f"transformers could not map {checkpoint.where}: {explain(exc, config)}", details={"error": original_text(exc)})
    details = result.to_json()
    expected = report.analytic.total if report.analytic else meta.count.total
    totals = ", ".join(f"{n:,} {dtype}" for dtype, n in result.totals_by_dtype.items())
    counted = f"the checkpoint holds {result.total:,} parameters ({totals}); the config counts {expected:,}"
    where = describe_checkpoint(checkpoint)
    if not result.ok:
        return Stage("weights", StageStatus.FAILED, "; ".join(result.causes), details=details)
    mtp = f", with {result.mtp_found} MTP tensors as declared" if result.mtp_found else ""
    return Stage("weights", StageStatus.PASSED, f"every tensor of {where} is present with the config's shape{mtp}; {counted}", details=details)


def _device_stage(config: Config, state: dict, options: Options) -> Stage:
    import psutil

    from .build import HEADROOM, OutOfMemory, materialize, plan_devices, resolve_devices, tiny_forward

    meta = state.get("meta")
    if meta is None:
        return Stage("device", StageStatus.SKIPPED, "skipped: needs the meta stage")
    devices = resolve_devices(options.device)
    plan = plan_devices(meta, devices, options.dtype)
    dtype = DTYPES[options.dtype]
    needed = dtype.bytes_for(meta.count.total)
    free = sum(plan.free_bytes.values())
    details: dict[str, Any] = {"devices": devices, "dtype": options.dtype, "weight_bytes": needed, "free_bytes": plan.free_bytes}
    where = ", ".join(devices)
    if needed * HEADROOM > free and not options.force:
        return Stage(
            "device", StageStatus.FAILED,
            f"refused before allocating: the weights need {format_bytes(needed)} in {options.dtype} "
            f"({meta.count.total:,} x {dtype.bits // 8} B) but {where} has {format_bytes(free)} free (--force tries anyway)",
            details=details,
        )
    process = psutil.Process()
    resident_before = process.memory_info().rss
    try:
        allocated = materialize(meta, plan, options.dtype, available=lambda: psutil.virtual_memory().available)
    except OutOfMemory as exc:
        return Stage("device", StageStatus.FAILED, f"out of memory: {format_bytes(exc.committed)} of the {format_bytes(exc.needed)} of weights were committed on {where} before memory ran low", details=details)
    except (RuntimeError, MemoryError) as exc:
        return Stage("device", StageStatus.FAILED, f"allocation on {where} failed: {explain(exc, config)}", details={**details, "error": original_text(exc)})
    details["allocated_bytes"] = allocated
    if "cpu" in devices:
        details["resident_bytes_added"] = max(0, process.memory_info().rss - resident_before)
    if plan.device_map:
        details["device_map_modules"] = len(plan.device_map)
    per_device = ", ".join(f"{d} {format_bytes(n)}" for d, n in allocated.items() if n)
    summary = f"allocated and wrote {format_bytes(sum(allocated.values()))} in {options.dtype} ({per_device})"
    if options.device == "auto" and devices == ["cpu"]:
        summary += "; --device auto found no GPU, so this is a CPU build"
    if options.forward:
        try:
            result = tiny_forward(meta, config, plan)
        except Exception as exc:  # noqa: BLE001 - the forward pass is the check
            return Stage("device", StageStatus.FAILED, f"{summary}; the forward pass failed: {explain(exc, config)}", details={**details, "error": original_text(exc)})
        details["forward"] = result
        if not result["ok"]:
            return Stage("device", StageStatus.FAILED, f"{summary}; forward pass: logits {result['logits_shape']} (expected {result['expected_shape']}), finite: {result['finite']}", details=details)
        summary += f"; forward pass of {result['tokens']} tokens ({result['image_tokens']} image): logits {result['logits_shape']}, finite"
    return Stage("device", StageStatus.PASSED, summary, details=details)


def _tp_stage(config: Config, state: dict, options: Options) -> Stage:
    from .count import parameter_inventory
    from .parallel import check_tensor_parallel

    meta = state.get("meta")
    if meta is not None:
        inventory = meta.inventory
    else:
        try:
            inventory = parameter_inventory(config)
        except CountUnavailable as exc:
            return Stage("tp", StageStatus.SKIPPED, f"skipped: {exc}")
    checks = check_tensor_parallel(config, inventory, list(options.tp), DTYPES[options.dtype])
    state["tp_checks"] = checks
    parts = [f"tp={c.size}: {'ok' if c.ok else 'no'}, {format_bytes(c.bytes_per_rank)}/rank" for c in checks]
    problems = [f"tp={c.size}: {p}" for c in checks for p in c.problems]
    details = {"sizes": [c.to_json() for c in checks], "vision": "replicated on every rank (no tp plan)"}
    return Stage("tp", StageStatus.FAILED if problems else StageStatus.PASSED, "; ".join(problems) if problems else "; ".join(parts), details=details)


def _tp_run_stage(config: Config, state: dict, options: Options) -> Stage:
    """N ranks on torch.distributed, each loading the model with transformers' tensor-parallel plan."""
    import psutil

    from .build import HEADROOM, free_memory, resolve_devices
    from .tp_run import backend_for, launched_ranks, run_tensor_parallel

    checks = state.get("tp_checks")
    if not checks or state.get("meta") is None or "hf_config" not in state:
        return Stage("tp-run", StageStatus.SKIPPED, "skipped: needs the meta and tp stages")
    if not all(c.ok for c in checks):
        return Stage("tp-run", StageStatus.SKIPPED, "not started: the tp stage found tensors that do not split")
    meta, dtype = state["meta"], DTYPES[options.dtype]
    full = dtype.bytes_for(meta.count.total)
    launched = launched_ranks()
    sizes = [c for c in checks if launched is None or c.size == launched[2]]
    if not sizes:
        raise BadValue(f"--tp {','.join(map(str, options.tp))} but the launcher started {launched[2]} processes (WORLD_SIZE)", hint=f"give --tp {launched[2]}")
    details: dict[str, Any] = {"runs": []}
    problems, parts = [], []
    for check in sizes:
        device = options.device
        if device.startswith("cuda"):
            import torch

            resolve_devices("cuda")  # a CUDA build of torch and a visible GPU, or one message
            if torch.cuda.device_count() < check.size and launched is None:
                problems.append(f"tp={check.size}: only {torch.cuda.device_count()} GPU(s) are visible")
                continue
            short = [i for i in range(check.size) if launched is None and free_memory(f"cuda:{i}") < check.bytes_per_rank * HEADROOM]
            if short:
                problems.append(f"tp={check.size}: refused before starting: cuda:{short[0]} has less than the {format_bytes(check.bytes_per_rank)} a rank needs")
                continue
        else:
            needed = full * (2 if options.forward else 1) + check.size * check.bytes_per_rank
            available = psutil.virtual_memory().available
            if needed * HEADROOM > available and not options.force:
                problems.append(f"tp={check.size}: refused before starting: the checkpoint and {check.size} ranks need about {format_bytes(needed)}, {format_bytes(available)} is available (--force tries anyway)")
                continue
        run = run_tensor_parallel(config, state["hf_config"], check.size, device, options.dtype, options.forward, check.bytes_per_rank)
        details["runs"].append(run.to_json())
        problems += _run_problems(run)
        held = ", ".join(f"rank {r.rank} {r.param_bytes:,} B" for r in run.ranks if r.ok)
        parts.append(f"tp={run.size} on {run.backend} ({run.launched_by}): {held}, as predicted" + _logits_note(run))
        details["backend"] = backend_for(device)
    if problems:
        return Stage("tp-run", StageStatus.FAILED, "; ".join(problems), details=details)
    return Stage("tp-run", StageStatus.PASSED, "; ".join(parts), details=details)


def _run_problems(run: Any) -> list[str]:
    if run.failed:
        by_error: dict[str, list[int]] = {}
        for r in run.failed:
            by_error.setdefault(r.error, []).append(r.rank)
        return [f"tp={run.size}: rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))} failed: {error}" for error, ranks in by_error.items()]
    problems = []
    problems += [f"tp={run.size}: rank {r.rank} holds {r.param_bytes:,} bytes of parameters, {run.predicted_bytes:,} were predicted" for r in run.ranks if r.param_bytes != run.predicted_bytes]
    logits = run.logits
    if logits and not logits["ok"]:
        problems.append(f"tp={run.size}: the sharded logits differ from one process's by {logits['relative_difference']:.2e} of the largest logit (tolerance {logits['tolerance']:g})")
    return problems


def _logits_note(run: Any) -> str:
    logits = run.logits
    if not logits:
        return ""
    return f"; logits {logits['shape']} match one unsharded process within {logits['relative_difference']:.1e} of the largest logit (tolerance {logits['tolerance']:g})"
