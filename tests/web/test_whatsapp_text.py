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


LINK = '<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{text}</a>'
LINK_TEXT = "https://x.com/meu_arquivo_novo"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "Seu pedido: https://loja.com.br/pedido?id=7&via=zap.",
            "Seu pedido: "
            + LINK.format(
                href="https://loja.com.br/pedido?id=7&amp;via=zap",
                text="https://loja.com.br/pedido?id=7&amp;via=zap",
            )
            + ".",
        ),
        (
            "Veja www.loja.com.br, é *rápido*",
            "Veja "
            + LINK.format(href="https://www.loja.com.br", text="www.loja.com.br")
            + ", é <strong>rápido</strong>",
        ),
        # An address keeps its underscores: no italic inside it.
        (
            "(https://x.com/meu_arquivo_novo)",
            "(" + LINK.format(href="https://x.com/meu_arquivo_novo", text=LINK_TEXT) + ")",
        ),
        # Not addresses: no dot, another scheme, an e-mail's domain.
        ("http:// e https://intranet", "http:// e https://intranet"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("maria@www.loja.com", "maria@www.loja.com"),
    ],
)
def test_web_addresses_become_links_as_on_the_phone(text: str, html: str) -> None:
    assert str(whatsapp(text)) == html


def test_an_address_cannot_break_out_of_its_link() -> None:
    hostile = 'https://x.com/"onmouseover="alert(1)"<b>'
    assert str(whatsapp(hostile)) == (
        '<a href="https://x.com/" target="_blank" rel="noopener noreferrer nofollow">'
        "https://x.com/</a>&#34;onmouseover=&#34;alert(1)&#34;&lt;b&gt;"
    )
