"""The demo help center: Markdown articles with front matter, and retrieval ground truth.

Every ticket category is answered by at least one public, published article. The rest makes
the knowledge audit worth having: internal-only notes, drafts, stale articles past their review
date, a German translation, and two public articles that contradict each other on the refund
window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from supportflow.demo.catalog import CATEGORIES

BASE_URL = "https://help.nimbus.example/articles"

ANSWERS = {
    "billing_dispute": (
        "Why was I charged twice?",
        "Duplicate charges usually come from a renewal "
        "that retried after a failed payment. Open Billing → Invoices, find both "
        "charges and use 'Report a problem'; we refund confirmed duplicates within "
        "5 business days.",
    ),
    "refund": (
        "Refund policy",
        "You can request a full refund within 14 days of a charge. Go to "
        "Billing → Invoices, choose the invoice and click 'Request refund'. Unused seats "
        "are refunded pro rata.",
    ),
    "payment_failure": (
        "Fixing failed payments",
        "If a renewal payment fails we retry three times "
        "over seven days. Update the card under Billing → Payment method; error "
        "codes such as card_declined or do_not_honor come from your bank.",
    ),
    "account_access": (
        "Resetting your password",
        "Use 'Forgot password' on the login page. The "
        "reset link expires after 30 minutes. Check your spam folder; after five "
        "failed attempts the account locks for 15 minutes.",
    ),
    "two_factor_login": (
        "Two-factor authentication problems",
        "Codes are rejected when the phone "
        "clock is off: enable automatic time. If you lost your device, use a "
        "backup code or ask your workspace admin to reset 2FA.",
    ),
    "bug_report": (
        "Reporting a bug",
        "Tell us the app version (Help → About), the steps to "
        "reproduce and a screenshot. Known issues: PDF export without images in 4.2.x "
        "is fixed in 4.3.0.",
    ),
    "outage": (
        "Service status and incidents",
        "Check status.nimbus.example for live incidents. "
        "During an outage boards may fail to load with a 503 error; no data is lost and "
        "we post updates every 30 minutes.",
    ),
    "how_to": (
        "Sharing boards and inviting guests",
        "Click Share on any board. Choose 'Anyone "
        "with the link can view' for view-only access outside your workspace. Guests on a "
        "single board do not need a paid seat.",
    ),
    "feature_request": (
        "How we handle feature requests",
        "Post ideas on the community board; "
        "the product team reviews the most voted ideas every month. Dark mode "
        "and timeline view are on the roadmap.",
    ),
    "cancellation": (
        "Cancelling or downgrading your plan",
        "Owners can cancel under Billing → "
        "Plan. The plan stays active until the end of the billing period; export "
        "your boards first. Downgrading to Free keeps up to three boards.",
    ),
    "data_privacy": (
        "Your data and GDPR requests",
        "Request a copy of your data or its deletion "
        "under Settings → Privacy. We answer within 30 days. Our DPA is available "
        "to sign under Settings → Legal.",
    ),
    "integrations_api": (
        "API authentication and webhooks",
        "API tokens are created under "
        "Settings → API; a 401 means the token is missing, expired or lacks "
        "the boards scope. Webhooks are disabled after 20 failed deliveries.",
    ),
    "invoice_request": (
        "Invoices, VAT numbers and billing addresses",
        "Download any invoice "
        "under Billing → Invoices. Add a VAT number and billing address under "
        "Billing → Details; they apply to future invoices.",
    ),
}


@dataclass
class Article:
    article_id: str
    title: str
    body: str
    audience: str = "public"
    status: str = "published"
    owner: str = "support-content"
    category: str | None = None
    locale: str = "en"
    updated_at: str = "2026-09-01T10:00:00Z"
    review_by: str = "2027-03-01"

    def front_matter(self) -> dict:
        meta = {k: v for k, v in self.__dict__.items() if k != "body"}
        meta["url"] = f"{BASE_URL}/{self.article_id}"
        return meta


def articles() -> list[Article]:
    """The whole demo knowledge base, deterministic."""
    found = [Article(f"kb-{c.name}-1", *ANSWERS[c.name], category=c.name) for c in CATEGORIES]
    found += [
        Article(
            "kb-refund-2",
            "Billing FAQ",
            "Refunds are possible within 30 days of any charge, "
            "no questions asked. Invoices are under Billing → Invoices.",
            category="refund",
            updated_at="2025-02-11T09:00:00Z",
            review_by="2025-08-11",
        ),  # contradicts refund-1
        Article(
            "kb-account_access-2",
            "Passwort zurücksetzen",
            "Nutzen Sie 'Passwort vergessen' auf der Anmeldeseite. Der Link ist 30 Minuten gültig.",
            category="account_access",
            locale="de",
        ),
        Article(
            "kb-internal-refund-approvals",
            "Internal: refund approval matrix",
            "Agents may "
            "approve refunds up to $500; above that ask a team lead. Never promise refunds "
            "for annual plans after 30 days.",
            audience="internal",
            category="refund",
            owner="billing-team",
        ),
        Article(
            "kb-internal-incident-runbook",
            "Internal: incident comms runbook",
            "Tag tickets "
            "with 'incident', link them to the status page incident and use macro INC-1.",
            audience="internal",
            category="outage",
            owner="sre",
        ),
        Article(
            "kb-bug_report-old",
            "Known issues in 3.x",
            "Version 3.9 cannot export to PDF. Upgrade to 4.0.",
            category="bug_report",
            updated_at="2024-01-15T09:00:00Z",
            review_by="2024-07-15",
        ),
        Article(
            "kb-feature_request-draft",
            "Timeline view (beta)",
            "Timeline view is in beta for Business plans.",
            status="draft",
            category="feature_request",
        ),
    ]
    return found


def relevant_articles(locale: str, arts: list[Article] | None = None) -> dict[str, list[str]]:
    """Category → the articles in ``locale`` that resolve it: public, published and not due for
    review. ``ground_truth.json`` holds English's; a ticket in another language is also answered
    by its own language's (the German password article for a German ticket)."""
    return {
        c.name: [
            a.article_id
            for a in (arts if arts is not None else articles())
            if a.category == c.name
            and a.audience == "public"
            and a.status == "published"
            and a.locale == locale
            and a.review_by >= "2026-10-31"
        ]
        for c in CATEGORIES
    }


def write_knowledge_base(out: Path) -> dict:
    """Write ``kb/*.md`` and ``kb/ground_truth.json``; return a summary for the manifest."""
    kb = out / "kb"
    kb.mkdir(parents=True, exist_ok=True)
    arts = articles()
    for art in arts:
        text = "---\n" + yaml.safe_dump(art.front_matter(), sort_keys=False, allow_unicode=True)
        text += f"---\n# {art.title}\n\n{art.body}\n"
        (kb / f"{art.article_id}.md").write_text(text, encoding="utf-8")
    truth = relevant_articles("en", arts)
    (kb / "ground_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    return {"articles": len(arts), "answerable_categories": sum(bool(v) for v in truth.values())}
