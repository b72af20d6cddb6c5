"""Signing in: one institutional account per institution (as in Research4Life) and optional named users under it,
passwords hashed with scrypt (memory-hard; the standard library's), server-side sessions whose tokens are stored
only as hashes, and failed sign-ins throttled.

The throttle counts failures per (address, account), so a stranger cannot lock an institution's shared account for
everyone: five failures within 15 minutes stop that address trying that account. Guessing from many addresses is
slowed by a ceiling per account (past 20 failures in the window, each address gets one try, not five) and guessing
many accounts from one address by a ceiling per address (50). Nothing locks the account itself."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, tuple_
from sqlalchemy.orm import Session, selectinload

from strongroom.catalog.models import Account, BoardMember, Institution, SignInFailure, SignInSession
from strongroom.catalog.repo import Catalog
from strongroom.domain.access import InstitutionStatus, Reader
from strongroom.domain.model import EventOutcome, EventType
from strongroom.domain.text import N_
from strongroom.errors import ExitCode, NotFound, StrongroomError
from strongroom.services import keyset
from strongroom.services.browse import KeyPage
from strongroom.services.eligibility import Eligibility

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10
SESSION_HOURS = 8
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES = 5  # per (address, account) within WINDOW
ACCOUNT_CEILING = 20  # failures for an account from anywhere within WINDOW, past which each address gets one try
ADDRESS_CEILING = 50  # failures from one address, whatever the account, within WINDOW
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")  # a named user's, as an administrator gives it


class Role(StrEnum):
    """What a signed-in person may do in the console. The archive's own staff hold one or more of the first three
    (an account's ``roles``); the others follow from whose account it is."""

    OPERATOR = "operator"  # the node's staff: health, AUs, alarms, harvests, deposits, jobs, institutions to confirm
    NETWORK_ADMIN = "network-admin"  # members and policy: prepares the configuration the administrative key signs
    BOARD = "board"  # proposals, evidence and ballots signed with the member's own key
    PUBLISHER = "publisher"  # a publisher's staff (the /publisher/ pages)
    INSTITUTION_ADMIN = "institution-admin"  # an institution's institutional account
    INSTITUTION_USER = "institution-user"  # a named user under an institution: reads, nothing to administer


STAFF_ROLES = (Role.OPERATOR, Role.NETWORK_ADMIN, Role.BOARD)


@dataclass(frozen=True)
class Person:
    """Who a session belongs to, and what they may do."""

    username: str
    display_name: str
    roles: frozenset[Role]
    institution_key: str | None = None
    publisher_key: str | None = None
    board_member: str = ""  # a board account: the member whose key signs its ballots

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def actor(self) -> str:
        """How events name what this person did in the console."""
        return f"console:{self.username}"

    def may(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))


class SignInRefused(StrongroomError):
    exit_code = ExitCode.NOT_PERMITTED


class SignInThrottled(StrongroomError):
    exit_code = ExitCode.NOT_PERMITTED


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


def check_new_password(password: str) -> None:
    """Refuse a password too short for a new account (before anything else is looked at)."""
    if len(password) < MIN_PASSWORD:
        raise StrongroomError(N_("a password needs at least %(count)s characters", count=MIN_PASSWORD))


def add_account(s: Session, now: dt.datetime, username: str, password: str, **fields: Any) -> Account:
    """A new sign-in in session ``s`` (its other columns in ``fields``), once its password is long enough and its
    username nobody else's: the one place every kind of account is made."""
    check_new_password(password)
    if s.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise StrongroomError(N_("the username %(username)s is taken", username=repr(username)))
    account = Account(username=username, password_hash=hash_password(password), active=True, created_at=now, **fields)
    s.add(account)
    return account


def signed_in_account(s: Session, token: str, now: dt.datetime) -> Account | None:
    """The active account whose session ``token`` is, while the session lasts (its institution and publisher
    loaded); None otherwise. The one look-up of a session: readers, the console's people, publishers' staff."""
    return s.scalar(
        select(Account)
        .join(SignInSession, SignInSession.account_id == Account.id)
        .where(
            SignInSession.token_hash == hashlib.sha256(token.encode()).hexdigest(),
            SignInSession.expires_at > now,
            Account.active,
        )
        .options(selectinload(Account.institution), selectinload(Account.publisher))
    )


