"""Simulated LLM traffic for the demo project, sent through the real langfuse SDK.

Services in the demo fetch their prompt by label, compile it and "call" a
model; the call is invented (tokens, latency, answer, the odd error) but it is
reported exactly as a real service would report it, so the trace and cost
pages fill with data that went the whole way: SDK, OTLP, worker, database.
"""

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from langfuse import Langfuse, propagate_attributes

logger = logging.getLogger(__name__)

# The fourth model has no public price: its calls show usage but no cost.
UNPRICED_MODEL = "acme-triage-7b"

ROLES = [
    ("Data engineer", "pipelines and data quality"),
    ("Backend developer", "API design"),
    ("Site reliability engineer", "incident response"),
    ("Product designer", "user research"),
    ("Machine learning engineer", "model evaluation"),
]
SENIORITIES = ["junior", "mid-level", "senior", "staff"]
QUIZ_TOPICS = [
    ("SQL joins", "first-year students"),
    ("Python generators", "bootcamp graduates"),
    ("HTTP caching", "backend developers"),
    ("Photosynthesis", "secondary school pupils"),
    ("The French Revolution", "history enthusiasts"),
]
TICKETS = [
    "I was charged twice for the March invoice, please refund one of them.",
    "Export to CSV gives a 500 error since this morning.",
    "I can't log in: the reset link says it has expired.",
    "How do I add a second admin to our workspace?",
    "Dashboard has been down for all of our team for an hour.",
]
QUESTIONS = [
    "Tell me about a time a pipeline silently produced wrong numbers. How was it "
    "found and what did you change?",
    "You inherit an API with inconsistent error formats. How do you fix it without "
    "breaking clients?",
    "Walk me through the last incident you led. What did the timeline look like?",
    "How did you decide which users to interview for your last project?",
    "Your offline metric went up but the A/B test is flat. What do you check first?",
]
ERRORS = [
    "RateLimitError: 429 Too Many Requests (retry after 20s)",
    "APITimeoutError: request timed out after 30s",
    "InternalServerError: 503 upstream overloaded",
]
USERS = [f"candidate-{n:03d}" for n in range(1, 9)] + ["recruiter-ana", "ops-bot"]


@dataclass
class TrafficReport:
    generations: int = 0
    errors: int = 0
    scores: int = 0
    sessions: set = field(default_factory=set)
    users: set = field(default_factory=set)
    models: dict = field(default_factory=dict)

    def count(self, *, model, user_id, session_id, failed):
        self.generations += 1
        self.errors += int(failed)
        self.models[model] = self.models.get(model, 0) + 1
        self.users.add(user_id)
        if session_id:
            self.sessions.add(session_id)

    def summary(self):
        models = ", ".join(f"{name} x{n}" for name, n in sorted(self.models.items()))
        return (
            f"Sent {self.generations} generations ({self.errors} simulated model "
            f"error{'' if self.errors == 1 else 's'}) in "
            f"{len(self.sessions)} sessions for {len(self.users)} users, "
            f"{self.scores} scores. Models: {models}."
        )


@dataclass
class Call:
    """One simulated model call: what the service would learn from the provider."""

    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    latency_ms: int
    first_token_ms: int
    output: object
    error: str | None

    @property
    def usage(self):
        # Input is net of the cached part, so cached tokens are priced once,
        # at the cached rate.
        if self.error:
            return None
        return {
            "input": self.input_tokens - self.cached_tokens,
            "input_cached_tokens": self.cached_tokens,
            "output": self.output_tokens,
        }


