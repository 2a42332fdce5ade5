"""Every controller of the API, in one list."""

from __future__ import annotations

from typing import Any


def route_handlers() -> list[Any]:
    from api.controllers.account import AccountController, MyAccountController
    from api.controllers.account_pages import AccountPagesController
    from api.controllers.attempts import AttemptController
    from api.controllers.audit import AuditController
    from api.controllers.claims import ClaimCodeController, LearnerClaimController
    from api.controllers.clients import ClientController
    from api.controllers.credentials import CredentialController, OrganisationCredentialController
    from api.controllers.designs import ProgrammeController, QualificationController
    from api.controllers.elm import ElmController
    from api.controllers.endorsements import EndorsementController, OrganisationEndorsementController
    from api.controllers.guidance import GuidanceController
    from api.controllers.invitations import (
        InvitationAcceptanceController,
        InvitationController,
        SecondFactorPolicyController,
    )
    from api.controllers.issuer_keys import IssuerKeyController
    from api.controllers.learners import LearnerController
    from api.controllers.me import MeController
    from api.controllers.members import MemberController
    from api.controllers.ob_api import ClientRegistrationController, ObApiController
    from api.controllers.oid4vci import (
        CredentialIssuerMetadataController,
        CredentialOfferController,
        MyOfferPageController,
        Oid4vciController,
    )
    from api.controllers.organisations import OrganisationController
    from api.controllers.portfolio import PortfolioController
    from api.controllers.profiles import ProfileController
    from api.controllers.recognition import (
        MyRecognitionController,
        ProviderRecognitionController,
        RecognitionQueueController,
        RecognitionRuleController,
    )
    from api.controllers.register import EuropassController, RegisterController
    from api.controllers.result_batches import ResultBatchController
    from api.controllers.sd_jwt_vc import JwtVcIssuerController, MySdJwtVcController, TypeMetadataController
    from api.controllers.status_lists import StatusListController
    from api.controllers.verification import ContextController, CredentialPageController, VerificationController
    from api.controllers.wallet_exchanges import (
        CredentialWalletExchangeController,
        ExchangeController,
        MyWalletExchangeController,
        MyWalletPageController,
    )
    from api.controllers.webhooks import WebhookController
    from api.controllers.xapi import XapiController
    from api.oauth.controller import MetadataController, OAuthController

    return [
        OrganisationController,
        MemberController,
        InvitationController,
        InvitationAcceptanceController,
        SecondFactorPolicyController,
        AccountController,
        MyAccountController,
        AccountPagesController,
        ClientController,
        AuditController,
        ProgrammeController,
        QualificationController,
        RegisterController,
        EuropassController,
        GuidanceController,
        ProfileController,
        OAuthController,
        MetadataController,
        LearnerController,
        AttemptController,
        XapiController,
        ResultBatchController,
        ClaimCodeController,
        LearnerClaimController,
        MeController,
        MyWalletExchangeController,
        CredentialWalletExchangeController,
        ExchangeController,
        MyWalletPageController,
        PortfolioController,
        MyRecognitionController,
        RecognitionRuleController,
        RecognitionQueueController,
        ProviderRecognitionController,
        IssuerKeyController,
        CredentialController,
        OrganisationCredentialController,
        StatusListController,
        JwtVcIssuerController,
        TypeMetadataController,
        MySdJwtVcController,
        VerificationController,
        CredentialPageController,
        ContextController,
        ElmController,
        EndorsementController,
        OrganisationEndorsementController,
        WebhookController,
        ObApiController,
        ClientRegistrationController,
        CredentialIssuerMetadataController,
        Oid4vciController,
        CredentialOfferController,
        MyOfferPageController,
    ]
