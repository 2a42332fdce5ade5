"""The pages behind the mailed links, and the second-factor set-up a person reaches by signing in: plain HTML
forms in the shared design (``api.pages.design``), in the person's language. The forms need no session: the
link's token, or the password, is the proof on every POST; the second-factor page carries a short-lived
ticket signed under a key derived from the master key between its two steps."""

from __future__ import annotations

import hashlib
import hmac
import time
from html import escape
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.params import FromPath, URLEncodedBody

from api.controllers.account import limit_reset_requests
from api.observability import request_id_var
from api.pages import design
from api.pages.design import error_box, field, form, page, text
from api.ratelimit import enforce
from api.routing import get, post
from domain.accounts import links, service, totp
from domain.errors import DomainError, InvalidInput, NotFound, RateLimited, Unauthenticated
from domain.organisations import invitations
from domain.people import check_login
from domain.writes import Actor

TICKET_LIFETIME = 600


class PasswordForm(msgspec.Struct):
    password: str = ""


class EmailForm(msgspec.Struct):
    email: str = ""


class SecondFactorForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    code: str = ""
    ticket: str = ""
    expires: str = ""


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _lang(request: Request[Any, Any, Any], *preferences: str | None) -> str:
    return design.language_of(request.headers.get("accept-language"), request.query_params.get("lang"), *preferences)


def _invalid_link(language: str) -> Response[str]:
    return page(
        language,
        text(language, "invalid_link"),
        f'<p class="error" role="alert">{text(language, "invalid_link_text")}</p>',
        status_code=404,
    )


def _ticket_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"guildhall second factor page v1", hashlib.sha256).digest()


def _ticket(master_key: bytes, person_id: UUID, expires: int) -> str:
    return hmac.new(_ticket_key(master_key), f"{person_id} {expires}".encode(), hashlib.sha256).hexdigest()


def _person_of_ticket(master_key: bytes, ticket: str, expires: str) -> UUID | None:
    person, _, mac = ticket.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return None
    try:
        person_id = UUID(person)
    except ValueError:
        return None
    return person_id if hmac.compare_digest(_ticket(master_key, person_id, int(expires)), mac) else None


