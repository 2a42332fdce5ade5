"""A credential in the European Learning Model v3 (Europass Digital Credentials) — pure, no I/O.

``european_learning_credential()`` turns the Open Badges 3.0 ``AchievementCredential`` exactly as signed
(``document.achievement_credential``) into an unsigned ELM v3 JSON-LD ``EuropeanDigitalCredential``. It
reads nothing but that document, so the export says what the signed credential says and nothing more.

The shape follows the ELM v3 EDC application profile (context ``http://data.europa.eu/snb/model/context/edc-ap``)
and passes the Commission's SHACL shapes ``edc-generic-no-cv`` and ``edc-generic-full`` (``tests/test_elm.py``);
compare the Commission's own Annex I micro-credential sample:

    EuropeanDigitalCredential
      displayParameter            DisplayParameter (title, languages, one IndividualDisplay per language: an SVG page)
      issuer                      Organisation (legalName, location.address.countryCode, eIDASIdentifier)
      credentialSubject           Person (fullName, identifier: the salted e-mail hash, never the address)
        hasClaim                  LearningAchievement (title, creditReceived)
          awardedBy               AwardingProcess (awardingBody: Organisation, awardingDate)
          specifiedBy             LearningAchievementSpecification — or Qualification for a qualification
                                  (title, learningOutcome[] with relatedESCOSkill, volumeOfLearning, creditPoint,
                                  eqfLevel, mode, language, entryRequirement, accreditation, additionalNote)
          provenBy                LearningAssessment (title, grade, idVerification, assessedBy, specifiedBy:
                                  LearningAssessmentSpecification with dcType = the type of assessment)

The signed credential is in one language; ``Translations`` (``elm_sources.py`` reads them from the published
programme version) add the programme's other languages to every text whose version in the credential's language
is the signed text. Where this module is unsure of ELM v3 it says so next to the code. In short:

* ELM v3 links a LearningAchievement to its assessment with ``provenBy`` (ELM v2 / EDCI 1.x called it
  ``wasDerivedFrom``); supervision and identity verification is ``LearningAssessment.idVerification``.
* Quality assurance is an ``Accreditation`` with a type from the EU accreditation vocabulary and an accrediting
  agent: the programme's under ``specifiedBy.accreditation``, the awarding body's own on the ``Organisation``.
* Concepts use the EU controlled vocabularies where Guildhall's value has a known member (EQF, countries, languages,
  mode, ECTS, credential profile, accreditation types, one supervision value); otherwise the Concept has a
  ``urn:guildhall:`` id and a ``prefLabel`` and claims no scheme (the shapes restrict none of those properties).
* Stackability and further information are ``additionalNote`` Notes on the specification: ELM v3 has no
  dedicated terms for them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as xml_escape

Json = dict[str, Any]
Node = Callable[[str], str]  # names a node of one credential's ELM document

VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
ELM_CONTEXT = "http://data.europa.eu/snb/model/context/edc-ap"
EDC_SHAPE = "http://data.europa.eu/snb/model/ap/edc-generic-full"
XSD_ANY_URI = "http://www.w3.org/2001/XMLSchema#anyURI"
ELM_MEDIA_TYPE = "application/ld+json"

COUNTRY_AUTHORITY = "http://publications.europa.eu/resource/authority/country"
LANGUAGE_AUTHORITY = "http://publications.europa.eu/resource/authority/language"
EQF_SCHEME = "http://data.europa.eu/snb/eqf/25831c2"
MODE_SCHEME = "http://data.europa.eu/snb/learning-assessment/25831c2"
CREDIT_SCHEME = "http://data.europa.eu/snb/education-credit/25831c2"
CREDENTIAL_SCHEME = "http://data.europa.eu/snb/credential/25831c2"
SUPERVISION_SCHEME = "http://data.europa.eu/snb/supervision-verification/25831c2"
ESCO_SKILLS = "http://data.europa.eu/esco/concept-scheme/skills"
ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
GENERIC_PROFILE = "http://data.europa.eu/snb/credential/e34929035b"

# Annex I element -> where it sits in the ELM document (the same keys as ``document.ANNEX_I``).
ANNEX_I_ELM: dict[str, tuple[str, ...]] = {
    "learner": ("credentialSubject", "fullName"),
    "title": ("credentialSubject", "hasClaim", "title"),
    "country_of_issuer": ("issuer", "location", "address", "countryCode", "id"),
    "awarding_body": ("credentialSubject", "hasClaim", "awardedBy", "awardingBody", "legalName"),
    "date_of_issuing": ("issuanceDate",),
    "learning_outcomes": ("credentialSubject", "hasClaim", "specifiedBy", "learningOutcome"),
    "workload": ("credentialSubject", "hasClaim", "specifiedBy", "volumeOfLearning"),
    "level": ("credentialSubject", "hasClaim", "specifiedBy", "eqfLevel", "id"),
    "type_of_assessment": ("credentialSubject", "hasClaim", "provenBy", "specifiedBy", "dcType", "prefLabel"),
    "form_of_participation": ("credentialSubject", "hasClaim", "specifiedBy", "mode"),
    "type_of_quality_assurance": ("credentialSubject", "hasClaim", "specifiedBy", "accreditation"),
}

# ISO 3166-1 alpha-2 -> alpha-3 (every ISO country, from the iso-codes tables), which the EU country authority
# table uses; Kosovo has no ISO code: the EU table names it XKX, and Guildhall may store the user-assigned XK.
_ISO_COUNTRIES = (
    "ADAND AEARE AFAFG AGATG AIAIA ALALB AMARM AOAGO AQATA ARARG ASASM ATAUT AUAUS AWABW AXALA AZAZE "
    "BABIH BBBRB BDBGD BEBEL BFBFA BGBGR BHBHR BIBDI BJBEN BLBLM BMBMU BNBRN BOBOL BQBES BRBRA BSBHS "
    "BTBTN BVBVT BWBWA BYBLR BZBLZ CACAN CCCCK CDCOD CFCAF CGCOG CHCHE CICIV CKCOK CLCHL CMCMR CNCHN "
    "COCOL CRCRI CUCUB CVCPV CWCUW CXCXR CYCYP CZCZE DEDEU DJDJI DKDNK DMDMA DODOM DZDZA ECECU EEEST "
    "EGEGY EHESH ERERI ESESP ETETH FIFIN FJFJI FKFLK FMFSM FOFRO FRFRA GAGAB GBGBR GDGRD GEGEO GFGUF "
    "GGGGY GHGHA GIGIB GLGRL GMGMB GNGIN GPGLP GQGNQ GRGRC GSSGS GTGTM GUGUM GWGNB GYGUY HKHKG HMHMD "
    "HNHND HRHRV HTHTI HUHUN IDIDN IEIRL ILISR IMIMN ININD IOIOT IQIRQ IRIRN ISISL ITITA JEJEY JMJAM "
    "JOJOR JPJPN KEKEN KGKGZ KHKHM KIKIR KMCOM KNKNA KPPRK KRKOR KWKWT KYCYM KZKAZ LALAO LBLBN LCLCA "
    "LILIE LKLKA LRLBR LSLSO LTLTU LULUX LVLVA LYLBY MAMAR MCMCO MDMDA MEMNE MFMAF MGMDG MHMHL MKMKD "
    "MLMLI MMMMR MNMNG MOMAC MPMNP MQMTQ MRMRT MSMSR MTMLT MUMUS MVMDV MWMWI MXMEX MYMYS MZMOZ NANAM "
    "NCNCL NENER NFNFK NGNGA NINIC NLNLD NONOR NPNPL NRNRU NUNIU NZNZL OMOMN PAPAN PEPER PFPYF PGPNG "
    "PHPHL PKPAK PLPOL PMSPM PNPCN PRPRI PSPSE PTPRT PWPLW PYPRY QAQAT REREU ROROU RSSRB RURUS RWRWA "
    "SASAU SBSLB SCSYC SDSDN SESWE SGSGP SHSHN SISVN SJSJM SKSVK SLSLE SMSMR SNSEN SOSOM SRSUR SSSSD "
    "STSTP SVSLV SXSXM SYSYR SZSWZ TCTCA TDTCD TFATF TGTGO THTHA TJTJK TKTKL TLTLS TMTKM TNTUN TOTON "
    "TRTUR TTTTO TVTUV TWTWN TZTZA UAUKR UGUGA UMUMI USUSA UYURY UZUZB VAVAT VCVCT VEVEN VGVGB VIVIR "
    "VNVNM VUVUT WFWLF WSWSM YEYEM YTMYT ZAZAF ZMZMB ZWZWE "
)
ALPHA3: dict[str, str] = {entry[:2]: entry[2:] for entry in _ISO_COUNTRIES.split()} | {"XK": "XKX"}

# ISO 639-1 -> the EU language authority table's codes (ISO 639-2/T in upper case), every ISO 639-1 language.
_ISO_LANGUAGES = (
    "aaaar ababk aeave afafr akaka amamh anarg arara asasm avava ayaym azaze babak bebel bgbul bhbih "
    "bibis bmbam bnben bobod brbre bsbos cacat ceche chcha cocos crcre csces cuchu cvchv cycym dadan "
    "dedeu dvdiv dzdzo eeewe elell eneng eoepo esspa etest eueus fafas ffful fifin fjfij fofao frfra "
    "fyfry gagle gdgla glglg gngrn guguj gvglv hahau heheb hihin hohmo hrhrv hthat huhun hyhye hzher "
    "iaina idind ieile igibo iiiii ikipk ioido isisl itita iuiku jajpn jvjav kakat kgkon kikik kjkua "
    "kkkaz klkal kmkhm knkan kokor krkau kskas kukur kvkom kwcor kykir lalat lbltz lglug lilim lnlin "
    "lolao ltlit lulub lvlav mgmlg mhmah mimri mkmkd mlmal mnmon mrmar msmsa mtmlt mymya nanau nbnob "
    "ndnde nenep ngndo nlnld nnnno nonor nrnbl nvnav nynya ococi ojoji omorm orori ososs papan pipli "
    "plpol pspus ptpor quque rmroh rnrun roron rurus rwkin sasan scsrd sdsnd sesme sgsag sisin skslk "
    "slslv smsmo snsna sosom sqsqi srsrp ssssw stsot susun svswe swswa tatam tetel tgtgk ththa titir "
    "tktuk tltgl tntsn toton trtur tstso tttat twtwi tytah uguig ukukr ururd uzuzb veven vivie vovol "
    "wawln wowol xhxho yiyid yoyor zazha zhzho zuzul "
)
LANGUAGES: dict[str, str] = {entry[:2]: entry[2:].upper() for entry in _ISO_LANGUAGES.split()}

# Form of participation -> the ELM "mode of learning and assessment" vocabulary (ids from its concept scheme).
MODES: dict[str, tuple[str, str]] = {
    "online": ("http://data.europa.eu/snb/learning-assessment/920fbb3cbe", "Online"),
    "blended": ("http://data.europa.eu/snb/learning-assessment/e92d221e4d", "Blended"),
    "onsite": ("http://data.europa.eu/snb/learning-assessment/9191af2ed9", "Presential"),
}

# Supervision words (as ``document.SUPERVISION_WORDS`` writes them) -> the ELM supervision-verification
# vocabulary. Only the unsupervised value's id is known here (from the Commission's sample); the others get
# a Guildhall id with the same label. Unsure: the scheme has members for them whose ids are not copied here.
SUPERVISION: dict[str, str] = {
    "unsupervised, no identity verification": "http://data.europa.eu/snb/supervision-verification/c598449d64",
}

QUALITY_ASSURANCE_WORDS = {
    "internal_review": "internal quality review",
    "external_accreditation": "external accreditation",
    "chamber_approval": "approval by a chamber",
    "state_recognition": "state recognition",
    "industry_certification": "industry certification",
}

# The EU accreditation-type vocabulary (ids as the Commission's EDCI software names them). An organisation's own
# accreditation is institutional quality assurance; a programme's quality assurance is programme quality
# assurance, except state recognition, which licenses the programme.
ACCREDITATION_SCHEME = "http://data.europa.eu/snb/accreditation/25831c2"
INSTITUTIONAL_QUALITY = ("http://data.europa.eu/snb/accreditation/bb4618238e", "Institutional quality assurance")
PROGRAMME_QUALITY = ("http://data.europa.eu/snb/accreditation/820101cba6", "Programme quality assurance")
PROGRAMME_LICENSING = ("http://data.europa.eu/snb/accreditation/e57dddfcf3", "Programme licensing")

ENCODING_SCHEME = "http://data.europa.eu/snb/encoding/25831c2"
BASE64 = "http://data.europa.eu/snb/encoding/6146cde7dd"
FILE_TYPE_AUTHORITY = "http://publications.europa.eu/resource/authority/file-type"

LanguageMap = dict[str, str]


@dataclass(frozen=True)
class Agent:
    """An organisation the signed credential names only by name (a QA body, an accrediting body)."""

    id: str
    name: LanguageMap
    country: str  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class Translations:
    """What the ELM export reads beside the signed credential: the programme's (or qualification's) texts in
    every language it has them, and the agents behind its quality assurance and accreditations.

    A text is used only when its version in the credential's language is the signed text itself, so the export
    never says something else than what was signed; it only says it in more languages.
    """

    title: LanguageMap | None = None
    description: LanguageMap | None = None
    outcomes: Mapping[str, LanguageMap] = field(default_factory=dict)  # learning outcome id -> its title
    skills: Mapping[str, LanguageMap] = field(default_factory=dict)  # ESCO skill URI -> the competence title
    type_of_assessment: LanguageMap | None = None
    quality_assurance: LanguageMap | None = None  # its description
    prerequisites: LanguageMap | None = None
    further_information: LanguageMap | None = None
    organisations: Mapping[str, Agent] = field(default_factory=dict)  # the parties and the QA body, by DID
    quality_assurance_body: Agent | None = None
    accrediting_bodies: Mapping[str, Agent] = field(default_factory=dict)  # the name the credential gives -> agent


@dataclass(frozen=True)
class _Export:
    """One export under way: the credential's language, its node namer and the translations."""

    language: str
    node: Node
    texts: Translations

    def text(self, signed: Any, translations: LanguageMap | None = None) -> LanguageMap:
        """A language map of the signed text: every translation when they agree with what was signed.

        A text the programme lacks in the credential's language was signed in another one (the first it has):
        then it is labelled with the language it is really in, beside the others."""
        value = str(signed)
        if translations and (
            translations.get(self.language) == value
            or (not translations.get(self.language) and value in translations.values())
        ):
            return {k: v for k, v in translations.items() if v}
        return {self.language: value}

    def names_of(self, did: str) -> LanguageMap | None:
        agent = self.texts.organisations.get(did)
        return agent.name if agent is not None else None


