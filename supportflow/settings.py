"""Runtime settings, read from the environment (prefix ``SUPPORTFLOW_``) at entry points.

Everything the tools write lives under one home folder so that a demo, a test run and a
production deployment never share state by accident.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from supportflow.yaml_config import shipped_dir


class Settings(BaseSettings):
    """Where supportflow keeps its state and how it talks to its embedded tools."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTFLOW_", extra="ignore")

    home: Path = Field(default=Path(".supportflow"), description="Folder for all local state.")
    warehouse_path: Path | None = Field(
        default=None, description="DuckDB file; defaults to <home>/warehouse.duckdb."
    )
    dbt_project_dir: Path = Field(
        default_factory=lambda: shipped_dir("dbt"),
        description="dbt project; default: the one shipped with the package.",
    )
    config_dir: Path | None = Field(
        default=None,
        description="Your config folder: its rollout.yaml, knowledge.yaml, assist.yaml overlay "
        "the packaged defaults (supportflow/config/); its macros.yaml, escalation_rules.yaml "
        "and rollout_demo.yaml replace them.",
    )
    pii_salt: str | None = Field(
        default=None,
        description="Salt for customer/agent key hashes; generated once into <home>/pii_salt.",
    )
    duckdb_memory_limit: str = Field(
        default="1GB",
        pattern=r"^[0-9]+(\.[0-9]+)? ?([KMGT]i?B|B)$",
        description="Caps DuckDB's buffer pool: a size such as 1GB, 512MB or 2.5GiB.",
    )
    duckdb_threads: int = Field(default=2, ge=1)
    max_body_chars: int = Field(
        default=200_000, ge=1, description="Longer ticket bodies are quarantined, not truncated."
    )
    max_record_chars: int = Field(
        default=8 << 20,
        ge=1 << 20,
        description="A record whose fields to load (subject, body, tags, events…) take more "
        "characters is quarantined: it bounds the memory one record takes (ingest.bounds).",
    )
    ingest_chunk_rows: int = Field(default=50_000, ge=1)
    escalation_rules: Path | None = Field(
        default=None,
        description="Escalation rules YAML; default: escalation_rules.yaml in config_dir, else "
        "the packaged rule set (supportflow/config/).",
    )

    device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$",
        description="Where torch fine-tunes, scores and embeds: auto (a CUDA GPU when present, "
        "bf16 autocast; else the CPU), cpu or cuda[:N] (models/device.py). --device sets it.",
    )
    generator_api_key: SecretStr | None = Field(
        default=None,
        description="API key of the optional assist generator (SUPPORTFLOW_GENERATOR_API_KEY); "
        "never in a config file or a URL, never printed.",
    )

    @property
    def warehouse(self) -> Path:
        return (self.warehouse_path or self.home / "warehouse.duckdb").resolve()

    @property
    def mlflow_tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.home.resolve()}/mlflow.db"

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.home.resolve() / "mlartifacts"

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.home.resolve() / "duckdb_tmp"

    def salt(self) -> bytes:
        """The PII hashing salt: configured, or created once per home so keys stay stable."""
        if self.pii_salt:
            return self.pii_salt.encode()
        path = self.home / "pii_salt"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(16))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def tool_environment(self) -> dict[str, str]:
        """Environment for Prefect, dbt and MLflow: local, quiet and offline by default."""
        home = self.home.resolve()
        return {
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "DASK_LOGGING__DISTRIBUTED": "warning",
            # no third-party progress bars ("Loading weights", "Downloading artifacts"): the
            # steps print their own progress lines (supportflow/progress.py); --verbose keeps them
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "TRANSFORMERS_VERBOSITY": "error",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }

    def apply_environment(self) -> None:
        """Set tool variables the user has not set; call before importing Prefect or dbt."""
        self.home.mkdir(parents=True, exist_ok=True)
        for key, value in self.tool_environment().items():
            os.environ.setdefault(key, value)
