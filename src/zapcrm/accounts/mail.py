"""Outgoing e-mail through the configured SMTP server (aiosmtplib): today, invitations.

Sending happens after the invitation is committed, from the request that made it: the link's
token is never stored in clear, so it cannot wait in the outbox or a queue for a worker.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import aiosmtplib

from zapcrm.config import Settings
from zapcrm.logging import get_logger

log = get_logger(__name__)


def smtp_configured(settings: Settings) -> bool:
    """Whether invitations can be sent by e-mail (otherwise the admin shares the link)."""
    return bool(settings.smtp_host)


def invite_message(
    settings: Settings,
    *,
    to: str,
    name: str,
    company: str,
    link: str,
    expires_at: datetime,
    timezone: str,
) -> EmailMessage:
    """The invitation e-mail (plain text, pt-BR)."""
    until = expires_at.astimezone(ZoneInfo(timezone)).strftime("%d/%m/%Y às %H:%M")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = f"Convite para o atendimento de {company}"
    greeting = f"Olá, {name}!" if name else "Olá!"
    message.set_content(
        f"{greeting}\n\n"
        f"Você foi convidado(a) para atender os clientes de {company} pelo zapcrm.\n"
        f"Para criar sua senha e entrar, abra o link abaixo:\n\n{link}\n\n"
        f"O link vale até {until} e pode ser usado uma vez só.\n"
        "Se você não esperava este convite, ignore este e-mail.\n"
    )
    return message


async def send(settings: Settings, message: EmailMessage) -> bool:
    """Send one message; False (logged) when SMTP is not configured or the server failed."""
    if not settings.smtp_host:
        return False
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        # The admin still gets the link on screen; the reason goes to the log only.
        log.warning("mail.send_failed", error_type=type(error).__name__, error=str(error)[:200])
        return False
    return True
