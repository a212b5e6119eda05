"""Load the demo project: one user per role, an API key pair and a few prompts.

Running it again changes nothing that is already there, so ``make run`` can
call it on every start and always print the same working key pair.
"""

import os
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from prompts.models import Prompt, ReviewStatus
from prompts.services import events, label_move, version_create
from prompts.services.comments import comment_add
from prompts.services.reviews import review_decide, review_request
from tracing.models import Budget, BudgetScope
from tracing.rollups import rollup_project_recent
from workbench.auth import forget_api_key
from workbench.models import ApiKey, Membership, Project, Role, hash_secret

DEMO_PROJECT_SLUG = "demo"
DEMO_PUBLIC_KEY = "pk-lf-demo"
DEFAULT_PASSWORD = "workbench"
DEFAULT_SECRET_KEY = "sk-lf-demo-workbench"
DEFAULT_PORT = "8000"
# Demo users get addresses in the reserved example domain, so the
# notification emails of the demo show in the console with a recipient.
DEMO_EMAIL_DOMAIN = "demo.example"
# One run of ``make demo-traffic`` (40 generations) costs about 1 to 8 US
# cents, so a few runs take this budget past its first threshold.
DEMO_MONTHLY_BUDGET = Decimal("0.20")

INTERVIEW_SYSTEM_V1 = (
    "You are an experienced technical interviewer. Write one interview "
    "question for a {{seniority}} {{role}}. Ask about real work, not trivia."
)
INTERVIEW_SYSTEM_V2 = (
    "You are an experienced technical interviewer hiring a {{seniority}} "
    "{{role}}. Write one open question about {{focus_area}} that a strong "
    "candidate can answer from their own projects. Do not repeat a question "
    "already asked in this interview. Reply with the question only."
)
INTERVIEW_SYSTEM_V3 = (
    "You are an experienced technical interviewer hiring a {{seniority}} "
    "{{role}}. Write one open question about {{focus_area}} that a strong "
    "candidate can answer from their own projects.\n"
    "- Match the depth to the seniority: juniors explain, seniors trade off.\n"
    "- Do not repeat or rephrase a question already asked in this interview.\n"
    "- Reply with the question only, at most two sentences."
)
INTERVIEW_USER = "Next question, please."

QUIZ_V1 = (
    "Write {{count}} multiple-choice questions about {{topic}}. Give four "
    "options per question and mark the correct one."
)
QUIZ_V2 = (
    "Write {{count}} multiple-choice questions about {{topic}} for "
    "{{audience}}.\n"
    "Each question has four options (A-D), exactly one of them correct, and "
    "the wrong options are mistakes a learner really makes.\n"
    "After the questions, list the answers as '1: B' lines with one sentence "
    "explaining each."
)
QUIZ_V3 = QUIZ_V2 + "\nWrite at the {{difficulty}} level and avoid trick questions."

RESUME_SYSTEM_V1 = (
    "You score resumes against a job description. Answer with JSON only: "
    '{"score": <integer 0-100>, "summary": "<one sentence>"}.'
)
RESUME_SYSTEM_V2 = (
    "You score resumes against a job description for the {{role}} role.\n"
    "Judge only evidence in the resume: skills used in real work count more "
    "than skills listed.\n"
    "Answer with JSON only, no prose, exactly these keys:\n"
    '{"score": <integer 0-100>, "strengths": [<string>], "gaps": [<string>], '
    '"recommendation": "interview" | "maybe" | "reject"}'
)
RESUME_USER = "Job description:\n{{job_description}}\n\nResume:\n{{resume}}"

TRIAGE_V1 = (
    "Classify this support ticket as one of: billing, bug, account, how-to, "
    "other. Reply with the category only.\n\nTicket:\n{{ticket}}"
)
TRIAGE_V2 = (
    "You triage support tickets for {{product}}.\n"
    "Classify the ticket as one of: billing, bug, account, how-to, other, and "
    "rate urgency as low, normal or high (high: data loss, outage, or a "
    "customer who cannot log in).\n"
    'Reply as JSON: {"category": "...", "urgency": "..."}\n\n'
    "Ticket:\n{{ticket}}"
)


def chat(system, user):
    return [
        {"role": "system", "content": system},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": user},
    ]