def simulate_call(rng, *, model, prompt_chars, output, error_rate):
    input_tokens = prompt_chars // 4 + rng.randint(20, 400)
    # Providers cache long shared prefixes: about half the calls hit the cache.
    cached = rng.choice([0, 0, 1, 1]) * (input_tokens // 128) * 64
    output_tokens = rng.randint(40, 600)
    latency = rng.randint(350, 900) + output_tokens * rng.randint(8, 25)
    error = rng.choice(ERRORS) if rng.random() < error_rate else None
    return Call(
        model=model,
        input_tokens=input_tokens,
        cached_tokens=cached,
        output_tokens=0 if error else output_tokens,
        latency_ms=latency,
        first_token_ms=rng.randint(150, 600),
        output=None if error else output,
        error=error,
    )


def prompt_length(compiled):
    if isinstance(compiled, str):
        return len(compiled)
    return sum(len(str(message.get("content", ""))) for message in compiled)


class TrafficGenerator:
    """Plays the demo services against a running workbench."""

    def __init__(self, langfuse, *, rng, error_rate=0.1, out=None):
        self.langfuse = langfuse
        self.rng = rng
        self.error_rate = error_rate
        self.out = out
        self.report = TrafficReport()
        self.limit = 0

    def run(self, generations):
        self.limit = generations
        features = [self.interview_session, self.quiz, self.resume, self.triage]
        while self.report.generations < self.limit:
            self.rng.choice(features)()
        self.langfuse.flush()
        return self.report

    def label(self):
        # Most traffic is production; a canary share exercises staging.
        return "staging" if self.rng.random() < 0.2 else "production"

    def model_for(self, prompt, fallback):
        model = (prompt.config or {}).get("model") or fallback
        # A few calls try another model, as teams do when comparing cost.
        if self.rng.random() < 0.15:
            model = self.rng.choice(["gpt-4o-mini", "claude-3-5-sonnet"])
        return model

    def interview_session(self):
        role, focus = self.rng.choice(ROLES)
        seniority = self.rng.choice(SENIORITIES)
        user_id = self.rng.choice(USERS[:8])
        session_id = f"interview-{user_id}-{self.rng.randint(1000, 9999)}"
        label = self.label()
        history = []
        for _ in range(self.rng.randint(2, 4)):
            if self.report.generations >= self.limit:
                break
            prompt = self.langfuse.get_prompt(
                "interview/question-generator", label=label, type="chat"
            )
            compiled = prompt.compile(
                role=role, seniority=seniority, focus_area=focus, history=history
            )
            question = self.rng.choice(QUESTIONS)
            with propagate_attributes(
                user_id=user_id,
                session_id=session_id,
                tags=["interviews", label],
                trace_name="interview-question",
                metadata={"feature": "interviews"},
            ):
                call = self.generate(
                    name="generate-question",
                    prompt=prompt,
                    compiled=compiled,
                    model=self.model_for(prompt, "gpt-4o-mini"),
                    output={"role": "assistant", "content": question},
                    user_id=user_id,
                    session_id=session_id,
                )
            if call.error is None:
                history += [
                    {"role": "assistant", "content": question},
                    {"role": "user", "content": "(candidate answers)"},
                ]

    def quiz(self):
        topic, audience = self.rng.choice(QUIZ_TOPICS)
        label = self.label()
        prompt = self.langfuse.get_prompt("quiz/generator", label=label)
        compiled = prompt.compile(
            count=self.rng.choice([3, 5, 10]),
            topic=topic,
            audience=audience,
            difficulty=self.rng.choice(["easy", "medium", "hard"]),
        )
        user_id = "recruiter-ana" if self.rng.random() < 0.3 else "ops-bot"
        with propagate_attributes(
            user_id=user_id,
            tags=["learning", label],
            trace_name="quiz-generation",
            metadata={"feature": "quizzes", "topic": topic},
        ):
            self.generate(
                name="generate-quiz",
                prompt=prompt,
                compiled=compiled,
                model=self.model_for(prompt, "gemini-1.5-flash"),
                output=f"1. Which statement about {topic} is true? ...",
                user_id=user_id,
            )

    def resume(self):
        role, _ = self.rng.choice(ROLES)
        label = self.label()
        prompt = self.langfuse.get_prompt("resume/scorer", label=label, type="chat")
        compiled = prompt.compile(
            role=role,
            job_description=f"We are hiring a {role} to own our {role.lower()} work.",
            resume="Five years building data platforms; led a team of four.",
        )
        score = self.rng.randint(35, 95)
        verdict = "interview" if score >= 70 else "maybe" if score >= 50 else "reject"
        with propagate_attributes(
            user_id="recruiter-ana",
            tags=["hiring", label],
            trace_name="resume-scoring",
            metadata={"feature": "hiring"},
        ):
            self.generate(
                name="score-resume",
                prompt=prompt,
                compiled=compiled,
                model=self.model_for(prompt, "gpt-4o-mini"),
                output={"score": score, "recommendation": verdict},
                user_id="recruiter-ana",
                score=("json_valid", 1.0),
            )

    def triage(self):
        ticket = self.rng.choice(TICKETS)
        label = self.label()
        prompt = self.langfuse.get_prompt("support/triage", label=label)
        compiled = prompt.compile(ticket=ticket, product="Workbench Cloud")
        # The support team runs part of its traffic on a self-hosted model.
        model = (
            UNPRICED_MODEL
            if self.rng.random() < 0.4
            else self.model_for(prompt, "gemini-1.5-flash")
        )
        with propagate_attributes(
            user_id="ops-bot",
            tags=["support", label],
            trace_name="ticket-triage",
            metadata={"feature": "support"},
        ):
            self.generate(
                name="classify-ticket",
                prompt=prompt,
                compiled=compiled,
                model=model,
                output={"category": "bug", "urgency": "normal"},
                user_id="ops-bot",
            )

    def generate(
        self,
        *,
        name,
        prompt,
        compiled,
        model,
        output,
        user_id,
        session_id=None,
        score=None,
    ):
        call = simulate_call(
            self.rng,
            model=model,
            prompt_chars=prompt_length(compiled),
            output=output,
            error_rate=self.error_rate,
        )
        with self.langfuse.start_as_current_observation(
            as_type="span",
            name=name.replace("generate-", "") + "-request",
            end_on_exit=False,
        ) as root:
            started = time.time_ns()
            generation = root.start_observation(
                as_type="generation",
                name=name,
                model=model,
                model_parameters={
                    key: value
                    for key, value in (prompt.config or {}).items()
                    if key in {"temperature", "max_tokens"}
                },
                input=compiled,
                prompt=prompt,
            )
            self.finish(generation, call, started)
            root.update(input={"prompt": prompt.name}, output=call.output)
            if score and call.error is None:
                root.score_trace(name=score[0], value=score[1], data_type="BOOLEAN")
                self.report.scores += 1
            if call.error is None and self.rng.random() < 0.3:
                root.score_trace(
                    name="helpfulness", value=round(self.rng.uniform(0.4, 1.0), 2)
                )
                self.report.scores += 1
            root.end(end_time=started + (call.latency_ms + 15) * 1_000_000)
        self.report.count(
            model=model, user_id=user_id, session_id=session_id, failed=bool(call.error)
        )
        logger.debug("Reported %s on %s (error: %s)", name, model, call.error)
        return call

    def finish(self, generation, call, started):
        # The call is simulated, so its end lies a realistic latency after
        # its start instead of waiting for it.
        first_token = datetime.fromtimestamp(started / 1e9, UTC) + timedelta(
            milliseconds=call.first_token_ms
        )
        if call.error:
            generation.update(level="ERROR", status_message=call.error)
        else:
            generation.update(
                output=call.output,
                usage_details=call.usage,
                completion_start_time=first_token,
            )
        generation.end(end_time=started + call.latency_ms * 1_000_000)


def send_demo_traffic(*, host, public_key, secret_key, generations=40, seed=None):
    """Report about ``generations`` simulated calls; returns the TrafficReport."""
    langfuse = Langfuse(
        public_key=public_key,
        secret_key=secret_key,
        host=host,
        release="demo-traffic",
    )
    try:
        generator = TrafficGenerator(langfuse, rng=random.Random(seed))
        return generator.run(generations)
    finally:
        langfuse.shutdown()