def european_learning_credential(credential: Mapping[str, Any], texts: Translations | None = None) -> Json:
    """The ELM v3 ``EuropeanDigitalCredential`` (unsigned) of an Open Badges 3.0 ``AchievementCredential``."""
    subject: Mapping[str, Any] = credential["credentialSubject"]
    achievement: Mapping[str, Any] = subject["achievement"]
    export = _Export(
        _language_tag(achievement.get("inLanguage")), _node_ids(str(credential["id"])), texts or Translations()
    )
    node = export.node
    skill_labels = {
        a["targetUrl"]: a.get("targetName")
        for a in achievement.get("alignment", [])
        if a.get("targetFramework") == "ESCO" and a.get("targetUrl")
    }

    issuer = _organisation(credential["issuer"], export)
    awarding_process: Json = {
        "id": node("awarding-process"),
        "type": "AwardingProcess",
        "awardingBody": issuer,
        "awardingDate": credential.get("awardedDate") or credential["validFrom"],
    }
    specification = _specification(achievement, export, skill_labels, issuer, credential)
    title = export.text(achievement["name"], export.texts.title)
    claim: Json = {
        "id": node("learning-achievement"),
        "type": "LearningAchievement",
        "title": title,
        "awardedBy": awarding_process,
        "specifiedBy": specification,
        "provenBy": _assessment(credential, export, awarding_process),
    }
    if achievement.get("description") and achievement["description"] != achievement["name"]:
        claim["description"] = export.text(achievement["description"], export.texts.description)
    if subject.get("creditsEarned") is not None:
        claim["creditReceived"] = [_credit_point(node("credit-received"), subject["creditsEarned"])]

    document: Json = {
        "@context": [VC1_CONTEXT, ELM_CONTEXT],
        "id": credential["id"],
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialProfiles": [_concept(GENERIC_PROFILE, "Generic", CREDENTIAL_SCHEME)],
        "credentialSchema": [{"id": EDC_SHAPE, "type": "ShaclValidator2017"}],
        "displayParameter": _display(credential, export, title),
        "issuer": issuer,
        "issuanceDate": credential["validFrom"],
        "issued": credential.get("awardedDate") or credential["validFrom"],
        "validFrom": credential["validFrom"],
        "credentialSubject": _person(subject, export, claim),
    }
    if credential.get("validUntil"):
        document["validUntil"] = credential["validUntil"]
        document["expirationDate"] = credential["validUntil"]
    status = credential.get("credentialStatus")
    if status:
        # The EDC shapes want the status as a URI literal (xsd:anyURI), not a node: the id of the signed
        # credential's Bitstring Status List entry (the list, then the entry's index as its fragment).
        # The shapes allow one: of several entries (revocation and suspension lists), the revocation entry.
        entries = [e for e in (status if isinstance(status, list) else [status]) if isinstance(e, Mapping)]
        entry = next((e for e in entries if e.get("statusPurpose") == "revocation"), entries[0] if entries else None)
        if entry is not None and entry.get("id"):
            document["credentialStatus"] = {"@value": str(entry["id"]), "@type": XSD_ANY_URI}
    return document


