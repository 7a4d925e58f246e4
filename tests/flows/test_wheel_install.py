"""The package as users get it: a non-editable wheel, installed with ``--target`` into a temporary
folder and run from another directory, must find everything it needs without the source checkout
(config home, training configs, dbt project, ingest mappings).

What runs from the wheel: every config loads from the installed package; then, as separate CLI
processes, ``demo generate`` → ``ingest`` → ``build-metrics`` (the shortest honest subset of the
demo: the full ``demo run`` adds the knowledge index, assist, training and a scorecard, and takes
≈ 4 min without training on 2 busy cores, too slow for the suite — set
SUPPORTFLOW_TEST_WHEEL_DEMO=1 to run ``demo run --no-train`` as well).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CHECK_CONFIGS = """
import sys
from pathlib import Path
import supportflow
from models.triage.config import load_config
from supportflow.assist.config import load_assist_config
from supportflow.assist.macros import load_macros
from supportflow.escalation.rules import load_rules
from supportflow.knowledge.config import load_knowledge_config
from supportflow.rollout.config import load_rollout_config
from supportflow.settings import Settings
from supportflow.yaml_config import config_file, shipped_dir

site = Path(sys.argv[1]).resolve()
assert Path(supportflow.__file__).resolve().is_relative_to(site), supportflow.__file__
assert Settings().dbt_project_dir.resolve().is_relative_to(site)
assert (Settings().dbt_project_dir / "dbt_project.yml").is_file()
assert not (Settings().dbt_project_dir / "target").exists()
assert load_config(shipped_dir("experiments") / "demo_quick.yaml").name == "demo_quick"
assert load_rollout_config().offline.max_ece == 0.08
assert load_rollout_config(config_file("rollout_demo.yaml")).offline.max_ece == 0.15
assert load_knowledge_config().search.rrf_k == 10
from supportflow.knowledge.config import encoder_thresholds
where, fitted = encoder_thresholds("use:multilingual-v3", "knowledge")
assert where.resolve().is_relative_to(site) and fitted["answer"]["min_similarity"]
macros = load_assist_config().macros
assert macros.resolve().is_relative_to(site) and load_macros(macros)
assert load_rules().rules
print("configs ok")
"""


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args[3:]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def source_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked and new, not ignored): no build/ leftovers."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs the git checkout to copy the sources from")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(the --target folder, the environment, a working folder that is neither it nor the repo)"""
    root = tmp_path_factory.mktemp("wheel")
    src = source_copy(root / "src")
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(src)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("supportflow-*.whl")
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SUPPORTFLOW_", "PREFECT_", "MLFLOW_", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(site),  # before the venv's editable finder for another checkout
        SUPPORTFLOW_HOME=str(root / "home"),
        SUPPORTFLOW_PII_SALT="test-salt",
        PREFECT_HOME=str(root / "home" / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        MLFLOW_DISABLE_TELEMETRY="true",
        HF_HUB_OFFLINE="1",
    )
    elsewhere = root / "elsewhere"  # not the checkout, not the install
    elsewhere.mkdir()
    return site, env, elsewhere


def test_the_wheel_ships_configs_dbt_and_experiments(installed):
    site, env, cwd = installed
    shipped = site / "supportflow" / "_resources"
    assert (shipped / "experiments" / "demo_quick.yaml").is_file()
    assert not (shipped / "experiments" / "rollout.yaml").exists()  # configs live in config/
    assert sorted(p.name for p in (site / "supportflow" / "config").glob("*.yaml")) == [
        "assist.yaml", "encoders.yaml", "escalation_rules.yaml", "knowledge.yaml",
        "macros.yaml", "rollout.yaml", "rollout_demo.yaml",
    ]  # fmt: skip
    assert (shipped / "dbt" / "seeds" / "business_hours.csv").is_file()
    assert not (shipped / "dbt" / "target").exists()
    out = run([sys.executable, "-c", CHECK_CONFIGS, str(site)], cwd, env)
    assert "configs ok" in out


def test_generate_ingest_and_dbt_build_from_the_wheel(installed):
    _, env, cwd = installed
    cli = [sys.executable, "-m", "supportflow"]
    data = cwd / "demo_data"
    run([*cli, "demo", "generate", "--out", str(data), "--tickets", "200", "--days", "14",
         "--formats", "zendesk", "--workers", "1"], cwd, env)  # fmt: skip
    run([*cli, "ingest", str(data / "zendesk")], cwd, env)
    out = run([*cli, "build-metrics"], cwd, env)
    assert "0 failed" in out
    warehouse = Path(env["SUPPORTFLOW_HOME"]) / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from landing.tickets").fetchone()[0] == 200
        assert 0 < con.execute("select count(*) from marts.fct_tickets").fetchone()[0] <= 200
        assert con.execute("select count(*) from marts.fct_support_daily").fetchone()[0] > 0
    if os.environ.get("SUPPORTFLOW_TEST_WHEEL_DEMO") == "1":
        out = run([*cli, "demo", "run", "--tickets", "300", "--days", "14", "--no-train"], cwd, env)
        assert "dbt build:" in out and ", 0 failed" in out
