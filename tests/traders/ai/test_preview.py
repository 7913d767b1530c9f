"""The prompt preview (page and API) shows exactly what the trader would send now: the system and
user parts, the answer's schema and the token estimate; never a key or any other secret, and no
model is asked."""

from __future__ import annotations

import re

import pytest

from apps.ai.decide import Prompt
from apps.traders.models import PromptTemplate
from apps.traders.services.prompts import prompt_template_create, prompt_template_update
from tests.exchanges.paper.helpers import release
from tests.traders.ai.conftest import EXCHANGE_KEY, EXCHANGE_SECRET, MODEL_KEY, SYMBOL, ai_trader
from tests.traders.conftest import client_for

pytestmark = pytest.mark.django_db
SECRETS = (MODEL_KEY, EXCHANGE_KEY, EXCHANGE_SECRET)


def test_the_api_preview_is_the_prompt_the_cycle_would_send_without_a_secret(
    operator, viewer, account, model_config, scripted
) -> None:
    trader, feed = ai_trader(operator, account, model_config)
    release(feed, 3)

    response = client_for(viewer).get(f"/api/v1/traders/{trader.pk}/prompt-preview")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["symbol"] == SYMBOL and body["would_ask"] is True and body["template"] == "Default trade plan"
    assert f"Market: {SYMBOL} on binanceusdm, 1h candles." in body["user"]
    # The candles up to the released one (bars 0 to 3), one line each.
    assert len(re.findall(r"^\d\d-\d\d \d\d:\d\d 20000 20010 19990 20000 1$", body["user"], re.M)) == 4
    assert body["prompt_hash"] == Prompt(system=body["system"], user=body["user"]).hash()
    assert body["response_schema"]["properties"]["symbol"]["enum"] == [SYMBOL]
    assert 0 < body["tokens_estimate"] <= body["token_budget"]
    assert all(secret not in response.content.decode() for secret in SECRETS)
    assert scripted.requests == []


def test_the_preview_page_shows_system_user_schema_and_tokens_without_a_secret(
    operator, viewer, account, model_config
) -> None:
    trader, feed = ai_trader(operator, account, model_config)
    release(feed, 2)

    page = client_for(viewer).get(f"/traders/{trader.pk}/prompt/")

    assert page.status_code == 200
    html = page.content.decode()
    for part in ('id="prompt-system"', 'id="prompt-user"', 'id="prompt-schema"', 'id="prompt-tokens"'):
        assert part in html
    assert "You are the decision step of an automated crypto trader" in html
    assert all(secret not in html for secret in SECRETS)


def test_a_missing_default_template_is_named_on_the_page_and_in_the_api(
    operator, viewer, account, model_config
) -> None:
    trader, feed = ai_trader(operator, account, model_config)
    release(feed, 2)
    PromptTemplate.objects.filter(name="Default trade plan").delete()

    page = client_for(viewer).get(f"/traders/{trader.pk}/prompt/")
    api = client_for(viewer).get(f"/api/v1/traders/{trader.pk}/prompt-preview")

    assert page.status_code == 422 and "the default &#x27;Default trade plan&#x27; is missing" in page.content.decode()
    assert api.status_code == 422 and "'Default trade plan' is missing" in api.content.decode()


def test_a_trader_template_is_used_and_its_version_shown(operator, viewer, account, model_config) -> None:
    template = prompt_template_create(name="terse", system="Trade $symbol.", user="Price $price, equity $equity.")
    trader, feed = ai_trader(operator, account, model_config, prompt_template=template)
    release(feed, 1)

    body = client_for(viewer).get(f"/api/v1/traders/{trader.pk}/prompt-preview").json()

    assert (body["system"], body["user"]) == (f"Trade {SYMBOL}.", "Price 20000, equity 10000 USDT.")
    assert (body["template"], body["template_version"]) == ("terse", 1)


def test_a_preview_without_a_released_candle_says_what_is_missing(operator, viewer, account, model_config) -> None:
    trader, feed = ai_trader(operator, account, model_config)
    feed.horizon = None
    feed.save(update_fields=["horizon"])

    response = client_for(viewer).get(f"/api/v1/traders/{trader.pk}/prompt-preview")
    page = client_for(viewer).get(f"/traders/{trader.pk}/prompt/")

    assert response.status_code == 422 and "no 1h candle of" in response.content.decode()
    assert page.status_code == 422 and "No prompt can be built" in page.content.decode()


def test_editing_a_template_text_is_a_new_version_with_history() -> None:
    template = prompt_template_create(name="t", system="s $symbol", user="u $price")
    template = prompt_template_update(template=template, changes={"description": "same text"})
    assert template.version == 1
    template = prompt_template_update(template=template, changes={"user": "u $price $equity"})
    assert template.version == 2
    assert [h.version for h in PromptTemplate.history.filter(id=template.pk).order_by("history_date")] == [1, 1, 2]


def test_the_admin_edits_a_template_through_the_service_refusing_unknown_placeholders(admin_user) -> None:
    client = client_for(admin_user)
    template = PromptTemplate.objects.get(name="Default trade plan")
    url = f"/admin/traders/prompttemplate/{template.pk}/change/"
    form = {
        "name": template.name,
        "description": template.description,
        "system": template.system,
        "user": template.user + " $password",
        "max_prompt_tokens": 1500,
    }

    refused = client.post(url, form)
    form["user"] = template.user + " Be brief."
    saved = client.post(url, form)

    assert refused.status_code == 200 and "unknown placeholder $password" in refused.content.decode()
    assert saved.status_code == 302
    template.refresh_from_db()
    assert template.version == 2 and template.user.endswith("Be brief.")
    assert client.get("/admin/traders/prompttemplate/").status_code == 200
    assert client.get(f"/admin/traders/prompttemplate/{template.pk}/history/").status_code == 200


def test_starting_an_ai_trader_names_its_model_and_when_it_is_asked(operator, account, model_config) -> None:
    trader, _feed = ai_trader(operator, account, model_config, start=False)

    page = client_for(operator).get(f"/traders/{trader.pk}/start/").content.decode()

    assert "The model scripted is asked on every cycle" in page
    assert "its plans pass the same risk gate" in page
