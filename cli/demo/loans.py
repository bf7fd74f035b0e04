"""A realistic microfinance loan book as `loan-events` envelopes, deterministic for a seed (CONTRACT §2).

Pure: no I/O, no clock (the caller gives `today`), one `random.Random(seed)` drawn in a fixed order.

The book covers `today − months` .. `today − 1`:
- three branches, each with a team leader (who owns no clients) and `officers_per_branch` loan officers;
- clients registered on weekdays over the period, more of them early on, each with one officer;
- loans one after another per client (a new one only after the previous one is repaid; none after a
  write-off), larger each cycle, on weekly or monthly schedules with flat interest;
- repayments by client behaviour: on time, partial then catch-up, late (sometimes with a late fee),
  prepayment of the whole remaining principal; some loans default and are written off ~180 days past due;
- two officers (one in BR-NORTH, one in BR-SOUTH) whose clients increasingly stop paying in the last
  ~60 days, so their PAR30 ends above 15 % and their collection rate under 80 %;
- one client with an active loan reassigned to another officer of the same branch mid-way;
- ~5 % of clients exit some weeks after their last loan is repaid;
- finally `business_day.closed` for `today − 1` (topic `control`).

Registrations and disbursements happen on weekdays; repayments on any day (mobile money), monthly due
dates keep the disbursement's day of month (clamped at month ends). Nothing is dated after `today − 1`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from cli.demo.stamping import stamp

BRANCHES = ("BR-NORTH", "BR-CENTRAL", "BR-SOUTH")
SOURCE = "demo"
EVENT_ID_PREFIX = "demo-loan-"
EMAIL_DOMAIN = "pulse-demo.example"

ZERO = Decimal(0)
CENT = Decimal("0.01")
LATE_FEE = Decimal(50)
PARTIAL_SHARE = Decimal("0.6")
MIN_PRINCIPAL, MAX_PRINCIPAL, PRINCIPAL_STEP = 5_000, 50_000, 500
MONTHLY_RATES = tuple(Decimal(r) for r in ("0.02", "0.0225", "0.025", "0.0275", "0.03"))

Trait = Literal["good", "partial", "late", "erratic"]
TRAITS: tuple[Trait, ...] = ("good", "partial", "late", "erratic")
TRAIT_WEIGHTS = (0.70, 0.12, 0.12, 0.06)

# Clients: a share of the book is already there in the first business days, the rest registers at a
# rate falling linearly to a quarter of its start; ~5 % leave some weeks after their last loan.
INITIAL_SHARE = 0.15
INITIAL_DAYS = 10
EXIT_SHARE = 0.05
# Loans: generated a little over the target (renewing with a calibrated probability), then the last
# loans of some clients dropped down to the target.
RENEWAL_HEADROOM = 1.03
WEEKLY_SHARE = 0.7
PREPAY_PROBABILITY = 0.08
# Chance that a loan defaults (stops paying for good, at an installment from DEFAULT_FROM of its
# schedule on); it is written off once 181-195 days past due. Tuned for ~2 % of loans written off and
# a default rate (CONTRACT §2) mostly under 5 for the healthy officers.
DEFAULT_PROBABILITY: dict[Trait, float] = {"good": 0.055, "partial": 0.13, "late": 0.19, "erratic": 0.3}
DEFAULT_FROM = 0.6
WRITE_OFF_AFTER_DAYS = (181, 195)

# The two deteriorating portfolios: from DETERIORATION_DAYS before the end, each of their loans still
# running stops paying, with BAD_PROBABILITY, from a day in the next BAD_START_SPREAD days. Tuned for a
# PAR30 of 20-50 % and a collection rate of 40-60 % on the last day.
DETERIORATION_DAYS = 60
BAD_PROBABILITY = 0.5
BAD_START_SPREAD = 30

# Time of day of a business date's events: 10:00Z, then one second apart (stable order in the day).
DAY_START = dt.time(10, 0, tzinfo=dt.UTC)
DAY_SECONDS = 13 * 3600

RANK = {
    "officer.upserted": 0,
    "client.registered": 1,
    "client.reassigned": 2,
    "loan.disbursed": 3,
    "loan.repayment_received": 4,
    "loan.written_off": 5,
    "client.exited": 6,
    "business_day.closed": 7,
}

FIRST_NAMES = (
    "Amina", "Joseph", "Grace", "Peter", "Fatuma", "David", "Esther", "Samuel", "Mercy", "Daniel",
    "Halima", "Brian", "Faith", "Kevin", "Zawadi", "Moses", "Rehema", "Patrick", "Neema", "Collins",
    "Agnes", "Emmanuel", "Lucy", "Isaac", "Winnie", "George", "Mary", "Francis", "Joyce", "Victor",
    "Irene", "Stephen", "Rose", "Dennis", "Janet", "Martin", "Sarah", "Paul", "Ruth", "Anthony",
)  # fmt: skip
LAST_NAMES = (
    "Mwangi", "Otieno", "Wanjiru", "Kamau", "Achieng", "Njoroge", "Mutua", "Omondi", "Chebet", "Kiprop",
    "Wekesa", "Nyambura", "Mugo", "Akinyi", "Barasa", "Kariuki", "Odhiambo", "Wambui", "Rotich", "Kimani",
    "Nduta", "Oduya", "Ngugi", "Atieno", "Langat", "Macharia", "Muthoni", "Korir", "Owino", "Gitau",
    "Jepkosgei", "Mbugua", "Adhiambo", "Kirui", "Waweru", "Nyaga", "Okoth", "Wairimu", "Cheruiyot", "Maina",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Officer:
    officer_id: str
    branch_id: str
    name: str
    email: str
    role: Literal["loan_officer", "team_leader"]


@dataclass(slots=True)
class Installment:
    due_on: dt.date
    principal: Decimal
    interest: Decimal


@dataclass(slots=True)
class Payment:
    paid_on: dt.date
    principal: Decimal
    interest: Decimal
    fees: Decimal = ZERO


@dataclass(slots=True)
class Loan:
    client_id: str
    disbursed_on: dt.date
    principal: Decimal
    schedule: list[Installment]
    payments: list[Payment]
    """Sorted by date, at most one a day, none after the end of the book or on/after a write-off."""
    repaid_on: dt.date | None
    written_off_on: dt.date | None
    loan_id: str = ""


@dataclass(slots=True)
class Client:
    client_id: str
    officer_id: str
    registered_on: dt.date
    trait: Trait
    loans: list[Loan] = field(default_factory=list)
    exited_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class LoanBook:
    events: list[dict[str, Any]]
    """Envelopes in publishing order; `business_day.closed` (topic `control`) is the last one."""
    first_day: dt.date
    last_day: dt.date
    officers: tuple[Officer, ...]
    deteriorating_officers: tuple[str, ...]
    reassigned_client: str | None
    reassigned_from: str | None
    reassigned_to: str | None


def generate_loan_book(
    seed: int = 7,
    *,
    today: dt.date,
    months: int = 13,
    officers_per_branch: int = 10,
    clients: int = 3000,
    loans: int = 5000,
) -> list[dict[str, Any]]:
    """The envelopes of the demo loan book (see the module's docstring)."""
    return build_loan_book(
        seed,
        today=today,
        months=months,
        officers_per_branch=officers_per_branch,
        clients=clients,
        loans=loans,
    ).events


def build_loan_book(
    seed: int = 7,
    *,
    today: dt.date,
    months: int = 13,
    officers_per_branch: int = 10,
    clients: int = 3000,
    loans: int = 5000,
) -> LoanBook:
    """The demo loan book with what a demo or a test wants to know about it."""
    if months < 1 or officers_per_branch < 2 or clients < 1 or loans < 1:
        raise ValueError("months, clients and loans must be >= 1 and officers_per_branch >= 2")
    return _Simulation(seed, today, months, officers_per_branch, clients, loans).run()


# --- dates and amounts -----------------------------------------------------------------------------


def add_months(day: dt.date, months: int, anchor_day: int | None = None) -> dt.date:
    """`day` moved by whole months, on `anchor_day` (default: `day`'s) clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(anchor_day or day.day, last))


def on_weekday(day: dt.date) -> dt.date:
    """`day`, or the Monday after it if it falls on a weekend."""
    weekday = day.weekday()
    return day + dt.timedelta(days=7 - weekday) if weekday >= 5 else day


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _money(amount: Decimal) -> str:
    return format(amount.quantize(CENT), "f")


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the simulation ---------------------------------------------------------------------------------


class _Simulation:
    def __init__(
        self, seed: int, today: dt.date, months: int, officers_per_branch: int, clients: int, loans: int
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (demo data, reproducible by design)
        self.end = today - _days(1)
        self.start = on_weekday(add_months(today, -months))
        if self.start > self.end:
            raise ValueError(f"no business day between {add_months(today, -months)} and {self.end}")
        self.deterioration_start = self.end - _days(DETERIORATION_DAYS)
        self.per_branch = officers_per_branch
        self.client_target = clients
        self.loan_target = loans
        self.deteriorating: frozenset[str] = frozenset()

    # Officers -------------------------------------------------------------------------------------

    def _officers(self) -> list[Officer]:
        used: set[tuple[str, str]] = set()
        officers = []
        for branch in BRANCHES:
            short = branch.removeprefix("BR-")
            officers.append(self._officer(f"TL-{short}", branch, "team_leader", used))
            officers.extend(
                self._officer(f"LO-{short}-{number:02d}", branch, "loan_officer", used)
                for number in range(1, self.per_branch + 1)
            )
        return officers

    def _officer(
        self,
        officer_id: str,
        branch: str,
        role: Literal["loan_officer", "team_leader"],
        used: set[tuple[str, str]],
    ) -> Officer:
        rng = self.rng
        for _ in range(100):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (first, last) not in used:
                local = f"{first}.{last}".lower()
                break
        else:  # only in books with hundreds of officers: a namesake, told apart in the email
            local = f"{first}.{last}.{officer_id}".lower()
        used.add((first, last))
        return Officer(officer_id, branch, f"{first} {last}", f"{local}@{EMAIL_DOMAIN}", role)

    # Clients --------------------------------------------------------------------------------------

    def _clients(self, loan_officers: list[Officer]) -> list[Client]:
        rng = self.rng
        days = [
            self.start + _days(n)
            for n in range((self.end - self.start).days + 1)
            if (self.start + _days(n)).weekday() < 5
        ]
        # Besides the initial book, registration density falls linearly from 1.6 to 0.4 over the period.
        dates = []
        for _ in range(self.client_target):
            if rng.random() < INITIAL_SHARE:
                dates.append(days[rng.randrange(min(INITIAL_DAYS, len(days)))])
                continue
            t = (1.6 - math.sqrt(2.56 - 2.4 * rng.random())) / 1.2
            dates.append(days[min(int(t * len(days)), len(days) - 1)])
        dates.sort()
        weights = [rng.uniform(0.7, 1.3) for _ in loan_officers]
        width = max(5, len(str(self.client_target)))
        clients = []
        for number, registered_on in enumerate(dates, 1):
            officer = rng.choices(loan_officers, weights)[0]
            trait = rng.choices(TRAITS, TRAIT_WEIGHTS)[0]
            clients.append(Client(f"CL-{number:0{width}d}", officer.officer_id, registered_on, trait))
        return clients

    # Loans ----------------------------------------------------------------------------------------

    def _chain(self, client: Client, renewal: float) -> None:
        """Loans one after the other: a client renews with probability `renewal` once a loan is repaid."""
        rng = self.rng
        client.loans = []
        day = on_weekday(client.registered_on + _days(rng.randint(1, 14)))
        previous: Decimal | None = None
        while day <= self.end:
            loan = self._loan(client, day, previous)
            client.loans.append(loan)
            if loan.repaid_on is None:  # still running at the end, defaulted or written off
                return
            if renewal < 1 and rng.random() >= renewal:
                return
            previous = loan.principal
            day = on_weekday(loan.repaid_on + _days(rng.randint(1, 14)))

    def _renewal(self, clients: list[Client]) -> float:
        """The renewal probability that brings the expected number of loans to the target (a little over
        it, pruned afterwards), from how many loans each client could have had renewing every time."""
        for client in clients:
            self._chain(client, 1.0)
        lengths = [len(c.loans) for c in clients]
        wanted = self.loan_target * RENEWAL_HEADROOM
        if sum(lengths) <= wanted:
            return 1.0
        low, high = 0.0, 1.0
        for _ in range(40):
            middle = (low + high) / 2
            expected = sum((1 - middle**n) / (1 - middle) for n in lengths)
            low, high = (middle, high) if expected < wanted else (low, middle)
        return low

    def _principal(self, previous: Decimal | None) -> Decimal:
        rng = self.rng
        if previous is None:
            steps = rng.randint(MIN_PRINCIPAL // PRINCIPAL_STEP, 20_000 // PRINCIPAL_STEP)
        else:
            steps = int(int(previous) * rng.uniform(1.05, 1.5) / PRINCIPAL_STEP + 0.5)
        steps = min(max(steps, MIN_PRINCIPAL // PRINCIPAL_STEP), MAX_PRINCIPAL // PRINCIPAL_STEP)
        return Decimal(steps * PRINCIPAL_STEP)

    def _schedule(self, disbursed_on: dt.date, principal: Decimal) -> list[Installment]:
        rng = self.rng
        rate = rng.choice(MONTHLY_RATES)
        if rng.random() < WEEKLY_SHARE:
            count = rng.randint(12, 26)
            dues = [disbursed_on + _days(7 * k) for k in range(1, count + 1)]
            interest = _cents(principal * rate * 7 / 30)
        else:
            count = rng.randint(6, 12)
            dues = [add_months(disbursed_on, k) for k in range(1, count + 1)]
            interest = _cents(principal * rate)
        part = _cents(principal / count)
        last = principal - part * (count - 1)  # absorbs the rounding: parts sum exactly to the principal
        return [Installment(due, part if k < count - 1 else last, interest) for k, due in enumerate(dues)]

    def _loan(self, client: Client, disbursed_on: dt.date, previous: Decimal | None) -> Loan:
        rng = self.rng
        principal = self._principal(previous)
        schedule = self._schedule(disbursed_on, principal)
        count = len(schedule)
        default_at = prepay_at = None
        if rng.random() < DEFAULT_PROBABILITY[client.trait]:
            default_at = rng.randint(max(1, int(count * DEFAULT_FROM)), count - 2)
        elif count >= 4 and rng.random() < PREPAY_PROBABILITY:
            prepay_at = rng.randint(2, count - 2)

        stop = default_at if default_at is not None else prepay_at if prepay_at is not None else count
        payments: list[Payment] = []
        for installment in schedule[:stop]:
            payments += self._pay(client.trait, installment)

        if prepay_at is not None:
            # Pay off the whole remaining principal between two due dates, with the interest of the
            # installment then running; catch-ups planned for later are folded into it.
            before, current = schedule[prepay_at - 1].due_on, schedule[prepay_at]
            prepay_on = before + _days(rng.randint(1, (current.due_on - before).days - 1))
            payments = [p for p in payments if p.paid_on <= prepay_on]
            paid = sum((p.principal for p in payments), start=ZERO)
            payments.append(Payment(prepay_on, principal - paid, current.interest))

        written_off_on = None
        if default_at is not None:
            write_off = on_weekday(schedule[default_at].due_on + _days(rng.randint(*WRITE_OFF_AFTER_DAYS)))
            if write_off <= self.end:
                written_off_on = write_off
                payments = [p for p in payments if p.paid_on < write_off]

        runs_into_window = schedule[-1].due_on >= self.deterioration_start
        if client.officer_id in self.deteriorating and runs_into_window and rng.random() < BAD_PROBABILITY:
            first = max(self.deterioration_start, disbursed_on + _days(1))
            bad_on = first + _days(rng.randint(0, BAD_START_SPREAD))
            payments = [p for p in payments if p.paid_on < bad_on]

        merged = self._merge(p for p in payments if p.paid_on <= self.end)
        repaid_on = None
        paid = ZERO
        for payment in merged:
            paid += payment.principal
            if paid == principal:
                repaid_on = payment.paid_on
                break
        return Loan(client.client_id, disbursed_on, principal, schedule, merged, repaid_on, written_off_on)

    def _pay(self, trait: Trait, installment: Installment) -> list[Payment]:
        """The payments covering one installment for a client of this behaviour."""
        rng = self.rng
        due, principal, interest = installment.due_on, installment.principal, installment.interest
        roll = rng.random()
        if trait == "good":
            late = roll < 0.03
            return [Payment(due + _days(rng.randint(1, 5) if late else 0), principal, interest)]
        if (trait == "partial" and roll < 0.35) or (trait == "erratic" and roll < 0.3):
            # 60 % on the due date (interest first), the rest some days later.
            amount = _cents((principal + interest) * PARTIAL_SHARE)
            interest_part = min(interest, amount)
            principal_part = amount - interest_part
            return [
                Payment(due, principal_part, interest_part),
                Payment(due + _days(rng.randint(3, 12)), principal - principal_part, interest - interest_part),
            ]
        if (trait == "late" and roll < 0.55) or (trait == "erratic" and roll < 0.65):
            delay = self._delay()
            fees = LATE_FEE if delay > 7 and rng.random() < 0.6 else ZERO
            return [Payment(due + _days(delay), principal, interest, fees)]
        return [Payment(due, principal, interest)]

    def _delay(self) -> int:
        roll = self.rng.random()
        if roll < 0.6:
            return self.rng.randint(1, 7)
        if roll < 0.92:
            return self.rng.randint(8, 21)
        return self.rng.randint(22, 40)

    @staticmethod
    def _merge(payments: Any) -> list[Payment]:
        """One payment a day: same-day payments of a loan are one transaction."""
        by_day: dict[dt.date, Payment] = {}
        for p in payments:
            if not (p.principal or p.interest or p.fees):
                continue
            same = by_day.get(p.paid_on)
            if same is None:
                by_day[p.paid_on] = Payment(p.paid_on, p.principal, p.interest, p.fees)
            else:
                same.principal += p.principal
                same.interest += p.interest
                same.fees += p.fees
        return [by_day[day] for day in sorted(by_day)]

    # Shaping the book -----------------------------------------------------------------------------

    def _prune(self, clients: list[Client]) -> None:
        """Down to the loan target by dropping last loans (those clients did not renew)."""
        excess = sum(len(c.loans) for c in clients) - self.loan_target
        candidates = [c for c in clients if len(c.loans) > 1]
        while excess > 0 and candidates:
            index = self.rng.randrange(len(candidates))
            client = candidates[index]
            client.loans.pop()
            excess -= 1
            if len(client.loans) == 1:
                candidates[index] = candidates[-1]
                candidates.pop()

    def _reassign(self, clients: list[Client], officers: list[Officer]) -> tuple[Client, Officer, dt.date] | None:
        """One client with a loan running mid-way moves to another officer of the same branch."""
        middle = on_weekday(self.start + _days((self.end - self.start).days // 2))
        if middle > self.end:
            return None
        branch_of = {o.officer_id: o.branch_id for o in officers}
        candidates = [
            c
            for c in clients
            if c.officer_id not in self.deteriorating
            and any(
                loan.disbursed_on < middle
                and (loan.repaid_on is None or loan.repaid_on > middle)
                and (loan.written_off_on is None or loan.written_off_on > middle)
                for loan in c.loans
            )
        ]
        if not candidates:
            return None
        client = self.rng.choice(candidates)
        others = [
            o
            for o in officers
            if o.role == "loan_officer"
            and o.branch_id == branch_of[client.officer_id]
            and o.officer_id not in self.deteriorating
            and o.officer_id != client.officer_id
        ]
        if not others:
            return None
        return client, self.rng.choice(others), middle

    def _exits(self, clients: list[Client], keep: str | None) -> None:
        """About 5 % of the clients leave some weeks after their last loan was repaid."""
        rng = self.rng
        candidates = []
        for client in clients:
            if client.client_id == keep or not client.loans:
                continue
            repaid_on = client.loans[-1].repaid_on
            if repaid_on is None:
                continue
            exited_on = on_weekday(repaid_on + _days(rng.randint(3, 40)))
            if exited_on <= self.end:
                candidates.append((client, exited_on))
        wanted = min(len(candidates), round(EXIT_SHARE * len(clients)))
        for client, exited_on in rng.sample(candidates, wanted):
            client.exited_on = exited_on

    # The whole book -------------------------------------------------------------------------------

    def run(self) -> LoanBook:
        rng = self.rng
        officers = self._officers()
        loan_officers = [o for o in officers if o.role == "loan_officer"]
        north = [o.officer_id for o in loan_officers if o.branch_id == "BR-NORTH"]
        south = [o.officer_id for o in loan_officers if o.branch_id == "BR-SOUTH"]
        deteriorating = (rng.choice(north), rng.choice(south))
        self.deteriorating = frozenset(deteriorating)

        clients = self._clients(loan_officers)
        renewal = self._renewal(clients)
        for client in clients:
            self._chain(client, renewal)
        self._prune(clients)
        reassignment = self._reassign(clients, officers)
        self._exits(clients, reassignment[0].client_id if reassignment else None)

        all_loans = sorted(
            (loan for c in clients for loan in c.loans), key=lambda loan: (loan.disbursed_on, loan.client_id)
        )
        width = max(6, len(str(len(all_loans))))
        for number, loan in enumerate(all_loans, 1):
            loan.loan_id = f"LN-{number:0{width}d}"

        rows: list[tuple[dt.date, int, int, str, dict[str, Any]]] = []

        def add(day: dt.date, event_type: str, data: dict[str, Any]) -> None:
            rows.append((day, RANK[event_type], len(rows), event_type, data))

        for o in officers:
            add(
                self.start,
                "officer.upserted",
                {
                    "officer_id": o.officer_id,
                    "branch_id": o.branch_id,
                    "name": o.name,
                    "email": o.email,
                    "role": o.role,
                },
            )
        for c in clients:
            add(
                c.registered_on,
                "client.registered",
                {"client_id": c.client_id, "officer_id": c.officer_id, "registered_on": c.registered_on.isoformat()},
            )
            if c.exited_on is not None:
                add(c.exited_on, "client.exited", {"client_id": c.client_id, "exited_on": c.exited_on.isoformat()})
        if reassignment is not None:
            client, officer, effective_on = reassignment
            add(
                effective_on,
                "client.reassigned",
                {
                    "client_id": client.client_id,
                    "officer_id": officer.officer_id,
                    "effective_on": effective_on.isoformat(),
                },
            )
        for loan in all_loans:
            self._loan_events(loan, add)
        add(self.end, "business_day.closed", {"business_date": self.end.isoformat()})

        rows.sort(key=lambda row: (row[0], row[1], row[2]))
        return LoanBook(
            events=self._envelopes(rows),
            first_day=self.start,
            last_day=self.end,
            officers=tuple(officers),
            deteriorating_officers=deteriorating,
            reassigned_client=reassignment[0].client_id if reassignment else None,
            reassigned_from=reassignment[0].officer_id if reassignment else None,
            reassigned_to=reassignment[1].officer_id if reassignment else None,
        )

    @staticmethod
    def _loan_events(loan: Loan, add: Any) -> None:
        add(
            loan.disbursed_on,
            "loan.disbursed",
            {
                "loan_id": loan.loan_id,
                "client_id": loan.client_id,
                "disbursed_on": loan.disbursed_on.isoformat(),
                "principal": _money(loan.principal),
                "schedule": [
                    {"due_on": i.due_on.isoformat(), "principal": _money(i.principal), "interest": _money(i.interest)}
                    for i in loan.schedule
                ],
            },
        )
        for number, p in enumerate(loan.payments, 1):
            add(
                p.paid_on,
                "loan.repayment_received",
                {
                    "payment_id": f"{loan.loan_id}-P{number:02d}",
                    "loan_id": loan.loan_id,
                    "client_id": loan.client_id,
                    "paid_on": p.paid_on.isoformat(),
                    "principal": _money(p.principal),
                    "interest": _money(p.interest),
                    "fees": _money(p.fees),
                },
            )
        if loan.written_off_on is not None:
            add(
                loan.written_off_on,
                "loan.written_off",
                {
                    "loan_id": loan.loan_id,
                    "client_id": loan.client_id,
                    "written_off_on": loan.written_off_on.isoformat(),
                },
            )

    @staticmethod
    def _envelopes(rows: list[tuple[dt.date, int, int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
        return stamp(
            [(day, event_type, data) for day, _, _, event_type, data in rows],
            source=SOURCE, id_prefix=EVENT_ID_PREFIX, day_start=DAY_START, day_seconds=DAY_SECONDS,
        )  # fmt: skip
