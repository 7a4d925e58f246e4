"""Which files the wheel holds; everything else about the project is in pyproject.toml.

The repository keeps ``dbt/`` and ``experiments/`` as top-level folders; the package needs both at
run time (the dbt project, the demo's training config), so a wheel ships them as
``supportflow/_resources/dbt`` and ``supportflow/_resources/experiments``.
``supportflow.yaml_config.shipped_dir`` finds them installed or in a checkout. The config home
``supportflow/config/`` and the ingest mappings are ordinary package data. (pyproject.toml alone
cannot add mapped packages to discovered ones, hence this file.)
"""

from setuptools import find_namespace_packages, setup

SHIPPED = {"supportflow._resources.dbt": "dbt", "supportflow._resources.experiments": "experiments"}
DBT_FILES = [
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
    "package-lock.yml",
    "dbt_packages/**/*",
    *(f"{d}/**/*" for d in ("models", "seeds", "macros", "tests", "snapshots", "analyses")),
]  # not target/ or logs/: dbt writes those under SUPPORTFLOW_HOME

setup(
    packages=[
        *find_namespace_packages(
            include=["supportflow*", "models*", "flows*"], exclude=["*.__pycache__"]
        ),
        *SHIPPED,
    ],
    package_dir=SHIPPED,
    package_data={
        # the config home, ingest mappings, training configs
        "": ["*.yaml"],
        "supportflow._resources.dbt": DBT_FILES,
    },
    include_package_data=False,
)