# --- Nodes ------------------------------------------------------------------------------------------


def _node_ids(credential_id: str) -> Node:
    """Ids for the ELM document's blank-ish nodes: stable for one credential, distinct across credentials."""
    base = credential_id.removeprefix("urn:uuid:")

    def node(name: str) -> str:
        return f"urn:guildhall:elm:{base}:{name}"

    return node


def _language_tag(value: Any) -> str:
    if isinstance(value, str) and 2 <= len(value) <= 3 and value.isalpha():
        return value.lower()
    return "en"


def _concept(concept_id: str, label: str, scheme: str | None = None, notation: str | None = None) -> Json:
    concept: Json = {"id": concept_id, "type": "Concept", "prefLabel": {"en": label}}
    if scheme:
        concept["inScheme"] = {"id": scheme, "type": "ConceptScheme"}
    if notation:
        concept["notation"] = notation
    return concept


def _slug(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "-" for c in value.lower())[:120] or "unnamed"


def _local_concept(kind: str, value: str, label: LanguageMap) -> Json:
    """A Concept outside the EU vocabularies: a Guildhall id, its label in every language at hand."""
    return {"id": f"urn:guildhall:{kind}:{_slug(value)}", "type": "Concept", "prefLabel": label}


def _note(note_id: str, text: LanguageMap, subject: str | None = None) -> Json:
    note: Json = {"id": note_id, "type": "Note", "noteLiteral": text}
    if subject:
        note["subject"] = _local_concept("note-subject", subject, {"en": subject})
    return note