class AccountPagesController(Controller):
    include_in_schema = False

    # --- Invitations ---------------------------------------------------------------------------------

    def _invitation_page(
        self, view: invitations.InvitationView, token: str, error: str | None = None, status: int = 200
    ) -> Response[str]:
        language = view.language
        values = {"organisation": view.organisation_name, "email": view.email, "roles": ", ".join(view.roles)}
        if view.has_login:
            intro, label, autocomplete, hint = "invitation_existing", "current_password", "current-password", None
        else:
            intro, label, autocomplete = "invitation_new", "new_password", "new-password"
            hint = text(language, "new_password_hint")
        body = (
            f"<p>{text(language, 'invitation_intro', **values)}</p><p>{text(language, intro)}</p>"
            + error_box(error)
            + form(
                f"/invitations/{token}",
                f'<input type="email" name="username" autocomplete="username" value="{escape(view.email)}" hidden>'
                + field(
                    "password",
                    text(language, label),
                    kind="password",
                    autocomplete=autocomplete,
                    hint=hint,
                    error=bool(error),
                ),
                text(language, "accept"),
            )
        )
        return page(language, text(language, "invitation_title", **values), body, status_code=status)

    @get("/invitations/{token:str}", operation_id="showInvitationPage", security=[{}])
    async def invitation(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        try:
            view = await invitations.view_by_token(request.app.state.db, token)
        except NotFound:
            return _invalid_link(_lang(request))
        return self._invitation_page(view, token)

    @post("/invitations/{token:str}", operation_id="acceptInvitationPage", security=[{}], status_code=200)
    async def accept_invitation(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[PasswordForm]
    ) -> Response[str]:
        state = request.app.state
        try:
            view = await invitations.view_by_token(state.db, token)
        except NotFound:
            return _invalid_link(_lang(request))
        language = view.language
        try:
            await enforce(state.redis, "invitation:ip", _ip(request), state.settings.login_rate_limit, fail_open=False)
            await invitations.accept(state.db, request_id_var.get(), token, data.password)
        except RateLimited:
            return self._invitation_page(view, token, text(language, "too_many"), 429)
        except Unauthenticated:
            return self._invitation_page(view, token, text(language, "wrong_login"), 400)
        except InvalidInput as refused:
            return self._invitation_page(view, token, refused.message, 400)
        except NotFound:
            return _invalid_link(language)
        values = {"organisation": view.organisation_name}
        body = (
            f'<p class="done" role="status">{text(language, "invitation_done", **values)}</p>'
            f'<p><a href="/account/second-factor?lang={language}">{text(language, "second_factor_offer")}</a></p>'
        )
        return page(language, text(language, "invitation_title", **values), body)

    # --- E-mail verification ---------------------------------------------------------------------------

    async def _link_person(self, request: Request[Any, Any, Any], token: str, purpose: links.Purpose) -> Any:
        async with request.app.state.db.connection() as conn:
            person_id = await links.peek_link(conn, token, purpose)
            return await service.person_row(conn, person_id) if person_id else None

    @get("/account/verify-email/{token:str}", operation_id="showEmailVerificationPage", security=[{}])
    async def verification(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        person = await self._link_person(request, token, "verify_email")
        language = _lang(request, person["preferred_language"] if person else None)
        if person is None:
            return _invalid_link(language)
        # A GET changes nothing (mail scanners open links); the button confirms.
        body = f"<p>{text(language, 'verify_intro', email=person['email'])}</p>" + form(
            f"/account/verify-email/{token}", "", text(language, "verify_button")
        )
        return page(language, text(language, "verify_title"), body)

    @post("/account/verify-email/{token:str}", operation_id="confirmEmailPage", security=[{}], status_code=200)
    async def verify(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        state = request.app.state
        person = await self._link_person(request, token, "verify_email")
        language = _lang(request, person["preferred_language"] if person else None)
        try:
            await enforce(state.redis, "verify:ip", _ip(request), state.settings.login_rate_limit, fail_open=False)
            await service.verify_email(state.db, Actor(request_id=request_id_var.get()), token)
        except RateLimited:
            return page(
                language, text(language, "verify_title"), error_box(text(language, "too_many")), status_code=429
            )
        except NotFound:
            return _invalid_link(language)
        body = f'<p class="done" role="status">{text(language, "verify_done")}</p>'
        return page(language, text(language, "verify_title"), body)

    # --- Password reset --------------------------------------------------------------------------------

    def _reset_request_page(self, language: str, error: str | None = None, status: int = 200) -> Response[str]:
        body = (
            f"<p>{text(language, 'reset_intro')}</p>"
            + error_box(error)
            + form(
                "/account/password-reset",
                field("email", text(language, "email"), kind="email", autocomplete="username", error=bool(error)),
                text(language, "reset_send"),
            )
        )
        return page(language, text(language, "reset_title"), body, status_code=status)

    @get("/account/password-reset", operation_id="showPasswordResetPage", security=[{}])
    async def reset_request_page(self, request: Request[Any, Any, Any]) -> Response[str]:
        return self._reset_request_page(_lang(request))

    @post("/account/password-reset", operation_id="requestPasswordResetPage", security=[{}], status_code=200)
    async def reset_request(self, request: Request[Any, Any, Any], data: URLEncodedBody[EmailForm]) -> Response[str]:
        language = _lang(request)
        if "@" not in data.email or len(data.email) > 320:
            return self._reset_request_page(language, text(language, "wrong_login"), 400)
        try:
            await limit_reset_requests(request, data.email)
        except RateLimited:
            return self._reset_request_page(language, text(language, "too_many"), 429)
        settings = request.app.state.settings
        await service.request_password_reset(
            request.app.state.db, Actor(request_id=request_id_var.get()), data.email, settings.issuer, settings.link_ttl
        )
        body = f'<p class="done" role="status">{text(language, "reset_sent")}</p>'
        return page(language, text(language, "reset_title"), body)

    def _new_password_page(
        self, language: str, token: str, email: str, error: str | None = None, status: int = 200
    ) -> Response[str]:
        body = (
            f"<p>{text(language, 'reset_choose', email=email)}</p>"
            + error_box(error)
            + form(
                f"/account/password-reset/{token}",
                f'<input type="email" name="username" autocomplete="username" value="{escape(email)}" hidden>'
                + field(
                    "password",
                    text(language, "new_password"),
                    kind="password",
                    autocomplete="new-password",
                    hint=text(language, "new_password_hint"),
                    error=bool(error),
                ),
                text(language, "reset_button"),
            )
        )
        return page(language, text(language, "reset_title"), body, status_code=status)

    @get("/account/password-reset/{token:str}", operation_id="showNewPasswordPage", security=[{}])
    async def new_password_page(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        person = await self._link_person(request, token, "reset_password")
        language = _lang(request, person["preferred_language"] if person else None)
        if person is None:
            return _invalid_link(language)
        return self._new_password_page(language, token, person["email"])

    @post("/account/password-reset/{token:str}", operation_id="setNewPasswordPage", security=[{}], status_code=200)
    async def set_new_password(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[PasswordForm]
    ) -> Response[str]:
        state = request.app.state
        person = await self._link_person(request, token, "reset_password")
        language = _lang(request, person["preferred_language"] if person else None)
        if person is None:
            return _invalid_link(language)
        try:
            await enforce(state.redis, "reset:ip", _ip(request), state.settings.login_rate_limit, fail_open=False)
            await service.reset_password(state.db, Actor(request_id=request_id_var.get()), token, data.password)
        except RateLimited:
            return self._new_password_page(language, token, person["email"], text(language, "too_many"), 429)
        except InvalidInput as refused:
            return self._new_password_page(language, token, person["email"], refused.message, 400)
        except NotFound:
            return _invalid_link(language)
        body = f'<p class="done" role="status">{text(language, "reset_done")}</p>'
        return page(language, text(language, "reset_title"), body)

    # --- Second factor -----------------------------------------------------------------------------------

    def _sign_in_page(self, language: str, error: str | None = None, status: int = 200) -> Response[str]:
        body = (
            f"<p>{text(language, 'totp_signin')}</p>"
            + error_box(error)
            + form(
                f"/account/second-factor?lang={language}",
                field("email", text(language, "email"), kind="email", autocomplete="username", error=bool(error))
                + field(
                    "password",
                    text(language, "password"),
                    kind="password",
                    autocomplete="current-password",
                    error=bool(error),
                ),
                text(language, "continue"),
            )
        )
        return page(language, text(language, "totp_title"), body, status_code=status)

    def _scan_page(
        self, language: str, enrolment: totp.Enrolment, ticket: dict[str, str], error: str | None = None
    ) -> Response[str]:
        body = (
            f"<p>{text(language, 'totp_scan')}</p>"
            f"<p><strong>{text(language, 'totp_key')}</strong>: <code>{escape(enrolment.secret)}</code></p>"
            f'<p><a href="{escape(enrolment.uri)}">{text(language, "totp_link")}</a></p>'
            + error_box(error)
            + form(
                f"/account/second-factor?lang={language}",
                field(
                    "code",
                    text(language, "code"),
                    autocomplete="one-time-code",
                    hint=text(language, "code_required_hint"),
                    error=bool(error),
                    extra=' inputmode="numeric" pattern="[0-9]{6}" maxlength="6"',
                ),
                text(language, "totp_confirm"),
                hidden=ticket,
            )
        )
        return page(language, text(language, "totp_title"), body, status_code=400 if error else 200)

    @get("/account/second-factor", operation_id="showSecondFactorPage", security=[{}])
    async def second_factor_page(self, request: Request[Any, Any, Any]) -> Response[str]:
        return self._sign_in_page(_lang(request))

    @post("/account/second-factor", operation_id="setUpSecondFactorPage", security=[{}], status_code=200)
    async def second_factor(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[SecondFactorForm]
    ) -> Response[str]:
        state = request.app.state
        master_key = state.settings.master_key
        language = _lang(request)
        actor = Actor(request_id=request_id_var.get())
        if data.ticket:  # step 2: the first code from the authenticator
            person_id = _person_of_ticket(master_key, data.ticket, data.expires)
            if person_id is None:
                return self._sign_in_page(language, text(language, "invalid_link_text"), 400)
            try:
                await enforce(state.redis, "totp", str(person_id), state.settings.totp_rate_limit, fail_open=False)
                codes = await totp.confirm_enrolment(state.db, actor, master_key, person_id, data.code)
            except RateLimited:
                return self._sign_in_page(language, text(language, "too_many"), 429)
            except InvalidInput:
                return self._sign_in_page(language, text(language, "wrong_code"), 400)
            items = "".join(f"<li>{escape(code)}</li>" for code in codes)
            body = f'<p class="done" role="status">{text(language, "totp_done")}</p><ul class="codes">{items}</ul>'
            return page(language, text(language, "totp_title"), body)
        try:  # step 1: sign in, get a secret
            address = _ip(request)
            await enforce(state.redis, "login:ip", address, state.settings.login_address_rate_limit, fail_open=False)
            async with state.db.connection() as conn:
                person_id = await check_login(conn, data.email, data.password)
                person = await service.person_row(conn, person_id) if person_id else None
            if person_id is None or person is None:
                return self._sign_in_page(language, text(language, "wrong_login"), 400)
            if not request.query_params.get("lang"):  # the person's own language, now that we know them
                language = _lang(request, person["preferred_language"])
            signed_in = Actor(person_id=person_id, request_id=actor.request_id)
            enrolment = await totp.start_enrolment(state.db, signed_in, master_key, person_id)
        except RateLimited:
            return self._sign_in_page(language, text(language, "too_many"), 429)
        except DomainError:  # set up already
            return self._sign_in_page(language, text(language, "totp_already"), 409)
        expires = int(time.time()) + TICKET_LIFETIME
        ticket = {"ticket": f"{person_id}.{_ticket(master_key, person_id, expires)}", "expires": str(expires)}
        return self._scan_page(language, enrolment, ticket)
