"""Will these weights load into this config? Answered from the safetensors headers alone.

A checkpoint's headers (a few KB per shard) name every tensor with its shape and dtype. They are
read from a local folder, or from the Hub with two small range requests per shard, so no weight
byte is ever transferred. The names are mapped to the model's with transformers' own conversion
rules for the family, and loaded, as meta tensors, into the model built on the meta device:
the same step `from_pretrained` takes, so missing, unexpected and mismatched tensors are what
it would report. `mtp.*` tensors, which transformers skips, are checked against qwencfg's own
multi-token-prediction inventory.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .canonical import Config
from .count import COMPONENTS, component_of, mtp_inventory
from .errors import HubError, SourceNotFound, SourceUnreadable

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on a header
# safetensors dtype names -> torch's
TORCH_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
                "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
_LAYER = re.compile(r"^(model\.visual\.blocks|model\.language_model\.layers|mtp\.layers)\.(\d+)\.")
DEPTH_KEYS = {"model.visual.blocks": ("vision.depth", "blocks"), "model.language_model.layers": ("text.num_hidden_layers", "layers"), "mtp.layers": ("text.mtp_num_hidden_layers", "MTP layers")}


@dataclass(frozen=True)
class Tensor:
    shape: tuple[int, ...]
    dtype: str  # as safetensors spells it: BF16, F32, ...


@dataclass
class Checkpoint:
    where: str  # a folder, or repo@revision
    files: list[str]
    tensors: dict[str, Tensor]
    bytes_read: int  # header bytes read or transferred (never weights)


@dataclass
class WeightsCheck:
    checkpoint: Checkpoint
    missing: list[str]  # model tensors the checkpoint lacks (from_pretrained would initialise them at random)
    unexpected: list[str]  # checkpoint tensors the model does not have (from_pretrained would drop them)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # (name, checkpoint shape, model shape)
    mtp_missing: list[str]
    mtp_unexpected: list[str]
    mtp_mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]
    mtp_found: int
    causes: list[str]  # one line per cause, naming the config key that explains it
    components: dict[str, dict[str, int]]  # component -> expected, found, missing, mismatched, unexpected
    dtypes: dict[str, list[str]]  # component -> dtypes its tensors are stored in
    totals_by_dtype: dict[str, int]  # parameters stored per dtype
    conversion_errors: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # checkpoint name -> the model's name for it

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched or self.mtp_missing or self.mtp_unexpected or self.mtp_mismatched or self.conversion_errors)

    @property
    def total(self) -> int:
        return sum(self.totals_by_dtype.values())

    def to_json(self) -> dict[str, Any]:
        checkpoint = self.checkpoint
        return {
            "checkpoint": {"where": checkpoint.where, "files": checkpoint.files, "tensors": len(checkpoint.tensors), "header_bytes_read": checkpoint.bytes_read},
            "missing": self.missing + self.mtp_missing,
            "unexpected": self.unexpected + self.mtp_unexpected,
            "mismatched": [{"name": n, "checkpoint_shape": list(a), "config_shape": list(b)} for n, a, b in self.mismatched + self.mtp_mismatched],
            "causes": self.causes,
            "components": self.components,
            "dtypes": self.dtypes,
            "parameters_by_dtype": self.totals_by_dtype,
            "mtp_tensors_found": self.mtp_found,
        }


# --- reading headers -----------------------------------------------------------------------------


def read_local_checkpoint(folder: Path) -> Checkpoint:
    """The tensors of the safetensors checkpoint in `folder` (sharded with an index, or one file)."""
    index = folder / INDEX_NAME
    if index.is_file():
        files = _shards(_read_small(index), str(index))
        read = index.stat().st_size
    elif (folder / SINGLE_NAME).is_file():
        files, read = [SINGLE_NAME], 0
    else:
        found = sorted(p.name for p in folder.glob("*.safetensors"))
        if not found:
            raise SourceNotFound(f"{folder}: no safetensors checkpoint here", hint=f"--weights reads {INDEX_NAME} or {SINGLE_NAME} beside the config; --weights-from names another place")
        files, read = found, 0
    tensors: dict[str, Tensor] = {}
    for name in files:
        header, size = _local_header(folder / name)
        tensors.update(header)
        read += size
    return Checkpoint(str(folder), files, tensors, read)


def _read_small(path: Path) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(MAX_HEADER_BYTES + 1)
    if len(data) > MAX_HEADER_BYTES:
        raise SourceUnreadable(f"{path} is too large to be a safetensors index")
    return data


def _shards(data: bytes, label: str) -> list[str]:
    try:
        weight_map = json.loads(data)["weight_map"]
        files = sorted(set(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SourceUnreadable(f"{label} is not a safetensors index (no weight_map)") from None
    if not files or not all(isinstance(f, str) and "/" not in f and f.endswith(".safetensors") for f in files):
        raise SourceUnreadable(f"{label}: its weight_map names no shard files, or names outside the folder")
    return files


def _local_header(path: Path) -> tuple[dict[str, Tensor], int]:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would never end
            raise SourceUnreadable(f"{path} is not a regular file", hint="a checkpoint shard is a file")
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            length = _header_length(prefix, str(path))
            raw = handle.read(length)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise SourceNotFound(f"{path}: a shard the index names is missing") from None
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from None
    return _parse_header(raw, str(path), size), 8 + len(raw)


def _header_length(prefix: bytes, label: str) -> int:
    if len(prefix) != 8:
        raise SourceUnreadable(f"{label} is not a safetensors file (too short)")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES:
        raise SourceUnreadable(f"{label} is not a safetensors file (header of {length:,} bytes)")
    return length


def _parse_header(raw: bytes, label: str, file_size: int | None) -> dict[str, Tensor]:
    """The tensors a header (the `raw` JSON after the 8-byte length) names. A file shorter than
    where the header places its data (`file_size`, when known) is one from_pretrained refuses."""
    try:
        header = json.loads(raw)
        header.pop("__metadata__", None)
        tensors = {name: Tensor(tuple(int(d) for d in entry["shape"]), str(entry["dtype"])) for name, entry in header.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SourceUnreadable(f"{label}: its safetensors header is not valid") from None
    try:
        data_end = 8 + len(raw) + max((int(entry["data_offsets"][1]) for entry in header.values()), default=0)
    except (ValueError, KeyError, TypeError, IndexError):
        raise SourceUnreadable(f"{label}: its safetensors header has no valid data_offsets") from None
    if file_size is not None and data_end > file_size:
        raise SourceUnreadable(f"{label} is cut short: its header places data up to byte {data_end:,}, the file has {file_size:,}", hint="download the file again")
    return tensors


def read_hub_checkpoint(repo_id: str, revision: str | None, timeout: float) -> Checkpoint:
    """The tensors of a Hub checkpoint, from its index and two range requests per shard (headers only)."""
    from .sources.hub import check_hub_environment, hub_error, unreachable_reason, within

    check_hub_environment()
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    if constants.is_offline_mode():
        raise HubError(f"{repo_id}: HF_HUB_OFFLINE is set, so the checkpoint's headers cannot be fetched", hint="unset HF_HUB_OFFLINE, or give --weights-from a local folder")

    session, headers = get_session(), build_hf_headers()
    counted = [0]
    sizes: dict[str, int] = {}

    def get(filename: str, byte_range: tuple[int, int] | None = None) -> bytes:
        url = hf_hub_url(repo_id, filename, revision=revision)
        extra = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        limit = byte_range[1] - byte_range[0] + 1 if byte_range else MAX_HEADER_BYTES
        with session.stream("GET", url, headers={**headers, **extra}, follow_redirects=True) as response:
            hf_raise_for_status(response)
            total = response.headers.get("content-range", "").rpartition("/")[2]
            if total.isdigit():
                sizes[filename] = int(total)
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:  # a server that ignores the range, or sends without end
                    raise SourceUnreadable(f"{repo_id}/{filename}: the server sent more than the {limit:,} bytes asked for")
        counted[0] += len(body)
        return body

    def fetch() -> Checkpoint:
        try:
            files = _shards(get(INDEX_NAME), f"{repo_id}/{INDEX_NAME}")
        except EntryNotFoundError:
            files = [SINGLE_NAME]
        tensors: dict[str, Tensor] = {}
        for name in files:
            label = f"{repo_id}/{name}"
            length = _header_length(get(name, (0, 7)), label)
            tensors.update(_parse_header(get(name, (8, 7 + length)), label, sizes.get(name)))
        return Checkpoint(f"{repo_id}@{revision}" if revision else repo_id, files, tensors, counted[0])

    try:
        return within(timeout, fetch)
    except (SourceUnreadable, SourceNotFound):
        raise
    except Exception as exc:  # noqa: BLE001 - a Hub failure is one message
        from huggingface_hub.errors import RemoteEntryNotFoundError

        if isinstance(exc, RemoteEntryNotFoundError):
            raise SourceNotFound(f"{repo_id}: no safetensors checkpoint ({SINGLE_NAME} or {INDEX_NAME})", hint="is the checkpoint stored in another format?") from None
        reason = unreachable_reason(exc, timeout, "the checkpoint's headers")
        if reason:
            raise HubError(f"{repo_id}: {reason}; the checkpoint's headers could not be read", hint="check the network or HF_ENDPOINT") from None
        raise hub_error(exc, repo_id, revision) from None


# --- comparing -----------------------------------------------------------------------------------


def check_weights(config: Config, model: Any, checkpoint: Checkpoint) -> WeightsCheck:
    """Loads the checkpoint's tensors, as meta tensors, into the meta-built `model` the way
    from_pretrained does, and says what is missing, unexpected or of another shape."""
    import torch
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import convert_and_load_state_dict_in_model
    from transformers.modeling_utils import LoadStateDictConfig
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    mtp_tensors = {n: t for n, t in checkpoint.tensors.items() if n.startswith("mtp.")}
    loaded = {n: t for n, t in checkpoint.tensors.items() if n not in mtp_tensors}
    state = {n: torch.empty(t.shape, dtype=getattr(torch, TORCH_DTYPES.get(t.dtype, "float32")), device="meta") for n, t in loaded.items()}
    mapping = get_model_conversion_mapping(model)
    options = LoadStateDictConfig(device_map={"": "meta"}, dtype=None, weight_mapping=mapping)
    info, _ = convert_and_load_state_dict_in_model(model, state, options)
    model._adjust_missing_and_unexpected_keys(info)  # what from_pretrained ignores on purpose
    tied = {k for k, source in model.all_tied_weights_keys.items() if source not in info.missing_keys}
    missing = sorted(set(info.missing_keys) - tied)
    unexpected = sorted(info.unexpected_keys)
    mismatched = sorted((name, tuple(a), tuple(b)) for name, a, b in info.mismatched_keys)
    errors = [str(e).splitlines()[0] for e in (getattr(info, "conversion_errors", None) or [])]

    expected_mtp = mtp_inventory(config)
    mtp_missing = sorted(set(expected_mtp) - set(mtp_tensors))
    mtp_unexpected = sorted(set(mtp_tensors) - set(expected_mtp))
    mtp_mismatched = sorted((n, mtp_tensors[n].shape, expected_mtp[n]) for n in set(expected_mtp) & set(mtp_tensors) if mtp_tensors[n].shape != expected_mtp[n])
    result = WeightsCheck(
        checkpoint, missing, unexpected, mismatched, mtp_missing, mtp_unexpected, mtp_mismatched, len(set(expected_mtp) & set(mtp_tensors)),
        causes=[], components={}, dtypes={}, totals_by_dtype={}, conversion_errors=errors, renamed=_renamed(model, mapping, checkpoint),
    )
    parameters = dict(model.named_parameters())
    _summarise(result, parameters, checkpoint)
    result.causes = _causes(config, result, _layer_indexes(list(parameters)))
    return result


def _renamed(model: Any, mapping: list, checkpoint: Checkpoint) -> dict[str, str]:
    """Each checkpoint tensor's name in the model, by transformers' renaming rules for the family (`mapping`)."""
    from transformers.core_model_loading import WeightConverter, WeightRenaming, rename_source_key

    renamings = [w for w in mapping if isinstance(w, WeightRenaming)]
    converters = [w for w in mapping if isinstance(w, WeightConverter)]
    state = model.state_dict()
    out = {}
    for name in checkpoint.tensors:
        if name.startswith("mtp."):
            out[name] = name
            continue
        new, _ = rename_source_key(name, renamings, converters, model.base_model_prefix, state)
        if new not in state and name in state:  # the loader's own fallback
            new, _ = rename_source_key(name, [], [], model.base_model_prefix, state)
        out[name] = new
    return out


def _summarise(result: WeightsCheck, parameters: dict[str, Any], checkpoint: Checkpoint) -> None:
    components: dict[str, dict[str, int]] = {}
    dtypes: dict[str, set[str]] = {}

    def row(component: str) -> dict[str, int]:
        return components.setdefault(component, {"expected": 0, "found": 0, "missing": 0, "mismatched": 0, "unexpected": 0})

    missing, mismatched = set(result.missing), {m[0] for m in result.mismatched}
    for name in parameters:
        r = row(component_of(name))
        r["expected"] += 1
        r["missing" if name in missing else "mismatched" if name in mismatched else "found"] += 1
    for name in result.unexpected:
        row(component_of(name))["unexpected"] += 1
    totals: dict[str, int] = {}
    for name, tensor in checkpoint.tensors.items():
        component = "mtp" if name.startswith("mtp.") else component_of(result.renamed[name])
        dtypes.setdefault(component, set()).add(tensor.dtype)
        totals[tensor.dtype] = totals.get(tensor.dtype, 0) + math.prod(tensor.shape)
    if result.mtp_found or result.mtp_missing or result.mtp_unexpected:
        r = row("mtp")
        r["expected"] = result.mtp_found + len(result.mtp_missing) + len(result.mtp_mismatched)
        r["found"], r["missing"], r["mismatched"], r["unexpected"] = result.mtp_found - len(result.mtp_mismatched), len(result.mtp_missing), len(result.mtp_mismatched), len(result.mtp_unexpected)
    order = [*COMPONENTS, "other", "mtp"]
    result.components = {c: components[c] for c in order if c in components}
    result.dtypes = {c: sorted(dtypes[c]) for c in order if c in dtypes}
    result.totals_by_dtype = dict(sorted(totals.items()))


def _causes(config: Config, result: WeightsCheck, built: dict[str, set[int]]) -> list[str]:
    """One line per cause: layers the config has more or fewer of, shapes a config key decides, lone tensors."""
    causes: list[str] = []
    explained: set[str] = set()
    present = _layer_indexes(list(result.renamed.values()))
    built = {**built, "mtp.layers": set(range(config.text.get("mtp_num_hidden_layers") or 0))}
    # a whole layer more or fewer: the checkpoint has none of it, or the model has no such layer
    for names, other_side, outcome in (
        (result.missing + result.mtp_missing, present, "would be initialised at random"),
        (result.unexpected + result.mtp_unexpected, built, "would be dropped"),
    ):
        for stack, indexes in sorted(_layer_indexes(names).items()):
            key, noun = DEPTH_KEYS[stack]
            whole = sorted(i for i in indexes if i not in other_side.get(stack, set()))
            if not whole:
                continue
            have = sorted(present.get(stack, set()))
            span = f"{noun} {have[0]}–{have[-1]}" if have else f"no {noun}"
            causes.append(f"{key} {_depth(config, key)} but the checkpoint has {span}: {noun} {_ranges(whole)} {outcome}")
            explained |= {n for n in names if (m := _LAYER.match(n)) and m.group(1) == stack and int(m.group(2)) in whole}
    groups: dict[tuple, list[tuple[str, tuple[int, ...], tuple[int, ...]]]] = {}
    for name, stored, wanted in result.mismatched + result.mtp_mismatched:
        keys = tuple(_keys_for_shape(config, name, stored, wanted))
        groups.setdefault(keys or (name,), []).append((name, stored, wanted))
    for keys, items in groups.items():
        name, stored, wanted = items[0]
        example = f"{name}: {list(stored)} in the checkpoint, {list(wanted)} from this config"
        if keys == (name,):
            causes.append(example)
            continue
        had = sorted({s for _, st, wa in items for s, w in zip(st, wa) if s != w})
        count = f"{len(items)} tensors differ" if len(items) != 1 else "1 tensor differs"
        causes.append(f"{' and '.join(keys)} but the checkpoint has {', '.join(map(str, had))} there: {count} (e.g. {example})")
    for name in result.missing + result.mtp_missing:
        if name in explained:
            continue
        if name.startswith("lm_head") and not config.model.get("tie_word_embeddings"):
            causes.append("lm_head.weight is missing and model.tie_word_embeddings is false: the output head would be random (true if the checkpoint ties it to the embeddings)")
        else:
            causes.append(f"{name} is missing: it would be initialised at random")
    for name in result.unexpected + result.mtp_unexpected:
        if name not in explained:
            causes.append(f"{name} is in the checkpoint but not in this config's model: it would be dropped")
    causes += [f"transformers could not convert the checkpoint: {e}" for e in result.conversion_errors]
    return causes


def _layer_indexes(names: list[str]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for name in names:
        match = _LAYER.match(name)
        if match:
            found.setdefault(match.group(1), set()).add(int(match.group(2)))
    return found


def _depth(config: Config, key: str) -> Any:
    section, name = key.split(".", 1)
    return config.values[section].get(name)


def _keys_for_shape(config: Config, name: str, stored: tuple[int, ...], wanted: tuple[int, ...]) -> list[str]:
    """The config keys (of the tensor's own section) whose value is a dimension that differs between
    the checkpoint and the model; none when more than two could be meant."""
    differing = {w for s, w in zip(stored, wanted) if s != w} if len(stored) == len(wanted) else set(wanted)
    section = "vision" if name.startswith("model.visual.") else "text"
    keys = [f"{path} {value}" for path, value in config.sizes((section,)) if value in differing]
    return keys if len(keys) <= 2 else []


def _ranges(indexes: list[int]) -> str:
    """[2, 3, 4, 7] -> '2–4, 7'."""
    spans: list[list[int]] = []
    for i in indexes:
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in spans)


def locate_checkpoint(config: Config, weights_from: str | None) -> tuple[str, Any]:
    """Where the weights are: ("local", folder) or ("hub", (repo_id, revision))."""
    from .sources.hub import split_repo_revision
    from .sources.local import expand, lexists

    if weights_from:
        path = expand(weights_from)
        if lexists(path):
            return "local", (path if path.is_dir() else path.parent)
        return "hub", split_repo_revision(weights_from)
    origin = config.raw.origin
    if origin.kind == "file" and origin.path is not None:
        return "local", origin.path.parent
    if origin.kind == "hub":
        return "hub", (origin.repo_id, origin.commit or origin.revision)
    if origin.kind == "preset" and origin.repo_id:
        return "hub", (origin.repo_id, None)
    raise SourceNotFound(f"{origin.label} has no weights beside it", hint="give --weights-from REPO[@REV] or a folder")


def read_checkpoint(config: Config, weights_from: str | None, timeout: float) -> Checkpoint:
    """The headers of the checkpoint `--weights` / `--weights-from` names."""
    kind, where = locate_checkpoint(config, weights_from)
    if kind == "local":
        return read_local_checkpoint(Path(where))
    repo_id, revision = where
    return read_hub_checkpoint(repo_id, revision, timeout)


def describe_checkpoint(checkpoint: Checkpoint) -> str:
    shards = len(checkpoint.files)
    return f"{checkpoint.where} ({shards} shard{'s' if shards != 1 else ''}, {len(checkpoint.tensors):,} tensors, {checkpoint.bytes_read:,} header bytes read)"


