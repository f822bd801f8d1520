"""config.json from the Hugging Face Hub, through huggingface_hub's own cache and settings.

HF_TOKEN, HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT and HF_HUB_ETAG_TIMEOUT work as they
do for every Hugging Face tool. Repo ids and revisions are checked before anything reaches
huggingface_hub (a revision is a path in the cache), every fetch has an overall deadline
(QWENCFG_HUB_TIMEOUT), and the fetched bytes pass the same checks as a local file. When the Hub
cannot be reached but the file is cached, the cached copy is used and stderr says so.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Callable, ContextManager

from ..errors import BadValue, HubError, SourceNotFound, SourceUnreadable
from ..units import MAX_SECONDS, seconds_setting
from .local import read_file_bytes
from .raw import MAX_CONFIG_BYTES, Origin, RawConfig, parse_bytes, too_big

CONFIG_NAME = "config.json"
# Seconds one fetch may take in all, however slowly the Hub sends (QWENCFG_HUB_TIMEOUT overrides).
HUB_TIMEOUT = 60.0
# owner/name as the Hub spells them: letters, digits, -, _ and ., at most 96 characters in all.
REPO_ID = re.compile(r"^(?=.{1,96}$)[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9])?/[A-Za-z0-9_](?:[\w.-]*[\w])?$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Environment variables huggingface_hub reads as numbers when it is imported.
NUMERIC_HUB_VARIABLES = ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT")

Progress = Callable[[str], ContextManager]


def check_hub_environment() -> None:
    """Refuses a Hugging Face variable that would make importing huggingface_hub fail, or every request."""
    for name in NUMERIC_HUB_VARIABLES:
        value = os.environ.get(name)
        if value and not (value.strip().isdigit() and int(value) <= MAX_SECONDS):
            raise BadValue(f"{name}={value!r} is not a whole number of seconds (at most {MAX_SECONDS:,})", hint=f"unset {name}, or give e.g. 10")
    endpoint = os.environ.get("HF_ENDPOINT")
    if endpoint:
        try:
            parts = urlsplit(endpoint)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
        except ValueError:
            valid = False
        if not valid:
            raise BadValue(f"HF_ENDPOINT={endpoint!r} is not an http(s) address", hint="unset it, or give e.g. https://huggingface.co")


def split_repo_revision(source: str) -> tuple[str, str | None]:
    """`owner/name[@revision]`, checked: a bad repo id or revision is refused here, not in the cache."""
    repo_id, at, revision = source.partition("@")
    if not REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        raise SourceNotFound(f"{source}: not a valid Hub repo id", hint="use owner/name, e.g. Qwen/Qwen2.5-VL-7B-Instruct")
    if at and not is_valid_revision(revision):
        raise BadValue(f"{source}: {revision!r} is not a branch, tag or commit name", hint="see `git check-ref-format`; e.g. main, v1.0 or a 40-character commit")
    return repo_id, revision or None


def is_valid_revision(revision: str) -> bool:
    """git's rules for ref names (check-ref-format), which also keep a revision inside the cache."""
    if COMMIT.match(revision):
        return True
    if not revision or len(revision) > 255 or revision == "@" or revision.startswith("/") or revision.endswith(("/", ".")):
        return False
    if any(bad in revision for bad in ("..", "//", "@{", "\\")) or re.search(r"[\x00-\x20\x7f~^:?*\[]", revision):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock") for part in revision.split("/"))


def hub_timeout() -> float:
    return seconds_setting("QWENCFG_HUB_TIMEOUT", HUB_TIMEOUT)


def fetch_hub_config(source: str, progress: Progress | None = None) -> RawConfig:
    """Returns config.json of the Hub repo `source` (`owner/name[@revision]`)."""
    repo_id, revision = split_repo_revision(source)
    check_hub_environment()
    timeout = hub_timeout()
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars
    from huggingface_hub.utils import logging as hub_logging

    disable_progress_bars()  # a few KB; the progress callback says what is happening instead
    hub_logging.set_verbosity_error()  # retries and resumes become one message, below
    label = f"{repo_id}@{revision}" if revision else repo_id
    if constants.is_offline_mode():
        return _from_cache(repo_id, revision, label, reason="HF_HUB_OFFLINE is set")

    def fetch() -> str:
        url = huggingface_hub.hf_hub_url(repo_id, CONFIG_NAME, revision=revision)
        metadata = huggingface_hub.get_hf_file_metadata(url, timeout=constants.HF_HUB_ETAG_TIMEOUT)
        if metadata.size is None:  # nothing would bound the download into the cache
            raise SourceUnreadable(f"{label}/{CONFIG_NAME}: the Hub did not say how large the file is", hint="a Hub sends the size of every file; check HF_ENDPOINT")
        if metadata.size > MAX_CONFIG_BYTES:
            raise too_big(f"{label}/{CONFIG_NAME}", metadata.size)  # refused before it reaches the cache
        return huggingface_hub.hf_hub_download(repo_id, CONFIG_NAME, revision=revision)

    with (progress or (lambda message: nullcontext()))(f"Fetching {CONFIG_NAME} of {label} from {constants.ENDPOINT}"):
        try:
            path = within(timeout, fetch)
        except (SourceUnreadable, BadValue):
            raise
        except Exception as exc:  # noqa: BLE001 - every Hub failure maps to one message below
            reason = unreachable_reason(exc, timeout)
            if reason is None:
                raise hub_error(exc, repo_id, revision) from None
            return _from_cache(repo_id, revision, label, reason=reason)
    return _read(path, repo_id, revision, label, from_cache=False)


