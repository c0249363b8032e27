"""WhatsApp's formatting markers in chat bubbles: as the phone shows them, never as a way in
for markup."""

from __future__ import annotations

import pytest

from zapcrm.web.whatsapp_text import whatsapp


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Encaminhada para *Vendas*.", "Encaminhada para <strong>Vendas</strong>."),
        (
            "*1* - Vendas\n*2* - Suporte",
            "<strong>1</strong> - Vendas\n<strong>2</strong> - Suporte",
        ),
        ("_obrigado_ e ~R$ 20~ R$ 15", "<em>obrigado</em> e <s>R$ 20</s> R$ 15"),
        ("código ```ABC-123```", "código <code>ABC-123</code>"),
        ("*negrito com _itálico_ dentro*", "<strong>negrito com <em>itálico</em> dentro</strong>"),
        # Not formatting: inside words, around spaces, unclosed, across lines.
        ("2*3*4 e nome_do_arquivo.pdf", "2*3*4 e nome_do_arquivo.pdf"),
        ("* não * e *aberto", "* não * e *aberto"),
        ("*uma\nlinha*", "*uma\nlinha*"),
        ("", ""),
    ],
)
def test_markers_become_the_phones_styles(text: str, html: str) -> None:
    assert str(whatsapp(text)) == html


def test_customer_text_is_escaped_before_any_marker_is_read() -> None:
    hostile = '*<script>alert("x")</script>* _<img src=x onerror=alert(1)>_'
    assert str(whatsapp(hostile)) == (
        "<strong>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</strong>"
        " <em>&lt;img src=x onerror=alert(1)&gt;</em>"
    )
    assert str(whatsapp(None)) == ""