def country(alpha2: str) -> Json:
    """The EU authority Concept of a country; a code outside ISO 3166-1 keeps itself, with no scheme."""
    code = alpha2.upper()
    alpha3 = ALPHA3.get(code)
    if alpha3 is None:
        return {"id": f"urn:iso:std:iso:3166:-1:{code}", "type": "Concept", "notation": code}
    return {
        "id": f"{COUNTRY_AUTHORITY}/{alpha3}",
        "type": "Concept",
        "inScheme": {"id": COUNTRY_AUTHORITY, "type": "ConceptScheme"},
        "notation": alpha3,
    }


def _language(code: str) -> Json:
    eu = LANGUAGES.get(code.lower()) if len(code) == 2 else code.upper() if len(code) == 3 else None
    if eu is None:
        return {"id": f"urn:ietf:bcp47:{code}", "type": "Concept", "notation": code}
    return {
        "id": f"{LANGUAGE_AUTHORITY}/{eu}",
        "type": "Concept",
        "inScheme": {"id": LANGUAGE_AUTHORITY, "type": "ConceptScheme"},
        "notation": code,
    }


def _credit_point(node_id: str, points: Any) -> Json:
    return {
        "id": node_id,
        "type": "CreditPoint",
        "framework": _concept(ECTS, "European Credit Transfer System", CREDIT_SCHEME, "ECTS"),
        "point": _number(points),
    }


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- How it is shown ----------------------------------------------------------------------------------


