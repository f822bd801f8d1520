"""`validate`: rules, the transformers config class, a meta build, a real-device build, tensor parallelism.

Stages run in order; the first that fails stops the rest unless keep_going. The report says what
each stage found and how long it took; the CLI turns it into a table, JSON, JUnit or markdown.
"""

from __future__ import annotations

import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from .canonical import Config
from .count import CountUnavailable, ParameterCount, try_count_parameters
from .errors import BadValue, MissingDependency
from .rules import ERROR, WARNING, Finding, check_rules

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class Stage:
    name: str
    status: str
    summary: str
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "summary": self.summary, "seconds": round(self.seconds, 3), "details": self.details}


@dataclass
class Report:
    config: Config
    stages: list[Stage]
    rule_results: list[tuple[Any, list[Finding]]]
    analytic: ParameterCount | None
    meta: ParameterCount | None
    strict: bool = False

    @property
    def findings(self) -> list[Finding]:
        return [f for _, found in self.rule_results for f in found]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def valid(self) -> bool:
        failed = any(s.status == FAILED for s in self.stages)
        return not failed and not (self.strict and self.warnings)

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
    stages: tuple[str, ...] = ("rules", "transformers", "meta", "device", "tp")


def parse_expected_params(text: str) -> tuple[int, int]:
    """`8292166656` -> exact; `8.29B` -> (8.29e9, half a unit of the last digit: 0.005e9)."""
    match = re.fullmatch(r"\s*([\d_,]*\.?\d+)\s*([KkMmBbTt]?)\s*", text)
    if not match:
        raise BadValue(f"--expect-params {text!r} is not a count", hint="write 8292166656 or 8.29B")
    number, suffix = match.group(1).replace("_", "").replace(",", ""), match.group(2).upper()
    scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}[suffix]
    decimals = len(number.split(".")[1]) if "." in number else 0
    value = round(float(number) * scale)
    tolerance = 0 if not suffix and decimals == 0 else scale * 10**-decimals // 2
    return value, int(tolerance)


def validate(config: Config, options: Options | None = None, progress: Callable[[str], ContextManager] | None = None) -> Report:
    """Runs the validation stages on `config` and returns the report (never raises for a bad config)."""
    options = options or Options()
    if options.expect_params:
        parse_expected_params(options.expect_params)  # bad usage: fail before any stage runs
    progress = progress or (lambda message: nullcontext())
    run_device = options.device not in (None, "meta") and "device" in options.stages
    report = Report(config, [], [], None, None, strict=options.strict)
    report.analytic, _ = try_count_parameters(config)
    state: dict[str, Any] = {}
    plan: list[tuple[str, Callable[[], Stage]]] = [
        ("rules", lambda: _rules_stage(config, report)),
        ("transformers", lambda: _transformers_stage(config, state)),
        ("meta", lambda: _meta_stage(config, report, state, options)),
    ]
    if run_device:
        plan.append(("device", lambda: _device_stage(config, state, options)))
    if options.tp and "tp" in options.stages:
        plan.append(("tp", lambda: _tp_stage(config, report, state, options)))
    stopped = None
    for name, run in plan:
        if name not in options.stages:
            continue
        if stopped is not None:
            report.stages.append(Stage(name, SKIPPED, f"skipped: the {stopped} stage failed (--keep-going runs it anyway)"))
            continue
        started = time.perf_counter()
        with progress(f"validate: {name}"):
            stage = run()
        stage.seconds = time.perf_counter() - started
        report.stages.append(stage)
        if stage.status == FAILED and not options.keep_going:
            stopped = name
    return report


def _rules_stage(config: Config, report: Report) -> Stage:
    report.rule_results = check_rules(config)
    errors = [f for f in report.findings if f.severity == ERROR]
    warnings = report.warnings
    passed = sum(1 for _, found in report.rule_results if not any(f.severity in (ERROR, WARNING) for f in found))
    summary = f"{passed}/{len(report.rule_results)} rules pass"
    if errors:
        summary += f"; {len(errors)} error{'s' if len(errors) > 1 else ''}"
    if warnings:
        summary += f"; {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
    return Stage("rules", FAILED if errors else PASSED, summary, details={"findings": [f.to_json() for f in report.findings]})


def _transformers_stage(config: Config, state: dict) -> Stage:
    from .build import check_with_transformers
    from .schema import installed_transformers_version

    version = installed_transformers_version()
    try:
        state["hf_config"], logged = check_with_transformers(config)
    except Exception as exc:  # noqa: BLE001 - whatever the config class raises is the finding
        reason = " ".join(str(exc).split())
        return Stage("transformers", FAILED, f"{config.family.config_class} of transformers {version} refuses it: {type(exc).__name__}: {reason[:300]}")
    summary = f"{config.family.config_class} of transformers {version} accepts it"
    if logged:
        summary += f" ({len(logged)} warning{'s' if len(logged) > 1 else ''})"
    return Stage("transformers", PASSED, summary, details={"warnings": logged, "transformers_version": version})


