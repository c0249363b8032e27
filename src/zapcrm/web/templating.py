"""The panel's Jinja2 environment: autoescaping, pt-BR formatting filters and gettext hooks.

Every template is rendered with autoescape on, so any text that came from a customer, a
contact field or a file name is shown as text; `Markup` is only ever built here from our own
strings. Template text is written in Portuguese and passed through `_()` so a Babel catalog
can translate it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from zapcrm.evolution.jids import parse_jid
from zapcrm.kit.phones import display_phone
from zapcrm.kit.zones import DEFAULT_TIMEZONE, zone_name
from zapcrm.messaging.schemas import ConversationOut, MessageOut, NoteOut
from zapcrm.messaging.service import notes
from zapcrm.web.i18n import (
    HTML_LANG,
    LANGUAGES,
    N_,
    current_locale,
    translate,
    translate_plural,
)
from zapcrm.web.snooze import snooze_choices
from zapcrm.web.whatsapp_text import whatsapp

TEMPLATES_DIR = Path(__file__).parent / "templates"

# What each delivery status looks like next to an outgoing message: a symbol and its label.
TICKS: dict[str, tuple[str, str]] = {
    "queued": ("🕓", N_("na fila")),
    "sending": ("🕓", N_("enviando")),
    "PENDING": ("🕓", N_("pendente")),
    "SERVER_ACK": ("✓", N_("enviada")),
    "DELIVERY_ACK": ("✓✓", N_("entregue")),
    "READ": ("✓✓", N_("lida")),
    "PLAYED": ("✓✓", N_("reproduzida")),
    "ERROR": ("⚠", N_("erro no envio")),
    "error": ("⚠", N_("erro no envio")),
}


_company_zone: contextvars.ContextVar[str] = contextvars.ContextVar(
    "company_zone", default=DEFAULT_TIMEZONE
)


def company_zone() -> str:
    """The time zone of the company whose user is being served (set per request)."""
    return _company_zone.get()


def use_company_zone(name: str) -> None:
    """Show this request's dates in the company's time zone (companies.timezone)."""
    _company_zone.set(name or DEFAULT_TIMEZONE)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or company_zone())
    except (ValueError, KeyError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local(value: datetime | None, timezone: str | None = None) -> datetime | None:
    """The moment in the company's time zone."""
    if value is None:
        return None
    return value.astimezone(_zone(timezone))


def short_time(value: datetime | None, timezone: str | None = None) -> str:
    """Inbox-style time: hour today, "ontem", weekday this week, else the date."""
    moment = local(value, timezone)
    if moment is None:
        return ""
    today = datetime.now(moment.tzinfo).date()
    if moment.date() == today:
        return moment.strftime("%H:%M")
    if moment.date() == today - timedelta(days=1):
        return translate(N_("ontem"))
    if today - moment.date() < timedelta(days=7):
        return format_date(moment, "EEEE", locale=current_locale())  # a weekday's name
    return moment.strftime("%d/%m/%Y")


def clock(value: datetime | None, timezone: str | None = None) -> str:
    """Hour and minute in the company's time zone."""
    moment = local(value, timezone)
    # Numeric hours read the same in every locale we serve; strftime costs ~1/50 of Babel's
    # pattern formatter, which showed up in the conversation page's render time.
    return "" if moment is None else moment.strftime("%H:%M")


def moment(value: datetime | None, timezone: str | None = None) -> str:
    """Date and time in the company's time zone (timelines, lists of events)."""
    at = local(value, timezone)
    return "" if at is None else at.strftime("%d/%m/%Y %H:%M")


def days_since(value: datetime | None, timezone: str | None = None) -> int:
    """Whole calendar days from `value` to today on the company's clock (0: today)."""
    at = local(value, timezone)
    if at is None:
        return 0
    return max(0, (datetime.now(at.tzinfo).date() - at.date()).days)


def day_label(day: date) -> str:
    """Chat day separators: "Hoje", "Ontem" or the date in full."""
    today = datetime.now(_zone(None)).date()
    if day == today:
        return translate(N_("Hoje"))
    if day == today - timedelta(days=1):
        return translate(N_("Ontem"))
    return format_date(day, format="long", locale=current_locale())


def snooze_presets() -> list[tuple[str, str]]:
    """The chat header's quick snooze moments from now on the company's clock."""
    return snooze_choices(datetime.now(_zone(None)))


def timezone_name(name: str | None) -> str:
    """A time zone as the reader calls it ("Horário de Brasília"), never its IANA id."""
    return zone_name(name or company_zone(), current_locale())


def phone(value: str | None) -> str:
    """A stored E.164 number the way people write it (+55 11 98765-4321)."""
    return display_phone(value)


def jid_phone(jid: str | None) -> str:
    """A phone JID (device suffix and all: 5511987654321:12@s.whatsapp.net) as people write
    the number; any other JID as it is."""
    parsed = parse_jid(jid)
    if parsed is None or not parsed.is_phone:
        return jid or ""
    return phone(f"+{parsed.user}")


