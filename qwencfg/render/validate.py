"""`qwencfg validate` reports: a table for people, JSON, JUnit XML for CI, markdown for pull requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..count import COMPONENTS
from ..rules import Finding, Severity
from ..validation import Report, StageStatus
from . import dump_json, format_bytes, format_count, md_escape, print_table, printable

STATUS_STYLE = {StageStatus.PASSED: "green", StageStatus.FAILED: "bold red", StageStatus.SKIPPED: "dim"}
SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def validate_json(report: Report) -> dict[str, Any]:
    """The documented `validate --format json` object."""
    config = report.config
    checkpoint = report.analytic
    return {
        "qwencfg_version": __version__,
        "source": config.raw.origin.to_json(),
        "family": config.family.name,
        "layout": config.layout.value,
        "valid": report.valid,
        "exit_code": report.exit_code,
        "strict": report.strict,
        "allowed": sorted(report.allowed),
        "stages": [s.to_json() for s in report.stages],
        "rules": [
            {"rule": r.id, "description": r.description, "status": report.rule_status(found).value, "findings": [f.to_json() for f in found]}
            for r, found in report.rule_results
        ],
        "parameters": {
            "analytic": checkpoint.to_json() if checkpoint else None,
            "meta": report.meta.to_json() if report.meta else None,
        },
    }


def render_validate(reports: list[Report], fmt: str, console: Console, several: bool = False, quiet: bool = False,
                    unreadable: list[tuple[str, str]] = ()) -> None:
    """One report as documented; for several SOURCEs one after another, a JSON array, or one JUnit file.

    A SOURCE that could not be read (its error went to stderr) stays in the JSON and JUnit reports."""
    if fmt == "json":
        data = [validate_json(r) for r in reports] + [{"source": {"label": source}, "valid": False, "exit_code": 2, "error": error} for source, error in unreadable]
        console.print(dump_json(data if several else data[0]), markup=False, soft_wrap=True)
    elif fmt == "junit":
        console.print(validate_junit(reports, unreadable), markup=False, soft_wrap=True)
    elif fmt == "markdown":
        console.print("\n".join([validate_markdown(r) for r in reports] + [f"**unreadable: {md_escape(s)}**: {md_escape(e)}\n" for s, e in unreadable]), markup=False, soft_wrap=True)
    else:
        for index, report in enumerate(reports):
            if quiet and report.valid:
                console.print(Text(_headline(report), style="green"), soft_wrap=True)
                continue
            if index:
                console.print()
            _validate_tables(report, console)


def _headline(report: Report) -> str:
    config = report.config
    verdict = "valid" if report.valid else "INVALID"
    return f"{verdict}: {config.raw.origin.label} ({config.family.name}, {config.layout.value} layout)"


def _fix(finding: Finding) -> str:
    if finding.cause:
        return f"follows from {finding.cause}: fix that first"
    return finding.hint


def _severity(report: Report, finding: Finding) -> str:
    if finding.rule in report.allowed and finding.severity is not Severity.INFO:
        return f"{finding.severity.value} (allowed)"
    return finding.severity.value


def _validate_tables(report: Report, console: Console) -> None:
    console.print(Text(_headline(report), style="bold green" if report.valid else "bold red"))
    stages = Table(title="stages", title_justify="left")
    for column in ("stage", "status", "time", "result"):
        stages.add_column(column, overflow="fold", no_wrap=column != "result")
    for s in report.stages:
        stages.add_row(s.name, Text(s.status.value, style=STATUS_STYLE[s.status]), f"{s.seconds:.2f}s", Text(printable(s.summary)))
    print_table(console, stages)
    shown = [f for f in report.findings if f.severity is not Severity.INFO]
    if shown:
        findings = Table(title="findings", title_justify="left")
        for column in ("severity", "rule", "message", "fix"):
            findings.add_column(column, overflow="fold", no_wrap=column in ("severity", "rule"))
        for f in shown:
            findings.add_row(Text(_severity(report, f), style=SEVERITY_STYLE[f.severity]), f.rule, Text(printable(f.message)), Text(printable(_fix(f))))
        print_table(console, findings)
    infos = [f for f in report.findings if f.severity is Severity.INFO]
    if infos:
        console.print(Text(printable("info: " + "; ".join(f.message for f in infos)), style="dim"))
    if report.meta is not None:
        print_table(console, _count_table(report))
    for stage in report.stages:
        if stage.name == "tp" and stage.status is not StageStatus.SKIPPED:
            print_table(console, _tp_table(stage.details))


def _count_table(report: Report) -> Table:
    table = Table(title="parameters by component", title_justify="left")
    table.add_column("component")
    analytic = report.analytic.model.components if report.analytic else {}
    rows = []
    for comp in [c for c in COMPONENTS if c in report.meta.components]:
        n = report.meta.components[comp]
        label = comp + (" (tied to text.embed_tokens, counted once)" if comp == "lm_head" and report.meta.tied else "")
        rows.append((label, f"{n:,}", f"{analytic[comp]:,}" if comp in analytic else "n/a"))
    checkpoint = report.analytic
    rows.append(("total" + (" (transformers model)" if checkpoint and checkpoint.mtp else ""), format_count(report.meta.total), format_count(checkpoint.model.total if checkpoint else None)))
    if checkpoint and checkpoint.mtp:
        rows.append((f"mtp ({checkpoint.mtp_layers} layers, not built by transformers)", "-", f"{checkpoint.mtp:,}"))
        rows.append(("checkpoint total (model + MTP)", "-", format_count(checkpoint.total)))
    table.add_column("meta build", justify="right", no_wrap=True, min_width=max(len(r[1]) for r in rows))
    table.add_column("from the config", justify="right", no_wrap=True, min_width=max(len(r[2]) for r in rows))
    for label, meta, ours in rows:
        bold = "bold" if label.startswith(("total", "checkpoint total")) else ""
        table.add_row(Text(label, style=bold), Text(meta, style=bold), Text(ours, style=bold))
    return table


def _tp_table(details: dict[str, Any]) -> Table:
    table = Table(title=f"tensor parallel (vision tower: {details['vision']})", title_justify="left")
    for column in ("tp", "shards evenly", "weights per rank", "of which replicated", "problems"):
        table.add_column(column, overflow="fold")
    for size in details["sizes"]:
        table.add_row(
            str(size["size"]),
            Text("yes" if size["ok"] else "no", style="green" if size["ok"] else "red"),
            format_bytes(size["bytes_per_rank"]),
            format_bytes(size["replicated_bytes"]),
            Text("; ".join(size["problems"])),
        )
    return table


def validate_junit(reports: list[Report], unreadable: list[tuple[str, str]] = ()) -> str:
    """One test suite per config, with one test case per rule and per stage, for CI test reporters;
    a config that could not be read is a suite with one error."""
    root = ET.Element("testsuites", name="qwencfg validate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    suites = [_junit_suite(report) for report in reports] + [_junit_unreadable(source, error) for source, error in unreadable]
    for suite in suites:
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key))
        seconds += float(suite.get("time"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    # control characters are not XML: a key that holds one is spelled out, so the report still parses
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + printable(ET.tostring(root, encoding="unicode")) + "\n"


def _junit_unreadable(source: str, error: str) -> ET.Element:
    suite = ET.Element("testsuite", name=f"qwencfg validate {source}", tests="1", failures="0", errors="1", skipped="0", time="0")
    case = ET.SubElement(suite, "testcase", classname="qwencfg.sources", name="read", time="0")
    ET.SubElement(case, "error", message=error, type="unreadable").text = error
    return suite


def _junit_suite(report: Report) -> ET.Element:
    label = report.config.raw.origin.label
    suite = ET.Element("testsuite", name=f"qwencfg validate {label}")
    cases = []
    for rule, found in report.rule_results:
        case = ET.SubElement(suite, "testcase", classname="qwencfg.rules", name=rule.id, time="0")
        failing = [f for f in found if report.fails(f)]
        if failing:
            failure = ET.SubElement(case, "failure", message=failing[0].message, type=failing[0].rule)
            failure.text = "\n".join(str(f) for f in failing)
        others = [f for f in found if f not in failing]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(f"{f.severity.value}: {f}" for f in others)
        cases.append((case, bool(failing), False))
    for stage in report.stages:
        if stage.name == "rules":
            continue
        case = ET.SubElement(suite, "testcase", classname="qwencfg.stages", name=stage.name, time=f"{stage.seconds:.3f}")
        if stage.status is StageStatus.FAILED:
            failure = ET.SubElement(case, "failure", message=stage.summary, type=stage.name)
            failure.text = stage.summary + (f"\n\n{stage.details['error']}" if "error" in stage.details else "")
        elif stage.status is StageStatus.SKIPPED:
            ET.SubElement(case, "skipped", message=stage.summary)
        else:
            ET.SubElement(case, "system-out").text = stage.summary
        cases.append((case, stage.status is StageStatus.FAILED, stage.status is StageStatus.SKIPPED))
    totals = {"tests": len(cases), "failures": sum(c[1] for c in cases), "errors": 0, "skipped": sum(c[2] for c in cases)}
    for key, value in totals.items():
        suite.set(key, str(value))
    suite.set("time", f"{sum(s.seconds for s in report.stages):.3f}")
    return suite


def validate_markdown(report: Report) -> str:
    mark = {StageStatus.PASSED: "✅", StageStatus.FAILED: "❌", StageStatus.SKIPPED: "⏭️"}
    lines = [f"**{md_escape(_headline(report))}**", "", "| stage | status | result |", "|---|---|---|"]
    lines += [f"| {s.name} | {mark[s.status]} {s.status.value} | {md_escape(s.summary)} |" for s in report.stages]
    shown = [f for f in report.findings if f.severity is not Severity.INFO]
    if shown:
        lines += ["", "| severity | rule | message | fix |", "|---|---|---|---|"]
        lines += [f"| {_severity(report, f)} | `{f.rule}` | {md_escape(f.message)} | {md_escape(_fix(f))} |" for f in shown]
    checkpoint = report.analytic
    if report.meta is not None:
        lines += ["", f"Parameters: **{format_count(report.meta.total)}**" + (" (lm_head tied to the embeddings, counted once)" if report.meta.tied else "")]
        if checkpoint and checkpoint.mtp:
            lines.append(f"Checkpoint: **{format_count(checkpoint.total)}** = model + MTP {checkpoint.mtp:,}")
    return "\n".join(lines) + "\n"
