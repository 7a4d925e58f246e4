"""The fictional company "Nimbus Boards" (a SaaS whiteboard): its ticket categories and phrasing.

Templates hold ``{slots}`` filled per ticket; several phrasings per category give paraphrases.
Over 300 lines on purpose: it is data (the categories and their phrasing), not logic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    queue: str
    weight: float
    priorities: tuple[float, float, float, float]  # low, normal, high, urgent
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    foreign: dict[str, str]  # language → one-line body
    self_service: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category(
        "billing_dispute",
        "billing",
        8,
        (0.05, 0.45, 0.4, 0.1),
        ("Charged twice this month", "Wrong amount on my invoice", "Disputed charge"),
        (
            "I was charged {amount} twice for the {plan} plan this month. Invoice {invoice} shows "
            "the duplicate. Please fix this.",
            "My invoice {invoice} says {amount} but we agreed on a lower price for the {plan} "
            "plan. Why is the amount different?",
            "There is a charge of {amount} on our statement that I don't recognise. We never "
            "upgraded to {plan}.",
        ),
        {
            "de": "Ich wurde diesen Monat zweimal mit {amount} belastet, Rechnung {invoice}.",
            "es": "Me cobraron {amount} dos veces este mes, factura {invoice}.",
            "fr": "On m'a facturé {amount} deux fois ce mois-ci, facture {invoice}.",
        },
    ),
    Category(
        "refund",
        "billing",
        7,
        (0.1, 0.6, 0.25, 0.05),
        ("Refund request", "Please refund my subscription", "Money back for unused seats"),
        (
            "I'd like a refund for the {plan} plan, we stopped using it on {date}.",
            "Can I get my money back? I paid {amount} for seats we never used.",
            "We cancelled within the trial window but were still billed {amount}. Requesting a "
            "full refund.",
        ),
        {
            "de": "Ich möchte eine Rückerstattung für den {plan} Tarif, bitte.",
            "es": "Quisiera un reembolso del plan {plan}, por favor.",
            "fr": "Je voudrais un remboursement pour l'abonnement {plan}, s'il vous plaît.",
        },
        self_service=True,
    ),
    Category(
        "payment_failure",
        "payments",
        7,
        (0.05, 0.4, 0.45, 0.1),
        ("Payment failed", "Card declined on renewal", "Can't pay invoice"),
        (
            "Our renewal payment failed with error {error}. The card is valid.",
            "My card keeps getting declined when I try to pay invoice {invoice}.",
            "The checkout page shows 'payment could not be processed' for the {plan} plan.",
        ),
        {
            "de": "Die Zahlung ist mit Fehler {error} fehlgeschlagen, die Karte ist gültig.",
            "es": "El pago falló con el error {error}, la tarjeta es válida.",
            "fr": "Le paiement a échoué avec l'erreur {error}, la carte est valide.",
        },
    ),
    Category(
        "account_access",
        "accounts",
        9,
        (0.05, 0.5, 0.35, 0.1),
        ("Can't log in", "Password reset not working", "Locked out of my account"),
        (
            "I can't log in to my account. The password reset email never arrives.",
            "I've been locked out after too many attempts. I need access for a client meeting.",
            "Reset password link says it has expired every time I click it.",
        ),
        {
            "de": "Ich kann mich nicht anmelden, die E-Mail zum Zurücksetzen kommt nicht an.",
            "es": "No puedo iniciar sesión, el correo para restablecer la contraseña no llega.",
            "fr": "Je n'arrive pas à me connecter, l'e-mail de réinitialisation n'arrive pas.",
        },
        self_service=True,
    ),
    Category(
        "two_factor_login",
        "accounts",
        5,
        (0.05, 0.45, 0.4, 0.1),
        ("2FA code not accepted", "Lost my phone, need to disable 2FA", "Authenticator issue"),
        (
            "My two-factor code is always rejected as invalid even though the app is in sync.",
            "I lost the phone with my authenticator app. How do I get back into my account?",
            "The SMS with the 2FA code never arrives so I can't log in.",
        ),
        {
            "de": "Mein Zwei-Faktor-Code wird immer als ungültig abgelehnt.",
            "es": "Mi código de dos factores siempre se rechaza como inválido.",
            "fr": "Mon code à deux facteurs est toujours refusé comme invalide.",
        },
        self_service=True,
    ),
    Category(
        "bug_report",
        "technical",
        9,
        (0.15, 0.55, 0.25, 0.05),
        ("Bug: board won't save", "Export to PDF broken", "Sticky notes disappear"),
        (
            "When I export a board to PDF in version {version} the images are missing.",
            "Sticky notes disappear after I refresh the page. Steps: create a note, refresh.",
            "The board doesn't save changes since the update to {version}. Error {error}.",
        ),
        {
            "de": "Beim PDF-Export in Version {version} fehlen die Bilder.",
            "es": "Al exportar un tablero a PDF en la versión {version} faltan las imágenes.",
            "fr": "L'export PDF en version {version} perd les images.",
        },
    ),
    Category(
        "outage",
        "incidents",
        4,
        (0.0, 0.1, 0.4, 0.5),
        ("Site down?", "Boards not loading", "Service unavailable"),
        (
            "None of our boards load, we get a 503 error. The whole team is blocked.",
            "Is Nimbus down? The app has been spinning for 20 minutes for all our users.",
            "Service unavailable for everyone in our workspace since {time}.",
        ),
        {
            "de": "Keines unserer Boards lädt, wir bekommen einen 503-Fehler.",
            "es": "Ninguno de nuestros tableros carga, recibimos un error 503.",
            "fr": "Aucun de nos tableaux ne se charge, nous avons une erreur 503.",
        },
    ),
    Category(
        "how_to",
        "general",
        10,
        (0.45, 0.5, 0.05, 0.0),
        ("How do I share a board?", "Question about templates", "How to invite guests"),
        (
            "How do I share a board with someone outside my workspace as view-only?",
            "Is there a way to create my own template from an existing board?",
            "How can I invite guests to a single board without giving them a paid seat?",
        ),
        {
            "de": "Wie teile ich ein Board mit jemandem außerhalb meines Workspaces?",
            "es": "¿Cómo comparto un tablero con alguien fuera de mi espacio de trabajo?",
            "fr": "Comment partager un tableau avec quelqu'un hors de mon espace de travail ?",
        },
        self_service=True,
    ),
    Category(
        "feature_request",
        "product",
        6,
        (0.6, 0.38, 0.02, 0.0),
        ("Feature request: dark mode", "Please add Gantt view", "Suggestion for exports"),
        (
            "It would be great to have a dark mode, our designers work late.",
            "Please add a Gantt/timeline view so we can plan projects on a board.",
            "Could you support exporting boards to SVG? PNG is too low resolution.",
        ),
        {
            "de": "Es wäre toll, einen Dunkelmodus zu haben.",
            "es": "Sería genial tener un modo oscuro.",
            "fr": "Ce serait super d'avoir un mode sombre.",
        },
    ),
    Category(
        "cancellation",
        "retention",
        5,
        (0.2, 0.6, 0.18, 0.02),
        ("Cancel my subscription", "We want to close our account", "Downgrade to free"),
        (
            "Please cancel our {plan} subscription at the end of the billing period.",
            "We're moving to another tool, how do we close the account and keep our data?",
            "I want to downgrade from {plan} to the free plan.",
        ),
        {
            "de": "Bitte kündigen Sie unser {plan} Abonnement zum Ende der Laufzeit.",
            "es": "Por favor cancelen nuestra suscripción {plan} al final del periodo.",
            "fr": "Merci de résilier notre abonnement {plan} à la fin de la période.",
        },
        self_service=True,
    ),
    Category(
        "data_privacy",
        "privacy",
        3,
        (0.05, 0.5, 0.4, 0.05),
        ("GDPR data request", "Delete my personal data", "Data processing agreement"),
        (
            "Under GDPR I request a copy of all personal data you hold about me.",
            "Please delete my account and all personal data permanently.",
            "Our legal team needs a signed data processing agreement (DPA).",
        ),
        {
            "de": "Gemäß DSGVO beantrage ich eine Kopie aller meiner personenbezogenen Daten.",
            "es": "Según el RGPD solicito una copia de todos mis datos personales.",
            "fr": "Conformément au RGPD, je demande une copie de mes données personnelles.",
        },
    ),
    Category(
        "integrations_api",
        "technical",
        6,
        (0.1, 0.55, 0.3, 0.05),
        ("API returns 401", "Slack integration stopped", "Webhook not firing"),
        (
            "Our API calls to /v2/boards return 401 since yesterday although the token is new.",
            "The Slack integration stopped posting board updates to our channel.",
            "Webhooks for card.created are not firing anymore, last delivery at {time}.",
        ),
        {
            "de": "Unsere API-Aufrufe an /v2/boards liefern seit gestern 401.",
            "es": "Nuestras llamadas a la API /v2/boards devuelven 401 desde ayer.",
            "fr": "Nos appels à l'API /v2/boards renvoient 401 depuis hier.",
        },
    ),
    Category(
        "invoice_request",
        "billing",
        5,
        (0.5, 0.45, 0.05, 0.0),
        ("Need an invoice copy", "VAT number on invoice", "Invoice address change"),
        (
            "Can you send me a copy of invoice {invoice}? Our accounting needs it.",
            "Please add our VAT number to the invoices from now on.",
            "We moved offices, please update the billing address on future invoices.",
        ),
        {
            "de": "Können Sie mir eine Kopie der Rechnung {invoice} schicken?",
            "es": "¿Pueden enviarme una copia de la factura {invoice}?",
            "fr": "Pouvez-vous m'envoyer une copie de la facture {invoice} ?",
        },
        self_service=True,
    ),
)

QUEUES: tuple[str, ...] = tuple(dict.fromkeys(c.queue for c in CATEGORIES))
TIERS = (("free", 0.55), ("pro", 0.3), ("enterprise", 0.12), ("vip", 0.03))
CHANNELS = (("email", 0.45), ("chat", 0.25), ("web", 0.2), ("phone", 0.06), ("social", 0.04))
LANGUAGES = (("en", 0.9), ("de", 0.04), ("es", 0.03), ("fr", 0.03))
PLANS = ("Starter", "Team", "Business", "Enterprise")
ERRORS = ("E402", "E-1021", "card_declined", "do_not_honor", "ERR_TIMEOUT", "500")
VERSIONS = ("4.2.0", "4.2.1", "4.3.0", "5.0.0-beta")

NEGATIVE = (
    "This is completely unacceptable.",
    "I'm really frustrated, this is the third time.",
    "Honestly this is ridiculous and I'm considering leaving.",
    "We are losing money because of this!",
)
POSITIVE = (
    "Thanks a lot, love the product!",
    "Thanks in advance, you're always helpful.",
    "Great tool otherwise :)",
)
HUMAN_ASK = ("Please let me talk to a real person.", "I want to speak to a human, not a bot.")
LEGAL = (
    "Our lawyer is in copy and we will dispute this with our bank.",
    "If this is not resolved we will file a chargeback.",
)
OPENERS = ("Hi,", "Hello team,", "Hey,", "Good morning,", "", "Dear support,")
CLOSERS = ("Thanks", "Regards", "Best", "Cheers", "", "Thank you")
LOOKALIKES = (
    "Order #{order}",
    "ref {ref}",
    "version {version}",
    "on {date}",
    "at {time}",
    "ticket {order}",
)
AGENT_REPLIES = {
    "first": (
        "Thanks for reaching out! I'm looking into this now.",
        "Sorry for the trouble. Could you share a screenshot of what you see?",
        "Thanks for the details. I've forwarded this to the right team.",
    ),
    "resolve": (
        "This should be fixed now, please let us know if it happens again.",
        "I've applied the change to your account. Anything else I can help with?",
        "Done! You should see the update within a few minutes.",
    ),
}
CUSTOMER_FOLLOWUPS = (
    "Any update on this?",
    "Here is the screenshot you asked for.",
    "It still happens, I tried again just now.",
    "Thanks, that worked!",
)