def _display(credential: Mapping[str, Any], export: _Export, title: LanguageMap) -> Json:
    """Display parameters: the title in every language, and per language an ``IndividualDisplay`` whose one
    page is an SVG image of the credential in that language (base64, as ELM embeds media)."""
    node = export.node
    languages = [export.language, *(code for code in title if code != export.language)]
    learner = next(
        (
            i.get("identityHash")
            for i in credential["credentialSubject"].get("identifier", [])
            if i.get("identityType") == "name"
        ),
        None,
    )
    issuer = credential["issuer"]
    issuer_name = export.text(issuer.get("name") or issuer["id"], export.names_of(str(issuer["id"])))
    displays = []
    for code in languages:
        image = _svg_page(
            title.get(code) or next(iter(title.values())),
            learner or "",
            issuer_name.get(code) or next(iter(issuer_name.values())),
            str(credential.get("awardedDate") or credential["validFrom"])[:10],
        )
        displays.append(
            {
                "id": node(f"individual-display:{code}"),
                "type": "IndividualDisplay",
                "language": _language(code),
                "displayDetail": [
                    {
                        "id": node(f"display-detail:{code}:1"),
                        "type": "DisplayDetail",
                        "page": 1,
                        "image": {
                            "id": node(f"display-image:{code}:1"),
                            "type": "MediaObject",
                            "content": base64.b64encode(image.encode()).decode(),
                            "contentEncoding": _concept(BASE64, "base64", ENCODING_SCHEME),
                            "contentType": _concept(f"{FILE_TYPE_AUTHORITY}/SVG", "SVG", FILE_TYPE_AUTHORITY),
                        },
                    }
                ],
            }
        )
    return {
        "id": node("display"),
        "type": "DisplayParameter",
        "title": title,
        "language": [_language(code) for code in languages],
        "primaryLanguage": _language(export.language),
        "individualDisplay": displays,
    }


def _svg_page(title: str, learner: str, issuer: str, date: str) -> str:
    """One A4 landscape page (in points) naming the achievement, the learner, the awarding body and the date."""
    lines = [(title, 30, 200), (learner, 22, 270), (issuer, 18, 340), (date, 16, 380)]
    texts = "".join(
        f'<text x="421" y="{y}" font-size="{size}" text-anchor="middle">{xml_escape(text)}</text>'
        for text, size, y in lines
        if text
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="842" height="595" viewBox="0 0 842 595" '
        'font-family="sans-serif"><rect x="20" y="20" width="802" height="555" fill="none" stroke="#333"/>'
        f"{texts}</svg>"
    )