def number(value: float | Decimal | None) -> str:
    """A count or an amount the reader's way: 1.234 or 1.234,50 in Portuguese, 1,234 or
    1,234.50 in English (a fraction always shows its cents); "" for none."""
    if value is None:
        return ""
    pattern = "#,##0" if value == int(value) else "#,##0.00"
    return format_decimal(value, format=pattern, locale=current_locale())


def amount(value: float | Decimal | None, label: str | None) -> str:
    """A number attribute's value; as money when its name says it is in reais ("Valor do
    pedido (R$)"): R$ 1.234,50 in Portuguese, R$1,234.50 in English."""
    if value is None:
        return ""
    if label and "R$" in label:
        return format_currency(value, "BRL", locale=current_locale())
    return number(value)


def duration(seconds: float | None) -> str:
    """A duration as people read it: "45 s", "2 min 30 s", "1 h 05 min", "3 d 04 h"."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, rest = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def sentence(text: str | None) -> str:
    """A message standing alone (a page alert, a toast) starting with a capital letter.

    Services word their errors as clauses ("dê um título à tarefa") so they also read inside
    a sentence and under a field; only the first letter changes, the rest stays as written
    (names, "WhatsApp", "CSV"). Escaping is the template's: Markup stays Markup.
    """
    if not text:
        return ""
    return text[:1].upper() + text[1:]


def tick(status: str | None) -> dict[str, str]:
    """The delivery tick of a status: symbol, label and a CSS class."""
    symbol, label = TICKS.get(status or "", ("", ""))
    return {
        "symbol": symbol,
        "label": translate(label) if label else "",
        "css": (status or "none").lower(),
    }


def conversation_title(conversation: ConversationOut) -> str:
    """The name a conversation is shown under."""
    if conversation.is_group:
        return conversation.subject or translate(N_("Grupo"))
    if conversation.contact and conversation.contact.name:
        return conversation.contact.name
    if conversation.contact and conversation.contact.phone_e164:
        return phone(conversation.contact.phone_e164)
    return conversation.remote_jid.split("@", 1)[0]


def quoted_from_details(message: MessageOut) -> str | None:
    """The quoted text a reply carries in its own payload (WhatsApp sends a copy)."""
    if not message.quoted_key_id:
        return None
    quoted = message.details.get("quoted")
    if isinstance(quoted, Mapping) and quoted.get("text"):
        return str(quoted["text"])
    return translate(N_("mensagem"))


def quoted_for(message: MessageOut, by_key: Mapping[str, MessageOut]) -> str | None:
    """The quoted text, preferring the original message when it is loaded (edits included)."""
    if not message.quoted_key_id:
        return None
    original = by_key.get(message.quoted_key_id)
    if original is not None and original.body:
        return original.body
    return quoted_from_details(message)


def messages_by_key(days: Iterable[Any]) -> dict[str, MessageOut]:
    """The loaded messages by WhatsApp key id, to show what replies quote."""
    return {
        m.key_id: m
        for group in days
        for m in group.messages
        if isinstance(m, MessageOut) and m.key_id
    }


def is_note(item: object) -> bool:
    """Whether a chat item is a private note (drawn apart, never sent)."""
    return isinstance(item, NoteOut)


def build_environment() -> Environment:
    """The one Environment of the process (templates are compiled once and cached)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # Source strings are pt-BR; `_()` looks the request's language up at render time.
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=True
    )
    environment.filters.update(
        short_time=short_time,
        clock=clock,
        moment=moment,
        days_since=days_since,
        phone=phone,
        jid_phone=jid_phone,
        number=number,
        amount=amount,
        day_label=day_label,
        local=local,
        duration=duration,
        whatsapp=whatsapp,
        zone_name=timezone_name,
        sentence=sentence,
    )
    environment.globals.update(
        # A message stored in Portuguese (a reason, a status line) in the reader's language.
        translated=translate,
        html_lang=lambda: HTML_LANG[current_locale()],
        current_locale=current_locale,
        languages=LANGUAGES,
        tick=tick,
        snooze_presets=snooze_presets,
        conversation_title=conversation_title,
        quoted_for=quoted_for,
        quoted_from_details=quoted_from_details,
        messages_by_key=messages_by_key,
        is_note=is_note,
        may_change_note=notes.may_change,
        company_zone=company_zone,
    )
    return environment


ENVIRONMENT = build_environment()


def render(name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render a template into an HTML response."""
    html = ENVIRONMENT.get_template(name).render(context)
    return HTMLResponse(html, status_code=status_code)


def error_toast(message: str, status_code: int) -> HTMLResponse:
    """A refusal said in the page's toast area, whatever element made the htmx request."""
    response = render("_toast.html", {"message": message, "kind": "error"}, status_code=status_code)
    response.headers["HX-Retarget"] = "#toast"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def render_macro(template: str, macro: str, *args: Any, **kwargs: Any) -> str:
    """Render one macro of a template (fragments for htmx swaps and live events)."""
    module = ENVIRONMENT.get_template(template).module
    return str(getattr(module, macro)(*args, **kwargs))
