"""Fixtures shared by the tests: the CLI runner, config files in tmp_path, and a fake Hub server."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from qwencfg.cli import app
from qwencfg.sources import fetch_source

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(autouse=True)
def _stable_environment(monkeypatch):
    """Same output everywhere: wide tables, no colour, and never the real Hub."""
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a closed port: a test that forgets the fake Hub fails fast
    monkeypatch.delenv("HF_TOKEN", raising=False)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run(*args: str, input: str | None = None) -> Run:
    """Runs the CLI in-process, as a user would type it."""
    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def one_error(result: Run) -> str:
    """The one error line of a refused command (exit 2, nothing on stdout), without its prefix."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qwencfg: error: "), result.stderr
    return lines[0].removeprefix("qwencfg: error: ")


def run_process(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 60) -> Run:
    """Runs `python -m qwencfg` in a fresh process (for environment variables read at import)."""
    full_env = {**os.environ, "COLUMNS": "140", "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "qwencfg", *args], capture_output=True, text=True, env=full_env, input=input, timeout=timeout
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def preset_data(name: str) -> dict:
    return fetch_source(name).data


def write_json(path: Path, data, indent: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n")
    return path


def assert_snapshot(name: str, text: str) -> None:
    """Compares with tests/snapshots/NAME; QWENCFG_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("QWENCFG_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no snapshot {name}; run with QWENCFG_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text()


# --- a fake Hugging Face Hub ----------------------------------------------------------------------


@dataclass
class FakeRepo:
    files: dict[str, dict[str, bytes]]  # commit -> file name -> bytes
    refs: dict[str, str]  # branch or tag -> commit
    gated: bool = False  # needs a token; `allowed_token` has access
    allowed_token: str | None = None


@dataclass
class FakeHub:
    """A small HTTP server answering the requests huggingface_hub makes: HEAD and GET of
    /{repo}/resolve/{revision}/{file}, with byte ranges, and ways to misbehave."""

    url: str = ""
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    fail_with: int | None = None  # answer every request with this status
    stall_seconds: float = 0.0  # wait this long before answering
    drip_seconds: float = 0.0  # send the body one byte at a time, this long apart
    cut_body: bool = False  # close the connection half-way through a body
    declared_size: int | None = None  # claim this Content-Length on HEAD (a huge file that never comes)
    hide_size: bool = False  # send no Content-Length at all (a body without an end)
    requests: list[str] = field(default_factory=list)
    body_bytes_sent: int = 0
    ranges: list[str] = field(default_factory=list)

    def add(self, repo_id: str, data: dict | bytes | None, revision: str = "main", commit: str | None = None, **kwargs) -> str:
        """config.json of a new commit on `revision` (None: a commit without one)."""
        body = data if isinstance(data, bytes) or data is None else (json.dumps(data, indent=2) + "\n").encode()
        files = {} if body is None else {"config.json": body}
        return self.add_files(repo_id, files, revision=revision, commit=commit, **kwargs)

    def add_files(self, repo_id: str, files: dict[str, bytes], revision: str = "main", commit: str | None = None, **kwargs) -> str:
        commit = commit or hashlib.sha1(repo_id.encode() + b"".join(files.values())).hexdigest()
        repo = self.repos.setdefault(repo_id, FakeRepo(files={}, refs={}, **kwargs))
        repo.files[commit] = dict(files)
        repo.refs[revision] = commit
        return commit

    def add_folder(self, repo_id: str, folder: Path, revision: str = "main") -> str:
        return self.add_files(repo_id, {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}, revision=revision)


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_HEAD(self):
            self._answer(with_body=False)

        def do_GET(self):
            self._answer(with_body=True)

        def _answer(self, with_body: bool):
            hub.requests.append(f"{self.command} {self.path}")
            if hub.stall_seconds:
                time.sleep(hub.stall_seconds)
            if hub.fail_with:
                return self._error(hub.fail_with, None)
            parts = [unquote(p) for p in self.path.split("?")[0].strip("/").split("/")]
            if len(parts) < 5 or parts[2] != "resolve":
                return self._error(404, "RepoNotFound")
            repo_id, revision, filename = f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._error(401, "RepoNotFound")  # the Hub hides private repos behind 401
            if repo.gated:
                token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                if token != repo.allowed_token:
                    return self._error(401 if not token else 403, "GatedRepo")
            commit = repo.refs.get(revision, revision if revision in repo.files else None)
            if commit is None:
                return self._error(404, "RevisionNotFound")
            body = repo.files[commit].get(filename)
            if body is None:
                return self._error(404, "EntryNotFound")
            status, part = 200, body
            byte_range = self.headers.get("range")
            if byte_range and byte_range.startswith("bytes="):
                hub.ranges.append(f"{filename} {byte_range}")
                first, _, last = byte_range.removeprefix("bytes=").partition("-")
                part = body[int(first) : (int(last) + 1 if last else len(body))]
                status = 206
            self.send_response(status)
            self.send_header("X-Repo-Commit", commit)
            self.send_header("ETag", f'"{hashlib.sha1(body).hexdigest()}"')
            size = hub.declared_size if (hub.declared_size and not with_body) else len(part)
            if not hub.hide_size:
                self.send_header("Content-Length", str(size))
            self.send_header("Content-Type", "application/octet-stream")
            if status == 206:
                self.send_header("Content-Range", f"bytes {first}-{int(first) + len(part) - 1}/{len(body)}")
            self.end_headers()
            if not with_body:
                return
            if hub.cut_body:
                self.wfile.write(part[: len(part) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if hub.drip_seconds:
                for i in range(len(part)):
                    self.wfile.write(part[i : i + 1])
                    self.wfile.flush()
                    hub.body_bytes_sent += 1
                    time.sleep(hub.drip_seconds)
                return
            self.wfile.write(part)
            hub.body_bytes_sent += len(part)

        def _error(self, status: int, code: str | None):
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a client that hung up is what some tests do
            super().handle_error(request, client_address)


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    server = _QuietServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hub
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub_env(fake_hub, tmp_path):
    """Environment for a qwencfg process that talks to the fake Hub with an empty cache."""
    return {
        "HF_ENDPOINT": fake_hub.url,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_ETAG_TIMEOUT": "2",
        "HF_HUB_DOWNLOAD_TIMEOUT": "2",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_TOKEN": "",
    }