# --- Agents -----------------------------------------------------------------------------------------


def _location(slug: str, alpha2: str | None, node: Node, region: str | None = None) -> Json:
    location: Json = {
        "id": node(f"location:{slug}"),
        "type": "Location",
        "address": {"id": node(f"address:{slug}"), "type": "Address"},
    }
    if alpha2:
        location["address"]["countryCode"] = country(alpha2)
    if region:
        location["spatialCode"] = {"id": f"urn:iso:std:iso:3166:-2:{region}", "type": "Concept", "notation": region}
    return location


def _organisation(profile: Mapping[str, Any], export: _Export) -> Json:
    """An ELM ``Organisation`` from an Open Badges ``Profile`` (its DID stays its id)."""
    node = export.node
    org_id = str(profile["id"])
    slug = org_id.rsplit(":", 1)[-1]
    address = profile.get("address") or {}
    alpha2 = str(address["addressCountryCode"]) if address.get("addressCountryCode") else None
    region = str(address["addressRegion"]) if address.get("addressRegion") else None
    organisation: Json = {
        "id": org_id,
        "type": "Organisation",
        "legalName": export.text(profile.get("name") or org_id, export.names_of(org_id)),
        "location": [_location(slug, alpha2, node, region)],
    }
    if profile.get("url"):
        organisation["homepage"] = [
            {"id": node(f"homepage:{slug}"), "type": "WebResource", "contentURL": profile["url"]}
        ]
    registrations = list(profile.get("otherIdentifier", []))
    # The EDC shapes want one legal identifier of an issuer: its first registration (a trade register, a VAT
    # number ...) in its country; an organisation with none is identified by its DID, the identifier that
    # signs its credentials.
    first = registrations[0] if registrations else None
    legal: Json = {
        "id": node(f"legal-identifier:{slug}"),
        "type": "LegalIdentifier",
        "notation": str(first.get("identifier")) if first else org_id,
        "schemeName": str(first.get("identifierType", "")).removeprefix("ext:") if first else "did:web",
    }
    if alpha2:
        legal["spatial"] = country(alpha2)
    organisation["eIDASIdentifier"] = legal
    if registrations:
        organisation["identifier"] = [
            {
                "id": node(f"identifier:{slug}:{index}"),
                "type": "Identifier",
                "notation": str(entry.get("identifier")),
                "schemeName": str(entry.get("identifierType", "")).removeprefix("ext:"),
            }
            for index, entry in enumerate(registrations)
        ]
    accreditations = [
        _accreditation(entry, index, slug, org_id, alpha2, export)
        for index, entry in enumerate(profile.get("accreditation", []))
    ]
    if accreditations:
        organisation["accreditation"] = accreditations
    return organisation


def _agent(agent: Agent, export: _Export, slug: str | None = None) -> Json:
    """An organisation known by its name and country only (``slug`` names its location's nodes; by default the
    last part of its DID, as ``_organisation`` names them, so that both say the same of one organisation)."""
    slug = slug or _slug(agent.id.rsplit(":", 1)[-1])
    return {
        "id": agent.id,
        "type": "Organisation",
        "legalName": agent.name,
        "location": [_location(slug, agent.country, export.node)],
    }


def _accreditation(
    entry: Mapping[str, Any], index: int, slug: str, org_id: str, alpha2: str | None, export: _Export
) -> Json:
    """One of an organisation's own accreditations: institutional quality assurance by the accrediting body.

    An accrediting body that is an organisation here is known with its country; one known only by name is
    taken to be in the accredited organisation's country: in the EU each organisation is accredited by the
    national accreditation body of the Member State where it is established (Regulation (EC) No 765/2008,
    article 7).
    """
    node = export.node
    body_name = str(entry.get("accreditingBody") or "unnamed")
    known = export.texts.accrediting_bodies.get(body_name)
    agent_slug = None if known else f"accrediting-agent:{slug}:{index}"
    agent = known or Agent(id=node(f"{agent_slug}"), name={export.language: body_name}, country=alpha2 or "")
    accreditation: Json = {
        "id": node(f"accreditation:{slug}:{index}"),
        "type": "Accreditation",
        "dcType": _concept(*INSTITUTIONAL_QUALITY, ACCREDITATION_SCHEME),
        "title": {export.language: str(entry.get("scope") or "accreditation")},
        "organisation": org_id,
        "accreditingAgent": _agent(agent, export, agent_slug),
    }
    if entry.get("validFrom"):
        accreditation["dateIssued"] = _date_time(entry["validFrom"])
    if entry.get("validUntil"):
        accreditation["expiryDate"] = _date_time(entry["validUntil"])
    if entry.get("reference"):
        accreditation["identifier"] = [
            {
                "id": node(f"accreditation-reference:{slug}:{index}"),
                "type": "Identifier",
                "notation": str(entry["reference"]),
            }
        ]
    return accreditation


