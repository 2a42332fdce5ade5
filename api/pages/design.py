"""One design for every page a person signs in, accepts, confirms or recovers on: the consent page, the
invitation, password-reset, e-mail-verification and second-factor pages. Plain HTML without JavaScript,
readable on a phone (nothing wider than the screen), every field labelled, errors announced, focus visible,
in the person's language (English, German, Danish, Polish), under the consent page's security headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from litestar import Response
from litestar.enums import MediaType

from domain.mail.templates import LANGUAGES, pick_language

STYLE = """
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
body { font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1b1b; background: #fff; margin: 0; }
main { max-width: 34rem; margin: 2rem auto; padding: 0 1rem; overflow-wrap: anywhere; }
code, pre { font-size: .9rem; overflow-wrap: anywhere; word-break: break-word; white-space: pre-wrap; }
h1 { font-size: 1.5rem; }
ul { padding-left: 1.25rem; }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
legend { font-weight: 600; font-size: 1.1rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
.hint { display: block; font-weight: 400; color: #444; font-size: .9rem; }
input { display: block; width: 100%; max-width: 100%; font: inherit; padding: .5rem; border: 1px solid #555; border-radius: 4px; }
input:focus, button:focus, a:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.actions { display: flex; flex-wrap: wrap; gap: 1rem; margin-top: 1.5rem; }
button { font: inherit; padding: .6rem 1.4rem; border-radius: 4px; border: 1px solid #1b1b1b; cursor: pointer; background: #fff; color: #1b1b1b; }
button.primary, button[value="allow"] { background: #1a5fb4; border-color: #1a5fb4; color: #fff; }
.error { border-left: 4px solid #b00020; background: #fdecee; padding: .5rem 1rem; }
.done { border-left: 4px solid #26a269; background: #edf8f1; padding: .5rem 1rem; }
.note { color: #444; font-size: .9rem; margin-top: 1.5rem; }
.codes { font-family: ui-monospace, monospace; columns: 2; padding-left: 1.25rem; }
"""

# The texts of the pages, by language; English is complete, the others fall back to it key by key.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "consent_title": "Allow {client} to act for you?",
        "consent_intro": "<strong>{client}</strong>, an application registered by <strong>{organisation}</strong>, asks for these permissions:",
        "consent_legend": "Sign in to Guildhall to decide",
        "allow": "Allow",
        "deny": "Deny",
        "consent_return": "Either way you return to {origin}.",
        "forgot": "Forgot your password?",
        "consent_code_hint": "From your authenticator app, or a recovery code; leave empty if you have none. Signing, revoking and key changes at a chamber need it.",
        "email": "E-mail address",
        "password": "Password",
        "new_password": "New password",
        "new_password_hint": "At least 12 characters.",
        "current_password": "Your current Guildhall password",
        "code": "One-time code",
        "code_hint": "From your authenticator app, or a recovery code. Leave empty if you have not set one up.",
        "code_required_hint": "The 6-digit code your authenticator app shows now.",
        "continue": "Continue",
        "invitation_title": "Join {organisation} on Guildhall",
        "invitation_intro": "{organisation} invites {email} as {roles}.",
        "invitation_new": "Choose a password to create your login.",
        "invitation_existing": "This address has a Guildhall login: sign in with its password to accept.",
        "accept": "Accept the invitation",
        "invitation_done": "You are now a member of {organisation}. Sign in through your organisation's app.",
        "second_factor_offer": "Set up a second factor (authenticator app)",
        "invalid_link": "This link is not valid",
        "invalid_link_text": "It may have been used, have expired or been replaced by a newer one. Ask for a new one.",
        "verify_title": "Confirm your e-mail address",
        "verify_intro": "Confirm that {email} is your address.",
        "verify_button": "Confirm my address",
        "verify_done": "Thank you: your address is confirmed.",
        "reset_title": "Reset your password",
        "reset_intro": "Give the address of your login; we mail you a link to choose a new password.",
        "reset_send": "Send the link",
        "reset_sent": "If that address has a Guildhall login, a message with a link is on its way.",
        "reset_choose": "Choose a new password for {email}.",
        "reset_button": "Set the new password",
        "reset_done": "Your password is changed, and apps signed in with the old one are signed out.",
        "totp_title": "Second factor",
        "totp_signin": "Sign in to set up an authenticator app as your second factor.",
        "totp_scan": "Add this key to your authenticator app (or open the link on your phone), then type the code it shows.",
        "totp_key": "Key",
        "totp_link": "Open in an authenticator app",
        "totp_confirm": "Turn on",
        "totp_done": "Your second factor is on. Keep these recovery codes somewhere safe: each works once, "
        "instead of a code, if you lose your phone. They are shown only now.",
        "totp_already": "A second factor is set up already for this login.",
        "wrong_login": "The e-mail address or password is wrong.",
        "wrong_code": "The code is wrong, or was used already.",
        "too_many": "Too many attempts: try again in a few minutes.",
    },
    "de": {
        "consent_title": "Darf {client} für Sie handeln?",
        "consent_intro": "<strong>{client}</strong>, eine von <strong>{organisation}</strong> registrierte Anwendung, bittet um diese Berechtigungen:",
        "consent_legend": "Melden Sie sich bei Guildhall an, um zu entscheiden",
        "allow": "Erlauben",
        "deny": "Ablehnen",
        "consent_return": "In beiden Fällen kehren Sie zu {origin} zurück.",
        "forgot": "Passwort vergessen?",
        "consent_code_hint": "Aus Ihrer Authenticator-App, oder ein Wiederherstellungscode; leer lassen, wenn Sie keinen haben. Signieren, Widerrufen und Schlüsselwechsel bei einer Kammer verlangen ihn.",
        "email": "E-Mail-Adresse",
        "password": "Passwort",
        "new_password": "Neues Passwort",
        "new_password_hint": "Mindestens 12 Zeichen.",
        "current_password": "Ihr bisheriges Guildhall-Passwort",
        "code": "Einmalcode",
        "code_hint": "Aus Ihrer Authenticator-App, oder ein Wiederherstellungscode. Leer lassen, wenn Sie keinen eingerichtet haben.",
        "code_required_hint": "Der 6-stellige Code, den Ihre Authenticator-App jetzt zeigt.",
        "continue": "Weiter",
        "invitation_title": "{organisation} auf Guildhall beitreten",
        "invitation_intro": "{organisation} lädt {email} ein als {roles}.",
        "invitation_new": "Wählen Sie ein Passwort für Ihr Konto.",
        "invitation_existing": "Diese Adresse hat ein Guildhall-Konto: melden Sie sich mit seinem Passwort an.",
        "accept": "Einladung annehmen",
        "invitation_done": "Sie sind jetzt Mitglied von {organisation}. Melden Sie sich über die Anwendung Ihrer Organisation an.",
        "second_factor_offer": "Zweiten Faktor einrichten (Authenticator-App)",
        "invalid_link": "Dieser Link ist nicht gültig",
        "invalid_link_text": "Er wurde vielleicht schon benutzt, ist abgelaufen oder wurde ersetzt. Fordern Sie einen neuen an.",
        "verify_title": "E-Mail-Adresse bestätigen",
        "verify_intro": "Bestätigen Sie, dass {email} Ihre Adresse ist.",
        "verify_button": "Adresse bestätigen",
        "verify_done": "Danke: Ihre Adresse ist bestätigt.",
        "reset_title": "Passwort zurücksetzen",
        "reset_intro": "Geben Sie die Adresse Ihres Kontos an; wir senden Ihnen einen Link für ein neues Passwort.",
        "reset_send": "Link senden",
        "reset_sent": "Hat diese Adresse ein Guildhall-Konto, ist eine Nachricht mit einem Link unterwegs.",
        "reset_choose": "Wählen Sie ein neues Passwort für {email}.",
        "reset_button": "Neues Passwort setzen",
        "reset_done": "Ihr Passwort ist geändert; mit dem alten angemeldete Anwendungen sind abgemeldet.",
        "totp_title": "Zweiter Faktor",
        "totp_signin": "Melden Sie sich an, um eine Authenticator-App als zweiten Faktor einzurichten.",
        "totp_scan": "Fügen Sie diesen Schlüssel Ihrer Authenticator-App hinzu (oder öffnen Sie den Link am Telefon) und geben Sie den angezeigten Code ein.",
        "totp_key": "Schlüssel",
        "totp_link": "In einer Authenticator-App öffnen",
        "totp_confirm": "Einschalten",
        "totp_done": "Ihr zweiter Faktor ist eingeschaltet. Bewahren Sie diese Wiederherstellungscodes sicher auf: "
        "jeder gilt einmal anstelle eines Codes, falls Sie Ihr Telefon verlieren. Sie werden nur jetzt gezeigt.",
        "totp_already": "Für dieses Konto ist bereits ein zweiter Faktor eingerichtet.",
        "wrong_login": "E-Mail-Adresse oder Passwort ist falsch.",
        "wrong_code": "Der Code ist falsch oder wurde schon benutzt.",
        "too_many": "Zu viele Versuche: versuchen Sie es in einigen Minuten wieder.",
    },
    "da": {
        "consent_title": "Må {client} handle for dig?",
        "consent_intro": "<strong>{client}</strong>, en app registreret af <strong>{organisation}</strong>, beder om disse tilladelser:",
        "consent_legend": "Log ind på Guildhall for at beslutte",
        "allow": "Tillad",
        "deny": "Afvis",
        "consent_return": "Uanset hvad vender du tilbage til {origin}.",
        "forgot": "Glemt adgangskoden?",
        "consent_code_hint": "Fra din godkendelsesapp, eller en gendannelseskode; lad feltet stå tomt, hvis du ikke har en. Underskrift, tilbagekaldelse og nøgleskift hos et kammer kræver den.",
        "email": "E-mailadresse",
        "password": "Adgangskode",
        "new_password": "Ny adgangskode",
        "new_password_hint": "Mindst 12 tegn.",
        "current_password": "Din nuværende Guildhall-adgangskode",
        "code": "Engangskode",
        "code_hint": "Fra din godkendelsesapp, eller en gendannelseskode. Lad feltet stå tomt, hvis du ikke har sat en op.",
        "code_required_hint": "Den 6-cifrede kode, din godkendelsesapp viser nu.",
        "continue": "Fortsæt",
        "invitation_title": "Bliv en del af {organisation} på Guildhall",
        "invitation_intro": "{organisation} inviterer {email} som {roles}.",
        "invitation_new": "Vælg en adgangskode til dit login.",
        "invitation_existing": "Denne adresse har et Guildhall-login: log ind med dets adgangskode for at tage imod.",
        "accept": "Tag imod invitationen",
        "invitation_done": "Du er nu medlem af {organisation}. Log ind via din organisations app.",
        "second_factor_offer": "Sæt en anden faktor op (godkendelsesapp)",
        "invalid_link": "Linket er ikke gyldigt",
        "invalid_link_text": "Det kan være brugt, udløbet eller erstattet af et nyere. Bed om et nyt.",
        "verify_title": "Bekræft din e-mailadresse",
        "verify_intro": "Bekræft, at {email} er din adresse.",
        "verify_button": "Bekræft min adresse",
        "verify_done": "Tak: din adresse er bekræftet.",
        "reset_title": "Nulstil din adgangskode",
        "reset_intro": "Angiv adressen på dit login; vi sender dig et link til at vælge en ny adgangskode.",
        "reset_send": "Send linket",
        "reset_sent": "Hvis adressen har et Guildhall-login, er en besked med et link på vej.",
        "reset_choose": "Vælg en ny adgangskode til {email}.",
        "reset_button": "Gem den nye adgangskode",
        "reset_done": "Din adgangskode er ændret, og apps logget ind med den gamle er logget ud.",
        "totp_title": "Anden faktor",
        "totp_signin": "Log ind for at sætte en godkendelsesapp op som anden faktor.",
        "totp_scan": "Tilføj nøglen til din godkendelsesapp (eller åbn linket på telefonen), og skriv koden, den viser.",
        "totp_key": "Nøgle",
        "totp_link": "Åbn i en godkendelsesapp",
        "totp_confirm": "Slå til",
        "totp_done": "Din anden faktor er slået til. Gem disse gendannelseskoder et sikkert sted: hver virker én gang "
        "i stedet for en kode, hvis du mister din telefon. De vises kun nu.",
        "totp_already": "Der er allerede sat en anden faktor op for dette login.",
        "wrong_login": "E-mailadressen eller adgangskoden er forkert.",
        "wrong_code": "Koden er forkert eller allerede brugt.",
        "too_many": "For mange forsøg: prøv igen om nogle minutter.",
    },
    "pl": {
        "consent_title": "Czy {client} może działać w Twoim imieniu?",
        "consent_intro": "<strong>{client}</strong>, aplikacja zarejestrowana przez <strong>{organisation}</strong>, prosi o te uprawnienia:",
        "consent_legend": "Zaloguj się do Guildhall, aby zdecydować",
        "allow": "Zezwól",
        "deny": "Odmów",
        "consent_return": "W obu przypadkach wrócisz do {origin}.",
        "forgot": "Nie pamiętasz hasła?",
        "consent_code_hint": "Z aplikacji uwierzytelniającej lub kod odzyskiwania; zostaw puste, jeśli go nie masz. Podpisywanie, unieważnianie i zmiana kluczy w izbie go wymagają.",
        "email": "Adres e-mail",
        "password": "Hasło",
        "new_password": "Nowe hasło",
        "new_password_hint": "Co najmniej 12 znaków.",
        "current_password": "Twoje obecne hasło do Guildhall",
        "code": "Kod jednorazowy",
        "code_hint": "Z aplikacji uwierzytelniającej lub kod odzyskiwania. Zostaw puste, jeśli go nie skonfigurowano.",
        "code_required_hint": "6-cyfrowy kod, który teraz pokazuje aplikacja uwierzytelniająca.",
        "continue": "Dalej",
        "invitation_title": "Dołącz do {organisation} w Guildhall",
        "invitation_intro": "{organisation} zaprasza {email} w roli: {roles}.",
        "invitation_new": "Ustaw hasło do swojego konta.",
        "invitation_existing": "Ten adres ma już konto Guildhall: zaloguj się jego hasłem, aby przyjąć zaproszenie.",
        "accept": "Przyjmij zaproszenie",
        "invitation_done": "Jesteś teraz członkiem {organisation}. Zaloguj się przez aplikację swojej organizacji.",
        "second_factor_offer": "Skonfiguruj drugi składnik (aplikacja uwierzytelniająca)",
        "invalid_link": "Ten link jest nieważny",
        "invalid_link_text": "Mógł zostać użyty, wygasnąć lub zostać zastąpiony nowszym. Poproś o nowy.",
        "verify_title": "Potwierdź adres e-mail",
        "verify_intro": "Potwierdź, że {email} to Twój adres.",
        "verify_button": "Potwierdź adres",
        "verify_done": "Dziękujemy: adres jest potwierdzony.",
        "reset_title": "Zresetuj hasło",
        "reset_intro": "Podaj adres swojego konta; wyślemy link do ustawienia nowego hasła.",
        "reset_send": "Wyślij link",
        "reset_sent": "Jeśli ten adres ma konto Guildhall, wiadomość z linkiem jest w drodze.",
        "reset_choose": "Ustaw nowe hasło dla {email}.",
        "reset_button": "Ustaw nowe hasło",
        "reset_done": "Hasło zostało zmienione, a aplikacje zalogowane starym hasłem zostały wylogowane.",
        "totp_title": "Drugi składnik",
        "totp_signin": "Zaloguj się, aby skonfigurować aplikację uwierzytelniającą jako drugi składnik.",
        "totp_scan": "Dodaj ten klucz do aplikacji uwierzytelniającej (lub otwórz link w telefonie) i wpisz pokazany kod.",
        "totp_key": "Klucz",
        "totp_link": "Otwórz w aplikacji uwierzytelniającej",
        "totp_confirm": "Włącz",
        "totp_done": "Drugi składnik jest włączony. Przechowuj te kody odzyskiwania w bezpiecznym miejscu: każdy działa "
        "raz zamiast kodu, jeśli zgubisz telefon. Są pokazywane tylko teraz.",
        "totp_already": "Dla tego konta drugi składnik jest już skonfigurowany.",
        "wrong_login": "Adres e-mail lub hasło jest nieprawidłowe.",
        "wrong_code": "Kod jest nieprawidłowy lub został już użyty.",
        "too_many": "Zbyt wiele prób: spróbuj ponownie za kilka minut.",
    },
}


def text(language: str, key: str, **values: str) -> str:
    """The page text ``key`` in ``language`` (English where it lacks one), values escaped."""
    template = TEXTS.get(language, {}).get(key) or TEXTS["en"][key]
    return template.format(**{name: escape(value) for name, value in values.items()})


def language_of(accept_language: str | None, *preferences: str | None) -> str:
    """The person's language when known, else the browser's first that we speak, else English."""
    wanted = [p for p in preferences if p]
    for item in (accept_language or "").split(","):
        tag = item.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            wanted.append(tag)
    return pick_language(*wanted)


def headers(redirect_origin: str | None = None) -> dict[str, str]:
    """The consent page's headers: nothing loads or frames; forms post to us (and to the client's redirect)."""
    form_action = " ".join(filter(None, ["'self'", redirect_origin]))
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def page(
    language: str,
    title: str,
    body: str,
    *,
    status_code: int = 200,
    extra_headers: Mapping[str, str] | None = None,
    redirect_origin: str | None = None,
) -> Response[str]:
    """A whole page: ``title`` (plain text) and ``body`` (HTML, already escaped) in the shared design."""
    html = (
        f'<!doctype html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} – Guildhall</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={**headers(redirect_origin), **(extra_headers or {})},
    )


def error_box(message: str | None) -> str:
    return f'<p id="form-error" class="error" role="alert">{escape(message)}</p>' if message else ""


def field(
    name: str,
    label: str,
    *,
    kind: str = "text",
    autocomplete: str | None = None,
    hint: str | None = None,
    required: bool = True,
    value: str = "",
    error: bool = False,
    extra: str = "",
) -> str:
    described = " ".join(filter(None, [f"{name}-hint" if hint else None, "form-error" if error else None]))
    return (
        f'<label for="{name}">{escape(label)}'
        + (f'<span class="hint" id="{name}-hint">{escape(hint)}</span>' if hint else "")
        + f'</label>\n<input id="{name}" name="{name}" type="{kind}"'
        + (f' autocomplete="{autocomplete}"' if autocomplete else "")
        + (f' value="{escape(value)}"' if value else "")
        + (f' aria-describedby="{described}"' if described else "")
        + (" required" if required else "")
        + extra
        + ">"
    )


def form(action: str, fields: str, button: str, hidden: Mapping[str, str] | None = None) -> str:
    hidden_inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in (hidden or {}).items()
    )
    return (
        f'<form method="post" action="{escape(action)}">\n{hidden_inputs}<fieldset>\n{fields}\n</fieldset>\n'
        f'<div class="actions"><button class="primary" type="submit">{escape(button)}</button></div>\n</form>'
    )
