"""Fetch config.json from the Hugging Face Hub with huggingface_hub's own cache and settings.

HF_TOKEN, HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT and HF_HUB_ETAG_TIMEOUT work as they
do for every Hugging Face tool. When the Hub cannot be reached but the file is cached, the cached
copy is used and stderr says so. Hub errors become one sentence that says what to do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import HubError, SourceNotFound
from .render import spinner
from .sources import Origin, RawConfig, parse_text

CONFIG_NAME = "config.json"


def split_repo_revision(source: str) -> tuple[str, str | None]:
    repo_id, _, revision = source.partition("@")
    return repo_id, revision or None


def fetch_hub_config(source: str) -> RawConfig:
    """Returns config.json of the Hub repo `source` (`owner/name[@revision]`)."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # a few KB; a spinner on stderr says what is happening instead
    repo_id, revision = split_repo_revision(source)
    label = f"{repo_id}@{revision}" if revision else repo_id
    if constants.is_offline_mode():
        return _from_cache(repo_id, revision, label, reason="HF_HUB_OFFLINE is set")
    with spinner(f"Fetching {CONFIG_NAME} of {label} from {constants.ENDPOINT}"):
        try:
            url = huggingface_hub.hf_hub_url(repo_id, CONFIG_NAME, revision=revision)
            huggingface_hub.get_hf_file_metadata(url, timeout=constants.HF_HUB_ETAG_TIMEOUT)
            path = huggingface_hub.hf_hub_download(repo_id, CONFIG_NAME, revision=revision)
        except Exception as exc:  # noqa: BLE001 - every Hub failure maps to one message below
            reason = _unreachable_reason(exc)
            if reason is None:
                raise _hub_error(exc, repo_id, revision) from None
            return _from_cache(repo_id, revision, label, reason=reason)
    return _read(path, repo_id, revision, label, from_cache=False)


def _from_cache(repo_id: str, revision: str | None, label: str, reason: str) -> RawConfig:
    import huggingface_hub

    try:
        path = huggingface_hub.hf_hub_download(repo_id, CONFIG_NAME, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - any miss means: not cached
        raise HubError(
            f"{label}: {reason}, and config.json of this repo{' at this revision' if revision else ''} is not in the cache",
            hint="check the network or HF_ENDPOINT, or fetch it once while online (unset HF_HUB_OFFLINE)",
        ) from None
    raw = _read(path, repo_id, revision, label, from_cache=True)
    print(f"qwencfg: {reason}; using the cached copy of {label} (commit {raw.origin.commit})", file=sys.stderr)
    return raw


def _read(path: str, repo_id: str, revision: str | None, label: str, from_cache: bool) -> RawConfig:
    file = Path(path)
    commit = file.parent.name if file.parent.parent.name == "snapshots" else None
    text = file.read_bytes().decode("utf-8-sig")
    origin = Origin(
        kind="hub",
        label=f"{repo_id}@{commit[:12]}" if commit else label,
        repo_id=repo_id,
        revision=revision,
        commit=commit,
        from_cache=from_cache,
    )
    return parse_text(text, origin)


def _unreachable_reason(exc: Exception) -> str | None:
    """Why the Hub could not be reached, or None when it answered with a real refusal."""
    import httpx2 as httpx  # huggingface_hub's HTTP client
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set"
    if isinstance(exc, httpx.TimeoutException):
        return "the Hub did not answer in time"
    if isinstance(exc, (httpx.ConnectError, httpx.NetworkError, ConnectionError)):
        return "the Hub could not be reached"
    if isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code >= 500:
        return f"the Hub answered {exc.response.status_code} (server error)"
    return None


def _hub_error(exc: Exception, repo_id: str, revision: str | None) -> Exception:
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
    return HubError(f"{repo_id}: {type(exc).__name__}: {exc}".split("\n")[0])


def _token() -> str | None:
    from huggingface_hub import get_token

    return os.environ.get("HF_TOKEN") or get_token()