def _date_time(value: Any) -> str:
    """An ``xsd:dateTime`` of a date (midnight UTC) or a date-time."""
    text = str(value)
    return f"{text}T00:00:00Z" if len(text) == 10 else text


def _person(subject: Mapping[str, Any], export: _Export, claim: Json) -> Json:
    """The learner: the name, and the e-mail only as the salted hash the Open Badges credential carries."""
    node = export.node
    identifiers: Sequence[Mapping[str, Any]] = subject.get("identifier", [])
    name = next((i.get("identityHash") for i in identifiers if i.get("identityType") == "name"), None)
    person: Json = {"id": node("person"), "type": "Person", "fullName": {export.language: name or "unnamed"}}
    hashed = [
        {
            "id": node(f"identifier:learner:{index}"),
            "type": "Identifier",
            "notation": entry["identityHash"],
            "schemeName": f"{entry.get('identityType')}, salted SHA-256 (Open Badges IdentityHash)",
            **({"schemeVersion": f"salt {entry['salt']}"} if entry.get("salt") else {}),
        }
        for index, entry in enumerate(identifiers)
        if entry.get("hashed") and entry.get("identityHash")
    ]
    if hashed:
        person["identifier"] = hashed
    person["hasClaim"] = claim
    return person


# --- The specification and the assessment -----------------------------------------------------------


def _specification(
    achievement: Mapping[str, Any],
    export: _Export,
    skill_labels: Mapping[str, Any],
    awarding_body: Json,
    credential: Mapping[str, Any],
) -> Json:
    texts, node = export.texts, export.node
    is_qualification = "/register/qualifications/" in str(achievement["id"])
    spec: Json = {
        "id": achievement["id"],
        "type": "Qualification" if is_qualification else "LearningAchievementSpecification",
        "title": export.text(achievement["name"], texts.title),
        "learningOutcome": [_outcome(o, export, skill_labels) for o in achievement.get("learningOutcome", [])],
    }
    if achievement.get("description"):
        spec["description"] = export.text(achievement["description"], texts.description)
    if achievement.get("volumeOfLearning"):
        spec["volumeOfLearning"] = achievement["volumeOfLearning"]
    if achievement.get("creditsAvailable") is not None:
        spec["creditPoint"] = [_credit_point(node("credit-point"), achievement["creditsAvailable"])]
    eqf = achievement.get("eqfLevel")
    if eqf is not None:
        spec["eqfLevel"] = _concept(f"http://data.europa.eu/snb/eqf/{eqf}", f"Level {eqf}", EQF_SCHEME, str(eqf))
    form = achievement.get("formOfParticipation")
    if form:
        known = MODES.get(str(form))
        spec["mode"] = [
            _concept(known[0], known[1], MODE_SCHEME) if known else _local_concept("mode", form, {"en": form})
        ]
    languages = achievement.get("languages") or ([achievement["inLanguage"]] if achievement.get("inLanguage") else [])
    if languages:
        spec["language"] = [_language(str(code)) for code in languages]
    if achievement.get("prerequisites"):
        spec["entryRequirement"] = _note(
            node("entry-requirement"), export.text(achievement["prerequisites"], texts.prerequisites)
        )
    accreditation = _quality_assurance(achievement, export, awarding_body, credential, is_qualification)
    if accreditation is not None:
        spec["accreditation"] = [accreditation]
    notes = _notes(achievement, export)
    if notes:
        spec["additionalNote"] = notes
    return spec


def _quality_assurance(
    achievement: Mapping[str, Any],
    export: _Export,
    awarding_body: Json,
    credential: Mapping[str, Any],
    is_qualification: bool,
) -> Json | None:
    """Annex I's type of quality assurance, as ELM models it: an ``Accreditation`` of the programme (or the
    qualification) whose ``dcType`` is from the EU accreditation vocabulary (programme quality assurance, or
    programme licensing for state recognition), whose title names Guildhall's type, and whose accrediting agent
    is the body that assures it: the QA body the programme names, else its co-signer (a chamber's approval),
    else the awarding body itself (its own review)."""
    qa = achievement.get("qualityAssurance")
    if not qa:
        return None
    qa_type = str(qa.get("category", ""))
    words = QUALITY_ASSURANCE_WORDS.get(qa_type, qa_type.replace("_", " "))
    kind = PROGRAMME_LICENSING if qa_type == "state_recognition" else PROGRAMME_QUALITY
    body = export.texts.quality_assurance_body
    terms = [t for t in credential.get("termsOfUse", []) if isinstance(t, Mapping)]
    cosigners = [str(s) for t in terms for s in t.get("requiredSigner", [])]
    if body is not None:
        agent = _agent(body, export)
    elif cosigners and qa_type == "chamber_approval" and cosigners[0] in export.texts.organisations:
        agent = _agent(export.texts.organisations[cosigners[0]], export)
    else:
        agent = awarding_body
    accreditation: Json = {
        "id": export.node("quality-assurance"),
        "type": "Accreditation",
        "dcType": _concept(*kind, ACCREDITATION_SCHEME),
        "title": {"en": words},
        "accreditingAgent": agent,
        "organisation": awarding_body["id"],
    }
    if qa.get("description"):
        accreditation["description"] = export.text(qa["description"], export.texts.quality_assurance)
    if is_qualification:
        accreditation["limitQualification"] = achievement["id"]  # its range is elm:Qualification
    return accreditation


