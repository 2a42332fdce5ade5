"""The texts of every e-mail, in English, German, Danish and Polish; plain text and HTML from one source.

A template is a subject, paragraphs and an optional action (a link with its label). Values are filled in
with ``str.format``; in the HTML part every value is escaped. A language without a translation falls back
to English, so that no person is ever sent nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Literal

Language = Literal["en", "de", "da", "pl"]
LANGUAGES: tuple[Language, ...] = ("en", "de", "da", "pl")
TemplateName = Literal["invitation", "verify_email", "password_reset", "password_changed", "email_changed"]


@dataclass(frozen=True)
class Template:
    subject: str
    paragraphs: tuple[str, ...]
    action: str | None = None  # the label of the link ``{link}``


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


_T = Template
TEMPLATES: dict[str, dict[str, Template]] = {
    "invitation": {
        "en": _T(
            "{organisation} invites you to Guildhall",
            (
                "Hello {name},",
                "{organisation} invites you to join it on Guildhall as {roles}.",
                "Follow the link to accept. If you are new to Guildhall you choose a password there; if you "
                "already have a login, you sign in with it. The link works once and until {expires}.",
                "If you did not expect this invitation, ignore this message.",
            ),
            "Accept the invitation",
        ),
        "de": _T(
            "{organisation} lädt Sie zu Guildhall ein",
            (
                "Guten Tag {name},",
                "{organisation} lädt Sie ein, bei Guildhall mitzuwirken als {roles}.",
                "Folgen Sie dem Link, um die Einladung anzunehmen. Sind Sie neu bei Guildhall, wählen Sie dort ein "
                "Passwort; haben Sie schon ein Konto, melden Sie sich damit an. Der Link gilt einmal und bis {expires}.",
                "Wenn Sie diese Einladung nicht erwartet haben, ignorieren Sie diese Nachricht.",
            ),
            "Einladung annehmen",
        ),
        "da": _T(
            "{organisation} inviterer dig til Guildhall",
            (
                "Hej {name},",
                "{organisation} inviterer dig til at være med på Guildhall som {roles}.",
                "Følg linket for at tage imod. Er du ny på Guildhall, vælger du en adgangskode dér; har du allerede "
                "et login, logger du ind med det. Linket virker én gang og indtil {expires}.",
                "Hvis du ikke ventede denne invitation, kan du se bort fra beskeden.",
            ),
            "Tag imod invitationen",
        ),
        "pl": _T(
            "{organisation} zaprasza Cię do Guildhall",
            (
                "Dzień dobry {name},",
                "{organisation} zaprasza Cię do współpracy w Guildhall w roli: {roles}.",
                "Kliknij link, aby przyjąć zaproszenie. Jeśli jesteś nowym użytkownikiem, ustawisz tam hasło; jeśli "
                "masz już konto, zaloguj się nim. Link działa jednokrotnie i do {expires}.",
                "Jeśli nie spodziewałeś się tego zaproszenia, zignoruj tę wiadomość.",
            ),
            "Przyjmij zaproszenie",
        ),
    },
    "verify_email": {
        "en": _T(
            "Confirm your e-mail address for Guildhall",
            (
                "Hello {name},",
                "Please confirm that {email} is your address. Until you do, your login cannot act for an "
                "organisation and your wallet stays closed. The link works once and until {expires}.",
            ),
            "Confirm my address",
        ),
        "de": _T(
            "Bestätigen Sie Ihre E-Mail-Adresse für Guildhall",
            (
                "Guten Tag {name},",
                "Bitte bestätigen Sie, dass {email} Ihre Adresse ist. Bis dahin kann Ihr Konto nicht für eine "
                "Organisation handeln und Ihre Wallet bleibt geschlossen. Der Link gilt einmal und bis {expires}.",
            ),
            "Adresse bestätigen",
        ),
        "da": _T(
            "Bekræft din e-mailadresse til Guildhall",
            (
                "Hej {name},",
                "Bekræft venligst, at {email} er din adresse. Indtil da kan dit login ikke handle for en "
                "organisation, og din wallet forbliver lukket. Linket virker én gang og indtil {expires}.",
            ),
            "Bekræft min adresse",
        ),
        "pl": _T(
            "Potwierdź swój adres e-mail w Guildhall",
            (
                "Dzień dobry {name},",
                "Potwierdź, że {email} to Twój adres. Do tego czasu Twoje konto nie może działać w imieniu "
                "organizacji, a portfel pozostaje zamknięty. Link działa jednokrotnie i do {expires}.",
            ),
            "Potwierdź adres",
        ),
    },
    "password_reset": {
        "en": _T(
            "Reset your Guildhall password",
            (
                "Hello {name},",
                "Someone asked to reset the password of the Guildhall login {email}. If it was you, follow the "
                "link and choose a new password; it works once and until {expires}.",
                "If it was not you, ignore this message: your password stays as it is.",
            ),
            "Choose a new password",
        ),
        "de": _T(
            "Guildhall-Passwort zurücksetzen",
            (
                "Guten Tag {name},",
                "Jemand hat verlangt, das Passwort des Guildhall-Kontos {email} zurückzusetzen. Waren Sie es, folgen "
                "Sie dem Link und wählen ein neues Passwort; er gilt einmal und bis {expires}.",
                "Waren Sie es nicht, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.",
            ),
            "Neues Passwort wählen",
        ),
        "da": _T(
            "Nulstil din Guildhall-adgangskode",
            (
                "Hej {name},",
                "Nogen har bedt om at nulstille adgangskoden til Guildhall-login {email}. Var det dig, så følg "
                "linket og vælg en ny adgangskode; det virker én gang og indtil {expires}.",
                "Var det ikke dig, kan du se bort fra beskeden: din adgangskode er uændret.",
            ),
            "Vælg en ny adgangskode",
        ),
        "pl": _T(
            "Zresetuj hasło do Guildhall",
            (
                "Dzień dobry {name},",
                "Ktoś poprosił o zresetowanie hasła do konta Guildhall {email}. Jeśli to Ty, kliknij link i "
                "ustaw nowe hasło; działa jednokrotnie i do {expires}.",
                "Jeśli to nie Ty, zignoruj tę wiadomość: Twoje hasło pozostaje bez zmian.",
            ),
            "Ustaw nowe hasło",
        ),
    },
    "password_changed": {
        "en": _T(
            "Your Guildhall password was changed",
            (
                "Hello {name},",
                "The password of your Guildhall login {email} was changed on {when}, and every app signed in "
                "with it was signed out.",
                "If you did not do this, reset your password at once and tell your organisation's admin.",
            ),
        ),
        "de": _T(
            "Ihr Guildhall-Passwort wurde geändert",
            (
                "Guten Tag {name},",
                "Das Passwort Ihres Guildhall-Kontos {email} wurde am {when} geändert, und jede damit angemeldete "
                "Anwendung wurde abgemeldet.",
                "Waren Sie das nicht, setzen Sie Ihr Passwort sofort zurück und informieren Sie Ihre Administration.",
            ),
        ),
        "da": _T(
            "Din Guildhall-adgangskode er ændret",
            (
                "Hej {name},",
                "Adgangskoden til dit Guildhall-login {email} blev ændret {when}, og alle apps, der var logget ind "
                "med den, er logget ud.",
                "Hvis det ikke var dig, så nulstil straks din adgangskode og giv din administrator besked.",
            ),
        ),
        "pl": _T(
            "Hasło do Guildhall zostało zmienione",
            (
                "Dzień dobry {name},",
                "Hasło do Twojego konta Guildhall {email} zostało zmienione {when}, a wszystkie aplikacje "
                "zalogowane nim zostały wylogowane.",
                "Jeśli to nie Ty, natychmiast zresetuj hasło i powiadom administratora organizacji.",
            ),
        ),
    },
    "email_changed": {
        "en": _T(
            "Your Guildhall login moved to another address",
            (
                "Hello {name},",
                "The e-mail address of your Guildhall login was changed from {email} to {new_email} on {when}, and "
                "every app signed in with it was signed out.",
                "If you did not do this, tell your organisation's admin at once.",
            ),
        ),
        "de": _T(
            "Ihr Guildhall-Konto hat eine neue Adresse",
            (
                "Guten Tag {name},",
                "Die E-Mail-Adresse Ihres Guildhall-Kontos wurde am {when} von {email} zu {new_email} geändert, und "
                "jede damit angemeldete Anwendung wurde abgemeldet.",
                "Waren Sie das nicht, informieren Sie sofort Ihre Administration.",
            ),
        ),
        "da": _T(
            "Dit Guildhall-login har fået en ny adresse",
            (
                "Hej {name},",
                "E-mailadressen på dit Guildhall-login blev ændret fra {email} til {new_email} {when}, og alle "
                "apps, der var logget ind med det, er logget ud.",
                "Hvis det ikke var dig, så giv straks din administrator besked.",
            ),
        ),
        "pl": _T(
            "Twoje konto Guildhall ma nowy adres",
            (
                "Dzień dobry {name},",
                "Adres e-mail Twojego konta Guildhall został zmieniony z {email} na {new_email} {when}, a wszystkie "
                "zalogowane aplikacje zostały wylogowane.",
                "Jeśli to nie Ty, natychmiast powiadom administratora organizacji.",
            ),
        ),
    },
}


def pick_language(*preferences: str | None) -> Language:
    """The first of the preferences that has translations (e.g. the person's, then the organisation's)."""
    for preference in preferences:
        if preference and preference.lower()[:2] in LANGUAGES:
            return preference.lower()[:2]  # type: ignore[return-value]
    return "en"


def render(name: str, language: str, values: dict[str, str]) -> Rendered:
    """The subject, the plain text and the HTML of template ``name`` in ``language``, with ``values``."""
    language = pick_language(language)
    template = TEMPLATES[name].get(language) or TEMPLATES[name]["en"]
    escaped = {key: escape(value) for key, value in values.items()}
    subject = template.subject.format(**values)
    text_parts = [paragraph.format(**values) for paragraph in template.paragraphs]
    html_parts = [f"<p>{paragraph.format(**escaped)}</p>" for paragraph in template.paragraphs]
    if template.action:
        link = values["link"]
        text_parts.insert(2 if len(text_parts) > 2 else len(text_parts), f"{template.action}: {link}")
        html_parts.insert(
            2 if len(html_parts) > 2 else len(html_parts),
            f'<p><a href="{escape(link)}" style="display:inline-block;padding:.6em 1.2em;background:#1a5fb4;'
            f'color:#fff;text-decoration:none;border-radius:4px">{escape(template.action)}</a></p>'
            f'<p style="font-size:.9em;color:#444;overflow-wrap:anywhere">{escape(link)}</p>',
        )
    text = "\n\n".join(text_parts) + "\n\n-- \nGuildhall\n"
    html = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;max-width:36rem">'
        + "".join(html_parts)
        + '<p style="color:#555">Guildhall</p></body></html>'
    )
    return Rendered(subject=subject, text=text, html=html, language=language)