def _meta_stage(config: Config, report: Report, state: dict, options: Options) -> Stage:
    from .build import build_on_meta, require_torch

    try:
        require_torch()
    except MissingDependency as exc:
        if options.device not in (None, "meta") or options.expect_params:
            return Stage("meta", FAILED, str(exc))
        return Stage("meta", SKIPPED, f"skipped: {exc}")
    if "hf_config" not in state:
        return Stage("meta", SKIPPED, "skipped: needs the transformers stage")
    too_big = [f.message for f in report.findings if f.rule == "size-limits"]
    if too_big:
        return Stage("meta", FAILED, f"not built: {too_big[0]}")
    try:
        meta = build_on_meta(config, state["hf_config"])
    except Exception as exc:  # noqa: BLE001 - the modeling code refused the config
        return Stage("meta", FAILED, f"{config.family.architecture} could not be built: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    state["meta"] = meta
    report.meta = meta.count
    details: dict[str, Any] = {"parameters": meta.count.to_json()}
    problems = []
    if report.analytic is not None:
        details["analytic_total"] = report.analytic.total
        if report.analytic.total != meta.count.total:
            problems.append(f"the analytic count {report.analytic.total:,} differs from the meta count {meta.count.total:,} (a qwencfg bug, please report it)")
    summary = f"{config.family.architecture} builds on meta: {meta.count.total:,} parameters" + (" (lm_head tied, counted once)" if meta.count.tied else "")
    if options.expect_params:
        expected, tolerance = parse_expected_params(options.expect_params)
        details["expected_parameters"] = {"value": expected, "tolerance": tolerance}
        if abs(meta.count.total - expected) > tolerance:
            problems.append(f"expected {options.expect_params} parameters, the model has {meta.count.total:,}")
    if problems:
        return Stage("meta", FAILED, "; ".join(problems), details=details)
    return Stage("meta", PASSED, summary, details=details)


def _device_stage(config: Config, state: dict, options: Options) -> Stage:
    from .build import DTYPE_BYTES, HEADROOM, materialize, plan_placement, resolve_devices, tiny_forward
    from .render import format_bytes

    meta = state.get("meta")
    if meta is None:
        return Stage("device", SKIPPED, "skipped: needs the meta stage")
    devices = resolve_devices(options.device)
    placement = plan_placement(meta, devices, options.dtype)
    needed = meta.count.total * DTYPE_BYTES[options.dtype]
    free = sum(placement.free_bytes.values())
    details: dict[str, Any] = {
        "devices": devices,
        "dtype": options.dtype,
        "weight_bytes": needed,
        "free_bytes": placement.free_bytes,
    }
    where = ", ".join(devices)
    if needed * HEADROOM > free and not options.force:
        return Stage(
            "device", FAILED,
            f"refused before allocating: the weights need {format_bytes(needed)} in {options.dtype} "
            f"({meta.count.total:,} x {DTYPE_BYTES[options.dtype]} B) but {where} has {format_bytes(free)} free (--force tries anyway)",
            details=details,
        )
    try:
        allocated = materialize(meta, placement, options.dtype)
    except (RuntimeError, MemoryError) as exc:
        return Stage("device", FAILED, f"allocation on {where} failed: {' '.join(str(exc).split())[:200]}", details=details)
    details["allocated_bytes"] = allocated
    if placement.device_map:
        details["device_map_modules"] = len(placement.device_map)
    per_device = ", ".join(f"{d} {format_bytes(n)}" for d, n in allocated.items() if n)
    summary = f"allocated {format_bytes(sum(allocated.values()))} in {options.dtype} ({per_device})"
    if options.forward:
        try:
            result = tiny_forward(meta, config, placement)
        except Exception as exc:  # noqa: BLE001 - the forward pass is the check
            return Stage("device", FAILED, f"{summary}; the forward pass failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", details=details)
        details["forward"] = result
        if not result["ok"]:
            return Stage("device", FAILED, f"{summary}; forward pass: logits {result['logits_shape']} (expected {result['expected_shape']}), finite: {result['finite']}", details=details)
        summary += f"; forward pass of {result['tokens']} tokens ({result['image_tokens']} image): logits {result['logits_shape']}, finite"
    return Stage("device", PASSED, summary, details=details)


def _tp_stage(config: Config, report: Report, state: dict, options: Options) -> Stage:
    from .build import DTYPE_BYTES
    from .count import parameter_inventory
    from .parallel import check_tensor_parallel
    from .render import format_bytes

    meta = state.get("meta")
    if meta is not None:
        inventory = meta.inventory
    else:
        try:
            inventory = parameter_inventory(config)
        except CountUnavailable as exc:
            return Stage("tp", SKIPPED, f"skipped: {exc}")
    checks = check_tensor_parallel(config, inventory, list(options.tp), DTYPE_BYTES[options.dtype])
    parts = [f"tp={c.size}: {'ok' if c.ok else 'no'}, {format_bytes(c.bytes_per_rank)}/rank" for c in checks]
    problems = [f"tp={c.size}: {p}" for c in checks for p in c.problems]
    details = {"sizes": [c.to_json() for c in checks], "vision": "replicated on every rank (no tp plan)"}
    return Stage("tp", FAILED if problems else PASSED, "; ".join(problems) if problems else "; ".join(parts), details=details)
