"""Load a pydantic-validated YAML config file with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_config(path: Path, model: type[Model], what: str) -> Model:
    """``model`` validated from the YAML at ``path``; a missing file or bad field says which."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    try:
        return model.model_validate(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