def _notes(achievement: Mapping[str, Any], export: _Export) -> list[Json]:
    """Stackability and further information (Annex I's optional elements), as Notes."""
    notes = []
    stackability = achievement.get("stackability")
    if stackability:
        words = {"stand_alone": "stand-alone", "integrated": "integrated"}.get(stackability, stackability)
        notes.append(_note(export.node("stackability"), {"en": words}, "stackability"))
    further = achievement.get("furtherInformation")
    if further:
        text = export.text(further, export.texts.further_information)
        notes.append(_note(export.node("further-information"), text, "further information"))
    return notes


def _outcome(outcome: Mapping[str, Any], export: _Export, skill_labels: Mapping[str, Any]) -> Json:
    outcome_id = str(outcome.get("id"))
    entry: Json = {
        "id": outcome_id,
        "type": "LearningOutcome",
        "title": export.text(outcome.get("title") or "", export.texts.outcomes.get(outcome_id)),
    }
    skills = []
    for uri in outcome.get("relatedESCOSkill", []):
        skill: Json = {"id": uri, "type": "Concept", "inScheme": {"id": ESCO_SKILLS, "type": "ConceptScheme"}}
        if skill_labels.get(uri):
            skill["prefLabel"] = export.text(skill_labels[uri], export.texts.skills.get(uri))
        skills.append(skill)
    if skills:
        entry["relatedESCOSkill"] = skills
    return entry


def _grade(credential: Mapping[str, Any]) -> str:
    """The result in words: a unit's status and overall score; a programme's or a qualification's award."""
    subject: Mapping[str, Any] = credential["credentialSubject"]
    achievement: Mapping[str, Any] = subject["achievement"]
    names = {d.get("id"): d.get("name") for d in achievement.get("resultDescription", [])}
    parts: list[str] = []
    for result in subject.get("result", []):
        description = str(result.get("resultDescription", ""))
        if description.endswith("unit:status") and result.get("status"):
            parts.insert(0, str(result["status"]))
        elif description.endswith("unit:score") and result.get("value") is not None:
            parts.append(f"{names.get(description) or 'score'} {result['value']}")
    if parts:
        return "; ".join(parts)
    if "/register/qualifications/" in str(achievement["id"]):
        return "Awarded: the learner holds the credentials the qualification requires"
    if "#unit-" in str(achievement["id"]):
        return "Passed"
    return "Passed: every core unit of the programme"


def _assessment(credential: Mapping[str, Any], export: _Export, awarding_process: Json) -> Json:
    subject: Mapping[str, Any] = credential["credentialSubject"]
    achievement: Mapping[str, Any] = subject["achievement"]
    kind = str(achievement.get("typeOfAssessment") or "assessment")
    kind_text = export.text(kind, export.texts.type_of_assessment)
    assessment: Json = {
        "id": export.node("learning-assessment"),
        "type": "LearningAssessment",
        "title": kind_text,
        "awardedBy": awarding_process,
        "grade": _note(export.node("grade"), {"en": _grade(credential)}),
        "specifiedBy": {
            "id": export.node("learning-assessment-specification"),
            "type": "LearningAssessmentSpecification",
            "title": kind_text,
            "dcType": _local_concept("assessment-type", kind, kind_text),
        },
    }
    assessor = subject.get("source") or credential["issuer"]
    assessment["assessedBy"] = [_organisation(assessor, export)]
    if subject.get("activityEndDate"):
        assessment["dateIssued"] = subject["activityEndDate"]
    supervision = subject.get("supervisionAndIdentityVerification")
    if supervision:
        known = SUPERVISION.get(str(supervision))
        assessment["idVerification"] = (
            _concept(known, str(supervision), SUPERVISION_SCHEME)
            if known
            else _local_concept("supervision", str(supervision), {"en": str(supervision)})
        )
    return assessment
