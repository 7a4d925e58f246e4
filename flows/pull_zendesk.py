"""Flow: pull tickets and ticket events from Zendesk's Incremental Export API into landing.

Credentials come from the worker's environment (ZENDESK_API_TOKEN + ZENDESK_EMAIL, or
ZENDESK_OAUTH_TOKEN), never from parameters: flow parameters are stored by Prefect.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from supportflow.ingest.pull import PullConfig, PullError, PullResult, parse_start, pull_incremental
from supportflow.settings import Settings
from supportflow.warehouse import WarehouseLockedError


class PullZendeskParams(BaseModel):
    subdomain: str = Field(description="Zendesk subdomain: acme for https://acme.zendesk.com.")
    start: date | datetime | None = Field(
        default=None,
        description="Where a stream with no stored cursor begins (UTC); needed on the first pull.",
    )
    email: str | None = Field(
        default=None, description="Agent email for ZENDESK_API_TOKEN (default: ZENDESK_EMAIL)."
    )
    base_url: str | None = Field(
        default=None, description="API root instead of https://<subdomain>.zendesk.com (proxies)."
    )
    events: bool = Field(default=True, description="Also pull ticket events (comments, changes).")
    restart: bool = Field(default=False, description="Ignore stored cursors; begin at start.")
    retries: int = Field(
        default=2, ge=0, description="Re-runs after a transient failure; each resumes."
    )

    def config(self) -> PullConfig:
        """The library's configuration for these parameters."""
        return PullConfig(
            subdomain=self.subdomain,
            start=parse_start(self.start),
            base_url=self.base_url,
            email=self.email,
            events=self.events,
            restart=self.restart,
        )


def _worth_retrying(task, task_run, state) -> bool:
    """Retry rate limits, 5xx, connection trouble and a busy warehouse; not bad settings."""
    try:
        state.result()
    except PullError as exc:
        return exc.transient
    except WarehouseLockedError:
        return True
    except Exception:
        return False
    return False


@task(retries=2, retry_delay_seconds=60, retry_condition_fn=_worth_retrying, cache_policy=NO_CACHE)
def pull_pages(params: PullZendeskParams) -> PullResult:
    """Walk both exports from the stored cursors, loading and deleting each page in turn."""
    return pull_incremental(params.config(), settings=Settings())


@flow(name="pull-zendesk")
def pull_zendesk(params: PullZendeskParams) -> PullResult:
    """Load every ticket and ticket event changed since the last pull; resumable at any point."""
    return pull_pages.with_options(retries=params.retries)(params)