# Each prompt's versions in order; ``moves`` are label moves made afterwards,
# so the deployment history shows a promotion and not only initial labels.
DEMO_PROMPTS = [
    {
        "name": "interview/question-generator",
        "type": "chat",
        "tags": ["interviews"],
        "versions": [
            {
                "content": chat(INTERVIEW_SYSTEM_V1, INTERVIEW_USER),
                "config": {"model": "gpt-4o-mini", "temperature": 0.7},
                "labels": ["production"],
                "commit_message": "First version",
                "author": "editor",
            },
            {
                "content": chat(INTERVIEW_SYSTEM_V2, INTERVIEW_USER),
                "config": {"model": "gpt-4o-mini", "temperature": 0.7},
                "labels": ["staging"],
                "commit_message": "Ask about a focus area; no repeated questions",
                "author": "editor",
            },
            {
                "content": chat(INTERVIEW_SYSTEM_V3, INTERVIEW_USER),
                "config": {
                    "model": "claude-3-5-sonnet",
                    "temperature": 0.5,
                    "max_tokens": 200,
                },
                "labels": ["staging"],
                "commit_message": "Depth by seniority; try Claude",
                "author": "editor",
            },
        ],
        "moves": [("production", 2, "approver")],
    },
    {
        "name": "quiz/generator",
        "type": "text",
        "tags": ["learning"],
        "versions": [
            {
                "content": QUIZ_V1,
                "config": {"model": "gemini-1.5-flash", "temperature": 0.9},
                "labels": ["production", "staging"],
                "commit_message": "First version",
                "author": "editor",
            },
            {
                "content": QUIZ_V2,
                "config": {"model": "gemini-1.5-flash", "temperature": 0.8},
                "labels": ["staging"],
                "commit_message": "Audience, plausible distractors, answer key",
                "author": "editor",
            },
            {
                "content": QUIZ_V3,
                "config": {"model": "gemini-1.5-flash", "temperature": 0.8},
                "labels": [],
                "commit_message": "Difficulty level",
                "author": "editor",
            },
        ],
        "moves": [("production", 2, "approver"), ("staging", 3, "editor")],
        "in_review": {
            "version": 3,
            "author": "editor",
            "message": "Adds a difficulty level; please check the wording.",
            "thread": [
                (
                    "reviewer",
                    "Which levels do we support? Officers will type anything "
                    "here unless we list them.",
                ),
                (
                    "editor",
                    "Beginner, intermediate and advanced, as in the course "
                    "catalogue. I can name them in the prompt.",
                ),
            ],
        },
    },
    {
        "name": "resume/scorer",
        "type": "chat",
        "tags": ["hiring"],
        "versions": [
            {
                "content": [
                    {"role": "system", "content": RESUME_SYSTEM_V1},
                    {"role": "user", "content": RESUME_USER},
                ],
                "config": {"model": "gpt-4o-mini", "temperature": 0},
                "labels": ["production"],
                "commit_message": "First version",
                "author": "editor",
            },
            {
                "content": [
                    {"role": "system", "content": RESUME_SYSTEM_V2},
                    {"role": "user", "content": RESUME_USER},
                ],
                "config": {
                    "model": "claude-3-5-sonnet",
                    "temperature": 0,
                    "max_tokens": 400,
                    "response_format": {"type": "json_object"},
                },
                "labels": ["staging"],
                "commit_message": "Strengths, gaps and a recommendation",
                "author": "editor",
            },
        ],
        "moves": [],
    },
    {
        "name": "support/triage",
        "type": "text",
        "tags": ["support"],
        "versions": [
            {
                "content": TRIAGE_V1,
                "config": {"model": "gemini-1.5-flash", "temperature": 0},
                "labels": ["production"],
                "commit_message": "First version",
                "author": "editor",
            },
            {
                "content": TRIAGE_V2,
                "config": {"model": "gpt-4o-mini", "temperature": 0},
                "labels": ["staging"],
                "commit_message": "Urgency and JSON output",
                "author": "editor",
            },
        ],
        "moves": [],
    },
]


class Command(BaseCommand):
    help = "Create the demo project, its users, API key and prompts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", DEFAULT_PORT))

    def handle(self, *args, port, **options):
        password = os.environ.get("WORKBENCH_DEMO_PASSWORD", DEFAULT_PASSWORD)
        secret = os.environ.get("WORKBENCH_DEMO_SECRET_KEY", DEFAULT_SECRET_KEY)
        # The demo's made-up history notifies nobody and calls no webhook.
        with transaction.atomic(), events.muted():
            project = seed_project()
            users = seed_users(project, password)
            seed_api_key(project, secret)
            seed_budget(project, users)
            created = [
                spec["name"]
                for spec in DEMO_PROMPTS
                if seed_prompt(project, spec, users)
            ]
        if created:
            self.stdout.write(f"Created demo prompts: {', '.join(created)}")
        # Calls sent while no beat ran (or before roll-ups existed) would be
        # missing from the reports until they change; roll them up now.
        written = rollup_project_recent(project.pk)
        if written:
            self.stdout.write(f"Rolled up the demo's calls: {written} hour buckets")
        self.stdout.write(banner(port=port, password=password, secret=secret))


def seed_project():
    project, _ = Project.objects.get_or_create(
        slug=DEMO_PROJECT_SLUG,
        defaults={
            "name": "Demo project",
            "naming_rule": "",
            "protected_labels": ["production"],
        },
    )
    return project


