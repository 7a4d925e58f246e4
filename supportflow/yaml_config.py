"""The config home, and the one YAML loader every config model goes through.

Where a config named ``NAME`` (``rollout.yaml``, ``knowledge.yaml``, ``assist.yaml``,
``escalation_rules.yaml``) comes from, lowest layer first:

1. the packaged default, ``supportflow/config/NAME`` (package data: it ships in the wheel);
2. ``Settings.config_dir / NAME`` (``SUPPORTFLOW_CONFIG_DIR``), when that file exists;
3. an explicit file (``--config FILE``, a flow's ``config`` parameter).

Each layer is an *overlay*: it is deep-merged over the layers below it — mappings merge key by
key; scalars, lists and ``null`` replace. So a file holds only what it changes
(``rollout_demo.yaml`` is ``offline: {max_ece: 0.15}``) and a complete file still works as it
always did. A file with ``base: none`` stands alone instead: keys it leaves out take
the model's defaults. ``overlay=False`` (the escalation rule set, a versioned whole) takes the
highest layer that exists, unmerged.

Relative paths inside a file (``assist.yaml``'s ``macros``) are relative to that file; for the
packaged defaults that means the config home, ``Settings.config_dir`` first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from supportflow.safe_yaml import describe, load_yaml

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_HOME = PACKAGE_DIR / "config"
BASE_KEY = "base"

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: a misspelt key is an error, not a silently ignored setting."""

    model_config = ConfigDict(extra="forbid")


def shipped_dir(name: str) -> Path:
    """A top-level project folder the package needs at run time (``dbt``, ``experiments``).

    A wheel ships it as ``supportflow/_resources/<name>`` (setup.py maps the folder there); in a
    source checkout (tests, editable installs) it is the top-level folder itself."""
    installed = PACKAGE_DIR / "_resources" / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name


def user_config_dir() -> Path | None:
    from supportflow.settings import Settings

    return Settings().config_dir


def config_file(name: str) -> Path:
    """``NAME`` from ``Settings.config_dir`` when that folder has it, else the packaged one."""
    user = user_config_dir()
    if user is not None and (user / name).is_file():
        return user / name
    return CONFIG_HOME / name


def config_layers(default: str | None, path: Path | None) -> list[Path]:
    """The files a config is read from, lowest first (see the module docstring)."""
    layers: list[Path] = []
    if default is not None:
        layers.append(CONFIG_HOME / default)
        user = user_config_dir()
        if user is not None and (user / default).is_file():
            layers.append(user / default)
    if path is not None:
        layers.append(Path(path))
    if not layers:
        raise ValueError("no config file given and no default for it")
    return layers


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``: mappings merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        raw = load_yaml(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({describe(exc)})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    return raw


def _resolve_paths(raw: dict[str, Any], layer: Path, keys: Iterable[str]) -> None:
    for key in keys:
        value = raw.get(key)
        if value is None or Path(value).is_absolute():
            continue
        if layer.parent == CONFIG_HOME:
            raw[key] = str(config_file(str(value)))
        else:
            raw[key] = str((layer.parent / value).resolve())


def read_layers(
    path: Path | None,
    what: str,
    *,
    default: str | None = None,
    overlay: bool = True,
    path_keys: Iterable[str] = (),
) -> list[tuple[Path, dict[str, Any]]]:
    """Each file that takes part, highest first, with its raw mapping (``base:`` removed)."""
    layers = config_layers(default, path)
    if not overlay or default is None:
        layers = layers[-1:]
    read: list[tuple[Path, dict[str, Any]]] = []
    for layer in reversed(layers):
        raw = _read(layer, what)
        base = raw.pop(BASE_KEY, "default") if overlay and default is not None else "default"
        if base not in ("default", "none", None):
            raise ValueError(f"{layer}: base must be 'default' or 'none', not {base!r}")
        _resolve_paths(raw, layer, path_keys)
        read.append((layer, raw))
        if base in ("none", None):
            break
    return read


def read_yaml_config(
    path: Path | None,
    what: str,
    *,
    default: str | None = None,
    overlay: bool = True,
    path_keys: Iterable[str] = (),
) -> tuple[dict[str, Any], Path]:
    """The merged raw mapping and the file that names it (the highest layer)."""
    read = read_layers(path, what, default=default, overlay=overlay, path_keys=path_keys)
    return _merged(read, None), read[0][0]


def _merged(read: list[tuple[Path, dict[str, Any]]], overrides: Mapping | None) -> dict:
    """Layers (highest first) merged lowest first, then the command line's ``overrides``."""
    raw: dict[str, Any] = {}
    for _, layer in reversed(read):
        raw = deep_merge(raw, layer)
    return deep_merge(raw, dict(overrides or {}))


def _blame(read: list[tuple[Path, dict[str, Any]]], loc: tuple) -> Path:
    """The highest file that sets the key at ``loc`` (else the highest file)."""
    for layer, raw in read:
        node: Any = raw
        for part in loc:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return layer
    return read[0][0]


def explain(exc: ValidationError, read: list[tuple[Path, dict[str, Any]]]) -> str:
    """One line per problem: ``file: dotted.key: message``, naming the file that set the key."""
    return "; ".join(
        f"{_blame(read, e['loc'])}: {'.'.join(map(str, e['loc'])) or '(top)'}: "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def load_yaml_config(
    path: Path | None,
    model: type[Model],
    what: str,
    *,
    default: str | None = None,
    overlay: bool = True,
    path_keys: Iterable[str] = (),
    fill: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    calibration: Callable[[dict[str, Any]], tuple[Path, Mapping[str, Any]]] | None = None,
) -> Model:
    """``model`` validated from ``path`` over the config home's ``default`` (module docstring).

    ``fill``: values for keys no layer sets (a training config's ``name`` is its file stem).
    ``overrides``: values a command line sets, merged over every file before validation (so
    ``train --data x.csv`` satisfies a config whose ``data.source`` is ``csv`` without a path).
    ``calibration``: given the merged mapping, (the file it comes from, an overlay) that goes
    right above the packaged default and under every other layer (an encoder's fitted
    thresholds: a value a user file sets still wins). A missing file or a bad field says which
    file.
    """
    read = read_layers(path, what, default=default, overlay=overlay, path_keys=path_keys)
    raw = _merged(read, overrides)
    if calibration is not None:
        packaged = CONFIG_HOME / default if default else None
        where, fitted = calibration(raw)
        read = (
            [layer for layer in read if layer[0] != packaged]
            + [(where, dict(fitted))]
            + [layer for layer in read if layer[0] == packaged]
        )
        raw = _merged(read, overrides)
    for key, value in (fill or {}).items():
        raw.setdefault(key, value)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(explain(exc, read)) from None
