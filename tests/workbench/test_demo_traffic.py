"""The demo traffic generator, with the real 5.x SDK talking to the app in-process.

Prompt fetches go through the SDK's REST client to the WSGI app; spans go to
an in-memory exporter instead of OTLP, so the test reads exactly what the SDK
would send. The live path (OTLP, worker) is covered in tests/e2e.
"""

import json
import random
from io import StringIO

import httpx
import pytest
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from langfuse import Langfuse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from prompts.models import Label
from workbench.demo import UNPRICED_MODEL, Call, TrafficGenerator, TrafficReport
from workbench.models import ApiKey, Project

pytestmark = pytest.mark.django_db

HOST = "http://127.0.0.1"


@pytest.fixture
def demo_data():
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture
def exporter():
    return InMemorySpanExporter()


@pytest.fixture
def wsgi_app():
    # As Django's test client does: the request must not close the test's
    # database connection (it holds the test transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def langfuse(demo_data, exporter, wsgi_app):
    # The SDK keeps one set of resources per public key for the whole
    # process, so each test uses a key of its own.
    api_key, secret = ApiKey.generate(project=Project.objects.get(slug="demo"))
    client = Langfuse(
        public_key=api_key.public_key,
        secret_key=secret,
        host=HOST,
        httpx_client=httpx.Client(
            transport=httpx.WSGITransport(app=wsgi_app), base_url=HOST
        ),
        tracer_provider=TracerProvider(),
        span_exporter=exporter,
    )
    yield client
    client.shutdown()


def attributes(span, prefix="langfuse.observation."):
    return {
        key.removeprefix(prefix): value
        for key, value in span.attributes.items()
        if key.startswith(prefix)
    }


def generations(exporter):
    return [
        attributes(span)
        for span in exporter.get_finished_spans()
        if span.attributes.get("langfuse.observation.type") == "generation"
    ]


def test_it_reports_the_number_of_generations_asked_for(langfuse, exporter):
    report = TrafficGenerator(langfuse, rng=random.Random(3)).run(15)
    langfuse.flush()

    sent = generations(exporter)
    assert report.generations == len(sent) == 15
    assert report.errors == sum(1 for g in sent if g.get("level") == "ERROR")
    assert report.errors == 1
    assert "Sent 15 generations (1 simulated model error) in" in report.summary()


def test_the_summary_says_the_errors_were_simulated():
    report = TrafficReport(generations=40, errors=5, scores=2)

    assert report.summary().startswith(
        "Sent 40 generations (5 simulated model errors) in 0 sessions"
    )


def test_each_generation_names_the_prompt_version_its_label_served(langfuse, exporter):
    TrafficGenerator(langfuse, rng=random.Random(5)).run(20)
    langfuse.flush()

    served = {
        (label.prompt.name, label.version.number)
        for label in Label.objects.filter(
            prompt__project__slug="demo", name__in=["production", "staging"]
        ).select_related("prompt", "version")
    }
    sent = generations(exporter)
    assert {(g["prompt.name"], g["prompt.version"]) for g in sent} <= served
    assert len({g["prompt.name"] for g in sent}) >= 3


def test_usage_counts_cached_tokens_apart_from_input(langfuse, exporter):
    TrafficGenerator(langfuse, rng=random.Random(11), error_rate=0).run(20)
    langfuse.flush()

    usages = [json.loads(g["usage_details"]) for g in generations(exporter)]
    assert all(
        set(usage) == {"input", "input_cached_tokens", "output"} for usage in usages
    )
    assert any(usage["input_cached_tokens"] > 0 for usage in usages)
    models = {g["model.name"] for g in generations(exporter)}
    assert UNPRICED_MODEL in models
    assert models & {"gpt-4o-mini", "claude-3-5-sonnet", "gemini-1.5-flash"}


def test_a_failed_call_reports_an_error_and_no_usage():
    call = Call(
        model="gpt-4o-mini",
        input_tokens=500,
        cached_tokens=128,
        output_tokens=0,
        latency_ms=900,
        first_token_ms=200,
        output=None,
        error="APITimeoutError: request timed out after 30s",
    )
    assert call.usage is None
    ok = Call(**{**call.__dict__, "error": None, "output_tokens": 40})
    assert ok.usage == {"input": 372, "input_cached_tokens": 128, "output": 40}