def seed_users(project, password):
    """One user per role, named after it, at ``<role>@demo.example``;
    ``admin`` also runs /admin. An address someone set is kept."""
    users = {}
    for role in Role.values:
        is_admin = role == Role.ADMIN
        email = f"{role}@{DEMO_EMAIL_DOMAIN}"
        user, created = get_user_model().objects.get_or_create(
            username=role,
            defaults={"is_staff": is_admin, "is_superuser": is_admin, "email": email},
        )
        if not user.email:
            user.email = email
            user.save(update_fields=["email"])
        # Re-set only when it differs, so a changed env password takes effect
        # without a new hash (and a history row) on every start.
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            user=user, project=project, defaults={"role": role}
        )
        users[role] = user
    return users


def seed_api_key(project, secret):
    api_key = ApiKey.objects.filter(public_key=DEMO_PUBLIC_KEY).first()
    if api_key is None:
        ApiKey.generate(
            project=project,
            note="Demo key (printed by make run)",
            public_key=DEMO_PUBLIC_KEY,
            secret=secret,
        )
        return
    if not api_key.check_secret(secret) or api_key.revoked_at is not None:
        api_key.secret_hash = hash_secret(secret)
        api_key.secret_hint = f"...{secret[-4:]}"
        api_key.revoked_at = None
        api_key.save(update_fields=["secret_hash", "secret_hint", "revoked_at"])
        forget_api_key(DEMO_PUBLIC_KEY)


def seed_budget(project, users):
    """A monthly budget for the whole project; one changed by hand is kept."""
    Budget.objects.get_or_create(
        project=project,
        scope=BudgetScope.PROJECT,
        scope_value="",
        defaults={
            "monthly_amount": DEMO_MONTHLY_BUDGET,
            "thresholds": [50, 80, 100],
            "created_by": users["admin"],
        },
    )


def seed_prompt(project, spec, users):
    """Create the prompt with all its versions, unless it exists already.

    Protected labels are moved by the approver after the version exists, as
    a promotion would be; the others are set by the author on creation.
    """
    if Prompt.objects.filter(project=project, name=spec["name"]).exists():
        return False
    protected = set(project.protected_labels or [])
    for version_spec in spec["versions"]:
        version = version_create(
            project=project,
            name=spec["name"],
            type=spec["type"],
            content=version_spec["content"],
            config=version_spec["config"],
            labels=[
                label for label in version_spec["labels"] if label not in protected
            ],
            tags=spec["tags"],
            commit_message=version_spec["commit_message"],
            actor=users[version_spec["author"]],
        )
        for label in protected.intersection(version_spec["labels"]):
            approve(version, users)
            label_move(
                prompt=version.prompt,
                label=label,
                version_number=version.number,
                actor=users["approver"],
            )
    prompt = Prompt.objects.get(project=project, name=spec["name"])
    for label, number, actor_role in spec["moves"]:
        if label in protected:
            approve(prompt.versions.get(number=number), users)
        label_move(
            prompt=prompt, label=label, version_number=number, actor=users[actor_role]
        )
    if "in_review" in spec:
        seed_review(prompt, spec["in_review"], users)
    return True


def approve(version, users):
    """Take ``version`` through review: its author asks, the approver approves."""
    if version.review_status == ReviewStatus.APPROVED:
        return
    review_request(version=version, actor=version.created_by)
    review_decide(
        version=version,
        actor=users["approver"],
        decision="approve",
        body="Read it through with the team; ready for production.",
    )


def seed_review(prompt, spec, users):
    """Leave one version in review with a comment thread on its last line."""
    version = prompt.versions.get(number=spec["version"])
    review_request(
        version=version, actor=users[spec["author"]], message=spec["message"]
    )
    thread = None
    for author, body in spec["thread"]:
        comment = comment_add(
            version=version,
            actor=users[author],
            body=body,
            parent=thread,
            line=None if thread else version.content.count("\n") + 1,
        )
        thread = thread or comment


def banner(*, port, password, secret):
    url = f"http://127.0.0.1:{port}"
    logins = ", ".join(Role.values)
    traffic = "make demo-traffic"
    if str(port) != DEFAULT_PORT:
        # The Makefile targets default to 8000 too: say which server to hit.
        traffic += f" PORT={port}"
    return "\n".join(
        [
            "",
            "=" * 72,
            f"Prompt workbench: {url}/",
            f"Demo logins (password '{password}'): {logins}",
            f"  'admin' can also use {url}/admin/",
            "Demo API key pair for the langfuse SDK (project 'demo'):",
            f"  export LANGFUSE_HOST={url}",
            f"  export LANGFUSE_PUBLIC_KEY={DEMO_PUBLIC_KEY}",
            f"  export LANGFUSE_SECRET_KEY={secret}",
            f"Simulated traffic, with the server running: {traffic}",
            "=" * 72,
            "",
        ]
    )
