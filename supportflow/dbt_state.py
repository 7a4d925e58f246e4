"""Is the last ``dbt build`` still current? A fingerprint of everything a build reads.

A nightly with nothing new must not spend a dbt build (≈ 15 s of the 2-core box) to rewrite the
same marts. A build depends on: the rows of every dbt source (``_landing__sources.yml``), the
dbt project's files, the command and vars, the UTC date (``fct_kb_health`` compares with
``current_date``), the dbt version and the relations the build made. ``fingerprint`` hashes all
of them — each source as ``count(*)`` and ``bit_xor(hash(row))`` in DuckDB, ≈ 0.1 s per million
rows — and the last successful build's is kept beside dbt's target folder: its inputs as they
were before it ran (rows written while it ran make the next build run), its outputs after. A
build is skipped only when both are equal; anything else (a changed row, a dropped mart, an
edited model, a new day) builds.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from supportflow.settings import Settings

SOURCES_FILE = Path("models") / "staging" / "_landing__sources.yml"
BUILT_SCHEMAS = ("seeds", "staging", "intermediate", "marts")  # generate_schema_name keeps these
PROJECT_FILES = ("*.yml", "models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*")


@dataclass(frozen=True)
class LastBuild:
    """The last successful build: its inputs' fingerprint (taken before it ran), its outputs'
    (taken after), when (UTC, ISO 8601) and its node results."""

    inputs: str
    outputs: str
    built_at: str
    passed: int
    skipped: int
    nodes: dict[str, str]


def source_tables(project_dir: Path) -> list[tuple[str, str]]:
    """``(schema, table)`` of every dbt source, from the project's sources file."""
    spec = yaml.safe_load((project_dir / SOURCES_FILE).read_text(encoding="utf-8"))
    return [
        (source.get("schema", source["name"]), table["name"])
        for source in spec["sources"]
        for table in source["tables"]
    ]


def project_digest(project_dir: Path) -> str:
    """SHA-256 over the dbt project's files (relative path and bytes), in path order."""
    digest = hashlib.sha256()
    paths = {p for pattern in PROJECT_FILES for p in project_dir.glob(pattern) if p.is_file()}
    for path in sorted(paths):
        digest.update(str(path.relative_to(project_dir)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def warehouse_state(con, tables: list[tuple[str, str]]) -> dict[str, object]:
    """Per source ``[rows, xor of row hashes]`` (``None`` when missing), and the built relations
    as ``schema.name → rows`` (views ``-1``), read on ``con``."""
    existing = {
        (schema, name): kind
        for schema, name, kind in con.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables"
        ).fetchall()
    }
    sources: dict[str, object] = {}
    for schema, name in tables:
        if (schema, name) not in existing:
            sources[f"{schema}.{name}"] = None
            continue
        rows, hashed = con.execute(
            f"SELECT count(*), coalesce(bit_xor(hash(t)), 0)::VARCHAR "
            f"FROM {_quoted(schema)}.{_quoted(name)} AS t"
        ).fetchone()
        sources[f"{schema}.{name}"] = [rows, hashed]
    built: dict[str, int] = {}
    for (schema, name), kind in sorted(existing.items()):
        if schema not in BUILT_SCHEMAS:
            continue
        if kind == "VIEW":
            built[f"{schema}.{name}"] = -1
        else:
            relation = f"{_quoted(schema)}.{_quoted(name)}"
            rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
            built[f"{schema}.{name}"] = rows
    return {"sources": sources, "built": built}


@dataclass(frozen=True)
class Fingerprint:
    """SHA-256 digests of what a build reads (``inputs``: command, project, dbt version, UTC
    date, source rows) and of the relations it made (``outputs``: schema.name → rows)."""

    inputs: str
    outputs: str


def _digest(facts: object) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def fingerprint(settings: Settings, command: list[str]) -> Fingerprint:
    """The ``Fingerprint`` of a ``dbt <command>`` on ``settings.warehouse`` (see module doc).

    Opens the warehouse (read-write: dbt-duckdb may hold it open in this process, and DuckDB
    refuses a second connection of another mode) and closes it before returning. Raises
    ``WarehouseLockedError`` when another process writes the file."""
    from dbt.version import __version__ as dbt_version

    from supportflow.warehouse import open_warehouse

    project = settings.dbt_project_dir.resolve()
    con = open_warehouse(settings.warehouse, settings=settings)
    try:
        state = warehouse_state(con, source_tables(project))
    finally:
        con.close()
    inputs = {
        "warehouse": str(settings.warehouse.resolve()),
        "command": command,
        "project": project_digest(project),
        "dbt": dbt_version,
        "utc_date": datetime.now(UTC).date().isoformat(),
        "sources": state["sources"],
    }
    return Fingerprint(_digest(inputs), _digest(state["built"]))


def state_path(settings: Settings) -> Path:
    """Where the last successful build of each command is recorded:
    ``<home>/dbt/last_build.json`` (command line → ``LastBuild``)."""
    return settings.home.resolve() / "dbt" / "last_build.json"


def _records(settings: Settings) -> dict[str, dict]:
    try:
        records = json.loads(state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def _key(command: list[str]) -> str:
    return " ".join(command)


def read_last_build(settings: Settings, command: list[str]) -> LastBuild | None:
    """The last successful ``dbt <command>``, or ``None`` when there is none or it cannot be
    read."""
    try:
        return LastBuild(**_records(settings)[_key(command)])
    except (KeyError, TypeError):
        return None


def record_build(settings: Settings, command: list[str], build: LastBuild) -> None:
    """Record ``build`` as ``command``'s last, atomically (a temporary file renamed over the
    old one)."""
    records = _records(settings)
    records[_key(command)] = asdict(build)
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(records, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def forget_build(settings: Settings, command: list[str] | None = None) -> None:
    """Drop ``command``'s record (every record without one), so the next build runs whatever
    the fingerprint says."""
    if command is None:
        state_path(settings).unlink(missing_ok=True)
        return
    records = _records(settings)
    if records.pop(_key(command), None) is not None:
        path = state_path(settings)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records, indent=1), encoding="utf-8")
        os.replace(temporary, path)