class _DeadlinePassed(Exception):
    pass


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """Runs `work` in a thread and gives up after `seconds`: a Hub that drips bytes never hangs us."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="qwencfg-hub-fetch", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _DeadlinePassed()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _from_cache(repo_id: str, revision: str | None, label: str, reason: str) -> RawConfig:
    import huggingface_hub

    from .presets import preset_for_repo

    try:
        path = huggingface_hub.hf_hub_download(repo_id, CONFIG_NAME, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - any miss means: not cached
        offline = "HF_HUB_OFFLINE" in reason
        hint = "check the network or HF_ENDPOINT, or fetch it once while online" + (" (unset HF_HUB_OFFLINE)" if offline else "")
        preset = preset_for_repo(repo_id)
        if preset is not None:
            hint = f"the bundled preset {preset.name} holds this config offline: qwencfg show {preset.name}"
        raise HubError(f"{label}: {reason}, and config.json of this repo{' at this revision' if revision else ''} is not in the cache", hint=hint) from None
    raw = _read(path, repo_id, revision, label, from_cache=True)
    print(f"qwencfg: {reason}; using the cached copy of {label} (commit {raw.origin.commit})", file=sys.stderr)
    return raw


def _read(path: str, repo_id: str, revision: str | None, label: str, from_cache: bool) -> RawConfig:
    file = Path(path)
    commit = file.parent.name if file.parent.parent.name == "snapshots" else None
    origin = Origin(
        kind="hub",
        label=f"{repo_id}@{commit[:12]}" if commit else label,
        repo_id=repo_id,
        revision=revision,
        commit=commit,
        from_cache=from_cache,
    )
    return parse_bytes(read_file_bytes(file), origin)


def unreachable_reason(exc: Exception, timeout: float, what: str = CONFIG_NAME) -> str | None:
    """Why the Hub could not be reached, or None when it answered with a real refusal."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    from huggingface_hub.utils import httpx  # httpx on huggingface_hub 1.x, httpx2 on 2.x

    if isinstance(exc, _DeadlinePassed):
        return f"the Hub did not send {what} within {timeout:g} s (QWENCFG_HUB_TIMEOUT)"
    if isinstance(exc, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set"
    if isinstance(exc, httpx.TimeoutException):
        return "the Hub did not answer in time"
    if isinstance(exc, (httpx.TransportError, ConnectionError)):
        return "the Hub could not be reached"
    if isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code >= 500:
        return f"the Hub answered {exc.response.status_code} (server error)"
    return None


def hub_error(exc: Exception, repo_id: str, revision: str | None) -> Exception:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    has_token = bool(_token())
    if isinstance(exc, GatedRepoError):
        if has_token:
            return HubError(
                f"{repo_id} is gated and your token has no access to it",
                hint=f"accept its conditions at https://huggingface.co/{repo_id} with the account of HF_TOKEN",
            )
        return HubError(
            f"{repo_id} is gated: it needs a token",
            hint=f"accept its conditions at https://huggingface.co/{repo_id}, then set HF_TOKEN (or run `hf auth login`)",
        )
    if isinstance(exc, RevisionNotFoundError):
        return SourceNotFound(f"{repo_id}: revision {revision!r} not found", hint="check the branch, tag or commit after @")
    if isinstance(exc, RemoteEntryNotFoundError):
        return SourceNotFound(f"{repo_id}{'@' + revision if revision else ''} has no config.json", hint="is it a model repo?")
    if isinstance(exc, RepositoryNotFoundError):
        hint = "check the spelling" + ("" if has_token else "; a private repo also needs HF_TOKEN")
        return SourceNotFound(f"{repo_id}: repository not found on the Hub", hint=hint)
    if isinstance(exc, HFValidationError):
        return SourceNotFound(f"{repo_id}: not a valid Hub repo id", hint="use owner/name, e.g. Qwen/Qwen2.5-VL-7B-Instruct")
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (401, 403):
            return HubError(
                f"{repo_id}: the Hub refused access ({status})",
                hint="check HF_TOKEN" if has_token else "set HF_TOKEN to a token that can read this repo",
            )
        return HubError(f"{repo_id}: the Hub answered {status}", hint="try again later")
    if isinstance(exc, OSError):
        from huggingface_hub import constants

        return HubError(f"{repo_id}: cannot use the Hugging Face cache at {constants.HF_HUB_CACHE}: {exc.strerror or exc}", hint="check HF_HOME / HF_HUB_CACHE")
    return HubError(f"{repo_id}: {exc}".split("\n")[0], hint="check HF_ENDPOINT and the network")


def _token() -> str | None:
    from huggingface_hub import get_token

    try:
        return os.environ.get("HF_TOKEN") or get_token()
    except OSError:  # HF_HOME is not a folder: reported by the fetch itself
        return None
