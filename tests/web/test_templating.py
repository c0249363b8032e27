"""The panel's template filters that are not about dates or numbers."""

from __future__ import annotations

from markupsafe import Markup

from zapcrm.web.templating import ENVIRONMENT, sentence


def test_a_message_alone_starts_with_a_capital_and_keeps_the_rest_as_written() -> None:
    assert sentence("dê um título à tarefa") == "Dê um título à tarefa"
    assert sentence("é preciso um WhatsApp conectado") == "É preciso um WhatsApp conectado"
    assert sentence("Confira os campos destacados.") == "Confira os campos destacados."
    assert sentence("") == ""
    assert sentence(None) == ""


def test_page_alerts_and_toasts_say_their_message_as_a_sentence_still_escaped() -> None:
    alert = ENVIRONMENT.from_string('<p class="alert">{{ error | sentence }}</p>')
    assert alert.render(error="o atalho <b> já existe") == (
        '<p class="alert">O atalho &lt;b&gt; já existe</p>'
    )
    assert alert.render(error=Markup("<em>x</em>")) == '<p class="alert"><em>x</em></p>'
    toast = ENVIRONMENT.get_template("_toast.html")
    assert ">Tarefa criada</p>" in toast.render(message="tarefa criada", kind="ok")
