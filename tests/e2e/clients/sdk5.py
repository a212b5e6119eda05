"""A service using the langfuse 5.x SDK, one scenario per process.

Run as ``python sdk5.py <scenario> <json args>`` with LANGFUSE_HOST and the
keys in the environment; prints one JSON object per line. The 5.x SDK sets a
global OpenTelemetry tracer provider, so every scenario gets its own process.
No Django here: this is what a service outside the workbench runs.
"""

import json
import sys
from datetime import UTC, datetime, timedelta

from langfuse import Langfuse, propagate_attributes


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
        "is_fallback": prompt.is_fallback,
        "variables": prompt.variables,
    }


def get_prompts(langfuse, *, text, chat):
    by_label = langfuse.get_prompt(text, label="staging")
    by_version = langfuse.get_prompt(text, version=1)
    default = langfuse.get_prompt(text)
    chat_prompt = langfuse.get_prompt(chat, type="chat")
    emit(
        by_label=describe(by_label),
        by_version=describe(by_version),
        default=describe(default),
        compiled_text=default.compile(topic="SQL joins", count=3),
        chat=describe(chat_prompt),
        compiled_chat=chat_prompt.compile(
            role="Data engineer",
            history=[{"role": "user", "content": "Hi, I am ready."}],
        ),
    )


def create_prompts(langfuse, *, text, chat):
    created_text = langfuse.create_prompt(
        name=text,
        prompt="Summarise {{document}} in {{words}} words.",
        labels=["staging"],
        tags=["e2e"],
        config={"model": "gpt-4o-mini", "temperature": 0.2},
        commit_message="Created by the 5.x SDK",
    )
    created_chat = langfuse.create_prompt(
        name=chat,
        type="chat",
        prompt=[
            {"role": "system", "content": "You interview a {{role}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "Next question."},
        ],
        labels=["production"],
    )
    second = langfuse.create_prompt(
        name=text, prompt="Summarise {{document}} briefly.", labels=["production"]
    )
    fetched = langfuse.get_prompt(chat, type="chat", cache_ttl_seconds=0)
    emit(
        text=describe(created_text),
        chat=describe(created_chat),
        second=describe(second),
        fetched_chat=describe(fetched),
    )


def update_prompt(langfuse, *, name, version, label):
    before = langfuse.get_prompt(name, label=label)
    updated = langfuse.update_prompt(name=name, version=version, new_labels=[label])
    after = langfuse.get_prompt(name, label=label)
    emit(
        before=describe(before),
        updated={"version": updated.version, "labels": updated.labels},
        after=describe(after),
    )


def watch_label(langfuse, *, name, label):
    """Fetch, wait for the test to move the label, fetch again."""
    first = langfuse.get_prompt(name, label=label, cache_ttl_seconds=0)
    emit(step="first", version=first.version, prompt=first.prompt)
    sys.stdin.readline()
    second = langfuse.get_prompt(name, label=label, cache_ttl_seconds=0)
    emit(step="second", version=second.version, prompt=second.prompt)


def traced_generation(langfuse, *, name, label, model, usage):
    prompt = langfuse.get_prompt(name, label=label)
    compiled = prompt.compile(topic="HTTP caching", count=2)
    started = datetime.now(UTC)
    with (
        propagate_attributes(
            user_id="e2e-user",
            session_id="e2e-session",
            tags=["e2e"],
            trace_name="quiz",
        ),
        langfuse.start_as_current_observation(
            as_type="span", name="quiz-request", input={"topic": "HTTP caching"}
        ) as root,
    ):
        generation = root.start_observation(
            as_type="generation",
            name="generate-quiz",
            model=model,
            model_parameters={"temperature": 0.2},
            input=compiled,
            prompt=prompt,
        )
        generation.update(
            output="1. What does Cache-Control: no-store mean?",
            usage_details=usage,
            completion_start_time=started + timedelta(milliseconds=120),
        )
        generation.end()
        root.update(output="done")
    langfuse.flush()
    emit(
        trace_id=root.trace_id,
        observation_id=generation.id,
        prompt_version=prompt.version,
    )


SCENARIOS = {
    "get_prompts": get_prompts,
    "create_prompts": create_prompts,
    "update_prompt": update_prompt,
    "watch_label": watch_label,
    "traced_generation": traced_generation,
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