class Accounts:
    """Institutional accounts and named users: passwords, sessions and throttled sign-in."""

    def __init__(self, catalog: Catalog, eligibility: Eligibility) -> None:
        self.catalog = catalog
        self.eligibility = eligibility

    def create_account(
        self, institution_key: str, username: str, password: str, *, named: str = "", by: str = "staff"
    ) -> None:
        """An institution's institutional account (one per institution), or a named user under it (``named``);
        ``by``: who creates it (recorded)."""
        check_new_password(password)
        with self.catalog.session() as s:
            inst = s.scalar(select(Institution).where(Institution.key == institution_key))
            if inst is None:
                raise NotFound(f"no institution {institution_key!r}")
            if (
                not named
                and s.scalar(
                    select(Account.id).where(Account.institution_id == inst.id, Account.kind == "institutional")
                )
                is not None
            ):
                raise StrongroomError(
                    f"{institution_key} already has its institutional account", hint="add named users with --named NAME"
                )
            add_account(
                s,
                self.catalog.clock.now(),
                username,
                password,
                institution_id=inst.id,
                kind="named" if named else "institutional",
                display_name=named,
            )
            self.catalog.record_event(
                s,
                EventType.INSTITUTION,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="institution",
                object_key=institution_key,
                detail=f"account {username} created" + (f" for {named}" if named else " (institutional)"),
            )

    def create_staff(
        self, username: str, password: str, roles: Iterable[str], *, named: str = "", board_member: str = "", by: str
    ) -> None:
        """A console sign-in for the archive's own staff, with one or more of :data:`STAFF_ROLES`; a board account
        names the registered board member it votes as."""
        wanted = sorted({str(r) for r in roles})
        unknown = [r for r in wanted if r not in {str(x) for x in STAFF_ROLES}]
        if not wanted or unknown:
            raise StrongroomError(
                f"unknown role {', '.join(unknown)}" if unknown else "a staff account needs a role",
                hint="roles: " + ", ".join(str(r) for r in STAFF_ROLES),
            )
        if (Role.BOARD in wanted) != bool(board_member):
            raise StrongroomError(
                "a board account names the board member it votes as, and only a board account does",
                hint="register the member with 'strongroom board add', then pass --board-member NAME",
            )
        with self.catalog.session() as s:
            if board_member and s.scalar(select(BoardMember.id).where(BoardMember.name == board_member)) is None:
                raise NotFound(
                    f"no board member {board_member!r}", hint="register them with: strongroom board add NAME PUBLIC_KEY"
                )
            add_account(
                s,
                self.catalog.clock.now(),
                username,
                password,
                kind="staff",
                display_name=named,
                roles=" ".join(wanted),
                board_member=board_member,
            )
            self.catalog.record_event(
                s,
                EventType.CONSOLE,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="account",
                object_key=username,
                detail=f"staff account {username} created with roles {', '.join(wanted)}",
                data={"roles": wanted, "board_member": board_member},
            )

    def person(self, token: str) -> Person | None:
        """Who a session belongs to, with their roles (None when the token is unknown or expired)."""
        with self.catalog.session() as s:
            account = signed_in_account(s, token, self.catalog.clock.now())
            if account is None:
                return None
            roles = {Role(r) for r in account.roles.split() if r in Role.__members__.values()}
            if account.institution is not None:
                roles.add(Role.INSTITUTION_ADMIN if account.kind == "institutional" else Role.INSTITUTION_USER)
            if account.publisher is not None:
                roles.add(Role.PUBLISHER)
            return Person(
                username=account.username,
                display_name=account.display_name,
                roles=frozenset(roles),
                institution_key=account.institution.key if account.institution else None,
                publisher_key=account.publisher.key if account.publisher else None,
                board_member=account.board_member,
            )

    def without_account(self, *, after: str | None = None, limit: int | None = 100) -> KeyPage[dict[str, str]]:
        """The validated institutions that have no institutional account yet (their librarian cannot sign in), by
        name then id: the page after the cursor ``after`` (``limit`` None: all), each with its key, name, country
        and the librarian to give the account to, and how many there are."""
        waiting = self._without_account()
        stmt = select(Institution).where(waiting).order_by(Institution.name, Institution.id)
        if after:
            name, last_id = keyset.decode(after, str, int)
            stmt = stmt.where(tuple_(Institution.name, Institution.id) > tuple_(name, last_id))
        with self.catalog.session() as s:
            page, cursor = keyset.fetch_page(
                lambda n: list(s.scalars(stmt.limit(n))), limit, lambda i: keyset.encode(i.name, i.id)
            )
            total = int(s.scalar(select(func.count(Institution.id)).where(waiting)) or 0)
        rows = tuple(
            {
                "key": i.key,
                "name": i.name,
                "country": i.country,
                "librarian": str((i.librarian or {}).get("name", "")),
                "email": str((i.librarian or {}).get("email", "")),
            }
            for i in page
        )
        return KeyPage(rows, limit, cursor, total)

    def needs_account(self, key: str) -> bool:
        """Whether the institution ``key`` is validated and has no institutional account yet."""
        with self.catalog.session() as s:
            found = s.scalar(select(Institution.id).where(Institution.key == key, self._without_account()))
        return found is not None

    @staticmethod
    def _without_account() -> ColumnElement[bool]:
        has_account = select(Account.institution_id).where(
            Account.kind == "institutional", Account.institution_id.is_not(None)
        )
        return and_(Institution.status == str(InstitutionStatus.VALIDATED), Institution.id.not_in(has_account))

    def sign_in(self, username: str, password: str, address: str) -> str:
        """A session token for a right username and password; refused (the same words whether the username or the
        password was wrong) or throttled, without the password being checked, after too many failures from this
        address (see the module's docstring)."""
        now = self.catalog.clock.now()
        with self.catalog.session() as s:
            s.execute(delete(SignInFailure).where(SignInFailure.at < now - WINDOW))

            def count(*where: object) -> int:
                return s.scalar(select(func.count(SignInFailure.id)).where(*where)) or 0  # type: ignore[arg-type]

            here = count(SignInFailure.username == username, SignInFailure.address == address)
            allowed = 1 if count(SignInFailure.username == username) >= ACCOUNT_CEILING else MAX_FAILURES
            if here >= allowed or count(SignInFailure.address == address) >= ADDRESS_CEILING:
                raise SignInThrottled(
                    N_(
                        "too many failed sign-ins from your address; try again in %(minutes)s minutes",
                        minutes=int(WINDOW.total_seconds() // 60),
                    ),
                    hint=N_("your librarian can reset the password"),
                )
            account = s.scalar(select(Account).where(Account.username == username, Account.active))
            if account is None or not check_password(password, account.password_hash):
                # recorded, and the refusal raised once this session is committed (raising here would roll it back)
                s.add(SignInFailure(username=username, address=address, at=now))
                token = None
            else:
                token = secrets.token_urlsafe(32)
                s.add(
                    SignInSession(
                        token_hash=hashlib.sha256(token.encode()).hexdigest(),
                        account_id=account.id,
                        created_at=now,
                        expires_at=now + dt.timedelta(hours=SESSION_HOURS),
                    )
                )
        if token is None:
            raise SignInRefused(N_("wrong username or password"))
        return token

    def sign_out(self, token: str) -> None:
        with self.catalog.session() as s:
            s.execute(
                delete(SignInSession).where(SignInSession.token_hash == hashlib.sha256(token.encode()).hexdigest())
            )

    def reader(self, token: str) -> Reader | None:
        """The reader a session belongs to (None when the token is unknown or expired)."""
        with self.catalog.session() as s:
            account = signed_in_account(s, token, self.catalog.clock.now())
            inst = account.institution if account is not None else None
            if inst is None:  # a publisher's staff sign in to the publisher pages, not to read as an institution
                return None
            return Reader(
                institution=inst.name,
                key=inst.key,
                country=inst.country,
                status=InstitutionStatus(inst.status),
                group=self.eligibility.status(inst.country).final,
                trial_until=inst.trial_until,
                paid_through=inst.paid_through,
            )

    # ---- an institution's named users, as its administrator manages them (the console) -----------------------

    def named_users(self, institution_key: str) -> list[dict[str, object]]:
        """The named users under an institution, active ones first, then by username."""
        with self.catalog.session() as s:
            rows = s.scalars(
                select(Account)
                .join(Institution, Account.institution_id == Institution.id)
                .where(Institution.key == institution_key, Account.kind == "named")
                .order_by(Account.active.desc(), Account.username)
            )
            return [
                {
                    "username": a.username,
                    "name": a.display_name,
                    "active": a.active,
                    "created_at": a.created_at,
                }
                for a in rows
            ]

    def add_named_user(self, institution_key: str, username: str, password: str, *, named: str, by: str) -> None:
        """A named user under an institution, added by its administrator (``by``); refused with a message the
        administrator reads in their language."""
        username, named = username.strip(), named.strip()
        if not USERNAME.fullmatch(username):
            raise StrongroomError(
                N_("a username is 3 to 64 small letters, digits, dots, dashes or underscores"),
                hint=N_("for example: grace.mushi"),
            )
        if not named:
            raise StrongroomError(N_("give the person's name"))
        with self.catalog.session() as s:
            inst = s.scalar(select(Institution).where(Institution.key == institution_key))
            if inst is None:
                raise NotFound(f"no institution {institution_key!r}")
            add_account(
                s,
                self.catalog.clock.now(),
                username,
                password,
                institution_id=inst.id,
                kind="named",
                display_name=named,
            )
            self.catalog.record_event(
                s,
                EventType.INSTITUTION,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="institution",
                object_key=institution_key,
                detail=f"named user {username} ({named}) added by {by}",
                data={"username": username},
            )

    def deactivate_named_user(self, institution_key: str, username: str, *, by: str) -> None:
        """Stop a named user of this institution signing in (their sessions end now); refused, saying nothing of
        other institutions' accounts, for anyone who is not one of its named users."""
        with self.catalog.session() as s:
            account = s.scalar(
                select(Account)
                .join(Institution, Account.institution_id == Institution.id)
                .where(Institution.key == institution_key, Account.kind == "named", Account.username == username)
            )
            if account is None:
                raise NotFound(N_("%(username)s is not a named user of your institution", username=username))
            if not account.active:
                raise StrongroomError(N_("%(username)s is already deactivated", username=username))
            account.active = False
            s.execute(delete(SignInSession).where(SignInSession.account_id == account.id))
            self.catalog.record_event(
                s,
                EventType.INSTITUTION,
                EventOutcome.SUCCESS,
                agent=by,
                object_type="institution",
                object_key=institution_key,
                detail=f"named user {username} deactivated by {by}",
                data={"username": username},
            )
