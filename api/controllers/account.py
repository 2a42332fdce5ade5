"""A person's own login over the API: password reset and e-mail verification with the tokens of mailed links
(no access token: the link is the proof), and, with a person's token, changing password or address and
setting up TOTP as a second factor."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from api.auth import public
from api.controllers.me import for_person, person_of
from api.observability import request_id_var
from api.ratelimit import enforce
from api.routing import delete, post
from domain.accounts import service, totp
from domain.errors import Forbidden
from domain.oauth.principals import Principal
from domain.organisations.models import Email
from domain.people import canonical_email
from domain.structs import Input, Model
from domain.writes import Actor

Password = Annotated[str, Meta(min_length=1, max_length=1000)]


class PasswordResetRequest(Input):
    email: Email


class PasswordResetAnswer(Model):
    detail: Annotated[str, Meta(description="The same whether or not the address has a login")]


class NewPassword(Input):
    password: Annotated[Password, Meta(description="At least 12 characters")]


class PasswordChange(Input):
    current_password: Password
    new_password: Password


class EmailChange(Input):
    email: Email
    password: Password


class TotpEnrolment(Model):
    secret: Annotated[str, Meta(description="Base32, to type into an authenticator app")]
    uri: Annotated[str, Meta(description="otpauth:// URI (for a QR code)")]


class TotpConfirmation(Input):
    code: Annotated[str, Meta(min_length=6, max_length=6, pattern="^[0-9]{6}$")]


class RecoveryCodes(Model):
    recovery_codes: Annotated[list[str], Meta(description="Each works once instead of a code; shown only now")]


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def limit_reset_requests(request: Request[Any, Any, Any], email: str) -> None:
    """Per address and per IP, failing closed: nobody floods a mailbox or probes with resets."""
    state = request.app.state
    limit = state.settings.password_reset_rate_limit
    await enforce(state.redis, "reset:ip", _ip(request), limit, fail_open=False)
    await enforce(state.redis, "reset:email", canonical_email(email), limit, fail_open=False)


class AccountController(Controller):
    tags = ["Account"]

    @post(
        "/password-resets",
        operation_id="requestPasswordReset",
        summary="Mail a one-time link to choose a new password (same answer whether or not the address exists)",
        status_code=202,
        **public(errors=[400, 429]),
    )
    async def request_reset(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordResetRequest]
    ) -> PasswordResetAnswer:
        await limit_reset_requests(request, data.email)
        settings = request.app.state.settings
        await service.request_password_reset(
            request.app.state.db, Actor(request_id=request_id_var.get()), data.email, settings.issuer, settings.link_ttl
        )
        return PasswordResetAnswer(detail=service.SAME_ANSWER)

    @post(
        "/password-resets/{token:str}",
        operation_id="resetPassword",
        summary="Set a new password with the token from the mailed link; every token of the login is revoked",
        status_code=204,
        **public(errors=[400, 404, 422, 429]),
    )
    async def reset(self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[NewPassword]) -> None:
        state = request.app.state
        await enforce(state.redis, "reset:ip", _ip(request), state.settings.login_rate_limit, fail_open=False)
        await service.reset_password(state.db, Actor(request_id=request_id_var.get()), token, data.password)

    @post(
        "/email-verifications/{token:str}",
        operation_id="verifyEmail",
        summary="Confirm an e-mail address with the token from the mailed link",
        status_code=204,
        **public(errors=[400, 404, 429]),
    )
    async def verify(self, request: Request[Any, Any, Any], token: FromPath[str]) -> None:
        state = request.app.state
        await enforce(state.redis, "verify:ip", _ip(request), state.settings.login_rate_limit, fail_open=False)
        await service.verify_email(state.db, Actor(request_id=request_id_var.get()), token)


class MyAccountController(Controller):
    path = "/me"
    tags = ["Account"]

    @post(
        "/email-verification",
        operation_id="sendMyEmailVerification",
        summary="Mail a new link to confirm my e-mail address",
        status_code=202,
        **for_person(errors=[404, 409]),
    )
    async def send_verification(self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> None:
        sent = await service.request_verification(
            request.app.state.db, principal.actor(), person_of(principal), request.app.state.settings.issuer
        )
        if not sent:
            from domain.errors import Conflict

            raise Conflict("your e-mail address is verified already")

    @post(
        "/password",
        operation_id="changeMyPassword",
        summary="Change my password; every token of mine is revoked and my address is told",
        status_code=204,
        **for_person(errors=[401, 422, 429]),
    )
    async def change_password(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], data: JSONBody[PasswordChange]
    ) -> None:
        person_id = person_of(principal)
        state = request.app.state
        await enforce(state.redis, "login", str(person_id), state.settings.login_rate_limit, fail_open=False)
        await service.change_password(state.db, principal.actor(), person_id, data.current_password, data.new_password)

    @post(
        "/email",
        operation_id="changeMyEmail",
        summary="Move my login to another address (to be confirmed); tokens revoked, the old address told",
        status_code=204,
        **for_person(errors=[401, 409, 422, 429]),
    )
    async def change_email(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], data: JSONBody[EmailChange]
    ) -> None:
        person_id = person_of(principal)
        state = request.app.state
        await enforce(state.redis, "login", str(person_id), state.settings.login_rate_limit, fail_open=False)
        await service.change_email(
            state.db, principal.actor(), person_id, data.password, data.email, state.settings.issuer
        )

    @post(
        "/second-factor",
        operation_id="startMySecondFactor",
        summary="Start setting up TOTP: a new secret for my authenticator app, pending until confirmed",
        status_code=201,
        **for_person(errors=[409]),
    )
    async def start_totp(self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> TotpEnrolment:
        enrolment = await totp.start_enrolment(
            request.app.state.db, principal.actor(), request.app.state.settings.master_key, person_of(principal)
        )
        return TotpEnrolment(secret=enrolment.secret, uri=enrolment.uri)

    @post(
        "/second-factor/confirmation",
        operation_id="confirmMySecondFactor",
        summary="Turn TOTP on with a first code; answers the recovery codes, once",
        status_code=200,
        **for_person(errors=[422, 429]),
    )
    async def confirm_totp(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], data: JSONBody[TotpConfirmation]
    ) -> Response[RecoveryCodes]:
        person_id = person_of(principal)
        state = request.app.state
        await enforce(state.redis, "totp", str(person_id), state.settings.totp_rate_limit, fail_open=False)
        codes = await totp.confirm_enrolment(
            state.db, principal.actor(), state.settings.master_key, person_id, data.code
        )
        return Response(RecoveryCodes(recovery_codes=codes), headers={"Cache-Control": "no-store"})

    @delete(
        "/second-factor",
        operation_id="removeMySecondFactor",
        summary="Remove my TOTP (needs a token from a sign-in that used it)",
        status_code=204,
        **for_person(errors=[]),
    )
    async def remove_totp(self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> None:
        if "otp" not in principal.amr:
            raise Forbidden("sign in with your second factor to remove it")
        await totp.remove(request.app.state.db, principal.actor(), person_of(principal))
