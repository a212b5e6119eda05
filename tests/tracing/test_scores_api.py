"""POST /api/public/scores: one object (4.x servers) or an array (5.x SDK)."""

import pytest
from django.test import Client

from tracing.models import IngestionBatch, Score

from .captured import SCORES_5X, TRACE_5X

URL = "/api/public/scores"


def test_the_5x_array_is_accepted_with_202(post_json, project):
    response = post_json(URL, SCORES_5X)

    assert response.status_code == 202
    assert response.json() == {"message": "Accepted"}
    scores = {s.score_id: s for s in Score.objects.filter(project=project)}
    assert scores["22c5221b9d7aff54"].value == 0.9
    assert scores["22c5221b9d7aff54"].observation_id == "1549d1ac71497bdb"
    assert scores["22c5221b9d7aff54"].comment == "good"
    assert scores["b4d991fe9c01d6ed"].string_value == "ok"
    assert scores["b4d991fe9c01d6ed"].data_type == "CATEGORICAL"
    assert scores["21b1ede4e14021db"].data_type == "BOOLEAN"
    assert scores["21b1ede4e14021db"].value == 1.0
    assert scores["21b1ede4e14021db"].timestamp.isoformat() == (
        "2026-12-03T18:13:18.261856+00:00"
    )


def test_a_single_object_answers_its_id(post_json, project):
    response = post_json(URL, {"traceId": TRACE_5X, "name": "helpful", "value": 1})

    assert response.status_code == 200
    score = Score.objects.get(project=project)
    assert response.json() == {"id": score.score_id}
    assert score.trace_id == TRACE_5X
    assert score.data_type == "NUMERIC"


def test_some_invalid_items_give_207_and_only_valid_ones_are_stored(post_json, project):
    items = [SCORES_5X[0], {"traceId": TRACE_5X, "value": 1}, {"name": "x", "value": 1}]

    response = post_json(URL, items)

    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert "[1].name" in body["errors"][0]["message"]
    assert "[2].traceId" in body["errors"][1]["message"]
    assert list(Score.objects.values_list("score_id", flat=True)) == [
        "22c5221b9d7aff54"
    ]


def test_all_invalid_items_are_a_400_and_nothing_is_stored(post_json, db):
    response = post_json(
        URL, [{"name": "x", "value": "a", "dataType": "NUMERIC", "traceId": "t"}]
    )

    assert response.status_code == 400
    assert "[0].value" in response.json()["message"]
    assert IngestionBatch.objects.count() == 0


def test_a_naive_timestamp_is_rejected_naming_it(post_json, db):
    item = {**SCORES_5X[0], "timestamp": "2026-12-03T18:13:18"}

    response = post_json(URL, item)

    assert response.status_code == 400
    assert "timestamp" in response.json()["message"]
    assert Score.objects.count() == 0


@pytest.mark.parametrize("body", ["text", 3, None])
def test_a_body_that_is_no_score_is_a_400(post_json, db, body):
    response = post_json(URL, body)

    assert response.status_code == 400


def test_no_key_is_a_401(db):
    response = Client().post(URL, data="[]", content_type="application/json")

    assert response.status_code == 401


def test_scores_land_in_the_key_s_project(post_json, other_api, project, other_project):
    post_json(URL, SCORES_5X, client=other_api)

    assert Score.objects.filter(project=project).count() == 0
    assert Score.objects.filter(project=other_project).count() == 3


def test_a_resent_score_updates_the_same_row(post_json, project):
    post_json(URL, [SCORES_5X[0]])
    post_json(URL, [{**SCORES_5X[0], "value": 0.4, "comment": None}])

    score = Score.objects.get(project=project)
    assert score.value == 0.4
    assert score.comment == "good"
