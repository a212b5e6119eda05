"""A service using the langfuse 2.x SDK (run from .venv-sdk2), one scenario per process.

Run as ``python sdk2.py <scenario> <json args>`` with LANGFUSE_HOST and the
keys in the environment; prints one JSON object. 2.x sends prompt names with
``/`` unencoded and reports traces as batches to /api/public/ingestion.
"""

import json
import sys
from datetime import UTC, datetime, timedelta

from langfuse import Langfuse
from langfuse.api.core.api_error import ApiError


def emit(**values):
    print(json.dumps(values, default=str), flush=True)


def describe(prompt):
    return {
        "name": prompt.name,
        "version": prompt.version,
        "prompt": prompt.prompt,
        "config": prompt.config,
        "labels": prompt.labels,
        "tags": prompt.tags,
        "is_fallback": getattr(prompt, "is_fallback", False),
    }


def get_prompts(langfuse, *, folder_text, chat):
    default = langfuse.get_prompt(folder_text, max_retries=1)
    staging = langfuse.get_prompt(folder_text, label="staging", max_retries=1)
    by_version = langfuse.get_prompt(folder_text, version=1, max_retries=1)
    chat_prompt = langfuse.get_prompt(chat, type="chat", max_retries=1)
    emit(
        default=describe(default),
        staging=describe(staging),
        by_version=describe(by_version),
        compiled_text=default.compile(topic="SQL joins", count=3),
        chat=describe(chat_prompt),
        compiled_chat=chat_prompt.compile(role="Data engineer"),
    )


def create_prompts(langfuse, *, text, chat):
    created_text = langfuse.create_prompt(
        name=text,
        prompt="Translate {{sentence}} into {{language}}.",
        labels=["production"],
        tags=["e2e", "sdk2"],
        config={"model": "gpt-4o-mini", "temperature": 0.1},
    )
    created_chat = langfuse.create_prompt(
        name=chat,
        type="chat",
        prompt=[
            {"role": "system", "content": "You grade answers about {{subject}}."},
            {"role": "user", "content": "{{answer}}"},
        ],
        labels=["staging"],
    )
    emit(text=describe(created_text), chat=describe(created_chat))


def traced_generation(langfuse, *, name, model, usage):
    prompt = langfuse.get_prompt(name, max_retries=1)
    compiled = prompt.compile(topic="HTTP caching", count=2)
    started = datetime.now(UTC)
    trace = langfuse.trace(
        name="quiz-sdk2", user_id="sdk2-user", session_id="sdk2-session", tags=["e2e"]
    )
    generation = trace.generation(
        name="generate-quiz",
        model=model,
        model_parameters={"temperature": 0.2, "max_tokens": 300},
        input=compiled,
        prompt=prompt,
        start_time=started,
        completion_start_time=started + timedelta(milliseconds=150),
    )
    generation.end(
        output="1. What does Cache-Control: no-store mean?",
        usage=usage,
        end_time=started + timedelta(milliseconds=900),
    )
    trace.update(output="done")
    langfuse.flush()
    emit(trace_id=trace.id, observation_id=generation.id, prompt_version=prompt.version)


def report_calls(langfuse, *, calls):
    """One trace per call, with usage and cost as the service reports them."""
    for spec in calls:
        started = datetime.fromisoformat(spec["start"])
        trace = langfuse.trace(
            id=spec["trace_id"],
            name=spec["name"],
            user_id=spec["user_id"],
            timestamp=started,
        )
        trace.generation(
            id=spec["call_id"],
            name="answer",
            model=spec["model"],
            start_time=started,
            end_time=started + timedelta(seconds=1),
            usage_details=spec["usage"],
            cost_details=spec["cost"],
        )
    langfuse.flush()
    emit(sent=len(calls))


def _usage_by_model(usage):
    return {
        "model": usage.model,
        "input_usage": usage.input_usage,
        "output_usage": usage.output_usage,
        "total_usage": usage.total_usage,
        "count_traces": usage.count_traces,
        "count_observations": usage.count_observations,
        "total_cost": usage.total_cost,
    }


def _daily_metrics(metrics):
    """The parsed model's attributes, to show the SDK read every field."""
    return {
        "type": type(metrics).__name__,
        "meta": {
            "page": metrics.meta.page,
            "limit": metrics.meta.limit,
            "total_items": metrics.meta.total_items,
            "total_pages": metrics.meta.total_pages,
        },
        "days": [
            {
                "date": day.date.isoformat(),
                "count_traces": day.count_traces,
                "count_observations": day.count_observations,
                "total_cost": day.total_cost,
                "usage": [_usage_by_model(usage) for usage in day.usage],
            }
            for day in metrics.data
        ],
    }


def daily_metrics(langfuse, *, queries):
    """``client.metrics.daily`` once per query; a refusal reports its error."""
    answers = []
    for query in queries:
        for bound in ("from_timestamp", "to_timestamp"):
            if bound in query:
                query[bound] = datetime.fromisoformat(query[bound])
        try:
            answers.append(_daily_metrics(langfuse.client.metrics.daily(**query)))
        except ApiError as error:
            answers.append(
                {
                    "error": type(error).__name__,
                    "status": error.status_code,
                    "body": error.body,
                }
            )
    emit(answers=answers)


SCENARIOS = {
    "get_prompts": get_prompts,
    "create_prompts": create_prompts,
    "traced_generation": traced_generation,
    "report_calls": report_calls,
    "daily_metrics": daily_metrics,
}


def main():
    scenario, arguments = sys.argv[1], json.loads(sys.argv[2])
    langfuse = Langfuse()
    try:
        SCENARIOS[scenario](langfuse, **arguments)
    finally:
        langfuse.shutdown()


if __name__ == "__main__":
    main()
